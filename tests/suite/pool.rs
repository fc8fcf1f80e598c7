//! The Pool API over worker processes: the same answers as over threads, and the
//! failure Python's Pool cannot survive (a worker killed mid-task) survived. And the
//! pool experiment's comparisons: every language against its own sequential run, the
//! rows interleaved unless asked otherwise.

use parlab::pool::task::{Flaky, Sleep, Square};
use parlab::pool::{ItemResult, Pool, TaskError};
use std::path::Path;
use std::time::{Duration, Instant};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_parlab"))
}

fn ok<O>(results: Vec<ItemResult<O>>) -> Vec<O> {
    results
        .into_iter()
        .map(|r| r.map_err(|e| e.to_string()).unwrap())
        .collect()
}

fn squares(n: u64) -> Vec<u64> {
    (0..n).map(|x| x * x).collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("__worker"))
}

#[test]
fn process_pool_computes_every_call() {
    let pool = Pool::processes(2, exe(), 0).unwrap();
    assert_eq!(pool.worker_pids().len(), 2);
    for chunksize in [1, 3, 100] {
        assert_eq!(ok(pool.map(&Square, 0..20, Some(chunksize))), squares(20));
        assert_eq!(
            ok(pool.map_async(&Square, 0..20, Some(chunksize)).get()),
            squares(20)
        );
        assert_eq!(
            ok(pool.imap(&Square, 0..20, chunksize).collect()),
            squares(20)
        );
        let mut unordered = ok(pool.imap_unordered(&Square, 0..20, chunksize).collect());
        unordered.sort();
        assert_eq!(unordered, squares(20));
    }
    assert!(pool.map(&Square, std::iter::empty(), None).is_empty());
    assert_eq!(pool.imap(&Square, std::iter::empty(), 1).count(), 0);
}

#[test]
fn a_panicking_task_fails_its_item_only() {
    let pool = Pool::processes(1, exe(), 0).unwrap();
    let pid = pool.worker_pids()[0];
    let flaky = Flaky {
        fail_on: vec![1],
        panic_on: vec![2],
    };
    let results = pool.map(&flaky, 0..4, Some(1));
    assert_eq!(results[0], Ok(0));
    assert_eq!(
        results[1],
        Err(TaskError::Failed("flaky task refuses 1".into()))
    );
    assert!(
        matches!(&results[2], Err(TaskError::Panicked(m)) if m.contains("panics on 2")),
        "{:?}",
        results[2]
    );
    assert_eq!(results[3], Ok(9));
    // The worker caught the panic and lives on.
    assert_eq!(pool.worker_pids(), vec![pid]);
    assert_eq!(ok(pool.map(&Square, 0..3, None)), squares(3));
}

/// Kills every worker while one holds a long task: Python's Pool would wait forever.
fn kill_mid_task(retries: u32) -> (Vec<ItemResult<u64>>, Duration, Pool) {
    let pool = Pool::processes(2, exe(), retries).unwrap();
    let sleep = Sleep {
        unit_ns: 100_000_000,
    };
    let started = Instant::now();
    let handle = pool.map_async(&sleep, [10, 1], Some(1));
    std::thread::sleep(Duration::from_millis(400));
    for pid in pool.worker_pids() {
        // SAFETY: a signal to a worker process this test's pool started.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
    let values = handle
        .get()
        .into_iter()
        .map(|r| r.map(|s| s.value))
        .collect();
    (values, started.elapsed(), pool)
}

#[test]
fn a_worker_killed_mid_task_gives_an_error_and_is_replaced() {
    let (results, took, pool) = kill_mid_task(0);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(results[1], Ok(1), "the finished item keeps its result");
    match &results[0] {
        Err(TaskError::WorkerLost(why)) => {
            assert!(why.contains("SIGKILL") || why.contains("signal"), "{why}")
        }
        other => panic!("expected a lost worker, got {other:?}"),
    }
    // Replacements serve the next call.
    assert_eq!(ok(pool.map(&Square, 0..6, Some(1))), squares(6));
    assert_eq!(pool.worker_pids().len(), 2);
}

#[test]
fn with_a_retry_the_killed_task_is_run_again() {
    let (results, _, _pool) = kill_mid_task(1);
    assert_eq!(results, vec![Ok(10), Ok(1)]);
}

#[test]
fn closing_or_dropping_the_pool_reaps_every_worker() {
    let pool = Pool::processes(3, exe(), 0).unwrap();
    let pids = pool.worker_pids();
    assert_eq!(ok(pool.map(&Square, 0..9, None)), squares(9));
    assert!(pids.iter().all(|p| alive(*p)));
    pool.close();
    assert!(pids.iter().all(|p| !alive(*p)), "workers outlived close()");

    let pool = Pool::processes(2, exe(), 0).unwrap();
    let pids = pool.worker_pids();
    let sleep = Sleep {
        unit_ns: 1_000_000_000,
    };
    let handle = pool.map_async(&sleep, [30, 30], Some(1));
    let started = Instant::now();
    drop(pool);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "drop waited for the tasks"
    );
    assert!(pids.iter().all(|p| !alive(*p)), "workers outlived drop");
    // The pending call is answered, not left hanging.
    assert!(
        handle
            .get()
            .iter()
            .all(|r| matches!(r, Err(TaskError::WorkerLost(_))))
    );
}

#[test]
fn a_missing_worker_binary_fails_the_pool_not_the_caller() {
    let err = Pool::processes(1, Path::new("/nonexistent/parlab"), 0)
        .err()
        .expect("no pool without a binary");
    assert!(err.to_string().contains("could not start"), "{err}");
}

// ---------------------------------------------------------------------------
// The pool experiment: like-for-like speedups and bounds
// ---------------------------------------------------------------------------

use crate::common::{argv, rows, run_json};
use crate::peers::{go_toolchain, peer_rows, say_skipped};
use serde_json::Value;

/// The sequential row of `language` and `order` in a pool document.
fn sequential_of<'a>(doc: &'a Value, language: &Value, order: &Value) -> Option<&'a Value> {
    rows(doc).iter().find(|r| {
        r["technique"] == "sequential"
            && r["language"] == *language
            && r["params"]["order"] == *order
    })
}

/// Every ok row's speedup is its own language's sequential median (same order) over its
/// median, its bound that sequential median times a share that only the workers, the
/// CPUs and the longest job decide, and its ratio to the bound its median over it. The
/// timings themselves are never judged: only how the numbers were put together.
fn assert_like_for_like(doc: &Value, cpus: f64) {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    for r in rows(doc).iter().filter(|r| r["status"] == "ok") {
        let base = sequential_of(doc, &r["language"], &r["params"]["order"])
            .unwrap_or_else(|| panic!("no sequential row of this language and order: {r}"));
        let (median, base_median) = (
            r["median_s"].as_f64().unwrap(),
            base["median_s"].as_f64().unwrap(),
        );
        let speedup = r["speedup"].as_f64().unwrap_or_else(|| panic!("{r}"));
        if r["technique"] == "sequential" {
            assert_eq!(speedup, 1.0, "{r}");
            continue;
        }
        assert!(close(speedup, base_median / median), "{r}\nagainst {base}");
        let bound = r["extra"]["bound_s"].as_f64().unwrap();
        let share = bound / base_median;
        let w = r["params"]["workers"].as_f64().unwrap();
        assert!(
            share >= 1.0 / w.min(cpus) - 1e-9 && share <= 1.0 + 1e-9,
            "{r}: the bound is {share} of the sequential run"
        );
        let over = r["extra"]["over_bound"].as_f64().unwrap();
        assert!(close(over, median / bound), "{r}");
        let notes = r["extra"]["notes"].to_string();
        let flagged = match r["extra"]["over_bound_ci"].as_array() {
            Some(ci) => ci[1].as_f64().unwrap() < 1.0,
            None => over < 1.0,
        };
        assert_eq!(
            notes.contains("faster than the bound: the bound is wrong or the run is noise"),
            flagged,
            "{r}"
        );
    }
}

fn cpus(doc: &Value) -> f64 {
    doc["environment"]["logical_cpus"].as_f64().unwrap()
}

#[test]
fn pool_speedups_and_bounds_are_against_the_same_order_s_sequential_row() {
    // Six runs give the speedups and the ratios to the bound their intervals.
    let (code, doc, stderr) = run_json(
        &argv(
            "pool --max-fib 18 --workers 1,2,3 --order both --technique threads,tokio --runs 6 --warmup 0",
        ),
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    // A sequential row per order, then each technique per order and worker count.
    assert_eq!(rows(&doc).len(), 2 + 2 * 2 * 3);
    assert_like_for_like(&doc, cpus(&doc));
    let threads = rows(&doc)
        .iter()
        .find(|r| r["technique"] == "threads")
        .unwrap();
    assert!(threads["speedup_ci"].is_array(), "{threads}");
    assert!(threads["extra"]["over_bound_ci"].is_array(), "{threads}");
    let seq = sequential_of(&doc, &"rust".into(), &"largest-first".into()).unwrap();
    assert_eq!(seq["extra"]["job_times_s"].as_array().unwrap().len(), 18);
    let e = &doc["experiments"][0];
    assert_eq!(
        e["params"]["schedule"], "interleaved",
        "interleaved is the default"
    );
    assert!(e["findings"]["faster_than_bound"].is_u64());

    // The chart says what the speedups are against.
    let parsed: parlab::results::ResultsDoc = serde_json::from_value(doc.clone()).unwrap();
    let charts = parlab::report::charts::charts(&parsed.experiments[0], 2);
    let svg = &charts[0].as_ref().unwrap().svg;
    assert!(svg.contains("speedup over the same language"), "{svg}");
}

#[test]
fn pool_rows_still_run_grouped() {
    let (code, doc, stderr) = run_json(
        &argv(
            "pool --max-fib 16 --workers 1,2 --order largest-first --technique processes --runs 2 --warmup 0 --schedule grouped",
        ),
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["experiments"][0]["params"]["schedule"], "grouped");
    let techniques: Vec<&str> = rows(&doc)
        .iter()
        .map(|r| r["technique"].as_str().unwrap())
        .collect();
    assert_eq!(techniques, ["sequential", "processes", "processes"]);
    assert!(rows(&doc).iter().all(|r| r["status"] == "ok"), "{doc}");
    assert_like_for_like(&doc, cpus(&doc));
}

/// A peer's pool rows against its own sequential rows, which it runs whenever one of its
/// pool techniques is asked for.
fn assert_peer_sequential_rows(args: &[&str], language: &str, technique: &str) {
    let (code, doc, stderr) = run_json(args, &[]);
    assert_eq!(code, 0, "{stderr}");
    let mine = peer_rows(&doc, language);
    for order in ["ascending", "largest-first"] {
        let seq = mine
            .iter()
            .find(|r| r["technique"] == "sequential" && r["params"]["order"] == order)
            .unwrap_or_else(|| panic!("no {language} sequential row for {order}: {mine:?}"));
        assert_eq!(seq["status"], "ok", "{seq}");
        assert_eq!(seq["params"]["workers"], 1);
        assert_eq!(seq["extra"]["job_times_s"].as_array().unwrap().len(), 16);
        let pool = mine
            .iter()
            .filter(|r| r["technique"] == technique && r["params"]["order"] == order)
            .count();
        assert_eq!(pool, 2, "{language} {technique} {order}: {mine:?}");
    }
    assert_like_for_like(&doc, cpus(&doc));
}

#[test]
fn pool_peers_have_sequential_rows_of_their_own() {
    // --technique names only the pool technique: parlab asks for its baseline too.
    let python = argv(
        // Two runs: each is a fresh process that must hand back the runs before it too.
        "pool --max-fib 16 --workers 1,2 --order both --runs 2 --warmup 0 --technique processes --peers python",
    );
    assert_peer_sequential_rows(&python, "python", "processes");
    let mut grouped = python.clone();
    grouped.extend(["--schedule", "grouped"]);
    assert_peer_sequential_rows(&grouped, "python", "processes");

    let go = match go_toolchain() {
        Ok(go) => go,
        Err(why) => {
            say_skipped("pool_peers_have_sequential_rows_of_their_own", &why);
            return;
        }
    };
    let mut args = argv(
        "pool --max-fib 16 --workers 1,2 --order both --runs 2 --warmup 0 --technique goroutines --peers go --go",
    );
    args.push(go.to_str().unwrap());
    assert_peer_sequential_rows(&args, "go", "goroutines");
}

#[test]
fn pool_peers_refuse_an_unknown_schedule() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/python/parlab_peer.py");
    let out = std::process::Command::new("python3")
        .args([script, "pool", "--schedule", "sometimes"])
        .output()
        .unwrap();
    crate::common::assert_usage_error(&out, "python pool --schedule sometimes", "--schedule");
}
