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

/// Bytecodes in one step of count's loop (`while n > 0: n -= 1`): eight on CPython
/// 3.11 (`dis` shows them), a few either way on other versions; an estimate of the
/// order of magnitude is all the comparison below needs.
const BYTECODES_PER_STEP: f64 = 8.0;
/// Without a count row to time the interpreter, a bytecode is taken to cost at most
/// this, slower than any CPython on today's hardware: the interval divided by it is the
/// fewest bytecodes it can hold, which can refute "100" but never confirm it.
const SLOWEST_BYTECODE_S: f64 = 100e-9;

/// Two parts, both measured by the gil experiment's facts row: whether Python threads
/// showed up as the process's OS tasks, and whether the switch interval it read is as
/// short as 100 bytecodes, within a factor of ten (a count, the claim's "every 100
/// bytecodes", was Python 2's check interval; Python 3.2 replaced it with a time).
/// The time a bytecode takes comes from count's Python sequential row when it ran;
/// without it only an interval too long for 100 bytecodes at any speed settles the part.
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
    // Seconds per bytecode, from count's loop when Python counted, else the ceiling.
    let steps_per_s = r
        .experiment("count")
        .and_then(|e| e.params.get("n"))
        .and_then(Value::as_f64)
        .zip(r.median("count", "python", "sequential", |row| {
            row.param_str("chunk_type") != Some("float")
        }))
        .map(|(n, median)| n / median)
        .filter(|rate| *rate > 0.0);
    let bytecode_s =
        steps_per_s.map_or(SLOWEST_BYTECODE_S, |rate| 1.0 / (rate * BYTECODES_PER_STEP));
    // Within a factor of ten of 100 bytecodes counts as "every 100 bytecodes". With only
    // the ceiling, the bytecodes are a lower bound: too many refutes, few settles nothing.
    let hundred = "the switch interval, in bytecodes, within ten times 100";
    let interval_part = match (interval, steps_per_s) {
        (Some(i), Some(_)) => ClaimPart::below(hundred, i / bytecode_s, None, 1000.0),
        // Only a lower bound on the bytecodes: one above the threshold refutes.
        (Some(i), None) if i / bytecode_s > 1000.0 => {
            ClaimPart::below(hundred, i / bytecode_s, None, 1000.0)
        }
        (Some(_), None) => ClaimPart::unmeasured(
            hundred,
            "without count's Python row to time a bytecode, only a lower bound on the bytecodes is known, and it is under 1,000",
        ),
        (None, _) => ClaimPart::unmeasured(hundred, "the peer read no switch interval"),
    };
    let every_hundred = interval_part.holds();
    let mut said = Vec::new();
    said.push(match os {
        Some(true) => {
            "Each Python thread is an OS thread: the process gained a kernel task for every one."
                .to_string()
        }
        Some(false) => {
            "The threads did not add kernel tasks to the process, so here they are not OS threads."
                .to_string()
        }
        None => "/proc could not tell whether the threads are OS threads.".to_string(),
    });
    if let Some(i) = interval {
        let (about, basis) = match steps_per_s {
            Some(rate) => (
                "about",
                format!(
                    "at this interpreter's speed (count: {:.1}M loop steps/s, about {BYTECODES_PER_STEP:.0} bytecodes a step)",
                    rate / 1e6
                ),
            ),
            None => (
                "at least",
                format!(
                    "even at {} a bytecode (no count row to time this interpreter)",
                    secs(SLOWEST_BYTECODE_S)
                ),
            ),
        };
        let bytecodes = i / bytecode_s;
        said.push(if every_hundred == Some(true) {
            format!(
                "The switch interval, {}, is {about} {bytecodes:.0} bytecodes {basis}: as short as the claim's 100.",
                secs(i)
            )
        } else if every_hundred.is_none() {
            format!(
                "The switch interval, {}, is {about} {bytecodes:.0} bytecodes {basis}; without timing this interpreter that cannot tell whether it is near 100.",
                secs(i)
            )
        } else {
            format!(
                "The switch interval, {}, is {about} {} bytecodes {basis}, not 100: since Python 3.2 a thread is asked to switch after a time, and a count of 100 was Python 2's check interval.",
                secs(i),
                crate::units::grouped(bytecodes.round() as i64)
            )
        });
    }
    let os_name = "Python threads add no OS tasks to the process";
    let os_part = match (os, data.os_tasks_before, data.os_tasks_during) {
        (Some(os), Some(b), Some(d)) => ClaimPart::fact(os_name, !os).valued(d as f64 - b as f64),
        (Some(os), _, _) => ClaimPart::fact(os_name, !os),
        (None, _, _) => ClaimPart::unmeasured(os_name, "/proc could not count the tasks"),
    };
    Finding {
        parts: vec![os_part, interval_part],
        decided_by: Some(format!(
            "OS tasks {before} → {during}, switch every {}",
            interval.map_or_else(|| "?".into(), secs)
        )),
        evidence: format!(
            "CPython {}: the process had {before} OS tasks before 4 threads started and {during} while they ran; sys.getswitchinterval() = {}. {}",
            data.version.as_deref().unwrap_or("?"),
            interval.map_or_else(|| "?".into(), secs),
            said.join(" ")
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
    let lost_name = "racy threads lost updates in runs where they overlapped";
    let lost_part = match lost {
        Some(l) => ClaimPart::fact(lost_name, l),
        None => ClaimPart::unmeasured(lost_name, "no racy run had its threads running together"),
    };
    let (cpython_parts, cpython_said) = interpreter_and_user_code(r);
    let mut parts = vec![
        lost_part,
        ClaimPart::fact(
            "an atomic or a lock kept the count exact",
            !exact.is_empty(),
        )
        .valued(exact.len() as f64),
    ];
    parts.extend(cpython_parts);
    Finding {
        parts,
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
        ) + &cpython_said,
    }
}

/// CPython's racy-threads rows, per Python column, with the interpreter's safety kept
/// apart from user code's: the reference counts the interpreter itself keeps (threads
/// taking and dropping references to one object, then its count compared; the row ran
/// to its end, so nothing crashed) against `counter += 1` in the same threads. Without
/// the GIL the first stays exact by design (biased reference counting, PEP 703) while
/// the second may lose updates. Returns the parts and a sentence for the evidence.
fn interpreter_and_user_code(r: &Results) -> (Vec<ClaimPart>, String) {
    let mut parts = Vec::new();
    let mut said = Vec::new();
    for column in r.python_columns("gil") {
        let Some(row) = r.row("gil", column, "racy-threads", any) else {
            continue;
        };
        let data = GilData::of(row);
        let who = format!("{column} ({})", interpreter_of(row));
        if let (Some(intact), Some(takes)) = (data.refcount_intact, data.refcount_takes) {
            parts.push(
                ClaimPart::fact(
                    format!("{who}: the interpreter's own reference counts stayed exact under threads, and it did not crash"),
                    intact,
                )
                .valued(takes as f64),
            );
            said.push(format!(
                "{who}: {} reference takes from {} threads left the shared object's count at {} (it was {})",
                crate::units::grouped(takes as i64),
                data.refcount_threads.unwrap_or(0),
                data.refcount_after.unwrap_or(-1),
                data.refcount_before.unwrap_or(-1),
            ));
        }
        if let (true, Some(lost), Some(expected)) =
            (without_gil(row), data.lost_updates, data.expected)
        {
            parts.push(
                ClaimPart::fact(
                    format!("{who}: user code's counter += 1 lost updates without the GIL"),
                    lost > 0,
                )
                .valued(lost as f64),
            );
            said.push(format!(
                "{who}: counter += 1 lost {} of {} updates",
                crate::units::grouped(lost),
                crate::units::grouped(expected)
            ));
        }
    }
    let intact = parts
        .iter()
        .filter(|p| p.name.contains("reference counts"))
        .all(|p| p.holds() == Some(true));
    let text = match (said.is_empty(), intact) {
        (true, _) => String::new(),
        (false, true) => format!(
            " Interpreter and user code apart: {}. CPython keeps its own reference counts right with or without the GIL (without it by design: biased reference counting, the owning thread updating its field plainly and others a shared one atomically), while a program's own read-modify-write gets no such promise and needs a lock.",
            said.join("; ")
        ),
        (false, false) => format!(
            " Interpreter and user code apart: {}. A reference count the interpreter keeps itself came out wrong: that is an interpreter bug, never the program's lost update.",
            said.join("; ")
        ),
    };
    (parts, text)
}
