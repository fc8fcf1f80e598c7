//! How long a row would take, told before it runs (`--skip-over`).
//!
//! A size flag can turn a row of seconds into one of hours (CPython counting to 1e9),
//! and a terminal that shows nothing for that long looks hung. So a row whose estimate
//! is over `--skip-over` is not run: it is a skipped row that says how long it would
//! have taken, and the user can run it on purpose with `--skip-over 0`. Estimates come
//! from a short trial of the row's own work or from what the flags already say (sleeps,
//! latencies); they are meant to be right within a factor of two, which is enough to
//! tell a minute from an hour. The peers apply the same rule and write the same
//! message (peers/PROTOCOL.md), so a table reads alike in every language.

use super::Plan;
use crate::techniques::JobTechnique;
use crate::techniques::jobs::Job;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

impl Plan {
    /// Why a row whose runs take about `per_run` each is not run, or `None` when it
    /// fits (or `--skip-over 0` runs everything). Warm-up runs count: they take as long.
    /// `basis` says where the estimate came from (` at 41.2M steps/s`), empty if
    /// nothing needs saying.
    pub fn too_long(&self, per_run: Duration, basis: &str) -> Option<String> {
        if self.skip_over.is_zero() {
            return None;
        }
        let runs = self.warmup + self.runs.max(1);
        let total = per_run.saturating_mul(runs);
        if total <= self.skip_over {
            return None;
        }
        Some(too_long_message(
            total.as_secs_f64(),
            runs,
            per_run.as_secs_f64(),
            basis,
            self.skip_over.as_secs_f64(),
        ))
    }
}

/// The skipped row's message; the peers build the very same sentence.
pub fn too_long_message(total: f64, runs: u32, per_run: f64, basis: &str, limit: f64) -> String {
    format!(
        "would take about {} ({runs} run{} of {}{basis}), over --skip-over {}",
        approx(total),
        if runs == 1 { "" } else { "s" },
        approx(per_run),
        approx(limit)
    )
}

/// A duration as a person reads an estimate: `9m 40s`, `25s`, `2.5s`, `120ms`. The
/// peers format theirs the same way.
pub fn approx(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs >= 59.5 {
        let whole = secs.round() as u64;
        if whole >= 3600 {
            let minutes = (whole + 30) / 60;
            return match minutes % 60 {
                0 => format!("{}h", minutes / 60),
                m => format!("{}h {m}m", minutes / 60),
            };
        }
        return match whole % 60 {
            0 => format!("{}m", whole / 60),
            s => format!("{}m {s}s", whole / 60),
        };
    }
    if secs >= 9.95 {
        format!("{}s", secs.round() as u64)
    } else if secs >= 0.9995 {
        let tenths = format!("{secs:.1}");
        format!("{}s", tenths.strip_suffix(".0").unwrap_or(&tenths))
    } else if secs >= 0.0005 {
        format!("{}ms", (secs * 1e3).round() as u64)
    } else {
        format!("{}µs", (secs * 1e6).round() as u64)
    }
}

/// A rate with three significant digits and an SI prefix: `41.2M`.
pub fn rate(per_s: f64) -> String {
    let (scale, prefix) = if per_s >= 1e9 {
        (1e9, "G")
    } else if per_s >= 1e6 {
        (1e6, "M")
    } else if per_s >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let v = per_s / scale;
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$}{prefix}")
}

/// How long a trial runs at least: long enough to swamp the clock and a cold cache,
/// short enough not to be noticed before a row.
const TRIAL: Duration = Duration::from_millis(30);

/// Decrements per second of the count loop on one core, from a trial taken once per
/// process (every count row runs the same machine code).
pub fn count_rate() -> f64 {
    static RATE: OnceLock<f64> = OnceLock::new();
    *RATE.get_or_init(|| {
        let mut n = 1u64 << 16;
        loop {
            let started = Instant::now();
            Job::CountDown { n }.run();
            let took = started.elapsed();
            if took >= TRIAL || n >= 1 << 34 {
                return n as f64 / took.as_secs_f64().max(1e-9);
            }
            n *= 2;
        }
    })
}

/// Calls per second of the naive fib, from a trial taken once per process.
pub fn fib_rate() -> f64 {
    static RATE: OnceLock<f64> = OnceLock::new();
    *RATE.get_or_init(|| {
        let mut n = 15;
        loop {
            let started = Instant::now();
            Job::Fib { n }.run();
            let took = started.elapsed();
            if took >= TRIAL || n >= 40 {
                return fib_calls(n) / took.as_secs_f64().max(1e-9);
            }
            n += 1;
        }
    })
}

/// Calls the naive fib makes for fib(n): 2·fib(n+1) − 1.
pub fn fib_calls(n: u32) -> f64 {
    2.0 * crate::techniques::jobs::fib_exact(n + 1) as f64 - 1.0
}

/// One run of `jobs` with `technique` on `workers`, at best: the jobs' time from the
/// trial rates, shared by as many cores as the technique can use, and never less than
/// its longest job. With the rate the estimate rests on, for the message.
pub fn jobs_run(
    technique: JobTechnique,
    workers: usize,
    jobs: &[Job],
    cores: usize,
) -> (Duration, String) {
    let counts = jobs.iter().any(|j| matches!(j, Job::CountDown { .. }));
    let times: Vec<f64> = jobs
        .iter()
        .map(|j| match *j {
            Job::CountDown { n } => n as f64 / count_rate(),
            Job::Fib { n } => fib_calls(n) / fib_rate(),
        })
        .collect();
    let at_once = match technique {
        // One thread at a time: tokio-1 has one, the GIL model lets one run.
        JobTechnique::Sequential | JobTechnique::Tokio1 | JobTechnique::GilModel => 1,
        JobTechnique::Tokio => cores,
        JobTechnique::Threads
        | JobTechnique::Rayon
        | JobTechnique::Processes
        | JobTechnique::Mpi
        | JobTechnique::MpiStatic => workers,
    };
    let total: f64 = times.iter().sum();
    let longest = times.iter().copied().fold(0.0, f64::max);
    let secs = (total / at_once.min(cores).max(1) as f64).max(longest);
    let basis = if counts {
        format!(" at {} steps/s a core", rate(count_rate()))
    } else {
        format!(" at {} fib calls/s a core", rate(fib_rate()))
    };
    (Duration::from_secs_f64(secs), basis)
}

/// One run of work of `full` units, from a timed trial of `trial` of them: `None` when
/// the work is no bigger than the trial (it is as quick to run it) or the trial failed
/// (the row itself will say why).
pub fn scaled<E>(
    full: u64,
    trial: u64,
    run: impl FnOnce(u64) -> Result<(), E>,
) -> Option<Duration> {
    if full <= trial || trial == 0 {
        return None;
    }
    let started = Instant::now();
    run(trial).ok()?;
    let per_unit = started.elapsed().as_secs_f64() / trial as f64;
    Some(Duration::from_secs_f64(per_unit * full as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(runs: u32, warmup: u32, skip_over: Duration) -> Plan {
        Plan {
            runs,
            warmup,
            timeout: None,
            skip_over,
        }
    }

    #[test]
    fn estimates_read_as_people_say_them() {
        assert_eq!(approx(580.0), "9m 40s");
        assert_eq!(approx(60.0), "1m");
        assert_eq!(approx(59.7), "1m");
        assert_eq!(approx(25.2), "25s");
        assert_eq!(approx(2.54), "2.5s");
        assert_eq!(approx(4.0), "4s");
        assert_eq!(approx(0.12), "120ms");
        assert_eq!(approx(0.000_042), "42µs");
        assert_eq!(approx(3600.0 * 2.0 + 5.0 * 60.0), "2h 5m");
        assert_eq!(approx(3600.0), "1h");
        assert_eq!(rate(41_234_567.0), "41.2M");
        assert_eq!(rate(1.5e9), "1.50G");
        assert_eq!(rate(999.0), "999");
    }

    #[test]
    fn a_row_over_the_limit_says_how_long_it_would_take() {
        let p = plan(5, 1, Duration::from_secs(60));
        let why = p
            .too_long(Duration::from_secs(580), " at 1.72M steps/s")
            .unwrap();
        assert_eq!(
            why,
            "would take about 58m (6 runs of 9m 40s at 1.72M steps/s), over --skip-over 1m"
        );
        // Warm-up runs count: 6 × 10s is 60s, which fits; 6 × 11s does not.
        assert!(p.too_long(Duration::from_secs(10), "").is_none());
        assert!(p.too_long(Duration::from_secs(11), "").is_some());
        let one = plan(1, 0, Duration::from_secs(1));
        let why = one.too_long(Duration::from_secs(4), ": 40 sites").unwrap();
        assert!(
            why.starts_with("would take about 4s (1 run of 4s: 40 sites)"),
            "{why}"
        );
    }

    #[test]
    fn skip_over_zero_runs_everything() {
        let p = plan(5, 1, Duration::ZERO);
        assert!(p.too_long(Duration::from_secs(86_400), "").is_none());
    }

    #[test]
    fn job_estimates_share_the_cores_and_respect_the_longest_job() {
        let jobs = crate::techniques::jobs::count_chunks(40_000_000, 4);
        let (one, basis) = jobs_run(JobTechnique::Sequential, 1, &jobs, 2);
        let (two, _) = jobs_run(JobTechnique::Threads, 4, &jobs, 2);
        assert!(basis.contains("steps/s"), "{basis}");
        let ratio = one.as_secs_f64() / two.as_secs_f64();
        assert!((ratio - 2.0).abs() < 1e-6, "{ratio}");
        let fibs = [Job::Fib { n: 30 }, Job::Fib { n: 10 }];
        let (many, basis) = jobs_run(JobTechnique::Threads, 8, &fibs, 8);
        let longest = fib_calls(30) / fib_rate();
        assert!((many.as_secs_f64() - longest).abs() < 1e-6);
        assert!(basis.contains("fib calls/s"), "{basis}");
    }

    #[test]
    fn trials_scale_to_the_full_size() {
        let d = scaled(1000, 10, |n| {
            std::thread::sleep(Duration::from_millis(n));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert!(d >= Duration::from_secs(1), "{d:?}");
        assert!(scaled(10, 10, |_| Ok::<(), ()>(())).is_none());
        assert!(scaled(100, 10, |_| Err(())).is_none());
    }
}
