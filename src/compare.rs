//! `parlab compare OLD.json NEW.json`: what changed between two results documents.
//!
//! Rows are matched by what they measured (experiment, language, technique, params), not
//! by position, so documents from different `--only` sets or parlab versions still line
//! up; whatever has no partner is listed, not silently dropped.
//!
//! A change is reported only when the runs say it is real, as benchstat does: a rank
//! test on each row's runs, corrected for the number of rows (see [`assess`]), so a
//! table of many rows does not turn noise into findings.

use crate::error::ParlabError;
use crate::measure::stats;
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

/// Runs each side needs before a row is tested at all, even where the other side's runs
/// would let the test reach alpha (2 against 10 can give p = 0.03): with two runs, one
/// descheduled run is half of what that side says.
pub const MIN_TEST_RUNS: usize = 3;

/// The default `--alpha`: the significance level benchstat uses.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// How `compare` judges and marks rows.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Family-wise significance level, after the Holm-Bonferroni correction.
    pub alpha: f64,
    /// `--threshold` as a fraction: significant changes beyond it are flagged `!`.
    pub threshold: Option<f64>,
    /// `--fail-on-regression` as a fraction: significant slowdowns beyond it fail.
    pub fail_on_regression: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alpha: DEFAULT_ALPHA,
            threshold: None,
            fail_on_regression: None,
        }
    }
}

/// What `compare` concludes about one matched row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// One side did not run or has no median: nothing to compare.
    NotMeasured,
    /// Too few runs on a side for the test to reach `alpha` even with the sets wholly
    /// apart; the change in medians is shown, but as untested.
    TooFewRuns { old: usize, new: usize, change: f64 },
    /// Tested, and the Holm-adjusted p is above `alpha`: `~`.
    Unchanged { p: f64 },
    /// Tested and significant: the medians moved by `change` (+0.12 is 12 % slower).
    Changed { p: f64, change: f64 },
}

impl Verdict {
    /// A significant slowdown beyond `limit` (a fraction).
    pub fn is_regression(&self, limit: f64) -> bool {
        matches!(self, Verdict::Changed { change, .. } if *change > limit)
    }
}

/// The runs of a row that ran, for the test.
fn runs(row: &Row) -> &[f64] {
    if row.status == Status::Ok {
        &row.samples_s
    } else {
        &[]
    }
}

/// A verdict for every matched row, in order.
///
/// Each row's two sets of runs get a two-sided Mann-Whitney U test
/// ([`stats::mann_whitney`]), and the p-values of one experiment's rows are adjusted
/// together with Holm-Bonferroni: a table of forty rows would otherwise show two
/// "significant" changes at α = 0.05 from noise alone. The family is the experiment,
/// not the whole document: each experiment asks its own question, and with the six
/// runs a row a quick reproduce takes, the smallest p a test can give (2/924) times the
/// eighty-odd rows of a whole run is over 0.05, so one family of every row could never
/// find any change at all. Rows whose run counts could not reach `alpha` even with the
/// two sets wholly apart are left out of their family (and marked too few runs):
/// whether a row can be tested depends on its run counts, never on its data, so leaving
/// them out keeps the guarantee and spends none of the correction on tests that could
/// not succeed.
pub fn assess(c: &Comparison, alpha: f64) -> Vec<Verdict> {
    let mut verdicts = Vec::with_capacity(c.matched.len());
    let mut tested: Vec<(usize, f64)> = Vec::new();
    for (i, pair) in c.matched.iter().enumerate() {
        let Some(change) = pair.change() else {
            verdicts.push(Verdict::NotMeasured);
            continue;
        };
        let (old, new) = (runs(pair.old), runs(pair.new));
        let testable = old.len().min(new.len()) >= MIN_TEST_RUNS
            && stats::min_u_p(old.len(), new.len()) <= alpha;
        match stats::mann_whitney(old, new).filter(|_| testable) {
            Some(test) => {
                tested.push((i, test.p));
                // Settled once the whole family's p-values are known.
                verdicts.push(Verdict::Changed { p: test.p, change });
            }
            None => verdicts.push(Verdict::TooFewRuns {
                old: old.len(),
                new: new.len(),
                change,
            }),
        }
    }
    for family in families(c) {
        let members: Vec<(usize, f64)> = tested
            .iter()
            .copied()
            .filter(|(i, _)| c.matched[*i].key.experiment == family)
            .collect();
        let raw: Vec<f64> = members.iter().map(|t| t.1).collect();
        for ((i, _), p) in members.iter().zip(stats::holm(&raw)) {
            if let Verdict::Changed { change, .. } = verdicts[*i] {
                verdicts[*i] = if p <= alpha {
                    Verdict::Changed { p, change }
                } else {
                    Verdict::Unchanged { p }
                };
            }
        }
    }
    verdicts
}

/// The experiments of the matched rows, in order of first appearance: the families
/// whose p-values are adjusted together.
fn families(c: &Comparison) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for pair in &c.matched {
        if !seen.contains(&pair.key.experiment) {
            seen.push(pair.key.experiment.clone());
        }
    }
    seen
}

/// For each family whose tested rows could show no significant change even with every
/// row's runs wholly apart (its smallest possible p, times its size, over `alpha`), a
/// line saying so and how many runs a side would do: an honest `~` then means "could
/// not tell", not "nothing changed".
fn underpowered(c: &Comparison, verdicts: &[Verdict], alpha: f64) -> Vec<String> {
    let mut lines = Vec::new();
    for family in families(c) {
        let tested: Vec<usize> = c
            .matched
            .iter()
            .zip(verdicts)
            .filter(|(pair, v)| {
                pair.key.experiment == family
                    && matches!(v, Verdict::Changed { .. } | Verdict::Unchanged { .. })
            })
            .map(|(pair, _)| runs(pair.old).len().min(runs(pair.new).len()))
            .collect();
        let rows = tested.len();
        let Some(most) = tested.iter().copied().max() else {
            continue;
        };
        let best_p = stats::min_u_p(most, most);
        if best_p * rows as f64 <= alpha {
            continue;
        }
        let need = (most..1000).find(|n| stats::min_u_p(*n, *n) * rows as f64 <= alpha);
        lines.push(format!(
            "{family}: with {most} runs a side no change among its {rows} rows can be significant (smallest p {} × {rows} > {alpha}){}",
            p_text(best_p),
            need.map_or_else(String::new, |n| format!("; --runs {n} would do"))
        ));
    }
    lines
}

/// A p-value in three decimals, or `<0.001` where three decimals would print zero.
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// The change column: the percent for a significant change, `~` for none, and for a
/// row too thin to test, the percent marked as untested.
fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::NotMeasured => "–".into(),
        Verdict::TooFewRuns { old, new, change } => {
            format!("~ too few runs ({old} vs {new}): {}", change_text(*change))
        }
        Verdict::Unchanged { .. } => "~ no significant change".into(),
        Verdict::Changed { change, .. } => change_text(*change),
    }
}

/// The comparison as printed, and what it found.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub text: String,
    /// Significant slowdowns beyond `--fail-on-regression` (0 without it).
    pub regressions: usize,
}

/// The comparison as printed: a table of matched rows, a line on the test, the
/// unmatched rows, a summary.
///
/// A row's change is reported only when it is significant (see [`assess`]); with
/// `threshold`, significant changes beyond it either way are flagged `!`, and untested
/// rows whose medians moved that far `?`, since the move may be noise.
pub fn render(c: &Comparison, old_name: &str, new_name: &str, settings: &Settings) -> Rendered {
    let verdicts = assess(c, settings.alpha);
    let mut out = String::new();
    let (mut flagged, mut unsure) = (0, 0);
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
            "p",
        ];
        if settings.threshold.is_some() {
            header.push("!");
        }
        t.set_header(header);
        for (p, verdict) in c.matched.iter().zip(&verdicts) {
            let side = |row: &Row| match row.status {
                Status::Ok => row.median_s.map_or_else(|| "–".into(), units::secs),
                other => other.id().to_string(),
            };
            let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
            let p_cell = match verdict {
                Verdict::Unchanged { p } | Verdict::Changed { p, .. } => p_text(*p),
                _ => "–".into(),
            };
            let mut cells = vec![
                Cell::new(&p.key.experiment),
                Cell::new(&p.key.technique),
                Cell::new(&p.key.language),
                Cell::new(&p.key.params),
                right(side(p.old)),
                right(side(p.new)),
                right(verdict_text(verdict)),
                right(p_cell),
            ];
            if let Some(limit) = settings.threshold {
                let mark = match verdict {
                    Verdict::Changed { change, .. } if change.abs() > limit => {
                        flagged += 1;
                        "!"
                    }
                    Verdict::TooFewRuns { change, .. } if change.abs() > limit => {
                        unsure += 1;
                        "?"
                    }
                    _ => "",
                };
                cells.push(Cell::new(mark));
            }
            t.add_row(cells);
        }
        let _ = writeln!(out, "{t}");
        let tested = verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Changed { .. } | Verdict::Unchanged { .. }))
            .count();
        let alpha = settings.alpha;
        if tested > 0 {
            let _ = writeln!(
                out,
                "p: two-sided Mann-Whitney U test of the runs, Holm-Bonferroni adjusted within each experiment ({tested} row{} tested in all); ~: no significant change at α = {alpha}",
                if tested == 1 { "" } else { "s" }
            );
            for line in underpowered(c, &verdicts, alpha) {
                let _ = writeln!(out, "  {line}");
            }
        } else {
            let need = (MIN_TEST_RUNS..1000).find(|n| stats::min_u_p(*n, *n) <= alpha);
            let _ = writeln!(
                out,
                "no row has enough runs for a significance test at α = {alpha}{}",
                need.map_or_else(String::new, |n| format!(" ({n} a side would do)"))
            );
        }
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
    if let Some(limit) = settings.threshold {
        let _ = write!(
            out,
            "; {flagged} changed significantly by more than {:.1}%",
            limit * 100.0
        );
        if unsure > 0 {
            let _ = write!(out, ", {unsure} more moved that far untested");
        }
    }
    out.push('\n');
    let mut regressions = 0;
    if let Some(limit) = settings.fail_on_regression {
        regressions = verdicts.iter().filter(|v| v.is_regression(limit)).count();
        let _ = writeln!(
            out,
            "{regressions} significant slowdown{} of more than {:.1}%{}",
            if regressions == 1 { "" } else { "s" },
            limit * 100.0,
            if regressions > 0 {
                ": failing (--fail-on-regression)"
            } else {
                ""
            }
        );
    }
    Rendered {
        text: out,
        regressions,
    }
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
        let settings = Settings {
            threshold: Some(0.15),
            ..Settings::default()
        };
        let text = render(&c, "a.json", "b.json", &settings).text;
        // One run a side: the moves are shown, but as untested, and flagged '?' only.
        assert!(
            text.contains("~ too few runs (1 vs 1): +20.0% slower")
                && text.contains("~ too few runs (1 vs 1): −10.0% faster"),
            "{text}"
        );
        assert!(
            text.contains("only in a.json:\n  pool rayon rust (workers=2)"),
            "{text}"
        );
        assert!(
            text.contains(
                "no row has enough runs for a significance test at α = 0.05 (4 a side would do)"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "2 matched, 1 only in a.json, 1 only in b.json; 0 changed significantly by more than 15.0%, 1 more moved that far untested\n"
            ),
            "{text}"
        );
    }

    /// A one-experiment document of rust rows, each `(technique, samples)`.
    fn doc_of(rows: &[(&str, Vec<f64>)]) -> ResultsDoc {
        let mut exp = crate::results::ExperimentResult::new("count", "", Default::default());
        for (t, samples) in rows {
            let row = Row::new("rust", t, Default::default()).with_samples(samples.clone());
            exp.push(row, Vec::new());
        }
        crate::report::doc_for_tests(vec![exp])
    }

    #[test]
    fn only_significant_changes_get_a_percent() {
        let steady = vec![1.0, 1.02, 0.99, 1.01, 0.98, 1.03];
        let slower: Vec<f64> = steady.iter().map(|s| s * 1.3).collect();
        let old = doc_of(&[
            ("a", steady.clone()),
            ("b", steady.clone()),
            ("c", vec![1.0, 1.1, 0.9]),
        ]);
        let new = doc_of(&[
            ("a", slower),
            ("b", vec![1.01, 0.97, 1.0, 1.02, 0.995, 1.015]),
            ("c", vec![2.0, 2.1, 1.9]),
        ]);
        let c = compare(&old, &new);
        let v = assess(&c, DEFAULT_ALPHA);
        // a: wholly apart, exact p = 2/924, times 2 rows tested.
        match v[0] {
            Verdict::Changed { p, change } => {
                assert!((p - 2.0 * 2.0 / 924.0).abs() < 1e-12, "{p}");
                assert!((change - 0.3).abs() < 1e-9);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(v[1], Verdict::Unchanged { p } if p > 0.05),
            "{:?}",
            v[1]
        );
        // c doubled, but 3 runs a side can never reach 0.05: untested, not '~' by test.
        assert_eq!(
            v[2],
            Verdict::TooFewRuns {
                old: 3,
                new: 3,
                change: 1.0
            }
        );
        assert!(v[0].is_regression(0.05) && !v[0].is_regression(0.31));
        assert!(!v[1].is_regression(0.0) && !v[2].is_regression(0.0));
        let settings = Settings {
            fail_on_regression: Some(0.05),
            threshold: Some(0.1),
            ..Settings::default()
        };
        let r = render(&c, "old", "new", &settings);
        assert_eq!(r.regressions, 1);
        assert!(r.text.contains("~ no significant change"), "{}", r.text);
        assert!(r.text.contains("+30.0% slower"), "{}", r.text);
        assert!(r.text.contains("0.004"), "{}", r.text);
        assert!(
            r.text
                .contains("Holm-Bonferroni adjusted within each experiment (2 rows tested in all)"),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("1 significant slowdown of more than 5.0%: failing"),
            "{}",
            r.text
        );
        // At a stricter level the same change is no longer enough.
        let strict = Settings {
            alpha: 0.001,
            ..settings
        };
        assert_eq!(render(&c, "old", "new", &strict).regressions, 0);
    }

    #[test]
    fn the_correction_counts_every_row_tested() {
        // Four runs a side wholly apart: exact p = 2/70 = 0.029 each, significant alone,
        // but two of them together are adjusted to 0.057.
        let low = vec![1.0, 1.1, 1.2, 1.3];
        let high = vec![2.0, 2.1, 2.2, 2.3];
        let one = assess(
            &compare(
                &doc_of(&[("a", low.clone())]),
                &doc_of(&[("a", high.clone())]),
            ),
            DEFAULT_ALPHA,
        );
        assert!(matches!(one[0], Verdict::Changed { .. }), "{one:?}");
        let old = doc_of(&[("a", low.clone()), ("b", low.clone())]);
        let new = doc_of(&[("a", high.clone()), ("b", high.clone())]);
        let two = assess(&compare(&old, &new), DEFAULT_ALPHA);
        for v in two {
            assert!(
                matches!(v, Verdict::Unchanged { p } if (p - 4.0 / 70.0).abs() < 1e-12),
                "{v:?}"
            );
        }
        // The same two rows in two experiments are two families of one: each is
        // significant on its own.
        let mut old = doc_of(&[("a", low.clone())]);
        let mut new = doc_of(&[("a", high.clone())]);
        for doc in [&mut old, &mut new] {
            let mut other = doc.experiments[0].clone();
            other.experiment = "pool".into();
            doc.experiments.push(other);
        }
        let apart = assess(&compare(&old, &new), DEFAULT_ALPHA);
        assert_eq!(apart.len(), 2);
        assert!(
            apart.iter().all(|v| matches!(v, Verdict::Changed { .. })),
            "{apart:?}"
        );
        // A row that did not run on one side is not compared at all.
        let mut failed = doc_of(&[("a", low.clone())]);
        failed.experiments[0].rows[0].status = Status::Error;
        let v = assess(&compare(&doc_of(&[("a", low)]), &failed), DEFAULT_ALPHA);
        assert_eq!(v, [Verdict::NotMeasured]);
        assert_eq!(p_text(0.0004), "<0.001");
        assert_eq!(p_text(0.0286), "0.029");
    }

    /// Thirty rows of `samples`, the first of them times `factor`.
    fn thirty(samples: &[f64], factor: f64) -> ResultsDoc {
        let names: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
        let rows: Vec<(&str, Vec<f64>)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let f = if i == 0 { factor } else { 1.0 };
                (n.as_str(), samples.iter().map(|s| s * f).collect())
            })
            .collect();
        doc_of(&rows)
    }

    #[test]
    fn a_family_too_big_for_its_runs_says_how_many_would_do() {
        // Thirty rows of six runs: the smallest p, 2/924, times 30 is over 0.05, so
        // not even a row doubled in time can show; the note says so and names the runs.
        let six = [1.0, 1.02, 0.99, 1.01, 0.98, 1.03];
        let (old, new) = (thirty(&six, 1.0), thirty(&six, 2.0));
        let c = compare(&old, &new);
        let text = render(&c, "old", "new", &Settings::default()).text;
        assert!(
            text.contains("count: with 6 runs a side no change among its 30 rows can be significant (smallest p 0.002 × 30 > 0.05); --runs 7 would do"),
            "{text}"
        );
        assert!(matches!(
            assess(&c, DEFAULT_ALPHA)[0],
            Verdict::Unchanged { .. }
        ));
        // Seven runs a side: the doubled row is found, and no note.
        let seven = [1.0, 1.02, 0.99, 1.01, 0.98, 1.03, 0.97];
        let (old, new) = (thirty(&seven, 1.0), thirty(&seven, 2.0));
        let c = compare(&old, &new);
        let v = assess(&c, DEFAULT_ALPHA);
        assert!(matches!(v[0], Verdict::Changed { .. }), "{v:?}");
        assert!(
            v[1..]
                .iter()
                .all(|v| matches!(v, Verdict::Unchanged { .. }))
        );
        let text = render(&c, "old", "new", &Settings::default()).text;
        assert!(!text.contains("would do"), "{text}");
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
                        let settings = Settings {
                            threshold: Some(0.1),
                            fail_on_regression: Some(0.0),
                            ..Settings::default()
                        };
                        let r = render(&compare(&doc, &doc), "a", "b", &settings);
                        proptest::prop_assert!(!r.text.is_empty());
                        // A document never regresses against itself.
                        proptest::prop_assert_eq!(r.regressions, 0);
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
