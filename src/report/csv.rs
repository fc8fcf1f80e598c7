//! `results.csv`: one line per result row, for spreadsheets and data frames.
//!
//! Numbers are written in full (seconds, bytes), never formatted for reading, and a
//! value that does not exist is an empty cell, so a spreadsheet treats it as missing
//! rather than as zero. A row's params are one cell of compact JSON: experiments differ
//! in their params, and one column per key would leave most cells empty.

use crate::results::ResultsDoc;

pub const HEADERS: [&str; 14] = [
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
    }
}
