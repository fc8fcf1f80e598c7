//! count, pool, map, channel and select end to end: correct results from every technique, the schema, the
//! paper-style lines, timelines, and reproduce's results file.

use crate::common::{
    argv, assert_printed, assert_schedules_agree, assert_usage_errors, parlab, row, rows, run_json,
};
use serde_json::Value;

const ROW_FIELDS: [&str; 15] = [
    "language",
    "technique",
    "params",
    "status",
    "message",
    "samples_s",
    "median_s",
    "min_s",
    "max_s",
    "stddev_s",
    "speedup",
    "validated",
    "peak_rss_bytes",
    "extra",
    "speedup",
];

fn assert_schema(doc: &Value) {
    assert_eq!(doc["parlab_version"], env!("CARGO_PKG_VERSION"));
    for key in [
        "cpu_model",
        "logical_cpus",
        "os",
        "kernel",
        "rustc",
        "python",
        "go",
        "loadavg_1m",
        "started_at",
    ] {
        assert!(
            doc["environment"].get(key).is_some(),
            "environment.{key} missing"
        );
    }
    assert!(doc["claims"].is_array());
    for exp in doc["experiments"].as_array().unwrap() {
        for key in [
            "experiment",
            "paper_ref",
            "params",
            "rows",
            "events",
            "findings",
        ] {
            assert!(exp.get(key).is_some(), "experiment.{key} missing");
        }
        for r in exp["rows"].as_array().unwrap() {
            for key in ROW_FIELDS {
                assert!(r.get(key).is_some(), "row.{key} missing in {r}");
            }
        }
        for e in exp["events"].as_array().unwrap() {
            for key in ["row", "t_s", "lane", "kind", "label"] {
                assert!(e.get(key).is_some(), "event.{key} missing");
            }
        }
    }
}

#[test]
fn count_every_technique_is_correct_and_reported() {
    let (code, doc, human) = run_json(
        &["count", "--n", "3000000", "--runs", "2", "--warmup", "0"],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    assert_schema(&doc);
    let all = [
        "sequential",
        "threads",
        "rayon",
        "processes",
        "tokio",
        "tokio-1",
        "gil-model",
    ];
    assert_eq!(rows(&doc).len(), all.len());
    for t in all {
        let r = row(&doc, t);
        assert_eq!(r["status"], "ok", "{t}: {r}");
        assert_eq!(r["validated"], true, "{t}");
        assert_eq!(r["samples_s"].as_array().unwrap().len(), 2, "{t}");
        let (min, med, max) = (
            r["min_s"].as_f64().unwrap(),
            r["median_s"].as_f64().unwrap(),
            r["max_s"].as_f64().unwrap(),
        );
        assert!(min <= med && med <= max, "{t}: {min} {med} {max}");
        assert!(r["speedup"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(row(&doc, "sequential")["speedup"], 1.0);
    assert_eq!(row(&doc, "threads")["params"]["workers"], 5);
    assert!(
        row(&doc, "gil-model")["extra"]["gil_switches"]
            .as_u64()
            .unwrap()
            >= 5
    );
    assert!(row(&doc, "processes")["peak_rss_bytes"].as_u64().unwrap() > 0);
    // The paper's lines, then the table (human output moved to stderr by --json -).
    assert_printed(
        &human,
        &[
            "-----> Sequential",
            "Function 'sequential_exec' executed in ",
            "-----> Threads",
            "Function 'parallel_exec' executed in ",
            "-----> SubProcesses",
        ],
    );
    assert!(
        human.contains("MODEL"),
        "the GIL model is not labelled a model:\n{human}"
    );
    // Each chunk ran in a worker process, with a start and an end event; workers pull
    // chunks as they free up, so a quick worker may take two.
    let events = doc["experiments"][0]["events"].as_array().unwrap();
    let processes_row = rows(&doc)
        .iter()
        .position(|r| r["technique"] == "processes")
        .unwrap();
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["row"] == processes_row)
        .collect();
    assert_eq!(mine.len(), 10);
    assert!(
        mine.iter()
            .all(|e| e["lane"].as_str().unwrap().starts_with("process-"))
    );
    assert!(
        mine.windows(2)
            .all(|w| w[0]["t_s"].as_f64() <= w[1]["t_s"].as_f64()),
        "events out of time order"
    );
}

#[test]
fn count_quiet_prints_only_the_table_and_json_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let out = parlab()
        .args([
            "count",
            "--n",
            "100000",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--technique",
            "sequential,threads",
            "--quiet",
            "--json",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("----->"), "{stdout}");
    assert!(
        stdout.contains("sequential") && stdout.contains("threads") && !stdout.contains("rayon"),
        "{stdout}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_schema(&doc);
    assert_eq!(rows(&doc).len(), 2);
    // Written atomically: no temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Rows whose time grows with a size flag are estimated first: over `--skip-over` they
/// are skipped with the estimate, and `--skip-over 0` runs them.
#[test]
fn rows_estimated_over_skip_over_are_skipped_and_zero_runs_them() {
    let count = [
        "count",
        "--n",
        "3000000",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--technique",
        "sequential,threads,gil-model",
    ];
    let (code, doc, human) = run_json(&[&count[..], &["--skip-over", "1us"]].concat(), &[]);
    assert_eq!(code, 0, "skipped rows are not failures: {human}");
    assert_eq!(rows(&doc).len(), 3);
    for r in rows(&doc) {
        assert_eq!(r["status"], "skipped", "{r}");
        let why = r["message"].as_str().unwrap();
        assert!(
            why.starts_with("would take about ")
                && why.contains("(1 run of ")
                && why.contains(" steps/s a core), over --skip-over 1µs"),
            "{why}"
        );
    }
    assert_printed(
        &human,
        &["Function 'sequential_exec' skipped: would take about "],
    );
    let (code, doc, human) = run_json(&[&count[..], &["--skip-over", "0"]].concat(), &[]);
    assert_eq!(code, 0, "{human}");
    assert!(rows(&doc).iter().all(|r| r["status"] == "ok"), "{human}");

    let (_, doc, _) = run_json(
        &argv(
            "pool --max-fib 24 --workers 2 --runs 1 --warmup 0 --technique threads --skip-over 1us",
        ),
        &[],
    );
    for r in rows(&doc) {
        assert_eq!(r["status"], "skipped", "{r}");
        assert!(
            r["message"].as_str().unwrap().contains("fib calls/s"),
            "{r}"
        );
    }
    let (_, doc, _) = run_json(
        &argv(
            "gil --ops 400000 --technique racy --threads 2 --shape increments --runs 1 --warmup 0 --skip-over 1us",
        ),
        &[],
    );
    for r in rows(&doc) {
        assert_eq!(r["status"], "skipped", "{r}");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains("from 100000 updates a thread"),
            "{r}"
        );
    }
}

#[test]
fn pool_rows_bounds_and_timelines() {
    let (code, doc, human) = run_json(
        &[
            "pool",
            "--max-fib",
            "20",
            "--workers",
            "1,2",
            "--order",
            "both",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    assert_schema(&doc);
    // a sequential baseline per order + 4 techniques x 2 orders x 2 worker counts
    assert_eq!(rows(&doc).len(), 18);
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true);
        if r["technique"] != "sequential" {
            let bound = r["extra"]["bound_s"].as_f64().unwrap();
            assert!(bound > 0.0);
            assert!(r["extra"]["over_bound"].as_f64().unwrap() > 0.0);
            assert!(r["extra"]["efficiency"].as_f64().is_some());
        }
    }
    let findings = &doc["experiments"][0]["findings"];
    assert_eq!(findings["job_times_s"].as_array().unwrap().len(), 20);
    assert!(findings["longest_job_share"].as_f64().unwrap() > 0.2);
    assert_printed(
        &human,
        &[
            "NumCPU",
            "Total time taken<1>: ",
            "Total time taken<2>: ",
            "-----> threads (largest-first)",
        ],
    );
    // With one worker the jobs run one after another in the order handed out.
    let events = doc["experiments"][0]["events"].as_array().unwrap();
    for (order, first, last) in [
        ("ascending", "fib(1)", "fib(20)"),
        ("largest-first", "fib(20)", "fib(1)"),
    ] {
        let index = rows(&doc)
            .iter()
            .position(|r| {
                r["technique"] == "threads"
                    && r["params"]["workers"] == 1
                    && r["params"]["order"] == order
            })
            .unwrap();
        let starts: Vec<&str> = events
            .iter()
            .filter(|e| e["row"] == index && e["kind"] == "start")
            .map(|e| e["label"].as_str().unwrap())
            .collect();
        assert_eq!(starts.len(), 20);
        assert_eq!(
            (starts[0], starts[19]),
            (first, last),
            "{order}: {starts:?}"
        );
    }
}

#[test]
fn pool_two_workers_overlap_in_time() {
    let (code, doc, _) = run_json(
        &[
            "pool",
            "--max-fib",
            "34",
            "--workers",
            "2",
            "--technique",
            "threads",
            "--order",
            "largest-first",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 0);
    let events = doc["experiments"][0]["events"].as_array().unwrap();
    let index = rows(&doc)
        .iter()
        .position(|r| r["technique"] == "threads")
        .unwrap();
    let span = |label: &str| {
        let t = |kind: &str| {
            events
                .iter()
                .find(|e| e["row"] == index && e["label"] == label && e["kind"] == kind)
                .unwrap()["t_s"]
                .as_f64()
                .unwrap()
        };
        (t("start"), t("end"))
    };
    // The two largest jobs go to the two workers at once, so they run side by side.
    let (a, b) = (span("fib(34)"), span("fib(33)"));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "fib(34) {a:?} and fib(33) {b:?} do not overlap"
    );
    let lanes: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["row"] == index)
        .map(|e| e["lane"].as_str().unwrap())
        .collect();
    assert_eq!(lanes.len(), 2, "{lanes:?}");
}

#[test]
fn reproduce_runs_every_experiment_and_writes_results() {
    let dir = tempfile::tempdir().unwrap();
    // pingpong's MPI row runs when parlab has MPI; mpirun then must be let run as root.
    let out = crate::common::parlab()
        .envs(crate::mpi::ALLOW_ROOT)
        .args(["reproduce", "--quiet", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // Every registered experiment, in the registry's order: a new one is covered as soon
    // as it has its registry line.
    let ids: Vec<&str> = parlab::experiments::ALL.iter().map(|i| i.id).collect();
    for (i, id) in ids.iter().enumerate() {
        let step = format!("[{}/{}] {id}", i + 1, ids.len());
        assert!(stdout.contains(&step), "{step} missing: {stdout}");
    }
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_schema(&doc);
    assert_eq!(crate::common::experiment_ids(&doc), ids);
    // Every row ran, but an MPI row where parlab has no MPI: that one says how to get it.
    for r in doc["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["rows"].as_array().unwrap())
    {
        if r["status"] != "ok" && r["technique"] == "mpi" && !crate::mpi::mpi_here() {
            crate::mpi::assert_skipped_with_how(r);
        } else {
            assert_eq!(r["status"], "ok", "{r}");
        }
    }
    // Every claim of docs/DESIGN.md gets a verdict with evidence, and the table ends the run.
    let claims = doc["claims"].as_array().unwrap();
    let declared: usize = parlab::experiments::ALL
        .iter()
        .map(|i| i.claims.len())
        .sum();
    assert_eq!(claims.len(), declared);
    for c in claims {
        let verdict = c["verdict"].as_str().unwrap();
        assert!(
            [
                "confirmed",
                "refuted",
                "partly",
                "inconclusive",
                "not-tested"
            ]
            .contains(&verdict),
            "{c}"
        );
        assert!(!c["evidence"].as_str().unwrap().is_empty(), "{c}");
        // Every part says whether it was measured and how it came out.
        for part in c["parts"].as_array().map(Vec::as_slice).unwrap_or_default() {
            assert!(part["measured"].is_boolean(), "{part}");
            assert!(
                ["holds", "fails", "inconclusive", "not-measured"]
                    .contains(&part["outcome"].as_str().unwrap()),
                "{part}"
            );
        }
    }
    let verdict = |id: &str| claims.iter().find(|c| c["id"] == id).unwrap()["verdict"].clone();
    // Without peers, the Python-only claims cannot be settled; the Rust ones can.
    assert_eq!(verdict("python-threads-not-os"), "not-tested");
    assert_eq!(verdict("main-kills-goroutines"), "confirmed");
    assert_eq!(verdict("map-blocks-imap-streams"), "confirmed");
    assert!(stdout.contains("Claims of the paper"), "{stdout}");
}

#[test]
fn a_failing_experiment_leaves_the_others_intact() {
    let dir = tempfile::tempdir().unwrap();
    // Every worker process exits at once: count's processes row fails, the rest run.
    let out = parlab()
        .args(["reproduce", "--quiet", "--only", "count,waitgroup", "--out"])
        .arg(dir.path())
        .env("PARLAB_FAULT", "exit")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed row fails the run");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(crate::common::experiment_ids(&doc), ["count", "waitgroup"]);
    let count = doc["experiments"][0]["rows"].as_array().unwrap();
    let status = |t: &str| count.iter().find(|r| r["technique"] == t).unwrap()["status"].clone();
    assert_eq!(status("processes"), "error");
    assert_eq!(status("threads"), "ok");
    let waitgroup = doc["experiments"][1]["rows"].as_array().unwrap();
    assert!(waitgroup.iter().all(|r| r["status"] == "ok"));
    assert!(dir.path().join("report.html").is_file());
}

#[test]
fn map_calls_deliver_as_the_paper_describes() {
    let (code, doc, human) = run_json(&["map", "--unit", "50ms"], &[]);
    assert_eq!(code, 0, "{human}");
    assert_schema(&doc);
    assert_eq!(rows(&doc).len(), 8);
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true);
        let call = r["params"]["call"].as_str().unwrap();
        let order: Vec<u64> = r["extra"]["received_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let received: Vec<f64> = r["extra"]["received_units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        match call {
            // Nothing before the slowest task (5 units) is done.
            "map" | "map_async" => {
                assert!(received.iter().all(|u| *u >= 4.9), "{call}: {received:?}");
                assert_eq!(order, [1, 5, 3]);
            }
            // Input order: the 1 at once, then the 5, and the 3 only after the 5.
            "imap" => {
                assert_eq!(order, [1, 5, 3]);
                assert!(received[0] < 2.5 && received[2] >= 4.9, "{received:?}");
            }
            // Completion order: fastest first.
            "imap_unordered" => {
                assert_eq!(order, [1, 3, 5]);
                assert!(received[0] < 2.5 && received[2] < 4.5, "{received:?}");
            }
            other => panic!("unexpected call {other}"),
        }
    }
    let async_row = rows(&doc)
        .iter()
        .find(|r| r["params"]["call"] == "map_async")
        .unwrap();
    assert!(async_row["extra"]["returned_units"].as_f64().unwrap() < 0.9);
    assert_printed(
        &human,
        &[
            "-----> TESTING: map (pool-threads)",
            "-----> TESTING: imap_unordered (pool-processes)",
            "1 (Finished @",
            "3 (Time elapsed @",
            "map_async returned @",
        ],
    );
    // Finish and receive events on the timeline, for every task of every call.
    let events = doc["experiments"][0]["events"].as_array().unwrap();
    assert_eq!(
        events.iter().filter(|e| e["kind"] == "receive").count(),
        8 * 3
    );
    assert_eq!(events.iter().filter(|e| e["kind"] == "end").count(), 8 * 3);
    let findings = &doc["experiments"][0]["findings"];
    assert_eq!(findings["pool-processes"]["imap"]["in_input_order"], true);
}

#[test]
fn map_memory_mode_shows_map_holding_everything() {
    let (code, doc, human) = run_json(
        &[
            "map", "--pool", "threads", "--unit", "10ms", "--memory", "100000",
        ],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    let memory: Vec<&Value> = rows(&doc)
        .iter()
        .filter(|r| r["params"]["mode"] == "memory")
        .collect();
    assert_eq!(memory.len(), 3);
    let growth = |call: &str| {
        memory.iter().find(|r| r["params"]["call"] == call).unwrap()["extra"]["growth_bytes"]
            .as_u64()
            .unwrap()
    };
    for r in &memory {
        assert_eq!(r["validated"], true);
    }
    // map keeps the whole input and every result at once; imap keeps a few chunks.
    assert!(
        growth("map") > growth("imap") + (1 << 20),
        "map {} imap {}",
        growth("map"),
        growth("imap")
    );
    assert!(growth("map") > growth("imap_unordered") + (1 << 20));
    assert!(human.contains("-----> MEMORY: imap over 100000"), "{human}");
}

#[test]
fn map_bad_input() {
    assert_usage_errors(&[
        (&["map", "--sleeps", "1,x"][..], "not a whole number"),
        (&["map", "--workers", "0"], "out of range: choose 1 to 256"),
        (&["map", "--unit", "0s"], "longer than zero"),
        (
            &["map", "--technique", "threads"],
            "unknown technique 'threads' for map; choose from: pool-threads, pool-processes",
        ),
        (&["map", "--pool", "gpu"], "invalid value 'gpu'"),
    ]);
}

/// The gil rows whose `technique`, `threads` and `shape` match.
fn gil_row<'a>(doc: &'a Value, technique: &str, threads: u64, shape: &str) -> &'a Value {
    rows(doc)
        .iter()
        .find(|r| {
            r["technique"] == technique
                && r["params"]["threads"] == threads
                && r["params"]["shape"] == shape
        })
        .unwrap_or_else(|| panic!("no {technique} row at {threads} threads, {shape}"))
}

#[test]
fn gil_synchronised_counts_are_exact_and_racy_accounts_for_every_update() {
    let ops = 200_000u64;
    let (code, doc, human) = run_json(
        &[
            "gil",
            "--ops",
            "200000",
            "--sweep-n",
            "2000000",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    assert_schema(&doc);
    let exp = &doc["experiments"][0];
    assert_eq!(exp["experiment"], "gil");
    assert_eq!(exp["paper_ref"], "§2.2–2.3");
    let cores = doc["environment"]["logical_cpus"].as_u64().unwrap();
    // 1 thread always, then the default: 2 and the number of logical CPUs.
    let mut threads = vec![1, 2];
    if !threads.contains(&cores) {
        threads.push(cores);
    }
    assert_eq!(exp["params"]["threads"], serde_json::json!(threads));
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true, "{r}");
        assert!(r["median_s"].as_f64().unwrap() > 0.0);
    }
    for shape in ["increments", "balanced"] {
        let plain = gil_row(&doc, "plain", 1, shape);
        assert!(plain["extra"]["ns_per_op"].as_f64().unwrap() > 0.0);
        for &t in &threads {
            for technique in ["atomic", "mutex", "gil-model"] {
                let r = gil_row(&doc, technique, t, shape);
                assert_eq!(r["extra"]["final_count"], r["extra"]["expected"], "{r}");
                assert_eq!(r["extra"]["drift"], 0, "{r}");
                assert_eq!(r["extra"]["exact"], true, "{r}");
                assert!(r["extra"]["ns_per_op"].as_f64().unwrap() > 0.0);
            }
            let r = gil_row(&doc, "racy", t, shape);
            let last = r["extra"]["final_count"].as_i64().unwrap();
            match shape {
                "increments" => {
                    let lost = r["extra"]["lost_updates"].as_i64().unwrap();
                    assert_eq!(lost + last, (t * ops) as i64, "{r}");
                    assert_eq!(r["extra"]["expected"], t * ops);
                }
                _ => {
                    let start = r["params"]["start"].as_i64().unwrap();
                    assert_eq!(r["extra"]["drift"].as_i64().unwrap(), last - start);
                }
            }
            if t == 1 {
                assert_eq!(r["extra"]["exact"], true, "racy alone lost updates: {r}");
            }
        }
        assert!(
            gil_row(&doc, "gil-model", 2, shape)["extra"]["gil_switches"]
                .as_u64()
                .unwrap()
                >= 2
        );
    }
    // The sweep: a sequential baseline, then gil-model at each default interval.
    let sweep: Vec<&Value> = rows(&doc)
        .iter()
        .filter(|r| r["params"]["mode"] == "sweep")
        .collect();
    assert_eq!(sweep.len(), 5);
    assert_eq!(sweep[0]["technique"], "sequential");
    assert_eq!(sweep[0]["speedup"], 1.0);
    for r in &sweep[1..] {
        assert_eq!(r["technique"], "gil-model");
        assert_eq!(r["params"]["threads"], cores.max(2));
        assert!(r["speedup"].as_f64().unwrap() > 0.0);
        assert!(r["extra"]["gil_switches"].as_u64().unwrap() >= 1);
    }
    let findings = &exp["findings"];
    assert_eq!(
        findings["lost_updates"]["exact"],
        serde_json::json!(["atomic", "mutex", "gil-model"])
    );
    assert_eq!(findings["lost_updates"]["racy_single_thread_exact"], true);
    // Racy runs count only when their threads overlapped; without one the answer is
    // unknown (null), never a plain false.
    let lost = &findings["lost_updates"];
    let overlapped = lost["racy_overlapped_runs"].as_u64().unwrap();
    assert_eq!(lost["racy_lost_any"].is_boolean(), overlapped > 0, "{lost}");
    assert_eq!(findings["cost_ns_per_op"]["shape"], "increments");
    assert!(findings["cost_ns_per_op"]["atomic"]["1"].as_f64().unwrap() > 0.0);
    assert!(findings["cost_ns_per_op"]["mutex"]["2"].as_f64().unwrap() > 0.0);
    assert_eq!(findings["sweep"]["points"].as_array().unwrap().len(), 4);
    assert_printed(
        &human,
        &[
            "-----> racy, 2 threads, increments",
            "-----> atomic, 1 thread, balanced",
            "final 400,000 of 400,000: no update lost",
            "started at 1,000,000, ended at ",
            "-----> sweep: gil-model, ",
            "the cost of safety",
            "ns/update, 1 thread",
            "MODEL",
        ],
    );
}

#[test]
fn gil_chosen_techniques_and_shape_only() {
    let (code, doc, human) = run_json(
        &[
            "gil",
            "--technique",
            "racy,atomic",
            "--shape",
            "balanced",
            "--threads",
            "3",
            "--ops",
            "50001",
            "--runs",
            "2",
            "--warmup",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    // Two techniques at 1 and 3 threads; no sweep without gil-model.
    assert_eq!(rows(&doc).len(), 4);
    for r in rows(&doc) {
        assert_eq!(r["params"]["shape"], "balanced");
        // An odd count is rounded up to whole increment/decrement pairs.
        assert_eq!(r["params"]["ops"], 50_002);
        // One drift per counted run. A racy row of several threads measures again until
        // enough runs overlapped, so it may keep more runs than asked for.
        let drifts = r["extra"]["drift_per_run"].as_array().unwrap().len();
        assert_eq!(r["samples_s"].as_array().unwrap().len(), drifts, "{r}");
        if r["technique"] == "racy" && r["params"]["threads"] == 3 {
            assert!(drifts >= 2, "{r}");
        } else {
            assert_eq!(drifts, 2, "{r}");
        }
    }
    let findings = &doc["experiments"][0]["findings"];
    assert!(findings.get("sweep").is_none());
    assert_eq!(
        findings["lost_updates"]["exact"],
        serde_json::json!(["atomic"])
    );
}

#[test]
fn gil_rows_run_interleaved_by_default_and_match_grouped_rows() {
    let (doc, human) = assert_schedules_agree(&[
        "gil",
        "--ops",
        "100000",
        "--threads",
        "2",
        "--sweep-n",
        "2000000",
        "--sweep-intervals",
        "1ms,5ms",
        "--runs",
        "2",
        "--warmup",
        "1",
    ]);
    // plain once and four techniques at 1 and 2 threads, in two shapes; then the sweep.
    assert_eq!(rows(&doc).len(), 2 * 9 + 3);
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert!(r["samples_s"].as_array().unwrap().len() >= 2, "{r}");
    }
    // A racy row of 2 threads keeps its runs' drifts, however many measurements it
    // took to see the threads overlap.
    let racy = gil_row(&doc, "racy", 2, "increments");
    let drifts = racy["extra"]["drift_per_run"].as_array().unwrap().len();
    assert_eq!(
        racy["samples_s"].as_array().unwrap().len(),
        drifts,
        "{racy}"
    );
    let sweep: Vec<&Value> = rows(&doc)
        .iter()
        .filter(|r| r["params"]["mode"] == "sweep")
        .collect();
    assert_eq!(sweep[0]["speedup"], 1.0);
    assert!(sweep[1]["speedup"].as_f64().unwrap() > 0.0);
    // Each row's lines come after its heading, in the rows' order.
    let at = |text: &str| {
        human
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in\n{human}"))
    };
    assert!(
        at("-----> plain, one thread, nothing shared, increments")
            < at("-----> racy, 1 thread, increments")
    );
    assert!(at("-----> racy, 2 threads, increments") < at("-----> atomic, 1 thread, increments"));
    assert!(at("-----> gil-model, 2 threads, balanced") < at("-----> sweep: sequential"));
    assert!(at("-----> sweep: sequential") < at("Function 'sequential_exec' executed in"));
}

#[test]
fn gil_bad_input() {
    assert_usage_errors(&[
        (&["gil", "--threads", "0"][..], "between 1 and 256, got 0"),
        (&["gil", "--threads", "300"], "between 1 and 256, got 300"),
        (&["gil", "--ops", "0"], "out of range: choose 1 to"),
        (
            &["gil", "--technique", "threads"],
            "unknown technique 'threads' for gil; choose from: plain, racy, atomic, mutex, gil-model",
        ),
        (&["gil", "--shape", "square"], "invalid value 'square'"),
        (&["gil", "--sweep-intervals", "1ms,0s"], "longer than zero"),
        (&["gil", "--switch-interval", "soon"], "not a duration"),
    ]);
}

fn units(r: &Value, key: &str) -> Vec<f64> {
    r["extra"][key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {r}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn a_capacity_one_channel_blocks_the_second_send_until_the_receiver() {
    let (code, doc, human) = run_json(&["channel", "--unit", "30ms", "--receiver-delay", "4"], &[]);
    assert_eq!(code, 0, "{human}");
    assert_schema(&doc);
    assert_eq!(
        rows(&doc).len(),
        6,
        "std, crossbeam, kanal, tokio, tokio-1, kanal-1"
    );
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true);
        let start = r["extra"]["receiver_start_units"].as_f64().unwrap();
        let done = units(r, "completed_units");
        assert!(start >= 3.9, "{r}");
        // A goes in at once, well before the receiver; B only once it takes A.
        assert!(done[0] < 1.0, "{}: {done:?}", r["technique"]);
        assert!(done[1] >= start, "{}: {done:?} vs {start}", r["technique"]);
        assert!(units(r, "blocked_units")[1] >= 2.5, "{r}");
        let found = &doc["experiments"][0]["findings"][r["technique"].as_str().unwrap()];
        assert_eq!(found["second_send_blocked_until_receiver"], true, "{found}");
        assert_eq!(found["first_send_blocked_until_receiver"], false, "{found}");
    }
    let kinds: Vec<&str> = doc["experiments"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["row"] == 0)
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["send", "blocked", "sent", "start", "receive"] {
        assert!(kinds.contains(&kind), "no {kind} event: {kinds:?}");
    }
    assert!(human.contains("Receiver Starts @t=4"), "{human}");
    assert!(human.contains("B sending ...."), "{human}");
}

#[test]
fn a_rendezvous_channel_blocks_the_first_send_too() {
    let (code, doc, human) = run_json(
        &[
            "channel",
            "--unit",
            "30ms",
            "--receiver-delay",
            "4",
            "--capacity",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    // tokio's mpsc has no capacity 0; its rows use a capacity-1 channel plus an
    // acknowledgement, which must block the same way.
    for technique in [
        "std-sync-channel",
        "crossbeam",
        "tokio-mpsc",
        "tokio-1-mpsc",
    ] {
        let r = row(&doc, technique);
        assert_eq!(r["status"], "ok", "{r}");
        let start = r["extra"]["receiver_start_units"].as_f64().unwrap();
        let done = units(r, "completed_units");
        assert!(
            done[0] >= start && start >= 3.9,
            "{technique}: {done:?} vs {start}"
        );
    }
}

#[test]
fn a_channel_never_closed_is_reported_as_a_deadlock_not_a_hang() {
    let started = std::time::Instant::now();
    let out = parlab()
        .args([
            "channel",
            "--unit",
            "20ms",
            "--forget-close",
            "--timeout",
            "60s",
            "--json",
            "-",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Found by the watchdog, long before the timeout.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows(&doc).len(), 6);
    for r in rows(&doc) {
        assert_eq!(r["status"], "error", "{r}");
        assert!(r["message"].as_str().unwrap().contains("deadlock"), "{r}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("all units are asleep"));
}

#[test]
fn select_serves_both_producers_at_their_rates() {
    let (code, doc, human) = run_json(&["select", "--unit", "20ms", "--duration", "40"], &[]);
    assert_eq!(code, 0, "{human}");
    assert_schema(&doc);
    assert_eq!(rows(&doc).len(), 2);
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        let ratio = r["extra"]["ratio"].as_f64().unwrap();
        assert!((2.5..=6.0).contains(&ratio), "{r}");
        assert!(r["extra"]["counts"]["2s"].as_u64().unwrap() >= 10, "{r}");
    }
    assert!(human.contains("Confirmed in 500ms") && human.contains("Confirmed in Two Seconds"));
}

#[test]
fn throughput_moves_exactly_the_messages_asked() {
    let n = 20_000u64;
    for exp in ["channel", "select"] {
        let (code, doc, human) = run_json(
            &[
                exp,
                "--throughput",
                "--messages",
                "20000",
                "--runs",
                "1",
                "--warmup",
                "0",
            ],
            &[],
        );
        assert_eq!(code, 0, "{human}");
        assert_schema(&doc);
        let ok: Vec<&Value> = rows(&doc).iter().filter(|r| r["status"] == "ok").collect();
        assert!(
            ok.len() >= 4 || (exp == "select" && ok.len() == 2),
            "{exp}: {human}"
        );
        for r in rows(&doc) {
            assert_ne!(r["status"], "error", "{r}");
            if r["status"] == "ok" {
                assert_eq!(r["validated"], true);
                assert_eq!(r["extra"]["received"], n, "{r}");
                assert_eq!(r["extra"]["sum"], n * (n - 1) / 2, "{r}");
                assert!(r["extra"]["msgs_per_s"].as_f64().unwrap() > 0.0);
            }
        }
    }
}

#[test]
fn throughput_rows_run_interleaved_by_default_and_match_grouped_rows() {
    for exp in ["channel", "select"] {
        let (doc, human) = assert_schedules_agree(&[
            exp,
            "--throughput",
            "--messages",
            "20000",
            "--runs",
            "2",
            "--warmup",
            "1",
        ]);
        // Shapes a technique cannot build stay skipped rows; every other row ran all its
        // runs and moved every message.
        for r in rows(&doc) {
            assert_ne!(r["status"], "error", "{r}");
            if r["status"] == "ok" {
                assert_eq!(r["samples_s"].as_array().unwrap().len(), 2, "{r}");
                assert_eq!(r["extra"]["received"], 20_000, "{r}");
            }
        }
        assert!(
            rows(&doc).iter().any(|r| r["status"] == "ok"),
            "{exp}: {human}"
        );
        // Each shape's rows take turns, and each shape's speedups start from its first row.
        let first = &rows(&doc)[0];
        assert_eq!(first["speedup"], 1.0, "{first}");
        assert!(human.contains("-----> "), "{human}");
    }
}

#[test]
fn throughput_rows_that_would_run_too_long_are_skipped_after_a_trial() {
    let (code, doc, human) = run_json(
        &[
            "channel",
            "--throughput",
            "--messages",
            "50000",
            "--skip-over",
            "1us",
            "--technique",
            "crossbeam",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    for r in rows(&doc) {
        assert_eq!(r["status"], "skipped", "{r}");
        let why = r["message"].as_str().unwrap();
        assert!(
            why.contains("would take about") && why.contains("msgs/s"),
            "{why}"
        );
    }
}

#[test]
fn pingpong_bounces_checked_messages_over_every_transport() {
    let (code, doc, stderr) = crate::common::run_json(
        &crate::common::argv(
            "pingpong --technique crossbeam,kanal,tokio-mpsc,pipe,tcp --sizes 8,300KiB --round-trips 100 --runs 2 --warmup 1",
        ),
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    let rows = crate::common::rows(&doc);
    let seen: Vec<(&str, u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["technique"].as_str().unwrap(),
                r["params"]["size_bytes"].as_u64().unwrap(),
                r["params"]["round_trips"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want = Vec::new();
    // Messages over 256 KiB make fewer round trips: 100 × 256 / 300.
    for (size, rounds) in [(8, 100), (300 << 10, 85)] {
        for t in ["crossbeam", "kanal", "tokio-mpsc", "pipe", "tcp"] {
            want.push((t, size, rounds));
        }
    }
    assert_eq!(seen, want);
    for r in rows {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true);
        let size = r["params"]["size_bytes"].as_f64().unwrap();
        let median = r["median_s"].as_f64().unwrap();
        let gb = r["extra"]["gb_per_s"].as_f64().unwrap();
        assert!(
            (gb - 2.0 * size / median / 1e9).abs() < 1e-9 * gb.max(1.0),
            "{r}"
        );
        let copies = matches!(r["technique"].as_str().unwrap(), "pipe" | "tcp");
        assert_eq!(r["extra"]["copies"], copies, "{r}");
    }
    assert_printed_pingpong(&stderr);
}

fn assert_printed_pingpong(human: &str) {
    crate::common::assert_printed(
        human,
        &[
            "-----> 8 B messages, 100 round trips a run",
            "-----> 300 KiB messages, 85 round trips a run",
            "GB/s = 2 × size / round trip",
        ],
    );
}

#[test]
fn pingpong_refuses_sizes_it_cannot_check() {
    crate::common::assert_usage_errors(&[
        (&["pingpong", "--sizes", "4"], "between 8 B and 1 GiB"),
        (&["pingpong", "--sizes", "8,lots"], "not a size"),
        (&["pingpong", "--round-trips", "0"], "round-trips"),
    ]);
}
