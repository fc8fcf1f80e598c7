//! Tables and number formats for the terminal.

use super::Tone;
use crate::results::{Claim, Params, Row, Status};
use crate::units::{bytes, ratio_ci, secs, secs_ci};
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, presets,
};
use serde_json::Value;
use std::io::IsTerminal;

/// A row's parameters as `key=value, key=value` (strings unquoted), for tables and
/// chart labels where JSON punctuation would only add noise.
pub fn params_text(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Headers of the median and speedup columns, which carry a bracketed interval.
pub const MEDIAN_HEADER: &str = "median [95% CI]";
pub const SPEEDUP_HEADER: &str = "speedup [95% CI]";

/// An experiment-specific column: a header and how to fill it from a row.
pub struct Column<'a> {
    pub header: &'a str,
    pub value: Box<dyn Fn(&Row) -> String + 'a>,
}

impl<'a> Column<'a> {
    pub fn new(header: &'a str, value: impl Fn(&Row) -> String + 'a) -> Self {
        Column {
            header,
            value: Box::new(value),
        }
    }
}

/// The standard results table: technique, language, the experiment's own `params`
/// columns, median, min–max, speedup (each with its 95 % interval where there is one),
/// then `extra` columns, peak memory and notes.
///
/// Peak memory figures measured by different methods (`Row::memory_method`) do not
/// compare; when the table's rows mix methods, each figure gets a letter and the header
/// says which method each letter is.
pub fn table<'r>(
    rows: impl IntoIterator<Item = &'r Row>,
    params: &[Column],
    extra: &[Column],
) -> Table {
    let rows: Vec<&Row> = rows.into_iter().collect();
    let methods = memory_methods(&rows);
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let memory_header = if methods.len() > 1 {
        let legend: Vec<String> = methods
            .iter()
            .zip(MARKS)
            .map(|(m, mark)| format!("{mark}: {m}"))
            .collect();
        format!("peak mem (methods differ; {})", legend.join(", "))
    } else {
        "peak mem".to_string()
    };
    let mut header = vec!["technique", "language"];
    header.extend(params.iter().map(|c| c.header));
    header.extend([MEDIAN_HEADER, "min – max", SPEEDUP_HEADER]);
    header.extend(extra.iter().map(|c| c.header));
    header.extend([memory_header.as_str(), "notes"]);
    t.set_header(header);
    for row in rows {
        let mut cells = vec![Cell::new(&row.technique), Cell::new(&row.language)];
        cells.extend(params.iter().map(|c| Cell::new((c.value)(row))));
        let ok = row.status == Status::Ok;
        let num = |text: String| {
            Cell::new(if ok { text } else { "–".into() }).set_alignment(CellAlignment::Right)
        };
        cells.push(num(row
            .median_s
            .map_or_else(String::new, |m| secs_ci(m, row.median_ci_s))));
        cells.push(num(match (row.min_s, row.max_s) {
            (Some(a), Some(b)) => format!("{} – {}", secs(a), secs(b)),
            _ => String::new(),
        }));
        cells.push(num(ratio_ci(row.speedup, row.speedup_ci)));
        cells.extend(extra.iter().map(|c| num((c.value)(row))));
        let mark = methods
            .iter()
            .position(|m| *m == method_of(row))
            .filter(|_| methods.len() > 1)
            .map_or(String::new(), |i| format!(" {}", MARKS[i % MARKS.len()]));
        cells.push(num(row
            .peak_rss_bytes
            .map_or_else(|| "–".into(), |b| bytes(b) + &mark)));
        cells.push(Cell::new(notes(row)));
        t.add_row(cells);
    }
    t
}

/// Letters that tell apart the memory methods of one table's peak figures.
const MARKS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// How a row's peak was measured; rows from before the field existed say so.
fn method_of(row: &Row) -> &str {
    row.memory_method
        .as_deref()
        .unwrap_or("method not recorded")
}

/// The memory methods of the rows that show a peak, in first-seen order.
fn memory_methods<'r>(rows: &[&'r Row]) -> Vec<&'r str> {
    let mut seen: Vec<&str> = Vec::new();
    for row in rows {
        if row.status == Status::Ok && row.peak_rss_bytes.is_some() {
            let m = method_of(row);
            if !seen.contains(&m) {
                seen.push(m);
            }
        }
    }
    seen
}

/// How the claims table that ends `reproduce` is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimsLayout {
    /// Columns the table must fit in; a wider line would wrap into a mess on a terminal.
    pub width: u16,
    /// Each claim's evidence under its deciding number (`reproduce --verbose`).
    pub verbose: bool,
    /// Verdicts in colour.
    pub color: bool,
}

/// The width assumed where nothing says how wide the output is (a pipe, a log file).
pub const FALLBACK_WIDTH: u16 = 80;

impl ClaimsLayout {
    /// The layout for this process's stdout: `COLUMNS` when set (the user's say wins),
    /// else the terminal's width, else [`FALLBACK_WIDTH`]; colour only on a terminal and
    /// only without `NO_COLOR`, so a log file or a pipe never gets escape codes.
    pub fn for_stdout(verbose: bool) -> ClaimsLayout {
        let tty = std::io::stdout().is_terminal();
        let columns = std::env::var("COLUMNS").ok();
        // comfy-table asks the terminal, and only when stdout is one.
        let terminal = Table::new().width();
        ClaimsLayout {
            width: output_width(columns.as_deref(), terminal),
            verbose,
            color: color_wanted(tty, std::env::var_os("NO_COLOR").as_deref()),
        }
    }
}

/// `COLUMNS` when it is a positive number, else the terminal's width, else the fallback.
pub fn output_width(columns: Option<&str>, terminal: Option<u16>) -> u16 {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .or(terminal)
        .filter(|w| *w > 0)
        .unwrap_or(FALLBACK_WIDTH)
}

/// Colour on a terminal unless `NO_COLOR` is set to anything but the empty string
/// (<https://no-color.org>).
pub fn color_wanted(tty: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    tty && no_color.is_none_or(|v| v.is_empty())
}

/// The claims table that ends `reproduce`: the verdict first, so a reader scans down
/// it, then the claim's id and the number that decided it; with `verbose`, the evidence
/// under each. Every line fits `layout.width`: where the table's columns cannot shrink
/// that far, the claims are listed one per paragraph instead.
pub fn claims_table(claims: &[Claim], layout: &ClaimsLayout) -> String {
    if claims.is_empty() {
        return "No claim was checked in this run.".into();
    }
    // A table needs room for its borders and padding (3 or 4 bars, 2 spaces a column),
    // the verdicts and ids whole, and some room for the rest; else the list.
    let longest = |text: fn(&Claim) -> usize| claims.iter().map(text).max().unwrap_or(0);
    let verdicts = longest(|c| c.verdict.chars().count());
    let ids = longest(|c| c.id.chars().count());
    let need = if layout.verbose {
        7 + verdicts + (ids + 1).max(30)
    } else {
        10 + verdicts + ids + 16
    };
    if usize::from(layout.width) < need {
        return claims_list(claims, layout);
    }
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(layout.width)
        .force_no_tty();
    if layout.color {
        t.enforce_styling();
    }
    if layout.verbose {
        t.set_header(["verdict", "claim: deciding number, then the evidence"]);
        t.set_constraints([ColumnConstraint::ContentWidth]);
    } else {
        t.set_header(["verdict", "claim", "decided by"]);
        t.set_constraints([
            ColumnConstraint::ContentWidth,
            ColumnConstraint::ContentWidth,
        ]);
    }
    for c in claims {
        let verdict = verdict_cell(&c.verdict, layout.color);
        if layout.verbose {
            let head = match &c.decided_by {
                Some(number) => format!("{}: {number}", c.id),
                None => c.id.clone(),
            };
            t.add_row([
                verdict,
                Cell::new(format!("{head}\n{}{}", c.evidence, parts_lines(c))),
            ]);
        } else {
            t.add_row([verdict, Cell::new(&c.id), Cell::new(super::deciding(c))]);
        }
    }
    let text = t.to_string();
    if text
        .lines()
        .all(|l| display_width(l) <= usize::from(layout.width))
    {
        text
    } else {
        claims_list(claims, layout)
    }
}

/// The claims as paragraphs wrapped to `layout.width`, for a terminal too narrow for a
/// table's borders and padding.
fn claims_list(claims: &[Claim], layout: &ClaimsLayout) -> String {
    let width = usize::from(layout.width).max(1);
    let mut out = Vec::new();
    for c in claims {
        let verdict = c.verdict.to_uppercase();
        let head = match (&c.decided_by, layout.verbose) {
            (Some(number), _) => format!("{verdict} {}: {number}", c.id),
            (None, true) => format!("{verdict} {}", c.id),
            (None, false) => format!("{verdict} {}: {}", c.id, super::deciding(c)),
        };
        let mut lines = wrap(&head, width);
        // The verdict is the first word, and one never wraps within a line's first word
        // unless it alone is wider than the line.
        if let Some(sgr) = verdict_sgr(&c.verdict).filter(|_| layout.color)
            && let Some(rest) = lines[0].strip_prefix(&verdict)
        {
            lines[0] = format!("\x1b[{sgr}m{verdict}\x1b[0m{rest}");
        }
        out.extend(lines);
        if layout.verbose {
            out.extend(wrap(&c.evidence, width));
            for p in &c.parts {
                out.extend(wrap(&format!("  • {}", p.describe()), width));
            }
        }
    }
    out.join("\n")
}

/// Each part of a claim on a line of its own, for `--verbose`.
fn parts_lines(c: &Claim) -> String {
    c.parts
        .iter()
        .map(|p| format!("\n  • {}", p.describe()))
        .collect()
}

/// A verdict's cell: upper case, so it stands out even without colour, and coloured by
/// what it says where colour is on.
fn verdict_cell(verdict: &str, color: bool) -> Cell {
    let cell = Cell::new(verdict.to_uppercase());
    match (color, Tone::of(verdict)) {
        (true, Tone::Good) => cell.fg(Color::Green).add_attribute(Attribute::Bold),
        (true, Tone::Bad) => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        (true, Tone::Mixed) => cell.fg(Color::Yellow).add_attribute(Attribute::Bold),
        _ => cell,
    }
}

/// The same colours as [`verdict_cell`] as SGR parameters, for text outside a table.
fn verdict_sgr(verdict: &str) -> Option<&'static str> {
    match Tone::of(verdict) {
        Tone::Good => Some("1;32"),
        Tone::Bad => Some("1;31"),
        Tone::Mixed => Some("1;33"),
        Tone::Unknown => None,
    }
}

/// Columns a line takes on a terminal: escape sequences take none. Every character
/// parlab writes into a table (letters, box drawing, ×, –, →) takes one.
fn display_width(line: &str) -> usize {
    let mut width = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters, ended by a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            width += 1;
        }
    }
    width
}

/// Words filled into lines of at most `width` characters; a word longer than a line is
/// cut, since a line must never run over.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let line = lines.last_mut().expect("never empty");
            let used = line.chars().count();
            let room = if used == 0 {
                width
            } else {
                width.saturating_sub(used + 1)
            };
            if word.len() <= room {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(word);
                break;
            }
            if used == 0 {
                let rest = word.split_off(width);
                line.extend(word);
                word = rest;
            }
            lines.push(String::new());
        }
    }
    lines
}
/// The notes column: why a row failed or was skipped, then its remarks.
pub fn notes(row: &Row) -> String {
    let mut parts: Vec<String> = Vec::new();
    match row.status {
        Status::Error => parts.push(format!(
            "ERROR: {}",
            row.message.as_deref().unwrap_or("failed")
        )),
        Status::Skipped => parts.push(format!("skipped: {}", row.message.as_deref().unwrap_or(""))),
        Status::Interrupted => parts.push(format!(
            "INTERRUPTED: {}",
            row.message.as_deref().unwrap_or("")
        )),
        Status::Ok => {}
    }
    parts.extend(row.notes().into_iter().map(str::to_string));
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_read_as_key_value_pairs() {
        let p = crate::params! {"workers" => 4, "order" => "ascending", "chunksize" => None::<u64>};
        assert_eq!(
            params_text(&p),
            "chunksize=null, order=ascending, workers=4"
        );
    }

    fn claims() -> Vec<Claim> {
        let claim = |id: &str, verdict: &str, decided: Option<&str>| Claim {
            id: id.into(),
            paper_ref: "§3.3".into(),
            claim: "A claim of the paper.".into(),
            verdict: verdict.into(),
            evidence: format!(
                "the whole evidence of {id}, in several long words: {}",
                "measured ".repeat(12)
            ),
            decided_by: decided.map(str::to_string),
            parts: Vec::new(),
        };
        vec![
            claim(
                "cpu-threads-slower",
                "confirmed",
                Some("threads 0.93×, processes 1.61×"),
            ),
            claim(
                "goroutine-runs-until-blocks",
                "refuted",
                Some("waited 12.0 ms of a 200.0 ms spin"),
            ),
            claim(
                "imap-less-memory",
                "partly",
                Some("bytes per item, map → imap: rust 73 → 1, python 63 → 126"),
            ),
            Claim {
                evidence: "not measured: no go rows in sched".into(),
                ..claim("gomaxprocs-default", "not-tested", None)
            },
        ]
    }

    fn layout(width: u16, verbose: bool, color: bool) -> ClaimsLayout {
        ClaimsLayout {
            width,
            verbose,
            color,
        }
    }

    #[test]
    fn the_claims_table_fits_the_width_it_is_given() {
        for verbose in [false, true] {
            for width in [200, 100, 80, 60, 40, 24, 12] {
                let text = claims_table(&claims(), &layout(width, verbose, true));
                for line in text.lines() {
                    assert!(
                        display_width(line) <= usize::from(width),
                        "{width}: {line:?} in\n{text}"
                    );
                }
                // Nothing is lost: an id is whole on its line, or (narrower than the id)
                // cut at the line's end and continued on the next.
                let joined: String = text.split_whitespace().collect();
                for c in claims() {
                    assert!(joined.contains(&c.id), "{width}: {} in\n{text}", c.id);
                }
            }
        }
        let wide = claims_table(&claims(), &layout(100, false, false));
        let row = wide
            .lines()
            .find(|l| l.contains("cpu-threads-slower"))
            .unwrap();
        assert!(
            row.contains("CONFIRMED") && row.contains("threads 0.93×, processes 1.61×"),
            "{wide}"
        );
        let untested = wide
            .lines()
            .find(|l| l.contains("gomaxprocs-default"))
            .unwrap();
        // Without a deciding number, an untested claim says why it was not measured.
        assert!(
            untested.contains("NOT-TESTED") && untested.contains("┆ no go rows in sched"),
            "{wide}"
        );
    }

    #[test]
    fn verbose_adds_the_evidence() {
        let evidence = "whole evidence of cpu-threads-slower";
        let plain = claims_table(&claims(), &layout(80, false, false));
        assert!(!plain.contains("whole evidence"), "{plain}");
        let verbose = claims_table(&claims(), &layout(80, true, false));
        let flat = verbose
            .split(['│', '┆', '\n'])
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(evidence), "{verbose}");
        let narrow = claims_table(&claims(), &layout(12, true, false));
        assert!(
            narrow
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains("whole evidence of"),
            "{narrow}"
        );
    }

    #[test]
    fn verdicts_are_coloured_only_when_asked() {
        for width in [80, 12] {
            let coloured = claims_table(&claims(), &layout(width, false, true));
            assert!(
                coloured.contains("\x1b[") && coloured.contains("CONFIRMED"),
                "{coloured}"
            );
            let plain = claims_table(&claims(), &layout(width, false, false));
            assert!(!plain.contains('\x1b'), "{plain}");
        }
        let no_color = |v: &str| Some(std::ffi::OsStr::new(v).to_owned());
        assert!(color_wanted(true, None));
        assert!(!color_wanted(true, no_color("1").as_deref()));
        assert!(
            color_wanted(true, no_color("").as_deref()),
            "an empty NO_COLOR is unset"
        );
        assert!(!color_wanted(false, None), "no colour into a pipe or file");
    }

    #[test]
    fn the_width_comes_from_columns_then_the_terminal() {
        assert_eq!(output_width(Some("120"), Some(90)), 120);
        assert_eq!(output_width(Some("wide"), Some(90)), 90);
        assert_eq!(output_width(None, Some(90)), 90);
        assert_eq!(output_width(Some("0"), None), FALLBACK_WIDTH);
        assert_eq!(output_width(None, None), FALLBACK_WIDTH);
    }

    #[test]
    fn long_words_are_cut_to_the_line() {
        assert_eq!(wrap("ab cdefgh i", 3), ["ab", "cde", "fgh", "i"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(display_width("\x1b[1;32mOK\x1b[0m │"), 4);
    }

    #[test]
    fn a_peak_column_that_mixes_methods_says_so() {
        let row = |lang: &str, method: Option<&str>| {
            let mut r = Row::new(lang, "threads", Default::default()).with_samples(vec![1.0]);
            r.peak_rss_bytes = Some(8 << 20);
            r.memory_method = method.map(str::to_string);
            r
        };
        let same = [
            row("rust", Some("per-run-peak+children-sum")),
            row("go", Some("per-run-peak+children-sum")),
        ];
        let text = table(&same, &[], &[]).to_string();
        assert!(!text.contains("methods differ"), "{text}");
        let mixed = [
            row("rust", Some("per-run-peak+children-sum")),
            row("python", Some("lifetime-peak+children-sum")),
        ];
        let text = table(&mixed, &[], &[]).to_string();
        assert!(text.contains("methods differ"), "{text}");
        assert!(text.contains("a: per-run-peak+children-sum"), "{text}");
        assert!(
            text.contains("8.0 MiB a") && text.contains("8.0 MiB b"),
            "{text}"
        );
    }

    #[test]
    fn failed_rows_say_why() {
        let row = Row::new("rust", "processes", Default::default()).failed("worker 1 died");
        let text = table([&row], &[], &[]).to_string();
        assert!(text.contains("ERROR: worker 1 died"), "{text}");
    }
}
