//! Turning results into things people and programs read: terminal tables, JSON, CSV,
//! Markdown, an HTML page with SVG charts, and a Chrome trace.
//!
//! Every format reads the one `ResultsDoc`, and the Markdown and HTML tables share
//! [`row_cells`], so a number looks the same wherever it is read.

pub mod charts;
pub mod csv;
pub mod html;
pub mod markdown;
pub mod terminal;
pub mod trace;

use crate::error::ParlabError;
use crate::files::write_atomically;
use crate::results::{ResultsDoc, Row, Status};
use crate::units;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes the results document to `path`, or to stdout when `path` is `-`.
///
/// A file is written to a temporary name beside it and renamed into place, so a reader
/// (or an interrupted run) never sees half a document.
pub fn write_json(doc: &ResultsDoc, path: &Path) -> Result<(), ParlabError> {
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

/// Column headers of the per-experiment tables in the Markdown and HTML reports.
pub const ROW_HEADERS: [&str; 7] = [
    "technique",
    "language",
    "params",
    terminal::MEDIAN_HEADER,
    "min – max",
    terminal::SPEEDUP_HEADER,
    "notes",
];

/// One row's cells under [`ROW_HEADERS`], as plain text (each format escapes it).
///
/// Times of a row that did not run are dashes: a skipped row's leftover numbers would
/// read as a measurement.
pub fn row_cells(row: &Row) -> [String; 7] {
    let ok = row.status == Status::Ok;
    let or_dash = |text: Option<String>| text.filter(|_| ok).unwrap_or_else(|| "–".into());
    [
        row.technique.clone(),
        row.language.clone(),
        terminal::params_text(&row.params),
        or_dash(row.median_s.map(|m| units::secs_ci(m, row.median_ci_s))),
        or_dash(
            row.min_s
                .zip(row.max_s)
                .map(|(a, b)| format!("{} – {}", units::secs(a), units::secs(b))),
        ),
        or_dash(
            row.speedup
                .map(|s| units::ratio_ci(Some(s), row.speedup_ci)),
        ),
        terminal::notes(row),
    ]
}

/// An experiment's heading: its id, and its mode where it has one, so a timeline run and
/// a throughput run of `channel` are told apart.
pub fn experiment_title(exp: &crate::results::ExperimentResult) -> String {
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
        let row = Row::new("go", "goroutines", Default::default())
            .with_samples(vec![1.0, 2.0])
            .skipped("no Go toolchain");
        let cells = row_cells(&row);
        assert_eq!(cells[3], "–");
        assert_eq!(cells[4], "–");
        assert!(cells[6].contains("no Go toolchain"));
    }
}
