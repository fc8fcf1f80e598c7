//! The report files of `reproduce` (JSON, CSV, Markdown, HTML, Chrome trace) and
//! `parlab compare`, from the fixtures in tests/fixtures.

mod browser;

use crate::common::assert_usage_errors;
use parlab::report::{self, charts};
use parlab::results::ResultsDoc;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const SMALL: &str = "tests/fixtures/results-small.json";
const SMALL_NEW: &str = "tests/fixtures/results-small-new.json";
const FILES: [&str; 5] = [
    "results.json",
    "results.csv",
    "report.md",
    "report.html",
    "trace.json",
];

fn fixture() -> ResultsDoc {
    serde_json::from_str(&std::fs::read_to_string(SMALL).unwrap()).expect("the fixture parses")
}

/// The fixture's report, written once per test into its own folder.
fn written() -> (tempfile::TempDir, ResultsDoc, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let doc = fixture();
    let paths = report::write_all(&doc, dir.path()).expect("write_all");
    (dir, doc, paths)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn row_count(doc: &ResultsDoc) -> usize {
    doc.experiments.iter().map(|e| e.rows.len()).sum()
}

#[test]
fn write_all_writes_every_file_and_no_temporary_one() {
    let (dir, _, paths) = written();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, FILES);
    for path in &paths {
        assert!(path.starts_with(dir.path()));
        assert!(
            std::fs::metadata(path).unwrap().len() > 0,
            "{} is empty",
            path.display()
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !FILES.contains(&n.as_str()))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn results_json_reads_back_as_the_same_document() {
    let (dir, doc, _) = written();
    let back: ResultsDoc = serde_json::from_str(&read(dir.path(), "results.json")).unwrap();
    assert_eq!(back.experiments.len(), doc.experiments.len());
    assert_eq!(row_count(&back), row_count(&doc));
    assert_eq!(back.claims.len(), doc.claims.len());
}

#[test]
fn trace_is_chrome_trace_event_format() {
    let (dir, doc, _) = written();
    let trace: Value = serde_json::from_str(&read(dir.path(), "trace.json")).unwrap();
    let events = trace["traceEvents"]
        .as_array()
        .expect("object form with traceEvents");
    let mut named_threads = HashSet::new();
    let mut processes = 0;
    for e in events {
        let ph = e["ph"].as_str().expect("every event has ph");
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
        match ph {
            "M" => match e["name"].as_str().unwrap() {
                "process_name" => {
                    processes += 1;
                    assert!(e["args"]["name"].is_string());
                }
                "thread_name" => {
                    named_threads.insert((e["pid"].as_u64(), e["tid"].as_u64()));
                    assert!(e["args"]["name"].as_str().unwrap().contains(": "));
                }
                _ => {}
            },
            "X" | "i" => {
                assert!(e["ts"].as_f64().unwrap() >= 0.0, "{e}");
                assert!(e["name"].is_string(), "{e}");
                if ph == "X" {
                    assert!(e["dur"].as_f64().unwrap() >= 0.0, "{e}");
                }
                let thread = (e["pid"].as_u64(), e["tid"].as_u64());
                assert!(named_threads.contains(&thread), "unnamed thread {e}");
            }
            other => panic!("unexpected phase {other}"),
        }
    }
    assert_eq!(processes, doc.experiments.len());
    let count = |ph: &str| events.iter().filter(|e| e["ph"] == ph).count();
    assert!(count("X") > 0 && count("i") > 0);
    // Every event of the document is there, as a span's two ends or as an instant.
    let recorded: usize = doc.experiments.iter().map(|e| e.events.len()).sum();
    assert_eq!(2 * count("X") + count("i"), recorded);
}

#[test]
fn csv_has_one_record_per_row() {
    let (dir, doc, _) = written();
    let text = read(dir.path(), "results.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "experiment");
    assert_eq!(headers.len(), report::csv::HEADERS.len());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), row_count(&doc));
    for r in &records {
        let params: Value = serde_json::from_str(&r[3]).expect("params are JSON");
        assert!(params.is_object());
    }
    let skipped = records
        .iter()
        .find(|r| &r[4] == "skipped")
        .expect("a skipped row");
    assert_eq!(&skipped[6], "", "a skipped row has no median");
}

#[test]
fn html_is_one_self_contained_page() {
    let (dir, doc, _) = written();
    let html = read(dir.path(), "report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in report::section_ids(&doc) {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "no section {id}"
        );
    }
    assert!(
        html.contains("<section id=\"claims\">") && html.contains("<section id=\"environment\">")
    );
    let charts: usize = doc
        .experiments
        .iter()
        .map(|e| charts::charts(e, doc.environment.logical_cpus).len())
        .sum();
    assert!(
        charts >= doc.experiments.len(),
        "every experiment has a chart"
    );
    assert_eq!(html.matches("<svg").count(), charts);
    assert!(
        !html.contains("class=\"chart-error\""),
        "a chart failed to draw"
    );
    for address in ["http://", "https://", "src=", "<link", "<script", "@import"] {
        assert!(!html.contains(address), "the page refers to {address}");
    }
    // Claims first, verdicts coloured, and text from results escaped.
    assert!(html.find("id=\"claims\"") < html.find("id=\"count\""));
    assert!(html.contains("<span class=\"verdict good\">confirmed</span>"));
    assert!(html.contains("<span class=\"verdict bad\">refuted</span>"));
    assert!(html.contains("&lt;go&gt; rows skipped &amp; nothing measured"));
    assert!(!html.contains("<go>"));
    assert!(html.contains("@media print") && html.contains("overflow-x: auto"));
}

#[test]
fn markdown_opens_with_the_claims_table() {
    let (dir, doc, _) = written();
    let md = read(dir.path(), "report.md");
    let claims = md.find("## Claims").expect("a claims section");
    assert!(md.contains("| id | verdict | claim | evidence |"));
    for c in &doc.claims {
        assert!(
            md.contains(&format!("| {} | **{}** |", c.id, c.verdict)),
            "{}",
            c.id
        );
    }
    let first = md.find("## count").expect("a count section");
    assert!(claims < first);
    assert!(
        md.contains("| technique | language | params | median | min – max | speedup | notes |")
    );
    assert!(md.contains("## Environment"));
}

#[test]
fn reproduce_writes_the_whole_report() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = crate::common::stdout_of_success([
        "reproduce".as_ref(),
        "--quiet".as_ref(),
        "--only".as_ref(),
        "waitgroup".as_ref(),
        "--out".as_ref(),
        dir.path().as_os_str(),
    ]);
    for name in FILES {
        assert!(dir.path().join(name).is_file(), "no {name}");
        assert!(stdout.contains(name), "{name} not reported in {stdout}");
    }
}

#[test]
fn compare_prints_matched_rows_with_their_change() {
    let stdout =
        crate::common::stdout_of_success(["compare", SMALL, SMALL_NEW, "--threshold", "10"]);
    // The edited copy made rust threads 25 % slower and rayon 20 % faster.
    let line = |technique: &str| {
        stdout
            .lines()
            .find(|l| {
                l.contains(&format!(" {technique} "))
                    && l.contains(" count ")
                    && l.contains(" rust ")
            })
            .unwrap_or_else(|| panic!("no count {technique} row in\n{stdout}"))
            .to_string()
    };
    assert!(line("threads").contains("+25.0% slower") && line("threads").contains('!'));
    assert!(line("rayon").contains("−20.0% faster"));
    assert!(line("tokio").contains("±0.0%") && !line("tokio").contains('!'));
    assert!(
        stdout.contains(&format!("only in {SMALL}:\n  count processes rust")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("only in {SMALL_NEW}:\n  count goroutines-1 go")),
        "{stdout}"
    );
    assert!(
        stdout.contains("; 2 changed by more than 10.0%"),
        "{stdout}"
    );
}

#[test]
fn compare_refuses_missing_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "this is not JSON\n").unwrap();
    let wrong_shape = dir.path().join("wrong.json");
    std::fs::write(&wrong_shape, "{\"experiments\": 3}").unwrap();
    let missing = dir.path().join("missing.json");
    let (garbage, wrong_shape, missing) = (
        garbage.to_str().unwrap(),
        wrong_shape.to_str().unwrap(),
        missing.to_str().unwrap(),
    );
    assert_usage_errors(&[
        (&["compare", missing, SMALL], "cannot read"),
        (&["compare", SMALL, missing], "missing.json"),
        (
            &["compare", garbage, SMALL],
            "is not a parlab results document",
        ),
        (
            &["compare", SMALL, wrong_shape],
            "is not a parlab results document",
        ),
        (&["compare", SMALL], "required"),
        (
            &["compare", SMALL, SMALL, "--threshold", "lots"],
            "not a percentage",
        ),
    ]);
}
