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
pub mod message;
pub mod mpi;
pub mod pingpong;
pub mod processes;
mod rayon_pool;
mod sequential;
pub mod shared_count;
mod threads;
pub(crate) mod tokio_tasks;

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

/// The one table of techniques: each variant, its id, and the doc of what it is. The
/// enum, `id`, `from_id` and `ALL` are generated from it, so a technique cannot be
/// listed in one place and missing from another.
macro_rules! techniques {
    ($($(#[$doc:meta])* $variant:ident => $id:literal,)*) => {
        /// Every technique parlab knows, by the ids of docs/DESIGN.md.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Technique {
            $($(#[$doc])* $variant,)*
        }

        impl Technique {
            /// Every technique, in the table's order.
            pub const ALL: &[Technique] = &[$(Technique::$variant,)*];

            pub fn id(self) -> &'static str {
                match self {
                    $(Technique::$variant => $id,)*
                }
            }

            pub fn from_id(id: &str) -> Option<Technique> {
                Technique::ALL.iter().copied().find(|t| t.id() == id)
            }
        }
    };
}

techniques! {
    /// One loop on the calling thread.
    Sequential => "sequential",
    /// One OS thread per worker.
    Threads => "threads",
    /// rayon's work-stealing pool.
    Rayon => "rayon",
    /// Worker processes (parlab's own binary), fed over pipes.
    Processes => "processes",
    /// tokio tasks on a multi-thread runtime.
    Tokio => "tokio",
    /// tokio tasks on one thread (GOMAXPROCS=1).
    Tokio1 => "tokio-1",
    /// Threads that take turns under one global lock: a model of CPython's GIL.
    GilModel => "gil-model",
    /// `crate::pool` over threads (Python's `ThreadPool`).
    PoolThreads => "pool-threads",
    /// `crate::pool` over worker processes (Python's `Pool`).
    PoolProcesses => "pool-processes",
    /// A count no other thread sees.
    Plain => "plain",
    /// Unsynchronised read-modify-write of a shared count.
    Racy => "racy",
    /// Atomic updates of a shared count.
    Atomic => "atomic",
    /// A mutex around a shared count.
    Mutex => "mutex",
    /// `std::sync::mpsc::sync_channel` between OS threads.
    StdSyncChannel => "std-sync-channel",
    /// `crossbeam_channel::bounded` between OS threads.
    Crossbeam => "crossbeam",
    /// `tokio::sync::mpsc` between tasks on a multi-thread runtime.
    TokioMpsc => "tokio-mpsc",
    /// `tokio::sync::mpsc` between tasks on one thread, Go's user-space hand-off.
    Tokio1Mpsc => "tokio-1-mpsc",
    /// `kanal::bounded` between OS threads.
    Kanal => "kanal",
    /// kanal's async channel between tasks on one thread: the fastest user-space
    /// hand-off found for Rust.
    Kanal1 => "kanal-1",
    /// `crossbeam_channel::select!` over two channels.
    CrossbeamSelect => "crossbeam-select",
    /// `tokio::select!` over two channels.
    TokioSelect => "tokio-select",
    /// MPI ranks (rsmpi over Open MPI) launched by mpirun; rank 0 hands out one job at a
    /// time to the worker rank that asks (ping-pong: MPI send and receive).
    Mpi => "mpi",
    /// MPI ranks that each take a contiguous block of the jobs, then a reduce.
    MpiStatic => "mpi-static",
    /// Two processes over a pair of pipes.
    Pipe => "pipe",
    /// Two processes over a TCP connection on loopback.
    Tcp => "tcp",
}

/// A family of techniques that run one kind of work: a type of its own, so handing a
/// channel technique to the job runner is a compile error, not a run-time refusal.
/// Each family's variants are techniques of the table above.
macro_rules! families {
    ($($(#[$doc:meta])* $family:ident { $($variant:ident),* $(,)? })*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            pub enum $family {
                $($variant,)*
            }

            impl $family {
                pub const ALL: &[$family] = &[$($family::$variant,)*];

                pub fn id(self) -> &'static str {
                    Technique::from(self).id()
                }
            }

            impl From<$family> for Technique {
                fn from(t: $family) -> Technique {
                    match t {
                        $($family::$variant => Technique::$variant,)*
                    }
                }
            }

            impl TryFrom<Technique> for $family {
                type Error = Technique;

                fn try_from(t: Technique) -> Result<$family, Technique> {
                    match t {
                        $(Technique::$variant => Ok($family::$variant),)*
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

families! {
    /// Techniques that run a list of work items through `Runner`.
    JobTechnique { Sequential, Threads, Rayon, Processes, Tokio, Tokio1, GilModel, Mpi, MpiStatic }
    /// Python-style pools (`crate::pool`) with map and its variants.
    PoolTechnique { PoolThreads, PoolProcesses }
    /// Ways for threads to update one shared count (`shared_count`).
    CounterTechnique { Plain, Racy, Atomic, Mutex, GilModel }
    /// A sender and a receiver on a bounded channel (`channels`).
    ChannelTechnique { StdSyncChannel, Crossbeam, TokioMpsc, Tokio1Mpsc, Kanal, Kanal1 }
    /// One loop serving two channels (`channels`).
    SelectTechnique { CrossbeamSelect, TokioSelect }
    /// Two endpoints that bounce a message back and forth (`pingpong`).
    PingpongTechnique { Mpi, Crossbeam, Kanal, TokioMpsc, Pipe, Tcp }
}

impl Technique {
    /// The techniques of a family, as techniques (for an experiment's descriptor).
    pub fn of<F: Copy + Into<Technique>>(family: &[F]) -> Vec<Technique> {
        family.iter().map(|&t| t.into()).collect()
    }
}

/// How a row runs its jobs.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub technique: JobTechnique,
    /// Threads, processes or tasks that pull jobs; for rayon, the pool's thread count.
    pub workers: usize,
    /// The GIL model's switch interval (CPython's default is 5 ms).
    pub switch_interval: Duration,
    /// The binary the processes technique re-executes as a worker.
    pub worker_exe: PathBuf,
    /// Stack size of the threads technique's threads; `None` is Rust's default (2 MiB).
    pub thread_stack: Option<usize>,
    /// Where the MPI techniques find mpirun and their hosts.
    pub launch: mpi::Launch,
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
    Mpi(mpi::JobState),
}

impl Runner {
    pub fn new(cfg: RunnerConfig) -> Result<Runner, TechniqueError> {
        if cfg.workers == 0 {
            return Err(TechniqueError::Setup(
                "at least one worker is needed".into(),
            ));
        }
        let backend = match cfg.technique {
            JobTechnique::Rayon => Backend::Rayon(rayon_pool::build(cfg.workers)?),
            JobTechnique::Tokio => Backend::Tokio(tokio_tasks::runtime(false)?),
            JobTechnique::Tokio1 => Backend::Tokio(tokio_tasks::runtime(true)?),
            JobTechnique::Mpi | JobTechnique::MpiStatic => Backend::Mpi(mpi::JobState::default()),
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
            (Backend::Mpi(state), t) => {
                let split = if t == JobTechnique::Mpi {
                    mpi::Split::Dynamic
                } else {
                    mpi::Split::Static
                };
                let (exe, launch) = (&self.cfg.worker_exe, &self.cfg.launch);
                mpi::run_jobs(jobs, workers, split, exe, launch, state, deadline)
            }
            (_, JobTechnique::Sequential) => sequential::run(jobs),
            (_, JobTechnique::Threads) => threads::run(jobs, workers, self.cfg.thread_stack),
            (_, JobTechnique::Processes) => {
                processes::run(jobs, workers, &self.cfg.worker_exe, deadline)
            }
            (_, JobTechnique::GilModel) => gil_model::run(jobs, workers, self.cfg.switch_interval),
            // The backend was built for these in `new`.
            (
                _,
                JobTechnique::Rayon
                | JobTechnique::Tokio
                | JobTechnique::Tokio1
                | JobTechnique::Mpi
                | JobTechnique::MpiStatic,
            ) => {
                unreachable!(
                    "{} runs on the backend `new` built",
                    self.cfg.technique.id()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(technique: JobTechnique, workers: usize) -> RunnerConfig {
        RunnerConfig {
            technique,
            workers,
            switch_interval: Duration::from_millis(1),
            worker_exe: PathBuf::from("/nonexistent"),
            thread_stack: None,
            launch: mpi::Launch::default(),
        }
    }

    /// Every in-process technique computes the same, right answers.
    #[test]
    fn in_process_techniques_compute_correct_results() {
        let mut jobs = jobs::count_chunks(3_000_001, 5);
        jobs.extend((1..=18).map(|n| Job::Fib { n }));
        for &t in JobTechnique::ALL.iter().filter(|t| {
            !matches!(
                t,
                JobTechnique::Processes | JobTechnique::Mpi | JobTechnique::MpiStatic
            )
        }) {
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
        let mut seen = std::collections::HashSet::new();
        for &t in Technique::ALL {
            assert_eq!(Technique::from_id(t.id()), Some(t));
            assert!(seen.insert(t.id()), "{} listed twice", t.id());
        }
        // Every family member is a technique of the table and converts back to itself.
        fn family<F>(all: &[F])
        where
            F: Copy + PartialEq + std::fmt::Debug + Into<Technique> + TryFrom<Technique>,
        {
            for &f in all {
                let t: Technique = f.into();
                assert!(Technique::ALL.contains(&t));
                assert_eq!(F::try_from(t).ok(), Some(f));
            }
        }
        family(JobTechnique::ALL);
        family(PoolTechnique::ALL);
        family(CounterTechnique::ALL);
        family(ChannelTechnique::ALL);
        family(SelectTechnique::ALL);
        family(PingpongTechnique::ALL);
        assert!(JobTechnique::try_from(Technique::Kanal).is_err());
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
            JobTechnique::Sequential,
            JobTechnique::Threads,
            JobTechnique::Tokio,
            JobTechnique::Tokio1,
            JobTechnique::GilModel,
            JobTechnique::Rayon,
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
        assert!(Runner::new(config(JobTechnique::Threads, 0)).is_err());
    }
}
