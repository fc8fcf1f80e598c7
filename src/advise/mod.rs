//! `parlab advise`: which technique for the user's own shape of work, measured here.
//!
//! The user describes a task (CPU, then a wait, data in and out) and how many there
//! are; every technique of each language that could run it runs the same synthetic
//! tasks under the experiments' harness (validation, interleaved runs, intervals), and
//! the answer is the fastest row, with its reason in measured numbers, beside a model
//! fitted to the worker sweeps that says what other sizes and machines would give.
//! It is a command of its own, not an experiment: it reproduces nothing of the paper,
//! so it is not in `experiments::ALL` and `reproduce` does not run it.

mod advice;
pub mod model;
mod plan;
pub mod task;

use crate::error::ParlabError;
use crate::experiments::{CommonArgs, Ctx, PeerCall, WorkRow, run_work_rows, set_speedups};
use crate::limits;
use crate::measure::Plan;
use crate::parse;
use crate::peers::{Language, PeerArgs, Selection};
use crate::results::{ExperimentResult, Params, Row, RowData, Status};
use crate::techniques::{JobTechnique, Technique};
use advice::AdviceDoc;
use plan::{Lang, Planned, Shape};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use task::{Synthetic, TaskShape};

/// The id the peers know this command by (peers/PROTOCOL.md).
pub const ID: &str = "advise";

/// The Rust techniques that run the synthetic tasks. The GIL model is left out: it is a
/// model of CPython, not a way to run Rust work.
const RUST: &[JobTechnique] = &[
    JobTechnique::Sequential,
    JobTechnique::Threads,
    JobTechnique::Rayon,
    JobTechnique::Processes,
    JobTechnique::Tokio,
    JobTechnique::Tokio1,
];

/// The peers' techniques for advise, as `spec::techniques` hands them to the runner.
pub const PYTHON: &[&str] = &[
    "sequential",
    "threads",
    "pool-threads",
    "processes",
    "asyncio",
];
pub const GO: &[&str] = &["sequential", "goroutines", "pool"];

/// The techniques `language`'s peer runs for advise.
pub fn peer_techniques(language: Language) -> &'static [&'static str] {
    match language {
        Language::Python => PYTHON,
        Language::Go => GO,
    }
}

/// Techniques whose rows run at each `--workers` count (the sweep the model is fitted
/// to); the others run one row at the count their model sets.
fn swept(language: &str, technique: &str) -> bool {
    matches!(
        (crate::peers::base_language(language), technique),
        ("rust", "threads" | "rayon" | "processes")
            | ("python", "pool-threads" | "processes")
            | ("go", "pool")
    )
}

/// Which technique for this workload, measured on this machine: describe one task (CPU
/// time, then a wait, data in and out) and how many there are; every technique of each
/// language runs the same tasks, and the answer is the fastest, with its reason in
/// numbers and a model (Amdahl, USL) fitted to the worker sweeps.
///
/// Techniques: Rust sequential, threads (a pool of each --workers count, and one thread
/// per task), rayon, processes, tokio, tokio-1; Python sequential, threads,
/// pool-threads, processes, asyncio; Go sequential, goroutines, pool.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// CPU time each task burns (a loop calibrated on this machine, per language); 0 for
    /// none
    #[arg(long, value_name = "DURATION", value_parser = parse::duration_or_zero,
          required_unless_present = "from", conflicts_with = "from")]
    pub cpu: Option<Duration>,

    /// How long each task then blocks (a sleep, or a request, see --wait-kind); 0 for none
    #[arg(long, value_name = "DURATION", value_parser = parse::duration_or_zero,
          required_unless_present = "from", conflicts_with = "from")]
    pub wait: Option<Duration>,

    /// How many tasks one run does
    #[arg(long, value_name = "N", value_parser = parse::int_in(1, 1_000_000),
          required_unless_present = "from", conflicts_with = "from")]
    pub tasks: Option<u64>,

    /// Data each task takes in (serialised to worker processes); 0 for none
    #[arg(long, value_name = "SIZE", default_value = "0", value_parser = size_or_zero)]
    pub payload: u64,

    /// Data each task hands back (serialised from worker processes); 0 for none
    #[arg(long, value_name = "SIZE", default_value = "0", value_parser = size_or_zero)]
    pub result: u64,

    /// Languages to measure: rust, python, go, or all (Rust and the peers of --peers)
    #[arg(long, value_enum, default_value = "all", value_name = "LANG")]
    pub language: Choice,

    /// Worker counts of the pool-like techniques (threads, rayon, processes, Python's
    /// pools, Go's pool): the sweep the model is fitted to [default: 1,2,4,8 and the
    /// logical CPUs]
    #[arg(long, value_name = "LIST", value_parser = |t: &str| parse::bounded_list(t, "--workers", 1, 1024))]
    pub workers: Option<parse::List>,

    /// What the wait is: a sleep, or a GET to the embedded HTTP server answering after it
    #[arg(long, value_enum, default_value = "sleep", value_name = "KIND")]
    pub wait_kind: WaitKind,

    /// Longest the whole run may take: runs, then the task count, then the slowest rows
    /// are cut to fit, and the output says what was cut
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse::duration)]
    pub budget: Duration,

    /// Also predict, from the fitted model, the time on a machine with this many cores
    /// (a prediction, with its assumptions)
    #[arg(long, value_name = "N", value_parser = parse::int_in(1, 1_000_000))]
    pub predict_cores: Option<u64>,

    /// Advise from an earlier `advise --json` document instead of measuring
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `--language`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Choice {
    Rust,
    Python,
    Go,
    All,
}

/// `--wait-kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitKind {
    Sleep,
    Http,
}

impl WaitKind {
    fn id(self) -> &'static str {
        match self {
            WaitKind::Sleep => "sleep",
            WaitKind::Http => "http",
        }
    }
}

/// A size as `parse::size` reads it, or 0 for none.
fn size_or_zero(text: &str) -> Result<u64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    parse::size(text)
}

/// The largest payload or result one task may carry: half the longest line a worker
/// process may answer with, so the result and the JSON around it always fit.
const MAX_ITEM_BYTES: u64 = crate::worker::MAX_LINE / 2;

/// The worker counts used when `--workers` is not given.
fn default_workers(cores: u64) -> Vec<u64> {
    let mut w = vec![1, 2, 4, 8];
    if !w.contains(&cores) {
        w.push(cores);
    }
    w.sort_unstable();
    w
}

/// The row values of advise (peers/PROTOCOL.md, "advise").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdviseRow {
    /// Mean CPU time a task's thread spent on its CPU share, measured in the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_per_task_s: Option<f64>,
    /// Sum over the tasks of a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_total_s: Option<f64>,
    /// Steps per second of the language's count loop, from its calibration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_per_s: Option<f64>,
}

impl RowData for AdviseRow {}

impl Args {
    /// The languages asked for, in row order.
    fn languages(&self) -> Vec<Lang> {
        let peers = |l: Language| Lang::Peer(l);
        match self.language {
            Choice::Rust => vec![Lang::Rust],
            Choice::Python => vec![peers(Language::Python)],
            Choice::Go => vec![peers(Language::Go)],
            Choice::All => std::iter::once(Lang::Rust)
                .chain(self.common.peers.peers.0.iter().map(|l| peers(*l)))
                .collect(),
        }
    }

    /// The peer flags with the peers `--language` chose.
    pub fn peer_args(&self) -> PeerArgs {
        let mut args = self.common.peers.clone();
        args.peers = Selection(
            self.languages()
                .into_iter()
                .filter_map(|l| match l {
                    Lang::Peer(p) => Some(p),
                    Lang::Rust => None,
                })
                .collect(),
        );
        args
    }

    /// What clap cannot check, before anything starts: technique names, sizes against
    /// memory, a task longer than the budget.
    pub fn validate(&self) -> Result<(), ParlabError> {
        let known: Vec<&str> = RUST
            .iter()
            .map(|t| t.id())
            .chain(PYTHON.iter().copied())
            .chain(GO.iter().copied())
            .fold(Vec::new(), |mut seen, t| {
                if !seen.contains(&t) {
                    seen.push(t);
                }
                seen
            });
        if let Some(bad) = self
            .common
            .technique
            .iter()
            .find(|t| !known.contains(&t.trim()))
        {
            return Err(ParlabError::usage(format!(
                "unknown technique {} for advise; choose from: {}",
                parse::shown(bad.trim()),
                known.join(", ")
            )));
        }
        if let Some(path) = &self.from {
            // Read now, so a wrong file is refused before anything starts.
            return advice::reload(path, None).map(drop);
        }
        let (cpu, wait, tasks) = self.shape_flags();
        for (flag, size) in [("--payload", self.payload), ("--result", self.result)] {
            if size > MAX_ITEM_BYTES {
                return Err(ParlabError::usage(format!(
                    "{flag} {} is over the {} a task may carry",
                    crate::units::bytes(size),
                    crate::units::bytes(MAX_ITEM_BYTES)
                )));
            }
        }
        // The tasks' data lives in the parent, and in flight as JSON text and parsed
        // copies: four copies of every byte is the most a run holds at once.
        let need = (self.payload + self.result)
            .saturating_mul(tasks)
            .saturating_mul(4);
        if let Some(avail) = limits::Machine::read().mem_available
            && need > avail / 2
        {
            return Err(ParlabError::usage(format!(
                "refusing {tasks} tasks of {} in and {} out: that needs about {} of memory, over half of the {} available; lower --tasks, --payload or --result",
                crate::units::bytes(self.payload),
                crate::units::bytes(self.result),
                crate::units::bytes(need),
                crate::units::bytes(avail)
            )));
        }
        if cpu + wait > self.budget {
            return Err(ParlabError::usage(format!(
                "one task takes {} (--cpu plus --wait), over --budget {}: no run could fit; raise --budget or shorten the task",
                humantime::format_duration(cpu + wait),
                humantime::format_duration(self.budget)
            )));
        }
        Ok(())
    }

    fn shape_flags(&self) -> (Duration, Duration, u64) {
        (
            self.cpu.unwrap_or_default(),
            self.wait.unwrap_or_default(),
            self.tasks.unwrap_or(1),
        )
    }
}

/// Measures (or, with `--from`, reloads) and advises; prints the ranked table, the
/// recommendation and the model, and returns the document for `--json`.
pub fn run(args: &Args, ctx: &mut Ctx) -> Result<AdviceDoc, ParlabError> {
    if let Some(path) = &args.from {
        let doc = advice::reload(path, args.predict_cores)?;
        ctx.print(advice::render(&doc));
        return Ok(doc);
    }
    let started = Instant::now();
    let (cpu, wait, tasks) = args.shape_flags();
    let cores = ctx.cores() as u64;
    let calibration = task::calibrate();
    let steps_per_s = calibration.steps_per_s;
    let mut shape = Shape {
        cpu,
        wait,
        tasks,
        payload_bytes: args.payload,
        result_bytes: args.result,
        copy_s: copy_cost(args.payload, args.result),
        cores,
        slowdown: calibration.slowdown,
    };
    let workers: Vec<u64> = args.workers.as_ref().map_or_else(
        || default_workers(cores),
        |l| l.0.iter().map(|w| *w as u64).collect(),
    );
    let languages = args.languages();
    let mut rows = planned_rows(&languages, &workers, &args.common.technique, tasks);
    // Every Python interpreter found runs every Python row: the budget counts them all.
    if languages.contains(&Lang::Peer(Language::Python)) {
        let pythons = ctx
            .peers
            .pythons()
            .as_ref()
            .map_or(1, |runs| runs.len().max(1));
        for r in rows
            .iter_mut()
            .filter(|r| r.language == Lang::Peer(Language::Python))
        {
            r.columns = pythons as u64;
        }
    }
    let fitted = plan::fit_budget(
        &rows,
        &shape,
        args.budget,
        args.common.runs.map(|r| r as u32),
        args.common.warmup.map(|w| w as u32),
    );
    shape.tasks = fitted.tasks;
    // A unit per task is a unit per task measured.
    let rows: Vec<Planned> = rows
        .into_iter()
        .map(|mut r| {
            if r.workers == tasks && r.technique != "sequential" {
                r.workers = fitted.tasks;
            }
            r
        })
        .collect();
    for cut in &fitted.cuts {
        ctx.line(format!(
            "budget {}: cut {cut}",
            humantime::format_duration(args.budget)
        ));
    }
    let plan = Plan {
        warmup: fitted.warmup,
        runs: fitted.runs,
        // A row may overrun its estimate, not the whole budget twice over.
        timeout: Some(args.common.timeout.min(args.budget * 2)),
        skip_over: Duration::ZERO,
    };
    let server = match args.wait_kind {
        WaitKind::Http => Some(start_server(wait, shape.tasks)?),
        WaitKind::Sleep => None,
    };
    let url = server.as_ref().map(|s| s.url(SITE));
    let task_shape = TaskShape {
        steps: (cpu.as_secs_f64() * steps_per_s).round() as u64,
        wait,
        payload_bytes: args.payload,
        result_bytes: args.result,
    };
    let mut result = ExperimentResult::new(ID, "", Params::new());
    ctx.expect_rows(rows.len(), &args.common, ID, |_| 0);
    let dropped = |i: usize| fitted.dropped.iter().find(|(d, _)| *d == i).map(|d| d.1);
    // One set of tasks, its payloads shared by every row.
    let items = Synthetic::batch(&task_shape, shape.tasks, url.as_deref());
    let mut rust_rows = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.language != Lang::Rust {
            continue;
        }
        let technique = JobTechnique::try_from(
            Technique::from_id(row.technique).expect("advise lists Rust techniques by id"),
        )
        .expect("advise's Rust techniques run jobs");
        let params = crate::params! {"workers" => row.workers};
        if let Some(per_run) = dropped(i) {
            let r = Row::new("rust", row.technique, params).skipped(left_out(per_run));
            ctx.push(&mut result, r, Vec::new());
            continue;
        }
        if technique == JobTechnique::Threads && row.workers > plan::MAX_THREADS_PER_TASK {
            let r = Row::new("rust", row.technique, params).skipped(format!(
                "a thread per task is not started above {} threads; the pools and tokio answer for this many tasks",
                plan::MAX_THREADS_PER_TASK
            ));
            ctx.push(&mut result, r, Vec::new());
            continue;
        }
        rust_rows.push(WorkRow {
            cfg: ctx.runner(technique, row.workers as usize),
            items: items.clone(),
            params,
            check: Arc::new(
                |items: &[Synthetic], batch: &crate::techniques::Batch<task::Done>| {
                    items
                        .iter()
                        .zip(&batch.outputs)
                        .try_for_each(|(t, d)| t.check(d))
                },
            ),
            estimate: Box::new(|_, _| None),
        });
    }
    let schedule = args.common.schedule;
    let mut measured = Vec::new();
    run_work_rows(&plan, schedule, rust_rows, |_, m| measured.push(m));
    for (mut row, events, batch) in measured {
        if let Some(b) = &batch {
            let cpu: Vec<f64> = b.outputs.iter().map(|d| d.cpu_s).collect();
            AdviseRow {
                cpu_per_task_s: Some(cpu.iter().sum::<f64>() / cpu.len().max(1) as f64),
                cpu_total_s: Some(cpu.iter().sum()),
                steps_per_s: Some(steps_per_s),
            }
            .store(&mut row);
        }
        ctx.push(&mut result, row, events);
    }
    let baseline = result
        .rows
        .iter()
        .find(|r| r.technique == "sequential" && r.status == Status::Ok)
        .map(|r| r.samples_s.clone());
    if let Some(b) = baseline {
        set_speedups(result.rows.iter_mut(), &b);
    }
    run_peers(
        args,
        ctx,
        &mut result,
        &rows,
        &fitted,
        &plan,
        &shape,
        url.as_deref(),
    );
    for row in &mut result.rows {
        note_cpu(row, cpu);
        // Tasks that only compute cannot gain more than the cores; with a wait, overlap
        // can (a thousand sleeping tasks), so only the CPU-only shape is bounded.
        if wait.is_zero() {
            row.flag_beyond_cores(cores as usize);
        }
    }
    drop(server);
    let doc = advice::build(
        advice::Measured {
            env: ctx.env.clone(),
            shape: &shape,
            tasks_asked: tasks,
            wait_kind: args.wait_kind,
            workers: &workers,
            languages: languages.iter().map(|l| l.id().to_string()).collect(),
            steps_per_s,
            budget: advice::BudgetDoc {
                limit_s: args.budget.as_secs_f64(),
                estimated_s: fitted.estimated_s,
                took_s: started.elapsed().as_secs_f64(),
                runs: fitted.runs,
                warmup: fitted.warmup,
                cuts: fitted.cuts.clone(),
            },
        },
        result.rows,
        args.predict_cores,
    );
    ctx.print(advice::render(&doc));
    if doc.budget.took_s > doc.budget.limit_s * 1.1 {
        ctx.print(format!(
            "parlab: this run took {}, over the {} budget: the estimates it was planned on were low (the machine ran {:.1}× slower than its CPU at the start)",
            crate::measure::estimate::approx(doc.budget.took_s),
            crate::measure::estimate::approx(doc.budget.limit_s),
            calibration.slowdown
        ));
    }
    Ok(doc)
}

/// The one site of the embedded server an `http` wait asks.
const SITE: &str = "advise";

fn start_server(latency: Duration, tasks: u64) -> Result<crate::server::Server, ParlabError> {
    // A request per task may be open at once, each a socket on both ends.
    limits::ensure_open_files(tasks * 2 + limits::BASE_OPEN_FILES, "lower --tasks")
        .map_err(ParlabError::usage)?;
    let site = crate::server::Site {
        name: SITE.into(),
        latency,
        status: 200,
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    crate::server::Server::start(addr, vec![site])
        .map_err(|e| ParlabError::io("starting the embedded server for --wait-kind http", e))
}

/// The rows to measure, in the order they run: per language, its techniques in table
/// order, the swept ones at each worker count up to the task count.
fn planned_rows(languages: &[Lang], workers: &[u64], only: &[String], tasks: u64) -> Vec<Planned> {
    let mut rows = Vec::new();
    for &language in languages {
        let techniques: Vec<&'static str> = match language {
            Lang::Rust => RUST.iter().map(|t| t.id()).collect(),
            Lang::Peer(l) => peer_techniques(l).to_vec(),
        };
        for technique in techniques {
            if !only.is_empty() && !only.iter().any(|o| o.trim() == technique) {
                continue;
            }
            let counts: Vec<u64> = if technique == "sequential" {
                vec![1]
            } else if swept(language.id(), technique) {
                let mut c: Vec<u64> = workers.iter().copied().filter(|w| *w <= tasks).collect();
                // Rust threads also run one thread per task: the other end of the sweep.
                if language == Lang::Rust && technique == "threads" && !c.contains(&tasks) {
                    c.push(tasks);
                }
                c
            } else {
                // Async tasks, goroutines and Python's threads: one per task.
                vec![tasks]
            };
            rows.extend(counts.into_iter().map(|workers| Planned {
                language,
                technique,
                workers,
                columns: 1,
            }));
        }
    }
    rows
}

/// Runs the chosen peers on the same shape; their rows join `result`.
#[allow(clippy::too_many_arguments)]
fn run_peers(
    args: &Args,
    ctx: &mut Ctx,
    result: &mut ExperimentResult,
    rows: &[Planned],
    fitted: &plan::Fitted,
    plan: &Plan,
    shape: &Shape,
    url: Option<&str>,
) {
    let chosen = ctx.peers.chosen().to_vec();
    for &lang in &chosen {
        let mine: Vec<(usize, &Planned)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.language == Lang::Peer(lang))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let kept = |(i, _): &(usize, &Planned)| !fitted.dropped.iter().any(|(d, _)| d == i);
        let mut workers: Vec<u64> = mine
            .iter()
            .filter(|p| kept(p) && swept(p.1.language.id(), p.1.technique))
            .map(|(_, r)| r.workers)
            .collect();
        workers.sort_unstable();
        workers.dedup();
        let mut call = PeerCall::default()
            .secs("--cpu", shape.cpu)
            .secs("--wait", shape.wait)
            .flag("--tasks", shape.tasks)
            .flag("--payload", shape.payload_bytes)
            .flag("--result", shape.result_bytes)
            .flag("--wait-kind", args.wait_kind.id());
        if !workers.is_empty() {
            call = call.list("--workers", &workers);
        }
        if let Some(u) = url {
            call = call.flag("--url", u);
        }
        for t in peer_techniques(lang) {
            let of_t: Vec<&(usize, &Planned)> =
                mine.iter().filter(|(_, r)| r.technique == *t).collect();
            if of_t.is_empty() {
                call = call.exclude(t);
            } else if of_t.iter().all(|p| !kept(p)) {
                let longest = of_t
                    .iter()
                    .filter_map(|(i, _)| fitted.dropped.iter().find(|(d, _)| d == i))
                    .map(|d| d.1)
                    .fold(0.0, f64::max);
                call = call.skip(t, left_out(longest));
            } else if (*t == "threads") && shape.tasks > plan::MAX_THREADS_PER_TASK {
                call = call.skip(
                    t,
                    format!(
                        "a thread per task is not started above {} threads",
                        plan::MAX_THREADS_PER_TASK
                    ),
                );
            }
        }
        let mut common = args.common.clone();
        common.timeout = plan.timeout.unwrap_or(common.timeout);
        // One language at a time: each gets its own flags and skips.
        ctx.peers.restrict(&[lang]);
        ctx.run_peers(
            result,
            &common,
            plan,
            call,
            |row| match AdviseRow::parse(row) {
                Ok(v) if v.cpu_per_task_s.is_some() => Ok(()),
                Ok(_) => Err("no cpu_per_task_s".into()),
                Err(e) => Err(e),
            },
            |row| row.technique == "sequential",
        );
    }
    ctx.peers.restrict(&chosen);
}

/// Says so when a row's tasks burned far from the CPU asked: a loop the compiler
/// shortened or a calibration gone stale would otherwise pass for a fast technique.
fn note_cpu(row: &mut Row, asked: Duration) {
    let asked = asked.as_secs_f64();
    let Some(got) = row.data::<AdviseRow>().cpu_per_task_s else {
        return;
    };
    if row.status == Status::Ok && asked >= 1e-3 && got < asked * 0.5 {
        row.note(format!(
            "tasks burned {} of CPU, {} asked",
            crate::units::secs(got),
            crate::units::secs(asked)
        ));
    }
}

fn left_out(per_run: f64) -> String {
    format!(
        "left out to fit --budget: one run would take about {}",
        crate::measure::estimate::approx(per_run)
    )
}

/// What handing one task to a worker process and its answer back costs in
/// serialisation: a JSON round trip of a task and of an answer of these sizes, the
/// median of a few.
fn copy_cost(payload: u64, result: u64) -> f64 {
    let shape = TaskShape {
        steps: 0,
        wait: Duration::ZERO,
        payload_bytes: payload,
        result_bytes: result,
    };
    let item = Synthetic::batch(&shape, 1, None).remove(0);
    let done = task::Done {
        checksum: 0,
        steps: 0,
        cpu_s: 0.0,
        status: None,
        result: task::filler(1, result),
    };
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let a = serde_json::to_string(&item).expect("tasks serialise");
            let b = serde_json::to_string(&done).expect("answers serialise");
            let back: Synthetic = serde_json::from_str(&a).expect("a task reads back");
            let out: task::Done = serde_json::from_str(&b).expect("an answer reads back");
            std::hint::black_box((back, out));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

impl AdviceDoc {
    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|r| r.status == Status::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sweep_the_pools_and_run_one_unit_per_task_elsewhere() {
        let rows = planned_rows(&[Lang::Rust], &[1, 2, 4], &[], 3);
        let of = |t: &str| -> Vec<u64> {
            rows.iter()
                .filter(|r| r.technique == t)
                .map(|r| r.workers)
                .collect()
        };
        assert_eq!(of("sequential"), [1]);
        // Counts above the tasks are dropped; threads end with one per task.
        assert_eq!(of("threads"), [1, 2, 3]);
        assert_eq!(of("processes"), [1, 2]);
        assert_eq!(of("tokio"), [3]);
        let py = planned_rows(
            &[Lang::Peer(Language::Python)],
            &[2],
            &["processes".into()],
            10,
        );
        assert_eq!(py.len(), 1);
        assert_eq!((py[0].technique, py[0].workers), ("processes", 2));
    }

    #[test]
    fn sizes_take_zero() {
        assert_eq!(size_or_zero("0").unwrap(), 0);
        assert_eq!(size_or_zero("100KiB").unwrap(), 100 << 10);
        assert!(size_or_zero("-1").is_err());
    }
}
