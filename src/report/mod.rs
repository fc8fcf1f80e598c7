//! Turning results into things people and programs read: terminal tables, JSON, CSV,
//! Markdown, an HTML page with SVG charts, and a Chrome trace.
//!
//! Every format reads the one `ResultsDoc`, and the Markdown and HTML tables share
//! [`RowTable`] and [`takeaway`], so a number looks the same wherever it is read.

pub mod charts;
pub mod csv;
pub mod html;
pub mod markdown;
pub mod terminal;
pub mod trace;

use crate::error::ParlabError;
use crate::files::write_atomically;
use crate::results::{ExperimentResult, Params, ResultsDoc, Row, Status};
use crate::units;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes the results document (or `advise`'s) to `path`, or to stdout when `path` is `-`.
///
/// A file is written to a temporary name beside it and renamed into place, so a reader
/// (or an interrupted run) never sees half a document.
pub fn write_json<T: serde::Serialize>(doc: &T, path: &Path) -> Result<(), ParlabError> {
    let text = serde_json::to_string_pretty(doc).expect("results always serialise");
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|e| ParlabError::io("writing results to stdout", e));
    }
    write_atomically(path, text.as_bytes())
}

/// Writes every report file of `reproduce` into `dir` (which must exist) and returns
/// their paths in the order written.
///
/// Each file is replaced whole, so a report folder never mixes two runs' halves; the
/// JSON goes first, so whatever fails later, the measurements are kept.
pub fn write_all(doc: &ResultsDoc, dir: &Path) -> Result<Vec<PathBuf>, ParlabError> {
    let mut written = Vec::new();
    let json = dir.join("results.json");
    write_json(doc, &json)?;
    written.push(json);
    let trace =
        serde_json::to_string(&trace::chrome_trace(doc)).expect("a trace always serialises");
    let files: [(&str, Vec<u8>); 4] = [
        ("results.csv", csv::render(doc)),
        ("report.md", markdown::render(doc).into_bytes()),
        ("report.html", html::render(doc).into_bytes()),
        ("trace.json", trace.into_bytes()),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        write_atomically(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Headers of the number columns that close every per-experiment table in the Markdown
/// and HTML reports.
pub const NUMBER_HEADERS: [&str; 3] = [
    terminal::MEDIAN_HEADER,
    "min – max",
    terminal::SPEEDUP_HEADER,
];

/// An experiment's rows as the Markdown and HTML reports lay them out: a column per param
/// that tells rows apart (a reader compares `workers` down a column; `order=…, workers=…`
/// strings would have to be read one by one), grouped by language so each language's
/// rows sit together with their own baseline.
pub struct RowTable<'a> {
    /// The params whose values differ between rows that ran, in key order.
    pub param_keys: Vec<String>,
    /// Each language, in the order the rows first name it, with its rows in run order.
    pub groups: Vec<(String, Vec<&'a Row>)>,
}

impl<'a> RowTable<'a> {
    pub fn of(exp: &'a ExperimentResult) -> RowTable<'a> {
        let mut groups: Vec<(String, Vec<&Row>)> = Vec::new();
        for row in &exp.rows {
            match groups.iter_mut().find(|(l, _)| *l == row.language) {
                Some((_, rows)) => rows.push(row),
                None => groups.push((row.language.clone(), vec![row])),
            }
        }
        RowTable {
            param_keys: varying_params(exp),
            groups,
        }
    }

    /// Headers: technique, one per param column, the numbers, then notes.
    pub fn headers(&self) -> Vec<String> {
        let mut headers = vec!["technique".to_string()];
        headers.extend(self.param_keys.iter().map(|k| k.replace('_', " ")));
        headers.extend(NUMBER_HEADERS.map(String::from));
        headers.push("notes".into());
        headers
    }

    /// Whether column `i` of [`Self::headers`] holds numbers, to be lined up on the right.
    pub fn numeric(&self, i: usize) -> bool {
        let params = 1..1 + self.param_keys.len();
        if params.contains(&i) {
            let key = &self.param_keys[i - 1];
            self.groups
                .iter()
                .flat_map(|(_, rows)| rows)
                .filter_map(|r| r.params.get(key))
                .all(|v| v.is_number() || v.is_null())
        } else {
            (params.end..params.end + NUMBER_HEADERS.len()).contains(&i)
        }
    }

    /// One row's cells under [`Self::headers`], as plain text (each format escapes it).
    ///
    /// Times of a row that did not run are dashes: a skipped row's leftover numbers
    /// would read as a measurement.
    pub fn cells(&self, row: &Row) -> Vec<String> {
        let ok = row.status == Status::Ok;
        let or_dash = |text: Option<String>| text.filter(|_| ok).unwrap_or_else(|| "–".into());
        let mut cells = vec![row.technique.clone()];
        cells.extend(
            self.param_keys
                .iter()
                .map(|k| param_value(row.params.get(k))),
        );
        cells.push(or_dash(
            row.median_s.map(|m| units::secs_ci(m, row.median_ci_s)),
        ));
        cells.push(or_dash(
            row.min_s
                .zip(row.max_s)
                .map(|(a, b)| format!("{} – {}", units::secs(a), units::secs(b))),
        ));
        cells.push(or_dash(
            row.speedup
                .map(|s| units::ratio_ci(Some(s), row.speedup_ci)),
        ));
        cells.push(terminal::notes(row));
        cells
    }
}

/// The params whose values differ between the rows that ran (a key a row lacks counts as
/// null), so constant ones are said once above the table instead of in every row. Rows
/// that did not run are left out: a skipped peer row often carries no params at all.
pub fn varying_params(exp: &ExperimentResult) -> Vec<String> {
    let ran: Vec<&Row> = exp.rows.iter().filter(|r| r.status == Status::Ok).collect();
    if ran.is_empty() {
        varying_keys(&exp.rows.iter().collect::<Vec<_>>())
    } else {
        varying_keys(&ran)
    }
}

/// The params whose values differ among `rows` (a key a row lacks counts as null).
/// The interpreter's params are left out: a Python row's language column already says
/// them (`python 3.13t GIL=1`), and they would otherwise be columns of every table.
pub(crate) fn varying_keys(rows: &[&Row]) -> Vec<String> {
    let keys: BTreeSet<&String> = rows.iter().flat_map(|r| r.params.keys()).collect();
    keys.into_iter()
        .filter(|k| !crate::peers::INTERPRETER_PARAMS.contains(&k.as_str()))
        .filter(|k| {
            let values: BTreeSet<String> = rows
                .iter()
                .map(|r| r.params.get(*k).unwrap_or(&Value::Null).to_string())
                .collect();
            values.len() > 1
        })
        .cloned()
        .collect()
}

/// The params every row shares that the experiment's own params do not already say, as
/// `key=value` pairs, for the settings line above a table whose columns omit them.
pub fn shared_row_params(exp: &ExperimentResult) -> String {
    let varying = varying_params(exp);
    let Some(first) = exp.rows.iter().find(|r| r.status == Status::Ok) else {
        return String::new();
    };
    let shared: Params = first
        .params
        .iter()
        .filter(|(k, v)| !varying.contains(k) && exp.params.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    terminal::params_text(&shared)
}

/// A param's value as a table cell: text bare, lists comma-separated, null or missing a
/// dash.
pub fn param_value(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "–".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| param_value(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// What this run found in one experiment, in a sentence or two built from its numbers:
/// the best speedup of each language (with its interval and the params that set it
/// apart from the rows it beat), then the verdicts of the claims the experiment tests
/// with the numbers that decided them. An experiment with neither gets each language's
/// fastest median. `None` when nothing ran.
pub fn takeaway(doc: &ResultsDoc, exp: &ExperimentResult) -> Option<String> {
    let table = RowTable::of(exp);
    let ran = |rows: &[&'_ Row], keep: &dyn Fn(&Row) -> bool| -> Vec<usize> {
        (0..rows.len())
            .filter(|&i| rows[i].status == Status::Ok && keep(rows[i]))
            .collect()
    };
    let mut sentences = Vec::new();
    let mut best = Vec::new();
    let mut fastest = Vec::new();
    for (language, rows) in &table.groups {
        // Against the rows of its language with a speedup, the baseline among them,
        // which is 1× by definition and so never the finding.
        let timed = ran(rows, &|r| r.speedup.is_some());
        let top = timed
            .iter()
            .copied()
            .filter(|&i| rows[i].technique != "sequential")
            .max_by(|&a, &b| {
                rows[a]
                    .speedup
                    .unwrap_or(0.0)
                    .total_cmp(&rows[b].speedup.unwrap_or(0.0))
            });
        if let Some(i) = top {
            let r = rows[i];
            let number = units::ratio_ci(r.speedup, r.speedup_ci);
            best.push(finding(
                language,
                r,
                &number,
                &timed.iter().map(|&i| rows[i]).collect::<Vec<_>>(),
            ));
        }
        let measured = ran(rows, &|r| r.median_s.is_some());
        let quickest = measured.iter().copied().min_by(|&a, &b| {
            rows[a]
                .median_s
                .unwrap_or(0.0)
                .total_cmp(&rows[b].median_s.unwrap_or(0.0))
        });
        if let Some(i) = quickest {
            let r = rows[i];
            let number = units::secs_ci(r.median_s.unwrap_or(0.0), r.median_ci_s);
            fastest.push(finding(
                language,
                r,
                &number,
                &measured.iter().map(|&i| rows[i]).collect::<Vec<_>>(),
            ));
        }
    }
    if !best.is_empty() {
        sentences.push(format!("Best speedup: {}.", best.join("; ")));
    }
    let tested = crate::experiments::info(&exp.experiment).map_or(&[][..], |i| i.claims);
    let verdicts: Vec<String> = doc
        .claims
        .iter()
        .filter(|c| tested.iter().any(|spec| spec.id == c.id))
        .map(|c| match &c.decided_by {
            Some(number) => format!("{} {} ({number})", c.id, c.verdict),
            None => format!("{} {}", c.id, c.verdict.replace('-', " ")),
        })
        .collect();
    if !verdicts.is_empty() {
        let noun = if verdicts.len() == 1 {
            "Claim"
        } else {
            "Claims"
        };
        sentences.push(format!("{noun}: {}.", verdicts.join("; ")));
    }
    if sentences.is_empty() && !fastest.is_empty() {
        sentences.push(format!("Fastest: {}.", fastest.join("; ")));
    }
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

/// `Rust threads 3.86× (workers=4)`: a row picked among `among`, with the params that
/// tell it from them.
fn finding(language: &str, row: &Row, number: &str, among: &[&Row]) -> String {
    let telling = varying_keys(among);
    let params: Params = row
        .params
        .iter()
        .filter(|(k, _)| telling.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let params = match terminal::params_text(&params) {
        text if text.is_empty() => text,
        text => format!(" ({text})"),
    };
    format!(
        "{} {} {number}{params}",
        language_name(language),
        row.technique
    )
}

/// A language as a sentence names it: `rust` becomes `Rust`.
fn language_name(language: &str) -> String {
    let mut chars = language.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// An experiment's heading: its id, and its mode where it has one, so a timeline run and
/// a throughput run of `channel` are told apart.
pub fn experiment_title(exp: &ExperimentResult) -> String {
    match exp.params.get("mode").and_then(serde_json::Value::as_str) {
        Some(mode) => format!("{} ({mode})", exp.experiment),
        None => exp.experiment.clone(),
    }
}

/// Section ids for the experiments, unique even when one experiment appears twice (a
/// timeline run and a throughput run of `channel`, say): the second gets `-2`.
pub fn section_ids(doc: &ResultsDoc) -> Vec<String> {
    let exps = &doc.experiments;
    exps.iter()
        .enumerate()
        .map(|(i, exp)| {
            let slug: String = exp
                .experiment
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            match exps[..i]
                .iter()
                .filter(|e| e.experiment == exp.experiment)
                .count()
            {
                0 => slug,
                earlier => format!("{slug}-{}", earlier + 1),
            }
        })
        .collect()
}

/// What a claims table shows beside a verdict: the number that decided it; for a claim
/// that was not measured, why not; else a dash (a document from before claims carried
/// their number).
pub fn deciding(claim: &crate::results::Claim) -> String {
    match &claim.decided_by {
        Some(number) => number.clone(),
        None if Tone::of(&claim.verdict) == Tone::Unknown => claim
            .evidence
            .strip_prefix("not measured: ")
            .unwrap_or(&claim.evidence)
            .to_string(),
        None => "–".into(),
    }
}

/// What a verdict says, for its colour in the page and on the terminal. Verdict words
/// are the claims module's; this reads the common stems so a new word (or an older
/// document's) still gets a sensible colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Mixed,
    Unknown,
}

impl Tone {
    pub fn of(verdict: &str) -> Tone {
        let v = verdict.to_ascii_lowercase();
        let has = |stems: &[&str]| stems.iter().any(|s| v.contains(s));
        if has(&[
            "partly", "partial", "mixed", "nuanced", "depends", "outdated",
        ]) {
            Tone::Mixed
        } else if has(&[
            "refut",
            "contradict",
            "false",
            "wrong",
            "not confirmed",
            "disproved",
        ]) {
            Tone::Bad
        } else if has(&["confirm", "holds", "support", "true", "reproduced"]) {
            Tone::Good
        } else {
            Tone::Unknown
        }
    }

    /// The page's CSS class for it.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Mixed => "mixed",
            Tone::Unknown => "unknown",
        }
    }
}

/// A document around `experiments` on a made-up machine, for unit tests.
#[cfg(test)]
pub(crate) fn doc_for_tests(experiments: Vec<crate::results::ExperimentResult>) -> ResultsDoc {
    let env = serde_json::json!({"cpu_model": "test CPU", "logical_cpus": 2, "os": "test OS", "kernel": "0",
        "rustc": "rustc", "python": null, "go": null, "loadavg_1m": 0.0, "started_at": "2026-01-01T00:00:00Z"});
    ResultsDoc::new(
        serde_json::from_value(env).expect("a valid environment"),
        experiments,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ExperimentResult;

    #[test]
    fn repeated_experiments_get_distinct_ids() {
        let exp = |id: &str| ExperimentResult::new(id, "", Default::default());
        let doc = doc_for_tests(vec![
            exp("channel"),
            exp("pool"),
            exp("channel"),
            exp("a b"),
        ]);
        assert_eq!(section_ids(&doc), ["channel", "pool", "channel-2", "a-b"]);
    }

    #[test]
    fn verdicts_get_tones() {
        assert_eq!(Tone::of("confirmed"), Tone::Good);
        assert_eq!(Tone::of("Refuted"), Tone::Bad);
        assert_eq!(Tone::of("partly confirmed"), Tone::Mixed);
        assert_eq!(Tone::of("not measured").class(), "unknown");
    }

    #[test]
    fn rows_that_did_not_run_show_no_numbers() {
        let mut exp = ExperimentResult::new("count", "", Params::new());
        let ran = Row::new("rust", "threads", crate::params! {"workers" => 2});
        exp.push(ran.with_samples(vec![1.0, 1.2]), Vec::new());
        let skipped = Row::new("go", "goroutines", crate::params! {"workers" => 4})
            .with_samples(vec![1.0, 2.0])
            .skipped("no Go toolchain");
        exp.push(skipped, Vec::new());
        let table = RowTable::of(&exp);
        // Only one row ran, so `workers` tells no rows apart: it is said above the table.
        assert!(table.param_keys.is_empty());
        assert_eq!(shared_row_params(&exp), "workers=2");
        let cells = table.cells(&exp.rows[1]);
        assert_eq!(cells[1..4], ["–", "–", "–"]);
        assert!(cells[4].contains("no Go toolchain"));
    }

    #[test]
    fn params_get_a_column_each_and_rows_group_by_language() {
        let mut exp = ExperimentResult::new("pool", "", crate::params! {"max_fib" => 32});
        let row = |lang: &str, t: &str, w: u64, order: &str| {
            let p = crate::params! {"workers" => w, "order" => order, "max_fib" => 32, "job_kind" => "fib"};
            Row::new(lang, t, p).with_samples(vec![1.0])
        };
        for r in [
            row("rust", "threads", 1, "ascending"),
            row("python", "processes", 1, "ascending"),
            row("rust", "threads", 2, "largest-first"),
        ] {
            exp.push(r, Vec::new());
        }
        let table = RowTable::of(&exp);
        assert_eq!(table.param_keys, ["order", "workers"]);
        assert_eq!(table.headers()[..3], ["technique", "order", "workers"]);
        assert!(!table.numeric(1) && table.numeric(2) && table.numeric(3));
        assert!(!table.numeric(table.headers().len() - 1), "notes");
        let languages: Vec<(&str, usize)> = table
            .groups
            .iter()
            .map(|(l, rows)| (l.as_str(), rows.len()))
            .collect();
        assert_eq!(languages, [("rust", 2), ("python", 1)]);
        assert_eq!(
            table.cells(table.groups[0].1[1])[..3],
            ["threads", "largest-first", "2"]
        );
        // max_fib is the experiment's own; job_kind is said once, above the table.
        assert_eq!(shared_row_params(&exp), "job_kind=fib");
        assert_eq!(param_value(Some(&serde_json::json!([1, "a"]))), "1, a");
        assert_eq!(param_value(None), "–");
    }

    #[test]
    fn a_takeaway_is_built_from_the_run_s_numbers() {
        let mut exp = ExperimentResult::new("count", "", Params::new());
        let row = |lang: &str, t: &str, workers: u64, speedup: f64, ci: Option<[f64; 2]>| {
            let mut r = Row::new(lang, t, crate::params! {"workers" => workers, "n" => 10})
                .with_samples(vec![1.0 / speedup]);
            r.speedup = Some(speedup);
            r.speedup_ci = ci;
            r
        };
        for r in [
            row("rust", "sequential", 1, 1.0, None),
            row("rust", "threads", 4, 3.86, None),
            row("rust", "rayon", 2, 1.11, None),
            row("python", "sequential", 1, 1.0, None),
            row("python", "threads", 4, 0.92, Some([0.88, 0.96])),
            row("python", "processes", 4, 1.76, Some([1.69, 1.83])),
            // Without a speedup: its other `n` does not tell the speedups apart.
            Row::new("rust", "probe", crate::params! {"n" => 5}).with_samples(vec![2.0]),
            Row::new("go", "goroutines", Params::new()).skipped("no Go"),
        ] {
            exp.push(r, Vec::new());
        }
        let mut doc = doc_for_tests(vec![exp]);
        let claim = |id: &str, verdict: &str, decided: Option<&str>| crate::results::Claim {
            id: id.into(),
            paper_ref: String::new(),
            claim: String::new(),
            verdict: verdict.into(),
            evidence: "e".into(),
            decided_by: decided.map(str::to_string),
            parts: Vec::new(),
        };
        doc.claims = vec![
            claim(
                "cpu-threads-slower",
                "confirmed",
                Some("threads 0.92×, processes 1.76×"),
            ),
            claim("float-chunks-confound", "not-tested", None),
            // Another experiment's claim stays out of this one's takeaway.
            claim("gomaxprocs-default", "refuted", Some("default 2 on 2 CPUs")),
        ];
        let text = takeaway(&doc, &doc.experiments[0]).unwrap();
        assert_eq!(
            text,
            "Best speedup: Rust threads 3.86× (workers=4); Python processes 1.76× [1.69, 1.83] (workers=4). \
             Claims: cpu-threads-slower confirmed (threads 0.92×, processes 1.76×); float-chunks-confound not tested."
        );
        // Without speedups or claims, the fastest row of each language.
        let mut exp = ExperimentResult::new("no-such-experiment", "", Params::new());
        exp.push(
            Row::new("rust", "a", Params::new()).with_samples(vec![0.5]),
            Vec::new(),
        );
        exp.push(
            Row::new("rust", "b", Params::new()).with_samples(vec![0.25]),
            Vec::new(),
        );
        let doc = doc_for_tests(vec![exp]);
        assert_eq!(
            takeaway(&doc, &doc.experiments[0]).as_deref(),
            Some("Fastest: Rust b 250.0 ms.")
        );
        let nothing = doc_for_tests(vec![ExperimentResult::new("x", "", Params::new())]);
        assert_eq!(takeaway(&nothing, &nothing.experiments[0]), None);
    }
}
