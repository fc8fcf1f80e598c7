//! `select`: the paper's Figures 10–11 (§3.6), two producers, one every half unit and one
//! every two units, and one loop that selects over both channels.
//!
//! Claim tested: select takes from whichever channel has a message, so neither producer
//! waits for the other and each is served at its own rate (about four messages from the
//! fast one per message from the slow one). The paper's printed lines show the mix but
//! not the waiting, so each message's time from send to receipt is measured too: a loop
//! that blocked on one channel would show the other's messages waiting up to two units.
//!
//! The paper reads Figure 11 as both channels getting even treatment. What a select does
//! when both are ready at once is the sharper test of that (Go picks at random), so those
//! moments are counted with a look at both channels before each select (`is_empty`, which
//! takes nothing, on both libraries), and the choices reported. With independent
//! producers the loop usually wakes for each message alone, so the count is often zero.
//!
//! `--throughput` measures the price of select itself over two busy channels.

use super::channel::ThroughputArgs;
use super::{CommonArgs, Ctx, Info, PeerCall, Scale};
use crate::error::ParlabError;
use crate::measure::measure;
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{Event, ExperimentResult, Params, Row};
use crate::techniques::channels::{self, Shape, TickConfig, Ticks};
use crate::techniques::{SelectTechnique, Technique};
use crate::units;
use crate::units::at;
use std::time::Duration;

pub const INFO: Info = Info {
    id: "select",
    paper_ref: "Figures 10–11, §3.6",
    gist: "One select loop serves a producer every half second and one every two seconds, taking whichever is ready.",
    techniques: &[Technique::CrossbeamSelect, Technique::TokioSelect],
    runs: 1,
    warmup: 0,
    charts,
    python: &[],
    go: &["select"],
    reproduce_args,
    claims: crate::claims::select::CLAIMS,
};
/// The paper's two messages, fast producer first.
const MESSAGES: [&str; 2] = ["Confirmed in 500ms", "Confirmed in Two Seconds"];
const NAMES: [&str; 2] = ["500ms", "2s"];

/// Figures 10–11: producers every 0.5 and every 2 units, one select loop over both.
///
/// Prints the paper's `Confirmed in ...` lines with the time of each, the count from each
/// channel and their ratio (4:1 expected), how long messages waited between send and
/// receipt, and how the choice fell when both channels were ready at once.
/// crossbeam-select runs producers as OS threads and the loop on crossbeam's select!;
/// tokio-select runs all three as tasks on a multi-thread runtime with tokio::select!.
/// With --throughput, measures messages per second through a select over two busy
/// channels (capacity 1 and 1024) instead.
/// Techniques: crossbeam-select, tokio-select.
/// Defaults: 1 run, no warm-up (throughput: 3 counted runs after 1 warm-up run).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Length of one unit (the paper's is 1s: producers every 500ms and every 2s)
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse::duration)]
    pub unit: Duration,

    /// Units the producers run for; the loop ends when both have finished
    #[arg(long, value_name = "UNITS", default_value = "10", value_parser = parse::int_in(1, 100_000))]
    pub duration: u64,

    #[command(flatten)]
    pub rate: ThroughputArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// A throughput run draws messages per second; a timeline run, when each message came.
fn charts(exp: &ExperimentResult) -> Vec<ChartKind> {
    if exp.params.get("mode").and_then(|m| m.as_str()) == Some("throughput") {
        vec![ChartKind::Throughput {
            value: |r| r.extra_f64("msgs_per_s"),
        }]
    } else {
        vec![ChartKind::Timelines]
    }
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    let args: &[&str] = match scale {
        Scale::Quick => &["--unit", "100ms", "--duration", "10"],
        Scale::Paper => &["--unit", "1s", "--duration", "10"],
    };
    args.iter().map(|s| s.to_string()).collect()
}

const SHAPES: [Shape; 2] = [
    Shape {
        producers: 2,
        consumers: 1,
        capacity: 1,
    },
    Shape {
        producers: 2,
        consumers: 1,
        capacity: 1024,
    },
];

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let techniques = args.common.techniques(INFO.id, INFO.techniques)?;
    if let Some(result) = args.rate.run(
        INFO.id,
        INFO.paper_ref,
        ctx,
        &args.common,
        &techniques,
        &SHAPES,
    ) {
        return Ok(result);
    }
    let techniques = args.common.chosen::<SelectTechnique>(&INFO)?;
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let u = args.unit;
    let cfg = TickConfig {
        periods: [u / 2, u * 2],
        duration: u * args.duration as u32,
        timeout: args.common.timeout,
    };
    let mut result = ExperimentResult::new(
        INFO.id,
        INFO.paper_ref,
        params! {
            "mode" => "timeline",
            "unit_s" => u.as_secs_f64(),
            "duration_units" => args.duration,
            "periods_units" => [0.5, 2.0],
            "expected_ratio" => 4.0,
        },
    );
    for t in techniques {
        ctx.line(format!("-----> {} for {} units", t.id(), args.duration));
        let row = Row::new("rust", t.id(), params! {"duration_units" => args.duration});
        let basis = ": its duration";
        let Some(row) = ctx.unless_too_long(&mut result, row, &plan, cfg.duration, basis) else {
            continue;
        };
        let measured = channels::runtime(t.into()).and_then(|rt| {
            measure(
                &plan,
                |_| channels::ticks(t, rt.as_ref(), &cfg),
                Ticks::check,
            )
        });
        let m = match measured {
            Ok(m) => m,
            Err(e) => {
                ctx.line(format!("failed: {e}"));
                ctx.push(&mut result, row.failed(e.to_string()), Vec::new());
                continue;
            }
        };
        let ticks = m.last;
        for taken in &ticks.taken {
            ctx.line(format!(
                "{}  ({})",
                MESSAGES[taken.channel],
                at(taken.received.as_secs_f64(), u)
            ));
        }
        let s = summary(&ticks);
        ctx.line(format!(
            "received {} from the 500ms producer and {} from the 2s one: ratio {} (4 expected); longest wait from send to receipt {}",
            s.counts[0],
            s.counts[1],
            s.ratio.map_or_else(|| "–".into(), |r| format!("{r:.2}")),
            units::secs(s.max_wait_s),
        ));
        ctx.line(format!(
            "both channels ready at once {} times: select took the 500ms one {} times and the 2s one {} times",
            s.both_ready, s.chose_when_both[0], s.chose_when_both[1]
        ));
        let mut row = row.with_samples(m.samples_s);
        row.validated = true;
        row.peak_rss_bytes = m.peak_rss_bytes;
        if s.max_wait_s > u.as_secs_f64() / 4.0 {
            row.note(format!(
                "a message waited {} for the loop",
                units::secs(s.max_wait_s)
            ));
        }
        row.extra.extend(s.params());
        result.findings.insert(t.id().into(), s.params().into());
        ctx.push(&mut result, row, events(&ticks));
    }
    let call = PeerCall::default()
        .secs("--unit", u)
        .flag("--duration", args.duration);
    let check = |r: &Row| {
        let count = |name: &str| {
            r.extra
                .get("counts")
                .and_then(|c| c.get(name))
                .and_then(|v| v.as_u64())
                .unwrap_or(0)
        };
        if count("fast") > 0 && count("slow") > 0 {
            Ok(())
        } else {
            Err("select did not take from both channels".to_string())
        }
    };
    ctx.run_peers(&mut result, &args.common, &plan, call, check, |_| false);
    print_table(ctx, &result.rows, u);
    Ok(result)
}

/// What the claim needs from one run.
struct Summary {
    counts: [u64; 2],
    ratio: Option<f64>,
    max_wait_s: f64,
    mean_wait_s: f64,
    both_ready: u64,
    chose_when_both: [u64; 2],
}

fn summary(ticks: &Ticks) -> Summary {
    let counts = ticks.counts();
    let waits: Vec<f64> = ticks
        .taken
        .iter()
        .map(|t| t.received.saturating_sub(t.sent).as_secs_f64())
        .collect();
    let mut chose_when_both = [0; 2];
    for t in ticks.taken.iter().filter(|t| t.both_ready) {
        chose_when_both[t.channel] += 1;
    }
    Summary {
        counts,
        ratio: (counts[1] > 0).then(|| counts[0] as f64 / counts[1] as f64),
        max_wait_s: waits.iter().copied().fold(0.0, f64::max),
        mean_wait_s: if waits.is_empty() {
            0.0
        } else {
            waits.iter().sum::<f64>() / waits.len() as f64
        },
        both_ready: chose_when_both.iter().sum(),
        chose_when_both,
    }
}

impl Summary {
    fn params(&self) -> Params {
        params! {
            "counts" => params! {NAMES[0] => self.counts[0], NAMES[1] => self.counts[1]},
            "ratio" => self.ratio,
            "max_wait_s" => self.max_wait_s,
            "mean_wait_s" => self.mean_wait_s,
            "both_ready" => self.both_ready,
            "chose_when_both_ready" => params! {NAMES[0] => self.chose_when_both[0], NAMES[1] => self.chose_when_both[1]},
        }
    }
}

fn events(ticks: &Ticks) -> Vec<Event> {
    let mut out = Vec::new();
    for t in &ticks.taken {
        let label = MESSAGES[t.channel].to_string();
        out.push(Event {
            row: 0,
            t_s: t.sent.as_secs_f64(),
            lane: format!("producer-{}", NAMES[t.channel]),
            kind: "send".into(),
            label: label.clone(),
        });
        out.push(Event {
            row: 0,
            t_s: t.received.as_secs_f64(),
            lane: "select".into(),
            kind: "receive".into(),
            label: if t.both_ready {
                format!("{label} (both ready)")
            } else {
                label
            },
        });
    }
    out.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    out
}

fn print_table(ctx: &mut Ctx, rows: &[Row], unit: Duration) {
    let count = |r: &Row, key: &str, name: &str| {
        r.extra
            .get(key)
            .and_then(|c| c.get(name))
            .and_then(|v| v.as_u64())
            .map_or_else(|| "–".into(), |n| n.to_string())
    };
    ctx.print("");
    ctx.print(format!(
        "select: messages taken from each producer (unit = {}: every {} and every {})",
        units::secs(unit.as_secs_f64()),
        units::secs(unit.as_secs_f64() / 2.0),
        units::secs(unit.as_secs_f64() * 2.0)
    ));
    let params = [Column::new("units", |r: &Row| {
        r.param_u64("duration_units")
            .map_or_else(String::new, |d| d.to_string())
    })];
    let extra = [
        Column::new("500ms msgs", |r: &Row| count(r, "counts", NAMES[0])),
        Column::new("2s msgs", |r: &Row| count(r, "counts", NAMES[1])),
        Column::new("ratio", |r: &Row| {
            r.extra_f64("ratio")
                .map_or_else(|| "–".into(), |x| format!("{x:.2}"))
        }),
        Column::new("longest wait", |r: &Row| {
            r.extra_f64("max_wait_s")
                .map_or_else(|| "–".into(), units::secs)
        }),
        Column::new("both ready", |r: &Row| {
            r.extra
                .get("both_ready")
                .and_then(|v| v.as_u64())
                .map_or_else(|| "–".into(), |n| n.to_string())
        }),
        Column::new("took 500ms / 2s", |r: &Row| {
            format!(
                "{} / {}",
                count(r, "chose_when_both_ready", NAMES[0]),
                count(r, "chose_when_both_ready", NAMES[1])
            )
        }),
    ];
    ctx.print(terminal::table(rows, &params, &extra).to_string());
}
