//! `map`: the paper's Figure 5 (§2.6), three tasks sleeping 1, 5 and 3 units sent
//! through a pool with each of `map`, `map_async`, `imap` and `imap_unordered`.
//!
//! Claims tested: `map` hands back nothing until every task is done; `imap` hands
//! results back in input order as soon as the order allows; `imap_unordered` in the
//! order they finish; `map_async` returns at once and its results wait in a handle.
//! With `--memory N`, also the §2.6 claim that `map` materialises its input while
//! `imap` need not: peak memory of each call over a lazy input, each in its own process.

use super::{CommonArgs, Ctx, Info, PeerCall, Scale, child_report};
use crate::error::{ParlabError, TechniqueError};
use crate::limits::{self, Machine};
use crate::measure::{measure, memory};
use crate::params;
use crate::parse;
use crate::pool::task::{Sleep, Slept, Square, unix_ns};
use crate::pool::{ItemResult, Pool};
use crate::report::charts::ChartKind;
use crate::report::terminal::{self, Column};
use crate::results::{Event, ExperimentResult, Params, Row, RowData};
use crate::techniques::{PoolTechnique, Technique};
use crate::units;
use crate::units::at;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant, SystemTime};

pub const INFO: Info = Info {
    id: "map",
    paper_ref: "Figure 5, §2.6",
    gist: "Tasks sleeping 1, 5 and 3 seconds through a Pool: map hands results back only at the end, imap in input order as they land, imap_unordered as each one finishes.",
    techniques: &[Technique::PoolThreads, Technique::PoolProcesses],
    runs: 1,
    warmup: 0,
    charts: |_| vec![ChartKind::Timelines],
    python: &["pool-threads", "pool-processes"],
    go: &[],
    reproduce_args,
    claims: crate::claims::map::CLAIMS,
};

/// A map row's own values (`Row::extra`). A timeline row keeps when each task finished
/// and reached the caller, in units, and whether its call kept the paper's promise; a
/// memory row keeps how much the process grew.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MapData {
    /// The tasks' values in the order the caller received them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_order: Option<Vec<u64>>,
    /// When each task finished, in input order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_units: Option<Vec<f64>>,
    /// When the caller received each task's result, in input order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_units: Option<Vec<f64>>,
    /// When map_async handed back its handle. A timeline row of any other call says
    /// null, as the peers' rows do, rather than leaving the key out; hence two levels:
    /// the outer `None` is no key, `Some(None)` is null.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "null_is_a_value"
    )]
    pub returned_units: Option<Option<f64>>,
    /// The promise of each call, as this run kept it or not (`MapData::promise`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_after_slowest: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returned_before_first_finish: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_input_order: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_completion_order: Option<bool>,
    /// Memory rows: resident memory before the call, and how much the call added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_rss_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_item: Option<f64>,
}

/// A present null as `Some(None)`, so reading a row and storing it again keeps the key.
fn null_is_a_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

impl RowData for MapData {
    /// Keeps `returned_units`' null, which the trait's own `store` would drop; every
    /// other field leaves out what is unset by itself.
    fn store(&self, row: &mut Row) {
        self.store_with_nulls(row);
    }
}

impl MapData {
    /// Whether a run of `call` kept the paper's promise for it, in the field that names
    /// the promise.
    fn promise(call: Call, holds: bool) -> MapData {
        let mut data = MapData::default();
        let field = match call {
            Call::Map => &mut data.delivered_after_slowest,
            Call::MapAsync => &mut data.returned_before_first_finish,
            Call::Imap => &mut data.in_input_order,
            Call::ImapUnordered => &mut data.in_completion_order,
        };
        *field = Some(holds);
        data
    }

    /// The values set, as they go into the row: a promise is reported in the findings
    /// and the notes by its field's name.
    fn values(&self) -> Params {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => Params::new(),
        }
    }
}

/// Figure 5: tasks sleeping 1, 5 and 3 units go through a pool four ways.
///
/// For each of map, map_async, imap and imap_unordered it prints when each task finished
/// and when the caller received it, in the paper's words, over a thread pool
/// (pool-threads, Python's ThreadPool) and a process pool (pool-processes, Python's Pool).
/// With --memory it also measures each call's peak memory over N lazily made items.
/// Techniques: pool-threads, pool-processes. Defaults: 1 run, no warm-up.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Units each task sleeps, in input order
    #[arg(long, value_name = "LIST", default_value = "1,5,3", value_parser = sleeps)]
    pub sleeps: parse::List,

    /// Length of one unit (the paper's is 1s)
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse::duration)]
    pub unit: Duration,

    /// Which pool runs the tasks
    #[arg(long, value_enum, default_value_t = PoolArg::Both)]
    pub pool: PoolArg,

    /// Workers in the pool (the paper used three processes)
    #[arg(long, value_name = "N", default_value = "3", value_parser = parse::int_in(1, 256))]
    pub workers: u64,

    /// Items sent to a worker at a time [default: Python's: 1 for imap and
    /// imap_unordered, about four chunks per worker for map and map_async]
    #[arg(long, value_name = "N", value_parser = parse::int_in(1, 1_000_000))]
    pub chunksize: Option<u64>,

    /// Also measure peak memory of map, imap and imap_unordered over a lazy input of N
    /// small items, each call in its own child process; refused when map's copy of the
    /// input (about 100 bytes an item) would not fit half the free memory [default N:
    /// 1000000]
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000000", value_parser = parse::count)]
    pub memory: Option<u64>,

    /// Internal: be the child process that measures one call's memory
    #[arg(long, value_enum, hide = true)]
    pub memory_child: Option<Call>,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn sleeps(text: &str) -> Result<parse::List, String> {
    let list = parse::bounded_list(text, "sleeps", 0, 1000)?;
    if list.0.len() > 64 {
        return Err("at most 64 sleeps".into());
    }
    Ok(list)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PoolArg {
    Threads,
    Processes,
    Both,
}

/// The four calls of Python's Pool API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Call {
    Map,
    MapAsync,
    Imap,
    ImapUnordered,
}

impl Call {
    const ALL: [Call; 4] = [Call::Map, Call::MapAsync, Call::Imap, Call::ImapUnordered];

    fn id(self) -> &'static str {
        match self {
            Call::Map => "map",
            Call::MapAsync => "map_async",
            Call::Imap => "imap",
            Call::ImapUnordered => "imap_unordered",
        }
    }

    /// The flag spelling, for the memory child's command line.
    fn flag(self) -> &'static str {
        match self {
            Call::Map => "map",
            Call::MapAsync => "map-async",
            Call::Imap => "imap",
            Call::ImapUnordered => "imap-unordered",
        }
    }

    /// Python's default chunk size for this call.
    fn chunksize(self, chosen: Option<u64>) -> Option<usize> {
        match (chosen, self) {
            (Some(c), _) => Some(c as usize),
            (None, Call::Imap | Call::ImapUnordered) => Some(1),
            (None, _) => None,
        }
    }
}

pub fn reproduce_args(scale: Scale) -> Vec<String> {
    let args: &[&str] = match scale {
        Scale::Quick => &["--memory", "200000"],
        Scale::Paper => &["--unit", "1s", "--memory", "1000000"],
    };
    args.iter().map(|s| s.to_string()).collect()
}

pub fn run(args: &Args, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    // map materialises its whole input: too many items would swap or meet the OOM killer.
    if let Some(items) = args.memory {
        limits::check_map_items(&Machine::read(), items).map_err(ParlabError::Usage)?;
    }
    if let Some(call) = args.memory_child {
        return memory_child(args, call, ctx);
    }
    let wanted = match args.pool {
        PoolArg::Threads => &[PoolTechnique::PoolThreads][..],
        PoolArg::Processes => &[PoolTechnique::PoolProcesses],
        PoolArg::Both => PoolTechnique::ALL,
    };
    let techniques: Vec<PoolTechnique> = args
        .common
        .chosen::<PoolTechnique>(&INFO)?
        .into_iter()
        .filter(|t| wanted.contains(t))
        .collect();
    let plan = args.common.plan(INFO.runs, INFO.warmup);
    let sleeps: Vec<u64> = args.sleeps.0.iter().map(|s| *s as u64).collect();
    let workers = args.workers as usize;
    let mut result = INFO.result(
        params! {"sleeps" => sleeps, "unit_s" => args.unit.as_secs_f64(), "workers" => workers, "chunksize" => args.chunksize},
    );

    for t in techniques {
        let pool = match t {
            PoolTechnique::PoolProcesses => Pool::processes(workers, &ctx.worker_exe, 0),
            _ => Pool::threads(workers),
        };
        let mut semantics = Params::new();
        for call in Call::ALL {
            ctx.line(format!("-----> TESTING: {} ({})", call.id(), t.id()));
            let chunksize = call.chunksize(args.chunksize);
            let row = Row::new(
                "rust",
                t.id(),
                params! {"call" => call.id(), "workers" => workers, "chunksize" => chunksize},
            );
            // The tasks only sleep: no schedule of their sleeps on the workers is shorter.
            let total: u64 = sleeps.iter().sum();
            let longest = sleeps.iter().copied().max().unwrap_or(0);
            let least = args
                .unit
                .mul_f64((total as f64 / workers as f64).max(longest as f64));
            let Some(row) = ctx.unless_too_long(&mut result, row, &plan, least, ": its sleeps")
            else {
                continue;
            };
            let pool = match &pool {
                Ok(p) => p,
                Err(e) => {
                    ctx.push(&mut result, row.failed(e.to_string()), Vec::new());
                    continue;
                }
            };
            let measured = measure(
                &plan,
                |_| timeline(pool, call, &sleeps, args.unit, chunksize),
                |tl| tl.validate(&sleeps),
            );
            match measured {
                Ok(m) => {
                    let tl = m.last;
                    for line in tl.paper_lines(args.unit) {
                        ctx.line(line);
                    }
                    let holds = tl.semantics(call);
                    let promise = MapData::promise(call, holds);
                    let shown = promise.values();
                    semantics.insert(call.id().into(), shown.clone().into());
                    let mut row = row.with_samples(m.samples_s);
                    row.validated = true;
                    tl.data(args.unit).store(&mut row);
                    promise.store(&mut row);
                    if !holds && let Some(name) = shown.keys().next() {
                        row.note(format!("expected {name}, not seen in this run"));
                    }
                    ctx.push(&mut result, row, tl.events());
                }
                Err(e) => {
                    ctx.push(&mut result, row.failed(e.to_string()), Vec::new());
                }
            }
        }
        result.findings.insert(t.id().into(), semantics.into());
    }

    if let Some(items) = args.memory {
        memory_rows(args, items, ctx, &mut result);
    }
    peer_rows(args, &plan, ctx, &mut result);
    print_table(ctx, &result.rows, args.unit);
    Ok(result)
}

/// One task's life as the caller saw it, in seconds from the call.
#[derive(Clone, Debug)]
struct Item {
    value: u64,
    started_s: f64,
    finished_s: f64,
    received_s: f64,
    worker: String,
}

/// What one call did: items in the order the caller received them.
#[derive(Clone, Debug)]
struct Timeline {
    received: Vec<(usize, Item)>,
    /// When `map_async` handed back its handle.
    returned_s: Option<f64>,
}

fn timeline(
    pool: &Pool,
    call: Call,
    sleeps: &[u64],
    unit: Duration,
    chunksize: Option<usize>,
) -> Result<Timeline, TechniqueError> {
    let task = Sleep {
        unit_ns: unit.as_nanos() as u64,
    };
    let wall0 = unix_ns(SystemTime::now());
    let t0 = Instant::now();
    let input = sleeps.iter().copied();
    let mut got: Vec<(Option<usize>, ItemResult<Slept>, f64)> = Vec::new();
    let mut returned_s = None;
    match call {
        Call::Map | Call::MapAsync => {
            let results = if call == Call::Map {
                pool.map(&task, input, chunksize)
            } else {
                let handle = pool.map_async(&task, input, chunksize);
                returned_s = Some(t0.elapsed().as_secs_f64());
                handle.get()
            };
            let at = t0.elapsed().as_secs_f64();
            got.extend(
                results
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| (Some(i), r, at)),
            );
        }
        Call::Imap => {
            for (i, r) in pool.imap(&task, input, chunksize.unwrap_or(1)).enumerate() {
                got.push((Some(i), r, t0.elapsed().as_secs_f64()));
            }
        }
        Call::ImapUnordered => {
            // Results come back without their position: give each the first unclaimed
            // input with its value (equal sleeps are interchangeable).
            let mut claimed = vec![false; sleeps.len()];
            for r in pool.imap_unordered(&task, input, chunksize.unwrap_or(1)) {
                let at = t0.elapsed().as_secs_f64();
                let index = r.as_ref().ok().and_then(|s| {
                    let i = (0..sleeps.len()).find(|i| !claimed[*i] && sleeps[*i] == s.value)?;
                    claimed[i] = true;
                    Some(i)
                });
                got.push((index, r, at));
            }
        }
    }
    let since = |ns: u64| ns.saturating_sub(wall0) as f64 / 1e9;
    let mut received = Vec::with_capacity(got.len());
    for (index, r, at) in got {
        let slept = r.map_err(|e| TechniqueError::Item(e.to_string()))?;
        let index = index.ok_or_else(|| {
            TechniqueError::Invalid(format!(
                "a result of {} units nobody asked for",
                slept.value
            ))
        })?;
        received.push((
            index,
            Item {
                value: slept.value,
                started_s: since(slept.started_unix_ns),
                finished_s: since(slept.finished_unix_ns),
                received_s: at,
                worker: slept.worker,
            },
        ));
    }
    Ok(Timeline {
        received,
        returned_s,
    })
}

impl Timeline {
    fn validate(&self, sleeps: &[u64]) -> Result<(), String> {
        if self.received.len() != sleeps.len() {
            return Err(format!(
                "{} results for {} tasks",
                self.received.len(),
                sleeps.len()
            ));
        }
        let mut seen = vec![false; sleeps.len()];
        for (i, item) in &self.received {
            if item.value != sleeps[*i] || std::mem::replace(&mut seen[*i], true) {
                return Err(format!("task {i} came back as {} units", item.value));
            }
        }
        Ok(())
    }

    /// The paper's lines: each finish and each hand-over, in time order.
    fn paper_lines(&self, unit: Duration) -> Vec<String> {
        let mut moments: Vec<(f64, u8, String)> = Vec::new();
        for (_, item) in &self.received {
            moments.push((
                item.finished_s,
                0,
                format!("{} (Finished {})", item.value, at(item.finished_s, unit)),
            ));
            moments.push((
                item.received_s,
                1,
                format!(
                    "{} (Time elapsed {})",
                    item.value,
                    at(item.received_s, unit)
                ),
            ));
        }
        if let Some(r) = self.returned_s {
            moments.push((
                r,
                0,
                format!(
                    "map_async returned {}: the caller is free, the results wait in the handle",
                    at(r, unit)
                ),
            ));
        }
        moments.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        moments.into_iter().map(|(_, _, line)| line).collect()
    }

    /// Whether this run showed the behaviour the paper describes for `call`.
    fn semantics(&self, call: Call) -> bool {
        let items = || self.received.iter().map(|(_, item)| item);
        let last_finish = items().map(|i| i.finished_s).fold(0.0, f64::max);
        let first_finish = items().map(|i| i.finished_s).fold(f64::INFINITY, f64::min);
        // Clocks of two processes may differ by a hair; a millisecond covers it.
        const SLACK: f64 = 1e-3;
        match call {
            Call::Map => items().all(|i| i.received_s + SLACK >= last_finish),
            Call::MapAsync => {
                self.returned_s.is_some_and(|r| r <= first_finish + SLACK)
                    && items().all(|i| i.received_s + SLACK >= last_finish)
            }
            Call::Imap => self.received.iter().enumerate().all(|(k, (i, _))| k == *i),
            Call::ImapUnordered => self
                .received
                .windows(2)
                .all(|w| w[0].1.finished_s <= w[1].1.finished_s + SLACK),
        }
    }

    fn data(&self, unit: Duration) -> MapData {
        let u = unit.as_secs_f64();
        let mut by_input: Vec<&(usize, Item)> = self.received.iter().collect();
        by_input.sort_by_key(|(i, _)| *i);
        MapData {
            received_order: Some(self.received.iter().map(|(_, item)| item.value).collect()),
            finished_units: Some(
                by_input
                    .iter()
                    .map(|(_, item)| item.finished_s / u)
                    .collect(),
            ),
            received_units: Some(
                by_input
                    .iter()
                    .map(|(_, item)| item.received_s / u)
                    .collect(),
            ),
            returned_units: Some(self.returned_s.map(|r| r / u)),
            ..MapData::default()
        }
    }

    fn events(&self) -> Vec<Event> {
        let event = |t_s: f64, lane: &str, kind: &str, label: String| Event {
            row: 0,
            t_s,
            lane: lane.into(),
            kind: kind.into(),
            label,
        };
        let mut events = Vec::new();
        for (i, item) in &self.received {
            let label = format!("task {} ({} units)", i + 1, item.value);
            events.push(event(item.started_s, &item.worker, "start", label.clone()));
            events.push(event(item.finished_s, &item.worker, "end", label.clone()));
            events.push(event(item.received_s, "caller", "receive", label));
        }
        if let Some(r) = self.returned_s {
            events.push(event(r, "caller", "return", "map_async returned".into()));
        }
        events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        events
    }
}

/// What a memory child reports on its last stdout line.
#[derive(Debug, Serialize, Deserialize)]
struct MemoryReport {
    call: String,
    items: u64,
    seconds: f64,
    baseline_rss_bytes: Option<u64>,
    peak_rss_bytes: Option<u64>,
    checksum: u64,
    errors: u64,
}

/// The sum of all squares (wrapping), which every call must reproduce.
fn expected_checksum(items: u64) -> u64 {
    (0..items).fold(0u64, |sum, x| sum.wrapping_add(x.wrapping_mul(x)))
}

/// Runs one call over `items` lazily made numbers in this process and reports memory.
fn memory_child(args: &Args, call: Call, ctx: &mut Ctx) -> Result<ExperimentResult, ParlabError> {
    let items = args.memory.unwrap_or(1_000_000);
    let pool =
        Pool::threads(args.workers as usize).map_err(|e| ParlabError::Usage(e.to_string()))?;
    memory::reset_peak();
    let baseline = memory::peak_rss_bytes();
    let started = Instant::now();
    let chunksize = call.chunksize(args.chunksize);
    let input = 0..items;
    let results: Box<dyn Iterator<Item = ItemResult<u64>>> = match call {
        Call::Map => Box::new(pool.map(&Square, input, chunksize).into_iter()),
        Call::MapAsync => Box::new(pool.map_async(&Square, input, chunksize).get().into_iter()),
        Call::Imap => Box::new(pool.imap(&Square, input, chunksize.unwrap_or(1))),
        Call::ImapUnordered => {
            Box::new(pool.imap_unordered(&Square, input, chunksize.unwrap_or(1)))
        }
    };
    let (mut checksum, mut errors) = (0u64, 0u64);
    for r in results {
        match r {
            Ok(v) => checksum = checksum.wrapping_add(v),
            Err(_) => errors += 1,
        }
    }
    let report = MemoryReport {
        call: call.id().into(),
        items,
        seconds: started.elapsed().as_secs_f64(),
        baseline_rss_bytes: baseline,
        peak_rss_bytes: memory::peak_rss_bytes(),
        checksum,
        errors,
    };
    ctx.print(serde_json::to_string(&report).expect("reports serialise"));
    Ok(INFO.result(Params::new()))
}

/// One child process per call, so no call inherits another's peak.
fn memory_rows(args: &Args, items: u64, ctx: &mut Ctx, result: &mut ExperimentResult) {
    let expected = expected_checksum(items);
    for call in [Call::Map, Call::Imap, Call::ImapUnordered] {
        ctx.line(format!(
            "-----> MEMORY: {} over {items} lazily made items (thread pool, own process)",
            call.id()
        ));
        let mut row = Row::new(
            "rust",
            PoolTechnique::PoolThreads.id(),
            params! {"call" => call.id(), "mode" => "memory", "items" => items, "workers" => args.workers, "chunksize" => call.chunksize(args.chunksize)},
        );
        let mut argv: Vec<String> = [
            "map",
            "--quiet",
            "--memory",
            &items.to_string(),
            "--memory-child",
            call.flag(),
            "--workers",
            &args.workers.to_string(),
        ]
        .map(String::from)
        .to_vec();
        if let Some(c) = args.chunksize {
            argv.extend(["--chunksize".to_string(), c.to_string()]);
        }
        let report: Result<MemoryReport, String> = child_report(ctx, &argv, args.common.timeout);
        match report {
            Ok(r) if r.checksum == expected && r.errors == 0 => {
                row = row.with_samples(vec![r.seconds]);
                row.validated = true;
                row.peak_rss_bytes = r.peak_rss_bytes;
                if let (Some(peak), Some(base)) = (r.peak_rss_bytes, r.baseline_rss_bytes) {
                    let growth = peak.saturating_sub(base);
                    MapData {
                        baseline_rss_bytes: Some(base),
                        growth_bytes: Some(growth),
                        bytes_per_item: Some(growth as f64 / items as f64),
                        ..MapData::default()
                    }
                    .store(&mut row);
                    ctx.line(format!(
                        "peak {} over a start of {}: {:.1} bytes per item",
                        units::bytes(peak),
                        units::bytes(base),
                        growth as f64 / items as f64
                    ));
                }
            }
            Ok(r) => {
                row = row.failed(format!(
                    "wrong result: checksum {} (expected {expected}), {} item errors",
                    r.checksum, r.errors
                ))
            }
            Err(e) => row = row.failed(e),
        }
        ctx.push(result, row, Vec::new());
    }
}

fn print_table(ctx: &mut Ctx, rows: &[Row], unit: Duration) {
    let u = unit.as_secs_f64();
    let list = |values: Option<Vec<String>>| values.unwrap_or_default().join(", ");
    let in_units = |values: Option<Vec<f64>>| {
        list(values.map(|a| a.iter().map(|f| format!("{f:.1}")).collect()))
    };
    let timeline: Vec<&Row> = rows
        .iter()
        .filter(|r| r.param_str("mode").is_none())
        .collect();
    if !timeline.is_empty() {
        ctx.print("");
        ctx.print(format!(
            "map: when the caller got each task's result (unit = {}); tasks listed in input order",
            units::secs(u)
        ));
        let params = [Column::new("call", |r: &Row| {
            r.param_str("call").unwrap_or("").to_string()
        })];
        let extra = [
            Column::new("finished (units)", |r: &Row| {
                in_units(MapData::of(r).finished_units)
            }),
            Column::new("received (units)", |r: &Row| {
                in_units(MapData::of(r).received_units)
            }),
            Column::new("received order", |r: &Row| {
                let order = MapData::of(r).received_order;
                list(order.map(|a| a.iter().map(u64::to_string).collect()))
            }),
        ];
        ctx.print(terminal::table(timeline, &params, &extra).to_string());
    }
    let memory: Vec<&Row> = rows
        .iter()
        .filter(|r| r.param_str("mode") == Some("memory"))
        .collect();
    if !memory.is_empty() {
        let params = [
            Column::new("call", |r: &Row| {
                r.param_str("call").unwrap_or("").to_string()
            }),
            Column::new("items", |r: &Row| {
                r.param_u64("items")
                    .map_or_else(String::new, |n| n.to_string())
            }),
        ];
        let extra = [
            Column::new("growth", |r: &Row| {
                MapData::of(r)
                    .growth_bytes
                    .map_or_else(|| "–".into(), units::bytes)
            }),
            Column::new("bytes/item", |r: &Row| {
                MapData::of(r)
                    .bytes_per_item
                    .map_or_else(|| "–".into(), |b| format!("{b:.1}"))
            }),
        ];
        ctx.print("map --memory: peak memory of each call over a lazy input, each call in its own process");
        ctx.print(terminal::table(memory, &params, &extra).to_string());
    }
}

/// Python's own Pool and ThreadPool on the same sleeps (the paper's Figure 5 is theirs);
/// each row must hand back exactly the inputs.
fn peer_rows(
    args: &Args,
    plan: &crate::measure::Plan,
    ctx: &mut Ctx,
    result: &mut ExperimentResult,
) {
    let mut call = PeerCall::default()
        .list("--sleeps", &args.sleeps.0)
        .secs("--unit", args.unit)
        .flag("--workers", args.workers)
        .flag("--memory", args.memory.unwrap_or(0));
    match args.pool {
        PoolArg::Threads => call = call.exclude(PoolTechnique::PoolProcesses.id()),
        PoolArg::Processes => call = call.exclude(PoolTechnique::PoolThreads.id()),
        PoolArg::Both => {}
    }
    let mut want: Vec<u64> = args.sleeps.0.iter().map(|s| *s as u64).collect();
    want.sort_unstable();
    let check = |r: &Row| {
        let data = MapData::parse(r)?;
        if r.param_str("mode") == Some("memory") {
            return match data.growth_bytes {
                Some(_) if r.validated => Ok(()),
                _ => Err("a memory row without a validated growth".into()),
            };
        }
        let mut got = data.received_order.unwrap_or_default();
        got.sort_unstable();
        if got == want {
            Ok(())
        } else {
            Err(format!("received {got:?} for the sleeps {want:?}"))
        }
    };
    ctx.run_peers(result, &args.common, plan, call, check, |_| false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::assert_fixture_round_trips;

    #[test]
    fn rows_keep_their_json() {
        // The fixture's timeline rows carry `"returned_units": null`.
        assert_fixture_round_trips::<MapData>("map");
    }

    #[test]
    fn promises_are_named_by_their_fields() {
        let names: Vec<String> = Call::ALL
            .iter()
            .map(|c| {
                MapData::promise(*c, true)
                    .values()
                    .keys()
                    .cloned()
                    .collect()
            })
            .collect();
        assert_eq!(
            names,
            [
                "delivered_after_slowest",
                "returned_before_first_finish",
                "in_input_order",
                "in_completion_order"
            ]
        );
    }

    #[test]
    fn python_rows_read_as_map_values() {
        let mut row = Row::new("python", "pool-threads", Params::new());
        row.extra = crate::params! {"received_order" => [1, 3, 5], "finished_units" => [1.0, 5.0, 3.0],
        "received_units" => [1.0, 5.0, 3.0], "returned_units" => None::<f64>};
        let data = MapData::parse(&row).unwrap();
        assert_eq!(data.received_order, Some(vec![1, 3, 5]));
        assert_eq!(data.returned_units, Some(None));
        row.extra = crate::params! {"baseline_rss_bytes" => None::<u64>, "growth_bytes" => 1000, "bytes_per_item" => 0.5};
        assert_eq!(MapData::parse(&row).unwrap().growth_bytes, Some(1000));
    }

    #[test]
    fn checksum_of_squares() {
        assert_eq!(expected_checksum(4), 1 + 4 + 9);
    }

    #[test]
    fn python_default_chunksizes() {
        assert_eq!(Call::Imap.chunksize(None), Some(1));
        assert_eq!(Call::Map.chunksize(None), None);
        assert_eq!(Call::Map.chunksize(Some(5)), Some(5));
    }
}
