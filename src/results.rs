//! The results document of docs/DESIGN.md: one schema for Rust rows and peer rows alike,
//! so every table, chart and claim reads one shape.

use crate::measure::env::Environment;
use crate::measure::stats::{self, Summary};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub type Params = Map<String, Value>;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResultsDoc {
    pub parlab_version: String,
    pub environment: Environment,
    pub experiments: Vec<ExperimentResult>,
    pub claims: Vec<Claim>,
}

impl ResultsDoc {
    pub fn new(environment: Environment, experiments: Vec<ExperimentResult>) -> Self {
        ResultsDoc {
            parlab_version: env!("CARGO_PKG_VERSION").to_string(),
            environment,
            experiments,
            claims: Vec::new(),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.experiments.iter().any(ExperimentResult::has_errors)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentResult {
    pub experiment: String,
    pub paper_ref: String,
    pub params: Params,
    pub rows: Vec<Row>,
    pub events: Vec<Event>,
    pub findings: Params,
}

impl ExperimentResult {
    pub fn new(experiment: &str, paper_ref: &str, params: Params) -> Self {
        ExperimentResult {
            experiment: experiment.into(),
            paper_ref: paper_ref.into(),
            params,
            rows: Vec::new(),
            events: Vec::new(),
            findings: Params::new(),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|r| r.status == Status::Error)
    }

    /// Adds a row with its events (whose `row` index is set here) and returns its index.
    /// Nothing else: an experiment pushes through `Ctx::push`, which also mirrors the row
    /// for an interrupt.
    pub fn push(&mut self, row: Row, events: Vec<Event>) -> usize {
        let index = self.rows.len();
        self.rows.push(row);
        self.events
            .extend(events.into_iter().map(|e| Event { row: index, ..e }));
        index
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Error,
    /// The run was interrupted (Ctrl-C) before this part ran.
    Interrupted,
}

impl Status {
    /// The name the schema uses.
    pub fn id(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Error => "error",
            Status::Interrupted => "interrupted",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub language: String,
    pub technique: String,
    pub params: Params,
    pub status: Status,
    pub message: Option<String>,
    pub samples_s: Vec<f64>,
    pub median_s: Option<f64>,
    pub min_s: Option<f64>,
    pub max_s: Option<f64>,
    pub stddev_s: Option<f64>,
    /// 95 % confidence interval of the median ([`crate::measure::stats::median_ci`]);
    /// absent with too few runs, and in documents written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ci_s: Option<[f64; 2]>,
    /// Baseline median over this row's median: above 1 is faster than the baseline.
    pub speedup: Option<f64>,
    /// 95 % confidence interval of `speedup` ([`crate::measure::stats::speedup_ci`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speedup_ci: Option<[f64; 2]>,
    pub validated: bool,
    pub peak_rss_bytes: Option<u64>,
    /// How `peak_rss_bytes` was measured (`crate::measure::memory::PER_RUN` and the
    /// others, the same ids in every language), so a table can say when one column mixes
    /// methods; absent without a peak, and in documents written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_method: Option<String>,
    pub extra: Params,
}

impl Row {
    pub fn new(language: &str, technique: &str, params: Params) -> Self {
        Row {
            language: language.into(),
            technique: technique.into(),
            params,
            status: Status::Ok,
            message: None,
            samples_s: Vec::new(),
            median_s: None,
            min_s: None,
            max_s: None,
            stddev_s: None,
            median_ci_s: None,
            speedup: None,
            speedup_ci: None,
            validated: false,
            peak_rss_bytes: None,
            memory_method: None,
            extra: Params::new(),
        }
    }

    /// A row that did not run, with why (no toolchain, too slow, not supported here).
    pub fn skipped(mut self, why: impl Into<String>) -> Self {
        self.status = Status::Skipped;
        self.message = Some(why.into());
        self
    }

    /// This row's experiment-specific values, read through the experiment's own type.
    pub fn data<T: RowData>(&self) -> T {
        T::of(self)
    }

    pub fn failed(mut self, message: impl Into<String>) -> Self {
        self.status = Status::Error;
        self.message = Some(message.into());
        self
    }

    pub fn with_samples(mut self, samples: Vec<f64>) -> Self {
        if let Some(s) = Summary::of(&samples) {
            self.median_s = Some(s.median);
            self.min_s = Some(s.min);
            self.max_s = Some(s.max);
            self.stddev_s = Some(s.stddev);
            self.extra.insert("cv".into(), s.cv.into());
            if s.is_noisy() {
                self.note(format!("noisy: CV {:.0}%", s.cv * 100.0));
            }
            self.median_ci_s = stats::median_ci(&samples);
            // A single run plainly has no spread to bound; several runs without an
            // interval might read as a missing feature, so they say why.
            if self.median_ci_s.is_none() && s.count > 1 {
                self.note(format!("no CI: {} runs", s.count));
            }
        }
        self.samples_s = samples;
        self
    }

    /// Sets `speedup` (and its interval) against a baseline's samples: above 1 is faster.
    /// The baseline row itself (the same samples) gets exactly 1 and no interval, since
    /// it is not an estimate against anything.
    pub fn set_speedup(&mut self, baseline: &[f64]) {
        let Some(base) = Summary::of(baseline).map(|s| s.median) else {
            return;
        };
        if let Some(m) = self.median_s.filter(|m| *m > 0.0) {
            if self.samples_s == baseline {
                self.speedup = Some(1.0);
                self.speedup_ci = None;
            } else {
                self.speedup = Some(base / m);
                self.speedup_ci = stats::speedup_ci(baseline, &self.samples_s);
            }
        }
    }

    /// Flags a speedup no run on `cores` cores can reach, for work that only computes:
    /// the baseline ran slow (the machine got busier during it) or the run is noise.
    /// It is flagged only when its interval, where it has one, lies wholly above the
    /// core count, and a flagged row is never taken as a finding (see
    /// [`Row::beyond_cores`]).
    pub fn flag_beyond_cores(&mut self, cores: usize) {
        let Some(speedup) = self.speedup else {
            return;
        };
        let lowest = self.speedup_ci.map_or(speedup, |[lo, _]| lo);
        if cores > 0 && lowest > cores as f64 && !self.beyond_cores() {
            self.note(format!(
                "{BEYOND_CORES} ({speedup:.2}× on {cores}): the baseline ran slower a step (a busier machine, another interpreter state) or the run is noise"
            ));
        }
    }

    /// Whether [`Row::flag_beyond_cores`] flagged this row.
    pub fn beyond_cores(&self) -> bool {
        self.notes().iter().any(|n| n.starts_with(BEYOND_CORES))
    }

    /// Adds a short remark for the notes column (kept in `extra.notes`).
    pub fn note(&mut self, text: impl Into<String>) {
        let notes = self
            .extra
            .entry("notes")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = notes {
            list.push(Value::String(text.into()));
        }
    }

    pub fn notes(&self) -> Vec<&str> {
        match self.extra.get("notes") {
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    pub fn param_u64(&self, key: &str) -> Option<u64> {
        self.params.get(key).and_then(Value::as_u64)
    }

    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(Value::as_str)
    }
}

/// An experiment's typed view of `Row::extra`: one struct per experiment, the only way
/// its experiment, peer check, tables, claims and charts write and read those values, so
/// a misspelt key is a compile error instead of a claim quietly not tested.
///
/// Fields are `Option`s (or have serde defaults): a row of another language or mode may
/// lack some. Keys the struct does not know (`notes`, `cv`) are kept as they are.
pub trait RowData: Serialize + serde::de::DeserializeOwned + Default {
    /// The row's values; a row whose values have the wrong types reads as empty (a peer's
    /// rows are checked with `parse` before they reach a table).
    fn of(row: &Row) -> Self {
        Self::parse(row).unwrap_or_default()
    }

    /// The row's values, or why they do not fit this experiment's type.
    fn parse(row: &Row) -> Result<Self, String> {
        serde_json::from_value(Value::Object(row.extra.clone())).map_err(|e| e.to_string())
    }

    /// Writes every field serde writes, nulls included, where `store` leaves nulls out:
    /// for the keys a row has always carried even without a value, so documents keep
    /// their shape. A field left out is one marked `skip_serializing_if`. Types whose
    /// rows keep such keys make their `store` this.
    fn store_with_nulls(&self, row: &mut Row) {
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            row.extra.extend(map);
        }
    }

    /// Writes the values that are set into the row, leaving its other keys alone.
    fn store(&self, row: &mut Row) {
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            row.extra
                .extend(map.into_iter().filter(|(_, v)| !v.is_null()));
        }
    }
}

/// One moment in a run, for timelines and traces; `t_s` counts from the start of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub row: usize,
    pub t_s: f64,
    pub lane: String,
    pub kind: String,
    pub label: String,
}

/// A claim of the paper with this machine's verdict on it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    pub paper_ref: String,
    pub claim: String,
    pub verdict: String,
    pub evidence: String,
    /// The number the verdict turns on, short enough for a table cell, so a reader sees
    /// why without reading the evidence. Documents written before it existed load
    /// without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// What the verdict was made of: each part with the value it measured, the threshold
    /// it was held against, and its outcome. Older documents load without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<ClaimPart>,
}

/// One part of a claim: one measured value held against one threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimPart {
    /// What the part says, in a few words: `threads speedup below 1.1`.
    pub name: String,
    /// Whether this machine measured it; an unmeasured part says why.
    pub measured: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The value's 95 % interval, where the rows carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// `above` or `below`: on which side of the threshold the part holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds_when: Option<String>,
    /// `holds`, `fails`, `inconclusive` (the interval straddles the threshold) or
    /// `not-measured`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl ClaimPart {
    /// The part in one line for a reader: its outcome, what it says, and the value
    /// against the threshold with the interval where there is one, e.g. `holds: Python
    /// threads' speedup over one thread = 0.93 (95 % 0.88–0.97), below 1.1`.
    pub fn describe(&self) -> String {
        let mut line = format!("{}: {}", self.outcome, self.name);
        if let Some(v) = self.value {
            line.push_str(&format!(" = {}", significant(v)));
        }
        if let Some([lo, hi]) = self.interval {
            line.push_str(&format!(" (95 % {}–{})", significant(lo), significant(hi)));
        }
        if let (Some(t), Some(side)) = (self.threshold, &self.holds_when) {
            line.push_str(&format!(", holds {side} {}", significant(t)));
        }
        if let Some(why) = &self.why {
            line.push_str(&format!(" ({why})"));
        }
        line
    }
}

/// A value of any size in about three significant figures: 0.934, 12.3, 2700, 1.05e6.
fn significant(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// How a speedup above the core count is flagged in a row's notes.
pub const BEYOND_CORES: &str = "faster than the cores allow";

/// Builds a params map from `key => value` pairs.
#[macro_export]
macro_rules! params {
    ($($key:expr => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut map = $crate::results::Params::new();
        $( map.insert($key.to_string(), serde_json::json!($value)); )*
        map
    }};
}

/// Test support: `row`'s values read as `T` and, written into the row without them,
/// give back exactly the JSON they came from, so typing an experiment's values cannot
/// change a results file.
#[cfg(test)]
pub(crate) fn assert_round_trip<T: RowData>(row: &Row) {
    let what = format!("{} {} {:?}", row.language, row.technique, row.params);
    let data = T::parse(row).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut again = row.clone();
    again.extra.retain(|k, _| k == "notes" || k == "cv");
    data.store(&mut again);
    assert_eq!(again.extra, row.extra, "{what}");
}

/// Test support: `assert_round_trip` on every row of `experiment` in the fixture that the
/// report tests load.
#[cfg(test)]
pub(crate) fn assert_fixture_round_trips<T: RowData>(experiment: &str) {
    let doc: ResultsDoc =
        serde_json::from_str(include_str!("../tests/fixtures/results-small.json")).unwrap();
    let rows: Vec<&Row> = doc
        .experiments
        .iter()
        .filter(|e| e.experiment == experiment)
        .flat_map(|e| &e.rows)
        .collect();
    assert!(!rows.is_empty(), "no {experiment} rows in the fixture");
    rows.into_iter().for_each(assert_round_trip::<T>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enough_runs_get_a_median_interval_and_fewer_say_so() {
        let six = Row::new("rust", "threads", Params::new())
            .with_samples(vec![1.0, 1.1, 0.9, 1.05, 0.95, 1.0]);
        assert_eq!(six.median_ci_s, Some([0.9, 1.1]));
        assert!(six.notes().iter().all(|n| !n.starts_with("no CI")));
        let three = Row::new("rust", "threads", Params::new()).with_samples(vec![1.0, 1.01, 0.99]);
        assert_eq!(three.median_ci_s, None);
        assert_eq!(three.notes(), ["no CI: 3 runs"]);
        // One run has no spread to bound, and saying so on every timeline row is noise.
        let one = Row::new("rust", "threads", Params::new()).with_samples(vec![1.0]);
        assert!(one.notes().is_empty());
    }

    #[test]
    fn a_speedup_beyond_the_cores_is_flagged_once_and_only_beyond_its_interval() {
        let with = |speedup: f64, ci: Option<[f64; 2]>| {
            let mut r = Row::new("rust", "threads", Params::new());
            (r.speedup, r.speedup_ci) = (Some(speedup), ci);
            r.flag_beyond_cores(2);
            r
        };
        let over = with(2.4, Some([2.2, 2.6]));
        assert!(over.beyond_cores());
        assert_eq!(
            over.notes(),
            [
                "faster than the cores allow (2.40× on 2): the baseline ran slower a step (a busier machine, another interpreter state) or the run is noise"
            ]
        );
        // Its interval reaches 2: it may be a true 2×.
        assert!(!with(2.1, Some([1.8, 2.4])).beyond_cores());
        // Without an interval the value alone decides.
        assert!(with(2.1, None).beyond_cores());
        assert!(!with(1.9, None).beyond_cores());
        // Flagged once however often it is checked.
        let mut twice = with(3.0, None);
        twice.flag_beyond_cores(2);
        assert_eq!(twice.notes().len(), 1);
    }

    #[test]
    fn speedups_carry_an_interval_except_the_baseline_s_own() {
        let base = vec![2.0, 2.1, 1.9, 2.05, 1.95, 2.0];
        let mut rows = [
            Row::new("rust", "sequential", Params::new()).with_samples(base.clone()),
            Row::new("rust", "threads", Params::new())
                .with_samples(vec![1.0, 1.1, 0.9, 1.05, 0.95, 1.0]),
        ];
        rows.iter_mut().for_each(|r| r.set_speedup(&base));
        assert_eq!(rows[0].speedup, Some(1.0));
        assert_eq!(rows[0].speedup_ci, None);
        assert_eq!(rows[1].speedup, Some(2.0));
        let [lo, hi] = rows[1].speedup_ci.unwrap();
        assert!(lo < 2.0 && 2.0 < hi, "{lo} {hi}");
    }

    #[test]
    fn documents_without_intervals_still_load_and_none_are_written() {
        let row = Row::new("rust", "threads", Params::new()).with_samples(vec![1.0]);
        let json = serde_json::to_value(&row).unwrap();
        assert!(json.get("median_ci_s").is_none() && json.get("speedup_ci").is_none());
        let back: Row = serde_json::from_value(json).unwrap();
        assert_eq!(back.median_ci_s, None);
        let mut row = row;
        row.median_ci_s = Some([0.5, 1.5]);
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["median_ci_s"], serde_json::json!([0.5, 1.5]));
    }

    #[test]
    fn claims_without_a_deciding_number_load_and_none_is_written() {
        let old = serde_json::json!({"id": "x", "paper_ref": "§1", "claim": "c",
            "verdict": "confirmed", "evidence": "e"});
        let claim: Claim = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(claim.decided_by, None);
        assert_eq!(serde_json::to_value(&claim).unwrap(), old);
        let decided = Claim {
            decided_by: Some("1.5×".into()),
            ..claim
        };
        assert_eq!(
            serde_json::to_value(&decided).unwrap()["decided_by"],
            "1.5×"
        );
    }
}
