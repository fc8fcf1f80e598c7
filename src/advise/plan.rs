//! Which rows `advise` measures, and how many runs and tasks fit `--budget`.
//!
//! Every row's run time is estimated before anything runs, from the shape alone: the
//! tasks' CPU shared by the cores the technique can use, their waits by how many it
//! overlaps, plus what starting workers and copying data costs. The estimates are rough
//! (a factor of two), which is enough to choose runs and task counts; they are never
//! reported as results.

use crate::peers::Language;
use std::time::Duration;

/// The shape the user described, after calibration.
#[derive(Clone, Debug)]
pub struct Shape {
    pub cpu: Duration,
    pub wait: Duration,
    pub tasks: u64,
    pub payload_bytes: u64,
    pub result_bytes: u64,
    /// Serialising one task and its answer to JSON and back, as a worker process's
    /// pipe costs it, measured here.
    pub copy_s: f64,
    pub cores: u64,
    /// Wall time over CPU time of the calibration: how much a busy machine stretches
    /// everything but the waits.
    pub slowdown: f64,
}

/// One row to measure: a technique of a language at a number of workers.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub language: Lang,
    pub technique: &'static str,
    /// Workers, threads, processes or tasks at once, as the technique counts them.
    pub workers: u64,
    /// How many columns run the row: one, or for Python each interpreter (and each
    /// free-threaded one again with its GIL on).
    pub columns: u64,
}

/// A language of a row: Rust or a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Peer(Language),
}

impl Lang {
    pub fn id(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Peer(l) => l.id(),
        }
    }
}

/// Threads above this many are not started for a thread-per-task row: the row is
/// skipped, and the pools and async tasks answer for many tasks.
pub const MAX_THREADS_PER_TASK: u64 = 5_000;

/// How a technique uses the machine, for its estimate.
struct Use {
    /// Tasks whose CPU share can run at once.
    cpu_at_once: u64,
    /// Tasks whose waits overlap.
    waits_at_once: u64,
    /// Start-up per run (workers, processes).
    start_s: f64,
    /// Serial cost per task in the parent (copying data to worker processes).
    per_task_s: f64,
}

fn usage(language: Lang, technique: &str, workers: u64, shape: &Shape) -> Use {
    let (w, n) = (workers.max(1), shape.tasks.max(1));
    let all = |cpu_at_once, waits_at_once| Use {
        cpu_at_once,
        waits_at_once,
        start_s: 0.0,
        per_task_s: 0.0,
    };
    match (language, technique) {
        (_, "sequential") => all(1, 1),
        (Lang::Rust, "threads" | "rayon") | (Lang::Peer(Language::Go), "pool") => Use {
            start_s: w as f64 * 50e-6,
            ..all(w, w)
        },
        (Lang::Rust, "tokio") | (Lang::Peer(Language::Go), "goroutines") => all(shape.cores, n),
        (Lang::Rust, "tokio-1") => all(1, n),
        (Lang::Rust, "processes") => Use {
            start_s: w as f64 * 3e-3,
            per_task_s: shape.copy_s,
            ..all(w, w)
        },
        (Lang::Peer(Language::Python), "processes") => Use {
            start_s: w as f64 * 15e-3,
            per_task_s: shape.copy_s,
            ..all(w, w)
        },
        // One GIL: the CPU shares take turns, the waits overlap.
        (Lang::Peer(Language::Python), "threads" | "asyncio") => Use {
            start_s: n as f64 * 100e-6,
            ..all(1, n)
        },
        (Lang::Peer(Language::Python), "pool-threads") => all(1, w),
        _ => all(1, 1),
    }
}

/// How many tasks' CPU shares a row's technique runs at once, at most the cores: what
/// a tie between rows is broken by. On a machine whose cores others keep busy every
/// technique measures alike, and only this says which would use a free core.
pub fn cpu_at_once(language: &str, technique: &str, workers: u64, tasks: u64, cores: u64) -> u64 {
    let lang = match crate::peers::base_language(language) {
        "python" => Lang::Peer(Language::Python),
        "go" => Lang::Peer(Language::Go),
        _ => Lang::Rust,
    };
    let shape = Shape {
        cpu: Duration::ZERO,
        wait: Duration::ZERO,
        tasks,
        payload_bytes: 0,
        result_bytes: 0,
        copy_s: 0.0,
        cores,
        slowdown: 1.0,
    };
    usage(lang, technique, workers, &shape)
        .cpu_at_once
        .min(cores)
        .min(tasks)
}

/// One run of `row`, estimated.
pub fn run_estimate(row: &Planned, shape: &Shape) -> f64 {
    let u = usage(row.language, row.technique, row.workers, shape);
    let tasks = shape.tasks as f64;
    let cpu_cores = u.cpu_at_once.min(shape.cores).max(1) as f64;
    let rounds = (shape.tasks.div_ceil(u.waits_at_once.max(1))) as f64;
    shape.slowdown
        * (u.start_s + tasks * u.per_task_s + tasks * shape.cpu.as_secs_f64() / cpu_cores)
        + rounds * shape.wait.as_secs_f64()
}

/// Time outside the runs a row costs: a fresh interpreter or process per counted peer
/// run, whose warm-ups run inside it.
fn per_run_overhead(row: &Planned) -> f64 {
    match row.language {
        Lang::Rust => 0.0,
        Lang::Peer(Language::Python) => 0.15,
        Lang::Peer(Language::Go) => 0.01,
    }
}

/// A row's whole cost at `runs` counted and `warmup` discarded runs.
fn row_cost(row: &Planned, shape: &Shape, runs: u32, warmup: u32) -> f64 {
    let run = run_estimate(row, shape);
    row.columns.max(1) as f64
        * match row.language {
            Lang::Rust => run * f64::from(runs + warmup),
            // A fresh run does the warm-ups again in its own process.
            Lang::Peer(_) => {
                f64::from(runs)
                    * (run * f64::from(warmup + 1) + shape.slowdown * per_run_overhead(row))
            }
        }
}

/// What fits the budget: runs, warm-ups, tasks, and rows left out, with what was cut.
#[derive(Clone, Debug)]
pub struct Fitted {
    pub runs: u32,
    pub warmup: u32,
    pub tasks: u64,
    /// Rows left out, by index into the planned rows, with their estimate in seconds.
    pub dropped: Vec<(usize, f64)>,
    pub estimated_s: f64,
    /// What was cut to fit, in words.
    pub cuts: Vec<String>,
}

/// Counted runs tried from the most to the fewest that still give an interval (six
/// give a 95 % interval of the median; three give at least a spread).
const RUNS: [u32; 4] = [6, 5, 4, 3];
/// Each peer language's fixed cost: starting, calibrating, the Go build when cached.
const PEER_START_S: f64 = 1.0;
/// The share of the budget the estimates may fill: they are rough, and a busy machine
/// slows down further while parlab runs.
const MARGIN: f64 = 0.85;

/// Chooses runs, warm-ups and the task count so that the rows fit `budget`: first fewer
/// runs, then no warm-up, then fewer tasks (halving, never below twice the largest pool
/// or 8), then the slowest rows are dropped, the sequential baseline last. `runs` and
/// `warmup` given by the user are kept.
pub fn fit_budget(
    rows: &[Planned],
    shape: &Shape,
    budget: Duration,
    runs: Option<u32>,
    warmup: Option<u32>,
) -> Fitted {
    let limit = budget.as_secs_f64() * MARGIN;
    let peers = rows
        .iter()
        .filter_map(|r| match r.language {
            Lang::Peer(l) => Some(l),
            Lang::Rust => None,
        })
        .fold(Vec::new(), |mut seen, l| {
            if !seen.contains(&l) {
                seen.push(l);
            }
            seen
        })
        .len() as f64;
    let fixed = peers * PEER_START_S;
    let total = |shape: &Shape, runs: u32, warmup: u32| -> f64 {
        fixed
            + rows
                .iter()
                .map(|r| row_cost(r, shape, runs, warmup))
                .sum::<f64>()
    };
    let run_choices: Vec<u32> = runs.map_or(RUNS.to_vec(), |r| vec![r]);
    let warm_choices: Vec<u32> = warmup.map_or(vec![1, 0], |w| vec![w]);
    let mut cuts = Vec::new();
    // Fewer runs, then no warm-up.
    let mut choice = (
        run_choices[run_choices.len() - 1],
        warm_choices[warm_choices.len() - 1],
    );
    'search: for &w in &warm_choices {
        for &r in &run_choices {
            if total(shape, r, w) <= limit {
                choice = (r, w);
                break 'search;
            }
        }
    }
    let (runs, warmup) = choice;
    if runs != run_choices[0] {
        cuts.push(format!("runs per row {} → {runs}", run_choices[0]));
    }
    if warmup != warm_choices[0] {
        cuts.push(format!("warm-up runs {} → {warmup}", warm_choices[0]));
    }
    // Fewer tasks, keeping every pool busy.
    let floor = rows
        .iter()
        .filter(|r| r.workers < shape.tasks)
        .map(|r| r.workers * 2)
        .max()
        .unwrap_or(1)
        .max(8)
        .min(shape.tasks);
    let mut smaller = shape.clone();
    while total(&smaller, runs, warmup) > limit && smaller.tasks > floor {
        smaller.tasks = (smaller.tasks / 2).max(floor);
    }
    if smaller.tasks != shape.tasks {
        cuts.push(format!(
            "tasks {} → {} (the model scales the times back to {})",
            shape.tasks, smaller.tasks, shape.tasks
        ));
    }
    // The slowest rows, the sequential ones last.
    let mut dropped = Vec::new();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| {
            (
                rows[i].technique == "sequential",
                -row_cost(&rows[i], &smaller, runs, warmup),
            )
        };
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut estimated = total(&smaller, runs, warmup);
    for i in order {
        if estimated <= limit {
            break;
        }
        let cost = row_cost(&rows[i], &smaller, runs, warmup);
        estimated -= cost;
        dropped.push((i, run_estimate(&rows[i], &smaller)));
    }
    if !dropped.is_empty() {
        cuts.push(format!("{} slowest rows left out", dropped.len()));
    }
    Fitted {
        runs,
        warmup,
        tasks: smaller.tasks,
        dropped,
        estimated_s: estimated,
        cuts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(cpu_ms: u64, wait_ms: u64, tasks: u64) -> Shape {
        Shape {
            cpu: Duration::from_millis(cpu_ms),
            wait: Duration::from_millis(wait_ms),
            tasks,
            payload_bytes: 0,
            result_bytes: 0,
            copy_s: 0.0,
            cores: 2,
            slowdown: 1.0,
        }
    }

    fn rust(technique: &'static str, workers: u64) -> Planned {
        Planned {
            columns: 1,
            language: Lang::Rust,
            technique,
            workers,
        }
    }

    #[test]
    fn estimates_follow_what_each_technique_overlaps() {
        let s = shape(0, 50, 200);
        assert!((run_estimate(&rust("sequential", 1), &s) - 10.0).abs() < 1e-9);
        assert!((run_estimate(&rust("tokio", 200), &s) - 0.05).abs() < 1e-9);
        // A pool of 2 waits 100 times.
        assert!((run_estimate(&rust("threads", 2), &s) - 5.0).abs() < 0.01);
        let cpu = shape(100, 0, 8);
        // Two cores: 8 × 100 ms over two at best, whatever the workers.
        assert!((run_estimate(&rust("rayon", 8), &cpu) - 0.4).abs() < 0.01);
        assert!((run_estimate(&rust("tokio-1", 8), &cpu) - 0.8).abs() < 1e-9);
    }

    #[test]
    fn the_budget_cuts_runs_then_tasks_then_rows() {
        let rows = vec![
            rust("sequential", 1),
            rust("tokio", 200),
            rust("threads", 2),
        ];
        let s = shape(0, 50, 200);
        // Plenty: nothing cut.
        let f = fit_budget(&rows, &s, Duration::from_secs(1000), None, None);
        assert_eq!((f.runs, f.warmup, f.tasks), (6, 1, 200));
        assert!(f.cuts.is_empty() && f.dropped.is_empty());
        // 20 s: fewer runs and tasks.
        let f = fit_budget(&rows, &s, Duration::from_secs(20), None, None);
        assert_eq!(f.runs, 3);
        assert!(f.tasks < 200, "{f:?}");
        assert!(f.estimated_s <= 20.0, "{f:?}");
        assert!(
            f.cuts.iter().any(|c| c.starts_with("tasks 200 →")),
            "{:?}",
            f.cuts
        );
        // Too little even for the floor of tasks: rows go, the baseline last.
        let f = fit_budget(&rows, &s, Duration::from_millis(300), Some(3), Some(0));
        assert_eq!(f.runs, 3);
        assert!(f.dropped.iter().any(|(i, _)| *i == 0), "{f:?}");
        let f = fit_budget(&rows, &s, Duration::from_secs(4), Some(3), Some(0));
        assert!(f.dropped.iter().all(|(i, _)| *i != 0), "{f:?}");
    }
}
