//! One line of a peer's output, checked before it becomes a row: a peer is another
//! program, so nothing it prints is trusted until it parses into the protocol's shape
//! and names an experiment, language and technique parlab asked for.

use super::Language;
use crate::results::{Event, Params, Row, Status};
use serde::Deserialize;

/// A row as a peer prints it (peers/PROTOCOL.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerRow {
    experiment: String,
    language: String,
    technique: String,
    params: Params,
    status: Status,
    message: Option<String>,
    samples_s: Vec<f64>,
    validated: bool,
    peak_rss_bytes: Option<u64>,
    /// Required with a peak (peers/PROTOCOL.md): a figure nobody can compare is none.
    #[serde(default)]
    memory_method: Option<String>,
    extra: Params,
    #[serde(default)]
    events: Vec<PeerEvent>,
    #[serde(default)]
    lines: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerEvent {
    t_s: f64,
    lane: String,
    kind: String,
    label: String,
}

/// A checked line: the row (statistics computed here, not taken from the peer), the
/// events of its last run and the paper-style lines it wants printed.
#[derive(Debug)]
pub struct Parsed {
    pub row: Row,
    pub events: Vec<Event>,
    pub lines: Vec<String>,
}

/// What a line must match: the experiment asked for and the techniques allowed.
pub struct Expect<'a> {
    pub experiment: &'a str,
    pub language: Language,
    pub techniques: &'a [&'a str],
}

/// Longest line kept whole in an error message.
const SHOWN: usize = 80;

/// Parses and checks one output line; the error says what is wrong in one line.
pub fn parse(line: &str, expect: &Expect) -> Result<Parsed, String> {
    let shown = excerpt(line);
    let peer: PeerRow =
        serde_json::from_str(line).map_err(|e| format!("a malformed line `{shown}` ({e})"))?;
    let wrong = |what: String| Err(format!("{what} in `{shown}`"));
    if peer.experiment != expect.experiment {
        return wrong(format!(
            "experiment '{}' where '{}' was asked for",
            peer.experiment, expect.experiment
        ));
    }
    if peer.language != expect.language.id() {
        return wrong(format!("language '{}'", peer.language));
    }
    if !expect.techniques.contains(&peer.technique.as_str()) {
        return wrong(format!(
            "technique '{}' (expected one of {})",
            peer.technique,
            expect.techniques.join(", ")
        ));
    }
    if let Some(bad) = peer.samples_s.iter().find(|s| !s.is_finite() || **s < 0.0) {
        return wrong(format!("a sample of {bad} s"));
    }
    if peer.status != Status::Ok && peer.message.as_deref().is_none_or(|m| m.trim().is_empty()) {
        return wrong(format!("a {:?} row without a message", peer.status).to_lowercase());
    }
    if peer.peak_rss_bytes.is_some() && peer.memory_method.as_deref().is_none_or(str::is_empty) {
        return wrong("a peak_rss_bytes without its memory_method".to_string());
    }
    if let Some(e) = peer
        .events
        .iter()
        .find(|e| !e.t_s.is_finite() || e.t_s < 0.0)
    {
        return wrong(format!("an event at {} s", e.t_s));
    }
    let mut row = Row::new(expect.language.id(), &peer.technique, peer.params);
    let notes = std::mem::take(&mut row.extra);
    row.extra = peer.extra;
    row.extra.extend(notes);
    if peer.status == Status::Ok {
        row = row.with_samples(peer.samples_s);
        row.validated = peer.validated;
    } else {
        row.samples_s = peer.samples_s;
    }
    row.status = peer.status;
    row.message = peer.message;
    row.peak_rss_bytes = peer.peak_rss_bytes;
    row.memory_method = peer.memory_method.filter(|_| peer.peak_rss_bytes.is_some());
    let events = peer
        .events
        .into_iter()
        .map(|e| Event {
            row: 0,
            t_s: e.t_s,
            lane: e.lane,
            kind: e.kind,
            label: e.label,
        })
        .collect();
    Ok(Parsed {
        row,
        events,
        lines: peer.lines,
    })
}

/// The start of a line, on one line, for error messages.
pub fn excerpt(line: &str) -> String {
    let flat: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(SHOWN) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXPECT: Expect = Expect {
        experiment: "count",
        language: Language::Python,
        techniques: &["sequential", "threads"],
    };

    fn line(technique: &str, status: &str, samples: &str) -> String {
        format!(
            r#"{{"experiment":"count","language":"python","technique":"{technique}","params":{{"chunks":5}},"status":"{status}","message":{},"samples_s":{samples},"validated":true,"peak_rss_bytes":1024,"memory_method":"per-run-peak+children-sum","extra":{{"remaining":0}},"events":[{{"t_s":0.5,"lane":"w1","kind":"start","label":"c1"}}],"lines":["hello"]}}"#,
            if status == "ok" { "null" } else { "\"why\"" }
        )
    }

    #[test]
    fn a_good_row_gets_its_statistics_here() {
        let p = parse(&line("threads", "ok", "[3.0,1.0,2.0]"), &EXPECT).unwrap();
        assert_eq!(p.row.language, "python");
        assert_eq!(p.row.median_s, Some(2.0));
        assert_eq!(p.row.min_s, Some(1.0));
        assert!(p.row.validated);
        assert_eq!(p.row.extra["remaining"], 0);
        assert_eq!(p.row.peak_rss_bytes, Some(1024));
        assert_eq!(
            p.row.memory_method.as_deref(),
            Some("per-run-peak+children-sum")
        );
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.lines, ["hello"]);
    }

    #[test]
    fn skipped_and_error_rows_keep_their_message() {
        let p = parse(&line("threads", "skipped", "[]"), &EXPECT).unwrap();
        assert_eq!(p.row.status, Status::Skipped);
        assert_eq!(p.row.message.as_deref(), Some("why"));
    }

    #[test]
    fn wrong_lines_say_what_is_wrong() {
        let cases = [
            ("garbage", "malformed line `garbage`"),
            ("", "malformed line"),
            (&line("goroutines", "ok", "[1.0]"), "technique 'goroutines'"),
            (&line("threads", "ok", "[-1.0]"), "a sample of -1 s"),
            (&line("threads", "fine", "[1.0]"), "malformed line"),
            (
                &line("threads", "ok", "[1.0]").replace("\"count\"", "\"pool\""),
                "experiment 'pool'",
            ),
            (
                &line("threads", "ok", "[1.0]").replace("\"python\"", "\"go\""),
                "language 'go'",
            ),
            (
                &line("threads", "ok", "[1.0]").replace("\"extra\"", "\"bonus\""),
                "malformed line",
            ),
            (
                &line("threads", "error", "[]").replace("\"why\"", "null"),
                "error row without a message",
            ),
            (
                &line("threads", "ok", "[1.0]").replace("\"per-run-peak+children-sum\"", "null"),
                "a peak_rss_bytes without its memory_method",
            ),
        ];
        for (input, want) in cases {
            let err = parse(input, &EXPECT).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        let long = "x".repeat(500) + "\n";
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), SHOWN + 1);
        assert!(excerpt("a\tb\u{0}").chars().all(|c| !c.is_control()));
    }

    proptest! {
        /// Whatever a peer prints, the parser answers with a row or a one-line error.
        #[test]
        fn any_text_is_a_row_or_an_error(text in ".{0,300}") {
            if let Err(e) = parse(&text, &EXPECT) {
                prop_assert!(!e.contains('\n'));
            }
        }

        /// Valid rows with arbitrary numbers never panic and keep their samples.
        #[test]
        fn any_samples(samples in proptest::collection::vec(0.0f64..1e6, 0..20)) {
            let json = serde_json::to_string(&samples).unwrap();
            let p = parse(&line("sequential", "ok", &json), &EXPECT).unwrap();
            prop_assert_eq!(p.row.samples_s.len(), samples.len());
        }
    }
}
