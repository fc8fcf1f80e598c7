//! rayon's work-stealing pool. Jobs are spawned in FIFO order (so a job order chosen by
//! the experiment is honoured) and a count is split further with `rayon::join` until
//! pieces are small: rayon balances uneven chunks over the cores by stealing halves,
//! which neither one-thread-per-chunk nor async tasks can do.

use super::{Batch, Done, jobs::Job};
use crate::error::{TechniqueError, panic_message};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

/// Below this many decrements a count is not split further (a few milliseconds of work).
const GRAIN: u64 = 1 << 22;

pub(crate) fn build(threads: usize) -> Result<rayon::ThreadPool, TechniqueError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rayon-{}", i + 1))
        .build()
        .map_err(|e| TechniqueError::Setup(format!("rayon pool: {e}")))
}

pub(crate) fn run(pool: &rayon::ThreadPool, jobs: &[Job]) -> Result<Batch, TechniqueError> {
    let t0 = Instant::now();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope_fifo(|s| {
            for (i, job) in jobs.iter().enumerate() {
                let done_tx = done_tx.clone();
                s.spawn_fifo(move |_| {
                    let lane = format!(
                        "rayon-{}",
                        rayon::current_thread_index().map_or(0, |t| t + 1)
                    );
                    let start = t0.elapsed();
                    let output = run_split(job);
                    let _ = done_tx.send(Done::new(i, output, lane, start, t0.elapsed()));
                });
            }
        })
    }));
    drop(done_tx);
    if let Err(payload) = outcome {
        return Err(TechniqueError::Panicked(panic_message(&*payload)));
    }
    Batch::assemble(jobs.len(), done_rx.try_iter())
}

fn run_split(job: &Job) -> u64 {
    match *job {
        Job::CountDown { n } if n > GRAIN => {
            let half = n / 2;
            let (a, b) = rayon::join(
                || run_split(&Job::CountDown { n: half }),
                || run_split(&Job::CountDown { n: n - half }),
            );
            a + b
        }
        _ => job.run(),
    }
}
