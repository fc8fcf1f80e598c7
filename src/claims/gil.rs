//! The claims the `gil` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::gil::GilData;
use crate::results::RowData;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[
    ClaimSpec {
        id: "python-threads-not-os",
        paper_ref: "§2.4",
        claim: "Python threads are not OS threads, and the interpreter switches between them every 100 bytecodes.",
        check: python_threads_not_os,
    },
    ClaimSpec {
        id: "refcount-lost-updates",
        paper_ref: "§2.2–2.3",
        claim: "Unsynchronised reference-count updates from several threads lose updates, which is why CPython has a GIL.",
        check: lost_updates,
    },
];

fn python_threads_not_os(r: &Results) -> Finding {
    let Some(facts) = r.row("gil", "python", "facts", any) else {
        return Finding::untested(r.why_missing("gil", "python"));
    };
    let data = GilData::of(facts);
    let os = data.threads_are_os_tasks;
    let interval = data.switch_interval_s;
    // Printed as the peer sent them: a count, or null where /proc could not tell.
    let tasks = |n: Option<u64>| Value::from(n);
    let (before, during) = (tasks(data.os_tasks_before), tasks(data.os_tasks_during));
    Finding {
        detail: Vec::new(),
        parts: vec![os.map(|os| !os), interval.map(|_| false)],
        decided_by: Some(format!(
            "OS tasks {before} → {during}, switch every {}",
            interval.map_or_else(|| "?".into(), secs)
        )),
        evidence: format!(
            "CPython {}: the process had {before} OS tasks before 4 threads started and {during} while they ran; sys.getswitchinterval() = {}. Each Python thread is an OS thread, and since Python 3.2 the switch is a time interval, not a count of bytecodes.",
            data.version.as_deref().unwrap_or("?"),
            interval.map_or_else(|| "?".into(), secs)
        ),
    }
}

fn lost_updates(r: &Results) -> Finding {
    let Some(found) = r
        .experiment("gil")
        .and_then(|e| e.findings.get("lost_updates"))
    else {
        return Finding::untested("the gil experiment did not run");
    };
    let lost = found.get("racy_lost_any").and_then(Value::as_bool);
    let overlapped = found.get("racy_overlapped_runs").and_then(Value::as_u64);
    let exact: Vec<&str> = found
        .get("exact")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let python = r
        .row("gil", "python", "racy-threads", any)
        .and_then(|row| GilData::of(row).lost_updates);
    Finding {
        detail: Vec::new(),
        parts: vec![lost, Some(!exact.is_empty())],
        decided_by: Some(format!(
            "racy lost updates: {}; exact: {}",
            lost.map_or("?", |l| if l { "yes" } else { "no" }),
            if exact.is_empty() {
                "none".into()
            } else {
                exact.join(", ")
            }
        )),
        evidence: format!(
            "racy threads lost updates: {}; exact with {}{}. A load and a store are two steps, and another thread can store in between; one lock (or an atomic update) makes the pair indivisible.",
            match (lost, overlapped) {
                (Some(l), Some(n)) => format!("{l} (in {n} runs whose threads overlapped)"),
                (Some(l), None) => l.to_string(),
                (None, _) => "not tested, no racy run had its threads running together".into(),
            },
            if exact.is_empty() {
                "none".into()
            } else {
                exact.join(", ")
            },
            python.map_or_else(String::new, |p| format!(
                "; CPython threads doing counter += 1 under its GIL lost {p}"
            ))
        ),
    }
}
