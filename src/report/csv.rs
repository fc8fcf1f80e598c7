//! `results.csv`: one line per result row, for spreadsheets and data frames.
//!
//! Numbers are written in full (seconds, bytes), never formatted for reading, and a
//! value that does not exist is an empty cell, so a spreadsheet treats it as missing
//! rather than as zero. A row's params are one cell of compact JSON: experiments differ
//! in their params, and one column per key would leave most cells empty.

use crate::results::ResultsDoc;

/// The interval columns come last, so a script that reads columns by position from an
/// older file reads the same columns from a newer one.
pub const HEADERS: [&str; 18] = [
    "experiment",
    "language",
    "technique",
    "params",
    "status",
    "message",
    "median_s",
    "min_s",
    "max_s",
    "stddev_s",
    "speedup",
    "validated",
    "peak_rss_bytes",
    "runs",
    "median_ci_lo_s",
    "median_ci_hi_s",
    "speedup_ci_lo",
    "speedup_ci_hi",
];

/// The CSV file's bytes.
pub fn render(doc: &ResultsDoc) -> Vec<u8> {
    let mut out = ::csv::Writer::from_writer(Vec::new());
    out.write_record(HEADERS).expect("writing to memory");
    for exp in &doc.experiments {
        for row in &exp.rows {
            let num = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
            let status = row.status.id();
            out.write_record([
                exp.experiment.clone(),
                row.language.clone(),
                row.technique.clone(),
                serde_json::to_string(&row.params).expect("params serialise"),
                status.to_string(),
                row.message.clone().unwrap_or_default(),
                num(row.median_s),
                num(row.min_s),
                num(row.max_s),
                num(row.stddev_s),
                num(row.speedup),
                row.validated.to_string(),
                row.peak_rss_bytes
                    .map_or_else(String::new, |b| b.to_string()),
                row.samples_s.len().to_string(),
                num(row.median_ci_s.map(|c| c[0])),
                num(row.median_ci_s.map(|c| c[1])),
                num(row.speedup_ci.map(|c| c[0])),
                num(row.speedup_ci.map(|c| c[1])),
            ])
            .expect("writing to memory");
        }
    }
    out.into_inner().expect("flushing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{ExperimentResult, Row};

    #[test]
    fn commas_quotes_and_missing_values_survive() {
        let mut exp = ExperimentResult::new("io", "Figure 4", Default::default());
        let row = Row::new("rust", "threads", crate::params! {"how" => "a, \"b\""})
            .failed("worker 1 died, twice");
        exp.push(row, Vec::new());
        let doc = crate::report::doc_for_tests(vec![exp]);
        let bytes = render(&doc);
        let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
        let records: Vec<_> = reader.records().collect::<Result<_, _>>().unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(&r[3], r#"{"how":"a, \"b\""}"#);
        assert_eq!(&r[4], "error");
        assert_eq!(&r[5], "worker 1 died, twice");
        assert_eq!(&r[6], "");
        assert_eq!(&r[13], "0");
        assert_eq!(&r[14], "", "no runs, no interval");
    }

    #[test]
    fn intervals_have_their_own_columns() {
        let mut exp = ExperimentResult::new("count", "Figure 2", Default::default());
        let base = vec![2.0, 2.1, 1.9, 2.05, 1.95, 2.0];
        let mut row = Row::new("rust", "threads", Default::default())
            .with_samples(vec![1.0, 1.1, 0.9, 1.05, 0.95, 1.0]);
        row.set_speedup(&base);
        exp.push(row.clone(), Vec::new());
        let bytes = render(&crate::report::doc_for_tests(vec![exp]));
        let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
        let headers = reader.headers().unwrap().clone();
        let r = reader.records().next().unwrap().unwrap();
        let column = |name: &str| {
            let at = headers.iter().position(|h| h == name).unwrap();
            r[at].parse::<f64>().unwrap()
        };
        let [lo, hi] = row.median_ci_s.unwrap();
        assert_eq!(
            (column("median_ci_lo_s"), column("median_ci_hi_s")),
            (lo, hi)
        );
        let [lo, hi] = row.speedup_ci.unwrap();
        assert_eq!((column("speedup_ci_lo"), column("speedup_ci_hi")), (lo, hi));
    }
}
