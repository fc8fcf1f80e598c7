//! Worker processes, both sides: parlab re-executes its own binary with a hidden
//! subcommand (as Python's multiprocessing starts interpreters) and talks to it in JSON
//! lines over stdin and stdout. The processes technique and the process pool share this.
//!
//! Protocol: the parent writes one `Request` per line (a task name, its settings and a
//! chunk of inputs) and reads one `Answer::Result` per request; when the parent closes
//! stdin the worker says `Answer::Bye` with its peak memory and exits 0.

use crate::advise::task::SyntheticTask;
use crate::error::panic_message;
use crate::measure::memory;
use crate::parse;
use crate::pool::task::{Flaky, Sleep, Square, Task};
use crate::reaper;
use crate::techniques::http::FetchTask;
use crate::techniques::jobs::RunJob;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The hidden subcommand that turns parlab into a worker.
pub const WORKER_COMMAND: &str = "__worker";

/// Fault injection for tests: makes every worker misbehave in the named way at its
/// first request.
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
/// parent buffer without bound. Room for the largest result `advise` lets a task carry.
pub const MAX_LINE: u64 = 64 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub task: String,
    pub config: Value,
    pub inputs: Vec<Value>,
}

/// One item's result as it crosses back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(Value),
    Err(String),
    Panic(String),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Result { id: u64, outputs: Vec<Outcome> },
    Bye { peak_rss_bytes: Option<u64> },
}

/// Builds the worker's task registry: every task type a worker process can run.
macro_rules! registry {
    ($($task:ty),* $(,)?) => {
        /// Runs the named task on each input; `Err` when the task or its settings are unknown.
        pub fn dispatch(name: &str, config: &Value, inputs: Vec<Value>) -> Result<Vec<Outcome>, String> {
            match name {
                $(<$task>::NAME => run_typed::<$task>(config, inputs),)*
                other => Err(format!("unknown task {}", $crate::parse::shown(other))),
            }
        }

        /// The names of the registered tasks.
        pub const TASK_NAMES: &[&str] = &[$(<$task>::NAME,)*];
    };
}

registry!(RunJob, FetchTask, Sleep, Square, Flaky, SyntheticTask);

fn run_typed<T: Task>(config: &Value, inputs: Vec<Value>) -> Result<Vec<Outcome>, String> {
    let task: T = serde_json::from_value(config.clone())
        .map_err(|e| format!("bad settings for task '{}': {e}", T::NAME))?;
    Ok(inputs
        .into_iter()
        .map(|input| {
            let input: T::Input = match serde_json::from_value(input) {
                Ok(i) => i,
                Err(e) => return Outcome::Err(format!("bad input for task '{}': {e}", T::NAME)),
            };
            match catch_unwind(AssertUnwindSafe(|| task.call(input))) {
                Ok(Ok(out)) => serde_json::to_value(out)
                    .map_or_else(|e| Outcome::Err(e.to_string()), Outcome::Ok),
                Ok(Err(e)) => Outcome::Err(e),
                Err(payload) => Outcome::Panic(panic_message(&*payload)),
            }
        })
        .collect())
}

/// How a worker let its parent down.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// It closed its output (exited, crashed or was killed) before answering.
    Died,
    /// It wrote something other than the expected answer line.
    Garbage(String),
}

/// Stops a worker from another thread. It holds the pid only while the worker is
/// unreaped, so it can never signal a process that merely reused the pid.
#[derive(Clone, Debug, Default)]
pub struct KillHandle(Arc<Mutex<Option<u32>>>);

impl KillHandle {
    pub fn kill(&self) {
        #[cfg(unix)]
        if let Some(pid) = *self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            // SAFETY: a plain signal to a child that has not been reaped yet.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }

    pub fn pid(&self) -> Option<u32> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The parent's handle on one worker process. Dropping it kills and reaps the worker.
pub struct WorkerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<String>>,
    handle: KillHandle,
    reaped: Option<ExitStatus>,
    next_id: u64,
}

impl WorkerProcess {
    /// Starts `exe` as a worker. On Linux the worker also dies if parlab dies without
    /// reaping it (PR_SET_PDEATHSIG; it follows the spawning thread, so spawn from a
    /// thread that outlives the worker).
    pub fn spawn(exe: &Path) -> std::io::Result<WorkerProcess> {
        let mut cmd = Command::new(exe);
        cmd.arg(WORKER_COMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe and touches nothing of the parent.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn()?;
        reaper::register(child.id());
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        let tail = stderr_tail.clone();
        // Ends by itself when the worker's stderr closes, that is when the worker dies.
        thread::spawn(move || keep_tail(stderr, &tail));
        let handle = KillHandle(Arc::new(Mutex::new(Some(child.id()))));
        Ok(WorkerProcess {
            child,
            stdin,
            stdout,
            stderr_tail,
            handle,
            reaped: None,
            next_id: 0,
        })
    }

    pub fn kill_handle(&self) -> KillHandle {
        self.handle.clone()
    }

    /// Sends one request and waits for its answer.
    pub fn call(
        &mut self,
        task: &str,
        config: &Value,
        inputs: Vec<Value>,
    ) -> Result<Vec<Outcome>, Fault> {
        self.next_id += 1;
        let id = self.next_id;
        let request = Request {
            id,
            task: task.to_string(),
            config: config.clone(),
            inputs,
        };
        let line = serde_json::to_string(&request).expect("requests serialise");
        let stdin = self.stdin.as_mut().ok_or(Fault::Died)?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|_| Fault::Died)?;
        match self.read_answer()? {
            Answer::Result { id: got, outputs } if got == id => Ok(outputs),
            _ => Err(Fault::Garbage("an answer to another request".into())),
        }
    }

    /// Closes the worker's input, reads its goodbye and reaps it; returns its peak memory.
    pub fn shutdown(mut self) -> Result<Option<u64>, String> {
        drop(self.stdin.take());
        let peak = match self.read_answer() {
            Ok(Answer::Bye { peak_rss_bytes }) => peak_rss_bytes,
            Ok(_) => return Err("answered a request nobody made".into()),
            Err(Fault::Died) => {
                return Err(format!(
                    "closed its output without saying goodbye ({})",
                    self.exit_text()
                ));
            }
            Err(Fault::Garbage(line)) => {
                return Err(format!("said goodbye with something else: {line:?}"));
            }
        };
        match self.wait() {
            Some(s) if s.success() => Ok(peak),
            Some(s) => Err(format!("ended with {s} after its work")),
            None => Err("could not be waited for".into()),
        }
    }

    /// Whether the worker has already ended (killed while idle, say). It is checked
    /// without reaping, then reaped the safe way.
    pub fn has_exited(&mut self) -> bool {
        if self.reaped.is_some() {
            return true;
        }
        #[cfg(unix)]
        let exited = {
            // SAFETY: waitid with WNOWAIT only looks at our own child's state.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let r = libc::waitid(
                    libc::P_PID,
                    self.child.id() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                );
                r == 0 && info.si_pid() != 0
            }
        };
        #[cfg(not(unix))]
        let exited = false;
        if exited {
            self.wait();
        }
        exited
    }

    /// Why the worker failed, in words: its exit status and the last thing it said.
    pub fn explain(&mut self, fault: &Fault) -> String {
        match fault {
            Fault::Died => format!("died before answering ({})", self.exit_text()),
            Fault::Garbage(line) => {
                format!("answered with something that is not a valid result line: {line:?}")
            }
        }
    }

    fn exit_text(&mut self) -> String {
        let until = Instant::now() + Duration::from_secs(1);
        let mut status = self.reaped;
        while status.is_none() && Instant::now() < until {
            status = self.child.try_wait().ok().flatten();
            if status.is_none() {
                thread::sleep(Duration::from_millis(5));
            }
        }
        let mut text = status.map_or_else(|| "it closed its pipes".to_string(), |s| s.to_string());
        // The stderr reader may still be catching the last line.
        thread::sleep(Duration::from_millis(20));
        let tail = self
            .stderr_tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if !tail.is_empty() {
            text.push_str(&format!("; its last words: {tail}"));
        }
        text
    }

    fn read_answer(&mut self) -> Result<Answer, Fault> {
        read_answer_line(&mut self.stdout)
    }

    /// Reaps the worker (once); the pid is forgotten first so no signal can go astray.
    fn wait(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            self.handle.forget();
            reaper::unregister(self.child.id());
            self.reaped = self.child.wait().ok();
        }
        self.reaped
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            let _ = self.child.kill();
            self.wait();
        }
    }
}

/// Reads one answer line as the parent does. The bytes come from another process, which
/// may be broken in any way (killed mid-line, writing garbage or no newline at all), so
/// every way the line can be wrong is a `Fault`, never a panic and never an unbounded
/// buffer.
pub fn read_answer_line(reader: &mut impl BufRead) -> Result<Answer, Fault> {
    let mut line = String::new();
    match reader.take(MAX_LINE).read_line(&mut line) {
        Ok(0) => Err(Fault::Died),
        Ok(_) if !line.ends_with('\n') => {
            Err(Fault::Garbage(format!("{} (cut off)", shorten(&line))))
        }
        Ok(_) => serde_json::from_str(line.trim_end()).map_err(|_| Fault::Garbage(shorten(&line))),
        Err(e) => Err(Fault::Garbage(format!("<unreadable output: {e}>"))),
    }
}

fn shorten(line: &str) -> String {
    let line = line.trim_end();
    if line.len() <= 80 {
        return line.to_string();
    }
    let cut = (0..=80)
        .rev()
        .find(|i| line.is_char_boundary(*i))
        .unwrap_or(0);
    format!("{}…", &line[..cut])
}

/// Keeps the last meaningful line a worker wrote on stderr, to explain how it died.
fn keep_tail(stderr: impl Read, tail: &Mutex<String>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        // Backtrace frames are indented and hints start with "note:"; the panic
        // message or the error is the line worth keeping.
        let noise = line.starts_with(char::is_whitespace)
            || line.starts_with("note:")
            || line.starts_with("stack backtrace");
        if !line.trim().is_empty() && !noise {
            *tail.lock().unwrap_or_else(|p| p.into_inner()) = line.chars().take(200).collect();
        }
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
                // One escaped, short line: the parent keeps it as the worker's last words,
                // and serde's message may quote the input too.
                let why = parse::clip(&parse::one_line(&e.to_string()), 120);
                eprintln!(
                    "parlab worker: not a request ({why}): {}",
                    parse::shown(&line)
                );
                return 2;
            }
        };
        if let Some(code) = fault
            .as_deref()
            .and_then(|f| inject(f, request.id, &mut out))
        {
            return code;
        }
        let mut outputs = match dispatch(&request.task, &request.config, request.inputs) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("parlab worker: {e} (known: {})", TASK_NAMES.join(", "));
                return 2;
            }
        };
        if fault.as_deref() == Some("wrong") {
            for o in &mut outputs {
                if let Outcome::Ok(Value::Number(n)) = o {
                    *o = Outcome::Ok(Value::from(n.as_u64().unwrap_or(0) + 1));
                }
            }
        }
        let answer = serde_json::to_string(&Answer::Result {
            id: request.id,
            outputs,
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

/// Misbehaves as `fault` says; `Some(code)` means exit with it now.
fn inject(fault: &str, id: u64, out: &mut impl Write) -> Option<u8> {
    match fault {
        "exit" => {
            eprintln!("parlab worker: injected fault: exit 3");
            Some(3)
        }
        "silent" => Some(0),
        "garbage" => {
            let _ = writeln!(out, "this is not a result line").and_then(|()| out.flush());
            None
        }
        "truncated" => {
            let _ = write!(out, "{{\"result\":{{\"id\":{id}").and_then(|()| out.flush());
            Some(0)
        }
        "kill" => {
            #[cfg(unix)]
            // SAFETY: the worker kills itself, as an outside SIGKILL would.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            Some(137)
        }
        "hang" => loop {
            thread::sleep(Duration::from_secs(3600));
        },
        "panic" => panic!("injected fault: panic"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn dispatch_runs_registered_tasks_and_isolates_bad_items() {
        let flaky = serde_json::to_value(Flaky {
            fail_on: vec![2],
            panic_on: vec![3],
        })
        .unwrap();
        let out = dispatch(
            "flaky",
            &flaky,
            vec![1.into(), 2.into(), 3.into(), "x".into()],
        )
        .unwrap();
        assert_eq!(out[0], Outcome::Ok(1.into()));
        assert_eq!(out[1], Outcome::Err("flaky task refuses 2".into()));
        assert!(matches!(&out[2], Outcome::Panic(m) if m.contains("panics on 3")));
        assert!(matches!(&out[3], Outcome::Err(m) if m.contains("bad input")));
        assert!(
            dispatch("nope", &Value::Null, vec![])
                .unwrap_err()
                .contains("unknown task")
        );
        assert!(
            dispatch("sleep", &Value::Null, vec![])
                .unwrap_err()
                .contains("bad settings")
        );
    }

    #[test]
    fn the_wire_format_is_stable() {
        let a = Answer::Result {
            id: 3,
            outputs: vec![Outcome::Ok(9.into()), Outcome::Err("no".into())],
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"result":{"id":3,"outputs":[{"ok":9},{"err":"no"}]}}"#
        );
    }

    proptest::proptest! {
        /// Whatever bytes a worker writes, the parent reads an answer or a fault, and a
        /// fault repeats at most a short piece of the line.
        #[test]
        fn any_worker_output_is_an_answer_or_a_fault(
            bytes in proptest::prop_oneof![
                proptest::collection::vec(proptest::num::u8::ANY, 0..200),
                // Answers cut short or with one byte changed: near misses of valid lines.
                (0usize..80, proptest::num::u8::ANY, proptest::bool::ANY).prop_map(|(at, b, cut)| {
                    let mut line = br#"{"result":{"id":18446744073709551615,"outputs":[{"ok":[1.5e300,"x"]},{"err":"no"},{"panic":"p"}]}}"#.to_vec();
                    line.push(b'\n');
                    let at = at.min(line.len() - 1);
                    if cut { line.truncate(at) } else { line[at] = b }
                    line
                }),
            ]
        ) {
            match read_answer_line(&mut bytes.as_slice()) {
                Ok(answer) => proptest::prop_assert!(bytes.contains(&b'\n'), "{answer:?}"),
                Err(Fault::Died) => proptest::prop_assert!(bytes.is_empty()),
                Err(Fault::Garbage(line)) => {
                    proptest::prop_assert!(line.chars().count() <= 120, "{line:?}")
                }
            }
        }
    }

    #[test]
    fn a_line_with_no_end_is_cut_off_at_the_limit() {
        let endless = "x".repeat(2 * MAX_LINE as usize);
        match read_answer_line(&mut endless.as_bytes()) {
            Err(Fault::Garbage(line)) => assert!(line.ends_with("… (cut off)"), "{line}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_garbage_is_shortened() {
        let s = shorten(&"é".repeat(100));
        assert!(s.ends_with('…') && s.len() <= 84);
    }
}
