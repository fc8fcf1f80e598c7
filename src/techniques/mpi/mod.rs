//! MPI ranks (rsmpi over Open MPI), launched by parlab itself.
//!
//! parlab starts `mpirun` on its own binary under the hidden `__mpi-rank` command and
//! reads rank 0's answer, one JSON line on mpirun's stdout. A run is timed from the
//! launch to that answer, so start-up counts as it does for `processes`; the ranks also
//! time their compute phase between two barriers, so the two can be set apart.
//!
//! This half is always built: without the `mpi` feature or without `mpirun`, rows are
//! skipped with how to get them, and the default build never needs MPI to compile. The
//! ranks' half (`rank`) needs the feature.
//!
//! mpirun runs in a process group of its own, registered with the reaper: on a timeout,
//! an error or Ctrl-C the whole group is killed, so no rank outlives its row.

#[cfg(feature = "mpi")]
mod rank;

use super::jobs::Job;
use super::{Batch, Done, Work};
use crate::error::TechniqueError;
use crate::measure::Deadline;
use crate::parse;
use crate::reaper;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The hidden subcommand that turns parlab into an MPI rank.
pub const RANK_COMMAND: &str = "__mpi-rank";

/// Fault injection for tests: `kill-rank=N` makes rank N kill itself with SIGKILL once
/// its compute phase has begun.
pub const FAULT_ENV: &str = "PARLAB_MPI_FAULT";

/// How to get MPI rows when the build has none.
pub const HOW_TO_GET: &str = "install libopenmpi-dev openmpi-bin libclang-dev (Debian), then cargo build --release --features mpi";

/// The flags of the experiments that run MPI job rows.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MpiArgs {
    /// mpi techniques: the rank counts that compute, e.g. 1..4 [default: 1..logical CPUs].
    /// The dynamic `mpi` technique starts one more rank, rank 0, which hands out the jobs
    #[arg(long, value_name = "LIST", value_parser = ranks)]
    pub ranks: Option<parse::List>,

    #[command(flatten)]
    pub launch: LaunchArgs,
}

fn ranks(text: &str) -> Result<parse::List, String> {
    parse::bounded_list(text, "rank counts", 1, 1024)
}

impl MpiArgs {
    /// Whether an experiment's default techniques include the MPI ones: only when a flag
    /// of theirs was given, since each of their runs pays an mpirun launch and the default
    /// build has none (naming them with --technique runs them too).
    pub fn wanted(&self) -> bool {
        self.ranks.is_some() || self.launch.hostfile.is_some() || self.launch.mpirun.is_some()
    }

    /// Leaves the MPI techniques out of a default choice (`wanted`).
    pub fn filter(&self, named: &[String], techniques: &mut Vec<super::JobTechnique>) {
        if named.is_empty() && !self.wanted() {
            techniques.retain(|t| {
                !matches!(t, super::JobTechnique::Mpi | super::JobTechnique::MpiStatic)
            });
        }
    }

    /// The rank counts asked for, or 1..=`cores`.
    pub fn rank_counts(&self, cores: usize) -> Vec<usize> {
        self.ranks
            .as_ref()
            .map_or_else(|| (1..=cores.max(1)).collect(), |l| l.0.clone())
    }
}

/// Where the ranks run and what launches them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LaunchArgs {
    /// mpi techniques: an Open MPI hostfile (one `host slots=N` a line), to run the ranks
    /// on other machines; they need parlab at the same path and ssh without a password
    #[arg(long, value_name = "PATH", value_parser = existing_file)]
    pub hostfile: Option<PathBuf>,

    /// mpi techniques: the mpirun to launch ranks with [default: mpirun on PATH]
    #[arg(long, value_name = "PATH", value_parser = existing_file)]
    pub mpirun: Option<PathBuf>,
}

fn existing_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_file() {
        Ok(path)
    } else {
        Err("no such file".into())
    }
}

impl LaunchArgs {
    /// Where the ranks go (the paths were checked as the flags were parsed).
    pub fn launch(&self) -> Launch {
        Launch {
            mpirun: self.mpirun.clone(),
            hostfile: self.hostfile.clone(),
        }
    }
}

/// Where mpirun is and where the ranks go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Launch {
    pub mpirun: Option<PathBuf>,
    pub hostfile: Option<PathBuf>,
}

impl Launch {
    /// The mpirun to run: the one named, else the first on PATH.
    fn mpirun(&self) -> Option<PathBuf> {
        if let Some(m) = &self.mpirun {
            return Some(m.clone());
        }
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("mpirun"))
            .find(|p| p.is_file())
    }

    /// Why MPI rows cannot run in this build or on this machine; `None` when they can.
    pub fn unavailable(&self) -> Option<String> {
        if !cfg!(feature = "mpi") {
            return Some(format!(
                "parlab was built without the mpi feature: {HOW_TO_GET}"
            ));
        }
        match self.mpirun() {
            Some(_) => None,
            None => Some(
                "mpirun not found on PATH: install openmpi-bin (Debian), or name one with --mpirun"
                    .into(),
            ),
        }
    }

    /// `mpirun -np N [--hostfile F | shared memory [--oversubscribe]] --bind-to none EXE
    /// __mpi-rank ARGS`.
    /// Ranks are not pinned to cores, as no other technique's workers are; more ranks
    /// than logical CPUs on this machine need Open MPI's --oversubscribe.
    fn command(&self, np: usize, exe: &Path, args: &[String]) -> Command {
        let mut cmd = Command::new(self.mpirun().unwrap_or_else(|| "mpirun".into()));
        cmd.arg("-np").arg(np.to_string());
        match &self.hostfile {
            Some(h) => {
                cmd.arg("--hostfile").arg(h);
            }
            None => {
                // One machine: shared memory only. Probing the network transports Open
                // MPI would otherwise try (UCX, OFI, InfiniBand) cost about 0.2 s of each
                // launch here, on a machine that has none of them.
                cmd.args(["--mca", "pml", "ob1", "--mca", "btl", "self,vader"]);
                if np > cores() {
                    cmd.arg("--oversubscribe");
                }
            }
        }
        cmd.args(["--bind-to", "none"])
            .arg(exe)
            .arg(RANK_COMMAND)
            .args(args);
        cmd
    }
}

fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// The ranks' arguments (after `__mpi-rank`).
#[derive(Debug, Clone, clap::Args)]
pub struct RankArgs {
    /// jobs or pingpong
    #[arg(long)]
    pub mode: String,
    /// jobs: dynamic or static
    #[arg(long, default_value = "dynamic")]
    pub split: String,
    /// jobs: the job list, as JSON
    #[arg(long, default_value = "[]")]
    pub jobs: String,
}

/// The hidden command's entry point; its exit code.
pub fn rank_main(args: &RankArgs) -> u8 {
    #[cfg(feature = "mpi")]
    {
        rank::main(args)
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = args;
        eprintln!("parlab: built without the mpi feature: {HOW_TO_GET}");
        2
    }
}

/// How jobs are shared among ranks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Rank 0 hands out one job at a time to whichever worker rank asks next, as the
    /// paper's pool hands jobs from one channel; it computes nothing itself.
    Dynamic,
    /// Rank r takes the r-th contiguous block of the list; no rank waits for another
    /// until the end.
    Static,
}

impl Split {
    pub fn id(self) -> &'static str {
        match self {
            Split::Dynamic => "dynamic",
            Split::Static => "static",
        }
    }

    /// Ranks launched for `workers` computing ranks.
    pub fn ranks(self, workers: usize) -> usize {
        match self {
            Split::Dynamic => workers + 1,
            Split::Static => workers,
        }
    }
}

/// Rank 0's answer for a job run.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobsAnswer {
    pub ranks: usize,
    /// The compute phase on rank 0, between the barrier before the first job and the one
    /// after the results were collected.
    pub compute_s: f64,
    /// One entry per job: index, value, start and end (s, from the first barrier on the
    /// rank that ran it), rank.
    pub done: Vec<(usize, u64, f64, f64, usize)>,
    /// Every rank's sum of its values, reduced to rank 0 by MPI_Reduce: a second check
    /// that each value arrived once.
    pub reduced: u64,
}

/// What a job row's runner keeps between runs: the compute phase of every run, warm-ups
/// first, and the teardown of the last launch, which runs after its answer arrived.
#[derive(Default)]
pub struct JobState {
    compute_s: Mutex<Vec<f64>>,
    teardown: Mutex<Option<JoinHandle<()>>>,
}

impl JobState {
    fn wait_teardown(&self) {
        let pending = self
            .teardown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(t) = pending {
            let _ = t.join();
        }
    }
}

impl Drop for JobState {
    fn drop(&mut self) {
        self.wait_teardown();
    }
}

/// Runs `jobs` over `workers` computing ranks, one launch of mpirun.
pub(crate) fn run_jobs<W: Work>(
    jobs: &[W],
    workers: usize,
    split: Split,
    exe: &Path,
    launch: &Launch,
    state: &JobState,
    deadline: Option<Deadline>,
) -> Result<Batch<W::Output>, TechniqueError> {
    // The launch before this one tore down after its answer; wait, so two runs never
    // overlap.
    state.wait_teardown();
    if let Some(why) = launch.unavailable() {
        return Err(TechniqueError::Setup(why));
    }
    let list: Vec<Job> = jobs
        .iter()
        .map(|w| serde_json::to_value(w).and_then(serde_json::from_value))
        .collect::<Result<_, _>>()
        .map_err(|_| TechniqueError::Setup("mpi ranks run count and fib jobs only".into()))?;
    let args = vec![
        "--mode".to_string(),
        "jobs".into(),
        "--split".into(),
        split.id().into(),
        "--jobs".into(),
        serde_json::to_string(&list).expect("jobs serialise"),
    ];
    let np = split.ranks(workers);
    let mut session = Session::spawn(launch, np, exe, &args)?;
    let line = session.read_line(deadline)?;
    let answer: JobsAnswer = serde_json::from_str(&line)
        .map_err(|e| session.fail(format!("rank 0 answered {}: {e}", parse::shown(&line))))?;
    // mpirun and the ranks finish (MPI_Finalize) after the answer, outside the run's
    // time; the next run waits for it.
    *state.teardown.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread::spawn(move || {
        session.finish(Duration::from_secs(10))
    }));
    let mut runs = state.compute_s.lock().unwrap_or_else(|p| p.into_inner());
    runs.push(answer.compute_s);
    let mut done = Vec::with_capacity(answer.done.len());
    let mut sum = 0u64;
    for &(job, value, start, end, rank) in &answer.done {
        sum = sum.wrapping_add(value);
        let output = serde_json::from_value(value.into())
            .map_err(|_| TechniqueError::Invalid(format!("rank {rank} answered {value}")))?;
        let d = |s: f64| Duration::from_secs_f64(s.max(0.0));
        done.push(Done::new(
            job,
            output,
            format!("rank-{rank}"),
            d(start),
            d(end),
        ));
    }
    if sum != answer.reduced {
        return Err(TechniqueError::Invalid(format!(
            "the ranks' values sum to {sum}, but MPI_Reduce gave {}",
            answer.reduced
        )));
    }
    let mut batch = Batch::assemble(jobs.len(), done)?;
    batch.extra = crate::params! {
        "ranks" => answer.ranks,
        "compute_runs_s" => runs.clone(),
    };
    Ok(batch)
}

/// An MPI job row's own values (`Row::extra`): its time set apart into start-up and
/// compute, so a reader can extrapolate to more ranks and more nodes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MpiData {
    /// Ranks launched (the dynamic split's rank 0 included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranks: Option<u64>,
    /// The compute phase of each counted run, between two barriers on rank 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_samples_s: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_median_s: Option<f64>,
    /// The row's median (launch to answer) less the compute median: mpirun, the ranks'
    /// start-up and MPI_Init, and handing the jobs over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_s: Option<f64>,
    /// Start-up per rank launched: the figure to scale by a rank count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_per_rank_s: Option<f64>,
}

impl crate::results::RowData for MpiData {}

impl MpiData {
    /// Turns the runner's compute times of every run (warm-ups first) into this row's
    /// compute and start-up figures.
    pub fn settle(row: &mut crate::results::Row) {
        use crate::results::RowData;
        let runs: Vec<f64> = row
            .extra
            .remove("compute_runs_s")
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let ranks = row.extra.get("ranks").and_then(|v| v.as_u64());
        let counted = runs[runs.len().saturating_sub(row.samples_s.len())..].to_vec();
        let compute = crate::measure::stats::Summary::of(&counted).map(|s| s.median);
        let startup = row.median_s.zip(compute).map(|(m, c)| (m - c).max(0.0));
        let data = MpiData {
            ranks,
            compute_samples_s: (!counted.is_empty()).then_some(counted),
            compute_median_s: compute,
            startup_s: startup,
            startup_per_rank_s: startup.zip(ranks).map(|(s, r)| s / r.max(1) as f64),
        };
        data.store(row);
        // In the note too, so every report (not only the terminal's columns) sets the
        // start-up against the compute.
        if let (Some(c), Some(s), Some(per)) = (
            data.compute_median_s,
            data.startup_s,
            data.startup_per_rank_s,
        ) {
            use crate::units::secs;
            row.note(format!(
                "compute {}, start-up {} ({} a rank)",
                secs(c),
                secs(s),
                secs(per)
            ));
        }
    }

    /// The table columns that set start-up against compute; empty on other rows.
    pub fn columns<'a>() -> [crate::report::terminal::Column<'a>; 2] {
        use crate::report::terminal::Column;
        use crate::results::RowData;
        let secs = |v: Option<f64>| v.map_or_else(String::new, crate::units::secs);
        [
            Column::new("compute", move |r| secs(MpiData::of(r).compute_median_s)),
            Column::new("start-up/rank", move |r| {
                secs(MpiData::of(r).startup_per_rank_s)
            }),
        ]
    }
}

/// The row note of an MPI job row.
pub fn note(split: Split, workers: usize, launch: &Launch) -> String {
    let where_ = launch.hostfile.as_ref().map_or_else(
        || "on this machine".to_string(),
        |h| format!("on the hosts of {}", h.display()),
    );
    match split {
        Split::Dynamic => format!(
            "{workers} worker ranks and rank 0 handing out jobs, {where_}; mpirun start-up included"
        ),
        Split::Static => format!(
            "{workers} ranks, a block of jobs each, then MPI_Reduce, {where_}; mpirun start-up included"
        ),
    }
}

/// One mpirun, leader of its own process group, with rank 0's stdout read line by line.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: crossbeam_channel::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
    hostfile: Option<PathBuf>,
    finished: bool,
}

/// The most of mpirun's stderr kept for an error message.
const STDERR_TAIL: usize = 16 * 1024;

impl Session {
    /// Starts `np` ranks. A spawn failure (no such mpirun) is a setup error.
    pub fn spawn(
        launch: &Launch,
        np: usize,
        exe: &Path,
        args: &[String],
    ) -> Result<Session, TechniqueError> {
        let mut cmd = launch.command(np, exe, args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|source| TechniqueError::Spawn {
            exe: launch
                .mpirun()
                .map_or_else(|| "mpirun".into(), |p| p.display().to_string()),
            source,
        })?;
        reaper::register_group(child.id());
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = crossbeam_channel::unbounded();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let tail = Arc::clone(&stderr);
        let stderr_reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                t.push_str(&String::from_utf8_lossy(&buf[..n]));
                if t.len() > STDERR_TAIL {
                    let cut = t.len() - STDERR_TAIL;
                    let cut = (cut..t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(0);
                    t.drain(..cut);
                }
            }
        });
        Ok(Session {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            stderr_reader: Some(stderr_reader),
            hostfile: launch.hostfile.clone(),
            finished: false,
        })
    }

    /// Rank 0's next line. When the ranks end without one, or the deadline passes, the
    /// group is killed and the error says why, from mpirun's own report.
    pub fn read_line(&mut self, deadline: Option<Deadline>) -> Result<String, TechniqueError> {
        let got = match deadline {
            Some(d) => self.lines.recv_deadline(d.at).map_err(|e| e.is_timeout()),
            None => self.lines.recv().map_err(|_| false),
        };
        match got {
            Ok(line) => Ok(line),
            Err(true) => {
                let limit = deadline.map_or(Duration::ZERO, |d| d.limit);
                self.kill();
                Err(TechniqueError::Timeout(limit))
            }
            Err(false) => Err(self.fail("rank 0 ended without an answer".into())),
        }
    }

    /// Sends one line to rank 0 (mpirun forwards its stdin there).
    pub fn send_line(&mut self, line: &str) -> Result<(), TechniqueError> {
        let sent = self
            .stdin
            .as_mut()
            .map(|s| writeln!(s, "{line}").and_then(|()| s.flush()));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.fail("rank 0 stopped reading".into())),
        }
    }

    /// Kills the group, reaps mpirun, and explains the failure from its stderr.
    pub fn fail(&mut self, what: String) -> TechniqueError {
        // mpirun reports a dead rank a moment after the rank's output closes: give it
        // that moment before killing it.
        let _ = self.wait_until(Instant::now() + Duration::from_secs(3));
        self.kill();
        // mpirun's last words may still be in the pipe: let the reader take them.
        if let Some(reader) = self.stderr_reader.take() {
            let until = Instant::now() + Duration::from_secs(1);
            while !reader.is_finished() && Instant::now() < until {
                thread::sleep(Duration::from_millis(5));
            }
        }
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        TechniqueError::Mpi(explain(&what, &stderr, self.hostfile.as_deref()))
    }

    /// Closes stdin and waits up to `grace` for mpirun to exit, then kills the group.
    pub fn finish(mut self, grace: Duration) {
        self.stdin = None;
        let _ = self.wait_until(Instant::now() + grace);
        self.kill();
    }

    fn wait_until(&mut self, until: Instant) -> Option<std::process::ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < until => thread::sleep(Duration::from_millis(5)),
                _ => return None,
            }
        }
    }

    /// Kills what is left of the group (ranks, orted) and reaps mpirun.
    fn kill(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.stdin = None;
        reaper::kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Turns mpirun's stderr into one line: a rank killed (and which), a refusal to run as
/// root, a host of the hostfile out of reach; otherwise mpirun's last words.
pub fn explain(what: &str, stderr: &str, hostfile: Option<&Path>) -> String {
    let text = stderr.replace('\n', " ");
    let words: Vec<&str> = text.split_whitespace().collect();
    if stderr.contains("as root") {
        return "mpirun refuses to run as root; to allow it, set OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the environment".into();
    }
    // "mpirun noticed that process rank 1 with PID 123 on node h exited on signal 9 (Killed)."
    if let Some(i) = words
        .windows(2)
        .position(|w| w == ["process", "rank"])
        .filter(|_| text.contains("exited on signal") || text.contains("exited"))
    {
        let rank = words.get(i + 2).copied().unwrap_or("?");
        let signal = text
            .split("exited on signal ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .map(|s| format!("was killed by signal {})", s.trim()));
        let how = signal.unwrap_or_else(|| "exited early".into());
        return format!("MPI rank {rank} {how}; mpirun ended the others");
    }
    let unreachable = [
        "unable to reliably start one or more daemons",
        "Could not resolve hostname",
        "plm_rsh_agent",
        "could not be found",
        "ORTE does not know how to route",
        "Connection refused",
        "No route to host",
    ];
    if let Some(h) = hostfile
        && unreachable.iter().any(|u| text.contains(u))
    {
        // ssh's own line names the host; Open MPI's advice after it does not.
        let said = stderr
            .lines()
            .find(|l| l.starts_with("ssh:") || l.contains("resolve") || l.contains("refused"))
            .map_or_else(|| last_words(stderr), |l| parse::one_line(l.trim()));
        return format!(
            "mpirun could not start ranks on a host of the hostfile {} (unreachable, or no ssh to it): {said}",
            h.display()
        );
    }
    let last = last_words(stderr);
    if last.is_empty() {
        what.to_string()
    } else {
        format!("{what}; mpirun said: {last}")
    }
}

/// The last few meaningful lines of mpirun's stderr, joined, without its ruler lines.
fn last_words(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("---") && !l.starts_with("***"))
        .collect();
    let start = lines.len().saturating_sub(4);
    parse::one_line(&lines[start..].join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpirun_reports_become_one_line_that_says_why() {
        let killed = "--------\nPrimary job  terminated normally, but 1 process returned\n--------\nmpirun noticed that process rank 1 with PID 4242 on node box exited on signal 9 (Killed).\n--------\n";
        assert_eq!(
            explain("rank 0 ended without an answer", killed, None),
            "MPI rank 1 was killed by signal 9 (Killed); mpirun ended the others"
        );
        let root = "mpirun has detected an attempt to run as root.\nRunning as root is *strongly* discouraged";
        let why = explain("x", root, None);
        assert!(why.contains("OMPI_ALLOW_RUN_AS_ROOT=1"), "{why}");
        let ssh = "ssh: Could not resolve hostname nowhere.invalid: Name or service not known\nORTE was unable to reliably start one or more daemons.";
        let why = explain("x", ssh, Some(Path::new("hosts")));
        assert!(
            why.contains("hostfile hosts") && why.contains("nowhere.invalid"),
            "{why}"
        );
        assert_eq!(explain("rank 0 ended", "", None), "rank 0 ended");
    }

    #[test]
    fn mpirun_is_told_the_ranks_and_where() {
        let launch = Launch {
            mpirun: Some("/opt/mpirun".into()),
            hostfile: None,
        };
        let args = |c: &Command| -> Vec<String> {
            c.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let many = cores() + 1;
        let cmd = launch.command(many, Path::new("/bin/parlab"), &["--mode".into()]);
        assert_eq!(cmd.get_program(), "/opt/mpirun");
        assert!(args(&cmd).contains(&"--oversubscribe".to_string()));
        assert!(args(&cmd).ends_with(&[
            "/bin/parlab".into(),
            RANK_COMMAND.into(),
            "--mode".into()
        ]));
        let one = launch.command(1, Path::new("p"), &[]);
        assert!(!args(&one).contains(&"--oversubscribe".to_string()));
        let hosts = Launch {
            hostfile: Some("h".into()),
            ..launch
        };
        let cmd = hosts.command(many, Path::new("p"), &[]);
        assert!(args(&cmd).windows(2).any(|w| w == ["--hostfile", "h"]));
        assert!(!args(&cmd).contains(&"--oversubscribe".to_string()));
    }

    #[test]
    fn start_up_is_the_median_less_the_counted_runs_compute() {
        use crate::results::{Row, RowData};
        let mut row = Row::new("rust", "mpi", crate::results::Params::new())
            .with_samples(vec![1.0, 1.0, 1.0]);
        // The warm-up's compute comes first and is not counted.
        row.extra = crate::params! {"ranks" => 2, "compute_runs_s" => vec![9.0, 0.4, 0.4, 0.4]};
        MpiData::settle(&mut row);
        let d = MpiData::of(&row);
        assert_eq!(d.compute_samples_s, Some(vec![0.4, 0.4, 0.4]));
        assert_eq!(d.compute_median_s, Some(0.4));
        assert!((d.startup_s.unwrap() - 0.6).abs() < 1e-12);
        assert!((d.startup_per_rank_s.unwrap() - 0.3).abs() < 1e-12);
        assert!(!row.extra.contains_key("compute_runs_s"));
        assert!(
            row.notes().iter().any(|n| n.contains("a rank)")),
            "{:?}",
            row.notes()
        );
    }

    #[test]
    fn dynamic_runs_start_a_coordinating_rank() {
        assert_eq!(Split::Dynamic.ranks(2), 3);
        assert_eq!(Split::Static.ranks(2), 2);
    }
}
