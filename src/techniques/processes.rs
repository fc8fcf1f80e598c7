//! Worker processes: parlab re-executes its own binary with a hidden subcommand, as
//! Python's `multiprocessing.Pool` starts interpreters. Each job travels to a worker as
//! one JSON line on its stdin and comes back as one JSON line on its stdout, so the
//! cost of starting processes and of crossing a process boundary is measured, not hidden.
//!
//! Python's Pool hangs forever when a worker dies mid-task (cpython issue 96062). Here a
//! worker that dies, exits without answering, or answers with anything but a valid line
//! is an error for its row, the other workers are killed and every one is reaped.

use super::{Batch, Deadline, Done, jobs::Job};
use crate::error::TechniqueError;
use crate::measure::memory;
use crate::reaper;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The hidden subcommand that turns parlab into a worker.
pub const WORKER_COMMAND: &str = "__worker";

/// Fault injection for tests: makes every worker misbehave in the named way.
pub const FAULT_ENV: &str = "PARLAB_FAULT";
pub const FAULTS: [&str; 8] = [
    "exit",
    "silent",
    "garbage",
    "truncated",
    "kill",
    "hang",
    "panic",
    "wrong",
];

/// Longest line read from a worker: a worker that never ends its line cannot make the
/// parent buffer without bound.
const MAX_LINE: u64 = 1 << 20;

#[derive(Serialize, Deserialize)]
struct Request {
    id: usize,
    job: Job,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Result { id: usize, output: u64 },
    Bye { peak_rss_bytes: Option<u64> },
}

enum Msg {
    Done(Done),
    Bye(Option<u64>),
    Failed(TechniqueError),
}

pub(crate) fn run(
    jobs: &[Job],
    workers: usize,
    exe: &Path,
    deadline: Option<Deadline>,
) -> Result<Batch, TechniqueError> {
    let t0 = Instant::now();
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<usize>();
    for i in 0..jobs.len() {
        job_tx.send(i).expect("the receiver is alive");
    }
    drop(job_tx);
    let mut set = WorkerSet::default();
    let (msg_tx, msg_rx) = crossbeam_channel::unbounded::<Msg>();

    let (mut done, mut peaks, mut failure) = (Vec::with_capacity(jobs.len()), Vec::new(), None);
    thread::scope(|s| {
        for w in 0..workers {
            let (stdin, stdout, stderr) = match set.spawn(exe) {
                Ok(pipes) => pipes,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let tail = set.workers[w].stderr_tail.clone();
            s.spawn(move || keep_tail(stderr, &tail));
            let (job_rx, msg_tx) = (job_rx.clone(), msg_tx.clone());
            s.spawn(move || drive(w, stdin, stdout, jobs, job_rx, msg_tx, t0));
        }
        drop(msg_tx);
        while failure.is_none() {
            let msg = match deadline {
                Some(d) => msg_rx.recv_deadline(d.at),
                None => msg_rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match msg {
                Ok(Msg::Done(d)) => done.push(d),
                Ok(Msg::Bye(peak)) => peaks.push(peak),
                Ok(Msg::Failed(e)) => failure = Some(set.explain(e)),
                Err(RecvTimeoutError::Timeout) => {
                    failure = deadline.map(|d| TechniqueError::Timeout(d.limit));
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if failure.is_some() {
            // Unblocks every pipe the I/O threads wait on, so the scope can end.
            set.kill_all();
        }
    });
    let statuses = set.reap();
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some((w, status)) = statuses.iter().enumerate().find(|(_, s)| !s.success()) {
        return Err(TechniqueError::WorkerFailed {
            worker: w + 1,
            what: format!("ended with {status} after its work"),
        });
    }
    let mut batch = Batch::assemble(jobs.len(), done)?;
    batch.children_peak_rss = peaks.into_iter().sum::<Option<u64>>();
    batch
        .extra
        .insert("worker_processes".into(), workers.into());
    Ok(batch)
}

/// Feeds worker `w` one job at a time and reports each answer; ends by closing the
/// worker's stdin and reading its goodbye.
fn drive(
    w: usize,
    mut stdin: ChildStdin,
    stdout: ChildStdout,
    jobs: &[Job],
    job_rx: Receiver<usize>,
    tx: Sender<Msg>,
    t0: Instant,
) {
    let mut reader = BufReader::new(stdout);
    let lane = format!("process-{}", w + 1);
    let died = || TechniqueError::WorkerDied {
        worker: w + 1,
        status: String::new(),
    };
    for i in job_rx {
        let start = t0.elapsed();
        let request = serde_json::to_string(&Request {
            id: i,
            job: jobs[i],
        })
        .expect("a job always serialises");
        if writeln!(stdin, "{request}")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            let _ = tx.send(Msg::Failed(died()));
            return;
        }
        let msg = match read_answer(&mut reader) {
            Ok(Some(Answer::Result { id, output })) if id == i => {
                Msg::Done(Done::new(i, output, lane.clone(), start, t0.elapsed()))
            }
            Ok(None) => Msg::Failed(died()),
            Ok(Some(_)) => Msg::Failed(garbage(w, "an answer to another request")),
            Err(line) => Msg::Failed(garbage(w, &line)),
        };
        let failed = matches!(msg, Msg::Failed(_));
        let _ = tx.send(msg);
        if failed {
            return;
        }
    }
    drop(stdin);
    let msg = match read_answer(&mut reader) {
        Ok(Some(Answer::Bye { peak_rss_bytes })) => Msg::Bye(peak_rss_bytes),
        Ok(None) => Msg::Failed(TechniqueError::WorkerFailed {
            worker: w + 1,
            what: "closed its output without saying goodbye".into(),
        }),
        Ok(Some(_)) => Msg::Failed(garbage(w, "a result nobody asked for")),
        Err(line) => Msg::Failed(garbage(w, &line)),
    };
    let _ = tx.send(msg);
}

fn garbage(w: usize, line: &str) -> TechniqueError {
    let mut line = line.trim_end().to_string();
    if line.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|i| line.is_char_boundary(*i))
            .unwrap_or(0);
        line.truncate(cut);
        line.push('…');
    }
    TechniqueError::Garbage {
        worker: w + 1,
        line,
    }
}

/// `Ok(None)` at end of output; `Err(text)` for anything that is not one whole answer line.
fn read_answer(reader: &mut impl BufRead) -> Result<Option<Answer>, String> {
    let mut line = String::new();
    match reader.take(MAX_LINE).read_line(&mut line) {
        Ok(0) => Ok(None),
        Ok(_) if !line.ends_with('\n') => Err(format!("{line} (cut off)")),
        Ok(_) => serde_json::from_str(line.trim_end())
            .map(Some)
            .map_err(|_| line),
        Err(e) => Err(format!("<unreadable output: {e}>")),
    }
}

/// Keeps the last line a worker wrote on stderr, to explain how it died.
fn keep_tail(stderr: ChildStderr, tail: &Mutex<String>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        // Backtrace frames are indented and hints start with "note:"; the panic
        // message or the error is the line worth keeping.
        let noise = line.starts_with(char::is_whitespace)
            || line.starts_with("note:")
            || line.starts_with("stack backtrace");
        if !line.trim().is_empty() && !noise {
            let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
            *t = line.chars().take(200).collect();
        }
    }
}

struct Worker {
    child: Child,
    stderr_tail: Arc<Mutex<String>>,
    reaped: Option<std::process::ExitStatus>,
}

/// The worker processes of one run. Dropping it kills and reaps whatever is left, so
/// no path out of `run`, a panic included, leaves a process behind.
#[derive(Default)]
struct WorkerSet {
    workers: Vec<Worker>,
}

impl WorkerSet {
    fn spawn(
        &mut self,
        exe: &Path,
    ) -> Result<(ChildStdin, ChildStdout, ChildStderr), TechniqueError> {
        let mut cmd = Command::new(exe);
        cmd.arg(WORKER_COMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; it asks the kernel to kill the worker
            // if parlab dies without reaping it.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().map_err(|source| TechniqueError::Spawn {
            exe: exe.display().to_string(),
            source,
        })?;
        reaper::register(child.id());
        let pipes = (
            child.stdin.take().expect("stdin is piped"),
            child.stdout.take().expect("stdout is piped"),
            child.stderr.take().expect("stderr is piped"),
        );
        self.workers.push(Worker {
            child,
            stderr_tail: Arc::default(),
            reaped: None,
        });
        Ok(pipes)
    }

    /// Adds how the worker ended to a "died" error.
    fn explain(&mut self, e: TechniqueError) -> TechniqueError {
        let TechniqueError::WorkerDied { worker, .. } = e else {
            return e;
        };
        let Some(wk) = self.workers.get_mut(worker - 1) else {
            return e;
        };
        let until = Instant::now() + Duration::from_secs(1);
        let mut status = None;
        while status.is_none() && Instant::now() < until {
            status = wk.child.try_wait().ok().flatten();
            if status.is_none() {
                thread::sleep(Duration::from_millis(5));
            }
        }
        let tail = wk
            .stderr_tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut text = status.map_or_else(|| "it closed its pipes".to_string(), |s| s.to_string());
        if !tail.is_empty() {
            text.push_str(&format!("; its last words: {tail}"));
        }
        TechniqueError::WorkerDied {
            worker,
            status: text,
        }
    }

    fn kill_all(&mut self) {
        for w in &mut self.workers {
            if w.reaped.is_none() {
                let _ = w.child.kill();
            }
        }
    }

    /// Waits for every worker; returns their exit statuses in worker order.
    fn reap(&mut self) -> Vec<std::process::ExitStatus> {
        self.workers
            .iter_mut()
            .filter_map(|w| {
                if w.reaped.is_none() {
                    // Forget the pid before it can be reused: an interrupt arriving during
                    // the wait must not signal a stranger.
                    reaper::unregister(w.child.id());
                    w.reaped = w.child.wait().ok();
                }
                w.reaped
            })
            .collect()
    }
}

impl Drop for WorkerSet {
    fn drop(&mut self) {
        self.kill_all();
        self.reap();
    }
}

/// The worker side: answers requests from stdin until it closes, then says goodbye
/// with its peak memory. Returns the process exit code.
pub fn worker_main() -> u8 {
    let fault = std::env::var(FAULT_ENV).ok();
    if let Some(f) = fault.as_deref()
        && !FAULTS.contains(&f)
    {
        eprintln!(
            "parlab worker: unknown {FAULT_ENV} value '{f}' (known: {})",
            FAULTS.join(", ")
        );
        return 2;
    }
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else {
            eprintln!("parlab worker: unreadable input");
            return 2;
        };
        let request: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("parlab worker: not a request ({e}): {line}");
                return 2;
            }
        };
        let mut output = None;
        match fault.as_deref() {
            Some("exit") => {
                eprintln!("parlab worker: injected fault: exit 3");
                return 3;
            }
            Some("silent") => return 0,
            Some("garbage") => {
                let _ = writeln!(out, "this is not a result line").and_then(|()| out.flush());
                continue;
            }
            Some("truncated") => {
                let _ =
                    write!(out, "{{\"result\":{{\"id\":{}", request.id).and_then(|()| out.flush());
                return 0;
            }
            Some("kill") => {
                #[cfg(unix)]
                // SAFETY: the worker kills itself, as an outside SIGKILL would.
                unsafe {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
                return 137;
            }
            Some("hang") => loop {
                thread::sleep(Duration::from_secs(3600));
            },
            Some("panic") => panic!("injected fault: panic"),
            Some("wrong") => output = Some(request.job.run() + 1),
            _ => {}
        }
        let output = output.unwrap_or_else(|| request.job.run());
        let answer = serde_json::to_string(&Answer::Result {
            id: request.id,
            output,
        })
        .expect("answers serialise");
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return 1;
        }
    }
    let bye = serde_json::to_string(&Answer::Bye {
        peak_rss_bytes: memory::peak_rss_bytes(),
    })
    .expect("answers serialise");
    if writeln!(out, "{bye}").and_then(|()| out.flush()).is_err() {
        return 1;
    }
    0
}
