//! `pingpong`: message passing between two endpoints, the counterpart of the paper's
//! channels (Figure 9) once the endpoints are processes, or machines.
//!
//! Not in the paper. One message goes back and forth between two endpoints; each row
//! gives the time of a round trip and the bandwidth it implies, per message size, for
//! two MPI ranks, two threads (crossbeam, kanal), two tokio tasks, and two processes
//! over a pipe and over TCP on loopback. The small sizes show each transport's fixed
//! cost (a wake-up, a system call, a poll); the large ones what copying costs, which the
//! channels between threads never pay: they hand the buffer over.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale};
use crate::error::{ParlabError, TechniqueError};
use crate::measure::{Arm, CheckOnce, Measurement, RunOnce, measure_interleaved};
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Row, RowData, Status};
use crate::techniques::message::MIN_SIZE;
use crate::techniques::mpi::LaunchArgs;
use crate::techniques::pingpong::{self, MpiPair};
use crate::techniques::{PingpongTechnique, Technique};
use crate::units;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

pub const INFO: Info = Info {
    id: "pingpong",
    paper_ref: "beyond the paper (Figure 9's channels, between processes)",
    gist: "One message bounced between two endpoints: the round trip and bandwidth of MPI, channels, tasks, pipes and TCP, from 8 B to 1 MiB.",
    techniques: &[
        Technique::Mpi,
        Technique::Crossbeam,
        Technique::Kanal,
        Technique::TokioMpsc,
        Technique::Pipe,
        Technique::Tcp,
    ],
    runs: 6,
    warmup: 1,
    charts: |_| {
        vec![ChartKind::LogLog {
            x_param: "size_bytes",
            x_desc: "message size (bytes)",
            y_desc: "round trip (µs)",
            y: |r| r.median_s.map(|m| m * 1e6),
        }]
    },
    python: &["pipe", "mpi4py"],
    go: &["chan", "tcp"],
    reproduce_args,
    claims: &[],
};

/// Message passing (not in the paper): round trips of one message between two endpoints.
///
/// mpi: two MPI ranks (send and receive; one mpirun launch for all the rows' runs,
/// built with --features mpi); crossbeam, kanal: two OS threads on a pair of bounded
/// channels; tokio-mpsc: two tasks on a multi-thread runtime; pipe: parlab and a child
/// parlab over its stdin and stdout; tcp: the same over a loopback connection. The
/// endpoint that starts each round trip times them once the other is ready; both check
/// every message (length, round and CRC-32). Techniques: mpi, crossbeam, kanal,
/// tokio-mpsc, pipe, tcp. Defaults: 6 counted runs after 1 warm-up run, interleaved.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Message sizes, comma-separated, 8 B or more (8, 4KiB, 1MiB)
    #[arg(long, value_name = "SIZE,..", default_value = "8,64,512,4KiB,32KiB,256KiB,1MiB", value_parser = sizes)]
    pub sizes: Sizes,

    /// Round trips a run; messages over 256 KiB do fewer, in proportion, but at least 20
    #[arg(long, value_name = "N", default_value = "1000", value_parser = parse::int_in(1, 10_000_000))]
    pub round_trips: u64,

    #[command(flatten)]
    pub launch: LaunchArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Message sizes in bytes.
#[derive(Debug, Clone)]
pub struct Sizes(pub Vec<usize>);

fn sizes(text: &str) -> Result<Sizes, String> {
    let mut out = Vec::new();
    for item in text.split(',') {
        let bytes = parse::size(item)?;
        if bytes < MIN_SIZE as u64 || bytes > 1 << 30 {
            return Err(format!(
                "message sizes must each be between 8 B and 1 GiB, got {}",
                parse::shown(item.trim())
            ));
        }
        out.push(bytes as usize);
    }
    Ok(Sizes(out))
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    match scale {
        Scale::Quick => ["--sizes", "8,4KiB,1MiB", "--round-trips", "500"]
            .map(String::from)
            .to_vec(),
        Scale::Paper => Vec::new(),
    }
}

/// A ping-pong row's own values (peers/PROTOCOL.md).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PingpongData {
    /// The median round trip in microseconds (the row's median, in the unit of the table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_us: Option<f64>,
    /// Bytes moved per second, both ways: 2 × size / median round trip, in GB/s (10⁹).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gb_per_s: Option<f64>,
    /// Whether the transport copies the bytes (pipes, sockets, MPI) or hands the buffer
    /// over (channels between threads and tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copies: Option<bool>,
}

impl RowData for PingpongData {}

/// Round trips a run for a message of `size` bytes.
pub fn rounds(round_trips: u64, size: usize) -> u64 {
    const LARGE: u64 = 256 << 10;
    if size as u64 <= LARGE {
        round_trips
    } else {
        (round_trips * LARGE / size as u64).max(20).min(round_trips)
    }
}

fn note(t: PingpongTechnique, ctx_launch: &crate::techniques::mpi::Launch) -> String {
    match t {
        PingpongTechnique::Mpi => match &ctx_launch.hostfile {
            Some(h) => format!(
                "MPI send/receive between ranks on the hosts of {}",
                h.display()
            ),
            None => "MPI send/receive; Open MPI's shared memory (vader), bytes copied".into(),
        },
        PingpongTechnique::Crossbeam | PingpongTechnique::Kanal => {
            "two threads; the buffer is handed over, no bytes copied".into()
        }
        PingpongTechnique::TokioMpsc => {
            "two tasks, multi-thread runtime; the buffer is handed over".into()
        }
        PingpongTechnique::Pipe => "two processes, a pipe each way; bytes copied".into(),
        PingpongTechnique::Tcp => "two processes, loopback TCP, TCP_NODELAY; bytes copied".into(),
    }
}

/// Finishes a row from its round trips' times: per round trip samples, the table's
/// figures and the transport's note.
pub fn finish(mut row: Row, size: usize, copies: bool) -> Row {
    if let Some(m) = row.median_s.filter(|m| *m > 0.0) {
        PingpongData {
            round_trip_us: Some(m * 1e6),
            gb_per_s: Some(2.0 * size as f64 / m / 1e9),
            copies: Some(copies),
        }
        .store(&mut row);
    }
    row
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let techniques = args.common.chosen::<PingpongTechnique>(&INFO)?;
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let launch = args.launch.launch();
    let sizes = &args.sizes.0;
    let mut result = INFO.result(params! {
        "sizes" => sizes,
        "round_trips" => args.round_trips,
        "schedule" => args.common.schedule,
    });
    ctx.expect_rows(
        techniques.len() * sizes.len(),
        &args.common,
        INFO.id,
        |_| sizes.len(),
    );
    // One MPI launch serves every size; its start-up is outside every timed span.
    let mut pair: Option<Result<MpiPair, TechniqueError>> = None;
    let unavailable = launch.unavailable();
    if techniques.contains(&PingpongTechnique::Mpi) && unavailable.is_none() {
        ctx.line("-----> starting two MPI ranks");
        pair = Some(MpiPair::start(&launch, &ctx.worker_exe));
    }
    let exe = ctx.worker_exe.clone();
    for &size in sizes {
        let rounds = rounds(args.round_trips, size);
        ctx.line(format!(
            "-----> {} messages, {rounds} round trips a run",
            size_text(size as u64)
        ));
        let blank = |t: PingpongTechnique| {
            Row::new(
                "rust",
                t.id(),
                params! {"size_bytes" => size, "round_trips" => rounds},
            )
        };
        // Each run's time as its endpoint measured it, per round trip: the check sees
        // every run's output, warm-ups first.
        let logs: Vec<Mutex<Vec<f64>>> =
            techniques.iter().map(|_| Mutex::new(Vec::new())).collect();
        let mut skipped: Vec<Option<String>> = Vec::new();
        let mut arms: Vec<Arm<'_, Duration>> = Vec::new();
        let pair_failed = match &pair {
            Some(Err(e)) => Some(format!("error: {e}")),
            _ => None,
        };
        let mut mpi = match pair.as_mut() {
            Some(Ok(p)) => Some(p),
            _ => None,
        };
        for (i, &t) in techniques.iter().enumerate() {
            let why = match t {
                PingpongTechnique::Mpi => unavailable.clone().or_else(|| pair_failed.clone()),
                _ => None,
            };
            skipped.push(why.clone());
            if why.is_some() {
                continue;
            }
            let run: RunOnce<'_, Duration> = match t {
                PingpongTechnique::Mpi => {
                    let p = mpi.take().expect("one MPI pair, started above");
                    Box::new(move |d| p.bounce(size, rounds, d))
                }
                PingpongTechnique::Pipe | PingpongTechnique::Tcp => {
                    let (exe, tcp) = (exe.clone(), t == PingpongTechnique::Tcp);
                    Box::new(move |d| pingpong::with_child(&exe, tcp, size, rounds, d))
                }
                _ => Box::new(move |_| pingpong::in_process(t, size, rounds)),
            };
            let log = &logs[i];
            let check: CheckOnce<'_, Duration> = Box::new(move |took: &Duration| {
                log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(took.as_secs_f64() / rounds as f64);
                Ok(())
            });
            arms.push(Arm { run, check });
        }
        let mut measured = measure_interleaved(&plan, arms).into_iter();
        for (i, &t) in techniques.iter().enumerate() {
            let row = match &skipped[i] {
                Some(why) if why.starts_with("error: ") => {
                    blank(t).failed(why.trim_start_matches("error: "))
                }
                Some(why) => blank(t).skipped(why.clone()),
                None => {
                    let m: Result<Measurement<Duration>, TechniqueError> =
                        measured.next().expect("one measurement per arm");
                    match m {
                        Ok(m) => {
                            let log = logs[i].lock().unwrap_or_else(|p| p.into_inner());
                            let counted =
                                log[log.len().saturating_sub(m.samples_s.len())..].to_vec();
                            let mut row = blank(t).with_samples(counted);
                            row.validated = true;
                            row
                        }
                        Err(e) => blank(t).failed(e.to_string()),
                    }
                }
            };
            let copies = matches!(
                t,
                PingpongTechnique::Mpi | PingpongTechnique::Pipe | PingpongTechnique::Tcp
            );
            let mut row = finish(row, size, copies);
            if row.status == Status::Ok {
                row.note(note(t, &launch));
            }
            let data = row.data::<PingpongData>();
            match (row.status, data.round_trip_us) {
                (Status::Ok, Some(us)) => ctx.line(format!(
                    "{}: {us:.2} µs a round trip, {:.3} GB/s",
                    t.id(),
                    data.gb_per_s.unwrap_or(0.0)
                )),
                _ => ctx.line(format!(
                    "{}: {}: {}",
                    t.id(),
                    super::outcome(&row),
                    row.message.as_deref().unwrap_or("?")
                )),
            }
            ctx.push(&mut result, row, Vec::new());
        }
    }
    drop(pair);

    let call = PeerCall::default()
        .list("--sizes", sizes)
        .flag("--round-trips", args.round_trips);
    ctx.run_peers(&mut result, &args.common, &plan, call, check_peer, |_| {
        false
    });
    result.findings = params! {"fastest_8b" => fastest_at(&result.rows, MIN_SIZE)};
    print_table(ctx, &result.rows);
    Ok(result)
}

/// A peer row must say what it measured: its round trip, in step with its median.
fn check_peer(row: &Row) -> Result<(), String> {
    let data = PingpongData::parse(row)?;
    let size = row.param_u64("size_bytes").ok_or("no params.size_bytes")?;
    let (Some(us), Some(median)) = (data.round_trip_us, row.median_s) else {
        return Err("no extra.round_trip_us".into());
    };
    if (us - median * 1e6).abs() > 1e-6 * us.max(1.0) {
        return Err(format!("round_trip_us {us} is not the median {median} s"));
    }
    if size < MIN_SIZE as u64 {
        return Err(format!("a size of {size} bytes"));
    }
    Ok(())
}

/// The fastest technique of each language at one size.
fn fastest_at(rows: &[Row], size: usize) -> crate::results::Params {
    let mut out = crate::results::Params::new();
    for lang in ["rust", "python", "go"] {
        let best = rows
            .iter()
            .filter(|r| r.language == lang && r.status == Status::Ok)
            .filter(|r| r.param_u64("size_bytes") == Some(size as u64))
            .filter_map(|r| Some((r, r.median_s?)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((row, m)) = best {
            out.insert(
                lang.into(),
                params! {"technique" => row.technique, "round_trip_us" => m * 1e6}.into(),
            );
        }
    }
    out
}

/// A message size as the flag takes it: 8 B, 4 KiB, 1 MiB.
fn size_text(b: u64) -> String {
    match b {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b if b >= 1 << 10 => units::bytes(b),
        b => format!("{b} B"),
    }
}

fn print_table(ctx: &mut Ctx, rows: &[Row]) {
    let params = [
        Column::new("size", |r: &Row| {
            r.param_u64("size_bytes")
                .map_or_else(String::new, size_text)
        }),
        Column::new("round trips", |r: &Row| {
            r.param_u64("round_trips")
                .map_or_else(String::new, |n| n.to_string())
        }),
    ];
    let extra = [Column::new("GB/s", |r: &Row| {
        r.data::<PingpongData>()
            .gb_per_s
            .map_or_else(String::new, |g| format!("{g:.3}"))
    })];
    ctx.print("");
    ctx.print("pingpong: median is one round trip; GB/s = 2 × size / round trip");
    ctx.print(terminal::table(rows, &params, &extra).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_messages_make_fewer_round_trips() {
        assert_eq!(rounds(1000, 8), 1000);
        assert_eq!(rounds(1000, 256 << 10), 1000);
        assert_eq!(rounds(1000, 1 << 20), 250);
        assert_eq!(rounds(1000, 1 << 30), 20);
        assert_eq!(rounds(5, 1 << 30), 5);
    }

    #[test]
    fn sizes_take_units_and_refuse_tiny_messages() {
        assert_eq!(sizes("8,4KiB,1MiB").unwrap().0, [8, 4096, 1 << 20]);
        assert!(sizes("4").unwrap_err().contains("between 8 B and 1 GiB"));
        assert!(sizes("8,x").is_err());
    }

    #[test]
    fn a_row_gets_its_round_trip_and_bandwidth() {
        let row = Row::new("rust", "pipe", params! {"size_bytes" => 1000})
            .with_samples(vec![2e-6, 2e-6, 2e-6]);
        let row = finish(row, 1000, true);
        let d = row.data::<PingpongData>();
        assert_eq!(d.round_trip_us, Some(2.0));
        assert!((d.gb_per_s.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(check_peer(&row), Ok(()));
        let mut off = row.clone();
        PingpongData {
            round_trip_us: Some(5.0),
            ..d
        }
        .store(&mut off);
        assert!(check_peer(&off).is_err());
    }
}
