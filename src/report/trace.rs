//! Events as timelines: start/end pairs become spans, everything else a mark; and the
//! same timelines as a Chrome trace (`trace.json`) for Perfetto or chrome://tracing.
//!
//! The charts and the trace read events through [`Timeline`] so that both agree on which
//! events pair up.

use crate::results::{Event, ExperimentResult, ResultsDoc};
use serde_json::{Value, json};
use std::cmp::Ordering;

/// Event kinds that open a span, each with the kind that closes it. Experiments record
/// a job's start and end (`start`/`end`) or a send that may block until it went in
/// (`send`/`sent`); any other kind is a moment.
const PAIRS: &[(&str, &str)] = &[("start", "end"), ("send", "sent")];

/// A stretch of time on one lane: a job running, a send blocked.
#[derive(Clone, Debug, PartialEq)]
pub struct Span<'a> {
    pub lane: usize,
    pub kind: &'a str,
    pub label: &'a str,
    pub start_s: f64,
    pub end_s: f64,
}

/// A moment on one lane: a print, a receipt, a switch.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark<'a> {
    pub lane: usize,
    pub kind: &'a str,
    pub label: &'a str,
    pub t_s: f64,
}

/// The events of one result row, laid out on lanes.
#[derive(Clone, Debug, Default)]
pub struct Timeline<'a> {
    /// Lane names in natural order (`worker-2` before `worker-10`, `unit A` before
    /// `unit B`), the order the program numbered them in, whichever started first.
    pub lanes: Vec<&'a str>,
    pub spans: Vec<Span<'a>>,
    pub marks: Vec<Mark<'a>>,
}

impl<'a> Timeline<'a> {
    /// Pairs each opening event with the next closing event of the same lane and label;
    /// an opening event left without its close (a run cut short) becomes a mark, so no
    /// event is ever dropped.
    pub fn of(events: impl IntoIterator<Item = &'a Event>) -> Timeline<'a> {
        let mut events: Vec<&Event> = events.into_iter().collect();
        // Stable: events recorded at the same instant keep their recorded order.
        events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        let mut t = Timeline::default();
        let mut open: Vec<(usize, &str, &Event)> = Vec::new();
        for e in events {
            let lane = t.lane(&e.lane);
            if let Some((_, close)) = PAIRS.iter().find(|(o, _)| *o == e.kind) {
                open.push((lane, close, e));
                continue;
            }
            let opener = open
                .iter()
                .position(|(l, close, o)| *l == lane && *close == e.kind && o.label == e.label);
            match opener {
                Some(i) => {
                    let (_, _, o) = open.remove(i);
                    t.spans.push(Span {
                        lane,
                        kind: &o.kind,
                        label: &o.label,
                        start_s: o.t_s,
                        end_s: e.t_s,
                    });
                }
                None => t.marks.push(Mark {
                    lane,
                    kind: &e.kind,
                    label: &e.label,
                    t_s: e.t_s,
                }),
            }
        }
        for (lane, _, o) in open {
            t.marks.push(Mark {
                lane,
                kind: &o.kind,
                label: &o.label,
                t_s: o.t_s,
            });
        }
        t.marks.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        t.sort_lanes();
        t
    }

    fn sort_lanes(&mut self) {
        let mut order: Vec<usize> = (0..self.lanes.len()).collect();
        order.sort_by(|&a, &b| natural_cmp(self.lanes[a], self.lanes[b]));
        let mut moved_to = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            moved_to[old] = new;
        }
        self.lanes = order.iter().map(|&i| self.lanes[i]).collect();
        self.spans
            .iter_mut()
            .for_each(|s| s.lane = moved_to[s.lane]);
        self.marks
            .iter_mut()
            .for_each(|m| m.lane = moved_to[m.lane]);
    }

    fn lane(&mut self, name: &'a str) -> usize {
        match self.lanes.iter().position(|l| *l == name) {
            Some(i) => i,
            None => {
                self.lanes.push(name);
                self.lanes.len() - 1
            }
        }
    }

    /// The last moment anything happened.
    pub fn end_s(&self) -> f64 {
        let spans = self.spans.iter().map(|s| s.end_s);
        let marks = self.marks.iter().map(|m| m.t_s);
        spans.chain(marks).fold(0.0, f64::max)
    }

    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }
}

/// Compares runs of digits by their value and everything else as text.
pub fn natural_cmp(mut a: &str, mut b: &str) -> Ordering {
    let digits = |s: &str| s.starts_with(|c: char| c.is_ascii_digit());
    let run = |s: &str, d: bool| s.find(|c: char| c.is_ascii_digit() != d).unwrap_or(s.len());
    while !a.is_empty() && !b.is_empty() {
        let (da, db) = (digits(a), digits(b));
        let (head_a, rest_a) = a.split_at(run(a, da));
        let (head_b, rest_b) = b.split_at(run(b, db));
        let ord = if da && db {
            let (na, nb) = (
                head_a.trim_start_matches('0'),
                head_b.trim_start_matches('0'),
            );
            na.len().cmp(&nb.len()).then_with(|| na.cmp(nb))
        } else {
            head_a.cmp(head_b)
        };
        if ord.is_ne() {
            return ord;
        }
        (a, b) = (rest_a, rest_b);
    }
    a.len().cmp(&b.len())
}

/// One timeline per row that recorded events, with the row's index.
pub fn timelines(exp: &ExperimentResult) -> Vec<(usize, Timeline<'_>)> {
    (0..exp.rows.len())
        .map(|row| {
            (
                row,
                Timeline::of(exp.events.iter().filter(|e| e.row == row)),
            )
        })
        .filter(|(_, t)| !t.is_empty())
        .collect()
}

/// The document's events in Chrome's trace event format (the object form).
///
/// Each experiment is a process and each lane of each row a thread named after the row,
/// because rows all count time from their own start: on separate threads they line up
/// for comparison instead of piling onto one lane.
pub fn chrome_trace(doc: &ResultsDoc) -> Value {
    let mut out = Vec::new();
    for (index, exp) in doc.experiments.iter().enumerate() {
        // Counted from 1: pid 0 is the kernel's idle task, which trace viewers may hide.
        let pid = index + 1;
        out.push(meta(
            "process_name",
            pid,
            0,
            json!({"name": format!("{} ({})", exp.experiment, exp.paper_ref)}),
        ));
        out.push(meta(
            "process_sort_index",
            pid,
            0,
            json!({"sort_index": pid}),
        ));
        let mut tid = 0;
        for (row, timeline) in timelines(exp) {
            let r = &exp.rows[row];
            let first_tid = tid + 1;
            for lane in &timeline.lanes {
                tid += 1;
                let name = format!("row {row} {} {}: {lane}", r.language, r.technique);
                out.push(meta("thread_name", pid, tid, json!({"name": name})));
                out.push(meta(
                    "thread_sort_index",
                    pid,
                    tid,
                    json!({"sort_index": tid}),
                ));
            }
            let args = json!({"row": row, "language": r.language, "technique": r.technique, "params": r.params});
            for s in &timeline.spans {
                out.push(json!({
                    "name": s.label, "cat": s.kind, "ph": "X",
                    "ts": micros(s.start_s), "dur": micros(s.end_s - s.start_s),
                    "pid": pid, "tid": first_tid + s.lane, "args": args,
                }));
            }
            for m in &timeline.marks {
                out.push(json!({
                    "name": m.label, "cat": m.kind, "ph": "i", "s": "t",
                    "ts": micros(m.t_s), "pid": pid, "tid": first_tid + m.lane, "args": args,
                }));
            }
        }
    }
    json!({
        "traceEvents": out,
        "displayTimeUnit": "ms",
        "otherData": {"parlab_version": doc.parlab_version, "started_at": doc.environment.started_at},
    })
}

fn meta(name: &str, pid: usize, tid: usize, args: Value) -> Value {
    json!({"name": name, "ph": "M", "pid": pid, "tid": tid, "args": args})
}

/// Trace timestamps are microseconds; fractions keep sub-microsecond events apart.
fn micros(s: f64) -> f64 {
    (s * 1e9).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t_s: f64, lane: &str, kind: &str, label: &str) -> Event {
        Event {
            row: 0,
            t_s,
            lane: lane.into(),
            kind: kind.into(),
            label: label.into(),
        }
    }

    #[test]
    fn starts_and_ends_pair_by_lane_and_label() {
        let events = [
            ev(0.0, "w1", "start", "a"),
            ev(0.0, "w2", "start", "b"),
            ev(0.1, "w2", "end", "b"),
            ev(0.3, "w1", "end", "a"),
            ev(0.3, "caller", "receive", "a"),
        ];
        let t = Timeline::of(&events);
        assert_eq!(t.lanes, ["caller", "w1", "w2"]);
        assert_eq!(t.spans.len(), 2);
        assert_eq!(t.spans[0].label, "b");
        assert_eq!(t.spans[0].lane, 2);
        assert_eq!((t.spans[1].start_s, t.spans[1].end_s), (0.0, 0.3));
        assert_eq!(t.marks.len(), 1);
        assert_eq!(t.end_s(), 0.3);
    }

    #[test]
    fn lanes_sort_by_their_numbers() {
        let mut lanes = [
            "worker-10",
            "worker-2",
            "caller",
            "unit B",
            "unit A",
            "worker-1",
        ];
        lanes.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            lanes,
            [
                "caller",
                "unit A",
                "unit B",
                "worker-1",
                "worker-2",
                "worker-10"
            ]
        );
    }

    #[test]
    fn unmatched_events_become_marks() {
        // A channel's send that never went in, and an end whose start is another label.
        let events = [
            ev(0.0, "sender", "send", "A"),
            ev(0.0, "sender", "sent", "A"),
            ev(0.1, "sender", "send", "B"),
            ev(0.2, "sender", "end", "sender finished"),
            ev(0.2, "receiver", "start", "receiver starts"),
        ];
        let t = Timeline::of(&events);
        assert_eq!(t.spans.len(), 1);
        let kinds: Vec<&str> = t.marks.iter().map(|m| m.kind).collect();
        assert_eq!(kinds.len(), 3);
        assert!(kinds.contains(&"send") && kinds.contains(&"end") && kinds.contains(&"start"));
    }
}
