//! `count`: the paper's Figure 2 (§2.1–2.5), a counter decremented from N to zero,
//! once in one loop and once split into chunks run in parallel.
//!
//! Claim tested: on CPU-bound work CPython threads are slower than one thread and
//! processes are the fastest. The Rust rows show the other side: real threads, rayon and
//! processes scale with the cores; async tasks without await points are only as
//! parallel as the runtime's threads; and the GIL model shows why a global lock caps
//! threads at one thread's speed. In the paper, processes win because they had 4 cores
//! for 4 chunks: here the chunk count and the core count are both printed.

use super::{CommonArgs, Ctx, Info, PeerCall, RowSpec, Scale, outcome, run_rows, set_speedups};
use crate::error::ParlabError;
use crate::params;
use crate::parse;
use crate::peers::Language;
use crate::report::charts::{ChartKind, GilPair};
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Params, Row, RowData, Status};
use crate::techniques::jobs::{Job, count_chunks};
use crate::techniques::mpi::{self, MpiArgs, MpiData};
use crate::techniques::{JobTechnique, Technique};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const INFO: Info = Info {
    id: "count",
    paper_ref: "Figure 2, §2.1–2.5",
    gist: "A countdown from 50 million, whole and in chunks: CPython threads came out slowest, worker processes fastest.",
    techniques: &[
        Technique::Sequential,
        Technique::Threads,
        Technique::Rayon,
        Technique::Processes,
        Technique::Tokio,
        Technique::Tokio1,
        Technique::GilModel,
        Technique::Mpi,
        Technique::MpiStatic,
    ],
    runs: 6,
    warmup: 1,
    charts: |_| {
        vec![
            ChartKind::Medians,
            ChartKind::WithoutGil { pairs: gil_pairs },
        ]
    },
    python: &["sequential", "threads", "processes", "interpreters"],
    go: &["sequential", "goroutines", "goroutines-1"],
    reproduce_args,
    claims: crate::claims::count::CLAIMS,
};

/// A count row's own values (`Row::extra`): the peers say where their counters stopped,
/// since that is the only check of their work parlab can make; the gil-model and
/// processes techniques add what they saw while counting.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CountData {
    /// A peer's counters summed where they stopped: 0 for int chunks, just under 0 for
    /// float chunks, which stop at the first value at or under zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<f64>,
    /// gil-model: times the model lock was taken, the first taking included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gil_switches: Option<u64>,
    /// gil-model: the hand-overs a waiting thread forced after a switch interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gil_forced_switches: Option<u64>,
    /// gil-model: the switch interval it ran with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_interval_s: Option<f64>,
    /// processes: the worker processes started, whose start-up the row includes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_processes: Option<u64>,
    /// Python's int sequential row, with fresh runs: the same loop's samples in the
    /// peer's own long-lived process, taking its turn with the fresh runs, for the
    /// `python_sequential_fresh_vs_shared` finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_process_samples_s: Option<Vec<f64>>,
}

impl RowData for CountData {}

/// Figure 2: count down from N, sequentially and in chunks, with every technique.
///
/// Sequential counts N in one loop. threads, processes and gil-model start one worker per
/// chunk; rayon and tokio use their default pools (one thread per logical CPU) and tokio-1
/// a single thread; mpi and mpi-static share the chunks among MPI ranks (--ranks), one
/// mpirun launch a run (built with --features mpi; they run when named or when --ranks,
/// --hostfile or --mpirun is given). Techniques: sequential, threads,
/// rayon, processes, tokio, tokio-1, gil-model (a model, not CPython), mpi, mpi-static; the Python peer's
/// interpreters (InterpreterPoolExecutor, Python 3.14 or later). Defaults: 6 counted runs (the fewest that give a 95 % interval of the median) after 1 warm-up run.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where the counter starts; it is decremented to 0 (50000000, 50_000_000 or 5e7)
    #[arg(long, value_name = "N", default_value = "50000000", value_parser = parse::count, allow_negative_numbers = true)]
    pub n: u64,

    /// How many chunks the parallel techniques split the count into
    #[arg(long, value_name = "K", default_value = "5", value_parser = parse::int_in(1, 1024))]
    pub chunks: u64,

    /// gil-model only: how long a waiting thread lets the holder run before it asks for
    /// the lock (CPython's sys.getswitchinterval() is 5ms)
    #[arg(long, value_name = "DURATION", default_value = "5ms", value_parser = parse::duration)]
    pub switch_interval: Duration,

    #[command(flatten)]
    pub mpi: MpiArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    match scale {
        // Python counts about a hundred times slower than Rust: 2e7 keeps its six rows
        // to about fifteen seconds. Seven runs, not six: with the peers' rows a run has
        // some thirty count rows, and `compare`'s Holm correction over thirty needs the
        // smallest p of seven runs a side (2/3432) to show any change at all.
        Scale::Quick => vec!["--n".into(), "2e7".into(), "--runs".into(), "7".into()],
        Scale::Paper => Vec::new(),
    }
}

fn heading(t: JobTechnique) -> &'static str {
    match t {
        JobTechnique::Sequential => "Sequential",
        JobTechnique::Threads => "Threads",
        JobTechnique::Rayon => "Rayon",
        JobTechnique::Processes => "SubProcesses",
        JobTechnique::Tokio => "Tokio tasks",
        JobTechnique::Tokio1 => "Tokio tasks, one thread",
        JobTechnique::GilModel => "Threads under the GIL model",
        JobTechnique::Mpi => "MPI ranks, jobs handed out by rank 0",
        JobTechnique::MpiStatic => "MPI ranks, a block each",
    }
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let mut techniques = args.common.chosen::<JobTechnique>(&INFO)?;
    args.mpi.filter(&args.common.technique, &mut techniques);
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let cores = ctx.cores();
    let mut result = INFO.result(
        params! {"n" => args.n, "chunks" => args.chunks, "switch_interval_s" => args.switch_interval.as_secs_f64(), "schedule" => args.common.schedule},
    );
    // Python counts int and float chunks: two rows a technique.
    ctx.expect_rows(techniques.len(), &args.common, INFO.id, |lang| match lang {
        Language::Python => 2,
        Language::Go => 1,
    });
    let whole = [Job::CountDown { n: args.n }];
    let chunks = count_chunks(args.n, args.chunks as usize);

    let launch = args.mpi.launch.launch();
    let unavailable = launch.unavailable();
    let ranks = args.mpi.rank_counts(cores);
    let mut specs = Vec::new();
    let mut row_technique = Vec::new();
    let mut skipped = Vec::new();
    for &t in &techniques {
        let (jobs, sizes): (&[Job], Vec<usize>) = match t {
            JobTechnique::Sequential => (&whole, vec![1]),
            JobTechnique::Rayon => (&chunks, vec![cores]),
            JobTechnique::Mpi | JobTechnique::MpiStatic => (&chunks, ranks.clone()),
            _ => (&chunks, vec![chunks.len()]),
        };
        for workers in sizes {
            let mut cfg = ctx.runner(t, workers);
            cfg.switch_interval = args.switch_interval;
            cfg.launch = launch.clone();
            let params = params! {"chunks" => jobs.len(), "workers" => workers};
            if let (Some(why), JobTechnique::Mpi | JobTechnique::MpiStatic) = (&unavailable, t) {
                skipped.push(Row::new("rust", t.id(), params).skipped(why.clone()));
                continue;
            }
            row_technique.push(t);
            specs.push(RowSpec {
                cfg,
                jobs: jobs.to_vec(),
                params,
            });
        }
    }
    run_rows(
        &plan,
        args.common.schedule,
        specs,
        |i, (mut row, events, _)| {
            let t = row_technique[i];
            let jobs = row.param_u64("chunks").unwrap_or(0);
            let workers = row.param_u64("workers").unwrap_or(0);
            ctx.line(format!("-----> {}", heading(t)));
            let function = if t == JobTechnique::Sequential {
                "sequential_exec"
            } else {
                "parallel_exec"
            };
            match (row.status, row.median_s) {
                (Status::Ok, Some(m)) => {
                    ctx.line(format!("Function '{function}' executed in {m}s"))
                }
                _ => ctx.line(format!(
                    "Function '{function}' {}: {}",
                    outcome(&row),
                    row.message.as_deref().unwrap_or("?")
                )),
            }
            match t {
                JobTechnique::Rayon => row.note(format!(
                    "{cores}-thread pool; chunks split further by work stealing"
                )),
                JobTechnique::Tokio => row.note(format!(
                    "{jobs} tasks on {cores} runtime threads; no preemption"
                )),
                JobTechnique::Tokio1 => row.note(format!("{jobs} tasks on 1 thread")),
                JobTechnique::Processes => {
                    row.note(format!("start-up of {workers} worker processes included"))
                }
                JobTechnique::GilModel => {
                    let switches = CountData::of(&row).gil_switches.unwrap_or(0);
                    row.note(format!(
                        "a MODEL of CPython's GIL; {switches} lock hand-overs"
                    ));
                }
                JobTechnique::Mpi | JobTechnique::MpiStatic => {
                    let split = if t == JobTechnique::Mpi {
                        mpi::Split::Dynamic
                    } else {
                        mpi::Split::Static
                    };
                    MpiData::settle(&mut row);
                    row.note(mpi::note(split, workers as usize, &launch));
                }
                _ => {}
            }
            ctx.push(&mut result, row, events);
        },
    );
    ctx.push_skipped(&mut result, skipped);

    let baseline = result
        .rows
        .iter()
        .find(|r| {
            r.language == "rust"
                && r.technique == JobTechnique::Sequential.id()
                && r.status == Status::Ok
        })
        .filter(|r| r.median_s.is_some())
        .map(|r| r.samples_s.clone());
    match baseline {
        Some(b) => set_speedups(&mut result.rows, &b),
        None if !techniques.is_empty() => {
            ctx.line("(no sequential row: speedups need it, add --technique sequential)")
        }
        None => {}
    }
    let call = PeerCall::default()
        .flag("--n", args.n)
        .flag("--chunks", args.chunks);
    ctx.run_peers(
        &mut result,
        &args.common,
        &plan,
        call,
        |r| check_peer(r, args.chunks),
        |r| r.technique == "sequential" && r.param_str("chunk_type") != Some("float"),
    );
    // Counting only computes: more than `cores` times one loop is impossible on this
    // machine, unless the ranks ran on other machines (an MPI hostfile).
    if args.mpi.launch.hostfile.is_none() {
        result
            .rows
            .iter_mut()
            .for_each(|r| r.flag_beyond_cores(cores));
    }
    result.findings = params! {
        "logical_cpus" => cores,
        "baseline" => "sequential",
        "fastest" => fastest_by_language(&result.rows),
    };
    if let Some(f) = fresh_vs_shared(&result.rows) {
        ctx.line(format!(
            "Python sequential, int: {} a run in fresh interpreters, {} in the peer's own process ({:.2}×)",
            crate::units::secs(f.fresh_median_s),
            crate::units::secs(f.shared_median_s),
            f.shared_over_fresh
        ));
        result.findings.insert(
            "python_sequential_fresh_vs_shared".into(),
            serde_json::to_value(f).expect("findings serialise"),
        );
    }

    let params = [
        Column::new("workers", |r| {
            r.param_u64("workers")
                .map_or_else(String::new, |w| w.to_string())
        }),
        Column::new("chunks as", |r| {
            r.param_str("chunk_type").unwrap_or("int").to_string()
        }),
    ];
    ctx.print("");
    ctx.print(format!(
        "count: N = {} in {} chunks, {cores} logical CPUs",
        args.n,
        chunks.len()
    ));
    let extra: &[Column] = if result.rows.iter().any(|r| r.technique.starts_with("mpi")) {
        &MpiData::columns()
    } else {
        &[]
    };
    ctx.print(terminal::table(&result.rows, &params, extra).to_string());
    Ok(result)
}

/// Each language's fastest technique and its speedup, against that language's own
/// sequential row. Speedups of different languages have different baselines (Python's
/// loop is some hundred times slower than Rust's), so one winner across languages would
/// compare nothing; the languages are compared by the language-vs-technique claim.
/// Python's float-chunk rows are the paper's mixed-type comparison, not a technique,
/// so its fastest is taken over int chunks. Each Python interpreter is a language of
/// its own here (`python 3.13t`): a free-threaded build's threads are another story.
fn fastest_by_language(rows: &[Row]) -> Params {
    let mut fastest = Params::new();
    let mut languages: Vec<&str> = Vec::new();
    for r in rows {
        if !languages.contains(&r.language.as_str()) {
            languages.push(&r.language);
        }
    }
    for lang in languages {
        let best = rows
            .iter()
            .filter(|r| r.language == lang && r.status == Status::Ok)
            .filter(|r| r.param_str("chunk_type") != Some("float") && !r.beyond_cores())
            .filter_map(|r| Some((r, r.speedup?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((row, speedup)) = best {
            fastest.insert(
                lang.into(),
                params! {"technique" => row.technique, "speedup" => speedup}.into(),
            );
        }
    }
    fastest
}

/// Each Python column's int sequential and int threads rows: the loop alone, and the
/// same loop in threads, per interpreter and GIL setting.
fn gil_pairs(result: &ExperimentResult) -> Vec<GilPair<'_>> {
    let find = |lang: &str, technique: &str| {
        result.rows.iter().find(|r| {
            r.language == lang
                && r.technique == technique
                && r.param_str("chunk_type") != Some("float")
        })
    };
    crate::peers::python_columns(&result.rows)
        .into_iter()
        .map(|language| GilPair {
            language,
            single: find(language, "sequential"),
            threads: find(language, "threads"),
        })
        .collect()
}

/// CPython's count loop timed in fresh interpreters (the row's samples) and in the peer's
/// own process (its `in_process_samples_s`): the loop's speed depends on what the process
/// did before, which is why peer runs are fresh by default.
#[derive(Debug, Serialize)]
struct FreshVsShared {
    fresh_median_s: f64,
    shared_median_s: f64,
    /// The in-process median over the fresh one: under 1, the shared process was faster.
    shared_over_fresh: f64,
}

/// The fresh-vs-shared figures of Python's int sequential row, when both were measured.
fn fresh_vs_shared(rows: &[Row]) -> Option<FreshVsShared> {
    let row = rows.iter().find(|r| {
        r.language == "python"
            && r.technique == "sequential"
            && r.status == Status::Ok
            && r.param_str("chunk_type") != Some("float")
    })?;
    let fresh = row.median_s?;
    let shared =
        crate::measure::stats::Summary::of(&CountData::of(row).in_process_samples_s?)?.median;
    (fresh > 0.0).then(|| FreshVsShared {
        fresh_median_s: fresh,
        shared_median_s: shared,
        shared_over_fresh: shared / fresh,
    })
}

/// A peer's counters must all have reached zero (int chunks) or just below it (the
/// paper's float chunks stop at the first value at or under zero).
fn check_peer(row: &Row, chunks: u64) -> Result<(), String> {
    let remaining = CountData::parse(row)?
        .remaining
        .ok_or("no extra.remaining")?;
    let float = row.param_str("chunk_type") == Some("float");
    let fine = if float {
        remaining <= 0.0 && remaining > -(chunks as f64)
    } else {
        remaining == 0.0
    };
    if fine {
        Ok(())
    } else {
        Err(format!("the counters ended at {remaining}, not 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::assert_fixture_round_trips;

    #[test]
    fn the_fastest_technique_is_found_per_language() {
        let row = |lang: &str, t: &str, chunk: &str, speedup: f64| {
            let mut r = Row::new(lang, t, params! {"chunk_type" => chunk});
            r.speedup = Some(speedup);
            r
        };
        let rows = vec![
            row("rust", "sequential", "int", 1.0),
            row("rust", "threads", "int", 1.9),
            row("rust", "rayon", "int", 1.8),
            row("python", "sequential", "int", 1.0),
            row("python", "processes", "int", 1.6),
            // A float chunk row is not a technique, however fast.
            row("python", "threads", "float", 3.0),
            row("go", "goroutines", "int", 2.5),
        ];
        let fastest = serde_json::Value::Object(fastest_by_language(&rows));
        assert_eq!(
            fastest,
            serde_json::json!({
                "rust": {"technique": "threads", "speedup": 1.9},
                "python": {"technique": "processes", "speedup": 1.6},
                "go": {"technique": "goroutines", "speedup": 2.5},
            }),
            "Go's 2.5 is the largest, but each language keeps its own"
        );
        // A language without speedups (no sequential row) has no entry.
        let fastest = fastest_by_language(&rows[..3]);
        assert_eq!(fastest.keys().collect::<Vec<_>>(), ["rust"]);
    }

    #[test]
    fn rows_keep_their_json() {
        assert_fixture_round_trips::<CountData>("count");
    }

    #[test]
    fn fresh_and_in_process_medians_make_a_finding_only_when_both_exist() {
        let mut row = Row::new(
            "python",
            "sequential",
            crate::params! {"chunk_type" => "int"},
        )
        .with_samples(vec![1.0, 1.2, 1.1]);
        assert!(fresh_vs_shared(std::slice::from_ref(&row)).is_none());
        CountData {
            in_process_samples_s: Some(vec![0.7, 0.8, 0.75]),
            ..CountData::default()
        }
        .store(&mut row);
        let f = fresh_vs_shared(&[row]).unwrap();
        assert_eq!((f.fresh_median_s, f.shared_median_s), (1.1, 0.75));
        assert!((f.shared_over_fresh - 0.75 / 1.1).abs() < 1e-12);
    }

    #[test]
    fn peer_counters_are_checked_by_where_they_stopped() {
        let peer = |extra: serde_json::Value| {
            let mut row = Row::new("python", "threads", Params::new());
            row.extra = serde_json::from_value(extra).unwrap();
            check_peer(&row, 5)
        };
        assert_eq!(peer(serde_json::json!({"remaining": 0})), Ok(()));
        assert!(peer(serde_json::json!({"remaining": 7})).is_err());
        assert!(peer(serde_json::json!({})).is_err());
        // A wrong type is refused, with serde's why, rather than read as no value.
        let why = peer(serde_json::json!({"remaining": "0"})).unwrap_err();
        assert!(why.contains("invalid type"), "{why}");
    }
}
