//! Helpers shared by the integration tests: running the real binary and finding the
//! processes it left behind.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_parlab");

/// The parlab binary, with a hard limit so a hang fails the test instead of the suite.
pub fn parlab() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.timeout(Duration::from_secs(240));
    cmd.env_remove("PARLAB_FAULT");
    // Peers are tested on purpose (tests/peers.rs); elsewhere they would only add minutes.
    cmd.env("PARLAB_PEERS", "none");
    cmd
}

/// Runs parlab with `--json -` and returns (exit code, document, stderr).
pub fn run_json(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = parlab();
    cmd.args(args).arg("--json").arg("-");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("parlab runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}"));
    (
        out.status.code().unwrap_or(-1),
        doc,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rows of the first experiment of a results document.
pub fn rows(doc: &Value) -> &Vec<Value> {
    doc["experiments"][0]["rows"].as_array().expect("rows")
}

pub fn row<'a>(doc: &'a Value, technique: &str) -> &'a Value {
    rows(doc)
        .iter()
        .find(|r| r["technique"] == technique)
        .unwrap_or_else(|| panic!("no {technique} row"))
}

/// Pids of live processes whose environment holds `PARLAB_TEST_TAG=<tag>`: every
/// process a tagged parlab started inherits the tag.
pub fn tagged_processes(tag: &str) -> Vec<u32> {
    let needle = format!("PARLAB_TEST_TAG={tag}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Each case is bad input: exit code 2, one line on stderr that contains the expected
/// text, nothing on stdout, and no panic.
pub fn assert_usage_errors(cases: &[(&[&str], &str)]) {
    for (args, expected) in cases {
        let out = parlab().args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?} printed more than one line: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr:?}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    }
}

/// Every one of `lines` appears in the human-readable output.
pub fn assert_printed(human: &str, lines: &[&str]) {
    for line in lines {
        assert!(human.contains(line), "missing {line:?} in\n{human}");
    }
}

pub fn unique_tag(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}
