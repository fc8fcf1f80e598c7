//! Two endpoints that bounce one message back and forth: the transports of the
//! `pingpong` experiment.
//!
//! Every transport is timed the same way: by the endpoint that starts each round trip,
//! around the round trips only, once the other endpoint is ready (a thread started, a
//! child process connected, an MPI rank waiting). Both endpoints check every message
//! (`message::Message`). Channels between threads and tasks hand the buffer over, so
//! no bytes are copied; pipes, sockets and MPI copy them, which their rows say.

use super::PingpongTechnique;
use super::message::Message;
use super::mpi::{Launch, Session};
use crate::error::TechniqueError;
use crate::measure::Deadline;
use crate::reaper;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand of the echoing child process (pipe and tcp).
pub const ECHO_COMMAND: &str = "__echo";

/// The echoing child's arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct EchoArgs {
    /// Bytes a message holds
    #[arg(long)]
    pub size: usize,
    /// Round trips before the child exits
    #[arg(long)]
    pub rounds: u64,
    /// Connect to this address and echo over TCP instead of stdin and stdout
    #[arg(long)]
    pub connect: Option<String>,
}

/// One run's time for its round trips, as the starting endpoint measured it.
pub type Bounced = Result<Duration, TechniqueError>;

fn broken(what: impl std::fmt::Display) -> TechniqueError {
    TechniqueError::Invalid(what.to_string())
}

/// Runs `rounds` round trips of `size` bytes between two threads or two tasks.
pub fn in_process(t: PingpongTechnique, size: usize, rounds: u64) -> Bounced {
    let msg = Message::new(size);
    match t {
        PingpongTechnique::Crossbeam => {
            let (there, here) = (crossbeam_channel::bounded(1), crossbeam_channel::bounded(1));
            threads(&msg, rounds, (there.0, here.1), (here.0, there.1))
        }
        PingpongTechnique::Kanal => {
            let (there, here) = (kanal::bounded(1), kanal::bounded(1));
            threads(&msg, rounds, (there.0, here.1), (here.0, there.1))
        }
        PingpongTechnique::TokioMpsc => tokio_tasks(&msg, rounds),
        other => unreachable!("{} is not an in-process transport", other.id()),
    }
}

/// A channel end either crate gives, as the thread ping-pong needs it.
trait Ends: Send {
    fn put(&self, buf: Vec<u8>) -> Result<(), TechniqueError>;
    fn take(&self) -> Result<Vec<u8>, TechniqueError>;
}

/// Both crates' ends have the same `send` and `recv`; only their types differ.
macro_rules! ends {
    ($($sender:ty, $receiver:ty;)*) => {$(
        impl Ends for ($sender, $receiver) {
            fn put(&self, buf: Vec<u8>) -> Result<(), TechniqueError> {
                self.0.send(buf).map_err(|_| broken("the other thread hung up"))
            }
            fn take(&self) -> Result<Vec<u8>, TechniqueError> {
                self.1.recv().map_err(|_| broken("the other thread hung up"))
            }
        }
    )*};
}

ends! {
    crossbeam_channel::Sender<Vec<u8>>, crossbeam_channel::Receiver<Vec<u8>>;
    kanal::Sender<Vec<u8>>, kanal::Receiver<Vec<u8>>;
}

fn threads(msg: &Message, rounds: u64, mine: impl Ends, theirs: impl Ends) -> Bounced {
    std::thread::scope(|s| {
        let echo = s.spawn(move || -> Result<(), TechniqueError> {
            theirs.put(Vec::new())?;
            for round in 0..rounds {
                let buf = theirs.take()?;
                msg.check(&buf, round).map_err(broken)?;
                theirs.put(buf)?;
            }
            Ok(())
        });
        // The echo thread says it is ready with an empty buffer.
        let _ = mine.take()?;
        let mut buf = msg.stamped(0);
        let t = Instant::now();
        for round in 0..rounds {
            buf[..8].copy_from_slice(&round.to_le_bytes());
            mine.put(buf)?;
            buf = mine.take()?;
            msg.check(&buf, round).map_err(broken)?;
        }
        let took = t.elapsed();
        echo.join()
            .map_err(|_| broken("the echo thread panicked"))??;
        Ok(took)
    })
}

fn tokio_tasks(msg: &Message, rounds: u64) -> Bounced {
    let rt = super::tokio_tasks::runtime(false)?;
    let msg = msg.clone();
    rt.block_on(async move {
        let (to_echo, mut at_echo) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
        let (to_me, mut at_me) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
        let check = msg.clone();
        let echo = tokio::spawn(async move {
            let gone = || broken("the other task hung up");
            to_me.send(Vec::new()).await.map_err(|_| gone())?;
            for round in 0..rounds {
                let buf = at_echo.recv().await.ok_or_else(gone)?;
                check.check(&buf, round).map_err(broken)?;
                to_me.send(buf).await.map_err(|_| gone())?;
            }
            Ok::<(), TechniqueError>(())
        });
        let origin = tokio::spawn(async move {
            let gone = || broken("the echo task hung up");
            at_me.recv().await.ok_or_else(gone)?;
            let mut buf = msg.stamped(0);
            let t = Instant::now();
            for round in 0..rounds {
                buf[..8].copy_from_slice(&round.to_le_bytes());
                to_echo.send(buf).await.map_err(|_| gone())?;
                buf = at_me.recv().await.ok_or_else(gone)?;
                msg.check(&buf, round).map_err(broken)?;
            }
            Ok::<Duration, TechniqueError>(t.elapsed())
        });
        let took = origin.await.map_err(|_| broken("the task panicked"))??;
        echo.await.map_err(|_| broken("the echo task panicked"))??;
        Ok(took)
    })
}

/// Writes one framed message: its length (u64, little endian), then its bytes.
fn send_frame(out: &mut impl Write, frame: &mut Vec<u8>, body: &[u8]) -> std::io::Result<()> {
    frame.clear();
    frame.extend_from_slice(&(body.len() as u64).to_le_bytes());
    frame.extend_from_slice(body);
    out.write_all(frame)?;
    out.flush()
}

/// Reads one framed message into `body`; a length other than `size` is an error.
fn read_frame(input: &mut impl Read, body: &mut [u8]) -> Result<(), String> {
    let mut len = [0u8; 8];
    input.read_exact(&mut len).map_err(|e| e.to_string())?;
    let len = u64::from_le_bytes(len);
    if len != body.len() as u64 {
        return Err(format!(
            "a message of {} bytes was announced as {len} bytes",
            body.len()
        ));
    }
    input.read_exact(body).map_err(|e| e.to_string())
}

/// Round trips with a child process over a pipe pair (`tcp` false) or a loopback TCP
/// connection (`tcp` true).
pub fn with_child(
    exe: &Path,
    tcp: bool,
    size: usize,
    rounds: u64,
    deadline: Option<Deadline>,
) -> Bounced {
    let msg = Message::new(size);
    let listener = if tcp {
        Some(TcpListener::bind("127.0.0.1:0").map_err(|e| TechniqueError::Setup(e.to_string()))?)
    } else {
        None
    };
    let mut cmd = Command::new(exe);
    cmd.arg(ECHO_COMMAND)
        .args(["--size", &size.to_string(), "--rounds", &rounds.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(l) = &listener {
        let addr = l
            .local_addr()
            .map_err(|e| TechniqueError::Setup(e.to_string()))?;
        cmd.args(["--connect", &addr.to_string()]);
    }
    let mut child = cmd.spawn().map_err(|source| TechniqueError::Spawn {
        exe: exe.display().to_string(),
        source,
    })?;
    let pid = child.id();
    reaper::register(pid);
    // Kills the child at the deadline, so a stuck read ends; only while it is unreaped.
    let (done, finished) = crossbeam_channel::bounded::<()>(0);
    let watchdog = deadline.map(|d| {
        std::thread::spawn(move || {
            if let Err(crossbeam_channel::RecvTimeoutError::Timeout) = finished.recv_deadline(d.at)
            {
                // SAFETY: the child is reaped only after this thread is joined.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                }
                return true;
            }
            false
        })
    });
    let bounced = (|| -> Bounced {
        let (mut input, mut output): (Box<dyn Read>, Box<dyn Write>) = match &listener {
            Some(l) => {
                let (stream, _) = l.accept().map_err(|e| broken(format!("accept: {e}")))?;
                stream
                    .set_nodelay(true)
                    .map_err(|e| broken(e.to_string()))?;
                let reader = stream.try_clone().map_err(|e| broken(e.to_string()))?;
                (Box::new(reader), Box::new(stream))
            }
            None => (
                Box::new(child.stdout.take().expect("stdout is piped")),
                Box::new(child.stdin.take().expect("stdin is piped")),
            ),
        };
        let mut ready = [0u8; 1];
        input
            .read_exact(&mut ready)
            .map_err(|e| broken(format!("the echo process never got ready: {e}")))?;
        let (mut frame, mut back) = (Vec::with_capacity(size + 8), vec![0u8; size]);
        let mut buf = msg.stamped(0);
        let t = Instant::now();
        for round in 0..rounds {
            buf[..8].copy_from_slice(&round.to_le_bytes());
            send_frame(&mut output, &mut frame, &buf).map_err(|e| broken(format!("send: {e}")))?;
            read_frame(&mut input, &mut back)
                .map_err(|e| broken(format!("the echo process: {e}")))?;
            msg.check(&back, round).map_err(broken)?;
        }
        Ok(t.elapsed())
    })();
    drop(done);
    let overran = watchdog.map(|w| w.join().unwrap_or(false)).unwrap_or(false);
    if bounced.is_err() {
        let _ = child.kill();
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    reaper::unregister(pid);
    let status = child.wait();
    if overran {
        return Err(TechniqueError::Timeout(
            deadline.map_or(Duration::ZERO, |d| d.limit),
        ));
    }
    match (bounced, status) {
        (Ok(took), Ok(s)) if s.success() => Ok(took),
        (Ok(_), s) => Err(broken(format!(
            "the echo process ended badly ({s:?}): {}",
            stderr.trim()
        ))),
        (Err(e), _) if !stderr.trim().is_empty() => Err(broken(format!("{e} ({})", stderr.trim()))),
        (Err(e), _) => Err(e),
    }
}

/// The echoing child: says it is ready, then returns each message after checking it.
pub fn echo_main(args: &EchoArgs) -> u8 {
    match echo(args) {
        Ok(()) => 0,
        Err(why) => {
            eprintln!("parlab echo: {why}");
            1
        }
    }
}

fn echo(args: &EchoArgs) -> Result<(), String> {
    let msg = Message::new(args.size);
    let (mut input, mut output): (Box<dyn Read>, Box<dyn Write>) = match &args.connect {
        Some(addr) => {
            let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let reader = stream.try_clone().map_err(|e| e.to_string())?;
            (Box::new(reader), Box::new(stream))
        }
        None => (
            Box::new(std::io::stdin().lock()),
            Box::new(std::io::stdout().lock()),
        ),
    };
    output
        .write_all(b"R")
        .and_then(|()| output.flush())
        .map_err(|e| e.to_string())?;
    let (mut frame, mut body) = (
        Vec::with_capacity(args.size + 8),
        vec![0u8; msg.bytes().len()],
    );
    for round in 0..args.rounds {
        read_frame(&mut input, &mut body)?;
        msg.check(&body, round)?;
        send_frame(&mut output, &mut frame, &body).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Ping-pong between two MPI ranks: one launch for many runs, since a launch takes a
/// good part of a second; each run is a command to rank 0, which times the round trips
/// itself and answers with the time.
pub struct MpiPair {
    session: Session,
}

impl MpiPair {
    pub fn start(launch: &Launch, exe: &Path) -> Result<MpiPair, TechniqueError> {
        if let Some(why) = launch.unavailable() {
            return Err(TechniqueError::Setup(why));
        }
        let args = ["--mode".to_string(), "pingpong".into()];
        Ok(MpiPair {
            session: Session::spawn(launch, 2, exe, &args)?,
        })
    }

    pub fn bounce(&mut self, size: usize, rounds: u64, deadline: Option<Deadline>) -> Bounced {
        self.session.send_line(&format!("{size} {rounds}"))?;
        let line = self.session.read_line(deadline)?;
        match line
            .strip_prefix("ok ")
            .and_then(|n| n.trim().parse::<u64>().ok())
        {
            Some(nanos) => Ok(Duration::from_nanos(nanos)),
            None => Err(self
                .session
                .fail(format!("rank 0 answered {}", crate::parse::shown(&line)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_and_tasks_bounce_every_size() {
        for t in [
            PingpongTechnique::Crossbeam,
            PingpongTechnique::Kanal,
            PingpongTechnique::TokioMpsc,
        ] {
            for size in [8, 9, 4096] {
                let took = in_process(t, size, 50).unwrap_or_else(|e| panic!("{}: {e}", t.id()));
                assert!(took > Duration::ZERO);
            }
        }
    }

    #[test]
    fn frames_with_the_wrong_length_are_refused() {
        let mut out = Vec::new();
        send_frame(&mut out, &mut Vec::new(), &[1, 2, 3]).unwrap();
        let mut body = [0u8; 3];
        read_frame(&mut out.as_slice(), &mut body).unwrap();
        assert_eq!(body, [1, 2, 3]);
        let mut longer = [0u8; 4];
        let why = read_frame(&mut out.as_slice(), &mut longer).unwrap_err();
        assert!(why.contains("announced as 3 bytes"), "{why}");
    }
}
