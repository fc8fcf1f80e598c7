//! The paper's claims, each checked against what this run measured.
//!
//! A claim is split into the parts the numbers can settle; each part holds, fails, is
//! inconclusive (the value's 95 % interval straddles its threshold) or was not measured.
//! All measured parts holding is `confirmed`, all failing `refuted`, both `partly`; an
//! inconclusive part with no decisive one against it makes the claim `inconclusive`;
//! none measured is `not-tested` (with why). results.json lists every part with its
//! value, interval and threshold. The evidence gives the numbers first and then, in a
//! sentence or two chosen by those numbers, what they mean. Thresholds are generous on
//! purpose: a verdict must not flip with the noise of a shared two-core machine.

use crate::results::{Claim, ClaimPart, ExperimentResult, ResultsDoc, Row, Status};
use crate::units::{bytes, secs};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Confirmed,
    Refuted,
    Partly,
    /// A part's interval straddles its threshold and no decisive part says otherwise:
    /// this run cannot tell.
    Inconclusive,
    NotTested,
}

impl Verdict {
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Refuted => "refuted",
            Verdict::Partly => "partly",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotTested => "not-tested",
        }
    }

    /// The verdict of a claim from its parts (`None`: that part was not measured).
    pub fn of(parts: &[Option<bool>]) -> Verdict {
        let measured: Vec<bool> = parts.iter().flatten().copied().collect();
        if measured.is_empty() {
            Verdict::NotTested
        } else if measured.iter().all(|p| *p) {
            Verdict::Confirmed
        } else if measured.iter().all(|p| !*p) {
            Verdict::Refuted
        } else {
            Verdict::Partly
        }
    }

    /// The verdict of a claim from its detailed parts.
    pub fn of_parts(parts: &[ClaimPart]) -> Verdict {
        let decided: Vec<Option<bool>> = parts
            .iter()
            .filter(|p| p.outcome != INCONCLUSIVE)
            .map(|p| match p.outcome.as_str() {
                HOLDS => Some(true),
                FAILS => Some(false),
                _ => None,
            })
            .collect();
        let inconclusive = parts.iter().any(|p| p.outcome == INCONCLUSIVE);
        match Verdict::of(&decided) {
            Verdict::Partly => Verdict::Partly,
            _ if inconclusive => Verdict::Inconclusive,
            v => v,
        }
    }
}

const HOLDS: &str = "holds";
const FAILS: &str = "fails";
const INCONCLUSIVE: &str = "inconclusive";
const NOT_MEASURED: &str = "not-measured";

/// Ways to build a claim's part from what was measured.
impl ClaimPart {
    /// A part that holds when `value` is above `threshold`; inconclusive when its
    /// interval reaches both sides.
    fn above(
        name: impl Into<String>,
        value: f64,
        interval: Option<[f64; 2]>,
        threshold: f64,
    ) -> ClaimPart {
        ClaimPart::against(name.into(), value, interval, threshold, true)
    }

    /// A part that holds when `value` is below `threshold`.
    fn below(
        name: impl Into<String>,
        value: f64,
        interval: Option<[f64; 2]>,
        threshold: f64,
    ) -> ClaimPart {
        ClaimPart::against(name.into(), value, interval, threshold, false)
    }

    /// The part `part` makes of `value` where it was measured; else not measured, with
    /// why.
    fn if_measured(
        name: impl Into<String>,
        value: Option<f64>,
        why: impl Into<String>,
        part: impl FnOnce(String, f64) -> ClaimPart,
    ) -> ClaimPart {
        match value {
            Some(v) => part(name.into(), v),
            None => ClaimPart::unmeasured(name, why),
        }
    }

    fn against(
        name: String,
        value: f64,
        interval: Option<[f64; 2]>,
        threshold: f64,
        above: bool,
    ) -> ClaimPart {
        let straddles = interval.is_some_and(|[lo, hi]| lo <= threshold && threshold <= hi);
        let holds = if above {
            value > threshold
        } else {
            value < threshold
        };
        ClaimPart {
            name,
            measured: true,
            value: Some(value),
            interval,
            threshold: Some(threshold),
            holds_when: Some(if above { "above" } else { "below" }.into()),
            outcome: if straddles {
                INCONCLUSIVE
            } else if holds {
                HOLDS
            } else {
                FAILS
            }
            .into(),
            why: None,
        }
    }

    /// A measured fact with no threshold (every letter arrived, a count came out exact).
    fn fact(name: impl Into<String>, holds: bool) -> ClaimPart {
        ClaimPart {
            name: name.into(),
            measured: true,
            value: None,
            interval: None,
            threshold: None,
            holds_when: None,
            outcome: if holds { HOLDS } else { FAILS }.into(),
            why: None,
        }
    }

    /// A part this run could not measure, with why.
    fn unmeasured(name: impl Into<String>, why: impl Into<String>) -> ClaimPart {
        ClaimPart {
            name: name.into(),
            measured: false,
            value: None,
            interval: None,
            threshold: None,
            holds_when: None,
            outcome: NOT_MEASURED.into(),
            why: Some(why.into()),
        }
    }

    /// A fact with the number it was decided on, for the reader.
    fn valued(mut self, value: f64) -> ClaimPart {
        self.value = Some(value);
        self
    }

    fn holds(&self) -> Option<bool> {
        match self.outcome.as_str() {
            HOLDS => Some(true),
            FAILS => Some(false),
            _ => None,
        }
    }
}

/// What one check found: its parts, each with its value and threshold where it has
/// them, the evidence in words, and the number that decides it (none when nothing was
/// measured).
#[derive(Default)]
struct Finding {
    parts: Vec<ClaimPart>,
    evidence: String,
    decided_by: Option<String>,
}

impl Finding {
    fn untested(why: impl Into<String>) -> Finding {
        Finding {
            evidence: format!("not measured: {}", why.into()),
            ..Finding::default()
        }
    }
}

/// The interval of `num`'s median over `den`'s, from their medians' intervals: the
/// widest the ratio can be with each median anywhere in its own, so a part decided
/// with it errs towards inconclusive. None unless both rows have one.
fn ratio_ci(num: &Row, den: &Row) -> Option<[f64; 2]> {
    let ([a, b], [c, d]) = (num.median_ci_s?, den.median_ci_s?);
    (c > 0.0).then(|| [a / d, b / c])
}

pub mod channel;
pub mod count;
pub mod gil;
pub mod io;
pub mod map;
pub mod pool;
pub mod sched;
pub mod select;
pub mod spawn;
pub mod waitgroup;

type Check = fn(&Results) -> Finding;

/// A claim of the paper: id, where the paper makes it, the claim in our words, and the
/// check that settles it from a results document. Each experiment's descriptor lists
/// the claims it tests (`Info::claims`), which live in this module's file of the same
/// name.
pub struct ClaimSpec {
    pub id: &'static str,
    pub paper_ref: &'static str,
    pub claim: &'static str,
    check: Check,
}

/// Every claim's verdict on `doc`, experiment by experiment in `reproduce`'s order.
pub fn evaluate(doc: &ResultsDoc) -> Vec<Claim> {
    let results = Results(doc);
    crate::experiments::ALL
        .iter()
        .flat_map(|info| info.claims)
        .map(|spec| {
            let f = (spec.check)(&results);
            Claim {
                id: spec.id.to_string(),
                paper_ref: spec.paper_ref.to_string(),
                claim: spec.claim.to_string(),
                verdict: Verdict::of_parts(&f.parts).id().to_string(),
                parts: f.parts,
                evidence: f.evidence,
                decided_by: f.decided_by,
            }
        })
        .collect()
}

/// Read access to a results document by experiment, language and technique.
struct Results<'a>(&'a ResultsDoc);

impl<'a> Results<'a> {
    fn experiment(&self, id: &str) -> Option<&'a ExperimentResult> {
        self.0.experiments.iter().find(|e| e.experiment == id)
    }

    /// The ok rows of an experiment in a language.
    fn rows(&self, exp: &str, language: &str) -> Vec<&'a Row> {
        self.experiment(exp)
            .map(|e| {
                e.rows
                    .iter()
                    .filter(|r| r.status == Status::Ok && r.language == language)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn row(
        &self,
        exp: &str,
        language: &str,
        technique: &str,
        pred: impl Fn(&Row) -> bool,
    ) -> Option<&'a Row> {
        self.rows(exp, language)
            .into_iter()
            .find(|r| r.technique == technique && pred(r))
    }

    fn median(
        &self,
        exp: &str,
        language: &str,
        technique: &str,
        pred: impl Fn(&Row) -> bool,
    ) -> Option<f64> {
        self.row(exp, language, technique, pred)
            .and_then(|r| r.median_s)
    }

    /// Why a language's rows are missing: the skipped row's message, if any.
    fn why_missing(&self, exp: &str, language: &str) -> String {
        let skipped = self.experiment(exp).and_then(|e| {
            e.rows
                .iter()
                .find(|r| r.language == language && r.status != Status::Ok)
                .and_then(|r| r.message.clone())
        });
        match (self.experiment(exp), skipped) {
            (None, _) => format!("the {exp} experiment did not run"),
            (_, Some(why)) => format!("no {language} rows in {exp} ({why})"),
            (_, None) => format!("no {language} rows in {exp} (--peers left them out)"),
        }
    }

    /// The Python language columns of an experiment (`python`, `python 3.13t`, ...).
    fn python_columns(&self, exp: &str) -> Vec<&'a str> {
        self.experiment(exp)
            .map(|e| crate::peers::python_columns(&e.rows))
            .unwrap_or_default()
    }

    /// Why no free-threaded build ran in `exp`: the skipped stand-in row's message, or
    /// that the interpreters were named without one.
    fn why_no_free_threaded(&self, exp: &str) -> String {
        self.experiment(exp)
            .and_then(|e| {
                e.rows
                    .iter()
                    .find(|r| r.language == crate::peers::FREE_THREADED_LABEL)
                    .and_then(|r| r.message.clone())
            })
            .unwrap_or_else(|| match self.experiment(exp) {
                None => format!("the {exp} experiment did not run"),
                Some(_) => format!("no free-threaded Python ran in {exp} (--python named none, or --peers left Python out)"),
            })
    }
}

fn any(_: &Row) -> bool {
    true
}

/// A Python row's interpreter as a reader wants it: `3.13.5, free-threaded, GIL off`.
fn interpreter_of(row: &Row) -> String {
    let version = row.param_str("interpreter").unwrap_or("?");
    let build = row.param_str("build").unwrap_or("default");
    match row.params.get("gil").and_then(Value::as_bool) {
        Some(gil) if build == "free-threaded" => {
            format!("{version}, {build}, GIL {}", if gil { "on" } else { "off" })
        }
        _ => format!("{version}, {build}"),
    }
}

/// Whether a Python row ran on a free-threaded build with its GIL off.
fn without_gil(row: &Row) -> bool {
    row.param_str("build") == Some("free-threaded")
        && row.params.get("gil").and_then(Value::as_bool) == Some(false)
}

/// The least and greatest of `values` as `lo to hi` (one value when they agree), so a
/// deciding number stays short however many rows decided it.
fn range(values: &[f64], show: impl Fn(f64) -> String) -> String {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = (show(lo), show(hi));
    if lo == hi {
        lo
    } else {
        format!("{lo} to {hi}")
    }
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}×", a / b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::channel::ChannelData;
    use crate::experiments::gil::GilData;
    use crate::experiments::map::MapData;
    use crate::experiments::pool::PoolData;
    use crate::experiments::sched::SchedData;
    use crate::experiments::select::{PerProducer, SelectData};
    use crate::experiments::spawn::SpawnData;
    use crate::experiments::waitgroup::WaitgroupData;
    use crate::measure::env::Environment;
    use crate::params;
    use crate::results::{Params, RowData};
    use serde_json::json;

    fn row(lang: &str, technique: &str, params: Params, median: f64, extra: Params) -> Row {
        let mut r = Row::new(lang, technique, params);
        r.median_s = Some(median);
        r.extra = extra;
        r
    }

    /// An experiment's values as a row's `extra`, written the way the experiment writes
    /// them.
    fn stored(data: impl RowData) -> Params {
        let mut r = Row::new("", "", Params::new());
        data.store(&mut r);
        r.extra
    }

    fn exp(id: &str, params: Params, rows: Vec<Row>) -> ExperimentResult {
        let mut e = ExperimentResult::new(id, "", params);
        e.rows = rows;
        e
    }

    /// The verdict of claim `id` on a document of `experiments`.
    fn verdict(id: &str, experiments: Vec<ExperimentResult>) -> String {
        let mut env = Environment::capture();
        env.logical_cpus = 2;
        let doc = ResultsDoc::new(env, experiments);
        let claim = evaluate(&doc)
            .into_iter()
            .find(|c| c.id == id)
            .expect("a known claim");
        assert!(!claim.evidence.is_empty());
        // A measured claim names the number it turns on; an unmeasured one has none.
        assert_eq!(
            claim.decided_by.is_some(),
            claim.verdict != "not-tested",
            "{id}: {:?}",
            claim.decided_by
        );
        claim.verdict
    }

    /// A Python row of `column` on an interpreter: version, build and GIL as the peer
    /// reports them in `params`.
    fn python_row(column: &str, technique: &str, version: &str, ft: bool, gil: bool) -> Row {
        let mut r = Row::new(
            column,
            technique,
            params! {"chunk_type" => "int", "interpreter" => version,
            "build" => if ft { "free-threaded" } else { "default" }, "gil" => gil},
        );
        r.status = Status::Ok;
        r
    }

    /// Count rows of one Python column: sequential `seq` s, threads at `speedup`×.
    fn count_column(
        column: &str,
        version: &str,
        ft: bool,
        gil: bool,
        seq: f64,
        speedup: f64,
    ) -> Vec<Row> {
        let mut s = python_row(column, "sequential", version, ft, gil);
        s.median_s = Some(seq);
        s.speedup = Some(1.0);
        let mut t = python_row(column, "threads", version, ft, gil);
        t.median_s = Some(seq / speedup);
        t.speedup = Some(speedup);
        let mut p = python_row(column, "processes", version, ft, gil);
        p.median_s = Some(seq / 1.8);
        vec![s, t, p]
    }

    #[test]
    fn threads_are_judged_per_build_and_the_free_threaded_cost_per_version() {
        let mut rows = count_column("python", "3.11.7", false, true, 0.8, 0.93);
        rows.extend(count_column(
            "python 3.13",
            "3.13.5",
            false,
            true,
            1.1,
            0.95,
        ));
        rows.extend(count_column(
            "python 3.13t",
            "3.13.5",
            true,
            false,
            1.58,
            1.89,
        ));
        rows.extend(count_column(
            "python 3.13t GIL=1",
            "3.13.5",
            true,
            true,
            1.6,
            0.96,
        ));
        let count = |rows: &Vec<Row>| exp("count", params! {"n" => 50_000_000}, rows.clone());

        let c = claim("cpu-threads-slower", vec![count(&rows)]);
        assert_eq!(c.verdict, "partly", "{}", c.evidence);
        let failed: Vec<&str> = c
            .parts
            .iter()
            .filter(|p| p.outcome == "fails")
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            failed,
            ["python 3.13t (3.13.5, free-threaded, GIL off): threads' speedup over one thread"]
        );
        assert!(
            c.evidence.contains(
                "it failed on python 3.13t (3.13.5, free-threaded, GIL off), threads 1.89×"
            ),
            "{}",
            c.evidence
        );
        assert!(c.evidence.contains("python 3.13t GIL=1"), "{}", c.evidence);

        // Against the same version's standard build where one ran, else `python`.
        let c = claim("free-threaded-one-thread", vec![count(&rows)]);
        assert_eq!(c.verdict, "confirmed", "{}", c.evidence);
        assert_eq!(c.parts.len(), 1);
        let first_part_says = |c: &Claim, text: &str| {
            assert!(c.parts[0].name.contains(text), "{}", c.parts[0].name);
        };
        first_part_says(
            &c,
            "python 3.13t over python 3.13 on one thread (both 3.13.5)",
        );
        assert!((c.parts[0].value.unwrap() - 1.58 / 1.1).abs() < 1e-9);
        assert!(c.evidence.contains("PYTHON_GIL=1"), "{}", c.evidence);
        rows.retain(|r| r.language != "python 3.13");
        let c = claim("free-threaded-one-thread", vec![count(&rows)]);
        first_part_says(&c, "versions differ: 3.13.5 against 3.11.7");

        // Without a free-threaded build: not tested, and the threads claim says why.
        rows.retain(|r| r.language == "python");
        let mut stand_in = Row::new(crate::peers::FREE_THREADED_LABEL, "threads", Params::new());
        stand_in = stand_in.skipped(crate::peers::FREE_THREADED_HINT);
        rows.push(stand_in);
        let c = claim("free-threaded-one-thread", vec![count(&rows)]);
        assert_eq!(c.verdict, "not-tested");
        assert!(
            c.evidence.contains("scripts/get-free-threaded-python"),
            "{}",
            c.evidence
        );
        let c = claim("cpu-threads-slower", vec![count(&rows)]);
        assert_eq!(c.verdict, "confirmed", "{}", c.evidence);
        let unmeasured = c.parts.iter().find(|p| !p.measured).unwrap();
        assert!(
            unmeasured
                .why
                .as_deref()
                .unwrap()
                .contains("uv python install 3.14t")
        );
    }

    #[test]
    fn lost_updates_keep_the_interpreter_apart_from_user_code() {
        let racy = |column: &str, ft: bool, gil: bool, lost: i64| {
            let mut r = python_row(column, "racy-threads", "3.13.5", ft, gil);
            r.extra = stored(GilData {
                expected: Some(4_000_000),
                lost_updates: Some(lost),
                refcount_threads: Some(4),
                refcount_takes: Some(1_600_000),
                refcount_before: Some(2),
                refcount_after: Some(2),
                refcount_intact: Some(true),
                ..GilData::default()
            });
            r
        };
        let mut gil = exp(
            "gil",
            Params::new(),
            vec![
                racy("python 3.13t", true, false, 2_803_862),
                racy("python 3.13t GIL=1", true, true, 0),
            ],
        );
        gil.findings =
            params! {"lost_updates" => json!({"racy_lost_any": true, "exact": ["atomic"]})};
        let c = claim("refcount-lost-updates", vec![gil]);
        let names: Vec<(&str, &str)> = c
            .parts
            .iter()
            .map(|p| (p.name.as_str(), p.outcome.as_str()))
            .collect();
        assert!(names.contains(&("python 3.13t (3.13.5, free-threaded, GIL off): the interpreter's own reference counts stayed exact under threads, and it did not crash", "holds")), "{names:?}");
        assert!(names.contains(&("python 3.13t (3.13.5, free-threaded, GIL off): user code's counter += 1 lost updates without the GIL", "holds")), "{names:?}");
        // With the GIL on, no lost-update part: under a GIL a race is luck, not a finding.
        assert!(
            !names
                .iter()
                .any(|(n, _)| n.starts_with("python 3.13t GIL=1") && n.contains("counter"))
        );
        assert!(
            c.evidence
                .contains("counter += 1 lost 2,803,862 of 4,000,000 updates"),
            "{}",
            c.evidence
        );
    }

    #[test]
    fn an_interval_across_the_threshold_is_inconclusive() {
        let sure = ClaimPart::above("x", 1.8, Some([1.6, 2.0]), 1.5);
        assert_eq!(sure.outcome, "holds");
        let unsure = ClaimPart::above("x", 1.6, Some([1.4, 1.9]), 1.5);
        assert_eq!(unsure.outcome, "inconclusive");
        let no = ClaimPart::below("y", 1.3, Some([1.2, 1.4]), 1.1);
        assert_eq!(no.outcome, "fails");
        let gone = ClaimPart::unmeasured("z", "no Go toolchain");
        assert!(!gone.measured);
        assert_eq!(
            Verdict::of_parts(&[sure.clone(), unsure.clone()]),
            Verdict::Inconclusive
        );
        assert_eq!(
            Verdict::of_parts(&[sure.clone(), no.clone(), unsure]),
            Verdict::Partly
        );
        assert_eq!(
            Verdict::of_parts(&[sure.clone(), gone.clone()]),
            Verdict::Confirmed
        );
        assert_eq!(Verdict::of_parts(&[no]), Verdict::Refuted);
        assert_eq!(Verdict::of_parts(&[gone]), Verdict::NotTested);
    }

    /// On a whole run (the test fixture), every part is named for what it says and a
    /// part held against a threshold carries its value and side, so results.json and
    /// the report can show the numbers, not only the outcome.
    #[test]
    fn every_part_names_its_value_and_threshold() {
        let doc: ResultsDoc =
            serde_json::from_str(include_str!("../../tests/fixtures/results-small.json")).unwrap();
        let claims = evaluate(&doc);
        let mut valued = 0;
        for c in &claims {
            let measured = c.verdict != "not-tested";
            assert_eq!(measured, c.parts.iter().any(|p| p.measured), "{}", c.id);
            for p in &c.parts {
                assert!(
                    p.name.len() > 12 && !p.name.starts_with("part "),
                    "{}: {:?}",
                    c.id,
                    p.name
                );
                assert_eq!(p.measured, p.outcome != "not-measured", "{}", c.id);
                assert_eq!(p.measured, p.why.is_none(), "{}: {p:?}", c.id);
                if let Some(t) = p.threshold {
                    let side = p.holds_when.as_deref().expect("a side");
                    let v = p.value.expect("a value");
                    if p.outcome != "inconclusive" {
                        let above = side == "above";
                        assert_eq!(p.outcome == "holds", (v > t) == above, "{}: {p:?}", c.id);
                    }
                    assert!(p.describe().contains(&format!("holds {side}")));
                }
                valued += usize::from(p.value.is_some());
            }
        }
        // Nearly every measured claim is decided by a number, not a bare yes or no.
        let numeric = claims
            .iter()
            .filter(|c| c.parts.iter().any(|p| p.value.is_some()))
            .count();
        let measured = claims.iter().filter(|c| c.verdict != "not-tested").count();
        assert!(numeric + 1 >= measured, "{numeric} of {measured}");
        assert!(valued >= measured, "{valued}");
    }

    #[test]
    fn parts_make_verdicts() {
        assert_eq!(Verdict::of(&[]), Verdict::NotTested);
        assert_eq!(Verdict::of(&[None, None]), Verdict::NotTested);
        assert_eq!(Verdict::of(&[Some(true), None]), Verdict::Confirmed);
        assert_eq!(Verdict::of(&[Some(false), Some(false)]), Verdict::Refuted);
        assert_eq!(Verdict::of(&[Some(true), Some(false)]), Verdict::Partly);
        let declared: usize = crate::experiments::ALL.iter().map(|i| i.claims.len()).sum();
        let evaluated = evaluate(&ResultsDoc::new(Environment::capture(), Vec::new()));
        assert_eq!(evaluated.len(), declared);
        // Claim ids are unique across experiments.
        let mut ids: Vec<&str> = evaluated.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), declared);
    }

    #[test]
    fn every_claim_is_not_tested_without_its_experiment() {
        let doc = ResultsDoc::new(Environment::capture(), Vec::new());
        for c in evaluate(&doc) {
            assert_eq!(c.verdict, "not-tested", "{}", c.id);
            assert_eq!(c.decided_by, None, "{}", c.id);
            assert!(
                c.evidence.starts_with("not measured"),
                "{}: {}",
                c.id,
                c.evidence
            );
        }
    }

    fn python_count(seq: f64, threads: f64, processes: f64, float_seq: f64) -> ExperimentResult {
        let int = || params! {"chunk_type" => "int"};
        let mut rows = vec![
            row("rust", "sequential", Params::new(), 0.01, Params::new()),
            row("rust", "threads", Params::new(), 0.005, Params::new()),
            row("python", "sequential", int(), seq, Params::new()),
            row("python", "threads", int(), threads, Params::new()),
            row("python", "processes", int(), processes, Params::new()),
            row(
                "python",
                "sequential",
                params! {"chunk_type" => "float"},
                float_seq,
                Params::new(),
            ),
        ];
        for r in rows.iter_mut().filter(|r| r.language == "python") {
            r.speedup = Some(seq / r.median_s.unwrap());
        }
        exp("count", Params::new(), rows)
    }

    #[test]
    fn cpu_bound_python() {
        let v = |s, t, p| verdict("cpu-threads-slower", vec![python_count(s, t, p, s)]);
        assert_eq!(v(1.0, 1.2, 0.5), "confirmed");
        assert_eq!(v(1.0, 0.5, 0.8), "refuted");
        assert_eq!(v(1.0, 1.2, 1.5), "partly");
        assert_eq!(v(1.0, 0.5, 0.3), "partly");
        // Threads at 1.05× whose interval reaches past the 1.1 threshold: this run cannot
        // tell whether threads gained, and processes alone do not settle the claim.
        let mut unsure = python_count(1.0, 0.95, 0.5, 1.0);
        for r in unsure.rows.iter_mut().filter(|r| r.technique == "threads") {
            r.speedup_ci = Some([0.9, 1.2]);
        }
        assert_eq!(verdict("cpu-threads-slower", vec![unsure]), "inconclusive");
        let f = |float| {
            verdict(
                "float-chunks-confound",
                vec![python_count(1.0, 1.0, 1.0, float)],
            )
        };
        assert_eq!(f(1.4), "confirmed");
        assert_eq!(f(1.02), "refuted");
        let l = |python_seq| {
            verdict(
                "language-vs-technique",
                vec![python_count(
                    python_seq,
                    python_seq,
                    python_seq / 1.8,
                    python_seq,
                )],
            )
        };
        // Python 100× slower and its best technique 1.8×: the language dominates.
        assert_eq!(l(1.0), "partly");
        // Python only 2× slower: its best technique (1.8×) still loses to the language gap.
        assert_eq!(l(0.02), "refuted");
    }

    #[test]
    fn io_threads() {
        let io = |seq: f64, threads: f64, processes: f64| {
            let r = |t, m| row("python", t, Params::new(), m, Params::new());
            vec![exp(
                "io",
                Params::new(),
                vec![
                    r("sequential", seq),
                    r("threads", threads),
                    r("processes", processes),
                ],
            )]
        };
        assert_eq!(verdict("io-threads-win", io(1.0, 0.2, 0.5)), "confirmed");
        assert_eq!(verdict("io-threads-win", io(1.0, 0.8, 0.9)), "partly");
        assert_eq!(verdict("io-threads-win", io(1.0, 0.9, 0.5)), "refuted");
    }

    #[test]
    fn python_threads_are_os_threads() {
        let facts = |os: bool| {
            vec![exp(
                "gil",
                Params::new(),
                vec![row(
                    "python",
                    "facts",
                    Params::new(),
                    0.0,
                    stored(GilData {
                        threads_are_os_tasks: Some(os),
                        switch_interval_s: Some(0.005),
                        ..GilData::default()
                    }),
                )],
            )]
        };
        assert_eq!(verdict("python-threads-not-os", facts(true)), "refuted");
        assert_eq!(verdict("python-threads-not-os", facts(false)), "partly");
    }

    fn map_row(call: &str, finished: [f64; 3], received: [f64; 3], order: [u64; 3]) -> Row {
        row(
            "rust",
            "pool-threads",
            params! {"call" => call},
            0.5,
            stored(MapData {
                finished_units: Some(finished.to_vec()),
                received_units: Some(received.to_vec()),
                received_order: Some(order.to_vec()),
                ..MapData::default()
            }),
        )
    }

    /// A language's map and imap memory rows, at these bytes per item.
    fn memory_rows(lang: &str, map: f64, imap: f64) -> Vec<Row> {
        let m = |call, b: f64| {
            row(
                lang,
                "pool-threads",
                params! {"mode" => "memory", "call" => call},
                0.1,
                stored(MapData {
                    bytes_per_item: Some(b),
                    ..MapData::default()
                }),
            )
        };
        vec![m("map", map), m("imap", imap)]
    }

    #[test]
    fn map_calls() {
        let map = |rows| vec![exp("map", params! {"sleeps" => [1, 5, 3]}, rows)];
        let f = [1.0, 5.0, 3.0];
        let good = vec![
            map_row("map", f, [5.0, 5.0, 5.0], [1, 5, 3]),
            map_row("imap", f, [1.0, 5.0, 5.0], [1, 5, 3]),
            map_row("imap_unordered", f, [1.0, 5.0, 3.0], [1, 3, 5]),
        ];
        assert_eq!(verdict("map-blocks-imap-streams", map(good)), "confirmed");
        let mixed = vec![
            map_row("map", f, [1.0, 5.0, 3.0], [1, 3, 5]),
            map_row("imap_unordered", f, [1.0, 5.0, 3.0], [1, 3, 5]),
        ];
        assert_eq!(verdict("map-blocks-imap-streams", map(mixed)), "partly");
        let bad = vec![map_row("imap_unordered", f, [5.0, 5.0, 5.0], [1, 5, 3])];
        assert_eq!(verdict("map-blocks-imap-streams", map(bad)), "refuted");

        let both = |rust: Vec<Row>, python: Vec<Row>| {
            verdict(
                "imap-less-memory",
                vec![exp(
                    "map",
                    Params::new(),
                    rust.into_iter().chain(python).collect(),
                )],
            )
        };
        assert_eq!(
            both(
                memory_rows("rust", 72.0, 1.0),
                memory_rows("python", 60.0, 10.0)
            ),
            "confirmed"
        );
        assert_eq!(
            both(
                memory_rows("rust", 72.0, 1.0),
                memory_rows("python", 60.0, 150.0)
            ),
            "partly"
        );
        assert_eq!(both(memory_rows("rust", 72.0, 80.0), Vec::new()), "refuted");
    }

    #[test]
    fn spawn_memory() {
        let spawn = |go: f64, threads: f64| {
            let r = |lang, t, b: f64| {
                row(
                    lang,
                    t,
                    params! {"units" => 1000, "stack" => "default (2 MiB)"},
                    0.1,
                    stored(SpawnData {
                        bytes_per_unit: Some(b),
                        ..SpawnData::default()
                    }),
                )
            };
            vec![exp(
                "spawn",
                Params::new(),
                vec![r("go", "goroutines", go), r("rust", "threads", threads)],
            )]
        };
        assert_eq!(
            verdict("goroutines-small", spawn(2700.0, 10_000.0)),
            "partly"
        );
        assert_eq!(verdict("goroutines-small", spawn(2700.0, 2e6)), "confirmed");
        assert_eq!(
            verdict("goroutines-small", spawn(50_000.0, 10_000.0)),
            "refuted"
        );
    }

    fn sched(waited: f64, facts: SchedData) -> Vec<ExperimentResult> {
        vec![exp(
            "sched",
            params! {"spin_s" => 0.2},
            vec![
                row(
                    "go",
                    "goroutines-1",
                    params! {"variant" => "spin"},
                    0.2,
                    stored(SchedData {
                        waited_s: Some(waited),
                        ..SchedData::default()
                    }),
                ),
                row(
                    "go",
                    "runtime",
                    params! {"variant" => "facts"},
                    0.0,
                    stored(facts),
                ),
            ],
        )]
    }

    #[test]
    fn go_scheduler() {
        assert_eq!(
            verdict(
                "goroutine-runs-until-blocks",
                sched(0.02, SchedData::default())
            ),
            "refuted"
        );
        assert_eq!(
            verdict(
                "goroutine-runs-until-blocks",
                sched(0.19, SchedData::default())
            ),
            "confirmed"
        );
        let facts = |default: u64| SchedData {
            gomaxprocs_default: Some(default),
            num_cpu: Some(2),
            ..SchedData::default()
        };
        // The present default is measured; the history part never counts either way.
        assert_eq!(
            verdict("gomaxprocs-default", sched(0.0, facts(2))),
            "confirmed"
        );
        assert_eq!(
            verdict("gomaxprocs-default", sched(0.0, facts(1))),
            "refuted"
        );
    }

    #[test]
    fn waitgroup_channel_select() {
        let wg = |no_wait: u64| {
            let r = |v, n: u64| {
                row(
                    "go",
                    "goroutines",
                    params! {"variant" => v},
                    0.1,
                    stored(WaitgroupData {
                        printed: Some(n),
                        ..WaitgroupData::default()
                    }),
                )
            };
            vec![exp(
                "waitgroup",
                params! {"prints" => 101},
                vec![r("no-wait", no_wait), r("wait", 505)],
            )]
        };
        assert_eq!(verdict("main-kills-goroutines", wg(0)), "confirmed");
        // Nothing lost without waiting refutes that half; waiting still printed all.
        assert_eq!(verdict("main-kills-goroutines", wg(505)), "partly");
        let parts = claim("main-kills-goroutines", wg(0)).parts;
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(
            (parts[0].value, parts[0].threshold),
            (Some(0.0), Some(505.0))
        );
        assert_eq!(parts[1].value, Some(505.0));

        let channel = |second: f64| {
            let extra = stored(ChannelData {
                receiver_start_units: Some(5.0),
                completed_units: Some(vec![0.0, second, 5.0, 5.0]),
                ..ChannelData::default()
            });
            vec![exp(
                "channel",
                params! {"mode" => "timeline"},
                vec![row("go", "chan", params! {"capacity" => 1}, 0.5, extra)],
            )]
        };
        assert_eq!(verdict("capacity-one-blocks", channel(5.0)), "confirmed");
        assert_eq!(verdict("capacity-one-blocks", channel(0.0)), "refuted");

        let select = |fast: u64, slow: u64| {
            // The Go peer's spelling of the producers.
            let extra = stored(SelectData {
                counts: Some(PerProducer {
                    fast: Some(fast),
                    slow: Some(slow),
                    ..PerProducer::default()
                }),
                max_wait_s: Some(0.001),
                ..SelectData::default()
            });
            vec![exp(
                "select",
                params! {"unit_s" => 0.1},
                vec![row("go", "select", Params::new(), 1.0, extra)],
            )]
        };
        assert_eq!(verdict("select-serves-both", select(20, 5)), "confirmed");
        assert_eq!(verdict("select-serves-both", select(20, 1)), "refuted");
    }

    #[test]
    fn pool_curve() {
        let pool = |speedups: [f64; 3], over: [f64; 2]| {
            let r = |w: u64, order: &str, s: f64, o: f64| {
                let mut r = row(
                    "rust",
                    "threads",
                    params! {"workers" => w, "order" => order},
                    1.0 / s,
                    stored(PoolData {
                        over_bound: Some(o),
                        ..PoolData::default()
                    }),
                );
                r.speedup = Some(s);
                r
            };
            vec![exp(
                "pool",
                Params::new(),
                vec![
                    r(1, "ascending", speedups[0], 1.0),
                    r(2, "ascending", speedups[1], over[0]),
                    r(8, "ascending", speedups[2], 1.2),
                    r(2, "largest-first", 1.9, over[1]),
                ],
            )]
        };
        assert_eq!(
            verdict("pool-plateau", pool([1.0, 1.7, 1.75], [1.18, 1.02])),
            "confirmed"
        );
        assert_eq!(
            verdict("pool-plateau", pool([1.0, 1.7, 1.75], [1.02, 1.02])),
            "partly"
        );
        assert_eq!(
            verdict("pool-plateau", pool([1.0, 1.1, 1.9], [1.02, 1.1])),
            "refuted"
        );
    }

    #[test]
    fn refcounts() {
        let gil = |lost: bool, exact: &[&str]| {
            let mut e = exp("gil", Params::new(), Vec::new());
            e.findings = params! {"lost_updates" => json!({"racy_lost_any": lost, "exact": exact})};
            vec![e]
        };
        assert_eq!(
            verdict("refcount-lost-updates", gil(true, &["atomic", "mutex"])),
            "confirmed"
        );
        assert_eq!(
            verdict("refcount-lost-updates", gil(false, &["atomic"])),
            "partly"
        );
        assert_eq!(verdict("refcount-lost-updates", gil(false, &[])), "refuted");
    }

    /// Claim `id` on a document of `experiments`: verdict and evidence, for the tests
    /// that check the sentence follows the numbers.
    fn claim(id: &str, experiments: Vec<ExperimentResult>) -> Claim {
        let mut env = Environment::capture();
        env.logical_cpus = 2;
        evaluate(&ResultsDoc::new(env, experiments))
            .into_iter()
            .find(|c| c.id == id)
            .expect("a known claim")
    }

    #[test]
    fn language_vs_technique_takes_the_faster_compiled_language() {
        // Python 1 s; Rust 0.01 s (100×), Go 0.02 s (50×); Python's best technique 1.8×.
        let count = |rust: f64, go: f64, python_best: f64| {
            let mut e = python_count(1.0, 1.0, 1.0 / python_best, 1.0);
            e.rows.retain(|r| r.language == "python");
            e.rows.push(row(
                "rust",
                "sequential",
                Params::new(),
                rust,
                Params::new(),
            ));
            e.rows
                .push(row("go", "sequential", Params::new(), go, Params::new()));
            vec![e]
        };
        let c = claim("language-vs-technique", count(0.01, 0.02, 1.8));
        assert!(
            c.evidence.contains("100× as long as Rust's"),
            "the faster compiled language is Rust's 100×, not Go's 50×: {}",
            c.evidence
        );
        assert!(
            c.evidence.contains("the language mattered more"),
            "{}",
            c.evidence
        );
        let c = claim("language-vs-technique", count(0.5, 0.02, 1.8));
        assert!(c.evidence.contains("50× as long as Go's"), "{}", c.evidence);
        // Compiled only 1.25× faster and a 1.8× technique: the other sentences.
        let c = claim("language-vs-technique", count(0.8, 0.9, 1.8));
        assert_eq!(c.verdict, "partly");
        assert!(
            c.evidence.contains("the technique mattered more"),
            "{}",
            c.evidence
        );
        assert!(c.evidence.contains("only 1.2× faster"), "{}", c.evidence);
        assert!(!c.evidence.contains("the language mattered more"));
    }

    #[test]
    fn spawn_evidence_follows_the_numbers() {
        let spawn = |go: f64, threads: f64, thread_method: &str| {
            let r = |lang, t, b: f64, method: &str| {
                row(
                    lang,
                    t,
                    params! {"units" => 1000, "stack" => "default (2 MiB)"},
                    0.1,
                    stored(SpawnData {
                        bytes_per_unit: Some(b),
                        method: Some(method.into()),
                        ..SpawnData::default()
                    }),
                )
            };
            vec![exp(
                "spawn",
                Params::new(),
                vec![
                    r("go", "goroutines", go, "peak-minus-baseline"),
                    r("rust", "threads", threads, thread_method),
                ],
            )]
        };
        let small = claim(
            "goroutines-small",
            spawn(2700.0, 10_000.0, "peak-minus-baseline"),
        );
        assert!(
            small
                .evidence
                .contains("the kernel backs only the pages it touches"),
            "{}",
            small.evidence
        );
        assert!(small.evidence.contains("A goroutine began small"));
        assert!(small.evidence.contains("Measured as peak-minus-baseline"));
        let big = claim(
            "goroutines-small",
            spawn(50_000.0, 2e6, "peak-minus-baseline"),
        );
        assert!(
            big.evidence.contains("reached a megabyte or more"),
            "{}",
            big.evidence
        );
        assert!(!big.evidence.contains("backs only the pages"));
        assert!(big.evidence.contains("over the claim's few kilobytes"));
        let mixed = claim("goroutines-small", spawn(2700.0, 10_000.0, "rss-snapshot"));
        assert!(
            mixed.evidence.contains("measured differently"),
            "{}",
            mixed.evidence
        );
    }

    #[test]
    fn gomaxprocs_history_is_not_tested_and_never_refuted() {
        let facts = |default: u64, cpus: u64, env: Option<&str>| SchedData {
            version: Some("go1.27.3".into()),
            gomaxprocs_default: Some(default),
            num_cpu: Some(cpus),
            gomaxprocs_env: env.map(String::from),
            ..SchedData::default()
        };
        for f in [facts(2, 2, None), facts(1, 2, None), facts(2, 4, None)] {
            let c = claim("gomaxprocs-default", sched(0.0, f));
            // A refuted or partly verdict from a true present part would mean the
            // history counted as false.
            assert!(
                c.evidence.contains("The history is not measured"),
                "{}",
                c.evidence
            );
            assert_ne!(c.verdict, "partly", "{}", c.evidence);
        }
        let c = claim("gomaxprocs-default", sched(0.0, facts(2, 2, None)));
        assert_eq!(c.verdict, "confirmed");
        assert!(
            c.evidence.contains("defaults to 2, the 2 CPUs"),
            "{}",
            c.evidence
        );
        // A CPU limit lowers the default but not to 1: still the claim's "not 1".
        let c = claim("gomaxprocs-default", sched(0.0, facts(2, 4, None)));
        assert_eq!(c.verdict, "confirmed");
        assert!(c.evidence.contains("2 of 4 CPUs"), "{}", c.evidence);
        // Set by the environment, the default went unseen: nothing is measured at all.
        let c = claim("gomaxprocs-default", sched(0.0, facts(1, 2, Some("1"))));
        assert_eq!(c.verdict, "not-tested");
        assert!(c.evidence.contains("GOMAXPROCS=1 set"), "{}", c.evidence);
    }

    #[test]
    fn the_switch_interval_decides_the_bytecode_part() {
        let facts = |interval: f64| {
            exp(
                "gil",
                Params::new(),
                vec![row(
                    "python",
                    "facts",
                    Params::new(),
                    0.0,
                    stored(GilData {
                        threads_are_os_tasks: Some(true),
                        switch_interval_s: Some(interval),
                        version: Some("3.11.7".into()),
                        ..GilData::default()
                    }),
                )],
            )
        };
        // count: 2e7 steps in 1 s, 8 bytecodes a step: 6.25 ns a bytecode.
        let count = exp(
            "count",
            params! {"n" => 20_000_000},
            vec![row(
                "python",
                "sequential",
                params! {"chunk_type" => "int"},
                1.0,
                Params::new(),
            )],
        );
        // CPython's 5 ms is some 800,000 bytecodes: the "100 bytecodes" part is false.
        let c = claim("python-threads-not-os", vec![facts(0.005), count.clone()]);
        assert_eq!(c.verdict, "refuted");
        assert!(c.evidence.contains("800,000 bytecodes"), "{}", c.evidence);
        assert!(c.evidence.contains("Python 2's check interval"));
        // An interval of 1 µs is 160 bytecodes here: near 100, so that part holds.
        let c = claim("python-threads-not-os", vec![facts(1e-6), count]);
        assert_eq!(c.verdict, "partly");
        assert!(
            c.evidence.contains("as short as the claim's 100"),
            "{}",
            c.evidence
        );
        // Without count only a lower bound: 1 µs is at least 10 bytecodes, which
        // settles nothing; 5 ms is at least 50,000, which refutes.
        let c = claim("python-threads-not-os", vec![facts(1e-6)]);
        assert_eq!(
            c.verdict, "refuted",
            "only the OS-thread part: {}",
            c.evidence
        );
        assert!(c.evidence.contains("cannot tell"), "{}", c.evidence);
        let c = claim("python-threads-not-os", vec![facts(0.005)]);
        assert!(
            c.evidence.contains("at least 50,000 bytecodes"),
            "{}",
            c.evidence
        );
    }

    #[test]
    fn imap_memory_evidence_follows_the_numbers() {
        let evidence = |python: Vec<Row>| {
            claim("imap-less-memory", vec![exp("map", Params::new(), python)]).evidence
        };
        let saved = evidence(memory_rows("python", 60.0, 6.0));
        assert!(saved.contains("needed 10 % of map's"), "{saved}");
        assert!(!saved.contains("task feeder"), "{saved}");
        let none = evidence(memory_rows("python", 60.0, 90.0));
        assert!(none.contains("task feeder"), "{none}");
        assert!(none.contains("150 % of map's"), "{none}");
        let some = evidence(memory_rows("python", 60.0, 45.0));
        assert!(some.contains("less than half"), "{some}");
    }
}
