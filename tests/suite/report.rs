//! The report files of `reproduce` (JSON, CSV, Markdown, HTML, Chrome trace) and
//! `parlab compare`, from the fixtures in tests/fixtures.

mod browser;

use crate::common::assert_usage_errors;
use parlab::experiments::channel::{ChannelData, ThroughputData};
use parlab::experiments::pool::PoolData;
use parlab::experiments::sched::SchedData;
use parlab::experiments::select::SelectData;
use parlab::experiments::waitgroup::WaitgroupData;
use parlab::report::{self, charts};
use parlab::results::{Params, ResultsDoc, Row, RowData, Status};
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

/// The typed values of sched, waitgroup, channel, select and pool read every row of the
/// fixture and write them back as the very same JSON: no key lost, renamed or retyped,
/// and the nulls a row has always carried still there.
#[test]
fn typed_values_write_the_fixture_s_rows_back_unchanged() {
    fn same<T: RowData>(row: &Row) {
        let who = format!("{} {} {:?}", row.language, row.technique, row.params);
        let data = T::parse(row).unwrap_or_else(|e| panic!("{who}: {e}"));
        // What every row carries, whichever experiment wrote it.
        let mut common = Row::new("", "", Params::new()).with_samples(vec![1.0, 2.0, 4.0]);
        common.note("");
        let mut back = row.clone();
        back.extra.retain(|k, _| common.extra.contains_key(k));
        data.store(&mut back);
        assert_eq!(back.extra, row.extra, "{who}");
    }
    let mut seen = HashSet::new();
    for exp in &fixture().experiments {
        let throughput = exp.params.get("mode").and_then(Value::as_str) == Some("throughput");
        let check: fn(&Row) = match (exp.experiment.as_str(), throughput) {
            ("channel" | "select", true) => same::<ThroughputData>,
            ("sched", _) => same::<SchedData>,
            ("waitgroup", _) => same::<WaitgroupData>,
            ("channel", _) => same::<ChannelData>,
            ("select", _) => same::<SelectData>,
            ("pool", _) => same::<PoolData>,
            _ => continue,
        };
        // Rows that did not run carry no values to write back.
        exp.rows
            .iter()
            .filter(|r| r.status == Status::Ok)
            .for_each(check);
        seen.insert((exp.experiment.clone(), throughput));
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
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

/// The HTML of the section `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let end = start + html[start..].find("</section>").expect("the section ends");
    &html[start..end]
}

#[test]
fn each_experiment_opens_with_what_this_run_found() {
    let (dir, doc, _) = written();
    let html = read(dir.path(), "report.html");
    let md = read(dir.path(), "report.md");
    for (id, exp) in report::section_ids(&doc).iter().zip(&doc.experiments) {
        let section = section(&html, id);
        let at = section
            .find("<p class=\"takeaway\"><strong>This run:</strong> ")
            .unwrap_or_else(|| panic!("no takeaway in {id}"));
        // At the top: under the heading, before the paper's gist, the charts and the table.
        for later in ["class=\"gist\"", "<figure", "<table"] {
            assert!(
                at < section.find(later).unwrap_or(usize::MAX),
                "{id}: {later}"
            );
        }
        let text = report::takeaway(&doc, exp).expect("every fixture experiment ran");
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(section.contains(&escaped), "{id}: {text}");
        // Markdown says the same (its cells escape brackets, so compare the words).
        let words = |s: &str| {
            s.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(
            words(&md).contains(&format!("This run {}", words(&text))),
            "{id}: {text}"
        );
    }
    // Built from the run's numbers: each language's best speedup with its interval and
    // the params it ran with, and the verdict of the experiment's claim with the number
    // that decided it; a claim of another experiment stays out.
    let count = section(&html, "count");
    assert!(
        count.contains(
            "Best speedup: Rust threads 3.86× (chunks=5, workers=5); \
             Python processes 1.76× [1.69, 1.83] (chunks=5, workers=5). \
             Claim: cpu-threads-slower confirmed (threads 0.92×, processes 1.76×).</p>"
        ),
        "{count}"
    );
    assert!(!count.contains("gomaxprocs"));
    assert!(section(&html, "sched").contains("Claim: gomaxprocs-default refuted."));
}

#[test]
fn tables_have_a_column_per_param_and_a_group_per_language() {
    let (dir, _, _) = written();
    let html = read(dir.path(), "report.html");
    let whole = section(&html, "count");
    let count = &whole[whole.find("<table").expect("a table")..];
    assert!(
        count.contains(
            "<th scope=\"col\">technique</th><th scope=\"col\">chunks</th><th scope=\"col\">workers</th><th scope=\"col\">median [95% CI]</th>"
        ),
        "{count}"
    );
    assert!(
        !count.contains("chunks=5") && !count.contains("workers=5"),
        "{count}"
    );
    // The hand-written python rows: threads with 5 chunks on 5 workers, as numbers.
    assert!(
        count.contains("<tr><td class=\"nowrap\">threads</td><td class=\"num\">5</td><td class=\"num\">5</td><td class=\"num\">2.630 s [2.551, 2.709]</td>"),
        "{count}"
    );
    let groups: Vec<&str> = count
        .split("<tr class=\"group\"><th colspan=\"7\" scope=\"colgroup\">")
        .skip(1)
        .map(|g| g.split('<').next().unwrap())
        .collect();
    assert_eq!(groups, ["rust", "python", "go"]);
    // Text params are columns too, kept on one line.
    let io = section(&html, "io");
    assert!(io.contains("<th scope=\"col\">how</th>"), "{io}");
    assert!(
        io.contains("<td class=\"nowrap\">one thread per site</td>"),
        "{io}"
    );
}

#[test]
fn claims_show_the_deciding_number_and_open_for_the_evidence() {
    let (dir, doc, _) = written();
    let html = read(dir.path(), "report.html");
    let claims = section(&html, "claims");
    assert!(claims.contains("<th>verdict</th><th>claim</th><th>decided by</th>"));
    assert_eq!(claims.matches("<details>").count(), doc.claims.len());
    let row = |id: &str| {
        let start = claims.find(&format!("<tr id=\"claim-{id}\">")).unwrap();
        &claims[start..start + claims[start..].find("</tr>").unwrap()]
    };
    let decided = row("cpu-threads-slower");
    assert!(decided.contains("<span class=\"verdict good\">confirmed</span>"));
    assert!(
        decided.contains("<summary>On CPU-bound work CPython threads lose to a plain loop, and processes win <span class=\"claim-id\">cpu-threads-slower · §2.4, Figure 2</span></summary>"),
        "{decided}"
    );
    assert!(decided.contains("<p class=\"evidence\">python threads 2.63 s against sequential 2.41 s; processes 1.37 s (hand-written fixture)</p><ul class=\"parts\">"), "{decided}");
    assert!(decided.contains("<td class=\"decided\">threads 0.92×, processes 1.76×</td>"));
    // Under the evidence, each part with its value, interval and threshold.
    assert!(
        decided.contains("<ul class=\"parts\"><li class=\"holds\">holds: Python threads&#39; speedup over one thread = 0.920 (95 % 0.880–0.960), holds below 1.10</li>"),
        "{decided}"
    );
    // A claim without a number, not measured: the why takes its place.
    let untested = row("goroutine-2kb");
    assert!(
        untested.contains("<td class=\"decided\">no Go toolchain: &lt;go&gt; rows skipped &amp; nothing measured</td>"),
        "{untested}"
    );
    // A document older than the deciding number shows a dash.
    assert!(row("gomaxprocs-default").contains("<td class=\"decided\">–</td>"));
    // Printed, the evidence is there without a click.
    let print = &html[html.find("@media print").unwrap()..];
    assert!(print.contains(".print-only { display: block; }"), "{print}");
    assert_eq!(
        claims.matches("<p class=\"evidence print-only\">").count(),
        doc.claims.len()
    );
}

#[test]
fn timelines_come_as_one_grid_per_figure() {
    let (dir, doc, _) = written();
    let html = read(dir.path(), "report.html");
    let map = doc
        .experiments
        .iter()
        .find(|e| e.experiment == "map")
        .unwrap();
    let timed: Vec<&str> = map
        .rows
        .iter()
        .enumerate()
        .filter(|(i, _)| map.events.iter().any(|e| e.row == *i))
        .map(|(_, r)| r.technique.as_str())
        .collect();
    let pools: HashSet<&str> = timed.iter().copied().collect();
    assert!(
        pools.len() < timed.len(),
        "the fixture has pools with several calls"
    );
    // One figure per pool, not one per row.
    let section = section(&html, "map");
    assert_eq!(section.matches("<svg").count(), pools.len());
    for pool in pools {
        assert!(
            section.contains(&format!("aria-label=\"map: {pool}\"")),
            "{pool}"
        );
    }
    // Charts scale down to the screen, never past it.
    assert!(html.contains("figure svg { display: block; max-width: 100%; height: auto;"));
}

#[test]
fn markdown_opens_with_the_claims_table() {
    let (dir, doc, _) = written();
    let md = read(dir.path(), "report.md");
    let claims = md.find("## Claims").expect("a claims section");
    assert!(md.contains("| id | verdict | decided by | claim | evidence |"));
    for c in &doc.claims {
        assert!(
            md.contains(&format!("| {} | **{}** |", c.id, c.verdict)),
            "{}",
            c.id
        );
    }
    assert!(md.contains("| cpu-threads-slower | **confirmed** | threads 0.92×, processes 1.76× |"));
    assert!(
        md.contains("(hand-written fixture)<br>• holds: Python threads' speedup over one thread = 0.920 (95 % 0.880–0.960), holds below 1.10<br>• holds: Python processes' speedup"),
        "{md}"
    );
    let first = md.find("## count").expect("a count section");
    assert!(claims < first);
    assert!(md.contains(
        "| language | technique | chunks | workers | median [95% CI] | min – max | speedup [95% CI] | notes |"
    ));
    // The hand-written rows have seven runs, so an interval; the real ones three.
    assert!(
        md.contains(r"| python | threads | 5 | 5 | 2.630 s \[2.551, 2.709\] |"),
        "{md}"
    );
    assert!(md.contains(r"0.92× \[0.88, 0.96\]"), "{md}");
    assert!(md.contains("no CI: 3 runs"), "{md}");
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
fn reproduce_ends_with_claims_that_fit_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let claims_of = |verbose: bool| {
        let mut cmd = crate::common::parlab();
        cmd.args(["reproduce", "--quiet", "--only", "waitgroup", "--out"])
            .arg(dir.path())
            .env("COLUMNS", "64")
            .env("NO_COLOR", "1");
        if verbose {
            cmd.arg("--verbose");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{stdout}");
        let from = stdout.find("Claims of the paper").expect("a claims table");
        let lines: Vec<String> = stdout[from..]
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        (stdout, lines)
    };
    let (stdout, lines) = claims_of(false);
    assert!(
        !stdout.contains('\x1b'),
        "escape codes into a pipe: {stdout}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 64, "wider than COLUMNS=64: {line}");
    }
    let table = lines.join("\n");
    // Every claim has its line with its verdict; the one measured here says what decided it.
    let doc: ResultsDoc = serde_json::from_str(&read(dir.path(), "results.json")).unwrap();
    for c in &doc.claims {
        let line = lines.iter().find(|l| l.contains(&format!(" {} ", c.id)));
        let line = line.unwrap_or_else(|| panic!("no {} in\n{table}", c.id));
        assert!(line.contains(&c.verdict.to_uppercase()), "{line}");
    }
    let measured = lines
        .iter()
        .position(|l| l.contains("main-kills-goroutines"))
        .expect("the waitgroup claim");
    // The claim's row: its first line and the wrapped ones under it, up to the next claim.
    let row: Vec<&str> = std::iter::once(lines[measured].as_str())
        .chain(
            lines[measured + 1..]
                .iter()
                .map(String::as_str)
                .take_while(|l| l.starts_with("│            ┆")),
        )
        .flat_map(|l| l.split(['│', '┆']).flat_map(str::split_whitespace))
        .collect();
    assert!(
        row.join(" ").contains("printed without waiting"),
        "no deciding number: {table}"
    );
    assert!(!table.contains("letters without waiting"), "{table}");
    let (_, lines) = claims_of(true);
    // The words in reading order, without the table's borders.
    let words: Vec<&str> = lines
        .iter()
        .flat_map(|l| l.split(['│', '┆']).flat_map(str::split_whitespace))
        .collect();
    let verbose = words.join(" ");
    assert!(
        verbose.contains("letters without waiting"),
        "no evidence: {verbose}"
    );
    assert!(lines.iter().all(|l| l.chars().count() <= 64), "{verbose}");
}

/// The table line of `technique` in `language` of count.
fn count_line(stdout: &str, technique: &str, language: &str) -> String {
    stdout
        .lines()
        .find(|l| {
            l.contains(&format!(" {technique} "))
                && l.contains(" count ")
                && l.contains(&format!(" {language} "))
        })
        .unwrap_or_else(|| panic!("no count {technique} {language} row in\n{stdout}"))
        .to_string()
}

#[test]
fn compare_prints_matched_rows_with_their_change() {
    let stdout =
        crate::common::stdout_of_success(["compare", SMALL, SMALL_NEW, "--threshold", "5"]);
    // The edited copy made python threads 10 % slower over seven runs a side (wholly
    // apart: exact p = 2/3432, times the 8 rows tested), and rust threads 25 % slower and
    // rayon 20 % faster over three, which no test can tell from noise.
    let line = |technique: &str, language: &str| count_line(&stdout, technique, language);
    let python = line("threads", "python");
    assert!(
        python.contains("+10.0% slower") && python.contains(" 0.002 ") && python.contains('!'),
        "{python}"
    );
    let threads = line("threads", "rust");
    assert!(
        threads.contains("~ too few runs (3 vs 3): +25.0% slower") && threads.contains('?'),
        "{threads}"
    );
    assert!(line("rayon", "rust").contains("~ too few runs (3 vs 3): −20.0% faster"));
    let same = line("sequential", "python");
    assert!(
        same.contains("~ no significant change") && !same.contains('!'),
        "{same}"
    );
    assert!(
        stdout.contains(
            "p: two-sided Mann-Whitney U test of the runs, Holm-Bonferroni adjusted within each experiment (8 rows tested in all); ~: no significant change at α = 0.05"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("only in {SMALL}:\n  count processes rust")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("only in {SMALL_NEW}:\n  count goroutines-1 go")),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "; 1 changed significantly by more than 5.0%, 2 more moved that far untested\n"
        ),
        "{stdout}"
    );
}

/// `compare` with `args` after the two files: (exit code, stdout).
fn compare(old: &Path, new: &Path, args: &[&str]) -> (i32, String) {
    let out = crate::common::parlab()
        .arg("compare")
        .args([old, new])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stdout)
}

#[test]
fn a_document_compared_with_itself_has_no_change_and_no_regression() {
    let small = Path::new(SMALL);
    let (code, stdout) = compare(small, small, &["--fail-on-regression", "0"]);
    assert_eq!(code, 0, "{stdout}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('│') && !l.contains("experiment"))
        .collect();
    assert_eq!(rows.len(), row_count(&fixture()), "{stdout}");
    for row in rows {
        // Every row that ran on both sides is '~'; the rest ('skipped') show a dash.
        assert!(
            row.contains('~') || row.contains("skipped"),
            "{row}\nin\n{stdout}"
        );
        assert!(
            !row.contains("% slower") && !row.contains("% faster"),
            "{row}"
        );
    }
    assert!(stdout.contains("~ no significant change"), "{stdout}");
    assert!(
        stdout.ends_with("0 significant slowdowns of more than 0.0%\n"),
        "{stdout}"
    );
}

#[test]
fn a_significant_slowdown_fails_only_under_fail_on_regression() {
    // python sequential in count, every run 30 % slower.
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(SMALL).unwrap()).unwrap();
    let rows = doc["experiments"][0]["rows"].as_array_mut().unwrap();
    let row = rows
        .iter_mut()
        .find(|r| r["language"] == "python" && r["technique"] == "sequential")
        .unwrap();
    let slower: Vec<f64> = row["samples_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap() * 1.3)
        .collect();
    row["median_s"] = (row["median_s"].as_f64().unwrap() * 1.3).into();
    row["samples_s"] = serde_json::json!(slower);
    let dir = tempfile::tempdir().unwrap();
    let slowed = dir.path().join("slowed.json");
    std::fs::write(&slowed, serde_json::to_string(&doc).unwrap()).unwrap();
    let small = Path::new(SMALL);

    let (code, stdout) = compare(small, &slowed, &[]);
    assert_eq!(
        code, 0,
        "without the flag a slowdown is reported, not failed"
    );
    assert!(
        count_line(&stdout, "sequential", "python").contains("+30.0% slower"),
        "{stdout}"
    );
    let (code, stdout) = compare(small, &slowed, &["--fail-on-regression", "5"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.ends_with(
            "1 significant slowdown of more than 5.0%: failing (--fail-on-regression)\n"
        ),
        "{stdout}"
    );
    // Beyond the limit only: 30 % is within 50 %.
    let (code, _) = compare(small, &slowed, &["--fail-on-regression", "50%"]);
    assert_eq!(code, 0);
    // Faster is never a regression.
    let (code, stdout) = compare(&slowed, small, &["--fail-on-regression", "5"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        count_line(&stdout, "sequential", "python").contains("−23.1% faster"),
        "{stdout}"
    );
    // A level so strict that seven runs a side cannot reach it: untested, so no failure.
    let (code, stdout) = compare(
        small,
        &slowed,
        &["--fail-on-regression", "5", "--alpha", "0.0001"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(
        count_line(&stdout, "sequential", "python").contains("~ too few runs (7 vs 7)"),
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
        (
            &["compare", SMALL, SMALL, "--alpha", "0"],
            "'0' is not a significance level",
        ),
        (
            &["compare", SMALL, SMALL, "--alpha", "1"],
            "not a significance level",
        ),
        (
            &["compare", SMALL, SMALL, "--alpha", "5%"],
            "not a significance level",
        ),
        (
            &["compare", SMALL, SMALL, "--alpha", "NaN"],
            "not a significance level",
        ),
        (
            &["compare", SMALL, SMALL, "--fail-on-regression", "lots"],
            "not a percentage",
        ),
        (
            &["compare", SMALL, SMALL, "--fail-on-regression=-5"],
            "not a percentage",
        ),
        (
            &["compare", SMALL, SMALL, "--fail-on-regression", "inf"],
            "not a percentage",
        ),
    ]);
}
