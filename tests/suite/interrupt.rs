//! Ctrl-C and SIGTERM: parlab stops within two seconds, kills and reaps everything it
//! started (worker processes, peers and what they started), writes the finished rows
//! with the rest marked `interrupted`, and exits with 130.

use crate::common::{BIN, argv, experiment_ids, fake_python, tagged_processes, unique_tag};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts parlab with `args`, tagged so its descendants can be found.
fn start(args: &[&str], tag: &str, extra_env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("PARLAB_TEST_TAG", tag)
        .env("PARLAB_PEERS", "none")
        .env_remove("PARLAB_FAULT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("parlab starts")
}

/// Waits until `tag` has at least `n` processes (parlab and what it started).
fn wait_for_processes(tag: &str, n: usize) {
    let until = Instant::now() + Duration::from_secs(60);
    while tagged_processes(tag).len() < n {
        assert!(Instant::now() < until, "{tag}: never saw {n} processes");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal`, then checks the exit (130 within two seconds) and that nothing of
/// the run is left. Returns stderr.
fn interrupt(mut child: Child, signal: i32, tag: &str) -> String {
    // SAFETY: a signal to the child this test started and has not reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if sent.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("{tag}: still running 10 s after the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = sent.elapsed();
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{tag}: {stderr}");
    assert!(
        took < Duration::from_secs(2),
        "{tag}: took {took:?} to stop"
    );
    // Children are killed with SIGKILL and reaped before exit; give the kernel a moment.
    std::thread::sleep(Duration::from_millis(100));
    let left = tagged_processes(tag);
    assert!(left.is_empty(), "{tag}: left {left:?} running; {stderr}");
    stderr
}

fn statuses(doc: &Value) -> Vec<(String, String)> {
    doc["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["rows"].as_array().unwrap().iter().map(move |r| {
                (
                    e["experiment"].as_str().unwrap().to_string(),
                    r["status"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect()
}

#[test]
fn ctrl_c_during_an_experiment_keeps_its_finished_rows() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let tag = unique_tag("int-pool");
    // Sequential first (finishes), then worker processes computing fib(1..40) for
    // seconds. Grouped: interleaved rows are handed over only when all have ended.
    let child = start(
        &[
            argv("pool --max-fib 40 --workers 2 --technique processes --runs 1 --warmup 0 --schedule grouped --json"),
            vec![json.to_str().unwrap()],
        ]
        .concat(),
        &tag,
        &[],
    );
    wait_for_processes(&tag, 3);
    let stderr = interrupt(child, libc::SIGINT, &tag);
    assert!(stderr.contains("interrupted"), "{stderr}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let s = statuses(&doc);
    assert_eq!(
        s.first().map(|(_, st)| st.as_str()),
        Some("ok"),
        "the sequential baseline finished: {s:?}"
    );
    assert_eq!(
        s.last().map(|(_, st)| st.as_str()),
        Some("interrupted"),
        "{s:?}"
    );
}

#[test]
fn sigterm_during_reproduce_writes_what_was_finished() {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique_tag("int-reproduce");
    // Worker processes that never answer hold count at its processes row (after its
    // sequential, threads and rayon rows, which run first when grouped), so the signal
    // lands mid-experiment.
    let child = start(
        &[
            "reproduce",
            "--schedule",
            "grouped",
            "--only",
            "pool,count",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        &tag,
        &[("PARLAB_FAULT", "hang")],
    );
    // parlab and count's five hanging workers.
    wait_for_processes(&tag, 6);
    interrupt(child, libc::SIGTERM, &tag);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(
        experiment_ids(&doc),
        ["count", "pool"],
        "every chosen experiment appears, in order"
    );
    let s = statuses(&doc);
    assert!(
        s.contains(&("count".into(), "ok".into())),
        "count's first rows finished: {s:?}"
    );
    assert_eq!(
        s.last(),
        Some(&("pool".into(), "interrupted".into())),
        "{s:?}"
    );
}

#[test]
fn ctrl_c_kills_a_hanging_peer_and_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    // It ignores SIGTERM and SIGINT: only the SIGKILL to its process group ends it.
    let fake = fake_python(dir.path(), "trap '' TERM INT\nsleep 120");
    let tag = unique_tag("int-peer");
    let mut args = argv("count --n 1000 --technique sequential --peers python --python");
    args.push(fake.to_str().unwrap());
    let child = start(&args, &tag, &[("PARLAB_PEERS", "python")]);
    // parlab, the fake peer and its two sleeps.
    wait_for_processes(&tag, 4);
    interrupt(child, libc::SIGINT, &tag);
}

#[test]
fn ctrl_c_kills_mpirun_and_its_ranks() {
    // The ranks have process groups of their own (mpirun gives them one): killing
    // mpirun's group alone would leave them counting.
    if !crate::mpi::mpi_here() {
        return;
    }
    let tag = unique_tag("int-mpi");
    let child = start(
        &argv(
            "count --n 2e11 --chunks 2 --technique mpi-static --ranks 2 --runs 1 --warmup 0 --skip-over 0",
        ),
        &tag,
        &crate::mpi::ALLOW_ROOT,
    );
    // parlab, mpirun and the two ranks.
    wait_for_processes(&tag, 4);
    interrupt(child, libc::SIGINT, &tag);
}
