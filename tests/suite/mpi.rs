//! The MPI techniques (`--features mpi`) and the pingpong experiment's MPI row: rows
//! that split work over ranks, their timings, and what goes wrong (a rank killed, a host
//! out of reach, mpirun refusing root). Built without the feature, or on a machine
//! without mpirun, the same tests check that the rows are skipped and say how to get
//! them, so no test passes without checking something.
//!
//! mpirun refuses to run as root unless told otherwise; CI runs as root, so these tests
//! allow it in the environment of the parlab they start, never in parlab itself.

use crate::common::{parlab, rows, run_json, tagged_processes, unique_tag};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The environment that lets mpirun run as root, for the child parlab only.
pub const ALLOW_ROOT: [(&str, &str); 2] = [
    ("OMPI_ALLOW_RUN_AS_ROOT", "1"),
    ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
];

/// Whether MPI rows can run here: the feature is built in and mpirun is on PATH.
pub fn mpi_here() -> bool {
    cfg!(feature = "mpi") && mpi_here_without_feature()
}

/// Whether mpirun is on PATH, which is all the peers' MPI rows need of this machine.
pub fn mpi_here_without_feature() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("mpirun").is_file()))
}

/// A row that could not run here must say how to get it.
pub fn assert_skipped_with_how(row: &Value) {
    assert_eq!(row["status"], "skipped", "{row}");
    let why = row["message"].as_str().unwrap();
    assert!(
        why.contains("--features mpi") || why.contains("mpirun not found"),
        "{why}"
    );
}

fn mpi_rows(doc: &Value) -> Vec<&Value> {
    rows(doc)
        .iter()
        .filter(|r| r["technique"].as_str().unwrap().starts_with("mpi"))
        .collect()
}

/// Runs `args`, which must succeed with `rows` MPI rows: their document where MPI can
/// run here; otherwise, once the rows were checked to be skipped with how, `None`.
fn run_mpi_rows(args: &[&str], rows: usize) -> Option<Value> {
    let (code, doc, stderr) = run_json(args, &ALLOW_ROOT);
    assert_eq!(code, 0, "{stderr}");
    let mpi = mpi_rows(&doc);
    assert_eq!(mpi.len(), rows, "{doc}");
    if mpi_here() {
        return Some(doc);
    }
    mpi.iter().for_each(|r| assert_skipped_with_how(r));
    None
}

fn lanes_of(doc: &Value, index: usize) -> std::collections::BTreeSet<String> {
    doc["experiments"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["row"] == index)
        .map(|e| e["lane"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn mpi_count_rows_split_the_count_and_set_start_up_apart_from_compute() {
    let args = crate::common::argv(
        "count --n 2e7 --chunks 4 --technique sequential,mpi,mpi-static --ranks 1,2 --runs 2 --warmup 0 --quiet",
    );
    // One row a technique and rank count.
    let Some(doc) = run_mpi_rows(&args, 4) else {
        return;
    };
    for (i, r) in rows(&doc).iter().enumerate() {
        let technique = r["technique"].as_str().unwrap();
        if !technique.starts_with("mpi") {
            continue;
        }
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true, "{r}");
        let workers = r["params"]["workers"].as_u64().unwrap();
        // The dynamic split starts rank 0 to hand out the chunks; it computes none.
        let (ranks, lanes): (u64, Vec<String>) = if technique == "mpi" {
            (
                workers + 1,
                (1..=workers).map(|k| format!("rank-{k}")).collect(),
            )
        } else {
            (workers, (0..workers).map(|k| format!("rank-{k}")).collect())
        };
        assert_eq!(r["extra"]["ranks"], ranks, "{r}");
        assert_eq!(lanes_of(&doc, i), lanes.into_iter().collect(), "{r}");
        let median = r["median_s"].as_f64().unwrap();
        let compute = r["extra"]["compute_median_s"].as_f64().unwrap();
        let startup = r["extra"]["startup_s"].as_f64().unwrap();
        assert!(compute > 0.0 && compute <= median, "{r}");
        assert!((median - compute - startup).abs() < 1e-9, "{r}");
        let per_rank = r["extra"]["startup_per_rank_s"].as_f64().unwrap();
        assert!((per_rank * ranks as f64 - startup).abs() < 1e-9, "{r}");
        assert_eq!(r["extra"]["compute_samples_s"].as_array().unwrap().len(), 2);
        assert!(
            r["message"].is_null() && format!("{r}").contains("start-up included"),
            "{r}"
        );
    }
}

#[test]
fn mpi_rows_run_only_when_asked_for() {
    let (code, doc, stderr) = run_json(&["count", "--n", "1e5", "--runs", "1", "--quiet"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(mpi_rows(&doc).is_empty(), "{doc}");
    // A flag of theirs asks for them; without MPI they are skipped rows that say how.
    let (_, doc, _) = run_json(
        &[
            "count", "--n", "1e5", "--runs", "1", "--quiet", "--ranks", "1",
        ],
        &ALLOW_ROOT,
    );
    let mpi = mpi_rows(&doc);
    assert_eq!(mpi.len(), 2, "{doc}");
    if !mpi_here() {
        mpi.iter().for_each(|r| assert_skipped_with_how(r));
    }
}

#[test]
fn mpi_pool_rows_hand_out_jobs_and_get_a_bound() {
    let args = crate::common::argv(
        "pool --max-fib 24 --order largest-first --technique mpi,mpi-static --ranks 2 --runs 2 --warmup 0 --quiet",
    );
    let Some(doc) = run_mpi_rows(&args, 2) else {
        return;
    };
    for r in mpi_rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert!(r["extra"]["bound_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["extra"]["over_bound"].as_f64().is_some(), "{r}");
    }
    // Largest first in two blocks: rank 0 gets fib(24..13), rank 1 fib(12..1).
    let i = rows(&doc)
        .iter()
        .position(|r| r["technique"] == "mpi-static")
        .unwrap();
    let events = doc["experiments"][0]["events"].as_array().unwrap();
    let lane_of = |label: &str| {
        events
            .iter()
            .find(|e| e["row"] == i && e["label"] == label)
            .map(|e| e["lane"].as_str().unwrap().to_string())
    };
    assert_eq!(lane_of("fib(24)").as_deref(), Some("rank-0"));
    assert_eq!(lane_of("fib(13)").as_deref(), Some("rank-0"));
    assert_eq!(lane_of("fib(12)").as_deref(), Some("rank-1"));
}

#[test]
fn mpi_flags_are_checked_before_anything_runs() {
    crate::common::assert_usage_errors(&[
        (
            &["count", "--ranks", "0"],
            "rank counts must each be between 1 and 1024",
        ),
        (
            &["pool", "--hostfile", "/nonexistent/hosts"],
            "invalid value '/nonexistent/hosts' for '--hostfile <PATH>': no such file",
        ),
        (
            &["pingpong", "--mpirun", "/nonexistent/mpirun"],
            "invalid value '/nonexistent/mpirun' for '--mpirun <PATH>': no such file",
        ),
    ]);
}

/// Runs a count row whose ranks would count for minutes, tagged so that what it
/// started can be found; returns the row, how long it took, and the processes left.
fn failing_row(extra_args: &[&str], env: &[(&str, &str)]) -> (Value, Duration, Vec<u32>) {
    let tag = unique_tag(&format!("mpi-{}", extra_args.join("-").replace('/', "")));
    let mut cmd = parlab();
    cmd.env("PARLAB_TEST_TAG", &tag);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut args = crate::common::argv(
        "count --n 2e11 --chunks 2 --technique mpi-static --runs 1 --warmup 0 --skip-over 0 --timeout 60s --quiet",
    );
    args.extend_from_slice(extra_args);
    let (code, doc, stderr) = crate::common::json_of(cmd, &args);
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(code, if mpi_here() { 1 } else { 0 }, "{stderr}");
    (mpi_rows(&doc)[0].clone(), took, tagged_processes(&tag))
}

#[test]
fn an_mpi_rank_killed_ends_its_row_with_an_error_naming_it() {
    let env = [
        ALLOW_ROOT[0],
        ALLOW_ROOT[1],
        ("PARLAB_MPI_FAULT", "kill-rank=1"),
    ];
    let (row, took, left) = failing_row(&["--ranks", "2"], &env);
    if !mpi_here() {
        return assert_skipped_with_how(&row);
    }
    assert_eq!(row["status"], "error", "{row}");
    let why = row["message"].as_str().unwrap();
    assert!(why.contains("MPI rank 1 was killed by signal 9"), "{why}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(left.is_empty(), "left {left:?} running");
}

#[test]
fn an_unreachable_mpi_host_is_an_error_row_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "nowhere.invalid slots=2\n").unwrap();
    let (row, took, left) = failing_row(
        &["--ranks", "2", "--hostfile", hosts.to_str().unwrap()],
        &ALLOW_ROOT,
    );
    if !mpi_here() {
        return assert_skipped_with_how(&row);
    }
    assert_eq!(row["status"], "error", "{row}");
    let why = row["message"].as_str().unwrap();
    assert!(
        why.contains("could not start ranks on a host of the hostfile")
            && why.contains(hosts.to_str().unwrap()),
        "{why}"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(left.is_empty(), "left {left:?} running");
}

#[test]
fn mpirun_refusing_root_says_how_to_allow_it() {
    // SAFETY: a plain query of this process's user.
    if !mpi_here() || unsafe { libc::geteuid() } != 0 {
        return;
    }
    let mut cmd = parlab();
    cmd.env_remove("OMPI_ALLOW_RUN_AS_ROOT")
        .env_remove("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM");
    let (code, doc, stderr) = crate::common::json_of(
        cmd,
        &["pingpong", "--technique", "mpi", "--sizes", "8", "--quiet"],
    );
    assert_eq!(code, 1, "{stderr}");
    let why = rows(&doc)[0]["message"].as_str().unwrap().to_string();
    assert!(
        why.contains("refuses to run as root")
            && why.contains("OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"),
        "{why}"
    );
}

#[test]
fn pingpong_between_mpi_ranks_checks_every_message() {
    let (code, doc, stderr) = run_json(
        &crate::common::argv(
            "pingpong --technique mpi --sizes 8,64KiB --round-trips 200 --runs 2 --warmup 1 --quiet",
        ),
        &ALLOW_ROOT,
    );
    assert_eq!(code, 0, "{stderr}");
    let all = rows(&doc);
    assert_eq!(all.len(), 2, "{doc}");
    for r in all {
        if !mpi_here() {
            assert_skipped_with_how(r);
            continue;
        }
        assert_eq!(r["status"], "ok", "{r}");
        let us = r["extra"]["round_trip_us"].as_f64().unwrap();
        assert!(
            (us - r["median_s"].as_f64().unwrap() * 1e6).abs() < 1e-6,
            "{r}"
        );
        assert_eq!(r["extra"]["copies"], true);
    }
}
