//! Timing with warm-up and repetition, statistics, peak memory and the environment.

pub mod env;
pub mod estimate;
pub mod memory;
pub mod stats;

use crate::error::TechniqueError;

use std::time::{Duration, Instant};

/// A deadline for one run, with the limit it came from (for the error message).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    pub at: Instant,
    pub limit: Duration,
}

/// How many times a row runs, and for how long it may.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Runs done first and thrown away: they pay for cold caches, page faults and lazy
    /// start-up that a steady-state figure should not carry.
    pub warmup: u32,
    pub runs: u32,
    /// The whole row (warm-up included) must end within this.
    pub timeout: Option<Duration>,
    /// A row estimated to take longer than this (warm-up included) is skipped with its
    /// estimate instead of run; zero runs every row (`estimate`).
    pub skip_over: Duration,
}

/// What the counted runs of a row gave.
#[derive(Debug)]
pub struct Measurement<T> {
    pub samples_s: Vec<f64>,
    /// The output of the last counted run (its events feed the timelines).
    pub last: T,
    /// Highest peak resident memory of this process over the runs, where known.
    pub peak_rss_bytes: Option<u64>,
}

/// Runs `run` `warmup + runs` times, timing each call and checking each output with
/// `check` (outside the timed span). The first failure ends the row.
pub fn measure<T>(
    plan: &Plan,
    mut run: impl FnMut(Option<Deadline>) -> Result<T, TechniqueError>,
    mut check: impl FnMut(&T) -> Result<(), String>,
) -> Result<Measurement<T>, TechniqueError> {
    let started = Instant::now();
    let deadline = plan.timeout.map(|limit| Deadline {
        at: started + limit,
        limit,
    });
    let mut samples_s = Vec::with_capacity(plan.runs as usize);
    let mut last = None;
    let mut peak: Option<u64> = None;
    for i in 0..plan.warmup + plan.runs.max(1) {
        memory::reset_peak();
        let t = Instant::now();
        let out = run(deadline)?;
        let secs = t.elapsed().as_secs_f64();
        peak = peak.max(memory::peak_rss_bytes());
        check(&out).map_err(TechniqueError::Invalid)?;
        if i >= plan.warmup {
            samples_s.push(secs);
            last = Some(out);
        }
        if let Some(d) = deadline
            && Instant::now() > d.at
        {
            return Err(TechniqueError::Timeout(d.limit));
        }
    }
    Ok(Measurement {
        samples_s,
        last: last.expect("at least one counted run"),
        peak_rss_bytes: peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_runs_are_not_counted() {
        let mut calls = 0;
        let plan = Plan {
            warmup: 2,
            runs: 3,
            timeout: None,
            skip_over: Duration::ZERO,
        };
        let m = measure(
            &plan,
            |_| {
                calls += 1;
                Ok(calls)
            },
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(m.samples_s.len(), 3);
        assert_eq!(m.last, 5);
        assert_eq!(calls, 5);
    }

    #[test]
    fn a_wrong_output_fails_the_row() {
        let plan = Plan {
            warmup: 0,
            runs: 3,
            timeout: None,
            skip_over: Duration::ZERO,
        };
        let err = measure(
            &plan,
            |_| Ok(41),
            |v| {
                if *v == 42 {
                    Ok(())
                } else {
                    Err(format!("got {v}"))
                }
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("got 41"), "{err}");
    }

    #[test]
    fn an_overrun_is_a_timeout() {
        let plan = Plan {
            warmup: 0,
            runs: 100,
            timeout: Some(Duration::from_millis(20)),
            skip_over: Duration::ZERO,
        };
        let err = measure(
            &plan,
            |_| {
                std::thread::sleep(Duration::from_millis(5));
                Ok(())
            },
            |_| Ok(()),
        )
        .unwrap_err();
        assert!(matches!(err, TechniqueError::Timeout(_)), "{err}");
    }
}
