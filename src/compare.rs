//! `parlab compare OLD.json NEW.json`: what changed between two results documents.
//!
//! Rows are matched by what they measured (experiment, language, technique, params), not
//! by position, so documents from different `--only` sets or parlab versions still line
//! up; whatever has no partner is listed, not silently dropped.

use crate::error::ParlabError;
use crate::report::terminal::params_text;
use crate::results::{ResultsDoc, Row, Status};
use crate::units;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::path::Path;

/// Reads a results document; a missing, unreadable or malformed file is the user's to
/// fix, so it is a usage error (one line, exit code 2).
pub fn load(path: &Path) -> Result<ResultsDoc, ParlabError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ParlabError::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        ParlabError::usage(format!(
            "{} is not a parlab results document: {e}",
            path.display()
        ))
    })
}

/// What a row measured; two rows with the same key are the same measurement.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub experiment: String,
    pub language: String,
    pub technique: String,
    /// Params as `k=v, ..` in key order: the same text whatever order a producer wrote.
    pub params: String,
}

impl Key {
    fn of(experiment: &str, row: &Row) -> Key {
        let sorted: crate::results::Params = row
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
            .into_iter()
            .collect();
        Key {
            experiment: experiment.to_string(),
            language: row.language.clone(),
            technique: row.technique.clone(),
            params: params_text(&sorted),
        }
    }
}

/// One measurement present on both sides.
#[derive(Clone, Debug)]
pub struct Pair<'a> {
    pub key: Key,
    pub old: &'a Row,
    pub new: &'a Row,
}

impl Pair<'_> {
    /// New median relative to the old one: +0.12 is 12 % slower. `None` unless both
    /// rows ran and measured a positive time.
    pub fn change(&self) -> Option<f64> {
        let old = median(self.old)?;
        let new = median(self.new)?;
        (old > 0.0).then(|| new / old - 1.0)
    }
}

fn median(row: &Row) -> Option<f64> {
    row.median_s.filter(|_| row.status == Status::Ok)
}

#[derive(Clone, Debug, Default)]
pub struct Comparison<'a> {
    pub matched: Vec<Pair<'a>>,
    pub only_old: Vec<Key>,
    pub only_new: Vec<Key>,
}

/// Pairs rows with the same key in order of appearance, so a key that appears twice on
/// both sides (an experiment run twice) pairs first with first, second with second.
pub fn compare<'a>(old: &'a ResultsDoc, new: &'a ResultsDoc) -> Comparison<'a> {
    let rows = |doc: &'a ResultsDoc| -> Vec<(Key, &'a Row)> {
        doc.experiments
            .iter()
            .flat_map(|e| e.rows.iter().map(|r| (Key::of(&e.experiment, r), r)))
            .collect()
    };
    let mut waiting: BTreeMap<Key, VecDeque<&Row>> = BTreeMap::new();
    for (key, row) in rows(new) {
        waiting.entry(key).or_default().push_back(row);
    }
    let mut out = Comparison::default();
    for (key, old_row) in rows(old) {
        match waiting.get_mut(&key).and_then(VecDeque::pop_front) {
            Some(new_row) => out.matched.push(Pair {
                key,
                old: old_row,
                new: new_row,
            }),
            None => out.only_old.push(key),
        }
    }
    // Leftovers in the order the new document has them.
    for (key, _) in rows(new) {
        if let Some(queue) = waiting.get_mut(&key)
            && queue.pop_front().is_some()
        {
            out.only_new.push(key);
        }
    }
    out
}

/// `+12.3% slower`, `−5.0% faster`: the sign says which way, the word says what it means.
pub fn change_text(change: f64) -> String {
    let pct = change * 100.0;
    if pct.abs() < 0.05 {
        "±0.0%".into()
    } else if pct > 0.0 {
        format!("+{pct:.1}% slower")
    } else {
        format!("−{:.1}% faster", -pct)
    }
}

/// The comparison as printed: a table of matched rows, the unmatched rows, a summary.
/// With `threshold` (a fraction: 0.05 for 5 %), rows that moved further either way are
/// flagged with `!`.
pub fn render(c: &Comparison, old_name: &str, new_name: &str, threshold: Option<f64>) -> String {
    let mut out = String::new();
    let mut flagged = 0;
    if !c.matched.is_empty() {
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        let mut header = vec![
            "experiment",
            "technique",
            "language",
            "params",
            "old median",
            "new median",
            "change",
        ];
        if threshold.is_some() {
            header.push("!");
        }
        t.set_header(header);
        for p in &c.matched {
            let side = |row: &Row| match row.status {
                Status::Ok => row.median_s.map_or_else(|| "–".into(), units::secs),
                other => other.id().to_string(),
            };
            let change = p.change();
            let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
            let mut cells = vec![
                Cell::new(&p.key.experiment),
                Cell::new(&p.key.technique),
                Cell::new(&p.key.language),
                Cell::new(&p.key.params),
                right(side(p.old)),
                right(side(p.new)),
                right(change.map_or_else(|| "–".into(), change_text)),
            ];
            if let Some(limit) = threshold {
                let beyond = change.is_some_and(|c| c.abs() > limit);
                flagged += usize::from(beyond);
                cells.push(Cell::new(if beyond { "!" } else { "" }));
            }
            t.add_row(cells);
        }
        let _ = writeln!(out, "{t}");
    }
    for (keys, name) in [(&c.only_old, old_name), (&c.only_new, new_name)] {
        if !keys.is_empty() {
            let _ = writeln!(out, "only in {name}:");
            for k in keys {
                let params = if k.params.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", k.params)
                };
                let _ = writeln!(
                    out,
                    "  {} {} {}{params}",
                    k.experiment, k.technique, k.language
                );
            }
        }
    }
    let _ = write!(
        out,
        "{} matched, {} only in {old_name}, {} only in {new_name}",
        c.matched.len(),
        c.only_old.len(),
        c.only_new.len()
    );
    if let Some(limit) = threshold {
        let _ = write!(
            out,
            "; {flagged} changed by more than {:.1}%",
            limit * 100.0
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_slower_or_faster() {
        assert_eq!(change_text(0.123), "+12.3% slower");
        assert_eq!(change_text(-0.05), "−5.0% faster");
        assert_eq!(change_text(0.0), "±0.0%");
    }

    #[test]
    fn rows_pair_by_what_they_measured() {
        use crate::results::ExperimentResult;
        let row = |t: &str, w: u64, m: f64| {
            Row::new("rust", t, crate::params! {"workers" => w}).with_samples(vec![m])
        };
        let doc = |rows: Vec<Row>| {
            let mut exp = ExperimentResult::new("pool", "Figure 12", Default::default());
            for r in rows {
                exp.push(r, Vec::new());
            }
            crate::report::doc_for_tests(vec![exp])
        };
        let old = doc(vec![
            row("threads", 1, 1.0),
            row("threads", 2, 0.5),
            row("rayon", 2, 0.5),
        ]);
        let new = doc(vec![
            row("tokio", 2, 0.4),
            row("threads", 2, 0.6),
            row("threads", 1, 0.9),
        ]);
        let c = compare(&old, &new);
        assert_eq!(c.matched.len(), 2);
        assert_eq!(c.matched[0].key.params, "workers=1");
        assert!((c.matched[1].change().unwrap() - 0.2).abs() < 1e-9);
        assert_eq!(c.only_old.len(), 1);
        assert_eq!(c.only_old[0].technique, "rayon");
        assert_eq!(c.only_new[0].technique, "tokio");
        let text = render(&c, "a.json", "b.json", Some(0.15));
        assert!(
            text.contains("+20.0% slower") && text.contains("−10.0% faster"),
            "{text}"
        );
        assert!(
            text.contains("only in a.json:\n  pool rayon rust (workers=2)"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "2 matched, 1 only in a.json, 1 only in b.json; 1 changed by more than 15.0%\n"
            ),
            "{text}"
        );
    }

    proptest::proptest! {
        /// Whatever a compare file holds, loading it gives a document or a one-line
        /// usage error, and a document (even with odd numbers) compares and renders.
        #[test]
        fn any_file_loads_or_is_refused_in_one_line(text in ".{0,400}", cut in 0usize..4000) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.json");
            // Arbitrary text, and a real document cut short at an arbitrary byte.
            let real = include_str!("../tests/fixtures/results-small.json");
            let cut = real.char_indices().map(|(i, _)| i).find(|i| *i >= cut).unwrap_or(real.len());
            for body in [text.as_str(), &real[..cut]] {
                std::fs::write(&path, body).unwrap();
                match load(&path) {
                    Ok(doc) => {
                        let text = render(&compare(&doc, &doc), "a", "b", Some(0.1));
                        proptest::prop_assert!(!text.is_empty());
                    }
                    Err(e) => {
                        proptest::prop_assert_eq!(e.exit_code(), 2);
                        proptest::prop_assert!(!e.to_string().contains('\n'), "{}", e);
                    }
                }
            }
        }
    }
}
