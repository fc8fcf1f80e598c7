//! sched, waitgroup and spawn end to end: strips, switches, the non-preempted spin, the
//! early return that loses letters, and what a live unit costs.

use crate::common::{assert_usage_errors, rows, run_json};
use serde_json::Value;

fn find<'a>(doc: &'a Value, technique: &str, variant: &str) -> &'a Value {
    rows(doc)
        .iter()
        .find(|r| r["technique"] == technique && r["params"]["variant"] == variant)
        .unwrap_or_else(|| panic!("no {technique} {variant} row"))
}

#[test]
fn sched_strips_switches_and_the_spin_nobody_interrupts() {
    let (code, doc, human) = run_json(
        &[
            "sched",
            "--print-cost",
            "5us",
            "--pause",
            "1ms",
            "--spin",
            "100ms",
        ],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    assert_eq!(rows(&doc).len(), 10);
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true, "{r}");
        if r["params"]["variant"] == "spin" {
            // Checked, not assumed: B and S each printed once.
            let mut strip: Vec<char> = r["extra"]["strip"].as_str().unwrap().chars().collect();
            strip.sort_unstable();
            assert_eq!(strip, ['B', 'S'], "{r}");
        } else {
            let counts: Vec<u64> = r["extra"]["counts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap())
                .collect();
            assert_eq!(counts, [101; 5], "{r}");
        }
    }
    // Figure 6: one unit after another.
    let expected: String = "ABCDE"
        .chars()
        .flat_map(|c| std::iter::repeat_n(c, 101))
        .collect();
    assert_eq!(
        find(&doc, "sequential", "sequential")["extra"]["strip"],
        expected.as_str()
    );
    // Figure 8 on one worker: no blocking point, so each unit runs to the end.
    assert_eq!(find(&doc, "tokio-1", "busy")["extra"]["switches"], 4);
    // Figure 7 on one worker: the blocking points make the units take turns.
    assert!(
        find(&doc, "tokio-1", "blocking")["extra"]["switches"]
            .as_u64()
            .unwrap()
            > 4
    );
    // One worker, no preemption: B waits for the whole spin (wanted at 10 ms of 100).
    let waited = find(&doc, "tokio-1", "spin")["extra"]["waited_s"]
        .as_f64()
        .unwrap();
    assert!(waited >= 0.08, "tokio-1 B waited only {waited}s");
    assert_eq!(doc["experiments"][0]["findings"]["busy_tokio1_switches"], 4);
    // Every print is an event on the timeline.
    let events = doc["experiments"][0]["events"].as_array().unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e["row"] == 0 && e["kind"] == "print")
            .count(),
        505
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["row"] == 0 && e["kind"] == "switch")
            .count(),
        4
    );
    assert!(
        human.contains(&"A".repeat(60)),
        "the strip is printed as in the paper"
    );
}

#[test]
fn waitgroup_early_return_loses_letters_waiting_keeps_them() {
    let (code, doc, human) = run_json(&["waitgroup", "--pause", "2ms"], &[]);
    assert_eq!(code, 0, "{human}");
    assert_eq!(rows(&doc).len(), 4);
    for t in ["threads", "tokio"] {
        let early = find(&doc, t, "no-wait");
        let waited = find(&doc, t, "wait");
        assert_eq!(early["status"], "ok");
        assert!(early["extra"]["printed"].as_u64().unwrap() < 505, "{early}");
        assert_eq!(waited["extra"]["printed"], 505, "{waited}");
        // Both variants checked, and timed as the Go peer times its rows.
        for r in [early, waited] {
            assert_eq!(r["validated"], true, "{r}");
            assert_eq!(r["extra"]["exit_code"], 0, "{r}");
            assert_eq!(r["extra"]["timing"], "child-spawn-to-exit", "{r}");
        }
    }
    assert!(human.contains("of 505 letters printed"));
}

#[test]
fn spawn_measures_units_in_children_and_threads_cost_more() {
    let (code, doc, human) = run_json(&["spawn", "--tasks", "5000", "--threads", "300"], &[]);
    assert_eq!(code, 0, "{human}");
    assert_eq!(rows(&doc).len(), 3);
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert!(r["extra"]["bytes_per_unit"].as_f64().unwrap() > 0.0);
        assert!(r["extra"]["spawn_ns_per_unit"].as_f64().unwrap() > 0.0);
        let method = r["extra"]["method"].as_str().unwrap();
        assert!(method.ends_with("peak-minus-baseline"), "{r}");
    }
    let per_unit = |t: &str, stack: &str| {
        rows(&doc)
            .iter()
            .find(|r| {
                r["technique"] == t && r["params"]["stack"].as_str().unwrap().starts_with(stack)
            })
            .unwrap()["extra"]["bytes_per_unit"]
            .as_f64()
            .unwrap()
    };
    let task = per_unit("tokio", "task");
    let thread = per_unit("threads", "default");
    assert!(
        thread > 2.0 * task,
        "a thread ({thread} B) should cost well over a task ({task} B)"
    );
}

#[test]
fn absurd_thread_counts_and_bad_sizes_are_refused() {
    assert_usage_errors(&[
        (
            &["spawn", "--threads", "9000000"][..],
            "refusing to start 9000000 threads",
        ),
        (&["spawn", "--stack", "12 parsecs"], "unknown size unit"),
        (&["sched", "--variant", "lazy"], "invalid value 'lazy'"),
        (
            &["waitgroup", "--prints", "0"],
            "out of range: choose 1 to 10000",
        ),
    ]);
}
