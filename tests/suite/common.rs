//! Helpers shared by the integration tests: running the real binary and finding the
//! processes it left behind.

use assert_cmd::Command;
use serde_json::Value;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_parlab");

/// The parlab binary, with a hard limit so a hang fails the test instead of the suite.
pub fn parlab() -> Command {
    bounded(std::process::Command::new(BIN))
}

fn bounded(cmd: std::process::Command) -> Command {
    let mut cmd = Command::from_std(cmd);
    cmd.timeout(Duration::from_secs(240));
    cmd.env_remove("PARLAB_FAULT");
    // Peers are tested on purpose (tests/suite/peers.rs); elsewhere they would only add minutes.
    cmd.env("PARLAB_PEERS", "none");
    // One interpreter, the machine's python3, unless a test names others: discovery would
    // add every free-threaded build found (and its PYTHON_GIL=1 run) to every peer test.
    cmd.env("PARLAB_PYTHON", "python3");
    cmd
}

/// A resource limit that `parlab_with_ulimit` lowers.
#[derive(Clone, Copy, Debug)]
pub enum Ulimit {
    /// RLIMIT_NOFILE, `ulimit -n`.
    OpenFiles,
    /// RLIMIT_NPROC, `ulimit -u`.
    Processes,
}

/// parlab with a soft limit (and the hard one, when given) set in the child alone, as
/// `ulimit` in a shell would: the test process keeps its own limits.
pub fn parlab_with_ulimit(limit: Ulimit, soft: u64, hard: Option<u64>) -> Command {
    use std::os::unix::process::CommandExt;
    let resource = match limit {
        Ulimit::OpenFiles => libc::RLIMIT_NOFILE,
        Ulimit::Processes => libc::RLIMIT_NPROC,
    };
    let mut cmd = std::process::Command::new(BIN);
    // SAFETY: getrlimit and setrlimit are async-signal-safe and change only the child.
    unsafe {
        cmd.pre_exec(move || {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(resource, &mut lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            lim.rlim_cur = soft as libc::rlim_t;
            if let Some(hard) = hard {
                lim.rlim_max = hard as libc::rlim_t;
            }
            if libc::setrlimit(resource, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    bounded(cmd)
}

/// Runs parlab with `--json -` and returns (exit code, document, stderr).
pub fn run_json(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = parlab();
    for (k, v) in env {
        cmd.env(k, v);
    }
    json_of(cmd, args)
}

/// Runs `cmd` with `args` and `--json -`; returns (exit code, document, stderr).
pub fn json_of(mut cmd: Command, args: &[&str]) -> (i32, Value, String) {
    cmd.args(args).arg("--json").arg("-");
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
        assert_usage_error(&out, &format!("{args:?}"), expected);
    }
}

/// `out` is a usage error: exit code 2, one line on stderr (no control characters that
/// could split it or reach the terminal) that contains `expected`, nothing on stdout,
/// and no panic. `what` names the case in failure messages.
pub fn assert_usage_error(out: &std::process::Output, what: &str, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    let line = stderr.strip_suffix('\n').unwrap_or(&stderr);
    assert!(
        !line.is_empty() && !line.chars().any(char::is_control),
        "{what} did not print one clean line: {stderr:?}"
    );
    assert!(
        stderr.contains(expected),
        "{what}: expected {expected:?} in {stderr:?}"
    );
    assert!(out.stdout.is_empty(), "{what} wrote to stdout");
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

/// A command line written as one string: test cases read like what a user types.
pub fn argv(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The experiment ids of a results document, in order.
pub fn experiment_ids(doc: &Value) -> Vec<&str> {
    doc["experiments"]
        .as_array()
        .expect("experiments")
        .iter()
        .map(|e| e["experiment"].as_str().expect("an id"))
        .collect()
}

/// A fake Python interpreter for the peer runner: it answers the version probe as the
/// Python peer does, then runs `body` (shell) for the experiment, after starting a
/// grandchild that must not outlive the run.
pub fn fake_python(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-python");
    let script = format!(
        "#!/bin/sh\nif [ \"$2\" = version ]; then echo '{{\"language\":\"python\",\"version\":\"3.0-fake\"}}'; exit 0; fi\nsleep 120 &\n{body}\n"
    );
    std::fs::write(&path, script).expect("the fake is written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("the fake is executable");
    path
}

/// Runs parlab with `args`, asserts that it succeeded (its output in the message if
/// not) and returns its stdout.
pub fn stdout_of_success<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = parlab().args(args).output().expect("parlab runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `args` under the default schedule and again with `--schedule grouped`: both must
/// succeed, record their schedule (the default is interleaved) and give the same rows
/// (technique, language, params and status, in order), since the schedule may change
/// only when each run happens, never what is measured. Returns the default run's
/// document and output.
pub fn assert_schedules_agree(args: &[&str]) -> (Value, String) {
    let (code, doc, human) = run_json(args, &[]);
    assert_eq!(code, 0, "{human}");
    let grouped_args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--schedule", "grouped"])
        .collect();
    let (g_code, grouped, g_human) = run_json(&grouped_args, &[]);
    assert_eq!(g_code, 0, "{g_human}");
    assert_eq!(doc["experiments"][0]["params"]["schedule"], "interleaved");
    assert_eq!(grouped["experiments"][0]["params"]["schedule"], "grouped");
    let outline = |d: &Value| -> Vec<Value> {
        rows(d)
            .iter()
            .map(|r| serde_json::json!([r["technique"], r["language"], r["params"], r["status"]]))
            .collect()
    };
    assert_eq!(outline(&doc), outline(&grouped), "{human}\n{g_human}");
    (doc, human)
}
