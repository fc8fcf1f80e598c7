//! `io`: the paper's Figure 4 (§2.4–2.5), web sites checked one after another, with
//! threads and with processes, against parlab's own HTTP server or real URLs.
//!
//! Claim tested: threads win on I/O-bound work, and processes lose to the cost of
//! starting a pool. The Rust rows add the other ways to wait: a bounded thread pool and
//! rayon's core-sized pool (both limited by how many requests they can have open),
//! and tokio tasks, which keep every request open at once on a couple of threads.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale, WorkRow, run_work_rows, set_speedups};
use crate::error::ParlabError;
use crate::limits::{self, Machine};
use crate::measure::Plan;
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Row, RowData, Status};
use crate::server::{DEFAULT_MAX_CONNECTIONS, Server, SiteArgs};
use crate::techniques::http::{Fetch, Fetched, site_name, url_arg};
use crate::techniques::{Batch, JobTechnique, RunnerConfig, Technique};
use crate::units;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub const INFO: Info = Info {
    id: "io",
    paper_ref: "Figure 4, §2.4–2.5",
    gist: "Six web sites checked one by one, by threads and by processes: threads finished first, and the process pool paid for its start-up.",
    techniques: &[
        Technique::Sequential,
        Technique::Threads,
        Technique::Rayon,
        Technique::Processes,
        Technique::Tokio,
    ],
    runs: 6,
    warmup: 1,
    charts: |_| vec![ChartKind::Medians],
    python: &["sequential", "threads", "processes"],
    go: &["sequential", "goroutines"],
    reproduce_args,
    claims: crate::claims::io::CLAIMS,
};
/// Stack of the threads that make HTTP checks.
const IO_THREAD_STACK: usize = 256 << 10;
/// Above this many sites the per-site lines are summed up instead of printed.
const MAX_SITE_LINES: usize = 20;

/// Figure 4: check web sites with every technique, against the embedded server.
///
/// sequential checks one site after another; threads starts one thread per site, and
/// again as a bounded pool of --workers threads; rayon uses its pool of one thread per
/// CPU; processes uses --workers worker processes (Python's Pool() has one per CPU);
/// tokio runs one task per site on one thread per CPU. With --url, real URLs are
/// checked instead of the embedded server's sites.
/// Techniques: sequential, threads, rayon, processes, tokio. Defaults: 6 counted runs
/// after 1 warm-up run.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub sites: SiteArgs,

    /// Check this URL instead of the embedded server (repeat for more); one that is not
    /// an http(s) URL is refused before anything runs, failed requests are reported per
    /// URL and the run goes on
    #[arg(long = "url", value_name = "URL", value_parser = url_arg)]
    pub urls: Vec<String>,

    /// Size of the bounded thread pool and number of worker processes [default: one
    /// per logical CPU]
    #[arg(long, value_name = "N", value_parser = parse::int_in(1, 10_000))]
    pub workers: Option<u64>,

    /// Longest one request may take
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse::duration)]
    pub request_timeout: Duration,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    match scale {
        Scale::Quick => Vec::new(),
        Scale::Paper => vec!["--latency".into(), "300ms".into()],
    }
}

/// An io row's own values (`Row::extra`): the answers counted, so a row that got the
/// wrong ones shows it next to its time, and what the peers saw, to check it against
/// what the server was told to answer.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IoData {
    /// Sites that answered below 400, at 400 or above, and not at all (last run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fine: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
    /// From the first request's start to the last one's: for one thread per site, what
    /// creating the threads cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_spread_s: Option<f64>,
    /// A `check` row's answer from its real URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// A peer's statuses in URL order, 0 where the request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<u64>>,
    /// processes: the worker processes started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_processes: Option<u64>,
}

impl RowData for IoData {}

/// What a row checks against: the embedded server's sites, or the user's URLs.
struct Targets {
    fetches: Vec<Fetch>,
    /// The status each site was told to answer; empty for real URLs.
    expected: Vec<u16>,
    latencies: Vec<Duration>,
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let techniques = args.common.chosen::<JobTechnique>(&INFO)?;
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let cores = ctx.cores();
    let workers = args.workers.map_or(cores, |w| w as usize);
    let timeout_ms = args.request_timeout.as_millis() as u64;

    let sites = if args.urls.is_empty() {
        args.sites.sites()
    } else {
        Vec::new()
    };
    let n = if args.urls.is_empty() {
        sites.len()
    } else {
        args.urls.len()
    };

    // (technique, how many run at once, the row's label)
    let mut plans: Vec<(JobTechnique, usize, &str)> = Vec::new();
    for t in techniques {
        match t {
            JobTechnique::Sequential => plans.push((t, 1, "one after another")),
            JobTechnique::Threads => {
                plans.push((t, n, "one thread per site"));
                if workers < n {
                    plans.push((t, workers, "bounded pool"));
                }
            }
            JobTechnique::Rayon => plans.push((t, cores, "rayon's pool, one thread per CPU")),
            JobTechnique::Processes => plans.push((t, workers, "worker processes")),
            _ => plans.push((t, n, "one task per site")),
        }
    }
    check_limits(&plans, args.urls.is_empty())?;

    // The server lives until the experiment ends; dropping it stops it. Its connection
    // cap stays above the widest row, so the cap never shapes what is measured.
    let (_server, targets) = if args.urls.is_empty() {
        let server = Server::start_capped(
            "127.0.0.1:0".parse().expect("a loopback address"),
            sites.clone(),
            n.max(DEFAULT_MAX_CONNECTIONS),
        )
        .map_err(|e| ParlabError::io("starting the embedded server", e))?;
        let targets = Targets {
            fetches: sites
                .iter()
                .map(|s| Fetch {
                    url: server.url(&s.name),
                    timeout_ms,
                })
                .collect(),
            expected: sites.iter().map(|s| s.status).collect(),
            latencies: sites.iter().map(|s| s.latency).collect(),
        };
        ctx.line(format!(
            "embedded server on http://{} with {} sites",
            server.addr(),
            sites.len()
        ));
        (Some(server), targets)
    } else {
        let fetches = args
            .urls
            .iter()
            .map(|u| Fetch {
                url: u.clone(),
                timeout_ms,
            })
            .collect();
        (
            None,
            Targets {
                fetches,
                expected: Vec::new(),
                latencies: Vec::new(),
            },
        )
    };
    let mut result = INFO.result(
        params! {"sites" => n, "latency_s" => args.sites.latency.as_secs_f64(), "real_urls" => !args.urls.is_empty(),
        "workers" => workers, "request_timeout_s" => args.request_timeout.as_secs_f64(),
        "schedule" => args.common.schedule},
    );

    let rows: Vec<WorkRow<Fetch>> = plans
        .iter()
        .map(|&(t, width, how)| {
            let mut cfg = ctx.runner(t, width);
            // An HTTP check needs a small fraction of Rust's 2 MiB default stack, and
            // mapping the big one is most of what creating a thread costs (`parlab spawn`).
            cfg.thread_stack = Some(IO_THREAD_STACK);
            let expected = targets.expected.clone();
            // --skip-over: the sites' latencies in waves of `width` say how long a run takes.
            let per_run = estimate(&targets.latencies, width)
                .map(|e| (e, format!(": {n} sites, {width} at once")));
            WorkRow {
                cfg,
                items: targets.fetches.clone(),
                params: params! {"workers" => width, "sites" => n, "how" => how},
                check: Arc::new(move |fetches: &[Fetch], batch: &Batch<Fetched>| {
                    validate(&expected, fetches, batch)
                }),
                estimate: Box::new(move |_: &RunnerConfig, _: &[Fetch]| per_run.clone()),
            }
        })
        .collect();
    let mut first_outcomes: Option<Vec<Fetched>> = None;
    // The paper's lines of a row come when it has run: grouped, each as it ends;
    // interleaved, all in the rows' order once every row has had its turns.
    run_work_rows(
        &plan,
        args.common.schedule,
        rows,
        |i, (row, events, batch)| {
            let (t, width, how) = plans[i];
            ctx.line(format!("-----> {} ({how}, {width} at once)", t.id()));
            if row.status == Status::Skipped {
                ctx.line(format!(
                    "skipped: {}",
                    row.message.as_deref().unwrap_or("?")
                ));
                ctx.push(&mut result, row, events);
                return;
            }
            let row = match &batch {
                Some(batch) => {
                    print_checks(ctx, &targets, batch);
                    first_outcomes.get_or_insert_with(|| batch.outputs.clone());
                    io_row(row, batch, width, &targets)
                }
                None => row,
            };
            let function = if t == JobTechnique::Sequential {
                "sequential_monitoring"
            } else {
                "parallel_monitoring"
            };
            match row.median_s {
                Some(m) if row.status == Status::Ok => {
                    ctx.line(format!("Function '{function}' executed in {m}s"))
                }
                _ => ctx.line(format!(
                    "Function '{function}' failed: {}",
                    row.message.as_deref().unwrap_or("?")
                )),
            }
            ctx.push(&mut result, row, events);
        },
    );

    if let Some(base) = result
        .rows
        .iter()
        .find(|r| r.technique == JobTechnique::Sequential.id() && r.status == Status::Ok)
        .filter(|r| r.median_s.is_some())
        .map(|r| r.samples_s.clone())
    {
        set_speedups(&mut result.rows, &base);
    }
    if args.urls.is_empty() {
        peer_rows(ctx, args, &plan, &targets, workers, &mut result);
    } else {
        ctx.line("(the peers check the embedded server's sites only; no peer rows for --url)");
    }
    if !targets.latencies.is_empty() {
        let sum: f64 = targets.latencies.iter().map(Duration::as_secs_f64).sum();
        let max = targets
            .latencies
            .iter()
            .map(Duration::as_secs_f64)
            .fold(0.0, f64::max);
        result.findings =
            params! {"sum_latency_s" => sum, "max_latency_s" => max, "logical_cpus" => cores};
    }
    if !args.urls.is_empty() {
        url_rows(&targets, first_outcomes.as_deref(), &mut result);
    }
    print_tables(ctx, &result.rows, &targets);
    Ok(result)
}

/// What to tell a user whose io run would not fit this machine.
const LOWER: &str =
    "check fewer sites at once: lower --sites or --workers, or choose techniques with --technique";

/// Refuses, before the server starts, rows that would exhaust this machine: one thread
/// per site above the thread limits, or more sockets and pipes at once than the
/// open-file limit allows (raised to the hard limit first when that is enough).
fn check_limits(plans: &[(JobTechnique, usize, &str)], embedded: bool) -> Result<(), ParlabError> {
    let machine = Machine::read();
    for (t, width, _) in plans {
        if *t == JobTechnique::Threads && *width > 1 {
            limits::check_threads(&machine, *width as u64, IO_THREAD_STACK as u64, LOWER)
                .map_err(ParlabError::Usage)?;
        }
    }
    limits::ensure_open_files(open_files_needed(plans, embedded), LOWER).map_err(ParlabError::Usage)
}

/// Open files the widest row holds at once: a socket per request in flight, and its
/// other end too when the server is parlab's own; a worker process makes its requests
/// in its own process, but holds three pipes to parlab.
fn open_files_needed(plans: &[(JobTechnique, usize, &str)], embedded: bool) -> u64 {
    let server_end = u64::from(embedded);
    let widest = plans
        .iter()
        .map(|(t, width, _)| {
            let per_unit = if *t == JobTechnique::Processes {
                3 + server_end
            } else {
                1 + server_end
            };
            *width as u64 * per_unit
        })
        .max()
        .unwrap_or(0);
    limits::BASE_OPEN_FILES + widest
}

/// How long a run takes at best: the sites in waves of `width`, each wave as long as
/// its slowest site (exact for equal latencies). `None` for real URLs, whose latency is
/// unknown.
fn estimate(latencies: &[Duration], width: usize) -> Option<Duration> {
    if latencies.is_empty() {
        return None;
    }
    Some(
        latencies
            .chunks(width.max(1))
            .map(|wave| wave.iter().max().copied().unwrap_or_default())
            .sum(),
    )
}

/// An io row from its last run: the answers counted, how spread the requests' starts
/// were, and whether the statuses could be checked at all.
fn io_row(mut row: Row, last: &Batch<Fetched>, width: usize, targets: &Targets) -> Row {
    // Statuses are checked against what the server was told; real URLs have no known
    // answer, so their rows are not "validated".
    row.validated = !targets.expected.is_empty();
    let fine = last
        .outputs
        .iter()
        .filter(|f| f.status.is_some_and(|s| s < 400))
        .count();
    let down = last
        .outputs
        .iter()
        .filter(|f| f.status.is_some_and(|s| s >= 400))
        .count();
    let failed = last.outputs.iter().filter(|f| f.status.is_none()).count();
    // How long it took before the last request even started: for one thread per site,
    // the cost of creating the threads.
    let first = last.spans.iter().map(|s| s.start).min().unwrap_or_default();
    let latest = last.spans.iter().map(|s| s.start).max().unwrap_or_default();
    let spread = (latest - first).as_secs_f64();
    IoData {
        fine: Some(fine as u64),
        down: Some(down as u64),
        failed: Some(failed as u64),
        start_spread_s: Some(spread),
        ..IoData::default()
    }
    .store(&mut row);
    if width > 1
        && targets
            .latencies
            .iter()
            .max()
            .is_some_and(|l| spread > l.as_secs_f64() / 2.0)
    {
        row.note(format!(
            "the last of {width} requests started {} after the first",
            units::secs(spread)
        ));
    }
    if targets.expected.is_empty() && failed > 0 {
        row.note(format!(
            "{failed} of {} URLs failed (see the check rows)",
            targets.fetches.len()
        ));
    }
    row
}

/// Every site answered what the server was told to answer.
fn validate(expected: &[u16], fetches: &[Fetch], batch: &Batch<Fetched>) -> Result<(), String> {
    for (i, expected) in expected.iter().enumerate() {
        let got = &batch.outputs[i];
        if got.status != Some(*expected) {
            let what = got
                .error
                .clone()
                .unwrap_or_else(|| format!("status {:?}", got.status));
            return Err(format!(
                "{} answered {what}, expected {expected}",
                site_name(&fetches[i].url)
            ));
        }
    }
    Ok(())
}

/// The paper's lines, in the order the checks finished.
fn print_checks(ctx: &mut Ctx, targets: &Targets, batch: &Batch<Fetched>) {
    if batch.outputs.len() > MAX_SITE_LINES {
        let fine = batch
            .outputs
            .iter()
            .filter(|f| f.status.is_some_and(|s| s < 400))
            .count();
        ctx.line(format!(
            "{} sites: {fine} FINE, {} not",
            batch.outputs.len(),
            batch.outputs.len() - fine
        ));
        return;
    }
    let mut order: Vec<_> = batch.spans.iter().collect();
    order.sort_by_key(|s| s.end);
    for span in order {
        let name = site_name(&targets.fetches[span.job].url);
        ctx.line(match &batch.outputs[span.job] {
            Fetched {
                status: Some(s), ..
            } if *s < 400 => format!("FINE: {name}"),
            Fetched {
                status: Some(s), ..
            } => format!("DOWN<{s}>: {name}"),
            Fetched { error, .. } => {
                format!("ERROR: {name}: {}", error.as_deref().unwrap_or("no answer"))
            }
        });
    }
}

/// One row per real URL: its status, or an error row saying why it failed.
fn url_rows(targets: &Targets, outcomes: Option<&[Fetched]>, result: &mut ExperimentResult) {
    for (i, fetch) in targets.fetches.iter().enumerate() {
        let mut row = Row::new("rust", "check", params! {"url" => fetch.url});
        match outcomes.and_then(|o| o.get(i)) {
            Some(Fetched {
                status: Some(s), ..
            }) => IoData {
                http_status: Some(*s),
                ..IoData::default()
            }
            .store(&mut row),
            Some(Fetched { error, .. }) => {
                row = row.failed(error.clone().unwrap_or_else(|| "no answer".into()))
            }
            None => row = row.skipped("no technique ran"),
        }
        result.push(row, Vec::new());
    }
}

fn print_tables(ctx: &mut Ctx, rows: &[Row], targets: &Targets) {
    let params = [
        Column::new("at once", |r: &Row| {
            r.param_u64("workers")
                .map_or_else(String::new, |w| w.to_string())
        }),
        Column::new("how", |r: &Row| {
            r.param_str("how").unwrap_or("").to_string()
        }),
    ];
    let extra = [Column::new("fine / down / failed", |r: &Row| {
        let d = IoData::of(r);
        let n = |v: Option<u64>| v.unwrap_or(0);
        if r.status == Status::Ok {
            format!("{} / {} / {}", n(d.fine), n(d.down), n(d.failed))
        } else {
            String::new()
        }
    })];
    let timing: Vec<&Row> = rows.iter().filter(|r| r.technique != "check").collect();
    ctx.print("");
    if !targets.latencies.is_empty() {
        let sum: Duration = targets.latencies.iter().sum();
        let max = targets.latencies.iter().max().copied().unwrap_or_default();
        ctx.print(format!(
            "io: {} sites; one after another needs about {} (sum of latencies), all at once about {} (the slowest)",
            targets.fetches.len(),
            units::secs(sum.as_secs_f64()),
            units::secs(max.as_secs_f64())
        ));
    }
    ctx.print(terminal::table(timing, &params, &extra).to_string());
    if !targets.latencies.is_empty() {
        ctx.print("peak mem is parlab's whole process, the embedded server included (plus the workers for processes)");
    }
    let checks: Vec<&Row> = rows.iter().filter(|r| r.technique == "check").collect();
    if !checks.is_empty() {
        let params = [
            Column::new("url", |r: &Row| {
                r.param_str("url").unwrap_or("").to_string()
            }),
            Column::new("status", |r: &Row| {
                IoData::of(r)
                    .http_status
                    .map_or_else(String::new, |s| s.to_string())
            }),
        ];
        ctx.print(terminal::table(checks, &params, &[]).to_string());
    }
}

/// The peers check the same sites with their own clients; a technique whose run would
/// overrun --skip-over is skipped as the Rust rows are.
fn peer_rows(
    ctx: &mut Ctx,
    args: &Args,
    plan: &Plan,
    targets: &Targets,
    workers: usize,
    result: &mut ExperimentResult,
) {
    let n = targets.fetches.len();
    let mut call = PeerCall::default()
        .list("--urls", targets.fetches.iter().map(|f| f.url.as_str()))
        .list("--expect", &targets.expected)
        .secs("--request-timeout", args.request_timeout)
        .flag("--workers", workers);
    for (technique, width) in [
        ("sequential", 1),
        ("threads", n),
        ("processes", workers),
        ("goroutines", n),
    ] {
        if let Some(estimate) = estimate(&targets.latencies, width)
            && let Some(why) = plan.too_long(estimate, &format!(": {n} sites, {width} at once"))
        {
            call = call.skip(technique, why);
        }
    }
    let expected: Vec<u64> = targets.expected.iter().map(|s| u64::from(*s)).collect();
    let check = |r: &Row| {
        let got = IoData::parse(r)?.statuses.unwrap_or_default();
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "statuses {got:?}, the server answered {expected:?}"
            ))
        }
    };
    ctx.run_peers(result, &args.common, plan, call, check, |r| {
        r.technique == "sequential"
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Params, assert_fixture_round_trips};

    #[test]
    fn rows_keep_their_json() {
        assert_fixture_round_trips::<IoData>("io");
    }

    #[test]
    fn peer_rows_read_as_io_values() {
        let mut row = Row::new("go", "goroutines", Params::new());
        row.extra =
            crate::params! {"statuses" => [200, 503, 0], "fine" => 1, "down" => 1, "failed" => 1};
        let data = IoData::parse(&row).unwrap();
        assert_eq!(data.statuses, Some(vec![200, 503, 0]));
        assert_eq!(
            (data.fine, data.down, data.failed),
            (Some(1), Some(1), Some(1))
        );
    }

    #[test]
    fn open_files_count_both_ends_and_worker_pipes() {
        let plans = [
            (JobTechnique::Sequential, 1, ""),
            (JobTechnique::Threads, 1000, ""),
            (JobTechnique::Processes, 2, ""),
        ];
        assert_eq!(
            open_files_needed(&plans, true),
            limits::BASE_OPEN_FILES + 2000
        );
        assert_eq!(
            open_files_needed(&plans, false),
            limits::BASE_OPEN_FILES + 1000
        );
        assert_eq!(
            open_files_needed(&plans[2..], true),
            limits::BASE_OPEN_FILES + 8
        );
    }

    #[test]
    fn estimates_run_in_waves() {
        let ms = |v: u64| Duration::from_millis(v);
        let lat = vec![ms(100); 10];
        assert_eq!(estimate(&lat, 1), Some(ms(1000)));
        assert_eq!(estimate(&lat, 4), Some(ms(300)));
        assert_eq!(estimate(&lat, 10), Some(ms(100)));
        assert_eq!(estimate(&[], 4), None);
    }
}
