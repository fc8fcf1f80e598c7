//! `waitgroup`: the paper's §3.4, what happens to running units when `main` returns.
//!
//! Claim tested: when the main routine returns, units still running are killed with it;
//! waiting on a wait group keeps them alive to the end. Each variant runs in a real child
//! process, so the early return really ends the process while its units are printing, and
//! the letters that made it out are counted from what the child wrote.

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
}

impl RowData for WaitgroupData {}

/// §3.4: five units print their letter 101 times; main returns at once, or waits.
///
/// no-wait: main starts the units and returns, ending the process (as a Go program's
/// main does). wait: main waits for all of them: std::thread::scope for threads, a tokio
/// JoinSet for tokio (a wait group's Add/Done/Wait). Each unit waits --pause before each
/// print, so it is still running when an early main returns. Every run is a child
/// process whose output is counted.
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
                    row = row.with_samples(samples);
                    // Waiting must deliver every letter; returning early may deliver any
                    // number up to all of them.
                    row.validated = if wait {
                        printed.len() == expected
                    } else {
                        printed.len() <= expected
                    };
                    if !row.validated {
                        row =
                            row.failed(format!("printed {} letters of {expected}", printed.len()));
                    }
                    ctx.line(format!(
                        "{} of {expected} letters printed, then the process ended with {}",
                        printed.len(),
                        out.status
                    ));
                    WaitgroupData {
                        printed: Some(printed.len() as u64),
                        expected: Some(expected as u64),
                        counts: Some(counts),
                    }
                    .store(&mut row);
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
    let check = |r: &Row| {
        let printed = WaitgroupData::parse(r)?.printed;
        match (r.param_str("variant"), printed) {
            (Some("wait"), Some(n)) if n != expected as u64 => {
                Err(format!("printed {n} of {expected} although main waited"))
            }
            (_, Some(_)) => Ok(()),
            _ => Err("no letter count".to_string()),
        }
    };
    ctx.run_peers(&mut result, &args.common, &plan, call, check, |_| false);
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
    ctx.print(format!("waitgroup: five units × {} prints, each in a child process; the time is the child's whole life", args.prints));
    ctx.print(terminal::table(&result.rows, &params, &extra).to_string());
    Ok(result)
}
