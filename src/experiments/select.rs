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

use super::channel::{ThroughputArgs, ThroughputData};
use super::{CommonArgs, Ctx, Info, PeerCall, Scale};
use crate::error::ParlabError;
use crate::measure::measure;
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{Event, ExperimentResult, Row, RowData};
use crate::techniques::channels::{self, Shape, TickConfig, Ticks};
use crate::techniques::{SelectTechnique, Technique};
use crate::units;
use crate::units::at;
use serde::{Deserialize, Serialize};
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
/// The producers as the Rust rows name them, in event lanes and in [`PerProducer`].
const NAMES: [&str; 2] = ["500ms", "2s"];

/// A select timeline row's own values (peers/PROTOCOL.md), written and read only
/// through this type so that the table, the findings, the peer check and the claim
/// agree on them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SelectData {
    /// Messages taken from each producer: their ratio is the claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<PerProducer>,
    /// Rust rows have always carried it, null when the slow producer sent nothing, so it
    /// is written even then ([`RowData::store_with_nulls`]).
    pub ratio: Option<f64>,
    /// Send to receipt: a loop that blocked on one channel would make the other's
    /// messages wait up to two units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_wait_s: Option<f64>,
    /// Receipts with both channels ready, and which one select took then: the sharper
    /// test of even treatment (Rust rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub both_ready: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chose_when_both_ready: Option<PerProducer>,
    /// Messages each producer dropped because its capacity-1 channel was still full
    /// when the next was due: a loop that neglected one channel shows here first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed: Option<PerProducer>,
    /// With both channels kept full, how the loop's choices split between them (the
    /// fast producer's channel counted as `500ms`): about even for a fair select.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturated_split: Option<PerProducer>,
}

/// Choices the "both always ready" run makes per row.
pub const SATURATED_CHOICES: u64 = 1000;

impl RowData for SelectData {
    fn store(&self, row: &mut Row) {
        self.store_with_nulls(row);
    }
}

/// A count per producer. Rust rows name the producers by their period (`500ms`, `2s`),
/// the Go peer by their pace (`fast`, `slow`); each spelling has its own fields, so a
/// row reads back exactly as it was written and a reader picks the spellings it takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerProducer {
    #[serde(rename = "500ms", skip_serializing_if = "Option::is_none")]
    pub half_unit: Option<u64>,
    #[serde(rename = "2s", skip_serializing_if = "Option::is_none")]
    pub two_units: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fast: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow: Option<u64>,
}

impl PerProducer {
    /// The Rust rows' form.
    fn of(counts: [u64; 2]) -> PerProducer {
        PerProducer {
            half_unit: Some(counts[0]),
            two_units: Some(counts[1]),
            ..PerProducer::default()
        }
    }
}

/// Figures 10–11: producers every 0.5 and every 2 units, one select loop over both.
///
/// Prints the paper's `Confirmed in ...` lines with the time of each, the count from each
/// channel and their ratio (4:1 expected), how long messages waited between send and
/// receipt, and how the choice fell when both channels were ready at once. The channels
/// hold one message: a producer whose message is still there when the next is due drops
/// it, so a loop that favoured one channel would move the ratio. A second run keeps both
/// channels full and counts how 1000 choices split between them.
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
            value: |r| r.data::<ThroughputData>().msgs_per_s,
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
    if let Some(result) = args
        .rate
        .run(&INFO, ctx, &args.common, &techniques, &SHAPES)
    {
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
    let mut result = INFO.result(params! {
        "mode" => "timeline",
        "unit_s" => u.as_secs_f64(),
        "duration_units" => args.duration,
        "periods_units" => [0.5, 2.0],
        "expected_ratio" => 4.0,
    });
    for t in techniques {
        ctx.line(format!("-----> {} for {} units", t.id(), args.duration));
        let row = Row::new("rust", t.id(), params! {"duration_units" => args.duration});
        let basis = ": its duration";
        let Some(row) = ctx.unless_too_long(&mut result, row, &plan, cfg.duration, basis) else {
            continue;
        };
        let measured = channels::runtime(t.into()).and_then(|rt| {
            let m = measure(
                &plan,
                |_| channels::ticks(t, rt.as_ref(), &cfg),
                Ticks::check,
            )?;
            let split = channels::both_ready_split(t, rt.as_ref(), SATURATED_CHOICES)?;
            Ok((m, split))
        });
        let (m, split) = match measured {
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
        ctx.line(format!(
            "dropped for a full channel: {} from the 500ms producer, {} from the 2s one; with both channels kept full, {} choices went {}:{}",
            ticks.missed[0], ticks.missed[1], SATURATED_CHOICES, split[0], split[1]
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
        let mut data = s.data();
        data.missed = Some(PerProducer::of(ticks.missed));
        data.saturated_split = Some(PerProducer::of(split));
        data.store(&mut row);
        result.findings.insert(
            t.id().into(),
            serde_json::to_value(&data).unwrap_or_default(),
        );
        ctx.push(&mut result, row, events(&ticks));
    }
    let call = PeerCall::default()
        .secs("--unit", u)
        .flag("--duration", args.duration);
    let check = |r: &Row| {
        let counts = SelectData::parse(r)?.counts.unwrap_or_default();
        if counts.fast.unwrap_or(0) > 0 && counts.slow.unwrap_or(0) > 0 {
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
    fn data(&self) -> SelectData {
        SelectData {
            counts: Some(PerProducer::of(self.counts)),
            ratio: self.ratio,
            max_wait_s: Some(self.max_wait_s),
            mean_wait_s: Some(self.mean_wait_s),
            both_ready: Some(self.both_ready),
            chose_when_both_ready: Some(PerProducer::of(self.chose_when_both)),
            ..SelectData::default()
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
    let count = |n: Option<u64>| n.map_or_else(|| "–".into(), |n| n.to_string());
    let counts = |r: &Row| r.data::<SelectData>().counts.unwrap_or_default();
    // Rust rows name the producers by period, the Go peer by pace: either fills a cell.
    let pair = |p: Option<PerProducer>| {
        let p = p.unwrap_or_default();
        format!(
            "{}:{}",
            count(p.half_unit.or(p.fast)),
            count(p.two_units.or(p.slow))
        )
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
        Column::new("500ms msgs", |r: &Row| {
            let c = counts(r);
            count(c.half_unit.or(c.fast))
        }),
        Column::new("2s msgs", |r: &Row| {
            let c = counts(r);
            count(c.two_units.or(c.slow))
        }),
        Column::new("dropped", |r: &Row| pair(r.data::<SelectData>().missed)),
        Column::new("ratio", |r: &Row| {
            r.data::<SelectData>()
                .ratio
                .map_or_else(|| "–".into(), |x| format!("{x:.2}"))
        }),
        Column::new("longest wait", |r: &Row| {
            r.data::<SelectData>()
                .max_wait_s
                .map_or_else(|| "–".into(), units::secs)
        }),
        Column::new("both ready", |r: &Row| {
            count(r.data::<SelectData>().both_ready)
        }),
        Column::new("took 500ms / 2s", |r: &Row| {
            let chose = r
                .data::<SelectData>()
                .chose_when_both_ready
                .unwrap_or_default();
            format!("{} / {}", count(chose.half_unit), count(chose.two_units))
        }),
        Column::new("both full: split", |r: &Row| {
            pair(r.data::<SelectData>().saturated_split)
        }),
    ];
    ctx.print(terminal::table(rows, &params, &extra).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Params;

    fn row(extra: &str) -> Row {
        let mut r = Row::new("go", "select", Params::new());
        r.extra = serde_json::from_str(extra).unwrap();
        r
    }

    /// The Go peer names the producers by pace (peers/PROTOCOL.md): its rows read into
    /// their own fields, and a count of the wrong type is refused, not read as missing.
    #[test]
    fn the_go_spelling_reads_as_its_own_and_a_wrong_type_is_refused() {
        let go = row(
            r#"{"counts": {"fast": 20, "slow": 5}, "ratio": null, "max_wait_s": 0.001, "mean_wait_s": 0.0005}"#,
        );
        let data = SelectData::parse(&go).unwrap();
        let counts = data.counts.unwrap();
        assert_eq!((counts.fast, counts.slow), (Some(20), Some(5)));
        assert_eq!((counts.half_unit, counts.two_units), (None, None));
        assert_eq!((data.ratio, data.max_wait_s), (None, Some(0.001)));
        assert!(SelectData::parse(&row(r#"{"counts": {"fast": "20", "slow": 5}}"#)).is_err());
    }
}
