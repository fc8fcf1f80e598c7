//! Worker processes that fail in every way parlab knows of: each is an error row, the
//! other rows still run, nothing hangs and nothing is left running.

use crate::common::{row, rows, run_json, tagged_processes, unique_tag};
use std::time::{Duration, Instant};

#[test]
fn each_worker_fault_is_an_error_row_and_the_rest_still_run() {
    let cases = [
        ("exit", "died before answering (exit status: 3"),
        ("silent", "died before answering (exit status: 0"),
        (
            "garbage",
            "not a valid result line: \"this is not a result line\"",
        ),
        ("truncated", "(cut off)"),
        ("kill", "SIGKILL"),
        ("panic", "injected fault: panic"),
        ("wrong", "wrong result: count("),
    ];
    for (fault, expected) in cases {
        let tag = unique_tag(fault);
        let (code, doc, _) = run_json(
            &[
                "count",
                "--n",
                "200000",
                "--technique",
                "sequential,processes,threads",
                "--runs",
                "1",
                "--warmup",
                "0",
            ],
            &[("PARLAB_FAULT", fault), ("PARLAB_TEST_TAG", &tag)],
        );
        assert_eq!(code, 1, "{fault}");
        let bad = row(&doc, "processes");
        assert_eq!(bad["status"], "error", "{fault}");
        assert_eq!(bad["validated"], false);
        let message = bad["message"].as_str().unwrap();
        assert!(message.contains(expected), "{fault}: {message}");
        assert_eq!(row(&doc, "sequential")["status"], "ok", "{fault}");
        assert_eq!(row(&doc, "threads")["status"], "ok", "{fault}");
        assert!(
            tagged_processes(&tag).is_empty(),
            "{fault}: workers left running"
        );
    }
}

#[test]
fn a_hung_worker_is_killed_at_the_timeout() {
    let tag = unique_tag("hang");
    let started = Instant::now();
    let (code, doc, _) = run_json(
        &[
            "pool",
            "--max-fib",
            "15",
            "--workers",
            "2",
            "--technique",
            "processes,threads",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--timeout",
            "2s",
        ],
        &[("PARLAB_FAULT", "hang"), ("PARLAB_TEST_TAG", &tag)],
    );
    assert_eq!(code, 1);
    assert!(
        row(&doc, "processes")["message"]
            .as_str()
            .unwrap()
            .contains("timed out after 2s")
    );
    assert_eq!(row(&doc, "threads")["status"], "ok");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        tagged_processes(&tag).is_empty(),
        "hung workers left running"
    );
}

#[test]
fn a_worker_that_refuses_to_start_says_why() {
    let (code, doc, _) = run_json(
        &[
            "count",
            "--n",
            "100000",
            "--technique",
            "processes",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
        &[("PARLAB_FAULT", "no-such-fault")],
    );
    assert_eq!(code, 1);
    let message = row(&doc, "processes")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("unknown PARLAB_FAULT value"), "{message}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_kills_and_reaps_every_worker_and_exits_130() {
    let tag = unique_tag("sigint");
    let mut child = std::process::Command::new(crate::common::BIN)
        .args([
            "count",
            "--n",
            "1e12",
            "--technique",
            "processes",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--quiet",
            // A row that would take hours is the point: run it, do not skip it.
            "--skip-over",
            "0",
        ])
        .env("PARLAB_TEST_TAG", &tag)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the five workers are up.
    let until = Instant::now() + Duration::from_secs(60);
    while tagged_processes(&tag).len() < 6 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        tagged_processes(&tag).len(),
        6,
        "parlab and 5 workers should be running"
    );
    // SAFETY: sending a signal to the child we started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < until, "parlab did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(tagged_processes(&tag).is_empty(), "workers outlived parlab");
}

/// A row on threads that overruns --timeout is an error row at the deadline (plus the
/// watchdog's grace), not a wait for its threads: the loop below would take minutes.
#[test]
fn an_in_process_row_that_overruns_is_timed_out_by_the_watchdog() {
    let started = Instant::now();
    let (code, doc, _) = run_json(
        &crate::common::argv(
            "count --n 1e12 --technique sequential,threads --timeout 1s --runs 1 --warmup 0 --skip-over 0",
        ),
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code, 1);
    for r in rows(&doc) {
        assert_eq!(r["status"], "error", "{r}");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains("timed out after 1s"),
            "{r}"
        );
    }
}

/// Rows measured in a child process of their own (waitgroup, spawn, map --memory) are
/// killed at --timeout too, and nothing of them is left running.
#[test]
fn a_child_process_row_that_overruns_is_killed_at_the_timeout() {
    let tag = unique_tag("child-timeout");
    let (code, doc, _) = run_json(
        &crate::common::argv("waitgroup --technique threads --timeout 50ms"),
        &[("PARLAB_TEST_TAG", &tag)],
    );
    assert_eq!(code, 1);
    let wait = rows(&doc)
        .iter()
        .find(|r| r["params"]["variant"] == "wait")
        .unwrap();
    assert_eq!(wait["status"], "error");
    assert!(
        wait["message"]
            .as_str()
            .unwrap()
            .contains("timed out after 50ms"),
        "{wait}"
    );
    assert!(tagged_processes(&tag).is_empty());
}
