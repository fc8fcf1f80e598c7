//! `sched`: the paper's Figures 6–8 (§3.1–3.3), five units printing their letter A–E
//! 101 times each, one after another, with a blocking point before every print, and
//! with none.
//!
//! Claims tested: units with a blocking point take turns even on one worker (Figure 7);
//! a unit without one runs until it finishes (Figure 8, §3.3). The Rust side shows why
//! that last claim depends on the scheduler: tokio never preempts a task, so on one
//! worker (`tokio-1`, like GOMAXPROCS=1) a busy unit holds the thread until it ends, and
//! `--spin` measures how long another unit that wanted to print had to wait. Go's
//! scheduler has preempted such loops since Go 1.14 (the Go peer shows that side); OS
//! threads are preempted by the kernel.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale};
use crate::error::{ParlabError, TechniqueError};
use crate::measure::measure;
use crate::params;
use crate::parse;
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{Event, ExperimentResult, Row, RowData, Status};
use crate::techniques::{JobTechnique, Technique, tokio_tasks};
use crate::units;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const INFO: Info = Info {
    id: "sched",
    paper_ref: "Figures 6–8, §3.1–3.3",
    gist: "Letters printed by five goroutines on one core: with a blocking call they take turns, without one each runs to the end before the next starts.",
    techniques: &[
        Technique::Sequential,
        Technique::Tokio1,
        Technique::Tokio,
        Technique::Threads,
    ],
    runs: 1,
    warmup: 0,
    charts: |_| vec![ChartKind::Timelines],
    python: &[],
    go: &["sequential", "goroutines-1", "goroutines", "runtime"],
    reproduce_args,
    claims: crate::claims::sched::CLAIMS,
};
const LETTERS: [u8; 5] = *b"ABCDE";
/// Letters per line of a printed strip, as in the paper's figures.
const STRIP_WIDTH: usize = 60;

/// A sched row's own values (peers/PROTOCOL.md), written and read only through this
/// type so that the table, the findings, the peer check and the claims cannot disagree
/// on a key. Every field is optional: a variant fills only its own.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SchedData {
    /// The letters in the order they landed: A–E in the figure variants, B and S in
    /// spin (whose two prints are its check: each unit printed once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strip: Option<String>,
    /// Prints of A to E, the proof that no unit lost a print.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<u64>>,
    /// Changes of letter along the strip: how often the units took turns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switches: Option<u64>,
    /// Prints per turn: near 1 the units took turns, near all of a unit's prints each
    /// ran to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_run: Option<f64>,
    /// spin: how late B printed, what a unit that is never preempted costs the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_s: Option<f64>,
    /// The Go peer's `runtime` row: the Go version, its CPU count and the GOMAXPROCS
    /// it defaults to, which one claim compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_cpu: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gomaxprocs_default: Option<u64>,
    /// The GOMAXPROCS environment variable the Go peer ran under, when set: then the
    /// figure above is that setting, not the runtime's own default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gomaxprocs_env: Option<String>,
}

/// Whether a spin run printed what it must: B once and S once, S only after spinning
/// at least half of `spin` (the Go peer's spin is a calibrated loop, so a little under
/// the flag is no fault; an S that printed early did not spin at all). `strip` is the
/// letters in order, `s_at` when S printed, from the run's start.
pub fn check_spin(strip: &str, s_at: Option<f64>, spin: Duration) -> Result<(), String> {
    let mut letters: Vec<char> = strip.chars().collect();
    letters.sort_unstable();
    if letters != ['B', 'S'] {
        return Err(format!("printed {strip:?}, expected B once and S once"));
    }
    match s_at {
        Some(t) if t < spin.as_secs_f64() / 2.0 => Err(format!(
            "S printed at {} of a {} spin: it did not spin",
            units::secs(t),
            units::secs(spin.as_secs_f64())
        )),
        _ => Ok(()),
    }
}

impl RowData for SchedData {}

/// Figures 6–8: five units print their letter 101 times; who gets to print when.
///
/// sequential runs the units one after another (Figure 6). blocking waits --pause
/// before every print (Figure 7); busy never waits (Figure 8); both run on tokio-1 (one
/// worker thread: Go's GOMAXPROCS=1), tokio (one worker per CPU) and threads (one OS
/// thread per unit). spin shows a unit that spins --spin without a blocking point while
/// another wants to print. A print appends the letter to a shared strip and costs
/// --print-cost of CPU, as writing to a terminal does.
/// Techniques: sequential, tokio-1, tokio, threads. Defaults: 1 run, no warm-up.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Variants to run, comma-separated [default: all]
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sequential,blocking,busy,spin"
    )]
    pub variant: Vec<Variant>,

    /// Prints per unit (the paper's loop runs i = 0..=100: 101)
    #[arg(long, value_name = "N", default_value = "101", value_parser = parse::int_in(1, 100_000))]
    pub prints: u64,

    /// blocking variant: the wait before each print (tokio's timer rounds up to 1ms)
    #[arg(long, value_name = "DURATION", default_value = "1ms", value_parser = parse::duration)]
    pub pause: Duration,

    /// CPU time one print costs (busy work, no blocking point)
    #[arg(long, value_name = "DURATION", default_value = "20us", value_parser = parse::duration)]
    pub print_cost: Duration,

    /// spin variant: how long the busy unit spins without a blocking point
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = parse::duration)]
    pub spin: Duration,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    Sequential,
    Blocking,
    Busy,
    Spin,
}

impl Variant {
    fn id(self) -> &'static str {
        match self {
            Variant::Sequential => "sequential",
            Variant::Blocking => "blocking",
            Variant::Busy => "busy",
            Variant::Spin => "spin",
        }
    }
}

/// A 200ms spin, four times the default: Go needs some 10–25 ms to preempt a loop on one
/// core, so a longer spin separates "preempted" from "ran to the end" clearly.
pub fn reproduce_args(scale: Scale) -> Vec<String> {
    let args: &[&str] = match scale {
        Scale::Quick => &["--spin", "200ms"],
        Scale::Paper => &["--spin", "200ms", "--runs", "3"],
    };
    args.iter().map(|s| s.to_string()).collect()
}

/// The shared strip the units print to, with when each letter landed.
struct Strip {
    t0: Instant,
    letters: Mutex<Vec<(u8, f64)>>,
    cost: Duration,
}

impl Strip {
    fn new(cost: Duration, capacity: usize) -> Strip {
        Strip {
            t0: Instant::now(),
            letters: Mutex::new(Vec::with_capacity(capacity)),
            cost,
        }
    }

    /// One print: the CPU work of writing, then the letter on the strip.
    fn print(&self, letter: u8) {
        spin(self.cost);
        let t = self.t0.elapsed().as_secs_f64();
        self.letters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((letter, t));
    }

    fn take(self) -> Vec<(u8, f64)> {
        self.letters.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// Busy-waits: CPU work with no blocking point a scheduler could use.
fn spin(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// What one run printed.
#[derive(Debug, Clone)]
struct Printed {
    letters: Vec<(u8, f64)>,
    /// spin variant: how long the waiting unit waited beyond when it wanted to print.
    waited_s: Option<f64>,
}

impl Printed {
    fn strip(&self) -> String {
        self.letters.iter().map(|(l, _)| *l as char).collect()
    }

    fn counts(&self) -> [usize; 5] {
        let mut counts = [0; 5];
        for (l, _) in &self.letters {
            if let Some(i) = LETTERS.iter().position(|x| x == l) {
                counts[i] += 1;
            }
        }
        counts
    }

    fn switches(&self) -> usize {
        self.letters.windows(2).filter(|w| w[0].0 != w[1].0).count()
    }

    fn events(&self) -> Vec<Event> {
        let mut events = Vec::with_capacity(self.letters.len() * 2);
        for (i, (letter, t)) in self.letters.iter().enumerate() {
            let l = (*letter as char).to_string();
            if i > 0 && self.letters[i - 1].0 != *letter {
                let from = self.letters[i - 1].0 as char;
                events.push(Event {
                    row: 0,
                    t_s: *t,
                    lane: "strip".into(),
                    kind: "switch".into(),
                    label: format!("{from}→{l}"),
                });
            }
            events.push(Event {
                row: 0,
                t_s: *t,
                lane: format!("unit {l}"),
                kind: "print".into(),
                label: l,
            });
        }
        events
    }
}

/// The shortest a run of variant `v` can take, from its flags: each unit's pauses and
/// prints one after another, and all prints' CPU time shared by the threads that run.
fn least_time(args: &Args, v: Variant, t: JobTechnique, cores: usize) -> Duration {
    if v == Variant::Spin {
        return args.spin;
    }
    let prints = args.prints as f64;
    let work = args.print_cost.mul_f64(prints * LETTERS.len() as f64);
    let at_once = match t {
        JobTechnique::Sequential | JobTechnique::Tokio1 => 1,
        _ => cores.max(1),
    };
    match v {
        Variant::Sequential => work,
        Variant::Blocking => (args.pause + args.print_cost)
            .mul_f64(prints)
            .max(work / at_once as u32),
        _ => work / at_once as u32,
    }
}

fn run_variant(t: JobTechnique, v: Variant, args: &Args) -> Result<Printed, TechniqueError> {
    let prints = args.prints as usize;
    let strip = Strip::new(args.print_cost, prints * LETTERS.len());
    if v == Variant::Spin {
        return spin_demo(t, args);
    }
    let blocking = v == Variant::Blocking;
    match t {
        JobTechnique::Sequential => {
            for letter in LETTERS {
                for _ in 0..prints {
                    strip.print(letter);
                }
            }
        }
        JobTechnique::Threads => std::thread::scope(|s| {
            for letter in LETTERS {
                let strip = &strip;
                s.spawn(move || {
                    for _ in 0..prints {
                        if blocking {
                            std::thread::sleep(args.pause);
                        }
                        strip.print(letter);
                    }
                });
            }
        }),
        JobTechnique::Tokio | JobTechnique::Tokio1 => {
            let rt = tokio_tasks::runtime(t == JobTechnique::Tokio1)?;
            let strip = std::sync::Arc::new(strip);
            let pause = args.pause;
            rt.block_on({
                let strip = strip.clone();
                async move {
                    let handles: Vec<_> = LETTERS
                        .iter()
                        .map(|&letter| {
                            let strip = strip.clone();
                            tokio::spawn(async move {
                                for _ in 0..prints {
                                    if blocking {
                                        tokio::time::sleep(pause).await;
                                    }
                                    strip.print(letter);
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await
                            .map_err(|e| TechniqueError::Panicked(e.to_string()))?;
                    }
                    Ok::<(), TechniqueError>(())
                }
            })?;
            drop(rt);
            let strip = std::sync::Arc::try_unwrap(strip)
                .map_err(|_| TechniqueError::Setup("a unit outlived its run".into()))?;
            return Ok(Printed {
                letters: strip.take(),
                waited_s: None,
            });
        }
        other => {
            return Err(TechniqueError::Setup(format!(
                "{} cannot run sched",
                other.id()
            )));
        }
    }
    Ok(Printed {
        letters: strip.take(),
        waited_s: None,
    })
}

/// Unit B wants to print a tenth of `--spin` after the start; unit S spins for `--spin`
/// with no blocking point. Returns how long B waited past the moment it wanted.
fn spin_demo(t: JobTechnique, args: &Args) -> Result<Printed, TechniqueError> {
    let strip = std::sync::Arc::new(Strip::new(Duration::ZERO, 2));
    let want = args.spin / 10;
    let busy = args.spin;
    match t {
        JobTechnique::Threads => std::thread::scope(|s| {
            let (a, b) = (strip.clone(), strip.clone());
            s.spawn(move || {
                std::thread::sleep(want);
                a.print(b'B');
            });
            s.spawn(move || {
                spin(busy);
                b.print(b'S');
            });
        }),
        JobTechnique::Tokio | JobTechnique::Tokio1 => {
            let rt = tokio_tasks::runtime(t == JobTechnique::Tokio1)?;
            let (a, b) = (strip.clone(), strip.clone());
            rt.block_on(async move {
                // B first, so it is waiting on its timer when S starts spinning.
                let waiter = tokio::spawn(async move {
                    tokio::time::sleep(want).await;
                    a.print(b'B');
                });
                let spinner = tokio::spawn(async move {
                    spin(busy);
                    b.print(b'S');
                });
                let (x, y) = tokio::join!(waiter, spinner);
                x.and(y)
                    .map_err(|e| TechniqueError::Panicked(e.to_string()))
            })?;
        }
        other => {
            return Err(TechniqueError::Setup(format!(
                "{} has no spin demo",
                other.id()
            )));
        }
    }
    let letters = std::sync::Arc::try_unwrap(strip)
        .map_err(|_| TechniqueError::Setup("a unit outlived its run".into()))?
        .take();
    let printed_b = letters
        .iter()
        .find(|(l, _)| *l == b'B')
        .map(|(_, t)| *t)
        .ok_or_else(|| TechniqueError::Invalid("B never printed".into()))?;
    Ok(Printed {
        waited_s: Some((printed_b - want.as_secs_f64()).max(0.0)),
        letters,
    })
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let techniques = args.common.chosen::<JobTechnique>(&INFO)?;
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let mut result = INFO.result(
        params! {"prints" => args.prints, "pause_s" => args.pause.as_secs_f64(), "print_cost_s" => args.print_cost.as_secs_f64(), "spin_s" => args.spin.as_secs_f64()},
    );
    let expected = args.prints as usize;
    for &v in &args.variant {
        for &t in &techniques {
            // Figure 6 is the sequential program; the concurrent variants need a scheduler.
            if (v == Variant::Sequential) != (t == JobTechnique::Sequential) {
                continue;
            }
            ctx.line(format!("-----> {} on {}", v.id(), t.id()));
            let row = Row::new("rust", t.id(), params! {"variant" => v.id()});
            let least = least_time(args, v, t, ctx.cores());
            let Some(row) =
                ctx.unless_too_long(&mut result, row, &plan, least, ": its prints and pauses")
            else {
                continue;
            };
            let check = |p: &Printed| {
                if v == Variant::Spin {
                    let s_at = p.letters.iter().find(|(l, _)| *l == b'S').map(|(_, t)| *t);
                    return check_spin(&p.strip(), s_at, args.spin);
                }
                match p.counts().iter().position(|c| *c != expected) {
                    Some(i) => Err(format!(
                        "{} printed {} times, expected {expected}",
                        LETTERS[i] as char,
                        p.counts()[i]
                    )),
                    None => Ok(()),
                }
            };
            match measure(&plan, |_| run_variant(t, v, args), check) {
                Ok(m) => {
                    let p = m.last;
                    let mut row = row.with_samples(m.samples_s);
                    row.validated = true;
                    row.peak_rss_bytes = m.peak_rss_bytes;
                    if let Some(w) = p.waited_s {
                        ctx.line(format!(
                            "B wanted to print at {}, printed {} later (S spun {} without a blocking point)",
                            units::secs((args.spin / 10).as_secs_f64()),
                            units::secs(w),
                            units::secs(args.spin.as_secs_f64())
                        ));
                        SchedData {
                            waited_s: Some(w),
                            strip: Some(p.strip()),
                            ..SchedData::default()
                        }
                        .store(&mut row);
                    } else {
                        let strip = p.strip();
                        for line in strip.as_bytes().chunks(STRIP_WIDTH) {
                            ctx.line(String::from_utf8_lossy(line));
                        }
                        let switches = p.switches();
                        let counts = p.counts();
                        let mean_run = p.letters.len() as f64 / (switches + 1) as f64;
                        ctx.line(format!(
                            "{}; {switches} switches, mean run {mean_run:.1}",
                            LETTERS
                                .iter()
                                .zip(counts)
                                .map(|(l, c)| format!("{c} × {}", *l as char))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        SchedData {
                            strip: Some(strip),
                            counts: Some(counts.iter().map(|c| *c as u64).collect()),
                            switches: Some(switches as u64),
                            mean_run: Some(mean_run),
                            ..SchedData::default()
                        }
                        .store(&mut row);
                    }
                    ctx.push(&mut result, row, p.events());
                }
                Err(e) => {
                    ctx.push(&mut result, row.failed(e.to_string()), Vec::new());
                }
            }
        }
    }
    let call = PeerCall::default()
        .flag("--prints", args.prints)
        .secs("--pause", args.pause)
        .secs("--print-cost", args.print_cost)
        .secs("--spin", args.spin)
        .list("--variant", args.variant.iter().map(|v| v.id()));
    let check = |r: &Row| {
        let data = SchedData::parse(r)?;
        match r.param_str("variant") {
            // The peer checked S's time itself; its strip must show each unit once.
            Some("spin") => match (data.waited_s, data.strip) {
                (Some(_), Some(strip)) => check_spin(&strip, None, args.spin),
                (None, _) => Err("no waited_s".to_string()),
                (_, None) => Err("no strip: which units printed is unknown".to_string()),
            },
            Some("facts") => Ok(()),
            _ => match data.counts {
                Some(c) if c.len() == LETTERS.len() && c.iter().all(|n| *n == expected as u64) => {
                    Ok(())
                }
                other => Err(format!(
                    "counts {other:?}, expected {expected} of each letter"
                )),
            },
        }
    };
    ctx.run_peers(&mut result, &args.common, &plan, call, check, |_| false);
    let switches = |t: JobTechnique, v: Variant| {
        result
            .rows
            .iter()
            .find(|r| r.technique == t.id() && r.param_str("variant") == Some(v.id()))
            .and_then(|r| r.data::<SchedData>().switches)
    };
    let go_waited = |t: &str| {
        result
            .rows
            .iter()
            .find(|r| {
                r.language == "go" && r.technique == t && r.param_str("variant") == Some("spin")
            })
            .and_then(|r| r.data::<SchedData>().waited_s)
    };
    let waited = |t: JobTechnique| {
        result
            .rows
            .iter()
            .find(|r| r.technique == t.id() && r.param_str("variant") == Some("spin"))
            .and_then(|r| r.data::<SchedData>().waited_s)
    };
    result.findings = params! {
        "busy_tokio1_switches" => switches(JobTechnique::Tokio1, Variant::Busy),
        "blocking_tokio1_switches" => switches(JobTechnique::Tokio1, Variant::Blocking),
        "spin_waited_s" => params! {"tokio-1" => waited(JobTechnique::Tokio1), "tokio" => waited(JobTechnique::Tokio), "threads" => waited(JobTechnique::Threads),
                                    "go goroutines-1" => go_waited("goroutines-1"), "go goroutines" => go_waited("goroutines")},
        "go_runtime" => result.rows.iter().find(|r| r.language == "go" && r.technique == "runtime" && r.status == Status::Ok).map(|r| r.extra.clone()),
    };
    let params = [Column::new("variant", |r: &Row| {
        r.param_str("variant").unwrap_or("").to_string()
    })];
    let extra = [
        Column::new("switches", |r: &Row| {
            r.data::<SchedData>()
                .switches
                .map_or_else(|| "–".into(), |s| s.to_string())
        }),
        Column::new("mean run", |r: &Row| {
            r.data::<SchedData>()
                .mean_run
                .map_or_else(|| "–".into(), |m| format!("{m:.1}"))
        }),
        Column::new("waited", |r: &Row| {
            r.data::<SchedData>()
                .waited_s
                .map_or_else(|| "–".into(), units::secs)
        }),
    ];
    ctx.print("");
    ctx.print(format!(
        "sched: five units × {} prints; a switch is a change of letter on the strip",
        args.prints
    ));
    ctx.print(terminal::table(&result.rows, &params, &extra).to_string());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_and_counts() {
        let p = Printed {
            letters: b"AABBBA"
                .iter()
                .enumerate()
                .map(|(i, l)| (*l, i as f64))
                .collect(),
            waited_s: None,
        };
        assert_eq!(p.switches(), 2);
        assert_eq!(p.counts(), [3, 3, 0, 0, 0]);
        assert_eq!(p.strip(), "AABBBA");
        assert_eq!(p.events().iter().filter(|e| e.kind == "switch").count(), 2);
    }

    #[test]
    fn spin_rows_are_checked() {
        let spin = Duration::from_millis(100);
        assert_eq!(check_spin("BS", Some(0.1), spin), Ok(()));
        assert_eq!(check_spin("SB", Some(0.1), spin), Ok(()));
        assert_eq!(check_spin("BS", None, spin), Ok(()));
        // A unit missing, printing twice, or a stranger on the strip.
        assert!(check_spin("S", Some(0.1), spin).is_err());
        assert!(check_spin("BSS", Some(0.1), spin).is_err());
        assert!(check_spin("BA", Some(0.1), spin).is_err());
        // S printed before it could have spun.
        assert!(check_spin("SB", Some(0.01), spin).is_err());
    }
}
