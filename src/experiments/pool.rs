//! `pool`: the paper's Figure 12 (§3.7), a worker pool computing naive fib(1..=40) with
//! 1 to 20 and 50 workers.
//!
//! Claim tested: more workers finish sooner on a multicore machine, up to a plateau.
//! The paper's curve zigzags; this experiment explains it. The jobs differ wildly in
//! size (fib(40) alone is about 38 % of all the work), so no schedule can beat
//! max(total work / min(workers, cores), longest job), and the order in which jobs are
//! handed out decides how close a pool comes to that bound: ascending order (the
//! paper's) leaves the largest job for last, largest-first does not.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale, outcome, run_row, set_speedups};
use crate::error::ParlabError;
use crate::measure::env::RUSTC_VERSION;
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Row, RowData, Status};
use crate::techniques::jobs::{Job, fib_exact};
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
    ],
    runs: 3,
    warmup: 1,
    charts,
    python: &["processes"],
    go: &["goroutines"],
    reproduce_args,
    claims: crate::claims::pool::CLAIMS,
};

/// Figure 12: a pool of W workers computes naive fib(1..=MAX) from a job channel.
///
/// threads: W std threads on crossbeam channels (the Go pattern); rayon: a W-thread pool;
/// processes: W parlab worker processes; tokio: W tasks on a runtime with one thread per
/// logical CPU (Go's goroutines on GOMAXPROCS threads). The sequential row always runs:
/// it is the speedup baseline and gives the job times behind the lower bound.
/// Techniques: sequential, threads, rayon, processes, tokio.
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
    /// curve's ceiling, which the job order decides how close a pool comes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_s: Option<f64>,
    /// Median over bound: how far from a perfect schedule the pool stayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_bound: Option<f64>,
    /// Speedup per worker the CPUs can run at once: how much of the parallelism on
    /// offer the pool used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<f64>,
    /// A peer's sum of every result, its proof that each job was computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fib_sum: Option<u64>,
}

impl RowData for PoolData {}

/// The speedup curve against workers, with the bound each row's work allows.
fn charts(_: &ExperimentResult) -> Vec<ChartKind> {
    vec![ChartKind::Speedup {
        bound_s: |r| r.data::<PoolData>().bound_s,
    }]
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    let args: &[&str] = match scale {
        Scale::Quick => &["--max-fib", "32", "--workers", "1..4,8", "--order", "both"],
        Scale::Paper => &["--order", "both"],
    };
    args.iter().map(|s| s.to_string()).collect()
}

/// The shortest time any schedule of these jobs on `workers` workers could take.
pub fn lower_bound(job_times: &[f64], workers: usize, cores: usize) -> f64 {
    let (total, longest) = total_and_longest(job_times);
    (total / workers.min(cores).max(1) as f64).max(longest)
}

fn total_and_longest(job_times: &[f64]) -> (f64, f64) {
    (
        job_times.iter().sum(),
        job_times.iter().copied().fold(0.0, f64::max),
    )
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let mut techniques = args.common.chosen::<JobTechnique>(&INFO)?;
    if !techniques.contains(&JobTechnique::Sequential) {
        techniques.insert(0, JobTechnique::Sequential);
    }
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let cores = ctx.cores();
    let ascending: Vec<Job> = (1..=args.max_fib as u32).map(|n| Job::Fib { n }).collect();
    let largest_first: Vec<Job> = ascending.iter().rev().copied().collect();
    let mut result = INFO.result(
        params! {"max_fib" => args.max_fib, "workers" => args.workers.0, "orders" => args.order.orders()},
    );

    let per_technique = args.order.orders().len() * args.workers.0.len();
    ctx.expect_rows(
        1 + (techniques.len() - 1) * per_technique,
        &args.common,
        INFO.id,
        |_| per_technique,
    );
    ctx.line(format!("Version {RUSTC_VERSION}"));
    ctx.line(format!("NumCPU {cores}"));
    ctx.line("-----> sequential baseline");
    let (mut base, events, batch) = run_row(
        &plan,
        ctx.runner(JobTechnique::Sequential, 1),
        &ascending,
        params! {"workers" => 1, "order" => "ascending"},
    );
    // The baseline's median and its job times; without them rows still run, but get no
    // speedup or bound.
    let baseline = base
        .median_s
        .zip(batch.map(|b| job_times(&b, ascending.len())));
    match &baseline {
        Some((m, _)) => {
            ctx.line(format!("Total time taken<1>: {:.0} msec", m * 1e3));
            base.speedup = Some(1.0);
        }
        None => ctx.line(format!(
            "sequential baseline {}: {}",
            outcome(&base),
            base.message.as_deref().unwrap_or("?")
        )),
    }
    let base_samples = base.samples_s.clone();
    ctx.push(&mut result, base, events);

    for &t in techniques
        .iter()
        .filter(|t| **t != JobTechnique::Sequential)
    {
        for &order in args.order.orders() {
            let jobs = if order == "ascending" {
                &ascending
            } else {
                &largest_first
            };
            ctx.line(format!("-----> {} ({order})", t.id()));
            for &w in &args.workers.0 {
                let params = params! {"workers" => w, "order" => order};
                let (mut row, events, _) = run_row(&plan, ctx.runner(t, w), jobs, params);
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
                if let Some((_, times)) = &baseline {
                    set_speedups([&mut row], &base_samples);
                    let bound = lower_bound(times, w, cores);
                    PoolData {
                        bound_s: Some(bound),
                        over_bound: row.median_s.map(|m| m / bound),
                        efficiency: row.speedup.map(|s| s / w.min(cores) as f64),
                        fib_sum: None,
                    }
                    .store(&mut row);
                }
                ctx.push(&mut result, row, events);
            }
        }
    }

    // The peers estimate their own rows: CPython's fib(1..40) would take minutes a run,
    // and its rows say so instead of running (--skip-over).
    let call = PeerCall::default()
        .flag("--max-fib", args.max_fib)
        .list("--workers", &args.workers.0)
        .list("--order", args.order.orders());
    let first_peer = result.rows.len();
    let want: u64 = (1..=args.max_fib as u32).map(fib_exact).sum();
    ctx.run_peers(
        &mut result,
        &args.common,
        &plan,
        call,
        |r| match PoolData::parse(r)?.fib_sum {
            Some(sum) if sum == want => Ok(()),
            other => Err(format!(
                "fib(1..{}) summed to {other:?}, not {want}",
                args.max_fib
            )),
        },
        |r| r.param_u64("workers") == Some(1) && r.param_str("order") == Some("ascending"),
    );
    for row in &mut result.rows[first_peer..] {
        if let (Some(s), Some(w)) = (row.speedup, row.param_u64("workers")) {
            PoolData {
                efficiency: Some(s / w.min(cores as u64) as f64),
                ..PoolData::default()
            }
            .store(row);
        }
    }

    result.findings = params! {"logical_cpus" => cores};
    if let Some((_, times)) = &baseline {
        let (total, longest) = total_and_longest(times);
        result.findings.extend(params! {
            "job_times_s" => times,
            "total_work_s" => total,
            "longest_job_s" => longest,
            "longest_job_share" => longest / total,
        });
        ctx.print("");
        ctx.print(format!(
            "pool: fib(1..{}) took {} in the baseline; its longest job {} ({:.0}% of it); {cores} logical CPUs",
            args.max_fib,
            units::secs(total),
            units::secs(longest),
            100.0 * longest / total
        ));
        ctx.print("bound = max(total work / min(workers, CPUs), longest job); efficiency = speedup / min(workers, CPUs)");
    }
    print_tables(ctx, &result.rows);
    Ok(result)
}

/// Each job's time in the baseline run, by job index.
fn job_times(batch: &crate::techniques::Batch, jobs: usize) -> Vec<f64> {
    let mut times = vec![0.0; jobs];
    for s in &batch.spans {
        times[s.job] = (s.end - s.start).as_secs_f64();
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
            r.data::<PoolData>()
                .bound_s
                .map_or_else(|| "–".into(), units::secs)
        }),
        Column::new("× bound", |r: &Row| {
            units::ratio(r.data::<PoolData>().over_bound)
        }),
    ];
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !groups.contains(&(&r.language, &r.technique)) {
            groups.push((&r.language, &r.technique));
        }
    }
    for (language, technique) in groups {
        let mine = rows
            .iter()
            .filter(|r| r.language == language && r.technique == technique);
        ctx.print(terminal::table(mine, &params, &extra).to_string());
    }
}

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
}
