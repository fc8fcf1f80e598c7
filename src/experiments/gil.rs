//! `gil`: the paper's §2.2–2.3, why CPython has a global interpreter lock.
//!
//! Claim tested: if several threads update a reference count with no synchronisation,
//! updates get lost, so an object would leak (count too high) or be freed while still in
//! use (count too low); the GIL exists to stop that. The paper gives the argument, not a
//! measurement, so this experiment supplies one: threads hammer one shared count the way
//! CPython bumps `ob_refcnt`, and the lost updates are counted rather than inferred.
//!
//! A claim about correctness invites the question of price, which the paper answers only
//! in words (per-object locks were judged worse than one lock). Hence the second part:
//! nanoseconds per update for an unshared count, an atomic one (the per-object route of
//! PEP 703's free-threaded CPython), a mutex, and the GIL model, alone and contended.
//! And since one lock is cheap only because threads stop running in parallel, the third
//! part sweeps the switch interval to show that threads under a GIL at best match one
//! thread on CPU-bound work, whatever the interval.

use super::{CommonArgs, Ctx, Info, PeerCall, RowSpec, Scale, outcome, run_rows, set_speedups};
use crate::error::{ParlabError, TechniqueError};
use crate::measure::{
    Arm, CheckOnce, Plan, RunOnce, Schedule, estimate, measure, measure_interleaved,
};
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Params, Row, RowData, Status};
use crate::techniques::jobs::{Job, count_chunks};
use crate::techniques::shared_count::{self, Shape, Tally, Updates};
use crate::techniques::{CounterTechnique, JobTechnique, Technique};
use crate::units;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub const INFO: Info = Info {
    id: "gil",
    paper_ref: "§2.2–2.3",
    gist: "Reference counts changed by several threads without a lock lose updates, the reason CPython runs one thread at a time.",
    techniques: &[
        Technique::Plain,
        Technique::Racy,
        Technique::Atomic,
        Technique::Mutex,
        Technique::GilModel,
    ],
    runs: 3,
    warmup: 1,
    charts: |_| vec![ChartKind::Medians],
    python: &["facts", "racy-threads"],
    go: &[],
    reproduce_args,
    claims: crate::claims::gil::CLAIMS,
};

/// A gil row's own values (`Row::extra`). A count row keeps what the shared count came
/// to, so a lost update is counted rather than inferred, and what an update cost; a
/// sweep row what the model lock did; CPython's rows its own answers to both.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GilData {
    /// Count rows: the count the last run left, the count it should have left, and the
    /// difference (a leak above, an early free below).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_count: Option<i64>,
    /// Also CPython's racy-threads row: threads × updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<i64>,
    /// The drift of every counted run, since one run may race and the next not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_per_run: Option<Vec<i64>>,
    /// Whether every counted run ended exactly where it should.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<bool>,
    /// The median run's time over all threads' updates together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns_per_op: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_updates: Option<u64>,
    /// Increments only (where every lost update is missing from the end): the last
    /// run's losses, their share of all updates, and every counted run's. Also CPython's
    /// racy-threads row, whose `counter += 1` loses them under the real GIL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_updates: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_fraction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_per_run: Option<Vec<u64>>,
    /// Several threads: how much they ran at the same time in each counted run (the
    /// shared span over the shortest thread's time). A racy run only shows a race where
    /// this is high.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap_per_run: Option<Vec<f64>>,
    /// gil-model: times the model lock was taken, the first taking included, and the
    /// hand-overs a waiting thread forced after a switch interval (sweep rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gil_switches: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gil_forced_switches: Option<u64>,
    /// gil-model sweep rows: the interval the model ran with; CPython's facts row:
    /// `sys.getswitchinterval()`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_interval_s: Option<f64>,
    /// CPython's facts row: which interpreter answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    /// CPython's facts row: whether its threads are OS threads, told by the process's
    /// OS tasks before and while it ran that many threads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_started: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_tasks_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_tasks_during: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads_are_os_tasks: Option<bool>,
    /// CPython's facts row: false on a free-threaded build, null where the interpreter
    /// cannot say (before 3.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gil_enabled: Option<bool>,
    /// CPython's racy-threads row: the counter it ended at (`final` is a Rust keyword)
    /// and every counted run's losses.
    #[serde(rename = "final", skip_serializing_if = "Option::is_none")]
    pub final_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_updates_per_run: Option<Vec<i64>>,
    /// CPython's racy-threads row: the interpreter's own safety beside user code's. Its
    /// threads took and dropped `refcount_takes` references to one shared object; the
    /// object's count before and after, and whether they agree. A free-threaded build
    /// keeps them equal by design (biased reference counting, PEP 703), where
    /// `counter += 1` in the same threads is promised nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refcount_threads: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refcount_takes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refcount_before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refcount_after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refcount_intact: Option<bool>,
}

impl RowData for GilData {}

/// §2.2–2.3: threads update one shared reference count; why CPython has a GIL.
///
/// Each thread makes N updates to one count, as CPython threads would to an object's
/// reference count. racy: a load, then a store of that value plus one, unguarded (what
/// `ob_refcnt += 1` is without the GIL); atomic: one indivisible fetch_add/fetch_sub per update
/// (per-object atomic counts, as in PEP 703); mutex: a std Mutex around the count;
/// gil-model: the racy update, but each thread holds a model of the GIL while it runs (a
/// model, not CPython); plain: one thread's private count, the floor for the cost of an
/// update. A 1-thread row always runs too: it is the uncontended cost, and it shows that
/// racy loses nothing when nothing races. With gil-model selected, a switch-interval
/// sweep then runs a CPU-bound count with one gil-model thread per logical CPU (at least
/// 2) against one thread with no lock.
/// Techniques: plain, racy, atomic, mutex, gil-model.
/// Defaults: 3 counted runs after 1 warm-up run.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Thread counts to try, e.g. 2,4 or 1..8; 1 thread runs as well in any case
    /// [default: 2 and the number of logical CPUs]
    #[arg(long, value_name = "LIST", value_parser = threads)]
    pub threads: Option<parse::List>,

    /// Updates each thread makes to the shared count (10000000, 10_000_000 or 1e7)
    #[arg(long, value_name = "N", default_value = "10000000", value_parser = parse::count)]
    pub ops: u64,

    /// increments: only +1, so every lost update is missing from the end count;
    /// balanced: +1 then −1, as a reference is taken and dropped, so the count must end
    /// where it started and its drift says leak (above) or early free (below)
    #[arg(long, value_enum, default_value_t = ShapeArg::Both)]
    pub shape: ShapeArg,

    /// gil-model rows: how long a waiting thread lets the holder run before it asks for
    /// the lock (CPython's sys.getswitchinterval() is 5ms)
    #[arg(long, value_name = "DURATION", default_value = "5ms", value_parser = parse::duration)]
    pub switch_interval: Duration,

    /// Switch intervals the sweep tries, comma-separated (the sweep runs when gil-model is
    /// among the techniques)
    #[arg(long, value_name = "LIST", default_value = "100us,1ms,5ms,50ms", value_parser = intervals)]
    pub sweep_intervals: Intervals,

    /// Decrements in the sweep's CPU-bound count, split evenly between the threads (a share
    /// that ends within one switch interval needs no forced hand-over)
    #[arg(long, value_name = "N", default_value = "200000000", value_parser = parse::count)]
    pub sweep_n: u64,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn threads(text: &str) -> Result<parse::List, String> {
    parse::bounded_list(text, "thread counts", 1, 256)
}

/// Durations as one flag value (clap would read a bare `Vec` as a repeated flag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intervals(pub Vec<Duration>);

impl Intervals {
    fn seconds(&self) -> Vec<f64> {
        self.0.iter().map(Duration::as_secs_f64).collect()
    }
}

fn intervals(text: &str) -> Result<Intervals, String> {
    let list = text
        .split(',')
        .map(parse::duration)
        .collect::<Result<Vec<_>, _>>()?;
    if list.len() > 32 {
        return Err("at most 32 switch intervals".into());
    }
    Ok(Intervals(list))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ShapeArg {
    Increments,
    Balanced,
    Both,
}

impl ShapeArg {
    fn shapes(self) -> &'static [Shape] {
        match self {
            ShapeArg::Increments => &[Shape::Increments],
            ShapeArg::Balanced => &[Shape::Balanced],
            ShapeArg::Both => &[Shape::Increments, Shape::Balanced],
        }
    }
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    let args: &[&str] = match scale {
        Scale::Quick => &["--sweep-n", "100000000"],
        Scale::Paper => &[],
    };
    args.iter().map(|s| s.to_string()).collect()
}

/// The thread counts to run: 1 first (the uncontended cost), then the ones asked for.
fn thread_counts(asked: Option<&parse::List>, cores: usize) -> Vec<usize> {
    let asked = asked.map_or_else(|| vec![2, cores], |l| l.0.clone());
    let mut out = vec![1];
    for t in asked {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let techniques = args.common.chosen::<CounterTechnique>(&INFO)?;
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let cores = ctx.cores();
    let counts = thread_counts(args.threads.as_ref(), cores);
    let sweep_threads = cores.max(2);
    let mut result = INFO.result(params! {
            "threads" => counts,
            "ops" => args.ops,
            "shapes" => args.shape.shapes().iter().map(|s| s.id()).collect::<Vec<_>>(),
            "switch_interval_s" => args.switch_interval.as_secs_f64(),
            "balanced_start" => shared_count::BALANCED_START,
            "sweep_intervals_s" => args.sweep_intervals.seconds(),
            "sweep_n" => args.sweep_n,
            "sweep_threads" => sweep_threads,
            "schedule" => args.common.schedule,
    });

    let mut specs = Vec::new();
    for &shape in args.shape.shapes() {
        for &t in &techniques {
            // plain is private to one thread: more threads would not share anything.
            let mine: &[usize] = if t == CounterTechnique::Plain {
                &[1]
            } else {
                &counts
            };
            for &threads in mine {
                let work = Updates {
                    threads,
                    ops: args.ops,
                    shape,
                };
                specs.push(CountSpec { t, work });
            }
        }
    }
    let schedule = args.common.schedule;
    count_rows(
        ctx,
        &plan,
        schedule,
        &specs,
        args.switch_interval,
        &mut result,
    );
    if techniques.contains(&CounterTechnique::GilModel) {
        sweep(ctx, &plan, args, sweep_threads, &mut result);
    }

    result.findings = findings(&result.rows, cores);
    python_rows(ctx, args, &plan, &mut result);
    print_tables(ctx, &result.rows, args.ops);
    Ok(result)
}

fn heading(t: CounterTechnique, work: &Updates) -> String {
    let threads = match (t, work.threads) {
        (CounterTechnique::Plain, _) => "one thread, nothing shared".to_string(),
        (_, 1) => "1 thread".to_string(),
        (_, n) => format!("{n} threads"),
    };
    format!("-----> {}, {threads}, {}", t.id(), work.shape.id())
}

/// One count row to run: a technique on a shape and a thread count.
#[derive(Clone, Copy, Debug)]
struct CountSpec {
    t: CounterTechnique,
    work: Updates,
}

impl CountSpec {
    fn row(&self) -> Row {
        let work = self.work;
        let params = params! {
            "threads" => work.threads,
            "shape" => work.shape.id(),
            "ops" => work.updates_per_thread(),
            "start" => work.start(),
        };
        Row::new("rust", self.t.id(), params)
    }

    /// A racy count shows a race only where its threads ran at the same time; on a busy
    /// machine two threads can take turns and lose nothing. Such rows measure again, up
    /// to a few times, keeping the runs whose threads overlapped.
    fn needs_overlap(&self) -> bool {
        self.t == CounterTechnique::Racy && self.work.threads > 1
    }

    /// Why the row would run past `--skip-over`, from a trial of a few updates a thread.
    fn too_long(&self, plan: &Plan, interval: Duration) -> Option<String> {
        if plan.skip_over.is_zero() {
            return None;
        }
        let (t, work) = (self.t, self.work);
        let per_run = estimate::scaled(work.ops, TRIAL_OPS, |ops| {
            shared_count::run(t, Updates { ops, ..work }, interval).map(drop)
        })?;
        plan.too_long(per_run, &format!(" from {TRIAL_OPS} updates a thread"))
    }
}

/// The counted runs a count row keeps over all its measurements, with what each left.
#[derive(Debug, Default)]
struct Counted {
    samples: Vec<f64>,
    tallies: Vec<Tally>,
    peak: Option<u64>,
}

impl Counted {
    /// Adds another measurement's counted runs: all of them, or only those whose
    /// threads overlapped (a re-measurement looks for those alone).
    fn add(&mut self, more: Counted, all: bool) {
        self.peak = self.peak.max(more.peak);
        for (sample, tally) in more.samples.into_iter().zip(more.tallies) {
            if all || overlapped(&tally) {
                self.samples.push(sample);
                self.tallies.push(tally);
            }
        }
    }

    /// Whether enough runs overlapped for the row to stop measuring again.
    fn enough_overlap(&self, plan: &Plan) -> bool {
        self.tallies.iter().filter(|c| overlapped(c)).count() >= plan.runs.max(1) as usize
    }
}

/// How a count row ended, before its row is built.
enum CountOutcome {
    Skipped(String),
    Failed(TechniqueError),
    Counted(Counted),
}

/// Measures the count rows under `schedule` and adds them in order. Interleaved, the
/// rows over `--skip-over` are skipped first, the others take turns run by run, and a
/// racy row whose threads overlapped too rarely then measures again on its own (its
/// extra runs are about the race, not the comparison); the paper's lines follow, row
/// by row, once all have run. Grouped, each row runs, prints and is added in turn, so an
/// interrupt keeps the rows done.
fn count_rows(
    ctx: &mut Ctx,
    plan: &Plan,
    schedule: Schedule,
    specs: &[CountSpec],
    interval: Duration,
    result: &mut ExperimentResult,
) {
    if schedule == Schedule::Grouped {
        for spec in specs {
            ctx.line(heading(spec.t, &spec.work));
            let outcome = match spec.too_long(plan, interval) {
                Some(why) => CountOutcome::Skipped(why),
                None => match count_grouped(plan, spec, interval) {
                    Ok(counted) => CountOutcome::Counted(counted),
                    Err(e) => CountOutcome::Failed(e),
                },
            };
            let row = finish_count(ctx, spec, outcome);
            ctx.push(result, row, Vec::new());
        }
        return;
    }
    let skips: Vec<Option<String>> = specs.iter().map(|s| s.too_long(plan, interval)).collect();
    let run: Vec<CountSpec> = specs
        .iter()
        .zip(&skips)
        .filter(|(_, skip)| skip.is_none())
        .map(|(spec, _)| *spec)
        .collect();
    let mut measured = counts_interleaved(plan, &run, interval).into_iter();
    let outcomes: Vec<CountOutcome> = specs
        .iter()
        .zip(skips)
        .map(|(spec, skip)| {
            if let Some(why) = skip {
                return CountOutcome::Skipped(why);
            }
            let counted = measured
                .next()
                .expect("one measurement per row not skipped")
                .and_then(|mut counted| {
                    more_overlap(plan, spec, interval, &mut counted).map(|()| counted)
                });
            match counted {
                Ok(counted) => CountOutcome::Counted(counted),
                Err(e) => CountOutcome::Failed(e),
            }
        })
        .collect();
    for (spec, outcome) in specs.iter().zip(outcomes) {
        ctx.line(heading(spec.t, &spec.work));
        let row = finish_count(ctx, spec, outcome);
        ctx.push(result, row, Vec::new());
    }
}

/// One measurement of a count row: its counted runs' times and tallies, and its peak.
fn measure_count(
    plan: &Plan,
    spec: &CountSpec,
    interval: Duration,
) -> Result<Counted, TechniqueError> {
    let mut tallies: Vec<Tally> = Vec::new();
    let run = |_| {
        let tally = shared_count::run(spec.t, spec.work, interval)?;
        tallies.push(tally);
        Ok(tally)
    };
    let m = measure(plan, run, |tally| tally.check(spec.t))?;
    let counted = tallies.split_off(tallies.len() - m.samples_s.len());
    Ok(Counted {
        samples: m.samples_s,
        tallies: counted,
        peak: m.peak_rss_bytes,
    })
}

/// A count row on its own: one measurement, then more while a racy row needs them.
fn count_grouped(
    plan: &Plan,
    spec: &CountSpec,
    interval: Duration,
) -> Result<Counted, TechniqueError> {
    let mut counted = measure_count(plan, spec, interval)?;
    more_overlap(plan, spec, interval, &mut counted)?;
    Ok(counted)
}

/// Racy rows of several threads measure again, up to [`OVERLAP_ATTEMPTS`] measurements
/// in all, while too few of their runs overlapped, keeping only the runs that did.
fn more_overlap(
    plan: &Plan,
    spec: &CountSpec,
    interval: Duration,
    counted: &mut Counted,
) -> Result<(), TechniqueError> {
    if !spec.needs_overlap() {
        return Ok(());
    }
    for _ in 1..OVERLAP_ATTEMPTS {
        if counted.enough_overlap(plan) {
            break;
        }
        counted.add(measure_count(plan, spec, interval)?, false);
    }
    Ok(())
}

/// The count rows' first measurement, one run of each in turn (`measure_interleaved`);
/// a row that fails drops out while the others go on.
fn counts_interleaved(
    plan: &Plan,
    specs: &[CountSpec],
    interval: Duration,
) -> Vec<Result<Counted, TechniqueError>> {
    // Every run's tally, warm-ups included: the counted ones are the last of each.
    let mut logs: Vec<Vec<Tally>> = vec![Vec::new(); specs.len()];
    let arms: Vec<Arm<'_, Tally>> = specs
        .iter()
        .zip(logs.iter_mut())
        .map(|(&spec, log)| Arm {
            run: Box::new(move |_| {
                let tally = shared_count::run(spec.t, spec.work, interval)?;
                log.push(tally);
                Ok(tally)
            }) as RunOnce<'_, Tally>,
            check: Box::new(move |tally: &Tally| tally.check(spec.t)) as CheckOnce<'_, Tally>,
        })
        .collect();
    let measured = measure_interleaved(plan, arms);
    measured
        .into_iter()
        .zip(logs)
        .map(|(m, log)| {
            let m = m?;
            Ok(Counted {
                tallies: log[log.len() - m.samples_s.len()..].to_vec(),
                samples: m.samples_s,
                peak: m.peak_rss_bytes,
            })
        })
        .collect()
}

/// The row of a count, with what the last run left in it, and its paper-style line.
fn finish_count(ctx: &mut Ctx, spec: &CountSpec, outcome: CountOutcome) -> Row {
    let (t, work, row) = (spec.t, spec.work, spec.row());
    let counted = match outcome {
        CountOutcome::Skipped(why) => {
            ctx.line(format!("skipped: {why}"));
            return row.skipped(why);
        }
        CountOutcome::Failed(e) => {
            ctx.line(format!("failed: {e}"));
            return row.failed(e.to_string());
        }
        CountOutcome::Counted(counted) => counted,
    };
    let Counted {
        samples,
        tallies: counted,
        peak,
    } = counted;
    let last = *counted
        .last()
        .expect("the first measurement keeps every counted run");
    let total = work.total_updates() as f64;
    let mut row = row.with_samples(samples);
    row.validated = true;
    row.peak_rss_bytes = peak;
    let ns = row.median_s.map(|s| s * 1e9 / total);
    let mut data = GilData {
        final_count: Some(last.final_count),
        expected: Some(work.expected()),
        drift: Some(last.drift()),
        drift_per_run: Some(counted.iter().map(Tally::drift).collect()),
        exact: Some(counted.iter().all(Tally::is_exact)),
        ns_per_op: ns,
        total_updates: Some(work.total_updates()),
        gil_switches: last.gil_switches,
        ..GilData::default()
    };
    if work.threads > 1 {
        data.overlap_per_run = Some(counted.iter().filter_map(|c| c.overlap).collect());
    }
    if let Some(lost) = last.lost() {
        data.lost_updates = Some(lost as i64);
        data.lost_fraction = Some(lost as f64 / total);
        data.lost_per_run = Some(counted.iter().filter_map(Tally::lost).collect());
    }
    data.store(&mut row);
    let mut line = paper_line(&last);
    if let Some(ns) = ns {
        line.push_str(&format!("; {ns:.2} ns/update"));
    }
    if let Some(switches) = last.gil_switches {
        line.push_str(&format!("; {}", hand_overs(switches)));
        row.note(format!(
            "a MODEL of CPython's GIL; {}",
            hand_overs(switches)
        ));
    }
    if t == CounterTechnique::Racy && work.threads > 1 {
        let runs: Vec<String> = counted
            .iter()
            .map(|c| match c.lost() {
                Some(lost) => units::percent(Some(lost as f64 / total)),
                None => signed(c.drift()),
            })
            .collect();
        let what = match work.shape {
            Shape::Increments => "lost",
            Shape::Balanced => "drift",
        };
        row.note(format!("{what} per run: {}", runs.join(", ")));
        let together = counted.iter().filter(|c| overlapped(c)).count();
        row.note(format!(
            "{together} of {} runs had their threads overlap for {:.0}%+ of the time",
            counted.len(),
            MIN_OVERLAP * 100.0
        ));
        if work.shape == Shape::Balanced && counted.iter().any(Tally::is_exact) {
            let why = "the threads did not overlap (a busy machine) or losses cancelled out";
            row.note(format!("drift 0: {why}"));
        }
    }
    ctx.line(line);
    row
}

/// The share of the shortest thread's time the threads must have run together for a
/// racy run to count as a test of the race.
const MIN_OVERLAP: f64 = 0.9;
/// How many times a racy row measures again while too few of its runs overlapped.
const OVERLAP_ATTEMPTS: usize = 4;

fn overlapped(tally: &Tally) -> bool {
    tally.overlap.is_some_and(|o| o >= MIN_OVERLAP)
}

/// The counted runs of a racy row whose threads overlapped: their drifts only.
fn overlapped_drifts(r: &Row) -> Vec<i64> {
    let data = GilData::of(r);
    let drifts = data.drift_per_run.unwrap_or_default();
    match data.overlap_per_run {
        Some(overlaps) if overlaps.len() == drifts.len() => drifts
            .into_iter()
            .zip(overlaps)
            .filter(|(_, o)| *o >= MIN_OVERLAP)
            .map(|(d, _)| d)
            .collect(),
        // Rows written before overlaps were recorded: every run counts.
        _ => drifts,
    }
}

/// Updates each thread makes in the trial that estimates a count row's time.
const TRIAL_OPS: u64 = 100_000;

/// What the count came to, and what that would mean for a real object (§2.2).
fn paper_line(tally: &Tally) -> String {
    let work = tally.work;
    let end = units::grouped(tally.final_count);
    let expected = units::grouped(work.expected());
    let lost_share = |lost: u64| 100.0 * lost as f64 / work.total_updates() as f64;
    let moved = format!("started at {expected}, ended at {end}");
    match (tally.lost(), tally.drift()) {
        (Some(0), _) => format!("final {end} of {expected}: no update lost"),
        (Some(lost), _) => format!(
            "final {end} of {expected}: {} updates lost ({:.0}%)",
            units::grouped(lost as i64),
            lost_share(lost)
        ),
        (None, 0) => format!("{moved}: back where it started"),
        (None, d) => {
            let meaning = if d > 0 {
                "the object would leak (still counted after its last reference goes)".to_string()
            } else {
                format!("the object would be freed while {} references remain", -d)
            };
            format!("{moved}: {}, {meaning}", signed(d))
        }
    }
}

/// gil-model threads against one lock-free thread on the same CPU-bound count, at each
/// switch interval. The rows share the machine as `--schedule` says; speedups are
/// against the sequential row, the first.
fn sweep(ctx: &mut Ctx, plan: &Plan, args: &Args, threads: usize, result: &mut ExperimentResult) {
    let whole = vec![Job::CountDown { n: args.sweep_n }];
    let chunks = count_chunks(args.sweep_n, threads);
    let n = units::grouped(args.sweep_n as i64);
    let mut specs = vec![RowSpec {
        cfg: ctx.runner(JobTechnique::Sequential, 1),
        jobs: whole,
        params: params! {"mode" => "sweep", "threads" => 1, "n" => args.sweep_n},
    }];
    for &interval in &args.sweep_intervals.0 {
        let mut cfg = ctx.runner(JobTechnique::GilModel, threads);
        cfg.switch_interval = interval;
        let params = params! {
            "mode" => "sweep",
            "threads" => threads,
            "n" => args.sweep_n,
            "switch_interval_s" => interval.as_secs_f64(),
        };
        specs.push(RowSpec {
            cfg,
            jobs: chunks.clone(),
            params,
        });
    }
    // The sequential row comes first in either schedule: its samples are the baseline.
    let mut base_samples: Option<Vec<f64>> = None;
    run_rows(
        plan,
        args.common.schedule,
        specs,
        |i, (mut row, events, _)| {
            if i == 0 {
                ctx.line(format!("-----> sweep: sequential, count {n} in one thread"));
                match row.median_s.filter(|_| row.status == Status::Ok) {
                    Some(m) => {
                        ctx.line(format!("Function 'sequential_exec' executed in {m}s"));
                        row.speedup = Some(1.0);
                        base_samples = Some(row.samples_s.clone());
                    }
                    None => ctx.line(format!(
                        "Function 'sequential_exec' {}: {}",
                        outcome(&row),
                        message(&row)
                    )),
                }
                ctx.push(result, row, events);
                return;
            }
            let every = units::secs(args.sweep_intervals.0[i - 1].as_secs_f64());
            ctx.line(format!(
                "-----> sweep: gil-model, {threads} threads, switch interval {every}"
            ));
            if let Some(base) = &base_samples {
                set_speedups([&mut row], base);
            }
            let switches = hand_overs(GilData::of(&row).gil_switches.unwrap_or(0));
            match (row.status, row.median_s) {
                (Status::Ok, Some(m)) => ctx.line(format!(
                    "Function 'parallel_exec' executed in {m}s: {} sequential, {switches}",
                    units::ratio(row.speedup)
                )),
                _ => ctx.line(format!(
                    "Function 'parallel_exec' {}: {}",
                    outcome(&row),
                    message(&row)
                )),
            }
            row.note(format!("a MODEL of CPython's GIL; {switches}"));
            ctx.push(result, row, events);
        },
    );
}

/// A drift with its sign, `+2,812` or `-40`, since the sign is what it means.
fn signed(d: i64) -> String {
    let sign = if d > 0 { "+" } else { "" };
    format!("{sign}{}", units::grouped(d))
}

fn message(row: &Row) -> &str {
    row.message.as_deref().unwrap_or("?")
}

/// Times the model lock was taken, its first taking included (the `gil_switches` figure).
fn hand_overs(switches: u64) -> String {
    format!(
        "{switches} lock hand-over{}",
        if switches == 1 { "" } else { "s" }
    )
}

fn is_count_row(r: &Row) -> bool {
    r.param_str("shape").is_some()
}

fn is_sweep_row(r: &Row) -> bool {
    r.param_str("mode") == Some("sweep")
}

/// The drifts of every counted run; none for a row that did not count.
fn drift_per_run(r: &Row) -> Vec<i64> {
    GilData::of(r).drift_per_run.unwrap_or_default()
}

fn is_exact(r: &Row) -> bool {
    r.status == Status::Ok && GilData::of(r).exact == Some(true)
}

/// The shape the cost-of-safety figures come from: increments when it ran, as the
/// simplest, else balanced.
fn cost_shape(rows: &[Row]) -> Option<&'static str> {
    let ran = |shape: &Shape| {
        rows.iter()
            .any(|r| r.param_str("shape") == Some(shape.id()))
    };
    [Shape::Increments, Shape::Balanced]
        .iter()
        .find(|s| ran(s))
        .map(|s| s.id())
}

/// The ok count row of `technique` at `threads` in `shape`.
/// The ns/update of the ok count row of `technique` at `threads` in `shape`.
fn ns_per_op(rows: &[Row], technique: &str, shape: &str, threads: u64) -> Option<f64> {
    let row = rows.iter().find(|r| {
        r.technique == technique
            && r.status == Status::Ok
            && r.param_str("shape") == Some(shape)
            && r.param_u64("threads") == Some(threads)
    });
    row.and_then(|r| GilData::of(r).ns_per_op)
}

/// `{"1": .., "2": ..}`: one value of each row, keyed by its thread count.
fn by_threads<'r>(rows: impl Iterator<Item = &'r Row>, value: impl Fn(&Row) -> Value) -> Params {
    rows.filter_map(|r| Some((r.param_u64("threads")?.to_string(), value(r))))
        .collect()
}

/// What a claims module needs, without reading the rows again.
fn findings(rows: &[Row], cores: usize) -> Params {
    let mut out = params! {"logical_cpus" => cores};
    let count_rows = || {
        rows.iter()
            .filter(|r| is_count_row(r) && r.status == Status::Ok)
    };
    let racy = || count_rows().filter(|r| r.technique == Technique::Racy.id());
    let contended = || racy().filter(|r| r.param_u64("threads").is_some_and(|t| t > 1));
    let max_lost_fraction = racy()
        .filter_map(|r| {
            let data = GilData::of(r);
            let total = data.total_updates? as f64;
            let most = data.lost_per_run?.into_iter().max()?;
            Some(most as f64 / total)
        })
        .reduce(f64::max);
    let exact: Vec<&str> = [Technique::Atomic, Technique::Mutex, Technique::GilModel]
        .into_iter()
        .map(Technique::id)
        .filter(|id| {
            let mut mine = rows
                .iter()
                .filter(|r| is_count_row(r) && r.technique == *id)
                .peekable();
            mine.peek().is_some() && mine.all(is_exact)
        })
        .collect();
    let balanced = contended().filter(|r| r.param_str("shape") == Some(Shape::Balanced.id()));
    let balanced_drifts = by_threads(balanced, |r| drift_per_run(r).into());
    // Only runs whose threads overlapped can show a race: a run in which one thread
    // finished before the other began proves nothing either way.
    let overlapped_runs: usize = contended().map(|r| overlapped_drifts(r).len()).sum();
    let lost_any = contended().any(|r| overlapped_drifts(r).iter().any(|d| *d != 0));
    let single_exact = racy()
        .filter(|r| r.param_u64("threads") == Some(1))
        .all(is_exact);
    out.insert(
        "lost_updates".into(),
        params! {
            "racy_max_lost_fraction" => max_lost_fraction,
            "racy_lost_any" => (overlapped_runs > 0).then_some(lost_any),
            "racy_overlapped_runs" => overlapped_runs,
            "racy_single_thread_exact" => single_exact,
            "racy_balanced_drift_per_run" => balanced_drifts,
            "exact" => exact,
        }
        .into(),
    );

    if let Some(shape) = cost_shape(rows) {
        let mut cost = params! {"shape" => shape};
        for t in INFO.techniques {
            let mine = count_rows()
                .filter(|r| r.technique == t.id() && r.param_str("shape") == Some(shape));
            let ns = by_threads(mine, |r| GilData::of(r).ns_per_op.into());
            if !ns.is_empty() {
                cost.insert(t.id().into(), ns.into());
            }
        }
        out.insert("cost_ns_per_op".into(), cost.into());
    }

    let sweep = || {
        rows.iter()
            .filter(|r| is_sweep_row(r) && r.status == Status::Ok)
    };
    let gil = || sweep().filter(|r| r.technique == Technique::GilModel.id());
    if let Some(base) = sweep().find(|r| r.technique == Technique::Sequential.id()) {
        let points: Vec<Params> = gil()
            .map(|r| {
                params! {
                    "switch_interval_s" => r.params.get("switch_interval_s"),
                    "speedup" => r.speedup,
                    "gil_switches" => GilData::of(r).gil_switches,
                }
            })
            .collect();
        let best = gil().filter_map(|r| r.speedup).reduce(f64::max);
        let sweep = params! {
            "sequential_s" => base.median_s,
            "points" => points,
            "best_speedup" => best,
        };
        out.insert("sweep".into(), sweep.into());
    }
    out
}

fn print_tables(ctx: &mut Ctx, rows: &[Row], ops: u64) {
    let u64_param = |key: &'static str| {
        move |r: &Row| r.param_u64(key).map_or_else(String::new, |v| v.to_string())
    };
    let ns = |v: Option<f64>| v.map_or_else(|| "–".into(), |ns| format!("{ns:.2}"));

    let counted: Vec<&Row> = rows.iter().filter(|r| is_count_row(r)).collect();
    if !counted.is_empty() {
        let ops = units::grouped(ops as i64);
        ctx.print("");
        ctx.print(format!(
            "gil: threads updating one shared count, {ops} updates per thread"
        ));
        ctx.print("(median: the whole run; ns/update: median over all threads' updates together)");
        let params = [
            Column::new("threads", u64_param("threads")),
            Column::new("shape", |r: &Row| {
                r.param_str("shape").unwrap_or("").to_string()
            }),
        ];
        let lost_or_drift = |r: &Row| {
            let data = GilData::of(r);
            match (data.lost_updates, data.drift) {
                (Some(lost), _) => {
                    let share = units::percent(data.lost_fraction);
                    format!("{} ({share})", units::grouped(lost))
                }
                (None, Some(d)) => signed(d),
                _ => String::new(),
            }
        };
        let extra = [
            Column::new("final", |r: &Row| {
                GilData::of(r)
                    .final_count
                    .map_or_else(String::new, units::grouped)
            }),
            Column::new("lost / drift", lost_or_drift),
            Column::new("ns/update", |r: &Row| ns(GilData::of(r).ns_per_op)),
        ];
        ctx.print(terminal::table(counted, &params, &extra).to_string());
    }

    if let Some(shape) = cost_shape(rows) {
        let counts = rows
            .iter()
            .filter(|r| is_count_row(r))
            .filter_map(|r| r.param_u64("threads"));
        let most = counts.max().unwrap_or(1);
        let plain = ns_per_op(rows, Technique::Plain.id(), shape, 1);
        let vs_plain = move |ns: Option<f64>| units::ratio(ns.zip(plain).map(|(a, p)| a / p));
        let alone: Vec<&Row> = rows
            .iter()
            .filter(|r| r.param_str("shape") == Some(shape) && r.param_u64("threads") == Some(1))
            .collect();
        let many = format!("ns/update, {most} threads");
        let many_vs = format!("{most} threads × plain");
        let mut extra = vec![
            Column::new(
                "ns/update, 1 thread",
                |r: &Row| ns(GilData::of(r).ns_per_op),
            ),
            Column::new("1 thread × plain", |r: &Row| {
                vs_plain(GilData::of(r).ns_per_op)
            }),
        ];
        if most > 1 {
            let at_most = move |r: &Row| ns_per_op(rows, &r.technique, shape, most);
            extra.push(Column::new(&many, move |r: &Row| ns(at_most(r))));
            extra.push(Column::new(&many_vs, move |r: &Row| vs_plain(at_most(r))));
        }
        ctx.print("");
        ctx.print(format!(
            "gil: the cost of safety ({shape}), alone and {most} contending"
        ));
        ctx.print("(median, min – max and peak mem are the 1-thread run's)");
        ctx.print(terminal::table(alone, &[], &extra).to_string());
    }

    let sweep: Vec<&Row> = rows.iter().filter(|r| is_sweep_row(r)).collect();
    if !sweep.is_empty() {
        ctx.print("");
        ctx.print("gil: switch-interval sweep, a CPU-bound count under the GIL model");
        let interval = |r: &Row| r.params.get("switch_interval_s").and_then(|v| v.as_f64());
        let params = [
            Column::new("threads", u64_param("threads")),
            Column::new("n", |r: &Row| {
                r.param_u64("n")
                    .map_or_else(String::new, |n| units::grouped(n as i64))
            }),
            Column::new("switch interval", move |r: &Row| {
                interval(r).map_or_else(|| "–".into(), units::secs)
            }),
        ];
        let extra = [Column::new("hand-overs", |r: &Row| {
            GilData::of(r)
                .gil_switches
                .map_or_else(|| "–".into(), |s| s.to_string())
        })];
        ctx.print(terminal::table(sweep, &params, &extra).to_string());
    }
}

/// CPython's own answers: its switch interval, whether its threads are OS threads, and
/// whether `counter += 1` from several threads loses updates under the real GIL. The
/// Python loop is about a hundred times slower than Rust's, so it makes at most a
/// million updates per thread.
fn python_rows(ctx: &mut Ctx, args: &Args, plan: &Plan, result: &mut ExperimentResult) {
    const PYTHON_OPS: u64 = 1_000_000;
    let call = PeerCall::default()
        .flag("--ops", args.ops.min(PYTHON_OPS))
        .flag("--threads", 4);
    let check = |r: &Row| {
        let data = GilData::parse(r)?;
        match r.technique.as_str() {
            "facts" => data
                .switch_interval_s
                .map(drop)
                .ok_or_else(|| "no switch interval".to_string()),
            _ => data
                .lost_updates
                .map(drop)
                .ok_or_else(|| "no lost-update count".to_string()),
        }
    };
    let first = result.rows.len();
    ctx.run_peers(result, &args.common, plan, call, check, |_| false);
    let python: Vec<&Row> = result.rows[first..]
        .iter()
        .filter(|r| r.status == Status::Ok)
        .collect();
    if let Some(facts) = python.iter().find(|r| r.technique == "facts") {
        result
            .findings
            .insert("python_facts".into(), facts.extra.clone().into());
    }
    if let Some(racy) = python.iter().find(|r| r.technique == "racy-threads") {
        result
            .findings
            .insert("python_racy".into(), racy.extra.clone().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::assert_fixture_round_trips;

    #[test]
    fn rows_keep_their_json() {
        assert_fixture_round_trips::<GilData>("gil");
    }

    #[test]
    fn python_rows_read_as_gil_values() {
        let mut facts = Row::new("python", "facts", Params::new());
        facts.extra = params! {"version" => "3.12.1", "implementation" => "CPython",
        "switch_interval_s" => 0.005, "threads_started" => 4, "os_tasks_before" => 1,
        "os_tasks_during" => 5, "threads_are_os_tasks" => true, "gil_enabled" => None::<bool>};
        let data = GilData::parse(&facts).unwrap();
        assert_eq!(data.os_tasks_during, Some(5));
        assert_eq!(data.threads_are_os_tasks, Some(true));
        let mut racy = Row::new("python", "racy-threads", Params::new());
        racy.extra = params! {"expected" => 8, "final" => 6, "lost_updates" => 2,
        "lost_updates_per_run" => [2, 0]};
        let data = GilData::parse(&racy).unwrap();
        assert_eq!((data.final_value, data.lost_updates), (Some(6), Some(2)));
    }

    #[test]
    fn one_thread_always_runs_first_and_counts_are_deduplicated() {
        assert_eq!(thread_counts(None, 2), [1, 2]);
        assert_eq!(thread_counts(None, 8), [1, 2, 8]);
        let asked = parse::List(vec![4, 1, 4]);
        assert_eq!(thread_counts(Some(&asked), 2), [1, 4]);
    }

    #[test]
    fn a_remeasurement_keeps_only_overlapped_runs_until_enough_overlapped() {
        let work = Updates {
            threads: 2,
            ops: 10,
            shape: Shape::Increments,
        };
        let tally = |overlap: f64| Tally {
            work,
            final_count: 20,
            gil_switches: None,
            overlap: Some(overlap),
        };
        let plan = Plan {
            warmup: 0,
            runs: 2,
            timeout: None,
            skip_over: Duration::ZERO,
        };
        let measured = |samples: Vec<f64>, tallies: Vec<Tally>, peak: u64| Counted {
            samples,
            tallies,
            peak: Some(peak),
        };
        let mut counted = Counted::default();
        // The first measurement keeps every run, overlapped or not.
        counted.add(
            measured(vec![1.0, 2.0], vec![tally(0.1), tally(0.95)], 5),
            true,
        );
        assert_eq!(counted.samples, [1.0, 2.0]);
        assert!(!counted.enough_overlap(&plan));
        // A re-measurement adds only the runs whose threads overlapped.
        counted.add(
            measured(vec![3.0, 4.0], vec![tally(0.2), tally(0.99)], 7),
            false,
        );
        assert_eq!(counted.samples, [1.0, 2.0, 4.0]);
        assert_eq!(counted.peak, Some(7));
        assert!(counted.enough_overlap(&plan));
        let racy = CountSpec {
            t: CounterTechnique::Racy,
            work,
        };
        assert!(racy.needs_overlap());
        let alone = CountSpec {
            work: Updates { threads: 1, ..work },
            ..racy
        };
        assert!(!alone.needs_overlap());
    }

    #[test]
    fn drifts_keep_their_sign() {
        assert_eq!(signed(2812), "+2,812");
        assert_eq!(signed(-40), "-40");
        assert_eq!(signed(0), "0");
    }

    #[test]
    fn sweep_intervals_parse() {
        let list = intervals("100us,1ms,5ms,50ms").unwrap();
        assert_eq!(list.0[0], Duration::from_micros(100));
        assert_eq!(list.0.len(), 4);
        assert!(intervals("1ms,soon").is_err());
        assert!(intervals("0s").is_err());
    }
}
