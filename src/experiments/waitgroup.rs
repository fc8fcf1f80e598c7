//! `waitgroup`: the paper's §3.4, what happens to running units when `main` returns.
//!
//! Claim tested: when the main routine returns, units still running are killed with it;
//! waiting on a wait group keeps them alive to the end. Each variant runs in a real child
//! process, so the early return really ends the process while its units are printing, and
//! the letters that made it out are counted from what the child wrote.
//!
//! A run's time is the child's whole life, from its spawn until the parent saw it exit,
//! on the parent's clock, in Rust and in the Go peer alike (the row's `timing` says so):
//! a clock inside the child's main would leave out the process start and the exit,
//! which are the same work in every variant, and would stop before a no-wait process
//! has really ended.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale, child};
use crate::error::ParlabError;
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{ExperimentResult, Row, RowData, Status};
use crate::techniques::Technique;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::{Duration, Instant};

pub const INFO: Info = Info {
    id: "waitgroup",
    paper_ref: "§3.4",
    gist: "Goroutines still running when main returns are lost; waiting on a WaitGroup keeps every line.",
    techniques: &[Technique::Threads, Technique::Tokio],
    runs: 1,
    warmup: 0,
    charts: |_| vec![ChartKind::Medians],
    python: &[],
    go: &["goroutines"],
    reproduce_args,
    claims: crate::claims::waitgroup::CLAIMS,
};
const LETTERS: [u8; 5] = *b"ABCDE";

/// A waitgroup row's own values (peers/PROTOCOL.md), written and read only through this
/// type so that the table, the findings, the peer check and the claim agree on them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WaitgroupData {
    /// Letters that made it out before the process ended: the claim's evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub printed: Option<u64>,
    /// Letters a run that lets every unit finish prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    /// Letters per unit, A to E: which units an early return cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<u64>>,
    /// The child's exit status: 0 when main returned (or waited) and the process ended
    /// by itself, the proof that a no-wait run's missing letters died with the process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// What a sample times: [`SPAWN_TO_EXIT`] in every language, so the medians compare.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<String>,
}

impl RowData for WaitgroupData {}

/// The one way waitgroup runs are timed: the child process from its spawn until the
/// parent saw it exit, on the parent's clock.
pub const SPAWN_TO_EXIT: &str = "child-spawn-to-exit";

/// Whether one run's letters are what its variant allows, for Rust's rows and the
/// peers' alike. Every letter count is at most `prints` and they add up to `printed`,
/// the child exited by itself with status 0, and the run was timed spawn to exit;
/// waiting must deliver every letter, returning early any number up to all of them.
pub fn check(data: &WaitgroupData, wait: bool, prints: u64) -> Result<(), String> {
    let expected = prints * LETTERS.len() as u64;
    let printed = data.printed.ok_or("no letter count")?;
    let counts = data.counts.as_deref().ok_or("no letter counts")?;
    if counts.len() != LETTERS.len() || counts.iter().sum::<u64>() != printed {
        return Err(format!(
            "letter counts {counts:?} do not add up to {printed} letters A to E"
        ));
    }
    if let Some(i) = counts.iter().position(|c| *c > prints) {
        return Err(format!(
            "{} printed {} times, more than its {prints}",
            LETTERS[i] as char, counts[i]
        ));
    }
    if wait && printed != expected {
        return Err(format!(
            "printed {printed} of {expected} although main waited"
        ));
    }
    match data.exit_code {
        Some(0) => {}
        Some(code) => return Err(format!("the child exited with status {code}")),
        None => return Err("no exit status: the process was not seen to end".into()),
    }
    match data.timing.as_deref() {
        Some(SPAWN_TO_EXIT) => Ok(()),
        other => Err(format!(
            "timed as {}, not the child from spawn to exit",
            other.unwrap_or("nothing said")
        )),
    }
}

/// §3.4: five units print their letter 101 times; main returns at once, or waits.
///
/// no-wait: main starts the units and returns, ending the process (as a Go program's
/// main does). wait: main waits for all of them: std::thread::scope for threads, a tokio
/// JoinSet for tokio (a wait group's Add/Done/Wait). Each unit waits --pause before each
/// print, so it is still running when an early main returns. Every run is a child
/// process whose output is counted, timed from its spawn to its exit.
/// Techniques: threads, tokio. Defaults: 1 run, no warm-up.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Prints per unit (the paper's loop: 101)
    #[arg(long, value_name = "N", default_value = "101", value_parser = parse::int_in(1, 10_000))]
    pub prints: u64,

    /// The wait before each print (the units' blocking point)
    #[arg(long, value_name = "DURATION", default_value = "1ms", value_parser = parse::duration)]
    pub pause: Duration,

    /// Internal: be the child that runs one variant and prints the letters
    #[arg(long, hide = true, value_name = "TECHNIQUE")]
    pub child: Option<String>,

    /// Internal: with --child, return from main without waiting
    #[arg(long, hide = true)]
    pub no_wait: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn reproduce_args(_scale: Scale) -> Vec<String> {
    Vec::new()
}

/// Each unit: wait, then print its letter straight to stdout (unbuffered, so what was
/// printed before the process ended is really out).
fn unit_print(letter: u8) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&[letter]).and_then(|()| out.flush());
}

/// The child side: run the units, return or wait, and let the process end.
fn run_child(technique: &str, wait: bool, prints: u64, pause: Duration) -> Result<(), ParlabError> {
    match technique {
        "threads" if wait => std::thread::scope(|s| {
            for letter in LETTERS {
                s.spawn(move || {
                    for _ in 0..prints {
                        std::thread::sleep(pause);
                        unit_print(letter);
                    }
                });
            }
        }),
        "threads" => {
            for letter in LETTERS {
                std::thread::spawn(move || {
                    for _ in 0..prints {
                        std::thread::sleep(pause);
                        unit_print(letter);
                    }
                });
            }
            // main returns: the process ends and takes the threads with it.
            std::process::exit(0);
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_time()
                .build()
                .map_err(|e| ParlabError::io("starting tokio", e))?;
            rt.block_on(async {
                let mut group = tokio::task::JoinSet::new();
                for letter in LETTERS {
                    group.spawn(async move {
                        for _ in 0..prints {
                            tokio::time::sleep(pause).await;
                            unit_print(letter);
                        }
                    });
                }
                if !wait {
                    std::process::exit(0);
                }
                while group.join_next().await.is_some() {}
            });
        }
        other => {
            return Err(ParlabError::usage(format!(
                "unknown child technique '{other}'"
            )));
        }
    }
    Ok(())
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    if let Some(t) = &args.child {
        run_child(t, !args.no_wait, args.prints, args.pause)?;
        return Ok(INFO.result(Default::default()));
    }
    let techniques = args.common.techniques(INFO.id, INFO.techniques)?;
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let expected = args.prints as usize * LETTERS.len();
    let mut result =
        INFO.result(params! {"prints" => args.prints, "pause_s" => args.pause.as_secs_f64()});
    for t in techniques {
        for wait in [false, true] {
            let variant = if wait { "wait" } else { "no-wait" };
            ctx.line(format!(
                "-----> {} ({})",
                t.id(),
                if wait {
                    "main waits for every unit"
                } else {
                    "main returns at once"
                }
            ));
            let mut argv: Vec<String> = [
                "waitgroup",
                "--child",
                t.id(),
                "--prints",
                &args.prints.to_string(),
                "--pause",
            ]
            .map(String::from)
            .to_vec();
            argv.push(humantime::format_duration(args.pause).to_string());
            if !wait {
                argv.push("--no-wait".into());
            }
            // Every counted run is a fresh child; the letters reported are the last one's.
            // Each unit pauses before every print; without the wait main returns sooner.
            let row = Row::new("rust", t.id(), params! {"variant" => variant});
            let least = args.pause.mul_f64(args.prints as f64);
            let basis = ": its prints' pauses";
            let Some(row) = ctx.unless_too_long(&mut result, row, &plan, least, basis) else {
                continue;
            };
            let mut samples = Vec::new();
            let mut outcome = Err("no run".to_string());
            for i in 0..plan.warmup + plan.runs {
                let started = Instant::now();
                outcome = child(ctx, &argv, args.common.timeout);
                if i >= plan.warmup {
                    samples.push(started.elapsed().as_secs_f64());
                }
                if !matches!(&outcome, Ok(out) if out.status.success()) {
                    break;
                }
            }
            let mut row = row;
            match outcome {
                Ok(out) if out.status.success() => {
                    let printed: Vec<u8> = out
                        .stdout
                        .iter()
                        .copied()
                        .filter(|b| LETTERS.contains(b))
                        .collect();
                    let counts: Vec<u64> = LETTERS
                        .iter()
                        .map(|l| printed.iter().filter(|b| *b == l).count() as u64)
                        .collect();
                    let data = WaitgroupData {
                        printed: Some(printed.len() as u64),
                        expected: Some(expected as u64),
                        counts: Some(counts),
                        exit_code: out.status.code(),
                        timing: Some(SPAWN_TO_EXIT.into()),
                    };
                    row = row.with_samples(samples);
                    let other = out.stdout.len() - printed.len();
                    let checked = if other > 0 {
                        Err(format!(
                            "the child wrote {other} bytes that are not letters A-E"
                        ))
                    } else {
                        check(&data, wait, args.prints)
                    };
                    row.validated = checked.is_ok();
                    if let Err(why) = checked {
                        row = row.failed(why);
                    }
                    ctx.line(format!(
                        "{} of {expected} letters printed, then the process ended with {}",
                        printed.len(),
                        out.status
                    ));
                    data.store(&mut row);
                }
                Ok(out) => {
                    row = row.failed(format!(
                        "the child ended with {}: {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ))
                }
                Err(e) => row = row.failed(e),
            }
            ctx.push(&mut result, row, Vec::new());
        }
    }
    let call = PeerCall::default()
        .flag("--prints", args.prints)
        .secs("--pause", args.pause);
    // The peers' rows pass the same check as Rust's, timing included.
    let check_peer = |r: &Row| match r.param_str("variant") {
        Some(v @ ("wait" | "no-wait")) => {
            check(&WaitgroupData::parse(r)?, v == "wait", args.prints)
        }
        other => Err(format!("unknown variant {other:?}")),
    };
    ctx.run_peers(&mut result, &args.common, &plan, call, check_peer, |_| {
        false
    });
    let printed = |t: &str, v: &str| {
        result
            .rows
            .iter()
            .find(|r| {
                r.technique == t && r.param_str("variant") == Some(v) && r.status == Status::Ok
            })
            .and_then(|r| r.data::<WaitgroupData>().printed)
    };
    result.findings = params! {
        "expected" => expected,
        "printed" => params! {
            "threads" => params! {"no-wait" => printed("threads", "no-wait"), "wait" => printed("threads", "wait")},
            "tokio" => params! {"no-wait" => printed("tokio", "no-wait"), "wait" => printed("tokio", "wait")},
            "goroutines" => params! {"no-wait" => printed("goroutines", "no-wait"), "wait" => printed("goroutines", "wait")},
        },
    };
    let params = [Column::new("variant", |r: &Row| {
        r.param_str("variant").unwrap_or("").to_string()
    })];
    let extra = [Column::new("letters printed", |r: &Row| {
        r.data::<WaitgroupData>()
            .printed
            .map_or_else(|| "–".into(), |p| format!("{p} of {expected}"))
    })];
    ctx.print("");
    ctx.print(format!("waitgroup: five units × {} prints, each in a child process; the time is the child's whole life, spawn to exit, on the parent's clock", args.prints));
    ctx.print(terminal::table(&result.rows, &params, &extra).to_string());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::assert_fixture_round_trips;

    #[test]
    fn rows_keep_their_json() {
        assert_fixture_round_trips::<WaitgroupData>("waitgroup");
    }

    fn run(counts: [u64; 5], exit_code: Option<i32>, timing: Option<&str>) -> WaitgroupData {
        WaitgroupData {
            printed: Some(counts.iter().sum()),
            expected: Some(50),
            counts: Some(counts.to_vec()),
            exit_code,
            timing: timing.map(String::from),
        }
    }

    #[test]
    fn no_wait_runs_are_checked_too() {
        let ok = Some(SPAWN_TO_EXIT);
        // No wait: any number of letters up to all, as long as the process ended by itself.
        assert_eq!(check(&run([0; 5], Some(0), ok), false, 10), Ok(()));
        assert_eq!(check(&run([3, 2, 4, 1, 0], Some(0), ok), false, 10), Ok(()));
        assert_eq!(check(&run([10; 5], Some(0), ok), false, 10), Ok(()));
        assert!(check(&run([11, 0, 0, 0, 0], Some(0), ok), false, 10).is_err());
        assert!(check(&run([1; 5], Some(1), ok), false, 10).is_err());
        assert!(check(&run([1; 5], None, ok), false, 10).is_err());
        let mut wrong_sum = run([1; 5], Some(0), ok);
        wrong_sum.printed = Some(7);
        assert!(check(&wrong_sum, false, 10).is_err());
        // Waiting must deliver all of them.
        assert_eq!(check(&run([10; 5], Some(0), ok), true, 10), Ok(()));
        assert!(check(&run([10, 10, 10, 10, 9], Some(0), ok), true, 10).is_err());
    }

    #[test]
    fn runs_timed_another_way_are_refused() {
        // A clock inside the child's main (the Go peer's old way) is another measurement.
        let why = check(&run([10; 5], Some(0), Some("main")), true, 10).unwrap_err();
        assert!(why.contains("main"), "{why}");
        assert!(check(&run([10; 5], Some(0), None), true, 10).is_err());
    }
}
