//! OS threads pulling items from a channel and sending results back on another: the
//! shape of the paper's Go worker pool (Figure 12), with std threads instead of
//! goroutines, so the kernel does the scheduling.

use super::{Batch, Done, Work};
use crate::error::{TechniqueError, panic_message};
use std::thread;
use std::time::Instant;

/// `stack` sets the threads' stack size (`None`: Rust's default of 2 MiB).
pub(crate) fn run<W: Work>(
    items: &[W],
    workers: usize,
    stack: Option<usize>,
) -> Result<Batch<W::Output>, TechniqueError> {
    run_pulling(items, workers, stack, |_, item| item.run())
}

/// Runs `workers` scoped threads that take item indices from one channel until it is
/// empty; `exec` runs an item on worker `w`. Shared with the GIL model, whose threads
/// differ only in how they execute an item.
pub(crate) fn run_pulling<W, F>(
    items: &[W],
    workers: usize,
    stack: Option<usize>,
    exec: F,
) -> Result<Batch<W::Output>, TechniqueError>
where
    W: Work,
    F: Fn(usize, &W) -> W::Output + Sync,
{
    let t0 = Instant::now();
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<usize>();
    for i in 0..items.len() {
        job_tx.send(i).expect("the receiver is alive");
    }
    drop(job_tx);
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done<W::Output>>();
    let exec = &exec;
    let (joined, spawn_error) = thread::scope(|s| {
        let mut handles = Vec::with_capacity(workers);
        let mut spawn_error = None;
        for w in 0..workers {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            let mut builder = thread::Builder::new();
            if let Some(bytes) = stack {
                builder = builder.stack_size(bytes);
            }
            let spawned = builder.spawn_scoped(s, move || {
                for i in job_rx {
                    let start = t0.elapsed();
                    let output = exec(w, &items[i]);
                    let _ = done_tx.send(Done::new(
                        i,
                        output,
                        format!("thread-{}", w + 1),
                        start,
                        t0.elapsed(),
                    ));
                }
            });
            match spawned {
                Ok(h) => handles.push(h),
                // The threads already started still finish the queue; the row fails.
                Err(e) => {
                    spawn_error = Some(format!(
                        "could not start thread {} of {workers}: {e}",
                        w + 1
                    ));
                    break;
                }
            }
        }
        let joined: Vec<thread::Result<()>> = handles.into_iter().map(|h| h.join()).collect();
        (joined, spawn_error)
    });
    drop(done_tx);
    if let Some(Err(payload)) = joined.into_iter().find(Result::is_err) {
        return Err(TechniqueError::Panicked(panic_message(&*payload)));
    }
    if let Some(why) = spawn_error {
        return Err(TechniqueError::Setup(why));
    }
    Batch::assemble(items.len(), done_rx.try_iter())
}
