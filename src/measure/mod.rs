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

/// How the rows of one comparison share the machine's time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// One run of each row in turn (warm-ups first), so a drift of the machine's speed
    /// over seconds (another process, the CPU's clock) falls on every row alike instead
    /// of passing for a difference between techniques.
    #[default]
    Interleaved,
    /// All runs of a row, then the next row: what a reader timing one row alone sees.
    Grouped,
}

/// Runs a row once, with the deadline it must end by.
pub type RunOnce<'a, T> = Box<dyn FnMut(Option<Deadline>) -> Result<T, TechniqueError> + Send + 'a>;
/// Checks one run's output, outside the timed span.
pub type CheckOnce<'a, T> = Box<dyn FnMut(&T) -> Result<(), String> + Send + 'a>;

/// One row of an interleaved measurement: how to run it once and how to check an output.
pub struct Arm<'a, T> {
    pub run: RunOnce<'a, T>,
    pub check: CheckOnce<'a, T>,
}

/// Measures every arm with the same plan, one run of each in turn: all warm-ups first,
/// then the counted runs round by round. Each arm keeps its own clock against the plan's
/// timeout (its own runs only), and an arm that fails drops out of later rounds while
/// the others go on; results come back in the arms' order.
pub fn measure_interleaved<T>(
    plan: &Plan,
    mut arms: Vec<Arm<'_, T>>,
) -> Vec<Result<Measurement<T>, TechniqueError>> {
    struct State<T> {
        spent: Duration,
        samples_s: Vec<f64>,
        last: Option<T>,
        peak: Option<u64>,
        failed: Option<TechniqueError>,
    }
    let mut states: Vec<State<T>> = arms
        .iter()
        .map(|_| State {
            spent: Duration::ZERO,
            samples_s: Vec::with_capacity(plan.runs as usize),
            last: None,
            peak: None,
            failed: None,
        })
        .collect();
    for round in 0..plan.warmup + plan.runs.max(1) {
        for (arm, st) in arms.iter_mut().zip(states.iter_mut()) {
            if st.failed.is_some() {
                continue;
            }
            let deadline = plan.timeout.map(|limit| Deadline {
                at: Instant::now() + limit.saturating_sub(st.spent),
                limit,
            });
            memory::reset_peak();
            let t = Instant::now();
            let out = (arm.run)(deadline);
            let took = t.elapsed();
            st.spent += took;
            st.peak = st.peak.max(memory::peak_rss_bytes());
            let out = match out
                .and_then(|o| (arm.check)(&o).map(|()| o).map_err(TechniqueError::Invalid))
            {
                Ok(o) => o,
                Err(e) => {
                    st.failed = Some(e);
                    continue;
                }
            };
            if round >= plan.warmup {
                st.samples_s.push(took.as_secs_f64());
                st.last = Some(out);
            }
            if let Some(limit) = plan.timeout
                && st.spent > limit
            {
                st.failed = Some(TechniqueError::Timeout(limit));
            }
        }
    }
    states
        .into_iter()
        .map(|st| match (st.failed, st.last) {
            (Some(e), _) => Err(e),
            (None, Some(last)) => Ok(Measurement {
                samples_s: st.samples_s,
                last,
                peak_rss_bytes: st.peak,
            }),
            (None, None) => unreachable!("every round runs every arm that has not failed"),
        })
        .collect()
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

    #[test]
    fn interleaved_arms_take_turns_and_a_failure_drops_only_its_arm() {
        use std::sync::{Arc, Mutex};
        let order = Arc::new(Mutex::new(Vec::new()));
        let plan = Plan {
            warmup: 1,
            runs: 2,
            timeout: None,
            skip_over: Duration::ZERO,
        };
        let arm = |name: &'static str, fail_at: Option<usize>| {
            let order = Arc::clone(&order);
            let mut calls = 0;
            Arm {
                run: Box::new(move |_| {
                    calls += 1;
                    order.lock().unwrap().push(name);
                    match fail_at {
                        Some(n) if calls == n => Err(TechniqueError::Invalid("broke".into())),
                        _ => Ok(calls),
                    }
                }),
                check: Box::new(|_: &usize| Ok(())),
            }
        };
        let results = measure_interleaved(&plan, vec![arm("a", None), arm("b", Some(2))]);
        assert_eq!(*order.lock().unwrap(), ["a", "b", "a", "b", "a"]);
        let a = results[0].as_ref().unwrap();
        assert_eq!((a.samples_s.len(), a.last), (2, 3));
        assert!(
            results[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("broke")
        );
    }

    #[test]
    fn an_interleaved_arm_that_overruns_times_out_alone() {
        let plan = Plan {
            warmup: 0,
            runs: 50,
            timeout: Some(Duration::from_millis(20)),
            skip_over: Duration::ZERO,
        };
        let slow = Arm {
            run: Box::new(|_| {
                std::thread::sleep(Duration::from_millis(5));
                Ok(())
            }),
            check: Box::new(|_: &()| Ok(())),
        };
        let quick = Arm {
            run: Box::new(|_| Ok(())),
            check: Box::new(|_: &()| Ok(())),
        };
        let results = measure_interleaved(&plan, vec![slow, quick]);
        assert!(matches!(results[0], Err(TechniqueError::Timeout(_))));
        assert_eq!(results[1].as_ref().unwrap().samples_s.len(), 50);
    }
}
