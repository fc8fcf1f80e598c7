//! Ways of running a list of CPU-bound jobs, one module per technique.
//!
//! Every technique takes the same jobs and `workers` and returns the same `Batch`
//! (outputs in job order plus a span per job), so experiments compare techniques
//! without knowing how each one schedules. What `workers` means follows each
//! technique's own model: OS threads, worker processes, async tasks, rayon pool threads,
//! or threads that share one global lock.

pub mod channels;
pub mod gil_model;
pub mod http;
pub mod jobs;
pub mod processes;
mod rayon_pool;
mod sequential;
pub mod shared_count;
mod threads;
mod tokio_tasks;

use crate::error::TechniqueError;
use crate::measure::Deadline;
use crate::pool::task::Task;
use crate::results::{Event, Params};
use jobs::Job;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// One unit of work every technique can run: a CPU-bound job, an HTTP check. Each
/// technique decides how to schedule items; the item says how to run itself, so a new
/// kind of work runs under every technique without touching any of them.
pub trait Work: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {
    type Output: Clone + Send + Sync + Debug + Serialize + DeserializeOwned + 'static;
    /// The pool task that runs this item in a worker process.
    type Task: Task<Input = Self, Output = Self::Output> + Default;

    fn run(&self) -> Self::Output;

    /// Runs with check points where the GIL model's threads may hand the lock over.
    fn run_ticked<F: FnMut()>(&self, tick: &mut F) -> Self::Output {
        let _ = tick;
        self.run()
    }

    /// Runs as an async task. By default the work simply blocks its runtime thread, which
    /// is what CPU-bound work does to an async runtime.
    fn run_async(self) -> impl Future<Output = Self::Output> + Send {
        async move { self.run() }
    }

    /// Runs inside rayon's pool, where it may split itself further.
    fn run_rayon(&self) -> Self::Output {
        self.run()
    }

    /// A short name for timelines: `fib(30)`, `GET /site/google.com`.
    fn label(&self) -> String;
}

/// Every technique parlab knows, by the ids of DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Technique {
    Sequential,
    Threads,
    Rayon,
    Processes,
    Tokio,
    Tokio1,
    GilModel,
    /// `crate::pool` over threads (Python's `ThreadPool`); not a job runner.
    PoolThreads,
    /// `crate::pool` over worker processes (Python's `Pool`); not a job runner.
    PoolProcesses,
    /// A count no other thread sees (`shared_count`); not a job runner.
    Plain,
    /// Unsynchronised read-modify-write of a shared count (`shared_count`); not a job runner.
    Racy,
    /// Atomic updates of a shared count (`shared_count`); not a job runner.
    Atomic,
    /// A mutex around a shared count (`shared_count`); not a job runner.
    Mutex,
    /// `std::sync::mpsc::sync_channel` between OS threads (`channels`); not a job runner.
    StdSyncChannel,
    /// `crossbeam_channel::bounded` between OS threads (`channels`); not a job runner.
    Crossbeam,
    /// `tokio::sync::mpsc` between tasks on a multi-thread runtime (`channels`); not a job runner.
    TokioMpsc,
    /// `tokio::sync::mpsc` between tasks on one thread, Go's user-space hand-off
    /// (`channels`); not a job runner.
    Tokio1Mpsc,
    /// `kanal::bounded` between OS threads (`channels`); not a job runner.
    Kanal,
    /// kanal's async channel between tasks on one thread (`channels`): the fastest
    /// user-space hand-off found for Rust; not a job runner.
    Kanal1,
    /// `crossbeam_channel::select!` over two channels (`channels`); not a job runner.
    CrossbeamSelect,
    /// `tokio::select!` over two channels (`channels`); not a job runner.
    TokioSelect,
}

impl Technique {
    /// The techniques that run job lists through `Runner`.
    pub const ALL: [Technique; 7] = [
        Technique::Sequential,
        Technique::Threads,
        Technique::Rayon,
        Technique::Processes,
        Technique::Tokio,
        Technique::Tokio1,
        Technique::GilModel,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Technique::Sequential => "sequential",
            Technique::Threads => "threads",
            Technique::Rayon => "rayon",
            Technique::Processes => "processes",
            Technique::Tokio => "tokio",
            Technique::Tokio1 => "tokio-1",
            Technique::GilModel => "gil-model",
            Technique::PoolThreads => "pool-threads",
            Technique::PoolProcesses => "pool-processes",
            Technique::Plain => "plain",
            Technique::Racy => "racy",
            Technique::Atomic => "atomic",
            Technique::Mutex => "mutex",
            Technique::StdSyncChannel => "std-sync-channel",
            Technique::Crossbeam => "crossbeam",
            Technique::TokioMpsc => "tokio-mpsc",
            Technique::Tokio1Mpsc => "tokio-1-mpsc",
            Technique::Kanal => "kanal",
            Technique::Kanal1 => "kanal-1",
            Technique::CrossbeamSelect => "crossbeam-select",
            Technique::TokioSelect => "tokio-select",
        }
    }

    pub fn from_id(id: &str) -> Option<Technique> {
        Technique::ALL
            .into_iter()
            .chain([
                Technique::PoolThreads,
                Technique::PoolProcesses,
                Technique::Plain,
                Technique::Racy,
                Technique::Atomic,
                Technique::Mutex,
                Technique::StdSyncChannel,
                Technique::Crossbeam,
                Technique::TokioMpsc,
                Technique::Tokio1Mpsc,
                Technique::Kanal,
                Technique::Kanal1,
                Technique::CrossbeamSelect,
                Technique::TokioSelect,
            ])
            .find(|t| t.id() == id)
    }
}

/// How a row runs its jobs.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub technique: Technique,
    /// Threads, processes or tasks that pull jobs; for rayon, the pool's thread count.
    pub workers: usize,
    /// The GIL model's switch interval (CPython's default is 5 ms).
    pub switch_interval: Duration,
    /// The binary the processes technique re-executes as a worker.
    pub worker_exe: PathBuf,
    /// Stack size of the threads technique's threads; `None` is Rust's default (2 MiB).
    pub thread_stack: Option<usize>,
}

/// When a job ran and where, measured from the start of its batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub job: usize,
    pub lane: String,
    pub start: Duration,
    pub end: Duration,
}

/// What one run of a list of work items produced.
#[derive(Clone, Debug)]
pub struct Batch<O = u64> {
    /// One output per item, in item order.
    pub outputs: Vec<O>,
    pub spans: Vec<Span>,
    /// Sum of the worker processes' peak resident memory, where workers were used.
    pub children_peak_rss: Option<u64>,
    pub extra: Params,
}

/// One finished item, as a worker reports it.
pub(crate) struct Done<O = u64> {
    pub job: usize,
    pub output: O,
    pub span: Span,
}

impl<O> Done<O> {
    pub fn new(job: usize, output: O, lane: String, start: Duration, end: Duration) -> Done<O> {
        Done {
            job,
            output,
            span: Span {
                job,
                lane,
                start,
                end,
            },
        }
    }
}

impl<O> Batch<O> {
    /// Puts finished items back in item order; an item that never finished is an error.
    pub(crate) fn assemble(
        jobs: usize,
        done: impl IntoIterator<Item = Done<O>>,
    ) -> Result<Batch<O>, TechniqueError> {
        let mut outputs: Vec<Option<O>> = (0..jobs).map(|_| None).collect();
        let mut spans = Vec::with_capacity(jobs);
        for d in done {
            match outputs.get_mut(d.job) {
                Some(slot @ None) => *slot = Some(d.output),
                _ => {
                    return Err(TechniqueError::Invalid(format!(
                        "job {} was reported twice or does not exist",
                        d.job
                    )));
                }
            }
            spans.push(d.span);
        }
        let outputs = outputs
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.ok_or_else(|| TechniqueError::Invalid(format!("job {i} never finished")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        spans.sort_by_key(|s| s.start);
        Ok(Batch {
            outputs,
            spans,
            children_peak_rss: None,
            extra: Params::new(),
        })
    }

    /// Start and end events of every item, in time order, for timelines and traces.
    pub fn events<W: Work>(&self, items: &[W]) -> Vec<Event> {
        let mut events: Vec<Event> = self
            .spans
            .iter()
            .flat_map(|s| {
                let label = items
                    .get(s.job)
                    .map_or_else(|| format!("item {}", s.job), W::label);
                [("start", s.start), ("end", s.end)].map(|(kind, t)| Event {
                    row: 0,
                    t_s: t.as_secs_f64(),
                    lane: s.lane.clone(),
                    kind: kind.into(),
                    label: label.clone(),
                })
            })
            .collect();
        events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        events
    }
}

impl Batch<u64> {
    /// Checks every output against the value its job must produce.
    pub fn validate(&self, jobs: &[Job]) -> Result<(), String> {
        if self.outputs.len() != jobs.len() {
            return Err(format!(
                "{} outputs for {} jobs",
                self.outputs.len(),
                jobs.len()
            ));
        }
        for (job, out) in jobs.iter().zip(&self.outputs) {
            if *out != job.expected() {
                return Err(format!(
                    "{} gave {out}, expected {}",
                    job.label(),
                    job.expected()
                ));
            }
        }
        Ok(())
    }
}

/// A technique made ready to run: pools and runtimes are built once here, outside the
/// timed runs, as a program would build them once at start-up.
pub struct Runner {
    cfg: RunnerConfig,
    backend: Backend,
}

enum Backend {
    Direct,
    Rayon(::rayon::ThreadPool),
    Tokio(::tokio::runtime::Runtime),
}

impl Runner {
    pub fn new(cfg: RunnerConfig) -> Result<Runner, TechniqueError> {
        if cfg.workers == 0 {
            return Err(TechniqueError::Setup(
                "at least one worker is needed".into(),
            ));
        }
        let backend = match cfg.technique {
            Technique::Rayon => Backend::Rayon(rayon_pool::build(cfg.workers)?),
            Technique::Tokio => Backend::Tokio(tokio_tasks::runtime(false)?),
            Technique::Tokio1 => Backend::Tokio(tokio_tasks::runtime(true)?),
            _ => Backend::Direct,
        };
        Ok(Runner { cfg, backend })
    }

    /// Runs every item once. Only worker processes can be stopped from outside, so only
    /// they honour the deadline mid-run; in-process techniques are checked between runs.
    pub fn run<W: Work>(
        &self,
        jobs: &[W],
        deadline: Option<Deadline>,
    ) -> Result<Batch<W::Output>, TechniqueError> {
        let workers = self.cfg.workers;
        match (&self.backend, self.cfg.technique) {
            (Backend::Rayon(pool), _) => rayon_pool::run(pool, jobs),
            (Backend::Tokio(rt), _) => tokio_tasks::run(rt, jobs, workers),
            (_, Technique::Sequential) => sequential::run(jobs),
            (_, Technique::Threads) => threads::run(jobs, workers, self.cfg.thread_stack),
            (_, Technique::Processes) => {
                processes::run(jobs, workers, &self.cfg.worker_exe, deadline)
            }
            (_, Technique::GilModel) => gil_model::run(jobs, workers, self.cfg.switch_interval),
            (_, t) => Err(TechniqueError::Setup(format!(
                "{} does not run job lists",
                t.id()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(technique: Technique, workers: usize) -> RunnerConfig {
        RunnerConfig {
            technique,
            workers,
            switch_interval: Duration::from_millis(1),
            worker_exe: PathBuf::from("/nonexistent"),
            thread_stack: None,
        }
    }

    /// Every in-process technique computes the same, right answers.
    #[test]
    fn in_process_techniques_compute_correct_results() {
        let mut jobs = jobs::count_chunks(3_000_001, 5);
        jobs.extend((1..=18).map(|n| Job::Fib { n }));
        for t in Technique::ALL
            .into_iter()
            .filter(|t| *t != Technique::Processes)
        {
            for workers in [1, 3] {
                let runner = Runner::new(config(t, workers)).unwrap();
                let batch = runner.run(&jobs, None).unwrap();
                batch
                    .validate(&jobs)
                    .unwrap_or_else(|e| panic!("{}: {e}", t.id()));
                assert_eq!(batch.spans.len(), jobs.len(), "{}", t.id());
                assert_eq!(batch.events(&jobs).len(), 2 * jobs.len());
            }
        }
    }

    #[test]
    fn technique_ids_round_trip() {
        for t in Technique::ALL {
            assert_eq!(Technique::from_id(t.id()), Some(t));
        }
        assert_eq!(Technique::from_id("goroutines"), None);
        assert_eq!(
            Technique::from_id("tokio-1-mpsc"),
            Some(Technique::Tokio1Mpsc)
        );
    }

    #[test]
    fn one_worker_runs_jobs_in_order_without_overlap() {
        let jobs: Vec<Job> = (10..=20).map(|n| Job::Fib { n }).collect();
        for t in [
            Technique::Sequential,
            Technique::Threads,
            Technique::Tokio,
            Technique::Tokio1,
            Technique::GilModel,
            Technique::Rayon,
        ] {
            let batch = Runner::new(config(t, 1)).unwrap().run(&jobs, None).unwrap();
            let order: Vec<usize> = batch.spans.iter().map(|s| s.job).collect();
            assert_eq!(order, (0..jobs.len()).collect::<Vec<_>>(), "{}", t.id());
            for pair in batch.spans.windows(2) {
                assert!(pair[0].end <= pair[1].start, "{}: overlap", t.id());
            }
        }
    }

    #[test]
    fn missing_or_duplicate_jobs_are_errors() {
        let d = |job| Done::new(job, 1, "x".into(), Duration::ZERO, Duration::ZERO);
        assert!(Batch::assemble(2, [d(0)]).is_err());
        assert!(Batch::assemble(1, [d(0), d(0)]).is_err());
        assert!(Batch::assemble(1, [d(5)]).is_err());
        assert!(Batch::assemble(2, [d(1), d(0)]).is_ok());
    }

    #[test]
    fn zero_workers_is_refused() {
        assert!(Runner::new(config(Technique::Threads, 0)).is_err());
    }
}
