//! A Python-style worker pool (`multiprocessing.Pool` / `ThreadPool`) for Rust: the same
//! four calls, `map`, `map_async`, `imap` and `imap_unordered`, with `chunksize`, over
//! threads or over worker processes.
//!
//! Where it deliberately differs from Python:
//! - `imap`/`imap_unordered` read their input lazily and keep at most a few chunks per
//!   worker in flight, so an endless input runs in bounded memory (Python's Pool reads
//!   ahead without limit). `map` and `map_async` take the whole input first, as Python's do.
//! - A worker process that dies gives the item it held an error (or a retry) and is
//!   replaced; no call ever waits for an answer that cannot come (Python's Pool hangs
//!   here, cpython issue 96062).
//! - Every item gets its own `Result`: one failing or panicking task spoils nothing else.

mod exec;
pub mod task;

use crate::error::panic_message;
use crate::worker::Outcome;
use crossbeam_channel::{Receiver, Sender};
use exec::{ProcExec, ProcWork, ThreadExec};
use std::collections::{BTreeMap, VecDeque};
use std::iter::Fuse;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
pub use task::{Task, TaskError};

/// Chunks each worker may have queued or running for one `imap` call.
const IN_FLIGHT_PER_WORKER: usize = 2;

/// Over what a pool runs its tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Threads,
    Processes,
}

impl PoolKind {
    /// The technique id of docs/DESIGN.md.
    pub fn id(self) -> &'static str {
        match self {
            PoolKind::Threads => "pool-threads",
            PoolKind::Processes => "pool-processes",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("a pool needs at least one worker")]
    NoWorkers,
    #[error("could not start the pool's workers: {0}")]
    Start(#[from] std::io::Error),
}

enum Exec {
    Threads(ThreadExec),
    Processes(ProcExec),
}

pub struct Pool {
    exec: Exec,
    workers: usize,
}

/// One item's result.
pub type ItemResult<O> = Result<O, TaskError>;

impl Pool {
    /// A pool of `workers` threads (Python's `ThreadPool`).
    pub fn threads(workers: usize) -> Result<Pool, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        Ok(Pool {
            exec: Exec::Threads(ThreadExec::new(workers)?),
            workers,
        })
    }

    /// A pool of `workers` processes running `exe` as workers (Python's `Pool`). A worker
    /// that dies is replaced; the item it held is tried again up to `retries` times.
    pub fn processes(workers: usize, exe: &Path, retries: u32) -> Result<Pool, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        Ok(Pool {
            exec: Exec::Processes(ProcExec::new(workers, exe, retries)?),
            workers,
        })
    }

    pub fn kind(&self) -> PoolKind {
        match self.exec {
            Exec::Threads(_) => PoolKind::Threads,
            Exec::Processes(_) => PoolKind::Processes,
        }
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Process ids of the worker processes (empty for a thread pool).
    pub fn worker_pids(&self) -> Vec<u32> {
        match &self.exec {
            Exec::Threads(_) => Vec::new(),
            Exec::Processes(p) => p.pids(),
        }
    }

    /// All results in input order, once every item is done. Takes the whole input
    /// first; `chunksize` `None` picks Python's default (about four chunks per worker).
    pub fn map<T: Task>(
        &self,
        task: &T,
        items: impl IntoIterator<Item = T::Input>,
        chunksize: Option<usize>,
    ) -> Vec<ItemResult<T::Output>> {
        self.map_async(task, items, chunksize).get()
    }

    /// Like `map`, but returns at once; the results wait in the handle.
    pub fn map_async<T: Task>(
        &self,
        task: &T,
        items: impl IntoIterator<Item = T::Input>,
        chunksize: Option<usize>,
    ) -> AsyncResult<T::Output> {
        let items: Vec<T::Input> = items.into_iter().collect();
        let len = items.len();
        let chunksize = chunksize
            .unwrap_or_else(|| default_chunksize(len, self.workers))
            .max(1);
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut items = items.into_iter();
        let mut start = 0;
        let mut chunks = 0;
        while start < len {
            let chunk: Vec<T::Input> = items.by_ref().take(chunksize).collect();
            let n = chunk.len();
            self.submit(task, start, chunk, tx.clone());
            start += n;
            chunks += 1;
        }
        AsyncResult {
            rx,
            len,
            chunks_left: chunks,
            slots: (0..len).map(|_| None).collect(),
        }
    }

    /// Results in input order, each as soon as it and all before it are done.
    pub fn imap<T: Task, I: IntoIterator<Item = T::Input>>(
        &self,
        task: &T,
        items: I,
        chunksize: usize,
    ) -> IMap<'_, T, I::IntoIter> {
        IMap::new(self, task, items.into_iter(), chunksize, true)
    }

    /// Results in the order they complete.
    pub fn imap_unordered<T: Task, I: IntoIterator<Item = T::Input>>(
        &self,
        task: &T,
        items: I,
        chunksize: usize,
    ) -> IMap<'_, T, I::IntoIter> {
        IMap::new(self, task, items.into_iter(), chunksize, false)
    }

    /// Waits for the queued work, then stops the workers and reaps every process.
    /// Dropping the pool instead stops it at once (worker processes are killed).
    pub fn close(mut self) {
        match &mut self.exec {
            Exec::Threads(t) => t.close(),
            Exec::Processes(p) => p.close(),
        }
    }

    fn submit<T: Task>(
        &self,
        task: &T,
        start: usize,
        items: Vec<T::Input>,
        tx: Sender<Chunk<T::Output>>,
    ) {
        let reply = Reply {
            tx,
            start,
            len: items.len(),
            sent: false,
        };
        match &self.exec {
            Exec::Threads(exec) => {
                let task = task.clone();
                exec.submit(Box::new(move || {
                    let results = items
                        .into_iter()
                        .map(|item| call_caught(&task, item))
                        .collect();
                    reply.send(results);
                }));
            }
            Exec::Processes(exec) => {
                let inputs: Result<Vec<_>, _> = items.iter().map(serde_json::to_value).collect();
                let (inputs, config) = match (inputs, serde_json::to_value(task)) {
                    (Ok(i), Ok(c)) => (i, c),
                    (Err(e), _) | (_, Err(e)) => {
                        return reply.fail(TaskError::BadData(e.to_string()));
                    }
                };
                exec.submit(ProcWork {
                    task: T::NAME,
                    config,
                    inputs,
                    reply: Box::new(move |answer| match answer {
                        Ok(outcomes) if outcomes.len() == reply.len => {
                            reply.send(outcomes.into_iter().map(decode::<T::Output>).collect())
                        }
                        Ok(outcomes) => {
                            let why = format!("{} results for {} items", outcomes.len(), reply.len);
                            reply.fail(TaskError::BadData(why))
                        }
                        Err(why) => reply.fail(TaskError::WorkerLost(why)),
                    }),
                });
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Exec::Processes(p) = &mut self.exec {
            p.terminate();
        }
    }
}

/// Python's choice: split the input into about four chunks per worker.
pub fn default_chunksize(len: usize, workers: usize) -> usize {
    len.div_ceil(workers.max(1) * 4).max(1)
}

fn call_caught<T: Task>(task: &T, item: T::Input) -> ItemResult<T::Output> {
    match catch_unwind(AssertUnwindSafe(|| task.call(item))) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(TaskError::Failed(e)),
        Err(payload) => Err(TaskError::Panicked(panic_message(&*payload))),
    }
}

fn decode<O: serde::de::DeserializeOwned>(outcome: Outcome) -> ItemResult<O> {
    match outcome {
        Outcome::Ok(v) => serde_json::from_value(v).map_err(|e| TaskError::BadData(e.to_string())),
        Outcome::Err(e) => Err(TaskError::Failed(e)),
        Outcome::Panic(e) => Err(TaskError::Panicked(e)),
    }
}

/// The results of one chunk, starting at item `start`.
struct Chunk<O> {
    start: usize,
    results: Vec<ItemResult<O>>,
}

/// Answers one chunk exactly once. If the work carrying it is dropped unrun (the pool
/// went away), the drop answers for it, so no caller waits for results that cannot come.
struct Reply<O> {
    tx: Sender<Chunk<O>>,
    start: usize,
    len: usize,
    sent: bool,
}

impl<O> Reply<O> {
    fn send(mut self, results: Vec<ItemResult<O>>) {
        self.sent = true;
        let _ = self.tx.send(Chunk {
            start: self.start,
            results,
        });
    }

    fn fail(self, error: TaskError) {
        let results = (0..self.len).map(|_| Err(error.clone())).collect();
        self.send(results);
    }
}

impl<O> Drop for Reply<O> {
    fn drop(&mut self) {
        if !self.sent {
            let lost = TaskError::WorkerLost("the pool stopped before the item ran".into());
            let _ = self.tx.send(Chunk {
                start: self.start,
                results: (0..self.len).map(|_| Err(lost.clone())).collect(),
            });
        }
    }
}

/// The pending results of a `map_async` call. It holds no borrow of the pool: if the
/// pool goes away first, the missing items come back as errors.
pub struct AsyncResult<O> {
    rx: Receiver<Chunk<O>>,
    len: usize,
    chunks_left: usize,
    slots: Vec<Option<ItemResult<O>>>,
}

impl<O> AsyncResult<O> {
    /// Whether every result is in, without waiting.
    pub fn ready(&mut self) -> bool {
        while self.chunks_left > 0 {
            match self.rx.try_recv() {
                Ok(chunk) => self.store(chunk),
                Err(_) => break,
            }
        }
        self.chunks_left == 0
    }

    /// Waits for every result; they come in input order.
    pub fn get(mut self) -> Vec<ItemResult<O>> {
        while self.chunks_left > 0 {
            match self.rx.recv() {
                Ok(chunk) => self.store(chunk),
                Err(_) => break,
            }
        }
        let lost = TaskError::WorkerLost("no result came back".into());
        self.slots
            .into_iter()
            .map(|s| s.unwrap_or_else(|| Err(lost.clone())))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn store(&mut self, chunk: Chunk<O>) {
        self.chunks_left -= 1;
        for (i, r) in chunk.results.into_iter().enumerate() {
            if let Some(slot) = self.slots.get_mut(chunk.start + i) {
                *slot = Some(r);
            }
        }
    }
}

/// The iterator of `imap` (ordered) and `imap_unordered`.
pub struct IMap<'p, T: Task, I: Iterator<Item = T::Input>> {
    pool: &'p Pool,
    task: T,
    input: Fuse<I>,
    chunksize: usize,
    ordered: bool,
    tx: Sender<Chunk<T::Output>>,
    rx: Receiver<Chunk<T::Output>>,
    /// Index of the next item to read from the input.
    next_start: usize,
    /// Chunks submitted and not yet back.
    in_flight: usize,
    /// Finished chunks waiting for an earlier one (ordered only), by start index.
    waiting: BTreeMap<usize, Vec<ItemResult<T::Output>>>,
    /// Index of the next item to yield (ordered only).
    next_yield: usize,
    out: VecDeque<ItemResult<T::Output>>,
    window: usize,
}

impl<'p, T: Task, I: Iterator<Item = T::Input>> IMap<'p, T, I> {
    fn new(pool: &'p Pool, task: &T, input: I, chunksize: usize, ordered: bool) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        IMap {
            pool,
            task: task.clone(),
            input: input.fuse(),
            chunksize: chunksize.max(1),
            ordered,
            tx,
            rx,
            next_start: 0,
            in_flight: 0,
            waiting: BTreeMap::new(),
            next_yield: 0,
            out: VecDeque::new(),
            window: pool.workers * IN_FLIGHT_PER_WORKER,
        }
    }

    /// Submits chunks while fewer than `window` are in flight or held back; results held
    /// for ordering count, so a slow first item cannot make the buffer grow without bound.
    fn fill(&mut self) {
        while self.in_flight + self.waiting.len() < self.window {
            let chunk: Vec<T::Input> = self.input.by_ref().take(self.chunksize).collect();
            if chunk.is_empty() {
                return;
            }
            let n = chunk.len();
            self.pool
                .submit(&self.task, self.next_start, chunk, self.tx.clone());
            self.next_start += n;
            self.in_flight += 1;
        }
    }

    fn accept(&mut self, chunk: Chunk<T::Output>) {
        self.in_flight -= 1;
        if !self.ordered {
            self.out.extend(chunk.results);
            return;
        }
        self.waiting.insert(chunk.start, chunk.results);
        while let Some(results) = self.waiting.remove(&self.next_yield) {
            self.next_yield += results.len();
            self.out.extend(results);
        }
    }
}

impl<T: Task, I: Iterator<Item = T::Input>> Iterator for IMap<'_, T, I> {
    type Item = ItemResult<T::Output>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.out.pop_front() {
                self.fill();
                return Some(r);
            }
            self.fill();
            if self.in_flight == 0 {
                return None;
            }
            // Every submitted chunk is answered exactly once (see `Reply`), and this
            // iterator holds a sender, so the channel cannot close under it.
            let chunk = self.rx.recv().expect("the iterator holds a sender");
            self.accept(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::task::{Flaky, Square};
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
    use std::time::{Duration, Instant};

    const CLOSED: u8 = 0;
    const OPEN: u8 = 1;
    const FINISHED: u8 = 2;
    /// One set of gates per test, since tests run at once in one process.
    static GATES: [[AtomicU8; 3]; 3] = [const { [const { AtomicU8::new(CLOSED) }; 3] }; 3];
    /// Long enough for any loaded machine; only a broken pool waits this long.
    const PATIENCE: Duration = Duration::from_secs(60);

    /// Item `i` finishes only once the test opens its gate `i`, so the test, not the
    /// length of sleeps racing against a busy machine, decides when and in which order
    /// items finish.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Gated {
        set: usize,
    }

    impl Task for Gated {
        const NAME: &'static str = "test-gated";
        type Input = usize;
        type Output = usize;

        fn call(&self, i: usize) -> Result<usize, String> {
            let gate = &GATES[self.set][i];
            let until = Instant::now() + PATIENCE;
            while gate.load(SeqCst) != OPEN {
                if Instant::now() > until {
                    return Err(format!("gate {i} never opened"));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            gate.store(FINISHED, SeqCst);
            Ok(i)
        }
    }

    /// Opens gate `i` of `set` and waits until its item has finished.
    fn finish(set: usize, i: usize) {
        let gate = &GATES[set][i];
        gate.store(OPEN, SeqCst);
        let until = Instant::now() + PATIENCE;
        while gate.load(SeqCst) != FINISHED {
            assert!(Instant::now() < until, "item {i} never ran");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn squares(n: u64) -> Vec<u64> {
        (0..n).map(|x| x * x).collect()
    }

    fn ok<O>(results: Vec<ItemResult<O>>) -> Vec<O> {
        results
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()).unwrap())
            .collect()
    }

    #[test]
    fn every_call_computes_every_item() {
        let pool = Pool::threads(3).unwrap();
        for chunksize in [1, 2, 7, 1000] {
            assert_eq!(ok(pool.map(&Square, 0..50, Some(chunksize))), squares(50));
            assert_eq!(
                ok(pool.map_async(&Square, 0..50, Some(chunksize)).get()),
                squares(50)
            );
            assert_eq!(
                ok(pool.imap(&Square, 0..50, chunksize).collect()),
                squares(50)
            );
            let mut unordered = ok(pool.imap_unordered(&Square, 0..50, chunksize).collect());
            unordered.sort();
            assert_eq!(unordered, squares(50));
        }
        assert_eq!(ok(pool.map(&Square, 0..50, None)), squares(50));
    }

    #[test]
    fn empty_input() {
        let pool = Pool::threads(2).unwrap();
        assert!(pool.map(&Square, std::iter::empty(), None).is_empty());
        let mut handle = pool.map_async(&Square, std::iter::empty(), Some(3));
        assert!(handle.ready() && handle.is_empty());
        assert_eq!(pool.imap(&Square, std::iter::empty(), 1).count(), 0);
        assert_eq!(
            pool.imap_unordered(&Square, std::iter::empty(), 4).count(),
            0
        );
    }

    #[test]
    fn bad_items_fail_alone_and_the_pool_stays_usable() {
        let pool = Pool::threads(2).unwrap();
        let flaky = Flaky {
            fail_on: vec![3],
            panic_on: vec![5],
        };
        let results = pool.map(&flaky, 0..8, Some(3));
        assert_eq!(
            results[3],
            Err(TaskError::Failed("flaky task refuses 3".into()))
        );
        assert!(matches!(&results[5], Err(TaskError::Panicked(m)) if m.contains("panics on 5")));
        assert_eq!(results[4], Ok(16));
        assert_eq!(results[6], Ok(36));
        assert_eq!(ok(pool.map(&Square, 0..4, None)), squares(4));
    }

    #[test]
    fn chunksize_splits_as_asked() {
        assert_eq!(default_chunksize(100, 3), 9);
        assert_eq!(default_chunksize(0, 3), 1);
        let pool = Pool::threads(1).unwrap();
        let handle = pool.map_async(&Square, 0..10, Some(4));
        assert_eq!(handle.chunks_left, 3); // 4 + 4 + 2
        assert_eq!(ok(handle.get()), squares(10));
    }

    #[test]
    fn map_async_returns_before_the_work_is_done() {
        const SET: usize = 0;
        let pool = Pool::threads(2).unwrap();
        let mut handle = pool.map_async(&Gated { set: SET }, [0, 1], Some(1));
        // No item can finish before its gate opens, so holding a handle that is not
        // ready means map_async did not wait for the work.
        assert!(!handle.ready(), "map_async waited for its items");
        for gate in &GATES[SET][..2] {
            gate.store(OPEN, SeqCst);
        }
        assert_eq!(ok(handle.get()), [0, 1]);
    }

    /// Items finish in the order 2, 0, 1: imap still yields them in input order.
    #[test]
    fn imap_yields_in_input_order() {
        const SET: usize = 1;
        let pool = Pool::threads(3).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| [2, 0, 1].into_iter().for_each(|i| finish(SET, i)));
            let ordered: Vec<usize> = pool
                .imap(&Gated { set: SET }, [0, 1, 2], 1)
                .map(Result::unwrap)
                .collect();
            assert_eq!(ordered, [0, 1, 2]);
        });
    }

    /// Items finish in the order 0, 2, 1 (the paper's sleeps of 1, 5 and 3 units):
    /// imap_unordered yields them as they finish. One gate is open at a time and the
    /// next opens only once the result is in hand, so no two results can race.
    #[test]
    fn imap_unordered_yields_in_completion_order() {
        const SET: usize = 2;
        let pool = Pool::threads(3).unwrap();
        let mut unordered = pool.imap_unordered(&Gated { set: SET }, [0, 1, 2], 1);
        for i in [0, 2, 1] {
            GATES[SET][i].store(OPEN, SeqCst);
            assert_eq!(unordered.next().map(Result::unwrap), Some(i));
        }
        assert!(unordered.next().is_none());
    }

    /// An endless input: imap reads only as far as it must.
    #[test]
    fn imap_reads_its_input_lazily() {
        let pool = Pool::threads(2).unwrap();
        let read = std::sync::atomic::AtomicU64::new(0);
        let endless = (0u64..).inspect(|_| {
            read.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let first: Vec<u64> = pool
            .imap(&Square, endless, 1)
            .take(10)
            .map(Result::unwrap)
            .collect();
        assert_eq!(first, squares(10));
        let consumed = read.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            consumed <= 10 + (2 * IN_FLIGHT_PER_WORKER) as u64,
            "read {consumed} items for 10"
        );
    }

    #[test]
    fn zero_workers_is_refused() {
        assert!(matches!(Pool::threads(0), Err(PoolError::NoWorkers)));
    }
}
