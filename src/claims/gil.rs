//! The claims the `gil` experiment tests, each checked against what this run measured.

use super::*;

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
    let os = facts
        .extra
        .get("threads_are_os_tasks")
        .and_then(Value::as_bool);
    let interval = facts.extra_f64("switch_interval_s");
    let before = facts
        .extra
        .get("os_tasks_before")
        .cloned()
        .unwrap_or_default();
    let during = facts
        .extra
        .get("os_tasks_during")
        .cloned()
        .unwrap_or_default();
    Finding {
        parts: vec![os.map(|os| !os), interval.map(|_| false)],
        decided_by: Some(format!(
            "OS tasks {before} → {during}, switch every {}",
            interval.map_or_else(|| "?".into(), secs)
        )),
        evidence: format!(
            "CPython {}: the process had {before} OS tasks before 4 threads started and {during} while they ran; sys.getswitchinterval() = {}. Each Python thread is an OS thread, and since Python 3.2 the switch is a time interval, not a count of bytecodes.",
            facts
                .extra
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("?"),
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
    let exact: Vec<&str> = found
        .get("exact")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let python = r
        .row("gil", "python", "racy-threads", any)
        .and_then(|row| row.extra.get("lost_updates").and_then(Value::as_i64));
    Finding {
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
            lost.map_or_else(|| "?".into(), |l| l.to_string()),
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
