//! `channel`: the paper's Figure 9 (§3.5), a channel of capacity one, one sender with
//! four letters and a receiver that only starts after five units.
//!
//! Claim tested: a bounded channel stores as many values as its capacity and no more, so
//! the second send waits until a receiver takes the first; with capacity 0 even the
//! first send waits. The paper shows the claim with printed lines, whose order alone
//! cannot tell a blocked send from a slow one, so every send's attempt and completion is
//! timed and the blocked stretches become timeline events.
//!
//! The paper's warning that a channel never closed deadlocks its receiver is tested with
//! `--forget-close`: Go's runtime reports such a deadlock itself, Rust's channels do not,
//! so a watchdog plays Go's part and the receiver is unblocked rather than left hanging.
//!
//! `--throughput` asks the question the figure raises but cannot answer: what blocking
//! costs. Messages per second per capacity and shape show that OS threads pay a park and
//! a wake-up per message at capacity 0 or 1, which a user-space hand-off (tasks on one
//! thread, as goroutines on one P) avoids.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale, set_speedups};
use crate::error::{ParlabError, TechniqueError};
use crate::measure::{
    Arm, CheckOnce, Measurement, Plan, RunOnce, Schedule, measure, measure_interleaved,
};
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{Event, ExperimentResult, Params, Row, RowData, Status};
use crate::techniques::channels::{self, Handoff, HandoffConfig, LETTERS, Moved, Shape};
use crate::techniques::{ChannelTechnique, Technique};
use crate::units;
use crate::units::at;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::runtime::Runtime;

pub const INFO: Info = Info {
    id: "channel",
    paper_ref: "Figure 9, §3.5",
    gist: "A channel with room for one message: the first send goes straight in, the rest wait until a receiver that starts at t = 5 takes them.",
    techniques: &[
        Technique::StdSyncChannel,
        Technique::Crossbeam,
        Technique::TokioMpsc,
        Technique::Tokio1Mpsc,
        Technique::Kanal,
        Technique::Kanal1,
    ],
    runs: 1,
    warmup: 0,
    charts,
    python: &["queue"],
    go: &["chan"],
    reproduce_args,
    claims: crate::claims::channel::CLAIMS,
};
const THROUGHPUT_RUNS: u64 = 3;
const THROUGHPUT_WARMUP: u64 = 1;
/// How long the sender must be finished and the receiver waiting before it is called a
/// deadlock: long enough for a receive that is about to return, short next to any unit.
const GRACE: Duration = Duration::from_millis(100);

/// Figure 9: a capacity-1 channel, one sender of A, B, C, D, a receiver from t = 5 units.
///
/// Prints the paper's lines with the time of each, and records when each send was
/// attempted and when it went through, so a blocked send shows as such. std-sync-channel,
/// crossbeam and kanal run the sender and receiver as OS threads; tokio-mpsc as tasks on
/// a multi-thread runtime; tokio-1-mpsc and kanal-1 (kanal's async side) as tasks on one
/// thread (Go's user-space hand-off).
/// With --throughput, measures messages per second instead, for 1 producer and 1
/// consumer at capacity 0, 1 and 1024, and 2 and 2 at 1024.
/// Techniques: std-sync-channel, crossbeam, tokio-mpsc, tokio-1-mpsc, kanal, kanal-1.
/// Defaults: 1 run, no warm-up (throughput: 3 counted runs after 1 warm-up run).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Values the channel holds before a send waits; 0 is a rendezvous (a send waits for
    /// a receiver), which tokio's mpsc cannot build
    #[arg(long, value_name = "N", default_value = "1", value_parser = parse::int_in(0, 1_000_000), allow_negative_numbers = true)]
    pub capacity: u64,

    /// Units the receiver waits before it starts taking (the paper's is 5)
    #[arg(long, value_name = "UNITS", default_value = "5", value_parser = parse::int_in(0, 10_000), allow_negative_numbers = true)]
    pub receiver_delay: u64,

    /// Length of one unit (the paper's is 1s)
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse::duration)]
    pub unit: Duration,

    /// The sender finishes without closing its side, so the receiver would wait forever;
    /// a watchdog reports the deadlock as Go does and the run fails (exit code 1)
    #[arg(long, conflicts_with = "throughput")]
    pub forget_close: bool,

    #[command(flatten)]
    pub rate: ThroughputArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// A timeline row's own values (peers/PROTOCOL.md), written and read only through this
/// type so that the table, the claim and the peer check agree on them. Times are in
/// units from the start of the run, so rows at different `--unit`s compare.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ChannelData {
    /// The letters in the order they were sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub letters: Option<Vec<String>>,
    /// When each send was attempted and when it went in: a gap is a blocked send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempted_units: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_units: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_units: Option<Vec<f64>>,
    /// The letters in the order they arrived: the peer check's proof of a hand-off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_units: Option<Vec<f64>>,
    /// Rust rows have always carried these two, null when there was no such moment, so
    /// they are written even then ([`RowData::store_with_nulls`]).
    pub receiver_start_units: Option<f64>,
    pub deadlock_units: Option<f64>,
}

impl RowData for ChannelData {
    fn store(&self, row: &mut Row) {
        self.store_with_nulls(row);
    }
}

/// A throughput row's values, channel's and select's alike (peers/PROTOCOL.md).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ThroughputData {
    /// From the median run. Rust rows have always carried both, null without a median to
    /// go by, so they are written even then ([`RowData::store_with_nulls`]).
    pub msgs_per_s: Option<f64>,
    pub ns_per_msg: Option<f64>,
    /// What the consumers counted and summed: the proof that every message arrived once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<u64>,
}

impl RowData for ThroughputData {
    fn store(&self, row: &mut Row) {
        self.store_with_nulls(row);
    }
}

/// A throughput run draws messages per second; a timeline run, when each send went in.
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
        Scale::Quick => &["--unit", "50ms"],
        Scale::Paper => &["--unit", "1s"],
    };
    args.iter().map(|s| s.to_string()).collect()
}

/// The shapes throughput mode runs, one producer and one consumer first.
pub const SHAPES: [Shape; 4] = [
    Shape {
        producers: 1,
        consumers: 1,
        capacity: 0,
    },
    Shape {
        producers: 1,
        consumers: 1,
        capacity: 1,
    },
    Shape {
        producers: 1,
        consumers: 1,
        capacity: 1024,
    },
    Shape {
        producers: 2,
        consumers: 2,
        capacity: 1024,
    },
];

/// Throughput mode, the same flags and the same rows for channel and select.
#[derive(Debug, Clone, clap::Args)]
pub struct ThroughputArgs {
    /// Measure messages per second per capacity and shape instead of the figure
    #[arg(long)]
    pub throughput: bool,

    /// Throughput mode: messages each row moves (10000000, 10_000_000 or 1e7; select
    /// sends half down each of its two channels)
    #[arg(long, value_name = "N", default_value = "10000000", value_parser = parse::count)]
    pub messages: u64,
}

impl ThroughputArgs {
    /// The throughput rows of experiment `info` when `--throughput` was given; `None`
    /// leaves the experiment to its figure.
    pub(super) fn run(
        &self,
        info: &Info,
        ctx: &mut Ctx,
        common: &CommonArgs,
        techniques: &[Technique],
        shapes: &[Shape],
    ) -> Option<ExperimentResult> {
        if !self.throughput {
            return None;
        }
        let plan = common.plan(THROUGHPUT_RUNS, THROUGHPUT_WARMUP);
        let mut result = info.result(
            params! {"mode" => "throughput", "messages" => self.messages, "schedule" => common.schedule},
        );
        let schedule = common.schedule;
        throughput_rows(
            ctx,
            &plan,
            schedule,
            techniques,
            shapes,
            self.messages,
            &mut result,
        );
        let call = PeerCall::default()
            .flag("--throughput", 1)
            .flag("--messages", self.messages)
            .list(
                "--shapes",
                shapes
                    .iter()
                    .map(|s| format!("{}x{}x{}", s.producers, s.consumers, s.capacity)),
            );
        let want = Moved::expected(self.messages);
        let check = |r: &Row| {
            let data = ThroughputData::parse(r)?;
            let got = (data.received, data.sum);
            if got == (Some(want.count), Some(want.sum)) {
                Ok(())
            } else {
                Err(format!(
                    "received {:?} summing to {:?}, expected {} summing to {}",
                    got.0, got.1, want.count, want.sum
                ))
            }
        };
        ctx.run_peers(&mut result, common, &plan, call, check, |_| false);
        print_throughput(ctx, info.id, &result.rows, self.messages);
        Some(result)
    }
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let techniques = args.common.techniques(INFO.id, INFO.techniques)?;
    if let Some(result) = args
        .rate
        .run(&INFO, ctx, &args.common, &techniques, &SHAPES)
    {
        return Ok(result);
    }
    let techniques = args.common.chosen::<ChannelTechnique>(&INFO)?;
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let cfg = HandoffConfig {
        capacity: args.capacity as usize,
        unit: args.unit,
        receiver_delay: args.receiver_delay as u32,
        forget_close: args.forget_close,
        grace: GRACE,
        timeout: args.common.timeout,
    };
    let mut result = INFO.result(params! {
        "mode" => "timeline",
        "capacity" => cfg.capacity,
        "receiver_delay_units" => cfg.receiver_delay,
        "unit_s" => args.unit.as_secs_f64(),
        "forget_close" => cfg.forget_close,
        "letters" => LETTERS.iter().map(char::to_string).collect::<Vec<_>>(),
    });
    for t in techniques {
        ctx.line(format!(
            "-----> {} (capacity {}, receiver from t = {})",
            t.id(),
            cfg.capacity,
            cfg.receiver_delay
        ));
        let row = Row::new(
            "rust",
            t.id(),
            params! {"capacity" => cfg.capacity, "receiver_delay" => cfg.receiver_delay, "forget_close" => cfg.forget_close},
        );
        if let Some(why) = channels::capacity_unsupported(t.into(), cfg.capacity) {
            ctx.line(format!("skipped: {why}"));
            ctx.push(&mut result, row.skipped(why), Vec::new());
            continue;
        }
        let delay = args.unit * cfg.receiver_delay;
        let basis = ": the receiver's delay";
        let Some(row) = ctx.unless_too_long(&mut result, row, &plan, delay, basis) else {
            continue;
        };
        let rt = match channels::runtime(t.into()) {
            Ok(rt) => rt,
            Err(e) => {
                ctx.push(&mut result, row.failed(e.to_string()), Vec::new());
                continue;
            }
        };
        let measured = if cfg.forget_close {
            // One run: a deadlock is the outcome looked for, not something to repeat.
            channels::handoff(t, rt.as_ref(), &cfg).map(|h| (h, Vec::new(), None))
        } else {
            measure(&plan, |_| channels::handoff(t, rt.as_ref(), &cfg), check)
                .map(|m| (m.last, m.samples_s, m.peak_rss_bytes))
        };
        let (h, samples, peak) = match measured {
            Ok(m) => m,
            Err(e) => {
                ctx.line(format!("failed: {e}"));
                ctx.push(&mut result, row.failed(e.to_string()), Vec::new());
                continue;
            }
        };
        for line in paper_lines(&h, &cfg) {
            ctx.line(line);
        }
        let mut row = match h.deadlock {
            Some(d) => row.failed(deadlock_message(d, args.unit)),
            None if cfg.forget_close => {
                row.failed("the receiver ended although the sender never closed the channel")
            }
            None => {
                let mut row = row.with_samples(samples);
                row.validated = true;
                row.peak_rss_bytes = peak;
                row
            }
        };
        let found = findings(&h, cfg.capacity);
        if h.deadlock.is_none() && found.get("as_capacity_predicts") == Some(&false.into()) {
            row.note("the sends did not block as the capacity predicts in this run");
        }
        data(&h, args.unit).store(&mut row);
        result.findings.insert(t.id().into(), found.into());
        ctx.push(&mut result, row, events(&h));
    }
    if !cfg.forget_close {
        let call = PeerCall::default()
            .flag("--capacity", args.capacity)
            .flag("--receiver-delay", args.receiver_delay)
            .secs("--unit", args.unit);
        let check = |r: &Row| {
            let got = ChannelData::parse(r)?.received.unwrap_or_default();
            let want: Vec<String> = LETTERS.iter().map(char::to_string).collect();
            if got == want {
                Ok(())
            } else {
                Err(format!("received {got:?}, expected {want:?}"))
            }
        };
        ctx.run_peers(&mut result, &args.common, &plan, call, check, |_| false);
    }
    print_timeline(ctx, &result.rows, args.unit);
    Ok(result)
}

/// Every letter sent went through and arrived once, in order.
fn check(h: &Handoff) -> Result<(), String> {
    let sent: Vec<char> = h.sends.iter().map(|s| s.letter).collect();
    let got: Vec<char> = h.receives.iter().map(|r| r.0).collect();
    if sent != LETTERS || got != LETTERS {
        return Err(format!(
            "sent {sent:?} and received {got:?}, expected {LETTERS:?} both"
        ));
    }
    Ok(())
}

fn deadlock_message(after: Duration, unit: Duration) -> String {
    format!(
        "all units are asleep: deadlock! The receiver waits on an empty channel whose only sender finished without closing it (found {})",
        at(after.as_secs_f64(), unit)
    )
}

/// A send counts as blocked when it took more than a quarter of a unit.
fn blocked(attempted: Duration, completed: Duration, unit: Duration) -> bool {
    completed.saturating_sub(attempted) > unit / 4
}

/// The paper's lines, in the order things happened, each with its time.
fn paper_lines(h: &Handoff, cfg: &HandoffConfig) -> Vec<String> {
    let u = cfg.unit;
    let mut moments: Vec<(Duration, u8, String)> = Vec::new();
    for s in &h.sends {
        moments.push((
            s.attempted,
            0,
            format!(
                "{} sending ....  ({})",
                s.letter,
                at(s.attempted.as_secs_f64(), u)
            ),
        ));
        if blocked(s.attempted, s.completed, u) {
            let waited = s.completed.saturating_sub(s.attempted).as_secs_f64() / u.as_secs_f64();
            moments.push((
                s.completed,
                1,
                format!(
                    "   ({} went in after {waited:.1} units blocked, {})",
                    s.letter,
                    at(s.completed.as_secs_f64(), u)
                ),
            ));
        }
    }
    if let Some(t) = h.receiver_start {
        moments.push((
            t,
            0,
            format!(
                "Receiver Starts @t={}  ({})",
                cfg.receiver_delay,
                at(t.as_secs_f64(), u)
            ),
        ));
    }
    for (letter, t) in &h.receives {
        moments.push((
            *t,
            2,
            format!("Receiver: {letter}  ({})", at(t.as_secs_f64(), u)),
        ));
    }
    if let Some(t) = h.deadlock {
        moments.push((t, 3, format!("fatal error: {}", deadlock_message(t, u))));
    }
    moments.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    moments.into_iter().map(|(_, _, line)| line).collect()
}

/// Whether each send waited for the receiver, and whether that is what the capacity
/// predicts: the first `capacity` sends go through at once, the next one waits.
fn findings(h: &Handoff, capacity: usize) -> Params {
    let start = h.receiver_start;
    let waited: Vec<bool> = h
        .sends
        .iter()
        .map(|s| start.is_some_and(|r| s.completed >= r))
        .collect();
    let predicted = h.sends.len() == LETTERS.len()
        && waited
            .iter()
            .enumerate()
            .all(|(i, w)| match i.cmp(&capacity) {
                std::cmp::Ordering::Less => !w,
                std::cmp::Ordering::Equal => *w,
                std::cmp::Ordering::Greater => true,
            });
    params! {
        "capacity" => capacity,
        "first_send_blocked_until_receiver" => waited.first().copied(),
        "second_send_blocked_until_receiver" => waited.get(1).copied(),
        "blocked_until_receiver" => waited,
        "as_capacity_predicts" => predicted,
        "deadlock_reported" => h.deadlock.is_some(),
    }
}

fn data(h: &Handoff, unit: Duration) -> ChannelData {
    let u = |d: &Duration| d.as_secs_f64() / unit.as_secs_f64();
    ChannelData {
        letters: Some(h.sends.iter().map(|s| s.letter.to_string()).collect()),
        attempted_units: Some(h.sends.iter().map(|s| u(&s.attempted)).collect()),
        completed_units: Some(h.sends.iter().map(|s| u(&s.completed)).collect()),
        blocked_units: Some(
            h.sends
                .iter()
                .map(|s| u(&s.completed.saturating_sub(s.attempted)))
                .collect(),
        ),
        received: Some(h.receives.iter().map(|r| r.0.to_string()).collect()),
        received_units: Some(h.receives.iter().map(|r| u(&r.1)).collect()),
        receiver_start_units: h.receiver_start.as_ref().map(u),
        deadlock_units: h.deadlock.as_ref().map(u),
    }
}

fn events(h: &Handoff) -> Vec<Event> {
    let event = |t: Duration, lane: &str, kind: &str, label: String| Event {
        row: 0,
        t_s: t.as_secs_f64(),
        lane: lane.into(),
        kind: kind.into(),
        label,
    };
    let mut out = Vec::new();
    for s in &h.sends {
        out.push(event(s.attempted, "sender", "send", s.letter.to_string()));
        let waited = s.completed.saturating_sub(s.attempted);
        if !waited.is_zero() {
            out.push(event(
                s.attempted,
                "sender",
                "blocked",
                format!("{} blocked {:.3}s", s.letter, waited.as_secs_f64()),
            ));
        }
        out.push(event(s.completed, "sender", "sent", s.letter.to_string()));
    }
    if let Some(t) = h.sender_finished {
        out.push(event(t, "sender", "end", "sender finished".into()));
    }
    if let Some(t) = h.receiver_start {
        out.push(event(t, "receiver", "start", "receiver starts".into()));
    }
    for (letter, t) in &h.receives {
        out.push(event(*t, "receiver", "receive", letter.to_string()));
    }
    if let Some(t) = h.deadlock {
        out.push(event(
            t,
            "receiver",
            "deadlock",
            "all units are asleep".into(),
        ));
    }
    out.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    out
}

fn print_timeline(ctx: &mut Ctx, rows: &[Row], unit: Duration) {
    let list = |times: Option<Vec<f64>>| -> String {
        times
            .unwrap_or_default()
            .iter()
            .map(|f| format!("{f:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    ctx.print("");
    ctx.print(format!(
        "channel: when each of A, B, C, D was sent and went in (unit = {})",
        units::secs(unit.as_secs_f64())
    ));
    let params = [Column::new("capacity", |r: &Row| {
        r.param_u64("capacity")
            .map_or_else(String::new, |c| c.to_string())
    })];
    let extra = [
        Column::new("receiver from", |r: &Row| {
            r.data::<ChannelData>()
                .receiver_start_units
                .map_or_else(|| "–".into(), |t| format!("{t:.1}"))
        }),
        Column::new("attempted (units)", |r: &Row| {
            list(r.data::<ChannelData>().attempted_units)
        }),
        Column::new("went in (units)", |r: &Row| {
            list(r.data::<ChannelData>().completed_units)
        }),
        Column::new("blocked (units)", |r: &Row| {
            list(r.data::<ChannelData>().blocked_units)
        }),
        Column::new("received (units)", |r: &Row| {
            list(r.data::<ChannelData>().received_units)
        }),
    ];
    ctx.print(terminal::table(rows, &params, &extra).to_string());
}

/// Throughput rows for every technique and shape; a shape a technique cannot build is a
/// skipped row that says why. Speedups compare techniques within one shape and capacity,
/// so those are the rows that share the machine as `schedule` says: interleaved, a
/// shape's rows take turns run by run (their lines and rows come when all have run);
/// grouped, each row runs and is added in turn.
fn throughput_rows(
    ctx: &mut Ctx,
    plan: &Plan,
    schedule: Schedule,
    techniques: &[Technique],
    shapes: &[Shape],
    n: u64,
    result: &mut ExperimentResult,
) {
    for &shape in shapes {
        let first = result.rows.len();
        let rows: Vec<ThroughputRow> = techniques
            .iter()
            .map(|&t| ThroughputRow { t, shape, n })
            .collect();
        if schedule == Schedule::Grouped {
            for r in &rows {
                ctx.line(r.heading());
                let row = match r.not_run(plan) {
                    Some(why) => r.skipped(ctx, why),
                    None => r.finish(channels::runtime(r.t).and_then(|rt| {
                        measure(plan, |_| r.run(rt.as_ref()), |moved| moved.check(n))
                    })),
                };
                ctx.push(result, row, Vec::new());
            }
        } else {
            // Rows that cannot or should not run are known before the others take turns.
            let skips: Vec<Option<NotRun>> = rows.iter().map(|r| r.not_run(plan)).collect();
            let runtimes: Vec<Option<Result<Option<Runtime>, TechniqueError>>> = rows
                .iter()
                .zip(&skips)
                .map(|(r, skip)| skip.is_none().then(|| channels::runtime(r.t)))
                .collect();
            let arms: Vec<Arm<'_, Moved>> = rows
                .iter()
                .zip(&runtimes)
                .filter_map(|(r, rt)| {
                    let rt = rt.as_ref()?.as_ref().ok()?;
                    Some(Arm {
                        run: Box::new(move |_| r.run(rt.as_ref())) as RunOnce<'_, Moved>,
                        check: Box::new(move |moved: &Moved| moved.check(n))
                            as CheckOnce<'_, Moved>,
                    })
                })
                .collect();
            let mut measured = measure_interleaved(plan, arms).into_iter();
            let done: Vec<Result<Measurement<Moved>, TechniqueError>> = runtimes
                .into_iter()
                .flatten()
                .map(|rt| match rt {
                    Ok(_) => measured.next().expect("one measurement per runtime built"),
                    Err(e) => Err(e),
                })
                .collect();
            let mut done = done.into_iter();
            for (r, skip) in rows.iter().zip(skips) {
                ctx.line(r.heading());
                let row = match skip {
                    Some(why) => r.skipped(ctx, why),
                    None => r.finish(done.next().expect("one outcome per row run")),
                };
                ctx.push(result, row, Vec::new());
            }
        }
        let group = &mut result.rows[first..];
        if let Some(base) = group
            .iter()
            .find(|r| r.status == Status::Ok && r.median_s.is_some())
            .map(|r| r.samples_s.clone())
        {
            set_speedups(group.iter_mut(), &base);
        }
    }
}

/// Why a throughput row does not run: a shape its technique cannot build (the row says
/// so), or a trial that says it would overrun `--skip-over` (a line says so too).
enum NotRun {
    Unsupported(&'static str),
    TooSlow(String),
}

/// One throughput row: a technique moving `n` messages in one shape.
struct ThroughputRow {
    t: Technique,
    shape: Shape,
    n: u64,
}

impl ThroughputRow {
    fn heading(&self) -> String {
        format!(
            "-----> {} {} capacity {}: {} messages",
            self.t.id(),
            self.shape.label(),
            self.shape.capacity,
            self.n
        )
    }

    fn row(&self) -> Row {
        let (shape, n) = (self.shape, self.n);
        Row::new(
            "rust",
            self.t.id(),
            params! {"mode" => "throughput", "shape" => shape.label(), "producers" => shape.producers, "consumers" => shape.consumers, "capacity" => shape.capacity, "messages" => n},
        )
    }

    fn not_run(&self, plan: &Plan) -> Option<NotRun> {
        if let Some(why) = channels::shape_unsupported(self.t, self.shape) {
            return Some(NotRun::Unsupported(why));
        }
        // Threads that park on every message can need minutes for 1e7 (--skip-over).
        too_slow(plan, self.t, self.shape, self.n).map(NotRun::TooSlow)
    }

    fn skipped(&self, ctx: &mut Ctx, why: NotRun) -> Row {
        match why {
            NotRun::Unsupported(why) => self.row().skipped(why),
            NotRun::TooSlow(why) => {
                ctx.line(format!("skipped: {why}"));
                self.row().skipped(why)
            }
        }
    }

    fn run(&self, rt: Option<&Runtime>) -> Result<Moved, TechniqueError> {
        channels::throughput(self.t, rt, self.shape, self.n)
    }

    /// The row from its measured runs, or the error that ended them.
    fn finish(&self, measured: Result<Measurement<Moved>, TechniqueError>) -> Row {
        let (row, n) = (self.row(), self.n);
        let m = match measured {
            Ok(m) => m,
            Err(e) => return row.failed(e.to_string()),
        };
        let mut row = row.with_samples(m.samples_s);
        row.validated = true;
        row.peak_rss_bytes = m.peak_rss_bytes;
        ThroughputData {
            msgs_per_s: row.median_s.filter(|s| *s > 0.0).map(|s| n as f64 / s),
            ns_per_msg: row.median_s.map(|s| s * 1e9 / n as f64),
            received: Some(m.last.count),
            sum: Some(m.last.sum),
        }
        .store(&mut row);
        if matches!(self.t, Technique::Tokio1Mpsc | Technique::Kanal1) && self.shape.capacity <= 1 {
            row.note("one thread: each hand-off is a task switch, no thread parks or wakes");
        }
        row
    }
}

/// Messages a trial run moves to estimate a row's rate.
const TRIAL_MESSAGES: u64 = 20_000;

/// Why a row would run too long, from a trial of a few thousand messages; `None` when
/// it fits (or the trial itself failed: the real run will report that).
fn too_slow(plan: &Plan, t: Technique, shape: Shape, n: u64) -> Option<String> {
    if n <= TRIAL_MESSAGES || plan.skip_over.is_zero() {
        return None;
    }
    let rt = channels::runtime(t).ok()?;
    // Some channels are bimodal (they spin, then park): a slow first trial is checked
    // with a five times longer one before the row is given up.
    let mut why = String::new();
    for trial in [TRIAL_MESSAGES, 5 * TRIAL_MESSAGES] {
        let trial = trial.min(n);
        let started = std::time::Instant::now();
        channels::throughput(t, rt.as_ref(), shape, trial).ok()?;
        let rate = trial as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let basis = format!(
            " at {} msgs/s from a {trial}-message trial",
            units::grouped(rate as i64)
        );
        why = plan.too_long(Duration::from_secs_f64(n as f64 / rate), &basis)?;
    }
    Some(format!("{why}; lower --messages to run it"))
}

fn print_throughput(ctx: &mut Ctx, experiment: &str, rows: &[Row], n: u64) {
    ctx.print("");
    ctx.print(format!(
        "{experiment} throughput: {} messages per row, every one counted and summed on arrival; speedup against the first row of the same shape and capacity",
        units::grouped(n as i64)
    ));
    let params = [
        Column::new("shape", |r: &Row| {
            r.param_str("shape").unwrap_or("").to_string()
        }),
        Column::new("capacity", |r: &Row| {
            r.param_u64("capacity")
                .map_or_else(String::new, |c| c.to_string())
        }),
    ];
    let extra = [
        Column::new("msgs/s", |r: &Row| {
            r.data::<ThroughputData>()
                .msgs_per_s
                .map_or_else(|| "–".into(), |m| units::grouped(m as i64))
        }),
        Column::new("ns/msg", |r: &Row| {
            r.data::<ThroughputData>()
                .ns_per_msg
                .map_or_else(|| "–".into(), |m| format!("{m:.0}"))
        }),
    ];
    ctx.print(terminal::table(rows, &params, &extra).to_string());
    ctx.line(
        "Reading it: at capacity 0 or 1 nearly every message can make one OS thread park and the \
         other wake it (a futex call, often a hop to another core), which is what std's channel pays. \
         Two ways out: hand the message over in user space, as Go does between goroutines and \
         tokio-1-mpsc does between tasks on one thread (a task switch, no parking), or spin briefly \
         before parking, as crossbeam does, so a partner that answers within microseconds is met \
         awake. A large capacity lets threads work in batches and spares most of the parking.",
    );
}
