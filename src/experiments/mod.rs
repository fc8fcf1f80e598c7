//! The paper's experiments, one module each, and what they share: the common flags,
//! the output context and running one measured row.
//!
//! An experiment is one module (with its `INFO` descriptor, `Args`, `run` and
//! `reproduce_args`), one `mod` line and one line in the `registry!` below; the report,
//! the charts, the peers, the checkpoint and `--help` read the descriptor. Its claims,
//! peer programs and tests live elsewhere: docs/ARCHITECTURE.md has the whole checklist.

use crate::claims::ClaimSpec;
use crate::error::ParlabError;
use crate::error::TechniqueError;
use crate::measure::env::Environment;
use crate::measure::{
    Arm, CheckOnce, Measurement, Plan, RunOnce, Schedule, estimate, measure, measure_interleaved,
};
use crate::parse;
use crate::peers::{Language, PeerArgs, Peers, Request, spec};
use crate::progress::RowProgress;
use crate::report::charts::ChartKind;
use crate::results::{Event, ExperimentResult, Params, Row, Status};
use crate::techniques::jobs::Job;
use crate::techniques::{Batch, JobTechnique, Runner, RunnerConfig, Technique, Work};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub mod channel;
pub mod count;
pub mod gil;
pub mod io;
pub mod map;
pub mod pingpong;
pub mod pool;
pub mod sched;
pub mod select;
pub mod spawn;
pub mod waitgroup;

// The modules are declared above, outside the macro: rustfmt does not follow `mod`
// declarations inside a macro, and every file must be formatted.
macro_rules! registry {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// One subcommand per experiment; each module's `Args` doc is its help.
        #[derive(Debug, Clone, clap::Subcommand)]
        pub enum ExperimentCommand {
            $($variant($module::Args),)*
        }

        impl ExperimentCommand {
            pub fn info(&self) -> &'static Info {
                match self { $(Self::$variant(_) => &$module::INFO,)* }
            }

            pub fn common(&self) -> &CommonArgs {
                match self { $(Self::$variant(a) => &a.common,)* }
            }

            pub fn run(&self, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
                match self { $(Self::$variant(a) => $module::run(a, ctx),)* }
            }
        }

        /// Every experiment, in the order `reproduce` runs them.
        pub const ALL: &[&Info] = &[$(&$module::INFO,)*];
    };
}

registry! {
    Count => count,
    Io => io,
    Map => map,
    Spawn => spawn,
    Sched => sched,
    Waitgroup => waitgroup,
    Channel => channel,
    Select => select,
    Pool => pool,
    Gil => gil,
    Pingpong => pingpong,
}

impl ExperimentCommand {
    pub fn id(&self) -> &'static str {
        self.info().id
    }

    /// Checks what clap cannot (the technique names) before anything runs.
    pub fn validate(&self) -> Result<(), ParlabError> {
        let info = self.info();
        self.common().techniques(info.id, info.techniques).map(drop)
    }
}

/// How big `reproduce` makes each experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// Small sizes and few runs: the whole paper in a few minutes.
    Quick,
    /// The paper's own sizes, worker counts and durations.
    Paper,
}

/// What parlab knows about an experiment, in one place: the report, the charts, the
/// peers, the checkpoint and `--help` read this instead of matching on the id, so a new
/// experiment is its own module and one registry line.
pub struct Info {
    pub id: &'static str,
    /// Where in the paper: `Figure 2, §2.1–2.5`.
    pub paper_ref: &'static str,
    /// What the paper's figure shows, in a line, for a reader without the paper at hand.
    pub gist: &'static str,
    /// The Rust techniques, in the order their rows run.
    pub techniques: &'static [Technique],
    /// Counted runs and warm-up runs per row unless `--runs`/`--warmup` say otherwise.
    pub runs: u64,
    pub warmup: u64,
    /// The charts the report draws for one result (a throughput run and a timeline run
    /// of the same experiment draw different ones).
    pub charts: fn(&ExperimentResult) -> Vec<ChartKind>,
    /// The techniques of the Python and Go peers (peers/PROTOCOL.md): a peer row with
    /// any other technique is refused.
    pub python: &'static [&'static str],
    pub go: &'static [&'static str],
    /// The flags `reproduce` gives this experiment at a scale.
    pub reproduce_args: fn(Scale) -> Vec<String>,
    /// The paper's claims this experiment's numbers settle (`crate::claims`).
    pub claims: &'static [ClaimSpec],
}

impl Info {
    /// An empty result of this experiment with its run-wide params.
    pub fn result(&self, params: Params) -> ExperimentResult {
        ExperimentResult::new(self.id, self.paper_ref, params)
    }

    /// The peer techniques of `language`.
    pub fn peer_techniques(&self, language: Language) -> &'static [&'static str] {
        match language {
            Language::Python => self.python,
            Language::Go => self.go,
        }
    }
}

/// The descriptor of an experiment id.
pub fn info(id: &str) -> Option<&'static Info> {
    ALL.iter().copied().find(|i| i.id == id)
}

/// Flags every experiment takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Techniques to run, comma-separated [default: all of this experiment's]
    #[arg(long = "technique", value_name = "T,..", value_delimiter = ',')]
    pub technique: Vec<String>,

    /// Counted runs per row [default: set by the experiment, see above]
    #[arg(long, value_name = "N", value_parser = parse::int_in(1, 1000))]
    pub runs: Option<u64>,

    /// Runs done first and thrown away (cold caches, start-up) [default: set by the experiment]
    #[arg(long, value_name = "N", value_parser = parse::int_in(0, 100))]
    pub warmup: Option<u64>,

    /// Write the results document (docs/DESIGN.md schema) to PATH; '-' writes it to stdout and
    /// moves the human-readable output to stderr
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Longest one row may take, warm-up included; worker processes still running then are
    /// killed and the row is an error
    #[arg(long, value_name = "DURATION", value_parser = parse::duration, default_value = "10m")]
    pub timeout: Duration,

    /// How rows that are compared share the machine: interleaved runs one run of each
    /// row in turn (warm-ups first), so a drift of the machine's speed falls on all rows
    /// alike; grouped runs each row's runs together
    #[arg(long, value_enum, default_value = "interleaved", value_name = "HOW")]
    pub schedule: Schedule,

    /// Skip a row whose estimated time, warm-up included, is over this, and say how long
    /// it would take; estimates come from a short trial of the row's work or from its
    /// flags. 0 runs every row
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse::duration_or_zero)]
    pub skip_over: Duration,

    /// Print only the results table, not the paper-style lines
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub peers: PeerArgs,
}

impl CommonArgs {
    pub fn plan(&self, default_runs: u64, default_warmup: u64) -> Plan {
        Plan {
            runs: self.runs.unwrap_or(default_runs) as u32,
            warmup: self.warmup.unwrap_or(default_warmup) as u32,
            timeout: Some(self.timeout),
            skip_over: self.skip_over,
        }
    }

    /// The techniques of one family asked for, in the experiment's order (all of the
    /// family's when none were named): what an experiment that runs that family's work
    /// loops over.
    pub fn chosen<F: TryFrom<Technique>>(&self, info: &Info) -> Result<Vec<F>, ParlabError> {
        Ok(self
            .techniques(info.id, info.techniques)?
            .into_iter()
            .filter_map(|t| F::try_from(t).ok())
            .collect())
    }

    /// The techniques asked for, in the experiment's order; all of them when none were named.
    pub fn techniques(
        &self,
        experiment: &str,
        available: &[Technique],
    ) -> Result<Vec<Technique>, ParlabError> {
        let mut wanted = Vec::new();
        let peer_techniques: Vec<&str> = Language::ALL
            .iter()
            .flat_map(|l| info(experiment).map_or(&[][..], |i| i.peer_techniques(*l)))
            .copied()
            .collect();
        for name in &self.technique {
            let name = name.trim();
            match Technique::from_id(name).filter(|t| available.contains(t)) {
                Some(t) => wanted.push(t),
                None if peer_techniques.contains(&name) => {}
                None => {
                    let mut known: Vec<&str> = available.iter().map(|t| t.id()).collect();
                    for t in &peer_techniques {
                        if !known.contains(t) {
                            known.push(t);
                        }
                    }
                    return Err(ParlabError::usage(format!(
                        "unknown technique '{name}' for {experiment}; choose from: {}",
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(available
            .iter()
            .copied()
            .filter(|t| self.technique.is_empty() || wanted.contains(t))
            .collect())
    }
}

/// Where an experiment writes, and what it needs to know about the machine.
pub struct Ctx {
    out: Box<dyn Write>,
    pub quiet: bool,
    pub env: Environment,
    /// The binary the processes technique starts as a worker.
    pub worker_exe: PathBuf,
    /// The Python and Go peers chosen for this run.
    pub peers: Peers,
    /// The row display of a single experiment on a terminal (`crate::progress`).
    progress: Option<RowProgress>,
}

impl Ctx {
    pub fn new(out: Box<dyn Write>, quiet: bool, env: Environment, worker_exe: PathBuf) -> Ctx {
        Ctx {
            out,
            quiet,
            env,
            worker_exe,
            peers: Peers::none(),
            progress: None,
        }
    }

    /// Shows which row is running, and since when, below the output from now on.
    pub fn show_progress(&mut self, progress: RowProgress) {
        self.out = progress.writer();
        self.progress = Some(progress);
    }

    /// Clears the row display; the output goes straight to stdout again.
    pub fn end_progress(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
            self.out = Box::new(std::io::stdout());
        }
    }

    /// Tells the row display how many rows to expect: `rust` of parlab's own, and
    /// `per_technique` for each peer technique that will run. Peer counts are estimates
    /// (a missing toolchain gives one row per technique; each Python interpreter found so
    /// far, its own), so they are shown as such.
    pub fn expect_rows(
        &self,
        rust: usize,
        common: &CommonArgs,
        experiment: &str,
        per_technique: impl Fn(Language) -> usize,
    ) {
        let Some(progress) = &self.progress else {
            return;
        };
        let mut peer_rows = 0;
        for &lang in self.peers.chosen() {
            let techniques = spec::techniques(lang, experiment);
            let running = techniques
                .iter()
                .filter(|t| {
                    common.technique.is_empty() || common.technique.iter().any(|w| w.trim() == **t)
                })
                .count();
            peer_rows += running * per_technique(lang) * self.peers.columns(lang);
        }
        progress.expect((rust + peer_rows) as u64, peer_rows == 0);
    }

    /// Runs the peers that cover `result`'s experiment with the same plan as the Rust
    /// rows, prints their paper-style lines, and adds their rows: a row `check` rejects
    /// becomes an error row; speedups are set per language against the first ok row
    /// `is_baseline` picks in that language.
    pub fn run_peers(
        &mut self,
        result: &mut ExperimentResult,
        common: &CommonArgs,
        plan: &Plan,
        call: PeerCall,
        check: impl Fn(&Row) -> Result<(), String>,
        is_baseline: impl Fn(&Row) -> bool,
    ) {
        let mut all = vec![
            ("--runs".to_string(), plan.runs.to_string()),
            ("--warmup".to_string(), plan.warmup.to_string()),
            (
                "--skip-over".to_string(),
                plan.skip_over.as_secs_f64().to_string(),
            ),
        ];
        all.extend(call.flags);
        let techniques: Vec<String> = common
            .technique
            .iter()
            .map(|t| t.trim().to_string())
            .collect();
        let experiment = result.experiment.clone();
        let req = Request {
            experiment: &experiment,
            flags: all,
            techniques: &techniques,
            timeout: common.timeout,
            skip: call.skip,
            exclude: call.exclude,
        };
        let first = result.rows.len();
        let Ctx {
            out,
            quiet,
            peers,
            progress,
            ..
        } = self;
        let mut arrived = 0;
        let on_start = |lang: Language, techniques: &[&str]| {
            if let Some(p) = progress.as_ref() {
                p.now(&format!("{} peer: {}", lang.id(), techniques.join(", ")));
            }
        };
        let rows = peers.run(&req, on_start, |parsed| {
            arrived += 1;
            if let Some(p) = progress.as_ref() {
                p.done((first + arrived) as u64);
            }
            if !*quiet {
                for text in &parsed.lines {
                    let _ = writeln!(
                        out,
                        "[{} {}] {text}",
                        parsed.row.language, parsed.row.technique
                    );
                }
                let _ = out.flush();
            }
        });
        for (mut row, events) in rows {
            if row.status == Status::Ok
                && let Err(why) = check(&row)
            {
                row.validated = false;
                row = row.failed(format!("wrong result: {why}"));
            }
            result.push(row, events);
            crate::checkpoint::pushed(result);
        }
        // Per language column: each Python interpreter (and GIL setting) is its own.
        let mut languages: Vec<String> = Vec::new();
        for r in &result.rows[first..] {
            if !languages.contains(&r.language) {
                languages.push(r.language.clone());
            }
        }
        for lang in languages {
            let baseline = result.rows[first..]
                .iter()
                .find(|r| r.language == lang && r.status == Status::Ok && is_baseline(r))
                .filter(|r| r.median_s.is_some())
                .map(|r| r.samples_s.clone());
            if let Some(b) = baseline {
                set_speedups(
                    result.rows[first..]
                        .iter_mut()
                        .filter(|r| r.language == lang),
                    &b,
                );
            }
        }
    }

    /// `row` when its runs, about `per_run` each, fit `--skip-over`; otherwise adds it
    /// skipped with the estimate (and says so), and returns `None`.
    pub fn unless_too_long(
        &mut self,
        result: &mut ExperimentResult,
        row: Row,
        plan: &Plan,
        per_run: Duration,
        basis: &str,
    ) -> Option<Row> {
        let Some(why) = plan.too_long(per_run, basis) else {
            return Some(row);
        };
        self.line(format!("skipped: {why}"));
        self.push(result, row.skipped(why), Vec::new());
        None
    }

    /// Adds a row to `result` and mirrors it to the checkpoint, so an interrupt keeps it.
    /// A Rust row with a peak gets this process's memory method here, in one place:
    /// every Rust measurement resets the peak before each run and adds its worker
    /// processes' peaks (`measure`, `finish_row`), and the children that spawn and map
    /// start reset theirs.
    pub fn push(&self, result: &mut ExperimentResult, mut row: Row, events: Vec<Event>) -> usize {
        if row.language == "rust" && row.peak_rss_bytes.is_some() && row.memory_method.is_none() {
            row.memory_method = Some(crate::measure::memory::method().to_string());
        }
        let index = result.push(row, events);
        crate::checkpoint::pushed(result);
        if let Some(p) = &self.progress {
            p.done(result.rows.len() as u64);
        }
        index
    }

    /// Adds rows that could not run (an MPI row without MPI), each with a line saying why.
    pub fn push_skipped(&mut self, result: &mut ExperimentResult, rows: Vec<Row>) {
        for row in rows {
            let why = row.message.clone().unwrap_or_default();
            self.line(format!("-----> {}: skipped: {why}", row.technique));
            self.push(result, row, Vec::new());
        }
    }

    /// Sends the output somewhere else (reproduce's progress display).
    pub fn set_out(&mut self, out: Box<dyn Write>) {
        self.out = out;
    }

    /// A paper-style line; left out under `--quiet`. Write errors (a closed pipe) are
    /// ignored: losing the terminal must not lose the results file.
    pub fn line(&mut self, text: impl AsRef<str>) {
        if !self.quiet {
            self.print(text);
        } else if let Some(p) = &self.progress {
            // Not printed, but still what the experiment is doing now.
            p.now(text.as_ref().trim());
        }
    }

    /// Output that `--quiet` keeps (the tables).
    pub fn print(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", text.as_ref());
        let _ = self.out.flush();
    }

    pub fn cores(&self) -> usize {
        self.env.logical_cpus
    }

    pub fn runner(&self, technique: JobTechnique, workers: usize) -> RunnerConfig {
        RunnerConfig {
            technique,
            workers,
            switch_interval: Duration::from_millis(5),
            worker_exe: self.worker_exe.clone(),
            thread_stack: None,
            launch: crate::techniques::mpi::Launch::default(),
        }
    }
}

/// Runs one row: sets the technique up, measures it on `jobs`, validates every run.
/// A failure becomes an error row; it never ends the experiment. A row whose estimate
/// (from the count and fib rates of a short trial) is over `--skip-over` is skipped.
///
/// The row runs on a thread of its own under a watchdog: worker processes are killed at
/// the deadline by the runner itself, but a thread cannot be, so a row whose threads
/// overrun is reported as timed out and its threads are left to finish in the
/// background (they end with the process) instead of blocking the rows after it.
pub fn run_row(
    plan: &Plan,
    cfg: RunnerConfig,
    jobs: &[Job],
    params: Params,
) -> (Row, Vec<Event>, Option<Batch>) {
    let spec = RowSpec {
        cfg,
        jobs: jobs.to_vec(),
        params,
    };
    run_work_row(plan, spec.into())
}

/// [`run_row`] for any kind of work item: the row's own check and estimate decide what
/// a right answer is and whether it fits `--skip-over`.
pub fn run_work_row<W: Work>(plan: &Plan, row: WorkRow<W>) -> MeasuredWork<W::Output> {
    if let Some(why) = row.too_long(plan) {
        let skipped = Row::new("rust", row.cfg.technique.id(), row.params);
        return (skipped.skipped(why), Vec::new(), None);
    }
    let Some(limit) = plan.timeout else {
        return measure_work_row(plan, row);
    };
    let blank = row.blank();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let plan = *plan;
    let started = std::thread::Builder::new()
        .name(format!("row-{}", row.cfg.technique.id()))
        .spawn(move || {
            let _ = tx.send(measure_work_row(&plan, row));
        });
    if let Err(e) = started {
        return (
            blank.failed(format!("could not start the row's thread: {e}")),
            Vec::new(),
            None,
        );
    }
    match rx.recv_timeout(limit + WATCHDOG_GRACE) {
        Ok(done) => done,
        Err(_) => (
            blank.failed(format!(
                "timed out after {} (--timeout); its threads were abandoned",
                humantime::format_duration(limit)
            )),
            Vec::new(),
            None,
        ),
    }
}

/// How long past its deadline a row may take to report its own timeout (killing worker
/// processes and collecting their answers) before the watchdog gives up on it.
const WATCHDOG_GRACE: Duration = Duration::from_secs(2);

fn measure_work_row<W: Work>(plan: &Plan, spec: WorkRow<W>) -> MeasuredWork<W::Output> {
    let row = spec.blank();
    let runner = match Runner::new(spec.cfg) {
        Ok(r) => r,
        Err(e) => return (row.failed(e.to_string()), Vec::new(), None),
    };
    let (items, check) = (&spec.items, &spec.check);
    let measured = measure(
        plan,
        |deadline| runner.run(items, deadline),
        |batch| check(items, batch),
    );
    finish_row(row, measured, items)
}

/// A row from what its measured runs gave: samples, memory, the last run's values and
/// events, or the error that ended it.
fn finish_row<W: Work>(
    row: Row,
    measured: Result<Measurement<Batch<W::Output>>, TechniqueError>,
    items: &[W],
) -> MeasuredWork<W::Output> {
    match measured {
        Ok(m) => {
            let mut row = row.with_samples(m.samples_s);
            row.validated = true;
            row.peak_rss_bytes = match (m.peak_rss_bytes, m.last.children_peak_rss) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            row.extra.extend(m.last.extra.clone());
            let events = m.last.events(items);
            (row, events, Some(m.last))
        }
        Err(e) => (row.failed(e.to_string()), Vec::new(), None),
    }
}

/// A measured row: the row, the events of its last run, and that run's batch.
pub type Measured = MeasuredWork<u64>;
/// A measured row of any kind of work item.
pub type MeasuredWork<O> = (Row, Vec<Event>, Option<Batch<O>>);

/// One row of a comparison: the technique set up to run, its jobs, its params.
pub struct RowSpec {
    pub cfg: RunnerConfig,
    pub jobs: Vec<Job>,
    pub params: Params,
}

/// Checks one run's outputs against the row's items, outside the timed span: each kind
/// of work knows its own right answers (a job its value, a site the status it was told
/// to give), so the check travels with the row.
pub type ItemCheck<W> =
    Arc<dyn Fn(&[W], &Batch<<W as Work>::Output>) -> Result<(), String> + Send + Sync>;

/// One run's estimated time and what the estimate rests on, for `--skip-over`; asked
/// only when `--skip-over` is set, since some estimates run a trial first. `None` when
/// there is no estimate: the row runs.
pub type RowEstimate<W> =
    Box<dyn Fn(&RunnerConfig, &[W]) -> Option<(Duration, String)> + Send + Sync>;

/// One row of a comparison over any kind of work item (jobs, HTTP checks): the
/// technique set up to run, its items, its params, how to check a run and how long one
/// is expected to take.
pub struct WorkRow<W: Work> {
    pub cfg: RunnerConfig,
    pub items: Vec<W>,
    pub params: Params,
    pub check: ItemCheck<W>,
    pub estimate: RowEstimate<W>,
}

impl<W: Work> WorkRow<W> {
    /// The row before it ran: what a failure or a skip is reported on.
    fn blank(&self) -> Row {
        Row::new("rust", self.cfg.technique.id(), self.params.clone())
    }

    /// Why this row would run past `--skip-over`, from its estimate of one run.
    fn too_long(&self, plan: &Plan) -> Option<String> {
        if plan.skip_over.is_zero() {
            return None;
        }
        let (per_run, basis) = (self.estimate)(&self.cfg, &self.items)?;
        plan.too_long(per_run, &basis)
    }
}

impl From<RowSpec> for WorkRow<Job> {
    /// A job row is checked against each job's known value and estimated from the count
    /// and fib rates of a short trial.
    fn from(r: RowSpec) -> WorkRow<Job> {
        WorkRow {
            cfg: r.cfg,
            items: r.jobs,
            params: r.params,
            check: Arc::new(|jobs: &[Job], batch: &Batch| batch.validate(jobs)),
            estimate: Box::new(|cfg: &RunnerConfig, jobs: &[Job]| {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                Some(estimate::jobs_run(cfg.technique, cfg.workers, jobs, cores))
            }),
        }
    }
}

/// Runs the rows of one comparison under `schedule`: interleaved (one run of each in
/// turn, so drift of the machine's speed falls on all of them alike) or grouped (each
/// row's runs together, as `run_row`). `finished` gets each row with its index, in the
/// rows' order: grouped rows as each ends, interleaved ones when all have.
///
/// Interleaved rows run together on one thread under one watchdog, allowed the sum of
/// their timeouts; rows still unfinished when it fires are reported as timed out.
pub fn run_rows(
    plan: &Plan,
    schedule: Schedule,
    rows: Vec<RowSpec>,
    finished: impl FnMut(usize, Measured),
) {
    let rows = rows.into_iter().map(WorkRow::from).collect();
    run_work_rows(plan, schedule, rows, finished);
}

/// [`run_rows`] for any kind of work item, each row with its own check and estimate.
pub fn run_work_rows<W: Work>(
    plan: &Plan,
    schedule: Schedule,
    rows: Vec<WorkRow<W>>,
    mut finished: impl FnMut(usize, MeasuredWork<W::Output>),
) {
    if schedule == Schedule::Grouped || rows.len() < 2 {
        // Each row is handed over as soon as it ends, so an interrupt keeps it.
        for (i, r) in rows.into_iter().enumerate() {
            finished(i, run_work_row(plan, r));
        }
        return;
    }
    // Rows over --skip-over are skipped before the others start taking turns.
    let mut done: Vec<Option<MeasuredWork<W::Output>>> = Vec::new();
    let (mut run, mut index) = (Vec::new(), Vec::new());
    for (i, r) in rows.into_iter().enumerate() {
        match r.too_long(plan) {
            Some(why) => {
                done.push(Some((r.blank().skipped(why), Vec::new(), None)));
            }
            None => {
                done.push(None);
                index.push(i);
                run.push(r);
            }
        }
    }
    for (i, measured) in index.into_iter().zip(run_interleaved(plan, run)) {
        done[i] = Some(measured);
    }
    for (i, d) in done.into_iter().enumerate() {
        finished(i, d.expect("every row was skipped or measured"));
    }
}

/// The interleaved half of [`run_work_rows`]: every row's result, in order, at the end.
fn run_interleaved<W: Work>(plan: &Plan, rows: Vec<WorkRow<W>>) -> Vec<MeasuredWork<W::Output>> {
    let blank: Vec<Row> = rows.iter().map(WorkRow::blank).collect();
    let n = rows.len() as u32;
    let (tx, rx) = crossbeam_channel::bounded(1);
    let plan_copy = *plan;
    let started = std::thread::Builder::new()
        .name("rows-interleaved".into())
        .spawn(move || {
            let _ = tx.send(measure_rows_interleaved(&plan_copy, rows));
        });
    let failed_all = |why: String| -> Vec<MeasuredWork<W::Output>> {
        blank
            .iter()
            .map(|r| (r.clone().failed(why.clone()), Vec::new(), None))
            .collect()
    };
    if let Err(e) = started {
        return failed_all(format!("could not start the rows' thread: {e}"));
    }
    let wait = plan.timeout.map(|limit| limit * n + WATCHDOG_GRACE);
    let done = match wait {
        Some(w) => rx.recv_timeout(w).ok(),
        None => rx.recv().ok(),
    };
    done.unwrap_or_else(|| {
        failed_all(format!(
            "timed out after {} (--timeout, per row, {n} rows interleaved); their threads were abandoned",
            humantime::format_duration(plan.timeout.unwrap_or_default())
        ))
    })
}

fn measure_rows_interleaved<W: Work>(
    plan: &Plan,
    rows: Vec<WorkRow<W>>,
) -> Vec<MeasuredWork<W::Output>> {
    let mut prepared = Vec::with_capacity(rows.len());
    for r in rows {
        let row = r.blank();
        let runner = Runner::new(r.cfg);
        prepared.push((row, runner, r.items, r.check));
    }
    let arms: Vec<Arm<'_, Batch<W::Output>>> = prepared
        .iter()
        .filter_map(|(_, runner, items, check)| {
            let runner = runner.as_ref().ok()?;
            Some(Arm {
                run: Box::new(move |deadline| runner.run(items, deadline))
                    as RunOnce<'_, Batch<W::Output>>,
                check: Box::new(move |batch: &Batch<W::Output>| check(items, batch))
                    as CheckOnce<'_, Batch<W::Output>>,
            })
        })
        .collect();
    let mut measured = measure_interleaved(plan, arms).into_iter();
    prepared
        .into_iter()
        .map(|(row, runner, items, _)| match runner {
            Err(e) => (row.failed(e.to_string()), Vec::new(), None),
            Ok(_) => {
                let m = measured
                    .next()
                    .expect("one measurement per runner that was built");
                finish_row(row, m, &items)
            }
        })
        .collect()
}

/// Runs parlab itself as a child process with `args` (registered with the reaper, so an
/// interrupt kills it too), killed if it runs past `timeout`. Experiments that must
/// measure something in a process of its own (memory, an early exit) use this.
pub fn child(
    ctx: &Ctx,
    args: &[String],
    timeout: Duration,
) -> Result<std::process::Output, String> {
    let mut cmd = std::process::Command::new(&ctx.worker_exe);
    cmd.args(args);
    crate::reaper::output(&mut cmd, timeout).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut => e.to_string(),
        _ => format!("could not start the child process: {e}"),
    })
}

/// Like `child`, and reads the report the child printed as its last stdout line.
pub fn child_report<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    args: &[String],
    timeout: Duration,
) -> Result<T, String> {
    let out = child(ctx, args, timeout)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|_| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        format!("the child ({}) reported no result: {why}", out.status)
    })
}

/// What an experiment passes its peers: flags in the protocol's form, and techniques
/// not to run (with why), as the Rust rows skip them.
#[derive(Default)]
pub struct PeerCall {
    flags: Vec<(String, String)>,
    skip: Vec<(String, String)>,
    exclude: Vec<String>,
}

impl PeerCall {
    pub fn flag(mut self, name: &str, value: impl ToString) -> Self {
        self.flags.push((name.to_string(), value.to_string()));
        self
    }

    /// A list flag: `--workers 1,2,4`.
    pub fn list<T: ToString>(self, name: &str, values: impl IntoIterator<Item = T>) -> Self {
        let joined = values
            .into_iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.flag(name, joined)
    }

    /// A duration flag, in seconds as the peers take it.
    pub fn secs(self, name: &str, d: Duration) -> Self {
        self.flag(name, d.as_secs_f64())
    }

    /// Leaves a technique out without a row (an experiment flag such as `--pool threads`
    /// already chose against it).
    pub fn exclude(mut self, technique: &str) -> Self {
        self.exclude.push(technique.to_string());
        self
    }

    pub fn skip(mut self, technique: &str, why: impl Into<String>) -> Self {
        self.skip.push((technique.to_string(), why.into()));
        self
    }
}

/// How a row without a time ended, for its paper-style line: `skipped` (over
/// `--skip-over`) reads differently from `failed`.
pub fn outcome(row: &Row) -> &'static str {
    if row.status == Status::Skipped {
        "skipped"
    } else {
        "failed"
    }
}

/// Sets every ok row's speedup, and its interval, against the baseline's samples.
pub fn set_speedups<'a>(rows: impl IntoIterator<Item = &'a mut Row>, baseline: &[f64]) {
    for row in rows {
        row.set_speedup(baseline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn config(technique: JobTechnique) -> RunnerConfig {
        RunnerConfig {
            technique,
            workers: 1,
            switch_interval: Duration::from_millis(1),
            worker_exe: PathBuf::from("/nonexistent"),
            thread_stack: None,
            launch: crate::techniques::mpi::Launch::default(),
        }
    }

    /// Rows whose checks log their index (every run is checked, in the order it ran),
    /// the second refusing its second run and the third estimated at an hour a run.
    fn rows(log: &Arc<Mutex<Vec<usize>>>) -> Vec<WorkRow<Job>> {
        (0..3)
            .map(|i| {
                let log = Arc::clone(log);
                let calls = AtomicUsize::new(0);
                WorkRow {
                    cfg: config(JobTechnique::Sequential),
                    items: vec![Job::Fib { n: 10 }],
                    params: crate::params! {"row" => i},
                    check: Arc::new(move |jobs: &[Job], batch: &Batch| {
                        log.lock().unwrap().push(i);
                        let call = calls.fetch_add(1, Ordering::Relaxed) + 1;
                        if i == 1 && call == 2 {
                            return Err("refused".into());
                        }
                        batch.validate(jobs)
                    }),
                    estimate: Box::new(move |_: &RunnerConfig, _: &[Job]| {
                        (i == 2).then(|| (Duration::from_secs(3600), " by hand".to_string()))
                    }),
                }
            })
            .collect()
    }

    fn plan() -> Plan {
        Plan {
            warmup: 1,
            runs: 2,
            timeout: Some(Duration::from_secs(60)),
            skip_over: Duration::from_secs(60),
        }
    }

    #[test]
    fn interleaved_work_rows_take_turns_and_keep_their_order() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut got = Vec::new();
        run_work_rows(&plan(), Schedule::Interleaved, rows(&log), |i, m| {
            got.push((i, m))
        });
        // Row 2 was skipped before the others took turns; row 1 dropped out at its
        // second run while row 0 went on.
        assert_eq!(*log.lock().unwrap(), [0, 1, 0, 1, 0]);
        let statuses: Vec<(usize, Status)> = got.iter().map(|(i, m)| (*i, m.0.status)).collect();
        assert_eq!(
            statuses,
            [(0, Status::Ok), (1, Status::Error), (2, Status::Skipped)]
        );
        assert_eq!(got[0].1.0.samples_s.len(), 2);
        assert!(got[0].1.2.is_some() && got[1].1.2.is_none());
        assert!(got[1].1.0.message.as_deref().unwrap().contains("refused"));
        assert!(got[2].1.0.message.as_deref().unwrap().contains("by hand"));
        assert_eq!(got[2].1.0.param_u64("row"), Some(2));
    }

    #[test]
    fn grouped_work_rows_run_one_after_another_with_the_same_outcome() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut got = Vec::new();
        run_work_rows(&plan(), Schedule::Grouped, rows(&log), |i, m| {
            got.push((i, m.0.status))
        });
        assert_eq!(*log.lock().unwrap(), [0, 0, 0, 1, 1]);
        assert_eq!(
            got,
            [(0, Status::Ok), (1, Status::Error), (2, Status::Skipped)]
        );
    }
}
