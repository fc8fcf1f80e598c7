//! Hostile input and machines at their limits. Every parser of outside input answers a
//! value or one line, never a panic, through the library and through the real binary,
//! with the corpus in tests/corpus (see its README); experiments that could exhaust the
//! machine refuse above its limits before anything starts.

use crate::common::{
    Ulimit, assert_usage_error, json_of, parlab, parlab_with_ulimit, rows, tagged_processes,
    unique_tag,
};
use parlab::parse;
use parlab::techniques::http::check_url;
use parlab::worker::{Fault, read_answer_line};
use std::path::Path;

/// A parser of outside input as the library exposes it, and where the command line
/// uses it.
struct Parser {
    /// Its folder under tests/corpus.
    name: &'static str,
    /// The parser, its value dropped.
    parse: fn(&str) -> Result<(), String>,
    /// Commands and a flag that parse with exactly this parser: a refused case names the
    /// flag in its error.
    flags: &'static [(&'static str, &'static str)],
}

const PARSERS: &[Parser] = &[
    Parser {
        name: "list",
        parse: |s| parse::list(s).map(drop),
        flags: &[
            ("pool", "--workers"),
            ("gil", "--threads"),
            ("map", "--sleeps"),
        ],
    },
    Parser {
        name: "count",
        parse: |s| parse::count(s).map(drop),
        flags: &[
            ("count", "--n"),
            ("channel", "--messages"),
            ("map", "--memory"),
            ("gil", "--ops"),
        ],
    },
    Parser {
        name: "duration",
        parse: |s| parse::duration(s).map(drop),
        flags: &[
            ("map", "--unit"),
            ("count", "--timeout"),
            ("io", "--latency"),
            ("select", "--unit"),
        ],
    },
    Parser {
        name: "size",
        parse: |s| parse::size(s).map(drop),
        flags: &[("spawn", "--stack")],
    },
    Parser {
        name: "int",
        parse: |s| parse::int_in(1, 1000)(s).map(drop),
        flags: &[("count", "--runs"), ("io", "--runs"), ("pool", "--runs")],
    },
    Parser {
        name: "url",
        parse: check_url,
        flags: &[("io", "--url")],
    },
];

/// The cases of one corpus file, decoded from their JSON string literals.
fn corpus(parser: &str, file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(parser)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path:?}: {l}: {e}")))
        .collect()
}

/// A refusal from a parser: a reason on one short line.
fn assert_one_line(what: &str, why: &str) {
    assert!(
        !why.is_empty() && !why.chars().any(char::is_control) && why.len() < 400,
        "{what}: the reason is not one short line: {why:?}"
    );
}

/// Runs `cmd flag=case` on the real binary. `--technique none` stops even an accepted
/// value at the check that follows the command line, so nothing ever runs: every case
/// is a usage error, and a refused one names its flag.
fn replay_on_the_command_line(cmd: &str, flag: &str, case: &str, refused: bool) {
    let out = parlab()
        .args([cmd, &format!("{flag}={case}"), "--technique", "none"])
        .output()
        .unwrap();
    let expected = if refused { flag } else { "parlab: " };
    assert_usage_error(&out, &format!("{cmd} {flag}={case:?}"), expected);
}

#[test]
fn the_corpus_is_refused_or_accepted_by_each_parser_and_on_the_command_line() {
    let mut replayed = 0;
    let mut misfiled = Vec::new();
    for parser in PARSERS {
        for (file, refused) in [("refused.txt", true), ("accepted.txt", false)] {
            let cases = corpus(parser.name, file);
            assert!(!cases.is_empty(), "{}/{file} is empty", parser.name);
            for case in &cases {
                let what = format!("{} {case:?}", parser.name);
                match ((parser.parse)(case), refused) {
                    (Err(why), true) => assert_one_line(&what, &why),
                    (Ok(()), false) => {}
                    (answer, _) => {
                        misfiled.push(format!("{what} in {file}: {answer:?}"));
                        continue;
                    }
                }
                // No command line can hold a NUL byte.
                if case.contains('\0') {
                    continue;
                }
                for (cmd, flag) in parser.flags {
                    replay_on_the_command_line(cmd, flag, case, refused);
                    replayed += 1;
                }
            }
        }
    }
    assert!(
        misfiled.is_empty(),
        "misfiled cases:\n{}",
        misfiled.join("\n")
    );
    eprintln!("{replayed} command lines replayed");
}

#[test]
fn worker_lines_are_answers_or_faults_for_the_parent_and_refused_by_a_worker() {
    for (file, refused) in [("refused.txt", true), ("accepted.txt", false)] {
        for case in corpus("worker", file) {
            match (read_answer_line(&mut case.as_bytes()), refused) {
                (Err(Fault::Died), true) => assert!(case.is_empty()),
                (Err(Fault::Garbage(line)), true) => {
                    assert_one_line(&format!("worker {case:?}"), &format!("{line:?}"))
                }
                (Ok(_), false) => {}
                (answer, _) => panic!("worker {case:?}: refused = {refused}, got {answer:?}"),
            }
            // The worker side reads request lines: none of these is one. No input at
            // all is a parent that closed the pipe at once, and is answered with a bye.
            if !case.is_empty() {
                let out = parlab()
                    .arg("__worker")
                    .write_stdin(case.as_bytes())
                    .output()
                    .unwrap();
                assert_usage_error(&out, &format!("__worker <<< {case:?}"), "not a request");
            }
        }
    }
}

/// clap's own refusals (a value not in a list, an unknown flag) quote the user's text
/// too: a newline or an escape sequence in it must not break the line either.
#[test]
fn clap_refusals_quote_the_value_escaped() {
    for (args, expected) in [
        (
            &["map", "--pool=a\nb"][..],
            "invalid value 'a\\nb' for '--pool <POOL>'",
        ),
        (&["sched", "--variant=\u{1b}[2J"], "'\\u{1b}[2J'"),
        (
            &["count", "--bo\ngus"],
            "unexpected argument '--bo\\ngus' found",
        ),
        (
            &["count", "--n", "5", "x\ny"],
            "unexpected argument 'x\\ny' found",
        ),
        (&["frob\nnicate"], "unrecognized subcommand 'frob\\nnicate'"),
    ] {
        let out = parlab().args(args).output().unwrap();
        assert_usage_error(&out, &format!("{args:?}"), expected);
    }
}

/// Inputs too big, too deep or not text at all for the corpus files.
#[test]
fn huge_deep_and_binary_inputs_are_refused_on_one_line() {
    let long_list = "1,".repeat(60_000) + "x";
    let long_number = "9".repeat(100_000);
    let long_url = format!("http://example.org/{}", "a".repeat(100_000));
    let long_duration = "1d ".repeat(30_000);
    for (cmd, flag, value) in [
        ("pool", "--workers", &long_list),
        ("count", "--n", &long_number),
        ("io", "--url", &long_url),
        ("map", "--unit", &long_duration),
    ] {
        let out = parlab()
            .args([cmd, &format!("{flag}={value}"), "--technique", "none"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_usage_error(&out, &format!("{cmd} {flag}=<{} bytes>", value.len()), flag);
        assert!(
            stderr.len() < 1000,
            "{cmd} {flag}: echoed {} bytes",
            stderr.len()
        );
    }

    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = std::ffi::OsStr::from_bytes(b"--n=5\xff");
        let out = parlab()
            .args(["count".as_ref(), not_utf8])
            .output()
            .unwrap();
        assert_usage_error(&out, "count --n=5\\xff", "UTF-8");
    }

    for (what, bytes) in [
        ("invalid UTF-8", b"\xff\xfe{}\n".to_vec()),
        ("nesting past serde's limit", {
            let mut deep = "[".repeat(10_000).into_bytes();
            deep.push(b'\n');
            deep
        }),
        ("a line over the 1 MiB limit", vec![b'{'; 3 << 20]),
    ] {
        match read_answer_line(&mut bytes.as_slice()) {
            Err(Fault::Garbage(line)) => assert!(line.chars().count() < 120, "{what}: {line}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}

/// A refusal of an experiment that checks its limits after the command line was read:
/// exit code 2, the reason on the last stderr line (a warning about a busy machine may
/// come first), nothing on stdout, no panic, no process left behind.
fn assert_refused(mut cmd: assert_cmd::Command, args: &[&str], expected: &[&str]) -> String {
    let tag = unique_tag(args[0]);
    let out = cmd
        .args(args)
        .env("PARLAB_TEST_TAG", &tag)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    let last = stderr.lines().last().unwrap_or("");
    for text in expected {
        assert!(
            last.contains(text),
            "{args:?}: expected {text:?} in {last:?}"
        );
    }
    assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    assert!(tagged_processes(&tag).is_empty(), "{args:?} left processes");
    last.to_string()
}

#[test]
fn absurd_thread_counts_are_refused_naming_the_limit() {
    let why = assert_refused(
        parlab(),
        &["spawn", "--threads", "10000000"],
        &["refusing to start 10000000 threads: this machine allows about"],
    );
    let limits = [
        "threads-max",
        "max_map_count",
        "ulimit -u",
        "available memory",
        "ulimit -v",
        "cautious default",
    ];
    assert!(limits.iter().any(|l| why.contains(l)), "{why}");

    // A lowered process limit is the one named.
    assert_refused(
        parlab_with_ulimit(Ulimit::Processes, 400, None),
        &["spawn", "--threads", "2000"],
        &["allows about 300", "ulimit -u 400", "lower --threads"],
    );
}

#[test]
fn map_memory_mode_is_refused_above_half_the_free_memory() {
    assert_refused(
        parlab(),
        &["map", "--memory", "9e15"],
        &[
            "refusing to map 9000000000000000 items",
            "MemAvailable",
            "lower --memory",
        ],
    );
}

#[test]
fn io_beyond_the_open_file_limit_is_refused_and_the_soft_limit_raised_when_enough() {
    // Soft and hard limit lowered alike: a thousand sites at once cannot fit.
    assert_refused(
        parlab_with_ulimit(Ulimit::OpenFiles, 256, Some(256)),
        &["io", "--sites", "1000", "--technique", "tokio"],
        &[
            "refusing to open about 2064 files and sockets at once",
            "the open-file limit is 256 (ulimit -n) and at most 256 (ulimit -Hn)",
            "lower --sites",
        ],
    );

    // Only the soft limit lowered: parlab raises it, as a user would, and runs.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is handed.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_max < 1000 {
        eprintln!(
            "skipped the raise: the hard open-file limit is {}",
            lim.rlim_max
        );
        return;
    }
    let tag = unique_tag("io-raise");
    let mut cmd = parlab_with_ulimit(Ulimit::OpenFiles, 256, None);
    cmd.env("PARLAB_TEST_TAG", &tag);
    let (code, doc, stderr) = json_of(
        cmd,
        &[
            "io",
            "--sites",
            "300",
            "--latency",
            "5ms",
            "--technique",
            "tokio",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let tokio = &rows(&doc)[0];
    assert_eq!(tokio["status"], "ok", "{tokio}");
    assert_eq!(tokio["extra"]["fine"], 250, "{tokio}");
    assert_eq!(tokio["extra"]["failed"], 0, "{tokio}");
    assert!(tagged_processes(&tag).is_empty());
}
