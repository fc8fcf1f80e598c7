//! `pool`: the paper's Figure 12 (§3.7), a worker pool computing naive fib(1..=40) with
//! 1 to 20 and 50 workers.
//!
//! Claim tested: more workers finish sooner on a multicore machine, up to a plateau.
//! The paper's curve zigzags; this experiment explains it. The jobs differ wildly in
//! size (fib(40) alone is about 38 % of all the work), so no schedule can beat
//! max(total work / min(workers, cores), longest job), and the order in which jobs are
//! handed out decides how close a pool comes to that bound: ascending order (the
//! paper's) leaves the largest job for last, largest-first does not.

use super::{CommonArgs, Ctx, Info, PeerCall, RowSpec, Scale, outcome, run_rows};
use crate::error::ParlabError;
use crate::measure::Schedule;
use crate::measure::env::RUSTC_VERSION;
use crate::params;
use crate::parse;
use crate::report::charts::{ChartKind, GilPair};
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Row, RowData, Status};
use crate::techniques::jobs::{Job, fib_exact};
use crate::techniques::mpi::{self, MpiArgs, MpiData};
use crate::techniques::{JobTechnique, Technique};
use crate::units;
use serde::{Deserialize, Serialize};

pub const INFO: Info = Info {
    id: "pool",
    paper_ref: "Figure 12, §3.7",
    gist: "fib(1..40) shared by a pool of 1 to 50 workers: the time drops as workers are added, then levels off.",
    techniques: &[
        Technique::Sequential,
        Technique::Threads,
        Technique::Rayon,
        Technique::Processes,
        Technique::Tokio,
        Technique::Mpi,
        Technique::MpiStatic,
    ],
    runs: 3,
    warmup: 1,
    charts,
    python: &["sequential", "threads", "processes", "interpreters"],
    go: &["sequential", "goroutines"],
    reproduce_args,
    claims: crate::claims::pool::CLAIMS,
};

/// Figure 12: a pool of W workers computes naive fib(1..=MAX) from a job channel.
///
/// threads: W std threads on crossbeam channels (the Go pattern); rayon: a W-thread pool;
/// processes: W parlab worker processes; tokio: W tasks on a runtime with one thread per
/// logical CPU (Go's goroutines on GOMAXPROCS threads); mpi: W worker ranks that ask
/// rank 0 for the next job; mpi-static: W ranks with a block of the list each (both per
/// --ranks, built with --features mpi; they run when named or when --ranks, --hostfile
/// or --mpirun is given). A sequential row per order
/// always runs, in Rust and in each peer: it is that language's speedup baseline and
/// gives the bound. Rows run interleaved unless --schedule grouped.
/// Techniques: sequential, threads, rayon, processes, tokio, mpi, mpi-static; the Python
/// peer's threads (ThreadPool) and interpreters (InterpreterPoolExecutor, Python 3.14 or
/// later).
/// Defaults: 3 counted runs after 1 warm-up run.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Largest n: the jobs are fib(1) .. fib(MAX)
    #[arg(long, value_name = "MAX", default_value = "40", value_parser = parse::int_in(1, 46))]
    pub max_fib: u64,

    /// Worker counts to try: numbers and inclusive ranges, e.g. 1..20,50
    #[arg(long, value_name = "LIST", default_value = "1..20,50", value_parser = workers)]
    pub workers: parse::List,

    /// Order the jobs are handed out: ascending is the paper's; largest-first shows how
    /// job order shapes the curve
    #[arg(long, value_enum, default_value_t = OrderArg::Ascending)]
    pub order: OrderArg,

    #[command(flatten)]
    pub mpi: MpiArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn workers(text: &str) -> Result<parse::List, String> {
    parse::bounded_list(text, "worker counts", 1, 1024)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderArg {
    Ascending,
    LargestFirst,
    Both,
}

impl OrderArg {
    fn orders(self) -> &'static [&'static str] {
        match self {
            OrderArg::Ascending => &["ascending"],
            OrderArg::LargestFirst => &["largest-first"],
            OrderArg::Both => &["ascending", "largest-first"],
        }
    }
}

/// A pool row's own values (peers/PROTOCOL.md), written and read only through this type
/// so that the tables, the chart, the peer check and the claim agree on them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PoolData {
    /// The shortest time any schedule of the jobs on this many workers could take: the
    /// curve's ceiling, which the job order decides how close a pool comes to. It comes
    /// from the same language's sequential runs of the same jobs and order, measured in
    /// the same schedule as the row, so a drift of the machine falls on both alike.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_s: Option<f64>,
    /// 95 % interval of the bound: the sequential runs' median interval, scaled as the
    /// bound is; absent with too few runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_ci_s: Option<[f64; 2]>,
    /// Median over bound: how far from a perfect schedule the pool stayed. Below 1 the
    /// row beat what the work allows, which only a wrong bound or noise can do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_bound: Option<f64>,
    /// 95 % interval of `over_bound`, from the speedup's interval (the bound is a fixed
    /// multiple of the sequential runs); absent with too few runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_bound_ci: Option<[f64; 2]>,
    /// Speedup per worker the CPUs can run at once: how much of the parallelism on
    /// offer the pool used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<f64>,
    /// A peer's sum of every result, its proof that each job was computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fib_sum: Option<u64>,
    /// Sequential rows: each job's time, fib(1) first, whatever order the jobs ran in
    /// (the peers give each job's median over the counted runs, Rust the last run's):
    /// what each job cost in that language, beside the calls' share the bound uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_times_s: Option<Vec<f64>>,
}

impl RowData for PoolData {}

/// The note of a row that ran faster than its bound: nothing can, so either the bound
/// is off or the runs were too noisy to tell.
pub const FASTER_THAN_BOUND: &str = "faster than the bound: the bound is wrong or the run is noise";

impl PoolData {
    /// Whether the row ran faster than its bound allows: its ratio's whole interval
    /// below 1, or without an interval the ratio itself below 1. The row note, the
    /// claim and the tables all ask this one question, so they cannot disagree.
    pub fn faster_than_bound(&self) -> bool {
        match (self.over_bound, self.over_bound_ci) {
            (Some(_), Some([_, hi])) => hi < 1.0,
            (Some(ratio), None) => ratio < 1.0,
            (None, _) => false,
        }
    }
}

/// The speedup curve against workers, with the bound each row's work allows.
fn charts(_: &ExperimentResult) -> Vec<ChartKind> {
    vec![
        ChartKind::Speedup {
            bound_s: |r| r.data::<PoolData>().bound_s,
        },
        ChartKind::WithoutGil { pairs: gil_pairs },
    ]
}

/// Each Python column's sequential row of the first job order, and its ThreadPool row
/// of that order with the best speedup (the number of workers is on the bar).
fn gil_pairs(result: &ExperimentResult) -> Vec<GilPair<'_>> {
    let mut pairs = Vec::new();
    for language in crate::peers::python_columns(&result.rows) {
        let mine = || result.rows.iter().filter(move |r| r.language == language);
        let single = mine().find(|r| r.technique == JobTechnique::Sequential.id());
        let order = single.and_then(|r| r.param_str("order"));
        let threads = mine()
            .filter(|r| r.technique == JobTechnique::Threads.id() && r.param_str("order") == order)
            .filter(|r| r.speedup.is_some())
            .max_by(|a, b| {
                a.speedup
                    .unwrap_or(0.0)
                    .total_cmp(&b.speedup.unwrap_or(0.0))
            });
        pairs.push(GilPair {
            language,
            single,
            threads,
        });
    }
    pairs
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    let args: &[&str] = match scale {
        // Six runs are the fewest whose medians have an interval: with them a row is
        // flagged faster than its bound only when its whole interval is, not whenever
        // three runs of a few milliseconds on a shared machine say so. Seven, because a
        // quick run has some forty pool rows, and `compare`'s Holm correction over forty
        // can show a change only with the smaller p of seven runs a side.
        Scale::Quick => &[
            "--max-fib",
            "32",
            "--workers",
            "1..4,8",
            "--order",
            "both",
            "--runs",
            "7",
        ],
        Scale::Paper => &["--order", "both"],
    };
    args.iter().map(|s| s.to_string()).collect()
}

/// The shortest time any schedule of these jobs on `workers` workers could take.
pub fn lower_bound(job_times: &[f64], workers: usize, cores: usize) -> f64 {
    let (total, longest) = total_and_longest(job_times);
    (total / workers.min(cores).max(1) as f64).max(longest)
}

/// The lower bound as a share of the total work: max(1 / min(workers, CPUs), longest
/// job's share). A sequential run is the total work done once, so each of its runs
/// times this is that run's bound: the bound then has as many samples as the
/// sequential row, taken in the same schedule as the rows it bounds.
pub fn bound_factor(workers: u64, cores: usize, longest_share: f64) -> f64 {
    (1.0 / workers.min(cores as u64).max(1) as f64).max(longest_share)
}

fn total_and_longest(job_times: &[f64]) -> (f64, f64) {
    (
        job_times.iter().sum(),
        job_times.iter().copied().fold(0.0, f64::max),
    )
}

/// fib(MAX)'s share of the calls the naive fib makes for fib(1..=MAX): the longest
/// job's share of the work, since every call of the naive fib costs the same. It is
/// taken from the calls rather than from timed jobs because one preempted job on a
/// busy machine moves a timed share (the Go peer's fib(30) once took 59 % of its
/// sequential run instead of 38 %), and a share too large raises the bound and flags
/// rows that did nothing wrong.
fn calls_share(max_fib: u64) -> f64 {
    let calls = |n: u64| 2.0 * fib_exact(n as u32 + 1) as f64 - 1.0;
    let total: f64 = (1..=max_fib).map(calls).sum();
    calls(max_fib) / total
}

/// One language's sequential row for one job order: what its pool rows of that order
/// are measured against, for their speedup and their bound alike.
struct Baseline {
    language: String,
    order: String,
    samples: Vec<f64>,
    median: f64,
    median_ci: Option<[f64; 2]>,
    longest_share: f64,
}

impl Baseline {
    /// The baseline an ok sequential row of fib(1..=`max_fib`) gives.
    fn of(row: &Row, max_fib: u64) -> Option<Baseline> {
        if row.status != Status::Ok || row.technique != JobTechnique::Sequential.id() {
            return None;
        }
        Some(Baseline {
            language: row.language.clone(),
            order: row.param_str("order")?.to_string(),
            samples: row.samples_s.clone(),
            median: row.median_s?,
            median_ci: row.median_ci_s,
            longest_share: calls_share(max_fib),
        })
    }

    fn covers(&self, row: &Row) -> bool {
        row.language == self.language && row.param_str("order") == Some(self.order.as_str())
    }

    /// Sets `row`'s speedup against this baseline and, for a pool row, its bound, how
    /// far it stayed from it, and its efficiency; a row faster than its bound says so.
    fn apply(&self, row: &mut Row, cores: usize) {
        let (Status::Ok, Some(median)) = (row.status, row.median_s) else {
            return;
        };
        row.set_speedup(&self.samples);
        if row.technique == JobTechnique::Sequential.id() {
            return;
        }
        let w = row.param_u64("workers").unwrap_or(1);
        let f = bound_factor(w, cores, self.longest_share);
        let bound = f * self.median;
        let data = PoolData {
            bound_s: Some(bound),
            bound_ci_s: self.median_ci.map(|[lo, hi]| [f * lo, f * hi]),
            over_bound: Some(median / bound),
            // over = median / (f × baseline) = 1 / (f × speedup): the ends swap.
            over_bound_ci: row
                .speedup_ci
                .map(|[lo, hi]| [1.0 / (f * hi), 1.0 / (f * lo)]),
            efficiency: row.speedup.map(|s| s / w.min(cores as u64).max(1) as f64),
            ..PoolData::default()
        };
        data.store(row);
        if data.faster_than_bound() {
            row.note(FASTER_THAN_BOUND);
        }
    }
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let mut techniques = args.common.chosen::<JobTechnique>(&INFO)?;
    args.mpi.filter(&args.common.technique, &mut techniques);
    if !techniques.contains(&JobTechnique::Sequential) {
        techniques.insert(0, JobTechnique::Sequential);
    }
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let cores = ctx.cores();
    let orders = args.order.orders();
    let workers = &args.workers.0;
    let ascending: Vec<Job> = (1..=args.max_fib as u32).map(|n| Job::Fib { n }).collect();
    let largest_first: Vec<Job> = ascending.iter().rev().copied().collect();
    let jobs_of = |order: &str| -> &[Job] {
        if order == "ascending" {
            &ascending
        } else {
            &largest_first
        }
    };
    let mut result = INFO.result(params! {
        "max_fib" => args.max_fib,
        "workers" => workers,
        "orders" => orders,
        "schedule" => args.common.schedule,
    });

    let peer_common = with_peer_baselines(&args.common);
    // A peer has a sequential row per order and a pool row per order and worker count;
    // the progress display counts one figure per peer technique, so each gets the mean.
    let per_peer_technique = (orders.len() * (workers.len() + 1)).div_ceil(2);
    ctx.expect_rows(
        orders.len() * (1 + (techniques.len() - 1) * workers.len()),
        &peer_common,
        INFO.id,
        |_| per_peer_technique,
    );
    ctx.line(format!("Version {RUSTC_VERSION}"));
    ctx.line(format!("NumCPU {cores}"));

    // Sequential rows come first (one per order): under either schedule they end before
    // any pool row is handed over, so each pool row gets its speedup and bound before it
    // is pushed. Interleaved, every row's runs take turns with the sequential ones, so
    // the bound and the row it bounds see the same machine.
    let launch = args.mpi.launch.launch();
    let unavailable = launch.unavailable();
    let ranks = args.mpi.rank_counts(cores);
    let mut specs = Vec::new();
    let mut skipped = Vec::new();
    for &t in &techniques {
        let sizes: &[usize] = match t {
            JobTechnique::Sequential => &[1],
            JobTechnique::Mpi | JobTechnique::MpiStatic => &ranks,
            _ => workers,
        };
        for &order in orders {
            for &w in sizes {
                let params = params! {"workers" => w, "order" => order};
                let mut cfg = ctx.runner(t, w);
                cfg.launch = launch.clone();
                if let (Some(why), JobTechnique::Mpi | JobTechnique::MpiStatic) = (&unavailable, t)
                {
                    skipped.push(Row::new("rust", t.id(), params).skipped(why.clone()));
                    continue;
                }
                specs.push(RowSpec {
                    cfg,
                    jobs: jobs_of(order).to_vec(),
                    params,
                });
            }
        }
    }
    let mut baselines: Vec<Baseline> = Vec::new();
    let mut heading = String::new();
    run_rows(
        &plan,
        args.common.schedule,
        specs,
        |_, (mut row, events, batch)| {
            let order = row.param_str("order").unwrap_or("ascending").to_string();
            let w = row.param_u64("workers").unwrap_or(1);
            let title = format!("-----> {} ({order})", row.technique);
            if title != heading {
                ctx.line(&title);
                heading = title;
            }
            match row.median_s {
                Some(m) if row.status == Status::Ok => {
                    ctx.line(format!("Total time taken<{w}>: {:.0} msec", m * 1e3))
                }
                _ => ctx.line(format!(
                    "Total time taken<{w}>: {}: {}",
                    outcome(&row),
                    row.message.as_deref().unwrap_or("?")
                )),
            }
            if row.technique == JobTechnique::Sequential.id() {
                if let Some(b) = &batch {
                    PoolData {
                        job_times_s: Some(job_times(b, jobs_of(&order))),
                        ..PoolData::default()
                    }
                    .store(&mut row);
                }
                baselines.extend(Baseline::of(&row, args.max_fib));
            }
            let split = match row.technique.as_str() {
                "mpi" => Some(mpi::Split::Dynamic),
                "mpi-static" => Some(mpi::Split::Static),
                _ => None,
            };
            if let Some(split) = split {
                MpiData::settle(&mut row);
                row.note(mpi::note(split, w as usize, &launch));
            }
            match baselines.iter().find(|b| b.covers(&row)) {
                Some(b) => b.apply(&mut row, cores),
                None if row.status == Status::Ok => {
                    row.note("no sequential row of this order: no speedup or bound")
                }
                None => {}
            }
            ctx.push(&mut result, row, events);
        },
    );
    ctx.push_skipped(&mut result, skipped);

    // The peers estimate their own rows: CPython's fib(1..40) would take minutes a run,
    // and its rows say so instead of running (--skip-over).
    let call = PeerCall::default()
        .flag("--max-fib", args.max_fib)
        .list("--workers", workers)
        .list("--order", orders)
        .flag("--schedule", schedule_id(args.common.schedule));
    let first_peer = result.rows.len();
    let want: u64 = (1..=args.max_fib as u32).map(fib_exact).sum();
    // Speedups are set below, per language and order, not by the runner's one
    // baseline per language.
    ctx.run_peers(
        &mut result,
        &peer_common,
        &plan,
        call,
        |r| match PoolData::parse(r)?.fib_sum {
            Some(sum) if sum == want => Ok(()),
            other => Err(format!(
                "fib(1..{}) summed to {other:?}, not {want}",
                args.max_fib
            )),
        },
        |_| false,
    );
    let peer_baselines: Vec<Baseline> = result.rows[first_peer..]
        .iter()
        .filter_map(|r| Baseline::of(r, args.max_fib))
        .collect();
    for row in &mut result.rows[first_peer..] {
        if let Some(b) = peer_baselines.iter().find(|b| b.covers(row)) {
            b.apply(row, cores);
        }
    }

    let flagged = result
        .rows
        .iter()
        .filter(|r| r.data::<PoolData>().faster_than_bound())
        .count();
    result.findings = params! {
        "logical_cpus" => cores,
        "baseline" => "the same language's sequential row of the same jobs and order",
        "faster_than_bound" => flagged,
    };
    // The job times of Rust's first sequential row (ascending when it ran).
    let times = result
        .rows
        .iter()
        .find(|r| r.language == "rust" && r.technique == JobTechnique::Sequential.id())
        .and_then(|r| r.data::<PoolData>().job_times_s);
    if let Some(times) = times {
        let (total, longest) = total_and_longest(&times);
        result.findings.extend(params! {
            "job_times_s" => &times,
            "total_work_s" => total,
            "longest_job_s" => longest,
            "longest_job_share" => longest / total,
            "longest_job_share_by_calls" => calls_share(args.max_fib),
        });
        ctx.print("");
        ctx.print(format!(
            "pool: fib(1..{}) took {} in the sequential run; its longest job {} ({:.0}% of it); {cores} logical CPUs",
            args.max_fib,
            units::secs(total),
            units::secs(longest),
            100.0 * longest / total
        ));
    }
    print_tables(ctx, &result.rows);
    if flagged > 0 {
        ctx.print(format!(
            "{flagged} row(s) {FASTER_THAN_BOUND} (see the notes)"
        ));
    }
    Ok(result)
}

/// The common flags the peers get: a peer's pool rows are measured against its own
/// sequential rows, so when `--technique` names a peer's pool technique, its
/// sequential technique is asked for too, as Rust's sequential rows always run. A peer
/// whose pool technique was not named may then run its sequential rows alone.
fn with_peer_baselines(common: &CommonArgs) -> CommonArgs {
    let sequential = JobTechnique::Sequential.id();
    let peer_pool = |t: &String| {
        let t = t.trim();
        t != sequential && (INFO.python.contains(&t) || INFO.go.contains(&t))
    };
    let mut c = common.clone();
    if c.technique.iter().any(peer_pool) && !c.technique.iter().any(|t| t.trim() == sequential) {
        c.technique.push(sequential.to_string());
    }
    c
}

/// `--schedule`'s value as the peers take it.
fn schedule_id(schedule: Schedule) -> &'static str {
    match schedule {
        Schedule::Interleaved => "interleaved",
        Schedule::Grouped => "grouped",
    }
}

/// Each job's time in a run, fib(1) first, whichever order `jobs` ran in.
fn job_times(batch: &crate::techniques::Batch, jobs: &[Job]) -> Vec<f64> {
    let mut times = vec![0.0; jobs.len()];
    for s in &batch.spans {
        if let Some(Job::Fib { n }) = jobs.get(s.job)
            && let Some(t) = times.get_mut((*n as usize).wrapping_sub(1))
        {
            *t = (s.end - s.start).as_secs_f64();
        }
    }
    times
}

/// One table per technique and language: a pool's curve reads down its own table.
fn print_tables(ctx: &mut Ctx, rows: &[Row]) {
    let params = [
        Column::new("workers", |r: &Row| {
            r.param_u64("workers")
                .map_or_else(String::new, |w| w.to_string())
        }),
        Column::new("order", |r: &Row| {
            r.param_str("order").unwrap_or("").to_string()
        }),
    ];
    let extra = [
        Column::new("efficiency", |r: &Row| {
            units::percent(r.data::<PoolData>().efficiency)
        }),
        Column::new("bound", |r: &Row| {
            let d = r.data::<PoolData>();
            d.bound_s
                .map_or_else(|| "–".into(), |b| units::secs_ci(b, d.bound_ci_s))
        }),
        Column::new("× bound", |r: &Row| {
            let d = r.data::<PoolData>();
            let text = units::ratio_ci(d.over_bound, d.over_bound_ci);
            if d.faster_than_bound() {
                format!("{text} !")
            } else {
                text
            }
        }),
    ];
    ctx.print(SPEEDUP_BASIS);
    ctx.print(
        "bound = max(total work / min(workers, CPUs), longest job): that sequential run shared by min(workers, CPUs), never under the largest job's share of the calls; efficiency = speedup / min(workers, CPUs); ! = faster than the bound",
    );
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !groups.contains(&(&r.language, &r.technique)) {
            groups.push((&r.language, &r.technique));
        }
    }
    let with_mpi: Vec<Column> = extra.into_iter().chain(MpiData::columns()).collect();
    for (language, technique) in groups {
        let mine = rows
            .iter()
            .filter(|r| r.language == language && r.technique == technique);
        let columns = if technique.starts_with("mpi") {
            &with_mpi[..]
        } else {
            &with_mpi[..3]
        };
        ctx.print(terminal::table(mine, &params, columns).to_string());
    }
}

/// What a pool speedup is measured against, said above the tables as the chart's axis
/// says it: each language against itself, never Rust against another's baseline.
pub const SPEEDUP_BASIS: &str =
    "speedup: over the same language's sequential run of the same jobs in the same order";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_the_larger_of_shared_work_and_the_longest_job() {
        let times = [1.0, 2.0, 3.0];
        assert_eq!(lower_bound(&times, 1, 2), 6.0);
        assert_eq!(lower_bound(&times, 2, 2), 3.0);
        // More workers than CPUs share the same CPUs.
        assert_eq!(lower_bound(&times, 8, 2), 3.0);
        // With many CPUs the longest job is the floor.
        assert_eq!(lower_bound(&times, 8, 8), 3.0);
        assert_eq!(lower_bound(&[1.0; 8], 4, 4), 2.0);
    }

    #[test]
    fn the_bound_is_a_share_of_the_sequential_run() {
        let times = [1.0, 2.0, 3.0];
        let (total, longest) = total_and_longest(&times);
        for (w, cores) in [(1, 2), (2, 2), (8, 2), (8, 8), (3, 4)] {
            let f = bound_factor(w, cores, longest / total);
            assert!((f * total - lower_bound(&times, w as usize, cores)).abs() < 1e-12);
        }
        // fib(n) makes fib(n-1)'s calls and fib(n-2)'s: the largest job is about 38 %.
        let share = calls_share(40);
        assert!(share > 0.37 && share < 0.39, "{share}");
    }

    fn sequential(language: &str, order: &str, samples: Vec<f64>) -> Row {
        let mut row = Row::new(
            language,
            "sequential",
            params! {"workers" => 1, "order" => order},
        )
        .with_samples(samples);
        PoolData {
            job_times_s: Some(vec![1.0, 2.0, 3.0]),
            ..PoolData::default()
        }
        .store(&mut row);
        row
    }

    #[test]
    fn rows_are_measured_against_their_own_language_and_order() {
        let python = Baseline::of(&sequential("python", "ascending", vec![2.0; 3]), 30).unwrap();
        let go = Baseline::of(&sequential("go", "ascending", vec![0.1; 3]), 30).unwrap();
        let mut row = Row::new(
            "python",
            "processes",
            params! {"workers" => 2, "order" => "ascending"},
        )
        .with_samples(vec![1.25; 3]);
        assert!(python.covers(&row) && !go.covers(&row));
        python.apply(&mut row, 2);
        assert_eq!(row.speedup, Some(1.6));
        let d = row.data::<PoolData>();
        assert_eq!((d.bound_s, d.over_bound), (Some(1.0), Some(1.25)));
        assert_eq!(d.efficiency, Some(0.8));
        assert!(!d.faster_than_bound());
        assert!(!row.notes().contains(&FASTER_THAN_BOUND));
        let largest_first = Row::new("python", "processes", params! {"order" => "largest-first"});
        assert!(!python.covers(&largest_first));
    }

    #[test]
    fn a_row_faster_than_its_bound_says_so() {
        let base = Baseline::of(&sequential("rust", "ascending", vec![2.0; 3]), 30).unwrap();
        let mut row = Row::new(
            "rust",
            "threads",
            params! {"workers" => 1, "order" => "ascending"},
        )
        .with_samples(vec![1.9; 3]);
        base.apply(&mut row, 2);
        assert_eq!(row.data::<PoolData>().over_bound, Some(0.95));
        assert!(row.data::<PoolData>().faster_than_bound());
        assert!(
            row.notes().contains(&FASTER_THAN_BOUND),
            "{:?}",
            row.notes()
        );

        // With an interval, only a ratio whose whole interval is under 1 is flagged.
        let within = PoolData {
            over_bound: Some(0.95),
            over_bound_ci: Some([0.9, 1.02]),
            ..PoolData::default()
        };
        assert!(!within.faster_than_bound());
        let beyond = PoolData {
            over_bound_ci: Some([0.9, 0.98]),
            ..within
        };
        assert!(beyond.faster_than_bound());
    }

    #[test]
    fn naming_a_peer_pool_technique_asks_for_its_sequential_rows() {
        #[derive(clap::Parser)]
        struct Line {
            #[command(flatten)]
            pool: Args,
        }
        let common = |techniques: &[&str]| {
            let mut line = vec!["pool".to_string()];
            if !techniques.is_empty() {
                line.extend(["--technique".into(), techniques.join(",")]);
            }
            let parsed = <Line as clap::Parser>::try_parse_from(line).unwrap();
            with_peer_baselines(&parsed.pool.common).technique
        };
        assert!(common(&[]).is_empty());
        assert_eq!(common(&["rayon"]), ["rayon"]);
        // Python's ThreadPool rows are measured against Python's sequential rows.
        assert_eq!(common(&["threads"]), ["threads", "sequential"]);
        assert_eq!(common(&["goroutines"]), ["goroutines", "sequential"]);
        assert_eq!(
            common(&["processes", "sequential"]),
            ["processes", "sequential"]
        );
    }
}
