//! Async tasks on a tokio runtime: the closest Rust analogue of goroutines. The
//! multi-thread runtime has one worker thread per CPU, like Go's default GOMAXPROCS;
//! the current-thread runtime is GOMAXPROCS=1. CPU-bound jobs never await, so each
//! occupies a runtime thread until it ends: tokio, unlike Go since 1.14, never preempts
//! a task, and that is part of what the experiments show. I/O work awaits, and then a
//! handful of threads carry thousands of tasks.

use super::{Batch, Done, Work};
use crate::error::{TechniqueError, panic_message};
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::{Mutex, mpsc};

pub(crate) fn runtime(current_thread: bool) -> Result<Runtime, TechniqueError> {
    let mut builder = if current_thread {
        Builder::new_current_thread()
    } else {
        Builder::new_multi_thread()
    };
    // Time and I/O drivers: async work (HTTP checks) needs them; CPU jobs ignore them.
    builder
        .thread_name("tokio-worker")
        .enable_all()
        .build()
        .map_err(|e| TechniqueError::Setup(format!("tokio runtime: {e}")))
}

/// `tasks` tasks pull item indices from one channel and report on another.
pub(crate) fn run<W: Work>(
    rt: &Runtime,
    jobs: &[W],
    tasks: usize,
) -> Result<Batch<W::Output>, TechniqueError> {
    let jobs: Arc<[W]> = jobs.into();
    let t0 = Instant::now();
    rt.block_on(async move {
        let (job_tx, job_rx) = mpsc::unbounded_channel::<usize>();
        for i in 0..jobs.len() {
            job_tx.send(i).expect("the receiver is alive");
        }
        drop(job_tx);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done<W::Output>>();
        let handles: Vec<_> = (0..tasks)
            .map(|w| {
                let (jobs, job_rx, done_tx) = (jobs.clone(), job_rx.clone(), done_tx.clone());
                tokio::spawn(async move {
                    loop {
                        let next = job_rx.lock().await.recv().await;
                        let Some(i) = next else { break };
                        let start = t0.elapsed();
                        let output = jobs[i].clone().run_async().await;
                        let _ = done_tx.send(Done::new(
                            i,
                            output,
                            format!("task-{}", w + 1),
                            start,
                            t0.elapsed(),
                        ));
                    }
                })
            })
            .collect();
        drop(done_tx);
        let mut failure = None;
        for handle in handles {
            if let Err(e) = handle.await {
                failure.get_or_insert(if e.is_panic() {
                    TechniqueError::Panicked(panic_message(&*e.into_panic()))
                } else {
                    TechniqueError::Panicked("a task was cancelled".into())
                });
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let mut done = Vec::with_capacity(jobs.len());
        while let Ok(d) = done_rx.try_recv() {
            done.push(d);
        }
        Batch::assemble(jobs.len(), done)
    })
}
