//! Tables and number formats for the terminal.

use crate::results::{Claim, Params, Row, Status};
use crate::units::{bytes, ratio_ci, secs, secs_ci};
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use serde_json::Value;

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

/// The claims table that ends `reproduce`: verdict first, so a reader scans it.
pub fn claims_table(claims: &[Claim]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(["verdict", "claim", "paper", "evidence"]);
    for c in claims {
        t.add_row([
            Cell::new(c.verdict.to_uppercase()),
            Cell::new(format!("{}: {}", c.id, c.claim)),
            Cell::new(&c.paper_ref),
            Cell::new(&c.evidence),
        ]);
    }
    t
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
