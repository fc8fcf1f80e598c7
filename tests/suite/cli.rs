//! The front door: help, bad input, the environment.

use crate::common::{assert_usage_error, assert_usage_errors, parlab};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

#[test]
fn bad_input_is_one_clear_line_and_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["pool", "--workers", "0"], "between 1 and 1024, got 0"),
        (
            &["count", "--n", "-3"],
            "'-3' is out of range: choose 1 to 18446744073709551615",
        ),
        (&["count", "--n", "0"], "'0' is out of range: choose 1 to"),
        (&["count", "--runs", "0"], "--runs"),
        (
            &["count", "--technique", "foo"],
            "unknown technique 'foo' for count; choose from: sequential",
        ),
        (
            &["pool", "--technique", "gil-model"],
            "unknown technique 'gil-model' for pool",
        ),
        (&["pool", "--workers", "1.."], "START..END"),
        (&["pool", "--workers", "5..2"], "backwards"),
        (&["pool", "--workers", "a,b"], "'a' is not a whole number"),
        (
            &["pool", "--max-fib", "99"],
            "'99' is out of range: choose 1 to 46",
        ),
        (&["count", "--timeout", "soon"], "not a duration"),
        (&["count", "--chunks", "0"], "--chunks"),
        (
            &["reproduce", "--only", "nope"],
            "unknown experiment 'nope'",
        ),
        (&["frobnicate"], "unrecognized subcommand"),
        (&["count", "--bogus"], "unexpected argument"),
        (
            &["channel", "--capacity", "-1"],
            "'-1' is out of range: choose 0 to 1000000",
        ),
        (
            &["channel", "--technique", "goroutines"],
            "unknown technique 'goroutines' for channel",
        ),
        (
            &["select", "--technique", "crossbeam"],
            "unknown technique 'crossbeam' for select",
        ),
        (&["select", "--duration", "0"], "out of range: choose 1 to"),
        (&["channel", "--messages", "0"], "out of range: choose 1 to"),
        // A whole number too large is out of range, and says the range; only a value
        // that is not a whole number at all says so.
        (
            &["spawn", "--tasks", "1e12"],
            "'1e12' is out of range: choose 1 to 10000000",
        ),
        (&["spawn", "--tasks", "2.5"], "'2.5' is not a whole number"),
        (&["count", "--runs", "abc"], "'abc' is not a whole number"),
        (
            &["count", "--n", "1e20"],
            "'1e20' is out of range: choose 1 to 18446744073709551615",
        ),
        (
            &["pool", "--workers", "1,1e30"],
            "worker counts must each be between 1 and 1024, got '1e30'",
        ),
        (&["spawn", "--stack", "1e3"], "unknown size unit"),
    ];
    assert_usage_errors(cases);
}

/// A folder that takes no new files even from root, who ignores permission bits: a
/// read-only folder of our own where that binds, else /sys; `None` where neither does.
fn unwritable_dir(tmp: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let own = tmp.join("read-only");
    std::fs::create_dir(&own).unwrap();
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o555)).unwrap();
    [own, PathBuf::from("/sys")].into_iter().find(|dir| {
        let probe = dir.join("parlab-test-probe");
        let refused = std::fs::write(&probe, "").is_err();
        let _ = std::fs::remove_file(&probe);
        refused && dir.is_dir()
    })
}

/// Each target of `--json` or `--out` that cannot be written ends the command before
/// anything runs: exit code 2, one line naming the flag and why, nothing on stdout
/// (where a run would print its first lines at once) and nothing created.
#[test]
fn unwritable_output_targets_are_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    std::fs::write(&plain, "").unwrap();
    let shown = |p: &Path| p.display().to_string();
    let mut cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                "count".into(),
                "--json".into(),
                "/nonexistent/dir/x.json".into(),
            ],
            "--json /nonexistent/dir/x.json: directory /nonexistent/dir does not exist".into(),
        ),
        (
            vec!["pool".into(), "--json".into(), shown(&plain.join("x.json"))],
            format!(
                "--json {}: {} is not a directory",
                shown(&plain.join("x.json")),
                shown(&plain)
            ),
        ),
        (
            vec!["count".into(), "--json".into(), shown(tmp.path())],
            format!("--json {}: is a directory", shown(tmp.path())),
        ),
        (
            vec!["reproduce".into(), "--out".into(), shown(&plain)],
            format!("--out {}: is not a directory", shown(&plain)),
        ),
        (
            vec![
                "reproduce".into(),
                "--out".into(),
                shown(&plain.join("report")),
            ],
            format!(
                "--out {}: {} is not a directory",
                shown(&plain.join("report")),
                shown(&plain)
            ),
        ),
    ];
    match unwritable_dir(tmp.path()) {
        Some(ro) => cases.extend([
            (
                vec!["count".into(), "--json".into(), shown(&ro.join("x.json"))],
                format!(
                    "--json {}: directory {} is not writable",
                    shown(&ro.join("x.json")),
                    shown(&ro)
                ),
            ),
            (
                vec!["reproduce".into(), "--out".into(), shown(&ro)],
                format!("--out {}: is not writable", shown(&ro)),
            ),
            (
                vec![
                    "reproduce".into(),
                    "--out".into(),
                    shown(&ro.join("report")),
                ],
                format!("--out {}: cannot create it", shown(&ro.join("report"))),
            ),
        ]),
        None => eprintln!("no folder here refuses writes; the permission cases are skipped"),
    }
    for (args, expected) in &cases {
        let out = parlab().args(args).output().unwrap();
        assert_usage_error(&out, &format!("{args:?}"), expected);
    }
    // Only the two files made above: no report folder, no probe left behind.
    let mut left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert!(
        left == ["plain"] || left == ["plain", "read-only"],
        "{left:?}"
    );
}

#[test]
fn a_writable_json_target_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("count.json");
    let out = parlab()
        .args([
            "count", "--n", "1000", "--runs", "1", "--warmup", "0", "--quiet",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["experiments"][0]["experiment"], "count");
    // The check's probe file is gone.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn help_explains_every_flag() {
    parlab()
        .arg("--help")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("reproduce")
                .and(predicate::str::contains("count"))
                .and(predicate::str::contains("pool"))
                .and(predicate::str::contains("env"))
                .and(predicate::str::contains("serve")),
        )
        .stdout(predicate::str::contains("__worker").not())
        .stdout(predicate::str::contains("__mpi-rank").not())
        .stdout(predicate::str::contains("__echo").not());
    for (exp, flags) in [
        (
            "count",
            &[
                "--n",
                "--chunks",
                "--switch-interval",
                "--ranks",
                "--hostfile",
                "--mpirun",
            ][..],
        ),
        (
            "pool",
            &[
                "--max-fib",
                "--workers",
                "--order",
                "--ranks",
                "--hostfile",
                "--mpirun",
            ][..],
        ),
        (
            "pingpong",
            &["--sizes", "--round-trips", "--hostfile", "--mpirun"][..],
        ),
        (
            "io",
            &[
                "--sites",
                "--latency",
                "--url",
                "--workers",
                "--request-timeout",
                "--skip-over",
            ][..],
        ),
        (
            "map",
            &[
                "--sleeps",
                "--unit",
                "--pool",
                "--workers",
                "--chunksize",
                "--memory",
            ][..],
        ),
        ("spawn", &["--tasks", "--threads", "--stack"][..]),
        (
            "sched",
            &["--variant", "--prints", "--pause", "--print-cost", "--spin"][..],
        ),
        ("waitgroup", &["--prints", "--pause"][..]),
        (
            "channel",
            &[
                "--capacity",
                "--receiver-delay",
                "--unit",
                "--forget-close",
                "--throughput",
                "--messages",
            ][..],
        ),
        (
            "select",
            &["--unit", "--duration", "--throughput", "--messages"][..],
        ),
        (
            "advise",
            &[
                "--cpu",
                "--wait",
                "--tasks",
                "--payload",
                "--result",
                "--language",
                "--workers",
                "--wait-kind",
                "--budget",
                "--predict-cores",
                "--from",
            ][..],
        ),
        (
            "gil",
            &[
                "--threads",
                "--ops",
                "--shape",
                "--switch-interval",
                "--sweep-intervals",
                "--sweep-n",
            ][..],
        ),
    ] {
        let out = parlab().args([exp, "--help"]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for flag in flags.iter().chain(&[
            "--technique",
            "--runs",
            "--warmup",
            "--json",
            "--timeout",
            "--quiet",
        ]) {
            assert!(text.contains(flag), "{exp} --help lacks {flag}");
        }
        assert!(
            text.contains("Techniques:"),
            "{exp} --help names no techniques"
        );
    }
    let out = parlab().args(["reproduce", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in ["--scale", "--only", "--out", "quick", "paper"] {
        assert!(text.contains(flag), "reproduce --help lacks {flag}");
    }
}

#[test]
fn env_reports_the_machine() {
    let out = parlab().args(["env", "--json"]).output().unwrap();
    assert!(out.status.success());
    let env: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(env["logical_cpus"].as_u64().unwrap() >= 1);
    assert!(env["rustc"].as_str().unwrap().starts_with("rustc "));
    for key in ["cpu_model", "os", "kernel", "loadavg_1m", "started_at"] {
        assert!(!env[key].is_null(), "{key} missing");
    }
    parlab().arg("env").assert().success().stdout(
        predicate::str::contains("logical CPUs").and(predicate::str::contains("rustc (build)")),
    );
}

#[test]
fn the_worker_refuses_input_that_is_not_a_request() {
    parlab()
        .arg("__worker")
        .write_stdin("hello\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a request"));
    // A well-formed request is answered, and end of input brings a goodbye.
    let out = parlab()
        .arg("__worker")
        .write_stdin("{\"id\":7,\"task\":\"job\",\"config\":null,\"inputs\":[{\"kind\":\"fib\",\"n\":20}]}\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("{\"result\":{\"id\":7,\"outputs\":[{\"ok\":6765}]}}")
    );
    assert!(lines.next().unwrap().starts_with("{\"bye\":"));
    parlab()
        .arg("__worker")
        .write_stdin("{\"id\":1,\"task\":\"nope\",\"config\":null,\"inputs\":[]}\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown task 'nope'"));
}
