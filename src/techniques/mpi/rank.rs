//! The ranks' side: what `parlab __mpi-rank` runs under mpirun.
//!
//! Waiting ranks poll with a short sleep rather than block in MPI_Recv: Open MPI's
//! blocking receive spins, and a coordinating rank that spins takes a core from the
//! ranks that compute (rank 0 of the dynamic split computes nothing).

use super::{JobsAnswer, RankArgs};
use crate::techniques::jobs::Job;
use crate::techniques::message::Message;
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

/// A worker's request for a job, carrying the result of the one before.
const ASK: i32 = 1;
/// Rank 0's reply: a job index, or `STOP`.
const GIVE: i32 = 2;
/// A block's results, sent to rank 0 at the end of a static run.
const BLOCK: i32 = 3;
/// Ping-pong: a command from rank 0, the ready reply, then the messages.
const COMMAND: i32 = 4;
const READY: i32 = 5;
const PING: i32 = 6;

const STOP: u64 = u64::MAX;
/// How long an idle rank sleeps between two looks for a message.
const POLL: Duration = Duration::from_micros(20);

pub fn main(args: &RankArgs) -> u8 {
    let Some(universe) = mpi::initialize() else {
        eprintln!("parlab: MPI was initialised already");
        return 1;
    };
    let world = universe.world();
    let result = match args.mode.as_str() {
        "jobs" => jobs(&world, args),
        "pingpong" => pingpong(&world),
        other => Err(format!("unknown mode {}", crate::parse::shown(other))),
    };
    match result {
        Ok(()) => 0,
        Err(why) => {
            eprintln!("parlab: rank {}: {why}", world.rank());
            world.abort(1)
        }
    }
}

/// Waits for a message with `tag` from `source` (or anyone) without spinning.
fn wait_for(
    world: &SimpleCommunicator,
    source: Option<i32>,
    tag: i32,
) -> mpi::point_to_point::Status {
    loop {
        let probed = match source {
            Some(r) => world.process_at_rank(r).immediate_probe_with_tag(tag),
            None => world.any_process().immediate_probe_with_tag(tag),
        };
        if let Some(status) = probed {
            return status;
        }
        std::thread::sleep(POLL);
    }
}

/// Kills this rank when the test asked for it (`FAULT_ENV`).
fn maybe_die(rank: i32) {
    if std::env::var(super::FAULT_ENV).ok().as_deref() == Some(&format!("kill-rank={rank}")) {
        // SAFETY: a signal to this very process.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

type Record = [u64; 5];

fn run_job(job: &Job, index: usize, t0: Instant, rank: i32) -> Record {
    let start = t0.elapsed();
    let value = job.run();
    let end = t0.elapsed();
    [
        index as u64,
        value,
        start.as_nanos() as u64,
        end.as_nanos() as u64,
        rank as u64,
    ]
}

fn jobs(world: &SimpleCommunicator, args: &RankArgs) -> Result<(), String> {
    let list: Vec<Job> =
        serde_json::from_str(&args.jobs).map_err(|e| format!("bad --jobs: {e}"))?;
    let (rank, size) = (world.rank(), world.size());
    world.barrier();
    let t0 = Instant::now();
    maybe_die(rank);
    let mut mine: Vec<Record> = Vec::new();
    let mut all: Vec<Record> = Vec::new();
    match args.split.as_str() {
        "dynamic" if size < 2 => return Err("the dynamic split needs 2 ranks or more".into()),
        "dynamic" if rank == 0 => {
            let mut next = 0usize;
            let mut working = size - 1;
            while working > 0 {
                let status = wait_for(world, None, ASK);
                let from = world.process_at_rank(status.source_rank());
                let (msg, _) = from.receive_vec_with_tag::<u64>(ASK);
                if let Ok(record) = Record::try_from(msg.as_slice()) {
                    all.push(record);
                }
                if next < list.len() {
                    from.send_with_tag(&(next as u64), GIVE);
                    next += 1;
                } else {
                    from.send_with_tag(&STOP, GIVE);
                    working -= 1;
                }
            }
        }
        "dynamic" => {
            let root = world.process_at_rank(0);
            root.send_with_tag(&[][..] as &[u64], ASK);
            loop {
                wait_for(world, Some(0), GIVE);
                let (index, _) = root.receive_with_tag::<u64>(GIVE);
                if index == STOP {
                    break;
                }
                let job = list.get(index as usize).ok_or("job index out of range")?;
                let record = run_job(job, index as usize, t0, rank);
                mine.push(record);
                root.send_with_tag(&record[..], ASK);
            }
        }
        "static" => {
            let n = list.len();
            let (r, s) = (rank as usize, size as usize);
            let block = r * n / s..(r + 1) * n / s;
            for (i, job) in list.iter().enumerate().take(block.end).skip(block.start) {
                mine.push(run_job(job, i, t0, rank));
            }
            if rank == 0 {
                all.extend(mine.iter().copied());
                for _ in 1..size {
                    let status = wait_for(world, None, BLOCK);
                    let (flat, _) = world
                        .process_at_rank(status.source_rank())
                        .receive_vec_with_tag::<u64>(BLOCK);
                    all.extend(
                        flat.chunks_exact(5)
                            .filter_map(|c| Record::try_from(c).ok()),
                    );
                }
            } else {
                let flat: Vec<u64> = mine.iter().flatten().copied().collect();
                world.process_at_rank(0).send_with_tag(&flat[..], BLOCK);
            }
        }
        other => return Err(format!("unknown split {}", crate::parse::shown(other))),
    }
    let local: u64 = mine.iter().fold(0u64, |s, r| s.wrapping_add(r[1]));
    let root = world.process_at_rank(0);
    let mut reduced = 0u64;
    if rank == 0 {
        root.reduce_into_root(&local, &mut reduced, SystemOperation::sum());
    } else {
        root.reduce_into(&local, SystemOperation::sum());
    }
    world.barrier();
    let compute_s = t0.elapsed().as_secs_f64();
    if rank == 0 {
        let secs = |ns: u64| ns as f64 / 1e9;
        let answer = JobsAnswer {
            ranks: size as usize,
            compute_s,
            done: all
                .iter()
                .map(|r| (r[0] as usize, r[1], secs(r[2]), secs(r[3]), r[4] as usize))
                .collect(),
            reduced,
        };
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}",
            serde_json::to_string(&answer).expect("answer serialises")
        )
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing the answer: {e}"))?;
    }
    Ok(())
}

/// Ping-pong between ranks 0 and 1. Rank 0 reads `SIZE ROUNDS` lines from its stdin
/// (mpirun forwards parlab's), times ROUNDS round trips of SIZE-byte messages once rank
/// 1 is ready, and answers `ok NANOS` or `error WHY`; an empty line or end of input
/// ends both ranks. Both sides check every message.
fn pingpong(world: &SimpleCommunicator) -> Result<(), String> {
    if world.size() != 2 {
        return Err("pingpong needs exactly 2 ranks".into());
    }
    let peer = world.process_at_rank(1 - world.rank());
    if world.rank() == 1 {
        loop {
            wait_for(world, Some(0), COMMAND);
            let (cmd, _) = peer.receive_vec_with_tag::<u64>(COMMAND);
            let [size, rounds] = cmd[..] else {
                return Ok(());
            };
            let msg = Message::new(size as usize);
            let mut buf = vec![0u8; size as usize];
            peer.send_with_tag(&0u64, READY);
            for round in 0..rounds {
                let status = peer.receive_into_with_tag(&mut buf[..], PING);
                let got = status.count(u8::equivalent_datatype()) as usize;
                msg.check(&buf[..got.min(buf.len())], round)?;
                peer.send_with_tag(&buf[..], PING);
            }
        }
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let nums: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let [size, rounds] = nums[..] else { break };
        peer.send_with_tag(&[size, rounds][..], COMMAND);
        let _ = peer.receive_with_tag::<u64>(READY);
        let mut msg = Message::new(size as usize);
        let mut back = vec![0u8; size as usize];
        let t = Instant::now();
        let mut failed = None;
        for round in 0..rounds {
            msg.stamp(round);
            peer.send_with_tag(msg.bytes(), PING);
            let status = peer.receive_into_with_tag(&mut back[..], PING);
            let got = status.count(u8::equivalent_datatype()) as usize;
            if let Err(why) = msg.check(&back[..got.min(back.len())], round) {
                failed = Some(why);
                break;
            }
        }
        let nanos = t.elapsed().as_nanos();
        if let Some(why) = failed {
            // Rank 1 still waits for the rest: only an abort ends both.
            return Err(why);
        }
        writeln!(out, "ok {nanos}")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
    }
    peer.send_with_tag(&[][..] as &[u64], COMMAND);
    Ok(())
}
