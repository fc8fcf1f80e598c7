//! The io experiment end to end: the embedded server's statuses, the shape of the
//! timings, and every way a requested URL can fail, each as its own clear row (a text
//! that is not an http(s) URL is a usage error instead).

use crate::common::{
    BIN, assert_printed, assert_schedules_agree, assert_usage_errors, rows, run_json,
};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

fn row<'a>(doc: &'a Value, technique: &str, how: &str) -> &'a Value {
    rows(doc)
        .iter()
        .find(|r| r["technique"] == technique && r["params"]["how"] == how)
        .unwrap_or_else(|| panic!("no {technique} ({how}) row"))
}

#[test]
fn every_technique_sees_the_statuses_and_sequential_pays_every_latency() {
    let (code, doc, human) = run_json(
        &["io", "--latency", "50ms", "--runs", "1", "--warmup", "0"],
        &[],
    );
    assert_eq!(code, 0, "{human}");
    // sequential, threads per site, bounded threads (2 CPUs < 6 sites), rayon, processes, tokio
    assert!(rows(&doc).len() >= 5);
    for r in rows(&doc) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["validated"], true);
        assert_eq!(
            (r["extra"]["fine"].as_u64(), r["extra"]["down"].as_u64()),
            (Some(5), Some(1)),
            "{r}"
        );
    }
    let sum = doc["experiments"][0]["findings"]["sum_latency_s"]
        .as_f64()
        .unwrap();
    let median = |r: &Value| r["median_s"].as_f64().unwrap();
    assert!(median(row(&doc, "sequential", "one after another")) >= sum);
    // All requests open at once: far below the sum (it is about the slowest site).
    assert!(median(row(&doc, "threads", "one thread per site")) < 0.6 * sum);
    assert!(median(row(&doc, "tokio", "one task per site")) < 0.6 * sum);
    assert_printed(
        &human,
        &[
            "FINE: google.com",
            "DOWN<503>: amazon.org",
            "Function 'sequential_monitoring' executed in ",
            "Function 'parallel_monitoring' executed in ",
        ],
    );
    // A request span per site on the timeline of each row.
    let events = doc["experiments"][0]["events"].as_array().unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e["row"] == 0 && e["kind"] == "end")
            .count(),
        6
    );
}

#[test]
fn rows_too_slow_to_run_are_skipped_with_a_reason() {
    let (code, doc, _) = run_json(
        &[
            "io",
            "--sites",
            "40",
            "--latency",
            "100ms",
            "--skip-over",
            "1s",
            "--technique",
            "sequential,tokio",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
        &[],
    );
    assert_eq!(code, 0);
    let seq = row(&doc, "sequential", "one after another");
    assert_eq!(seq["status"], "skipped");
    assert!(
        seq["message"]
            .as_str()
            .unwrap()
            .contains("would take about 4s"),
        "{seq}"
    );
    assert_eq!(row(&doc, "tokio", "one task per site")["extra"]["fine"], 34);
}

#[test]
fn rows_run_interleaved_by_default_and_match_grouped_rows() {
    // 12 sites of 50 ms: one after another (600 ms a run) is over --skip-over, the
    // wider rows are not, so both kinds of row take part.
    let (doc, human) = assert_schedules_agree(&[
        "io",
        "--sites",
        "12",
        "--latency",
        "50ms",
        "--skip-over",
        "400ms",
        "--runs",
        "2",
        "--warmup",
        "1",
    ]);
    assert_eq!(
        row(&doc, "sequential", "one after another")["status"],
        "skipped"
    );
    let tokio = row(&doc, "tokio", "one task per site");
    assert_eq!(tokio["status"], "ok", "{tokio}");
    assert_eq!(tokio["samples_s"].as_array().unwrap().len(), 2);
    assert_eq!(tokio["extra"]["fine"], 10, "{tokio}");
    // The paper's lines still come row by row, in the rows' order.
    let at = |text: &str| {
        human
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in\n{human}"))
    };
    assert!(at("-----> sequential") < at("skipped: would take about"));
    assert!(at("skipped: would take about") < at("-----> threads (one thread per site"));
    assert!(at("-----> threads (one thread per site") < at("-----> tokio"));
}

/// A server that accepts connections and never answers.
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}/slow")
}

/// A server that answers every connection with bytes that are not TLS.
fn not_tls_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS\r\n");
        }
    });
    format!("https://{addr}/")
}

/// A server that resets every connection: SO_LINGER 0, then close, sends an RST.
fn resetting_server() -> String {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: setsockopt on a socket this thread owns, with a valid linger.
            unsafe {
                libc::setsockopt(
                    stream.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(stream);
        }
    });
    format!("http://{addr}/reset")
}

fn refused() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/")
}

#[test]
fn each_failing_url_is_its_own_clear_row_with_both_clients() {
    let cases = [
        (refused(), "connection refused"),
        (silent_server(), "timed out after 1s"),
        (not_tls_server(), "TLS error"),
        (resetting_server(), "connection reset by the server"),
    ];
    for technique in ["sequential", "tokio"] {
        let mut args = vec![
            "io",
            "--technique",
            technique,
            "--request-timeout",
            "1s",
            "--runs",
            "1",
            "--warmup",
            "0",
        ];
        for (url, _) in &cases {
            args.extend(["--url", url.as_str()]);
        }
        let (code, doc, human) = run_json(&args, &[]);
        assert_eq!(code, 1, "{human}");
        assert_eq!(
            rows(&doc)[0]["status"],
            "ok",
            "the technique itself ran: {}",
            rows(&doc)[0]
        );
        let checks: Vec<&Value> = rows(&doc)
            .iter()
            .filter(|r| r["technique"] == "check")
            .collect();
        assert_eq!(checks.len(), cases.len());
        for ((url, expected), check) in cases.iter().zip(&checks) {
            assert_eq!(check["params"]["url"], url.as_str());
            assert_eq!(check["status"], "error", "{technique} {url}: {check}");
            let message = check["message"].as_str().unwrap();
            assert!(
                message.contains(expected),
                "{technique} {url}: {message:?} lacks {expected:?}"
            );
            assert!(!message.contains('\n'));
        }
    }
}

/// `parlab serve` running in the background, stopped when dropped (so a failed
/// assertion does not leave it behind).
struct Serving {
    child: std::process::Child,
    addr: String,
}

impl Serving {
    /// Starts `parlab serve` with `args` and reads its address from the first line.
    fn start(args: &[&str]) -> Serving {
        let mut child = std::process::Command::new(BIN)
            .arg("serve")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .split("http://")
            .nth(1)
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        Serving { child, addr }
    }

    /// GET `path` on a connection of its own; the whole reply.
    fn get(&self, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        // Far beyond any answer on a busy machine; a server that never answers fails
        // the test here instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        stream
            .read_to_string(&mut reply)
            .unwrap_or_else(|e| panic!("no answer to GET {path}: {e}"));
        reply
    }

    /// Interrupts the server as Ctrl-C would; its exit code.
    fn interrupt(mut self) -> Option<i32> {
        // SAFETY: a signal to the child this test started.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        self.child.wait().unwrap().code()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_runs_standalone_on_loopback() {
    let server = Serving::start(&["--latency", "10ms"]);
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);
    let reply = server.get("/site/amazon.org");
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert_eq!(server.interrupt(), Some(130));
}

#[test]
fn serve_closes_idle_clients_so_they_cannot_starve_a_real_request() {
    let server = Serving::start(&[
        "--max-connections",
        "3",
        "--idle-timeout",
        "500ms",
        "--latency",
        "1ms",
    ]);
    // More silent clients than slots, one of them with half a request head: they hold
    // every slot and the backlog behind them.
    let mut idle: Vec<_> = (0..6)
        .map(|_| std::net::TcpStream::connect(&server.addr).unwrap())
        .collect();
    write!(idle[0], "GET /site/goo").unwrap();
    let reply = server.get("/site/google.com");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    drop(idle);
    assert_eq!(server.interrupt(), Some(130));
}

#[test]
fn io_bad_input() {
    assert_usage_errors(&[
        (
            &["io", "--sites", "0"][..],
            "out of range: choose 1 to 100000",
        ),
        (&["io", "--latency", "soon"], "not a duration"),
        (
            &["io", "--technique", "gil-model"],
            "unknown technique 'gil-model' for io",
        ),
        (
            &["serve", "--addr", "localhost"],
            "invalid value 'localhost'",
        ),
        (
            &["serve", "--idle-timeout", "0s"],
            "must be longer than zero",
        ),
        // Not a URL at all is the user's to fix, before any technique runs; a URL that
        // fails when requested is a row (above).
        (
            &["io", "--url", "ftp://127.0.0.1/file"],
            "unsupported scheme 'ftp'",
        ),
        (&["io", "--url", "not a url"], "invalid URL 'not a url'"),
    ]);
}
