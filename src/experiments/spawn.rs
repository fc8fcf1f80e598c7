//! `spawn`: the paper's §3.2, how many units can be alive at once and what each costs.
//!
//! Claim tested: a goroutine starts at about 2 KB and can number in the millions, while
//! an OS thread takes one to two megabytes. The Rust rows measure the two sides: tokio
//! tasks (the closest thing to goroutines) and std threads, with the default stack and
//! with a small one. Every unit stays alive until all are, then all are released and
//! joined; minor page faults show where the memory of a new unit is paid for.
//!
//! Bytes per unit are measured the same way in Rust, Python and Go, so the languages'
//! figures can stand side by side (peers/PROTOCOL.md, `spawn`): every run is a fresh
//! child process that resets its peak resident memory (VmHWM, by writing 5 to
//! `/proc/self/clear_refs`), reads its resident memory (VmRSS) as the baseline, spawns
//! the N units, waits until all are alive, releases and joins them, and then reads the
//! peak. (peak − baseline) / N is the figure, and the row's `method` says so:
//! `peak-minus-baseline`, or `lifetime-peak-minus-baseline` where the kernel refused the
//! reset and the peak may include the process's start-up. A snapshot of resident memory
//! while the units are alive would miss what was touched and given back before the read
//! (a runtime's freed garbage, a stack the kernel already reclaimed), and the peak
//! after a fresh start cannot include an earlier row's units.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale, child_report};
use crate::error::ParlabError;
use crate::limits::{self, Machine};
use crate::measure::env::logical_cpus;
use crate::measure::memory;
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Row, RowData};
use crate::techniques::{JobTechnique, Technique};
use crate::units;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

pub const INFO: Info = Info {
    id: "spawn",
    paper_ref: "§3.2",
    gist: "A goroutine begins with a stack of a few kilobytes, so millions fit, where an OS thread reserves megabytes.",
    techniques: &[Technique::Tokio, Technique::Threads],
    runs: 1,
    warmup: 0,
    charts,
    python: &["threads", "asyncio"],
    go: &["goroutines"],
    reproduce_args,
    claims: crate::claims::spawn::CLAIMS,
};

/// §3.2: N units alive at once, then released and joined: time and memory per unit.
///
/// tokio: --tasks async tasks on a multi-thread runtime, each waiting on one shared
/// Notify. threads: --threads std threads with the default stack (2 MiB reserved) and
/// again with --stack, each waiting on one shared condition variable. Each run is a fresh
/// child process; memory per unit is (peak RSS − RSS before spawning) / N, the peak
/// reset just before, as in the Python and Go peers.
/// Thread counts above what this machine allows (kernel thread and memory-map limits,
/// the process limit, free memory, the address-space limit for the stacks) and tasks
/// that would not fit in half the free memory are refused before anything starts.
/// Techniques: tokio, threads. Defaults: 1 run, no warm-up.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Tasks for the tokio row (1000000 is the paper's "millions")
    #[arg(long, value_name = "N", default_value = "100000", value_parser = parse::int_in(1, 10_000_000))]
    pub tasks: u64,

    /// Threads for the threads rows; more than this machine can take is refused
    #[arg(long, value_name = "N", default_value = "10000", value_parser = thread_count)]
    pub threads: u64,

    /// Stack size of the small-stack threads row (64KiB, 256K, 1MiB)
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = parse::size)]
    pub stack: u64,

    /// Internal: be the child that measures one row (tokio, threads or threads-stack)
    #[arg(long, hide = true, value_name = "ROW")]
    pub child: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// A spawn row's own values (`Row::extra`): what one more live unit costs in time,
/// memory and page faults, the figures §3.2 is about.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SpawnData {
    /// Time to start every unit, and that per unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spawn_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spawn_ns_per_unit: Option<f64>,
    /// From the first spawn until every unit was running and waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alive_s: Option<f64>,
    /// From the release until every unit had finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_s: Option<f64>,
    /// Resident memory before the units, what they added, and that per unit. The
    /// growth is signed: results written before every language measured peak minus
    /// baseline hold Go rows whose two snapshots of resident memory came out negative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_rss_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_unit: Option<f64>,
    /// Minor page faults per unit: where a new unit's memory is paid for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults_per_unit: Option<f64>,
    /// How the growth was measured ([`PEAK_MINUS_BASELINE`] or
    /// [`LIFETIME_PEAK_MINUS_BASELINE`]), so a reader can tell that two languages'
    /// bytes per unit were measured alike before comparing them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// The spawn memory method every language uses: a fresh process per run, its peak reset
/// just before the baseline is read, (peak − baseline) / N.
pub const PEAK_MINUS_BASELINE: &str = "peak-minus-baseline";
/// The same where the kernel refused to reset the peak: the peak then counts from the
/// process's start, which in a fresh process is seldom above the baseline anyway.
pub const LIFETIME_PEAK_MINUS_BASELINE: &str = "lifetime-peak-minus-baseline";

/// The method a run used, from whether its peak was reset.
pub fn method(peak_reset: bool) -> &'static str {
    if peak_reset {
        PEAK_MINUS_BASELINE
    } else {
        LIFETIME_PEAK_MINUS_BASELINE
    }
}

impl RowData for SpawnData {}

/// Memory per live unit, the number the section is about.
fn charts(_: &ExperimentResult) -> Vec<ChartKind> {
    vec![ChartKind::PerUnit {
        value: |r| SpawnData::of(r).bytes_per_unit,
    }]
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    match scale {
        Scale::Quick => vec![
            "--tasks".into(),
            "100000".into(),
            "--threads".into(),
            "2000".into(),
        ],
        Scale::Paper => vec!["--tasks".into(), "1000000".into()],
    }
}

/// What a child measured, printed as its last stdout line.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    units: u64,
    /// None where /proc cannot be read: no memory figure rather than a made-up one.
    baseline_rss_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
    /// Whether the peak was reset just before the baseline was read.
    peak_reset: bool,
    /// Time to start every unit.
    spawn_s: f64,
    /// From the first spawn until every unit was running and waiting.
    alive_s: f64,
    /// From the release until every unit had finished.
    join_s: f64,
    minor_faults: u64,
}

/// Memory and page faults from just before the units were spawned.
struct Probe {
    baseline_rss: Option<u64>,
    peak_reset: bool,
    faults: u64,
}

impl Probe {
    /// Resets the peak and then reads the baseline, in that order: the peak starts at
    /// the baseline, so peak − baseline is what the units added at their most.
    fn start() -> Probe {
        let peak_reset = memory::reset_peak();
        Probe {
            baseline_rss: memory::rss_bytes(),
            peak_reset,
            faults: memory::minor_faults().unwrap_or(0),
        }
    }

    /// Read after every unit was joined: the peak is a high-water mark, so it holds
    /// the moment all units were alive.
    fn report(&self, units: u64, spawn_s: f64, alive_s: f64, join_s: f64) -> Report {
        Report {
            units,
            baseline_rss_bytes: self.baseline_rss,
            peak_rss_bytes: memory::peak_rss_bytes(),
            peak_reset: self.peak_reset,
            spawn_s,
            alive_s,
            join_s,
            minor_faults: memory::minor_faults()
                .unwrap_or(0)
                .saturating_sub(self.faults),
        }
    }
}

/// A thread count, refused above what this machine takes with the default stack while
/// the command line is read, so the refusal comes before any output; `run` checks the
/// --stack row and the tasks too.
fn thread_count(text: &str) -> Result<u64, String> {
    let n = parse::int_in(1, 10_000_000)(text)?;
    limits::check_threads(&Machine::read(), n, limits::DEFAULT_STACK, LOWER_THREADS)?;
    Ok(n)
}

const LOWER_THREADS: &str = "lower --threads";

/// Refuses, before any child starts, the rows this machine cannot take.
fn check_limits(args: &Args, techniques: &[JobTechnique]) -> Result<(), ParlabError> {
    let m = Machine::read();
    for t in techniques {
        match t {
            JobTechnique::Tokio => limits::check_tasks(&m, args.tasks),
            _ => limits::check_threads(&m, args.threads, limits::DEFAULT_STACK, LOWER_THREADS)
                .and_then(|()| {
                    limits::check_threads(
                        &m,
                        args.threads,
                        args.stack,
                        "lower --threads or --stack",
                    )
                }),
        }
        .map_err(ParlabError::Usage)?;
    }
    Ok(())
}

fn measure_tokio(n: u64) -> Result<Report, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let alive = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let probe = Probe::start();
    let n_us = n as usize;
    let (spawn_s, alive_s, join_s) = rt.block_on(async {
        let t = Instant::now();
        for _ in 0..n {
            let (alive, done, release) = (alive.clone(), done.clone(), release.clone());
            // No JoinHandle kept: a counter is the wait group, so a unit costs only itself.
            tokio::spawn(async move {
                let released = release.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                alive.fetch_add(1, Ordering::Release);
                released.await;
                done.fetch_add(1, Ordering::Release);
            });
        }
        let spawn_s = t.elapsed().as_secs_f64();
        while alive.load(Ordering::Acquire) < n_us {
            tokio::task::yield_now().await;
        }
        let alive_s = t.elapsed().as_secs_f64();
        let t2 = Instant::now();
        release.notify_waiters();
        while done.load(Ordering::Acquire) < n_us {
            tokio::task::yield_now().await;
        }
        (spawn_s, alive_s, t2.elapsed().as_secs_f64())
    });
    Ok(probe.report(n, spawn_s, alive_s, join_s))
}

fn measure_threads(n: u64, stack: Option<u64>) -> Result<Report, String> {
    let alive = AtomicUsize::new(0);
    let released = (Mutex::new(false), Condvar::new());
    let probe = Probe::start();
    let release = || {
        *released.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        released.1.notify_all();
    };
    std::thread::scope(|s| {
        let t = Instant::now();
        let mut handles = Vec::with_capacity(n as usize);
        for i in 0..n {
            let mut builder = std::thread::Builder::new();
            if let Some(bytes) = stack {
                builder = builder.stack_size(bytes as usize);
            }
            let (alive, released) = (&alive, &released);
            let spawned = builder.spawn_scoped(s, move || {
                alive.fetch_add(1, Ordering::Release);
                let mut go = released.0.lock().unwrap_or_else(|p| p.into_inner());
                while !*go {
                    go = released.1.wait(go).unwrap_or_else(|p| p.into_inner());
                }
            });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // Let the started ones go before reporting, or they would wait forever.
                    release();
                    return Err(format!("thread {} of {n} could not start: {e}", i + 1));
                }
            }
        }
        let spawn_s = t.elapsed().as_secs_f64();
        while alive.load(Ordering::Acquire) < n as usize {
            std::thread::yield_now();
        }
        let alive_s = t.elapsed().as_secs_f64();
        let t2 = Instant::now();
        release();
        for h in handles {
            h.join().map_err(|_| "a thread panicked".to_string())?;
        }
        Ok(probe.report(n, spawn_s, alive_s, t2.elapsed().as_secs_f64()))
    })
}

fn run_child(args: &Args, which: &str, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let report = match which {
        "tokio" => measure_tokio(args.tasks),
        "threads" => measure_threads(args.threads, None),
        "threads-stack" => measure_threads(args.threads, Some(args.stack)),
        other => Err(format!("unknown row '{other}'")),
    };
    match report {
        Ok(r) => ctx.print(serde_json::to_string(&r).expect("reports serialise")),
        Err(e) => return Err(ParlabError::usage(e)),
    }
    Ok(INFO.result(Default::default()))
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let techniques = args.common.chosen::<JobTechnique>(&INFO)?;
    check_limits(args, &techniques)?;
    if let Some(which) = &args.child {
        return run_child(args, which, ctx);
    }
    let mut result = INFO.result(
        params! {"tasks" => args.tasks, "threads" => args.threads, "stack_bytes" => args.stack, "logical_cpus" => logical_cpus()},
    );
    let mut rows: Vec<(JobTechnique, &str, u64, String)> = Vec::new();
    for t in techniques {
        match t {
            JobTechnique::Tokio => rows.push((t, "tokio", args.tasks, "task".into())),
            _ => {
                rows.push((t, "threads", args.threads, "default (2 MiB)".into()));
                rows.push((t, "threads-stack", args.threads, units::bytes(args.stack)));
            }
        }
    }
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    for (t, which, n, stack) in rows {
        let unit = if t == JobTechnique::Tokio {
            "tasks"
        } else {
            "threads"
        };
        ctx.line(format!(
            "-----> {} {unit} alive at once ({}, stack {stack})",
            n,
            t.id()
        ));
        let argv: Vec<String> = [
            "spawn",
            "--child",
            which,
            "--tasks",
            &args.tasks.to_string(),
            "--threads",
            &args.threads.to_string(),
            "--stack",
            &args.stack.to_string(),
        ]
        .map(String::from)
        .to_vec();
        let mut row = Row::new("rust", t.id(), params! {"units" => n, "stack" => stack});
        // Each counted run is a fresh child; the figures are the last run's, the times all runs'.
        let mut samples = Vec::new();
        let mut last: Result<Report, String> = Err("no run".into());
        for i in 0..plan.warmup + plan.runs {
            last = child_report(ctx, &argv, args.common.timeout);
            match &last {
                Ok(r) if i >= plan.warmup => samples.push(r.alive_s + r.join_s),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        match last {
            Ok(r) => {
                let growth = r
                    .peak_rss_bytes
                    .zip(r.baseline_rss_bytes)
                    .map(|(peak, base)| peak.saturating_sub(base));
                let per_unit = growth.map(|g| g as f64 / r.units as f64);
                let faults = r.minor_faults as f64 / r.units as f64;
                ctx.line(format!(
                    "spawned in {} ({:.0} ns each), all alive after {}, released and joined in {}",
                    units::secs(r.spawn_s),
                    r.spawn_s * 1e9 / r.units as f64,
                    units::secs(r.alive_s),
                    units::secs(r.join_s)
                ));
                ctx.line(match (per_unit, growth) {
                    (Some(per_unit), Some(growth)) => format!(
                        "{per_unit:.0} bytes per unit ({} in all, {}); {faults:.1} page faults per unit",
                        units::bytes(growth),
                        method(r.peak_reset)
                    ),
                    _ => format!(
                        "bytes per unit unknown (no /proc memory figures); {faults:.1} page faults per unit"
                    ),
                });
                let each = |s: f64| units::secs(s / r.units as f64);
                ctx.line(format!(
                    "per unit: {} to spawn (allocation, queueing), {} more until it ran to its wait, {} to wake and finish",
                    each(r.spawn_s),
                    each(r.alive_s - r.spawn_s),
                    each(r.join_s)
                ));
                row = row.with_samples(samples);
                row.validated = true;
                row.peak_rss_bytes = r.peak_rss_bytes;
                SpawnData {
                    spawn_s: Some(r.spawn_s),
                    spawn_ns_per_unit: Some(r.spawn_s * 1e9 / r.units as f64),
                    alive_s: Some(r.alive_s),
                    join_s: Some(r.join_s),
                    baseline_rss_bytes: r.baseline_rss_bytes,
                    growth_bytes: growth.map(|g| g as i64),
                    bytes_per_unit: per_unit,
                    faults_per_unit: Some(faults),
                    method: per_unit.map(|_| method(r.peak_reset).to_string()),
                }
                .store(&mut row);
            }
            Err(e) => row = row.failed(e),
        }
        ctx.push(&mut result, row, Vec::new());
    }
    let call = PeerCall::default()
        .flag("--tasks", args.tasks)
        .flag("--threads", args.threads);
    ctx.run_peers(&mut result, &args.common, &plan, call, check_peer, |_| {
        false
    });
    let params = [
        Column::new("units", |r: &Row| {
            r.param_u64("units")
                .map_or_else(String::new, |n| units::grouped(n as i64))
        }),
        Column::new("stack", |r: &Row| {
            r.param_str("stack").unwrap_or("").to_string()
        }),
    ];
    let extra = [
        Column::new("spawn / unit", |r: &Row| {
            SpawnData::of(r)
                .spawn_ns_per_unit
                .map_or_else(|| "–".into(), |ns| units::secs(ns / 1e9))
        }),
        Column::new("join", |r: &Row| {
            SpawnData::of(r)
                .join_s
                .map_or_else(|| "–".into(), units::secs)
        }),
        Column::new("bytes / unit", |r: &Row| {
            SpawnData::of(r)
                .bytes_per_unit
                .map_or_else(|| "–".into(), |b| units::grouped(b.round() as i64))
        }),
        Column::new("faults / unit", |r: &Row| {
            SpawnData::of(r)
                .faults_per_unit
                .map_or_else(|| "–".into(), |f| format!("{f:.1}"))
        }),
    ];
    ctx.print("");
    ctx.print("spawn: median = from the first spawn until all units had run and were joined; bytes / unit = (peak RSS − RSS before spawning) / units, a fresh child process per run");
    ctx.print(terminal::table(&result.rows, &params, &extra).to_string());
    Ok(result)
}

/// A peer's row: validated, with bytes per unit measured the way Rust's are, since only
/// then do the languages' figures stand side by side.
fn check_peer(r: &Row) -> Result<(), String> {
    let data = SpawnData::parse(r)?;
    match (r.validated, data.bytes_per_unit, data.method.as_deref()) {
        (true, Some(_), Some(PEAK_MINUS_BASELINE | LIFETIME_PEAK_MINUS_BASELINE)) => Ok(()),
        (true, Some(_), other) => Err(format!(
            "bytes per unit measured by {}, not peak minus baseline",
            other.unwrap_or("an unnamed method")
        )),
        _ => Err("no validated bytes per unit".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::assert_fixture_round_trips;

    #[test]
    fn rows_keep_their_json() {
        assert_fixture_round_trips::<SpawnData>("spawn");
    }

    #[test]
    fn a_go_growth_may_be_negative() {
        let mut row = Row::new(
            "go",
            "goroutines",
            params! {"units" => 10, "stack" => "default"},
        );
        row.extra = params! {"spawn_s" => 0.01, "alive_s" => 0.02, "join_s" => 0.01,
        "spawn_ns_per_unit" => 1000.0, "bytes_per_unit" => -409.6, "growth_bytes" => -4096,
        "baseline_rss_bytes" => 1_000_000};
        let data = SpawnData::parse(&row).unwrap();
        assert_eq!(data.growth_bytes, Some(-4096));
        assert_eq!(data.bytes_per_unit, Some(-409.6));
    }

    #[test]
    fn peer_rows_must_name_the_common_method() {
        let peer = |method: Option<&str>| {
            let mut row = Row::new("python", "threads", params! {"units" => 10});
            row.validated = true;
            SpawnData {
                bytes_per_unit: Some(9000.0),
                method: method.map(String::from),
                ..SpawnData::default()
            }
            .store(&mut row);
            check_peer(&row)
        };
        assert_eq!(peer(Some(PEAK_MINUS_BASELINE)), Ok(()));
        assert_eq!(peer(Some(LIFETIME_PEAK_MINUS_BASELINE)), Ok(()));
        // A snapshot of resident memory is another method: refused, not compared.
        assert!(
            peer(Some("rss-snapshot"))
                .unwrap_err()
                .contains("rss-snapshot")
        );
        assert!(peer(None).is_err());
        assert_eq!(method(true), PEAK_MINUS_BASELINE);
        assert_eq!(method(false), LIFETIME_PEAK_MINUS_BASELINE);
    }
}
