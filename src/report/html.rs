//! `report.html`: the whole report as one page that works offline and forever.
//!
//! Everything is inline (CSS, SVG charts) and the page names no other resource, so it
//! can be mailed, archived or opened on a machine without network and look the same.
//! Every piece of text that comes from results (messages, params, evidence, even lane
//! names) is escaped: a worker's error message is data, never markup.

use super::charts::{self, Chart};
use super::{RowTable, Tone, deciding, experiment_title, section_ids, shared_row_params, takeaway};
use crate::results::{ResultsDoc, Status};
use std::fmt::Write;

const STYLE: &str = r#"
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --head: #f3f4f6;
  --good: #1e7b34; --bad: #b3261e; --mixed: #8a5a00; --unknown: #5f6368; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 0 1.2rem 3rem;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 1.6rem; margin: 1rem 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.4rem 0 .4rem; padding-bottom: .2rem; border-bottom: 1px solid var(--line); }
h2 small { font-weight: normal; color: var(--muted); font-size: .85rem; }
a { color: #1a5fb4; }
.meta, .params { color: var(--muted); font-size: .9rem; margin: .2rem 0; }
.gist { font-style: italic; margin: .3rem 0 .8rem; color: var(--muted); }
.takeaway { margin: .5rem 0 .4rem; padding: .45rem .7rem; background: #eef4fb; border-left: 4px solid #1a5fb4;
  border-radius: 0 4px 4px 0; }
nav { display: flex; flex-wrap: wrap; gap: .2rem .9rem; font-size: .9rem; padding: .4rem 0; background: #fff; }
@media (min-width: 700px) { nav { position: sticky; top: 0; z-index: 1; border-bottom: 1px solid var(--line); } }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .6rem 0 1rem; }
table { border-collapse: collapse; font-size: .85rem; min-width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: var(--head); white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
tr.group th { background: #fff; font-size: .9rem; padding-top: .7rem; border-bottom: 2px solid var(--line); }
tr.error td { background: #fdecea; }
tr.skipped td { color: var(--muted); }
.verdict { display: inline-block; padding: .05rem .55rem; border-radius: .8rem; color: #fff;
  font-weight: 600; font-size: .8rem; white-space: nowrap; }
.verdict.good { background: var(--good); } .verdict.bad { background: var(--bad); }
.verdict.mixed { background: var(--mixed); } .verdict.unknown { background: var(--unknown); }
.tally { margin: .3rem 0; }
.tally .verdict { margin-right: .3rem; }
table.claims td.claim { width: 62%; min-width: 18rem; }
table.claims td.decided { font-variant-numeric: tabular-nums; min-width: 10rem; }
table.claims details { margin: 0; font-size: inherit; }
table.claims summary { cursor: pointer; }
.claim-id { color: var(--muted); font-size: .78rem; white-space: nowrap; }
.evidence { margin: .3rem 0 .1rem; color: #333; }
ul.parts { margin: .2rem 0 .3rem; padding-left: 1.2rem; font-size: .9em; color: #333; }
ul.parts li.fails { color: #a40000; }
ul.parts li.inconclusive, ul.parts li.not-measured { color: #6b5900; }
.print-only { display: none; }
figure { margin: .8rem 0; max-width: 100%; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
.chart-error { color: var(--bad); }
details { margin: .4rem 0; font-size: .85rem; }
pre { overflow-x: auto; background: var(--head); padding: .6rem; border-radius: 4px; }
@media (max-width: 600px) {
  body { padding: 0 .6rem 2rem; font-size: 14px; }
  h2 { font-size: 1.15rem; }
  /* The claims as cards: three columns do not fit a phone, and a claim scrolled half
     out of sight is not read. */
  table.claims, table.claims tbody, table.claims tr, table.claims td { display: block; min-width: 0; width: auto; }
  table.claims thead { display: none; }
  table.claims tr { padding: .5rem 0; border-bottom: 1px solid var(--line); }
  table.claims td, table.claims td.claim, table.claims td.decided { border: none; padding: .15rem 0; width: auto; min-width: 0; }
  table.claims td.decided::before { content: "decided by: "; color: var(--muted); }
}
@media print {
  nav, details.findings { display: none; }
  * { position: static !important; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  .scroll { overflow: visible; }
  table { font-size: 8.5pt; }
  figure, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  table.claims summary { list-style: none; }
  table.claims summary::-webkit-details-marker { display: none; }
  details .evidence, .screen-only { display: none; }
  .print-only { display: block; }
  .claim-id { font-size: 7.5pt; }
  td.nowrap { white-space: normal; }
  .verdict, .takeaway, tr.error td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

pub fn render(doc: &ResultsDoc) -> String {
    let ids = section_ids(doc);
    let env = &doc.environment;
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(h, "<title>parlab report, {}</title>", esc(&env.started_at));
    let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>");
    h.push_str("<header>\n<h1>parlab report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"meta\">parlab {}, started {} on {} ({} logical CPUs, {}).</p>",
        esc(&doc.parlab_version),
        esc(&env.started_at),
        esc(&env.cpu_model),
        env.logical_cpus,
        esc(&env.os)
    );
    h.push_str("</header>\n<nav><a href=\"#claims\">claims</a>");
    for (exp, id) in doc.experiments.iter().zip(&ids) {
        let _ = write!(h, "<a href=\"#{id}\">{}</a>", esc(&experiment_title(exp)));
    }
    h.push_str("<a href=\"#environment\">environment</a></nav>\n");

    claims(&mut h, doc);
    for (exp, id) in doc.experiments.iter().zip(&ids) {
        let _ = writeln!(
            h,
            "<section id=\"{id}\">\n<h2>{} <small>{}</small></h2>",
            esc(&experiment_title(exp)),
            esc(&exp.paper_ref)
        );
        if let Some(text) = takeaway(doc, exp) {
            let _ = writeln!(
                h,
                "<p class=\"takeaway\"><strong>This run:</strong> {}</p>",
                esc(&text)
            );
        }
        if let Some(gist) = crate::experiments::info(&exp.experiment).map(|i| i.gist) {
            let _ = writeln!(h, "<p class=\"gist\">The paper: {}</p>", esc(gist));
        }
        let settings = [
            super::terminal::params_text(&exp.params),
            shared_row_params(exp),
        ];
        let settings: Vec<&String> = settings.iter().filter(|s| !s.is_empty()).collect();
        if !settings.is_empty() {
            let settings: Vec<&str> = settings.into_iter().map(String::as_str).collect();
            let _ = writeln!(
                h,
                "<p class=\"params\">Settings: {}</p>",
                esc(&settings.join(", "))
            );
        }
        for chart in charts::charts(exp, env.logical_cpus) {
            figure(&mut h, chart);
        }
        rows_table(&mut h, exp);
        if !exp.findings.is_empty() {
            let json = serde_json::to_string_pretty(&exp.findings).expect("findings serialise");
            let _ = writeln!(
                h,
                "<details class=\"findings\"><summary>findings</summary><pre>{}</pre></details>",
                esc(&json)
            );
        }
        h.push_str("</section>\n");
    }

    h.push_str(
        "<section id=\"environment\">\n<h2>Environment</h2>\n<div class=\"scroll\"><table>\n",
    );
    for (k, v) in env.lines() {
        let _ = writeln!(
            h,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            esc(k),
            esc(&v)
        );
    }
    h.push_str("</table></div>\n</section>\n</body>\n</html>\n");
    h
}

/// The claims: how many got each verdict, then one line each with the verdict, the
/// claim, the number that decided it and where the paper makes it; the full evidence
/// opens under the claim (`<details>`, no script), and print shows it open.
fn claims(h: &mut String, doc: &ResultsDoc) {
    h.push_str("<section id=\"claims\">\n<h2>Claims</h2>\n");
    if doc.claims.is_empty() {
        h.push_str("<p>No claim was checked in this run.</p>\n</section>\n");
        return;
    }
    let mut tally: Vec<(&str, usize)> = Vec::new();
    for c in &doc.claims {
        match tally.iter_mut().find(|(v, _)| *v == c.verdict) {
            Some((_, n)) => *n += 1,
            None => tally.push((&c.verdict, 1)),
        }
    }
    // Good news first, then mixed, bad, and what could not be told.
    let order = [Tone::Good, Tone::Mixed, Tone::Bad, Tone::Unknown];
    tally.sort_by_key(|(v, _)| order.iter().position(|t| *t == Tone::of(v)));
    let _ = write!(
        h,
        "<p class=\"tally\">{} claims checked against this run:",
        doc.claims.len()
    );
    for (verdict, n) in tally {
        let _ = write!(
            h,
            " <span class=\"verdict {}\">{n} {}</span>",
            Tone::of(verdict).class(),
            esc(verdict)
        );
    }
    h.push_str(" <span class=\"screen-only\">Open a claim for its evidence.</span></p>\n");
    h.push_str("<div class=\"scroll\"><table class=\"claims\">\n<thead><tr><th>verdict</th><th>claim</th><th>decided by</th></tr></thead>\n<tbody>\n");
    for c in &doc.claims {
        let evidence = esc(&c.evidence);
        // Each part with its value, interval and threshold, under the evidence.
        let parts: String = c
            .parts
            .iter()
            .map(|p| {
                format!(
                    "<li class=\"{}\">{}</li>",
                    esc(&p.outcome),
                    esc(&p.describe())
                )
            })
            .collect();
        let parts = if parts.is_empty() {
            parts
        } else {
            format!("<ul class=\"parts\">{parts}</ul>")
        };
        let _ = writeln!(
            h,
            "<tr id=\"claim-{id}\"><td><span class=\"verdict {}\">{}</span></td>\
             <td class=\"claim\"><details><summary>{} <span class=\"claim-id\">{id} · {}</span></summary>\
             <p class=\"evidence\">{evidence}</p>{parts}</details><p class=\"evidence print-only\">{evidence}</p></td>\
             <td class=\"decided\">{}</td></tr>",
            Tone::of(&c.verdict).class(),
            esc(&c.verdict),
            esc(&c.claim),
            esc(&c.paper_ref),
            esc(&deciding(c)),
            id = esc(&c.id),
        );
    }
    h.push_str("</tbody></table></div>\n</section>\n");
}

/// The rows under a column per param that varies, a group per language.
fn rows_table(h: &mut String, exp: &crate::results::ExperimentResult) {
    if exp.rows.is_empty() {
        h.push_str("<p>No rows.</p>\n");
        return;
    }
    let table = RowTable::of(exp);
    let headers = table.headers();
    h.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for header in &headers {
        let _ = write!(h, "<th scope=\"col\">{}</th>", esc(header));
    }
    h.push_str("</tr></thead>\n");
    for (language, rows) in &table.groups {
        let _ = writeln!(
            h,
            "<tbody><tr class=\"group\"><th colspan=\"{}\" scope=\"colgroup\">{}</th></tr>",
            headers.len(),
            esc(language)
        );
        for row in rows {
            let class = match row.status {
                Status::Ok => String::new(),
                // An interrupted row failed to finish, as an error row did.
                Status::Interrupted => " class=\"error\"".to_string(),
                other => format!(" class=\"{}\"", other.id()),
            };
            let _ = write!(h, "<tr{class}>");
            for (i, cell) in table.cells(row).iter().enumerate() {
                // Numbers line up on the right; the technique and text params are short
                // names that read badly broken over two lines.
                let class = if table.numeric(i) {
                    " class=\"num\""
                } else if (0..=table.param_keys.len()).contains(&i) {
                    " class=\"nowrap\""
                } else {
                    ""
                };
                let _ = write!(h, "<td{class}>{}</td>", esc(cell));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n");
    }
    h.push_str("</table></div>\n");
}

fn figure(h: &mut String, chart: Result<Chart, String>) {
    match chart {
        Ok(chart) => {
            let _ = writeln!(
                h,
                "<figure>{}</figure>",
                inline_svg(&chart.svg, &chart.title)
            );
        }
        Err(why) => {
            let _ = writeln!(h, "<p class=\"chart-error\">{}</p>", esc(&why));
        }
    }
}

/// A standalone SVG made fit to sit inside the page: the `xmlns` attribute a standalone
/// file needs is dropped (HTML knows `<svg>` already, and the page must not name any
/// address), and the picture is labelled for screen readers.
fn inline_svg(svg: &str, title: &str) -> String {
    let svg = svg
        .replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
        .replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(title)),
            1,
        );
    // Chart labels come from results and may hold a URL (io with --url).
    svg.replace("://", "&#58;//")
}

/// Text for element content and quoted attributes. `://` is written with its colon as a
/// character reference: it reads the same, but the page then holds no address that a
/// browser, a mail filter or a crawler could follow or fetch.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out.replace("://", "&#58;//")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_names_no_address() {
        assert_eq!(esc("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(
            esc("see https://example.org"),
            "see https&#58;//example.org"
        );
    }

    #[test]
    fn inline_svg_loses_its_namespace_address() {
        let svg = "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" xmlns=\"http://www.w3.org/2000/svg\">\n<text>http://x</text></svg>";
        let out = inline_svg(svg, "a \"chart\"");
        assert!(!out.contains("http://"), "{out}");
        assert!(out.starts_with("<svg role=\"img\" aria-label=\"a &quot;chart&quot;\" width="));
    }
}
