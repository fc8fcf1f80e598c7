//! The two engines under `Pool`: threads that run boxed closures, and driver threads
//! that each own one worker process and feed it requests, replacing it when it dies.

use crate::worker::{KillHandle, Outcome, WorkerProcess};
use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

pub(crate) type Work = Box<dyn FnOnce() + Send>;

/// Worker threads pulling closures from one queue.
pub(crate) struct ThreadExec {
    tx: Option<Sender<Work>>,
    threads: Vec<JoinHandle<()>>,
}

impl ThreadExec {
    pub fn new(workers: usize) -> std::io::Result<ThreadExec> {
        let (tx, rx) = crossbeam_channel::unbounded::<Work>();
        let threads = (0..workers)
            .map(|i| {
                let rx = rx.clone();
                thread::Builder::new()
                    .name(format!("pool-thread-{}", i + 1))
                    .spawn(move || rx.into_iter().for_each(|work| work()))
            })
            .collect::<Result<_, _>>()?;
        Ok(ThreadExec {
            tx: Some(tx),
            threads,
        })
    }

    pub fn submit(&self, work: Work) {
        if let Some(tx) = &self.tx {
            // Only fails once closed; the work (and its reply guard) is then dropped,
            // which answers its items with an error.
            let _ = tx.send(work);
        }
    }

    /// Lets queued work finish, then joins the threads.
    pub fn close(&mut self) {
        drop(self.tx.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for ThreadExec {
    fn drop(&mut self) {
        self.close();
    }
}

/// A request for a worker process, and what to do with the answer.
pub(crate) struct ProcWork {
    pub task: &'static str,
    pub config: Value,
    pub inputs: Vec<Value>,
    /// Called exactly once: with the outcomes, or with why the worker was lost.
    pub reply: Box<dyn FnOnce(Result<Vec<Outcome>, String>) + Send>,
}

/// One driver thread per worker process. A driver whose worker dies answers (or, with
/// retries left, re-sends) the request it held and starts a fresh worker.
pub(crate) struct ProcExec {
    tx: Option<Sender<ProcWork>>,
    drivers: Vec<JoinHandle<()>>,
    slots: Arc<Vec<Mutex<Option<KillHandle>>>>,
    stopping: Arc<AtomicBool>,
}

impl ProcExec {
    pub fn new(workers: usize, exe: &Path, retries: u32) -> std::io::Result<ProcExec> {
        let (tx, rx) = crossbeam_channel::unbounded::<ProcWork>();
        let slots: Arc<Vec<Mutex<Option<KillHandle>>>> =
            Arc::new((0..workers).map(|_| Mutex::new(None)).collect());
        let stopping = Arc::new(AtomicBool::new(false));
        let mut drivers = Vec::with_capacity(workers);
        for i in 0..workers {
            // Start the first worker here, so a binary that cannot start fails the pool now.
            let first = WorkerProcess::spawn(exe)?;
            let driver = Driver {
                slot: i,
                exe: exe.to_path_buf(),
                retries,
                slots: slots.clone(),
                stopping: stopping.clone(),
            };
            let rx = rx.clone();
            // The first worker moves to its driver; later ones are spawned by the driver
            // itself, which lives as long as they do.
            let (handoff_tx, handoff_rx) = crossbeam_channel::bounded(1);
            drivers.push(
                thread::Builder::new()
                    .name(format!("pool-driver-{}", i + 1))
                    .spawn(move || driver.run(handoff_rx.recv().ok(), rx))?,
            );
            *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(first.kill_handle());
            let _ = handoff_tx.send(first);
        }
        Ok(ProcExec {
            tx: Some(tx),
            drivers,
            slots,
            stopping,
        })
    }

    pub fn submit(&self, work: ProcWork) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(work);
        }
    }

    /// Process ids of the live workers.
    pub fn pids(&self) -> Vec<u32> {
        self.slots
            .iter()
            .filter_map(|s| {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .and_then(KillHandle::pid)
            })
            .collect()
    }

    /// Lets queued work finish, then shuts every worker down and reaps it.
    pub fn close(&mut self) {
        drop(self.tx.take());
        for d in self.drivers.drain(..) {
            let _ = d.join();
        }
    }

    /// Kills the workers now; queued and running requests are answered with an error.
    pub fn terminate(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        drop(self.tx.take());
        for slot in self.slots.iter() {
            if let Some(h) = slot.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                h.kill();
            }
        }
        for d in self.drivers.drain(..) {
            let _ = d.join();
        }
    }
}

impl Drop for ProcExec {
    fn drop(&mut self) {
        self.terminate();
    }
}

struct Driver {
    slot: usize,
    exe: PathBuf,
    retries: u32,
    slots: Arc<Vec<Mutex<Option<KillHandle>>>>,
    stopping: Arc<AtomicBool>,
}

impl Driver {
    fn set_slot(&self, handle: Option<KillHandle>) {
        *self.slots[self.slot]
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = handle;
    }

    fn run(self, first: Option<WorkerProcess>, rx: Receiver<ProcWork>) {
        let mut worker = first;
        for work in rx {
            if self.stopping.load(Ordering::SeqCst) {
                (work.reply)(Err("the pool was terminated".into()));
                continue;
            }
            let mut attempts_left = self.retries;
            let outcome = loop {
                // A worker that died while idle never held this request: replace it
                // without spending a retry.
                if worker.as_mut().is_some_and(WorkerProcess::has_exited) {
                    self.set_slot(None);
                    worker = None;
                }
                let proc = match worker.as_mut() {
                    Some(p) => p,
                    None => match WorkerProcess::spawn(&self.exe) {
                        Ok(p) => {
                            self.set_slot(Some(p.kill_handle()));
                            worker.insert(p)
                        }
                        Err(e) => break Err(format!("could not start a replacement worker: {e}")),
                    },
                };
                match proc.call(work.task, &work.config, work.inputs.clone()) {
                    Ok(outcomes) => break Ok(outcomes),
                    Err(fault) => {
                        let why = proc.explain(&fault);
                        // Drop kills and reaps the broken worker; the next request gets a new one.
                        self.set_slot(None);
                        worker = None;
                        if attempts_left == 0 || self.stopping.load(Ordering::SeqCst) {
                            break Err(format!("worker process {why}"));
                        }
                        attempts_left -= 1;
                    }
                }
            };
            (work.reply)(outcome);
        }
        self.set_slot(None);
        if let Some(w) = worker {
            let _ = w.shutdown();
        }
    }
}
