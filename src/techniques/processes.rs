//! Worker processes (see `crate::worker`): each job goes to a worker as one JSON line and
//! its result comes back as one, so the cost of starting processes and of crossing a
//! process boundary is measured, not hidden. Workers start inside the timed run, as a
//! Python `Pool` created in the timed function does.
//!
//! Python's Pool hangs forever when a worker dies mid-task (cpython issue 96062). Here a
//! worker that dies, exits without answering, or answers with anything but a valid line
//! is an error for its row; the other workers are killed and every one is reaped.

use super::{Batch, Done, Work};
use crate::error::TechniqueError;
use crate::measure::Deadline;
use crate::pool::task::Task;
use crate::worker::{KillHandle, Outcome, WorkerProcess};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::path::Path;
use std::thread;
use std::time::Instant;

enum Msg<O> {
    Done(Done<O>),
    Bye(Option<u64>),
    Failed(TechniqueError),
}

pub(crate) fn run<W: Work>(
    jobs: &[W],
    workers: usize,
    exe: &Path,
    deadline: Option<Deadline>,
) -> Result<Batch<W::Output>, TechniqueError> {
    let t0 = Instant::now();
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<usize>();
    for i in 0..jobs.len() {
        job_tx.send(i).expect("the receiver is alive");
    }
    drop(job_tx);
    // Spawned here, on the thread that outlives them (see WorkerProcess::spawn).
    let mut procs = Vec::with_capacity(workers);
    for _ in 0..workers {
        procs.push(
            WorkerProcess::spawn(exe).map_err(|source| TechniqueError::Spawn {
                exe: exe.display().to_string(),
                source,
            })?,
        );
    }
    let handles: Vec<KillHandle> = procs.iter().map(WorkerProcess::kill_handle).collect();
    let (msg_tx, msg_rx) = crossbeam_channel::unbounded::<Msg<W::Output>>();
    let (mut done, mut peaks, mut failure) = (Vec::with_capacity(jobs.len()), Vec::new(), None);
    thread::scope(|s| {
        for (w, proc) in procs.into_iter().enumerate() {
            let (job_rx, msg_tx) = (job_rx.clone(), msg_tx.clone());
            s.spawn(move || drive(w, proc, jobs, job_rx, msg_tx, t0));
        }
        drop(msg_tx);
        while failure.is_none() {
            let msg = match deadline {
                Some(d) => msg_rx.recv_deadline(d.at),
                None => msg_rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Msg::Done(d)) => done.push(d),
                Ok(Msg::Bye(peak)) => peaks.push(peak),
                Ok(Msg::Failed(e)) => failure = Some(e),
                Err(RecvTimeoutError::Timeout) => {
                    failure = deadline.map(|d| TechniqueError::Timeout(d.limit))
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if failure.is_some() {
            // Unblocks every pipe the driving threads wait on, so the scope can end.
            handles.iter().for_each(KillHandle::kill);
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let mut batch = Batch::assemble(jobs.len(), done)?;
    batch.children_peak_rss = peaks.into_iter().sum::<Option<u64>>();
    batch
        .extra
        .insert("worker_processes".into(), workers.into());
    Ok(batch)
}

/// Feeds worker `w` one job at a time, then shuts it down; every way out reaps it.
fn drive<W: Work>(
    w: usize,
    mut proc: WorkerProcess,
    jobs: &[W],
    job_rx: Receiver<usize>,
    tx: Sender<Msg<W::Output>>,
    t0: Instant,
) {
    let lane = format!("process-{}", w + 1);
    let config = serde_json::to_value(W::Task::default()).expect("task settings serialise");
    let failed = |what: String| {
        Msg::Failed(TechniqueError::WorkerFailed {
            worker: w + 1,
            what,
        })
    };
    for i in job_rx {
        let start = t0.elapsed();
        let input = serde_json::to_value(&jobs[i]).expect("work items serialise");
        let msg = match proc.call(W::Task::NAME, &config, vec![input]).as_deref() {
            Ok([Outcome::Ok(v)]) => match serde_json::from_value::<W::Output>(v.clone()) {
                Ok(output) => Msg::Done(Done::new(i, output, lane.clone(), start, t0.elapsed())),
                Err(_) => failed(format!("answered {v} for {}", jobs[i].label())),
            },
            Ok([Outcome::Err(e) | Outcome::Panic(e)]) => {
                failed(format!("failed on {}: {e}", jobs[i].label()))
            }
            Ok(other) => failed(format!("answered {} results for one job", other.len())),
            Err(fault) => failed(proc.explain(fault)),
        };
        let stop = matches!(msg, Msg::Failed(_));
        let _ = tx.send(msg);
        if stop {
            return;
        }
    }
    let _ = tx.send(match proc.shutdown() {
        Ok(peak) => Msg::Bye(peak),
        Err(what) => failed(what),
    });
}
