//! rayon's work-stealing pool. Items are spawned in FIFO order (so an order chosen by
//! the experiment is honoured) and each runs through `Work::run_rayon`, where a count
//! splits itself further.

use super::{Batch, Done, Work};
use crate::error::{TechniqueError, panic_message};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

pub(crate) fn build(threads: usize) -> Result<rayon::ThreadPool, TechniqueError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rayon-{}", i + 1))
        .build()
        .map_err(|e| TechniqueError::Setup(format!("rayon pool: {e}")))
}

pub(crate) fn run<W: Work>(
    pool: &rayon::ThreadPool,
    items: &[W],
) -> Result<Batch<W::Output>, TechniqueError> {
    let t0 = Instant::now();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done<W::Output>>();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope_fifo(|s| {
            for (i, item) in items.iter().enumerate() {
                let done_tx = done_tx.clone();
                s.spawn_fifo(move |_| {
                    let lane = format!(
                        "rayon-{}",
                        rayon::current_thread_index().map_or(0, |t| t + 1)
                    );
                    let start = t0.elapsed();
                    let output = item.run_rayon();
                    let _ = done_tx.send(Done::new(i, output, lane, start, t0.elapsed()));
                });
            }
        })
    }));
    drop(done_tx);
    if let Err(payload) = outcome {
        return Err(TechniqueError::Panicked(panic_message(&*payload)));
    }
    Batch::assemble(items.len(), done_rx.try_iter())
}
