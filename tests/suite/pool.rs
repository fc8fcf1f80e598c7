//! The Pool API over worker processes: the same answers as over threads, and the
//! failure Python's Pool cannot survive (a worker killed mid-task) survived.

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
