//! From measured rows to advice: the ranking, the recommendation with its reason in
//! numbers, the model's fits and predictions, the document `--json` writes and
//! `--from` reads back.

use super::model::{self, Fit, Sweep};
use super::plan::Shape;
use super::{AdviseRow, WaitKind};
use crate::error::ParlabError;
use crate::measure::env::Environment;
use crate::report::terminal::{Column, table};
use crate::results::{Row, Status};
use crate::units::{bytes, ratio, secs, secs_ci};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// What `advise --json` writes (docs/DESIGN.md, "advise").
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdviceDoc {
    pub parlab_version: String,
    /// Always `advise`: tells this document from a results document.
    pub command: String,
    pub environment: Environment,
    pub shape: ShapeDoc,
    pub budget: BudgetDoc,
    /// `None` when no row finished.
    pub recommendation: Option<Recommendation>,
    /// Fastest first; rows without a time after them.
    pub rows: Vec<Row>,
    pub model: ModelDoc,
}

/// The workload, as asked and as measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShapeDoc {
    pub cpu_s: f64,
    pub wait_s: f64,
    pub wait_kind: WaitKind,
    /// Tasks asked for, and tasks each run measured (fewer when the budget cut them).
    pub tasks: u64,
    pub tasks_measured: u64,
    pub payload_bytes: u64,
    pub result_bytes: u64,
    pub workers: Vec<u64>,
    pub languages: Vec<String>,
    pub cores: u64,
    /// Rust's count loop, as calibrated for the CPU share.
    pub steps_per_s: f64,
    /// JSON round trip of one task and its answer, as a worker process pays it.
    pub copy_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BudgetDoc {
    pub limit_s: f64,
    pub estimated_s: f64,
    pub took_s: f64,
    pub runs: u32,
    pub warmup: u32,
    pub cuts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub language: String,
    pub technique: String,
    pub workers: Option<u64>,
    pub reason: String,
    /// The best row of each language measured, with its own reason.
    pub by_language: Vec<Pick>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    pub language: String,
    pub technique: String,
    pub workers: Option<u64>,
    pub median_s: f64,
    pub speedup: Option<f64>,
    pub reason: String,
}

/// The model beside the measurement: fits and what they predict, never measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModelDoc {
    #[serde(default)]
    pub fits: Vec<Value>,
    #[serde(default)]
    pub predictions: Vec<Prediction>,
    #[serde(default)]
    pub assumptions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub language: String,
    pub technique: String,
    pub workers: u64,
    pub tasks: u64,
    pub cores: u64,
    pub time_s: f64,
    /// `usl` (this machine) or `amdahl` (another core count).
    pub law: String,
    pub serial_fraction: Option<f64>,
}

/// Everything `build` needs besides the rows.
pub struct Measured<'a> {
    pub env: Environment,
    pub shape: &'a Shape,
    pub tasks_asked: u64,
    pub wait_kind: WaitKind,
    pub workers: &'a [u64],
    pub languages: Vec<String>,
    pub steps_per_s: f64,
    pub budget: BudgetDoc,
}

/// The document of a run: rows ranked, recommendation, model.
pub fn build(m: Measured, rows: Vec<Row>, predict_cores: Option<u64>) -> AdviceDoc {
    let shape = ShapeDoc {
        cpu_s: m.shape.cpu.as_secs_f64(),
        wait_s: m.shape.wait.as_secs_f64(),
        wait_kind: m.wait_kind,
        tasks: m.tasks_asked,
        tasks_measured: m.shape.tasks,
        payload_bytes: m.shape.payload_bytes,
        result_bytes: m.shape.result_bytes,
        workers: m.workers.to_vec(),
        languages: m.languages,
        cores: m.shape.cores,
        steps_per_s: m.steps_per_s,
        copy_s: m.shape.copy_s,
    };
    advise(
        AdviceDoc {
            parlab_version: env!("CARGO_PKG_VERSION").to_string(),
            command: super::ID.to_string(),
            environment: m.env,
            shape,
            budget: m.budget,
            recommendation: None,
            rows,
            model: ModelDoc::default(),
        },
        predict_cores,
    )
}

/// Ranks the rows and works out the recommendation and the model, from the rows and the
/// shape alone, so an earlier document (`--from`) gets the same advice.
fn advise(mut doc: AdviceDoc, predict_cores: Option<u64>) -> AdviceDoc {
    doc.rows.sort_by(|a, b| rank_key(a).total_cmp(&rank_key(b)));
    doc.model = model_of(&doc, predict_cores);
    doc.recommendation = recommend(&doc);
    doc
}

/// Rows with a time first, fastest first.
fn rank_key(row: &Row) -> f64 {
    match (row.status, row.median_s) {
        (Status::Ok, Some(m)) => m,
        _ => f64::INFINITY,
    }
}

/// Reads an earlier advise document; anything else is a usage error that says what the
/// file is instead.
pub fn reload(path: &Path, predict_cores: Option<u64>) -> Result<AdviceDoc, ParlabError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ParlabError::usage(format!("--from: cannot read {shown}: {e}")))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| ParlabError::usage(format!("--from: {shown} is not JSON: {e}")))?;
    if value.get("command").and_then(Value::as_str) != Some(super::ID) {
        let what = if value.get("experiments").is_some() {
            "a results document of reproduce or an experiment, which has no task shape to advise on"
        } else {
            "not an advise document"
        };
        return Err(ParlabError::usage(format!(
            "--from: {shown} is {what}; write one with parlab advise ... --json PATH"
        )));
    }
    let doc: AdviceDoc = serde_json::from_value(value).map_err(|e| {
        ParlabError::usage(format!("--from: {shown} is a damaged advise document: {e}"))
    })?;
    Ok(advise(doc, predict_cores))
}

/// The workers a row ran with, where it says.
fn workers(row: &Row) -> Option<u64> {
    row.param_u64("workers")
}

/// `threads (rust, 4 workers)`; a unit per task reads `one per task`.
fn label(row: &Row, tasks: u64) -> String {
    let w = match workers(row) {
        Some(1) if row.technique == "sequential" => String::new(),
        Some(w) if w == tasks && row.technique != "sequential" => ", one per task".into(),
        Some(w) => format!(", {w} workers"),
        None => String::new(),
    };
    let interp = row
        .param_str("interpreter")
        .map_or_else(String::new, |i| format!(" {i}"));
    format!("{} ({}{interp}{w})", row.technique, row.language)
}

/// How the shape reads in a word, from the share of its time that is CPU.
fn kind(shape: &ShapeDoc) -> &'static str {
    let total = shape.cpu_s + shape.wait_s;
    if total <= 0.0 {
        return "overhead-bound (no CPU, no wait)";
    }
    match shape.cpu_s / total {
        f if f >= 0.8 => "CPU-bound",
        f if f <= 0.2 => "wait-bound",
        _ => "mixed CPU and wait",
    }
}

fn ok_rows(doc: &AdviceDoc) -> impl Iterator<Item = &Row> {
    doc.rows
        .iter()
        .filter(|r| r.status == Status::Ok && r.median_s.is_some())
}

/// Whether `row` cannot be told from `fastest`: its median within 10 %, or with six
/// runs or more on both, 95 % intervals of the medians that overlap. (A range of three
/// noisy runs is no such evidence: one quick outlier would tie a row twice as slow.)
fn tied(row: &Row, fastest: &Row) -> bool {
    let (Some(m), Some(f)) = (row.median_s, fastest.median_s) else {
        return false;
    };
    m <= f * 1.1
        || row
            .median_ci_s
            .zip(fastest.median_ci_s)
            .is_some_and(|([lo, _], [_, hi])| lo <= hi)
}

/// The choice among `rows` (fastest first): the fastest, unless others tie with it;
/// then, for work that is at least a fifth CPU, the one that runs the most CPU shares
/// at once (it would use a core the others leave idle), then the least memory, then
/// the fastest. Returns the choice and, when it is not the fastest, the fastest.
fn choose<'a>(rows: &[&'a Row], shape: &ShapeDoc) -> Option<(&'a Row, Option<&'a Row>)> {
    let fastest = *rows.first()?;
    let cpu_share = shape.cpu_s / (shape.cpu_s + shape.wait_s).max(1e-12);
    let at_once = |r: &Row| {
        if cpu_share < 0.2 {
            return 0;
        }
        super::plan::cpu_at_once(
            &r.language,
            &r.technique,
            workers(r).unwrap_or(1),
            shape.tasks_measured,
            shape.cores,
        )
    };
    let pick = rows
        .iter()
        .copied()
        .filter(|r| tied(r, fastest))
        .min_by(|a, b| {
            at_once(b)
                .cmp(&at_once(a))
                .then(
                    a.peak_rss_bytes
                        .unwrap_or(u64::MAX)
                        .cmp(&b.peak_rss_bytes.unwrap_or(u64::MAX)),
                )
                .then(rank_key(a).total_cmp(&rank_key(b)))
        })
        .unwrap_or(fastest);
    Some((pick, (!std::ptr::eq(pick, fastest)).then_some(fastest)))
}

/// The choice over every language, with why in numbers; per language, its own.
fn recommend(doc: &AdviceDoc) -> Option<Recommendation> {
    let all: Vec<&Row> = ok_rows(doc).collect();
    let (best, beat) = choose(&all, &doc.shape)?;
    let mut by_language: Vec<Pick> = Vec::new();
    for language in all.iter().map(|r| r.language.as_str()) {
        if by_language.iter().any(|p| p.language == language) {
            continue;
        }
        let mine: Vec<&Row> = all
            .iter()
            .copied()
            .filter(|r| r.language == language)
            .collect();
        if let Some((row, beat)) = choose(&mine, &doc.shape) {
            by_language.push(Pick {
                language: row.language.clone(),
                technique: row.technique.clone(),
                workers: workers(row),
                median_s: row.median_s.unwrap_or_default(),
                speedup: row.speedup,
                reason: reason(doc, row, beat),
            });
        }
    }
    Some(Recommendation {
        language: best.language.clone(),
        technique: best.technique.clone(),
        workers: workers(best),
        reason: reason(doc, best, beat),
        by_language,
    })
}

/// Why `pick` is the choice for its language, in numbers: the shape, its time and
/// speedup, the runner-up, what processes paid for data, and for Python the GIL.
fn reason(doc: &AdviceDoc, pick: &Row, fastest: Option<&Row>) -> String {
    let s = &doc.shape;
    let tasks = s.tasks_measured;
    let median = pick.median_s.unwrap_or_default();
    let mut text = format!(
        "{} ({} CPU + {} wait a task, {} tasks{}): {} took {}",
        kind(s),
        some(s.cpu_s),
        some(s.wait_s),
        tasks,
        data_text(s),
        label(pick, tasks),
        secs_ci(median, pick.median_ci_s),
    );
    if let Some(sp) = pick.speedup.filter(|_| pick.technique != "sequential") {
        text += &format!(
            ", {} over {} sequential on {} cores",
            ratio(Some(sp)),
            pick.language,
            s.cores
        );
        if pick.beyond_cores() {
            text += " (more than the cores allow: the sequential run was slowed, so take the ranking, not this speedup)";
        }
    }
    if let Some(f) = fastest {
        let at_once = |r: &Row| {
            super::plan::cpu_at_once(
                &r.language,
                &r.technique,
                workers(r).unwrap_or(1),
                tasks,
                s.cores,
            )
        };
        let cpu_bound = s.cpu_s / (s.cpu_s + s.wait_s).max(1e-12) >= 0.2;
        let why = if cpu_bound && at_once(pick) > at_once(f) {
            format!(
                "for running {} tasks' CPU at once against {}",
                at_once(pick),
                at_once(f)
            )
        } else {
            let peak = |r: &Row| r.peak_rss_bytes.map_or_else(|| "–".into(), bytes);
            format!(
                "for its smaller peak memory ({} against {})",
                peak(pick),
                peak(f)
            )
        };
        text += &format!(
            "; as fast as {} within the noise ({}), and chosen {why}",
            label(f, tasks),
            secs(f.median_s.unwrap_or_default()),
        );
    }
    let same: Vec<&Row> = ok_rows(doc)
        .filter(|r| r.language == pick.language && !std::ptr::eq(*r, pick))
        .collect();
    // After a tie the fastest was named already.
    let next = same
        .iter()
        .find(|r| r.technique != pick.technique)
        .filter(|_| fastest.is_none());
    if let Some(next) = next {
        text += &format!(
            "; next {} at {}",
            label(next, tasks),
            times(next.median_s.unwrap_or_default(), median)
        );
    }
    // What a worker process pays for the data, where the data is not nothing.
    let processes = same.iter().find(|r| r.technique == "processes");
    if let Some(p) = processes.filter(|_| pick.technique != "processes")
        && s.payload_bytes + s.result_bytes > 0
    {
        if !next.is_some_and(|n| std::ptr::eq(*n, *p)) {
            text += &format!(
                "; {} at {}",
                label(p, tasks),
                times(p.median_s.unwrap_or_default(), median)
            );
        }
        text += &format!(", each task's data costing {} to serialise", secs(s.copy_s));
    }
    if crate::peers::base_language(&pick.language) == "python"
        && pick.technique == "processes"
        && pick.params.get("gil").and_then(Value::as_bool) != Some(false)
    {
        // A free-threaded interpreter that ran here says what its threads did; without
        // one, the advice can only point at it.
        let gil_free_threads = doc
            .rows
            .iter()
            .filter(|r| r.status == Status::Ok && r.technique == "threads")
            .filter(|r| r.params.get("gil").and_then(Value::as_bool) == Some(false))
            .min_by(|a, b| {
                a.median_s
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.median_s.unwrap_or(f64::MAX))
            });
        text += &match gil_free_threads {
            Some(t) => format!(
                "; without the GIL ({}) threads took {}",
                t.language,
                times(t.median_s.unwrap_or_default(), median)
            ),
            None => "; processes, unless a free-threaded interpreter is available (its threads would use every core without copying the data)".to_string(),
        };
    }
    if s.tasks_measured != s.tasks {
        text += &format!(
            " (measured with {} of the {} tasks)",
            s.tasks_measured, s.tasks
        );
    }
    text
}

/// A time, or `no` for none: `no CPU`, `no wait`.
fn some(t: f64) -> String {
    if t > 0.0 { secs(t) } else { "no".into() }
}

/// `{a}× slower` (or faster) of `t` against the pick's `base`.
fn times(t: f64, base: f64) -> String {
    if base <= 0.0 {
        return secs(t);
    }
    let r = t / base;
    if r >= 1.0 {
        format!("{} ({r:.2}× slower)", secs(t))
    } else {
        format!("{} ({:.2}× faster)", secs(t), 1.0 / r)
    }
}

fn data_text(s: &ShapeDoc) -> String {
    if s.payload_bytes + s.result_bytes == 0 {
        return String::new();
    }
    let part = |b: u64| {
        if b > 0 { bytes(b) } else { "nothing".into() }
    };
    format!(
        ", {} in, {} out",
        part(s.payload_bytes),
        part(s.result_bytes)
    )
}

/// Fits each technique with a sweep of worker counts, and predicts: on this machine at
/// twice the largest count measured and at the asked task count (USL), and with
/// `--predict-cores` on a machine of that many cores (Amdahl).
fn model_of(doc: &AdviceDoc, predict_cores: Option<u64>) -> ModelDoc {
    let s = &doc.shape;
    let mut sweeps: Vec<Sweep> = Vec::new();
    for row in ok_rows(doc) {
        let (Some(w), Some(m)) = (workers(row), row.median_s) else {
            continue;
        };
        if !super::swept(&row.language, &row.technique) {
            continue;
        }
        match sweeps
            .iter_mut()
            .find(|sw| sw.language == row.language && sw.technique == row.technique)
        {
            Some(sw) => sw.points.push((w, m)),
            None => sweeps.push(Sweep {
                language: row.language.clone(),
                technique: row.technique.clone(),
                points: vec![(w, m)],
            }),
        }
    }
    let mut out = ModelDoc::default();
    let scale = s.tasks as f64 / s.tasks_measured.max(1) as f64;
    for mut sweep in sweeps {
        sweep.points.sort_by_key(|p| p.0);
        let fit: Fit = model::fit(&sweep, s.cores);
        // USL here: at the count the law finds fastest, else twice the largest
        // measured; never at a count that was measured.
        let unmeasured = |w: u64| !sweep.points.iter().any(|p| p.0 == w);
        let largest = sweep.points.last().map_or(1, |p| p.0);
        let target = fit.usl.map(|u| {
            u.best_workers()
                .map_or(largest * 2, |b| b.round() as u64)
                .clamp(1, s.tasks.max(1))
        });
        if let (Some(usl), Some(w)) = (fit.usl, target.filter(|w| unmeasured(*w))) {
            out.predictions.push(Prediction {
                language: fit.language.clone(),
                technique: fit.technique.clone(),
                workers: w,
                tasks: s.tasks,
                cores: s.cores,
                time_s: usl.time(w as f64) * scale,
                law: "usl".into(),
                serial_fraction: Some(usl.sigma),
            });
        }
        if let (Some(cores), Some(a)) = (predict_cores, fit.amdahl) {
            let w = cores.min(s.tasks.max(1));
            out.predictions.push(Prediction {
                language: fit.language.clone(),
                technique: fit.technique.clone(),
                workers: w,
                tasks: s.tasks,
                cores,
                time_s: a.time(w as f64) * scale,
                law: "amdahl".into(),
                serial_fraction: Some(a.serial_fraction),
            });
        }
        out.fits
            .push(serde_json::to_value(&fit).expect("fits serialise"));
    }
    out.assumptions = vec![
        "predictions are not measurements: they extrapolate the laws fitted to this run's worker sweeps".into(),
        format!(
            "times scale in proportion to the task count (measured {}, predicted for {})",
            s.tasks_measured, s.tasks
        ),
        "usl: this machine, the same tasks, workers beyond those measured".into(),
        format!(
            "amdahl: cores as fast as these, the serial fraction fitted on at most {} workers (the cores here) holding on the larger machine, a worker per core, no memory-bandwidth, NUMA or network limit reached",
            s.cores
        ),
    ];
    out
}

/// The ranked table, the recommendation and the model, as the terminal shows them.
pub fn render(doc: &AdviceDoc) -> String {
    let s = &doc.shape;
    let rank = std::cell::Cell::new(0);
    let tasks = s.tasks_measured;
    let columns = [
        Column::new("#", |_| {
            rank.set(rank.get() + 1);
            rank.get().to_string()
        }),
        Column::new("workers", move |r: &Row| match workers(r) {
            Some(w) if w == tasks && r.technique != "sequential" => format!("{w} (per task)"),
            Some(w) => w.to_string(),
            None => "–".into(),
        }),
    ];
    let extra = [
        Column::new("CPU/task", |r: &Row| {
            r.data::<AdviseRow>()
                .cpu_per_task_s
                .map_or_else(|| "–".into(), secs)
        }),
        Column::new("CPU/run", |r: &Row| {
            r.data::<AdviseRow>()
                .cpu_total_s
                .map_or_else(|| "–".into(), secs)
        }),
    ];
    let mut out = format!(
        "advise: {} tasks of {} CPU then {} {}{} on {} cores; {} runs each ({} warm-up), {}",
        s.tasks_measured,
        some(s.cpu_s),
        some(s.wait_s),
        match s.wait_kind {
            WaitKind::Sleep => "sleep",
            WaitKind::Http => "HTTP wait",
        },
        data_text(s),
        s.cores,
        doc.budget.runs,
        doc.budget.warmup,
        if doc.budget.cuts.is_empty() {
            format!(
                "within the {} budget",
                crate::measure::estimate::approx(doc.budget.limit_s)
            )
        } else {
            format!(
                "cut to fit the {} budget: {}",
                crate::measure::estimate::approx(doc.budget.limit_s),
                doc.budget.cuts.join("; ")
            )
        }
    );
    out += &format!("\n{}\n", table(&doc.rows, &columns, &extra));
    match &doc.recommendation {
        Some(r) => {
            out += &format!(
                "\nRecommendation: {} ({})\n  {}\n",
                r.technique, r.language, r.reason
            );
            for p in r.by_language.iter().filter(|p| p.language != r.language) {
                out += &format!("Best in {}: {}\n  {}\n", p.language, p.technique, p.reason);
            }
        }
        None => out += "\nNo recommendation: no row finished.\n",
    }
    if !doc.model.predictions.is_empty() {
        out += "\nModel (predictions, not measured):\n";
        for p in &doc.model.predictions {
            let law = match p.law.as_str() {
                "usl" => format!("USL here, σ {:.3}", p.serial_fraction.unwrap_or_default()),
                _ => format!(
                    "Amdahl on {} cores, serial fraction {:.3}",
                    p.cores,
                    p.serial_fraction.unwrap_or_default()
                ),
            };
            out += &format!(
                "  {} ({}) at {} workers, {} tasks: ≈ {}  [{law}]\n",
                p.technique,
                p.language,
                p.workers,
                p.tasks,
                secs(p.time_s)
            );
        }
        out += &format!("  Assumptions: {}.\n", doc.model.assumptions.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(language: &str, technique: &str, workers: u64, samples: &[f64]) -> Row {
        let mut r = Row::new(language, technique, crate::params! {"workers" => workers})
            .with_samples(samples.to_vec());
        r.validated = true;
        r
    }

    fn doc(rows: Vec<Row>, cpu_s: f64, wait_s: f64, tasks: u64) -> AdviceDoc {
        AdviceDoc {
            parlab_version: "0".into(),
            command: "advise".into(),
            environment: Environment::capture(),
            shape: ShapeDoc {
                cpu_s,
                wait_s,
                wait_kind: WaitKind::Sleep,
                tasks,
                tasks_measured: tasks,
                payload_bytes: 1 << 20,
                result_bytes: 0,
                workers: vec![1, 2],
                languages: vec!["rust".into(), "python".into()],
                cores: 2,
                steps_per_s: 1e9,
                copy_s: 0.003,
            },
            budget: BudgetDoc {
                limit_s: 60.0,
                estimated_s: 1.0,
                took_s: 1.0,
                runs: 3,
                warmup: 0,
                cuts: vec![],
            },
            recommendation: None,
            rows,
            model: ModelDoc::default(),
        }
    }

    #[test]
    fn the_fastest_row_is_recommended_with_numbers_and_the_gil_caveat() {
        let mut rows = vec![
            row("rust", "sequential", 1, &[0.8, 0.8, 0.8]),
            row("rust", "threads", 2, &[0.41, 0.4, 0.42]),
            row("rust", "processes", 2, &[0.5, 0.5, 0.5]),
            row("python", "sequential", 1, &[0.8, 0.8, 0.8]),
            row("python", "processes", 2, &[0.45, 0.45, 0.45]),
            row("python", "threads", 8, &[0.8, 0.8, 0.8]),
        ];
        let base = rows[0].samples_s.clone();
        for r in &mut rows[..3] {
            r.set_speedup(&base);
        }
        let d = advise(doc(rows, 0.1, 0.0, 8), None);
        let r = d.recommendation.unwrap();
        assert_eq!(
            (r.language.as_str(), r.technique.as_str()),
            ("rust", "threads")
        );
        assert!(r.reason.starts_with("CPU-bound"), "{}", r.reason);
        assert!(
            r.reason
                .contains("1.95× over rust sequential on 2 cores; next processes"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("3.0 ms to serialise"), "{}", r.reason);
        let py = r
            .by_language
            .iter()
            .find(|p| p.language == "python")
            .unwrap();
        assert_eq!(py.technique, "processes");
        assert!(
            py.reason.contains("unless a free-threaded interpreter"),
            "{}",
            py.reason
        );
        // Ranked: fastest first.
        assert_eq!(d.rows[0].technique, "threads");
    }

    #[test]
    fn a_tie_goes_to_the_row_that_runs_more_cpu_at_once() {
        // A machine whose cores are taken: everything measures alike.
        let rows = vec![
            row("rust", "sequential", 1, &[0.80, 0.81, 0.86]),
            row("rust", "tokio-1", 8, &[0.82, 0.80, 0.85]),
            row("rust", "rayon", 2, &[0.81, 0.84, 0.88]),
        ];
        let d = advise(doc(rows, 0.1, 0.0, 8), None);
        let r = d.recommendation.unwrap();
        assert_eq!(r.technique, "rayon");
        assert!(r.reason.contains("within the noise"), "{}", r.reason);
        assert!(
            r.reason.contains("2 tasks' CPU at once against 1"),
            "{}",
            r.reason
        );
        // Clearly faster stays the choice.
        let rows = vec![
            row("rust", "sequential", 1, &[0.40, 0.41, 0.42]),
            row("rust", "rayon", 2, &[0.81, 0.84, 0.88]),
        ];
        let d = advise(doc(rows, 0.1, 0.0, 8), None);
        assert_eq!(d.recommendation.unwrap().technique, "sequential");
    }

    #[test]
    fn a_free_threaded_row_drops_the_caveat() {
        let mut p = row("python", "processes", 2, &[0.45, 0.45, 0.45]);
        p.params.insert("gil".into(), false.into());
        let d = advise(doc(vec![p], 0.1, 0.0, 8), None);
        assert!(!d.recommendation.unwrap().reason.contains("free-threaded"));
        // Processes picked on the GIL build while a free-threaded one ran: the reason
        // gives what its threads measured instead of pointing at one.
        let mut ft = row("python 3.13t", "threads", 8, &[0.5, 0.5, 0.5]);
        ft.params.insert("gil".into(), false.into());
        let rows = vec![row("python", "processes", 2, &[0.45, 0.45, 0.45]), ft];
        let reason = advise(doc(rows, 0.1, 0.0, 8), None)
            .recommendation
            .unwrap()
            .reason;
        assert!(
            reason
                .contains("; without the GIL (python 3.13t) threads took 500.0 ms (1.11× slower)"),
            "{reason}"
        );
        assert!(!reason.contains("unless a free-threaded"), "{reason}");
    }

    #[test]
    fn sweeps_are_fitted_and_predictions_labelled() {
        let rows = vec![
            row("rust", "threads", 1, &[0.8, 0.8, 0.8]),
            row("rust", "threads", 2, &[0.4, 0.4, 0.4]),
            row("rust", "threads", 4, &[0.4, 0.4, 0.4]),
        ];
        let d = advise(doc(rows, 0.1, 0.0, 8), Some(64));
        assert_eq!(d.model.fits.len(), 1);
        let amdahl = d
            .model
            .predictions
            .iter()
            .find(|p| p.law == "amdahl")
            .unwrap();
        assert_eq!((amdahl.cores, amdahl.workers), (64, 8));
        assert!(amdahl.serial_fraction.unwrap() < 0.01);
        assert!((amdahl.time_s - 0.1).abs() < 0.01, "{amdahl:?}");
        let text = render(&d);
        assert!(text.contains("predictions, not measured"), "{text}");
        assert!(text.contains("Amdahl on 64 cores"), "{text}");
    }
}
