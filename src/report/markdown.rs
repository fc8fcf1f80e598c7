//! `report.md`: the report as Markdown tables, for a pull request, a wiki or a terminal
//! pager. Claims come first because they are the answer; the tables are the evidence.

use super::{RowTable, deciding, experiment_title, takeaway};
use crate::results::ResultsDoc;
use std::fmt::Write;

pub fn render(doc: &ResultsDoc) -> String {
    let mut md = String::new();
    let env = &doc.environment;
    let _ = writeln!(md, "# parlab report\n");
    let _ = writeln!(
        md,
        "parlab {}, started {} on {} ({} logical CPUs).\n",
        cell(&doc.parlab_version),
        cell(&env.started_at),
        cell(&env.cpu_model),
        env.logical_cpus
    );

    let _ = writeln!(md, "## Claims\n");
    if doc.claims.is_empty() {
        let _ = writeln!(md, "No claim was checked in this run.\n");
    } else {
        table(
            &mut md,
            &["id", "verdict", "decided by", "claim", "evidence"],
            doc.claims.iter().map(|c| {
                vec![
                    cell(&c.id),
                    format!("**{}**", cell(&c.verdict)),
                    cell(&deciding(c)),
                    format!("{} ({})", cell(&c.claim), cell(&c.paper_ref)),
                    with_parts(c),
                ]
            }),
        );
    }

    for exp in &doc.experiments {
        let _ = writeln!(
            md,
            "## {} ({})\n",
            cell(&experiment_title(exp)),
            cell(&exp.paper_ref)
        );
        if let Some(text) = takeaway(doc, exp) {
            let _ = writeln!(md, "**This run:** {}\n", cell(&text));
        }
        if let Some(gist) = crate::experiments::info(&exp.experiment).map(|i| i.gist) {
            let _ = writeln!(md, "The paper: {gist}\n");
        }
        if exp.rows.is_empty() {
            let _ = writeln!(md, "No rows.\n");
            continue;
        }
        // Markdown has no row groups: the language is the first column instead, and the
        // rows come language by language.
        let rows = RowTable::of(exp);
        let mut headers = vec!["language".to_string()];
        headers.extend(rows.headers());
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        table(
            &mut md,
            &headers,
            rows.groups.iter().flat_map(|(language, group)| {
                group.iter().map(|r| {
                    std::iter::once(cell(language))
                        .chain(rows.cells(r).iter().map(|c| cell(c)))
                        .collect()
                })
            }),
        );
    }

    let _ = writeln!(md, "## Environment\n");
    table(
        &mut md,
        &["", ""],
        env.lines()
            .into_iter()
            .map(|(k, v)| vec![k.to_string(), cell(&v)]),
    );
    md
}

fn table(md: &mut String, headers: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let _ = writeln!(md, "| {} |", headers.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(headers.len()));
    for row in rows {
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    md.push('\n');
}

/// Text made safe for a table cell: a `|` would end the cell and a newline the row, and
/// `<`, `*`, `_` or a backtick from a message would turn into markup.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The evidence, then each part on its own line (a `<br>` keeps the table cell whole),
/// each escaped as a cell.
fn with_parts(c: &crate::results::Claim) -> String {
    let mut text = cell(&c.evidence);
    for p in &c.parts {
        text.push_str("<br>• ");
        text.push_str(&cell(&p.describe()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(cell("<b>x_y</b>"), "\\<b\\>x\\_y\\</b\\>");
    }
}
