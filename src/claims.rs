//! The paper's claims, each checked against what this run measured.
//!
//! A claim is split into the parts the numbers can settle; each part is true, false or
//! not measured. All measured parts true is `confirmed`, all false `refuted`, a mix
//! `partly`, none measured `not-tested` (with why). The evidence gives the numbers
//! first and then, in a sentence or two, what they mean. Thresholds are generous on
//! purpose: a verdict must not flip with the noise of a shared two-core machine.

use crate::results::{Claim, ExperimentResult, ResultsDoc, Row, Status};
use crate::units::{bytes, secs};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Confirmed,
    Refuted,
    Partly,
    NotTested,
}

impl Verdict {
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Refuted => "refuted",
            Verdict::Partly => "partly",
            Verdict::NotTested => "not-tested",
        }
    }

    /// The verdict of a claim from its parts (`None`: that part was not measured).
    pub fn of(parts: &[Option<bool>]) -> Verdict {
        let measured: Vec<bool> = parts.iter().flatten().copied().collect();
        if measured.is_empty() {
            Verdict::NotTested
        } else if measured.iter().all(|p| *p) {
            Verdict::Confirmed
        } else if measured.iter().all(|p| !*p) {
            Verdict::Refuted
        } else {
            Verdict::Partly
        }
    }
}

/// What one check found: its parts and the evidence in words.
struct Finding {
    parts: Vec<Option<bool>>,
    evidence: String,
}

impl Finding {
    fn untested(why: impl Into<String>) -> Finding {
        Finding {
            parts: Vec::new(),
            evidence: format!("not measured: {}", why.into()),
        }
    }
}

type Check = fn(&Results) -> Finding;

/// The claims of DESIGN.md: id, paper reference, the claim in our words, its check.
const CLAIMS: &[(&str, &str, &str, Check)] = &[
    (
        "cpu-threads-slower",
        "§2.4, Figure 2",
        "On CPU-bound work CPython threads are no faster than one thread, and processes are the fastest way to count.",
        cpu_threads_slower,
    ),
    (
        "float-chunks-confound",
        "Figure 2",
        "The paper's parallel counters count float chunks (count/5) while its sequential counter counts an int, which may skew the comparison.",
        float_chunks,
    ),
    (
        "io-threads-win",
        "§2.4, Figure 4",
        "Threads win on I/O-bound work; processes lose because starting the pool costs more than they save.",
        io_threads_win,
    ),
    (
        "python-threads-not-os",
        "§2.4",
        "Python threads are not OS threads, and the interpreter switches between them every 100 bytecodes.",
        python_threads_not_os,
    ),
    (
        "map-blocks-imap-streams",
        "§2.6, Figure 5",
        "map hands back results only when every task is done; imap hands them back in input order as they arrive; imap_unordered in the order they finish.",
        map_semantics,
    ),
    (
        "imap-less-memory",
        "§2.6",
        "map turns its whole input into a list first, so imap needs less memory over a large input.",
        imap_memory,
    ),
    (
        "goroutines-small",
        "§3.2",
        "A goroutine starts at about 2 KB, so millions fit, while an OS thread takes one to two megabytes.",
        goroutines_small,
    ),
    (
        "goroutine-runs-until-blocks",
        "§3.3, Figure 8",
        "A goroutine keeps its thread until it finishes or blocks.",
        runs_until_blocks,
    ),
    (
        "gomaxprocs-default",
        "§3.3",
        "GOMAXPROCS defaulted to 1 in Go versions before 1.15.",
        gomaxprocs_default,
    ),
    (
        "main-kills-goroutines",
        "§3.4",
        "When main returns, units still running die with it; waiting on a wait group lets them finish.",
        main_kills,
    ),
    (
        "capacity-one-blocks",
        "§3.5, Figure 9",
        "A channel of capacity one takes one value; the second send waits until a receiver takes the first.",
        capacity_one,
    ),
    (
        "select-serves-both",
        "§3.6, Figure 11",
        "select serves both channels as their messages arrive, so each producer goes at its own rate (about 4:1).",
        select_both,
    ),
    (
        "pool-plateau",
        "§3.7, Figure 12",
        "More workers finish sooner on a multicore machine, up to a plateau; the uneven curve comes from the order of the jobs.",
        pool_plateau,
    ),
    (
        "refcount-lost-updates",
        "§2.2–2.3",
        "Unsynchronised reference-count updates from several threads lose updates, which is why CPython has a GIL.",
        lost_updates,
    ),
    (
        "language-vs-technique",
        "§1",
        "Compiled languages are faster on CPU-bound work, but the choice of technique matters more than the language.",
        language_vs_technique,
    ),
];

/// Every claim's verdict on `doc`, in DESIGN.md's order.
pub fn evaluate(doc: &ResultsDoc) -> Vec<Claim> {
    let results = Results(doc);
    CLAIMS
        .iter()
        .map(|(id, paper_ref, claim, check)| {
            let f = check(&results);
            Claim {
                id: id.to_string(),
                paper_ref: paper_ref.to_string(),
                claim: claim.to_string(),
                verdict: Verdict::of(&f.parts).id().to_string(),
                evidence: f.evidence,
            }
        })
        .collect()
}

/// Read access to a results document by experiment, language and technique.
struct Results<'a>(&'a ResultsDoc);

impl<'a> Results<'a> {
    fn experiment(&self, id: &str) -> Option<&'a ExperimentResult> {
        self.0.experiments.iter().find(|e| e.experiment == id)
    }

    /// The ok rows of an experiment in a language.
    fn rows(&self, exp: &str, language: &str) -> Vec<&'a Row> {
        self.experiment(exp)
            .map(|e| {
                e.rows
                    .iter()
                    .filter(|r| r.status == Status::Ok && r.language == language)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn row(
        &self,
        exp: &str,
        language: &str,
        technique: &str,
        pred: impl Fn(&Row) -> bool,
    ) -> Option<&'a Row> {
        self.rows(exp, language)
            .into_iter()
            .find(|r| r.technique == technique && pred(r))
    }

    fn median(
        &self,
        exp: &str,
        language: &str,
        technique: &str,
        pred: impl Fn(&Row) -> bool,
    ) -> Option<f64> {
        self.row(exp, language, technique, pred)
            .and_then(|r| r.median_s)
    }

    /// Why a language's rows are missing: the skipped row's message, if any.
    fn why_missing(&self, exp: &str, language: &str) -> String {
        let skipped = self.experiment(exp).and_then(|e| {
            e.rows
                .iter()
                .find(|r| r.language == language && r.status != Status::Ok)
                .and_then(|r| r.message.clone())
        });
        match (self.experiment(exp), skipped) {
            (None, _) => format!("the {exp} experiment did not run"),
            (_, Some(why)) => format!("no {language} rows in {exp} ({why})"),
            (_, None) => format!("no {language} rows in {exp} (--peers left them out)"),
        }
    }
}

fn int_chunks(r: &Row) -> bool {
    r.param_str("chunk_type") != Some("float")
}

fn float_chunks_row(r: &Row) -> bool {
    r.param_str("chunk_type") == Some("float")
}

fn any(_: &Row) -> bool {
    true
}

fn ratio(a: f64, b: f64) -> String {
    format!("{:.2}×", a / b)
}

fn cpu_threads_slower(r: &Results) -> Finding {
    let m = |t| r.median("count", "python", t, int_chunks);
    let (Some(seq), Some(thr), Some(procs)) = (m("sequential"), m("threads"), m("processes"))
    else {
        return Finding::untested(r.why_missing("count", "python"));
    };
    let threads_no_gain = seq / thr < 1.1;
    let processes_fastest = procs < seq.min(thr) && seq / procs > 1.1;
    let rust = r
        .median("count", "rust", "sequential", any)
        .zip(r.median("count", "rust", "threads", any));
    Finding {
        parts: vec![Some(threads_no_gain), Some(processes_fastest)],
        evidence: format!(
            "Python count: sequential {}, threads {} ({} of sequential's speed), processes {} ({}){}. {}",
            secs(seq),
            secs(thr),
            ratio(seq, thr),
            secs(procs),
            ratio(seq, procs),
            rust.map_or_else(String::new, |(s, t)| format!(
                "; Rust threads reach {}",
                ratio(s, t)
            )),
            if threads_no_gain {
                "The GIL lets one thread count at a time, so threads add switching and no speed; processes each have their own interpreter."
            } else {
                "Python threads beat the single loop here although one GIL lets only one of them count at a time, so the gain is not parallelism: CPython counts five small chunks faster than one large one, and a busy machine widens the gap (a free-threaded CPython would be another cause)."
            }
        ),
    }
}

fn float_chunks(r: &Results) -> Finding {
    let int = r.median("count", "python", "sequential", int_chunks);
    let float = r.median("count", "python", "sequential", float_chunks_row);
    let (Some(int), Some(float)) = (int, float) else {
        return Finding::untested(r.why_missing("count", "python"));
    };
    let confound = float / int > 1.1 || int / float > 1.1;
    Finding {
        parts: vec![Some(confound)],
        evidence: format!(
            "Python sequential count: int {} against float {} ({} the int time). {}",
            secs(int),
            secs(float),
            ratio(float, int),
            match (confound, float > int) {
                (true, true) =>
                    "Counting a float costs more than an int, so the paper's parallel rows did more work per step than its sequential row and look slower than they are.",
                (true, false) =>
                    "Counting a float costs less than an int here, so the paper's parallel rows did less work per step than its sequential row.",
                _ => "Within 10 %, so the mixed types do not skew Figure 2 on this interpreter.",
            }
        ),
    }
}

fn io_threads_win(r: &Results) -> Finding {
    let lang = if r.rows("io", "python").is_empty() {
        "rust"
    } else {
        "python"
    };
    let m = |t| {
        r.median("io", lang, t, |row| {
            row.param_str("how") != Some("bounded pool")
        })
    };
    let (Some(seq), Some(thr), Some(procs)) = (m("sequential"), m("threads"), m("processes"))
    else {
        return Finding::untested(r.why_missing("io", "python"));
    };
    let threads_win = thr < procs && seq / thr > 1.5;
    let processes_lose = procs > thr;
    Finding {
        parts: vec![Some(threads_win), Some(processes_lose)],
        evidence: format!(
            "{lang} io: sequential {}, threads {} ({}), processes {} ({}). Waiting for a reply needs no CPU, so one thread per site overlaps all the waits; processes overlap only as many as there are workers and pay to start them.",
            secs(seq),
            secs(thr),
            ratio(seq, thr),
            secs(procs),
            ratio(seq, procs)
        ),
    }
}

fn python_threads_not_os(r: &Results) -> Finding {
    let Some(facts) = r.row("gil", "python", "facts", any) else {
        return Finding::untested(r.why_missing("gil", "python"));
    };
    let os = facts
        .extra
        .get("threads_are_os_tasks")
        .and_then(Value::as_bool);
    let interval = facts.extra_f64("switch_interval_s");
    let before = facts
        .extra
        .get("os_tasks_before")
        .cloned()
        .unwrap_or_default();
    let during = facts
        .extra
        .get("os_tasks_during")
        .cloned()
        .unwrap_or_default();
    Finding {
        parts: vec![os.map(|os| !os), interval.map(|_| false)],
        evidence: format!(
            "CPython {}: the process had {before} OS tasks before 4 threads started and {during} while they ran; sys.getswitchinterval() = {}. Each Python thread is an OS thread, and since Python 3.2 the switch is a time interval, not a count of bytecodes.",
            facts
                .extra
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            interval.map_or_else(|| "?".into(), secs)
        ),
    }
}

/// Each map row's behaviour against its call's promise, for every language that ran.
fn map_semantics(r: &Results) -> Finding {
    let Some(exp) = r.experiment("map") else {
        return Finding::untested("the map experiment did not run");
    };
    let sleeps: Vec<f64> = exp
        .params
        .get("sleeps")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let mut held = Vec::new();
    let mut broken = Vec::new();
    for row in exp
        .rows
        .iter()
        .filter(|r| r.status == Status::Ok && r.param_str("mode") != Some("memory"))
    {
        let Some(call) = row.param_str("call") else {
            continue;
        };
        let Some(holds) = map_call_holds(row, call, &sleeps) else {
            continue;
        };
        let name = format!("{} {} {call}", row.language, row.technique);
        if holds {
            held.push(name)
        } else {
            broken.push(name)
        }
    }
    if held.is_empty() && broken.is_empty() {
        return Finding::untested("no map rows with timelines");
    }
    let mut parts = vec![Some(true); held.len()];
    parts.extend(vec![Some(false); broken.len()]);
    Finding {
        parts,
        evidence: format!(
            "{} of {} calls behaved as described{}. A pool runs the tasks at once either way; the calls differ only in when the caller may see each result.",
            held.len(),
            held.len() + broken.len(),
            if broken.is_empty() {
                String::new()
            } else {
                format!("; not: {}", broken.join(", "))
            }
        ),
    }
}

fn list(row: &Row, key: &str) -> Vec<f64> {
    row.extra
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// Whether a map row kept its call's promise; `None` without the timings to tell.
/// `sleeps` is the input, in order; a value's position in it is its task.
fn map_call_holds(row: &Row, call: &str, sleeps: &[f64]) -> Option<bool> {
    const SLACK: f64 = 0.05; // units
    let finished = list(row, "finished_units");
    let received = list(row, "received_units");
    let order = list(row, "received_order");
    if finished.is_empty() || finished.len() != received.len() || order.len() != sleeps.len() {
        return None;
    }
    let last = finished.iter().copied().fold(0.0, f64::max);
    let finished_of = |v: &f64| sleeps.iter().position(|s| s == v).map(|p| finished[p]);
    match call {
        "map" | "map_async" => Some(received.iter().all(|t| *t + SLACK >= last)),
        "imap" => {
            Some(order == sleeps && received.iter().zip(&finished).all(|(r, f)| r + SLACK >= *f))
        }
        "imap_unordered" => {
            let times: Option<Vec<f64>> = order.iter().map(finished_of).collect();
            Some(times?.windows(2).all(|w| w[0] <= w[1] + SLACK))
        }
        _ => None,
    }
}

fn imap_memory(r: &Results) -> Finding {
    let mut parts = Vec::new();
    let mut said = Vec::new();
    for lang in ["rust", "python"] {
        let growth = |call: &str| {
            r.row("map", lang, "pool-threads", |row| {
                row.param_str("mode") == Some("memory") && row.param_str("call") == Some(call)
            })
            .and_then(|row| row.extra_f64("bytes_per_item"))
        };
        if let (Some(map), Some(imap)) = (growth("map"), growth("imap")) {
            parts.push(Some(imap < map / 2.0));
            said.push(format!(
                "{lang}: map {map:.0} bytes per item, imap {imap:.0}"
            ));
        }
    }
    if parts.is_empty() {
        return Finding::untested("map ran without --memory");
    }
    Finding {
        parts,
        evidence: format!(
            "{}. Rust's imap reads its input lazily with a bounded number of chunks in flight; Python's imap also reads lazily, but its pool's task feeder pulls the whole input into its queue at once, so on a fast task it holds as much as map does, or more.",
            said.join("; ")
        ),
    }
}

fn goroutines_small(r: &Results) -> Finding {
    let per_unit = |lang, t| {
        r.row("spawn", lang, t, |row| {
            row.param_str("stack")
                .is_none_or(|s| s.starts_with("default"))
        })
        .and_then(|row| Some((row.extra_f64("bytes_per_unit")?, row.param_u64("units")?)))
    };
    let go = per_unit("go", "goroutines");
    let threads = per_unit("rust", "threads").or_else(|| per_unit("python", "threads"));
    if go.is_none() && threads.is_none() {
        return Finding::untested(r.why_missing("spawn", "go"));
    }
    let tokio = per_unit("rust", "tokio");
    let mut said = Vec::new();
    if let Some((b, n)) = go {
        said.push(format!("{n} goroutines took {} each", bytes(b as u64)));
    } else {
        said.push(r.why_missing("spawn", "go"));
    }
    if let Some((b, n)) = threads {
        said.push(format!(
            "{n} OS threads took {} each in resident memory",
            bytes(b as u64)
        ));
    }
    if let Some((b, n)) = tokio {
        said.push(format!("{n} tokio tasks {} each", bytes(b as u64)));
    }
    Finding {
        parts: vec![
            go.map(|(b, _)| b <= 8192.0),
            threads.map(|(b, _)| b >= 1024.0 * 1024.0),
        ],
        evidence: format!(
            "{}. A thread reserves its whole stack (2 MiB in Rust, 8 MiB by default for C and Python) as address space, but the kernel only backs the pages it touches, so the memory it really costs is tens of kilobytes.",
            said.join("; ")
        ),
    }
}

fn runs_until_blocks(r: &Results) -> Finding {
    let spin = r
        .experiment("sched")
        .and_then(|e| e.params.get("spin_s"))
        .and_then(Value::as_f64);
    let waited = |lang, t| {
        r.row("sched", lang, t, |row| {
            row.param_str("variant") == Some("spin")
        })
        .and_then(|row| row.extra_f64("waited_s"))
    };
    let (Some(spin), Some(go)) = (spin, waited("go", "goroutines-1")) else {
        return Finding::untested(r.why_missing("sched", "go"));
    };
    let tokio = waited("rust", "tokio-1");
    Finding {
        parts: vec![Some(go >= 0.8 * spin)],
        evidence: format!(
            "Under GOMAXPROCS=1 a goroutine that wanted to run {} into another's {} spin got the thread {} late{}. Go has preempted such loops asynchronously since Go 1.14; tokio never preempts a task, which is the behaviour the paper describes.",
            secs(spin / 10.0),
            secs(spin),
            secs(go),
            tokio.map_or_else(String::new, |t| format!(
                "; on tokio-1 it waited {}",
                secs(t)
            ))
        ),
    }
}

fn gomaxprocs_default(r: &Results) -> Finding {
    let Some(facts) = r.row("sched", "go", "runtime", any) else {
        return Finding::untested(r.why_missing("sched", "go"));
    };
    let default = facts
        .extra
        .get("gomaxprocs_default")
        .and_then(Value::as_u64);
    let cpus = facts.extra.get("num_cpu").and_then(Value::as_u64);
    Finding {
        parts: vec![default.zip(cpus).map(|(d, c)| d == c), Some(false)],
        evidence: format!(
            "{}: GOMAXPROCS defaults to {} on {} CPUs. The default has been the CPU count since Go 1.5 (its release notes), not since 1.15: the paper has the version wrong, and only the present default can be measured here.",
            facts
                .extra
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("go"),
            default.map_or_else(|| "?".into(), |d| d.to_string()),
            cpus.map_or_else(|| "?".into(), |c| c.to_string())
        ),
    }
}

fn main_kills(r: &Results) -> Finding {
    let Some(exp) = r.experiment("waitgroup") else {
        return Finding::untested("the waitgroup experiment did not run");
    };
    let expected = exp
        .params
        .get("prints")
        .and_then(Value::as_u64)
        .map(|p| p * 5);
    let mut parts = Vec::new();
    let mut said = Vec::new();
    for (lang, t) in [("rust", "threads"), ("rust", "tokio"), ("go", "goroutines")] {
        let printed = |v| {
            r.row("waitgroup", lang, t, |row| {
                row.param_str("variant") == Some(v)
            })
            .and_then(|row| row.extra.get("printed").and_then(Value::as_u64))
        };
        if let (Some(no), Some(wait), Some(all)) = (printed("no-wait"), printed("wait"), expected) {
            parts.push(Some(no < all && wait == all));
            said.push(format!(
                "{lang} {t}: {no} of {all} letters without waiting, {wait} with"
            ));
        }
    }
    if parts.is_empty() {
        return Finding::untested("no waitgroup rows");
    }
    Finding {
        parts,
        evidence: format!(
            "{}. The process ends with main, and every unit still running ends with it.",
            said.join("; ")
        ),
    }
}

fn capacity_one(r: &Results) -> Finding {
    let Some(exp) = r
        .experiment("channel")
        .filter(|e| e.params.get("mode").and_then(Value::as_str) != Some("throughput"))
    else {
        return Finding::untested("the channel timeline did not run");
    };
    let mut parts = Vec::new();
    let mut said = Vec::new();
    for row in exp.rows.iter().filter(|r| r.status == Status::Ok) {
        let (Some(cap), Some(start)) = (
            row.param_u64("capacity"),
            row.extra_f64("receiver_start_units"),
        ) else {
            continue;
        };
        let done = list(row, "completed_units");
        let cap = cap as usize;
        if done.len() <= cap {
            continue;
        }
        // The first `cap` sends go straight in; the next waits for the receiver.
        let holds = done[..cap].iter().all(|t| *t < start - 0.1) && done[cap] >= start - 0.1;
        parts.push(Some(holds));
        said.push(format!(
            "{} {}: send {} went in at {:.2}u, receiver from {:.2}u",
            row.language,
            row.technique,
            cap + 1,
            done[cap],
            start
        ));
    }
    if parts.is_empty() {
        return Finding::untested("no channel timeline rows");
    }
    Finding {
        parts,
        evidence: format!(
            "{}. A bounded channel has room for its capacity and no more; a full one makes the sender wait.",
            said.join("; ")
        ),
    }
}

fn select_both(r: &Results) -> Finding {
    let Some(exp) = r
        .experiment("select")
        .filter(|e| e.params.get("mode").and_then(Value::as_str) != Some("throughput"))
    else {
        return Finding::untested("the select timeline did not run");
    };
    let unit = exp
        .params
        .get("unit_s")
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    let mut parts = Vec::new();
    let mut said = Vec::new();
    for row in exp.rows.iter().filter(|r| r.status == Status::Ok) {
        let counts = row.extra.get("counts");
        let get = |a: &str, b: &str| {
            counts
                .and_then(|c| c.get(a).or_else(|| c.get(b)))
                .and_then(Value::as_u64)
        };
        let (Some(fast), Some(slow)) = (get("500ms", "fast"), get("2s", "slow")) else {
            continue;
        };
        let ratio = fast as f64 / slow.max(1) as f64;
        let wait = row.extra_f64("max_wait_s").unwrap_or(0.0);
        parts.push(Some((3.0..=5.5).contains(&ratio) && wait < unit / 4.0));
        said.push(format!(
            "{} {}: {fast}:{slow} ({ratio:.1}:1), longest wait {}",
            row.language,
            row.technique,
            secs(wait)
        ));
    }
    if parts.is_empty() {
        return Finding::untested("no select rows");
    }
    Finding {
        parts,
        evidence: format!(
            "{}. Neither producer waited for the other: select took whichever message was there.",
            said.join("; ")
        ),
    }
}

fn pool_plateau(r: &Results) -> Finding {
    let cpus = r.0.environment.logical_cpus as u64;
    let speedup = |t: &str, order: &str, pick: &dyn Fn(u64) -> bool| {
        r.rows("pool", "rust")
            .into_iter()
            .filter(|row| {
                row.technique == t
                    && row.param_str("order") == Some(order)
                    && row.param_u64("workers").is_some_and(pick)
            })
            .filter_map(|row| row.speedup)
            .reduce(f64::max)
    };
    let t = "threads";
    let (Some(up_to_cpus), Some(one)) = (
        speedup(t, "ascending", &|w| w <= cpus && w > 1),
        speedup(t, "ascending", &|w| w == 1),
    ) else {
        return Finding::untested(
            "no pool rows for threads with 1 and up to the CPU count of workers",
        );
    };
    let beyond = speedup(t, "ascending", &|w| w > cpus);
    let over = |order: &str| {
        r.row("pool", "rust", t, |row| {
            row.param_str("order") == Some(order) && row.param_u64("workers") == Some(cpus)
        })
        .and_then(|row| row.extra_f64("over_bound"))
    };
    let order_matters = over("ascending")
        .zip(over("largest-first"))
        .map(|(a, l)| l < a * 0.95);
    Finding {
        parts: vec![
            Some(up_to_cpus > one * 1.3),
            beyond.map(|b| b < up_to_cpus * 1.15),
            order_matters,
        ],
        evidence: format!(
            "Rust threads: {:.2}× with 1 worker, best {:.2}× up to {cpus} workers, {} beyond; at {cpus} workers ascending order ran {} the lower bound, largest-first {}. The biggest job alone is over a third of the work, so handing it out last (the paper's ascending order) leaves cores idle at the end.",
            one,
            up_to_cpus,
            beyond.map_or_else(|| "not measured".into(), |b| format!("{b:.2}×")),
            over("ascending").map_or_else(|| "?".into(), |o| format!("{o:.2}×")),
            over("largest-first").map_or_else(|| "? (not run)".into(), |o| format!("{o:.2}×"))
        ),
    }
}

fn lost_updates(r: &Results) -> Finding {
    let Some(found) = r
        .experiment("gil")
        .and_then(|e| e.findings.get("lost_updates"))
    else {
        return Finding::untested("the gil experiment did not run");
    };
    let lost = found.get("racy_lost_any").and_then(Value::as_bool);
    let exact: Vec<&str> = found
        .get("exact")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let python = r
        .row("gil", "python", "racy-threads", any)
        .and_then(|row| row.extra.get("lost_updates").and_then(Value::as_i64));
    Finding {
        parts: vec![lost, Some(!exact.is_empty())],
        evidence: format!(
            "racy threads lost updates: {}; exact with {}{}. A load and a store are two steps, and another thread can store in between; one lock (or an atomic update) makes the pair indivisible.",
            lost.map_or_else(|| "?".into(), |l| l.to_string()),
            if exact.is_empty() {
                "none".into()
            } else {
                exact.join(", ")
            },
            python.map_or_else(String::new, |p| format!(
                "; CPython threads doing counter += 1 under its GIL lost {p}"
            ))
        ),
    }
}

fn language_vs_technique(r: &Results) -> Finding {
    let seq = |lang| r.median("count", lang, "sequential", int_chunks);
    let best = |exp: &str, lang| {
        r.rows(exp, lang)
            .into_iter()
            .filter(|row| int_chunks(row))
            .filter_map(|row| row.speedup)
            .reduce(f64::max)
    };
    let Some(python) = seq("python") else {
        return Finding::untested(r.why_missing("count", "python"));
    };
    let rust = seq("rust");
    let go = seq("go");
    let compiled = rust
        .into_iter()
        .chain(go)
        .map(|c| python / c)
        .reduce(f64::min);
    let count_technique = best("count", "python");
    let io_language = r
        .median("io", "python", "sequential", any)
        .zip(r.median("io", "rust", "sequential", any))
        .map(|(p, q)| p / q);
    let io_technique = best("io", "python");
    Finding {
        parts: vec![
            compiled.map(|c| c > 5.0),
            compiled.zip(count_technique).map(|(c, t)| t > c),
            io_language.zip(io_technique).map(|(l, t)| t > l),
        ],
        evidence: format!(
            "count: Python's sequential loop took {} Rust's or Go's best, while Python's best technique gained {}; io: the languages are {} apart, the techniques {}. On CPU-bound work the language dominates; on waiting, the technique does.",
            compiled.map_or_else(|| "?".into(), |c| format!("{c:.0}×")),
            count_technique.map_or_else(|| "?".into(), |t| format!("{t:.2}×")),
            io_language.map_or_else(|| "?".into(), |l| format!("{l:.2}×")),
            io_technique.map_or_else(|| "?".into(), |t| format!("{t:.2}×"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::env::Environment;
    use crate::params;
    use crate::results::Params;
    use serde_json::json;

    fn row(lang: &str, technique: &str, params: Params, median: f64, extra: Params) -> Row {
        let mut r = Row::new(lang, technique, params);
        r.median_s = Some(median);
        r.extra = extra;
        r
    }

    fn exp(id: &str, params: Params, rows: Vec<Row>) -> ExperimentResult {
        let mut e = ExperimentResult::new(id, "", params);
        e.rows = rows;
        e
    }

    /// The verdict of claim `id` on a document of `experiments`.
    fn verdict(id: &str, experiments: Vec<ExperimentResult>) -> String {
        let mut env = Environment::capture();
        env.logical_cpus = 2;
        let doc = ResultsDoc::new(env, experiments);
        let claim = evaluate(&doc)
            .into_iter()
            .find(|c| c.id == id)
            .expect("a known claim");
        assert!(!claim.evidence.is_empty());
        claim.verdict
    }

    #[test]
    fn parts_make_verdicts() {
        assert_eq!(Verdict::of(&[]), Verdict::NotTested);
        assert_eq!(Verdict::of(&[None, None]), Verdict::NotTested);
        assert_eq!(Verdict::of(&[Some(true), None]), Verdict::Confirmed);
        assert_eq!(Verdict::of(&[Some(false), Some(false)]), Verdict::Refuted);
        assert_eq!(Verdict::of(&[Some(true), Some(false)]), Verdict::Partly);
        assert_eq!(
            evaluate(&ResultsDoc::new(Environment::capture(), Vec::new())).len(),
            CLAIMS.len()
        );
    }

    #[test]
    fn every_claim_is_not_tested_without_its_experiment() {
        let doc = ResultsDoc::new(Environment::capture(), Vec::new());
        for c in evaluate(&doc) {
            assert_eq!(c.verdict, "not-tested", "{}", c.id);
            assert!(
                c.evidence.starts_with("not measured"),
                "{}: {}",
                c.id,
                c.evidence
            );
        }
    }

    fn python_count(seq: f64, threads: f64, processes: f64, float_seq: f64) -> ExperimentResult {
        let int = || params! {"chunk_type" => "int"};
        let mut rows = vec![
            row("rust", "sequential", Params::new(), 0.01, Params::new()),
            row("rust", "threads", Params::new(), 0.005, Params::new()),
            row("python", "sequential", int(), seq, Params::new()),
            row("python", "threads", int(), threads, Params::new()),
            row("python", "processes", int(), processes, Params::new()),
            row(
                "python",
                "sequential",
                params! {"chunk_type" => "float"},
                float_seq,
                Params::new(),
            ),
        ];
        for r in rows.iter_mut().filter(|r| r.language == "python") {
            r.speedup = Some(seq / r.median_s.unwrap());
        }
        exp("count", Params::new(), rows)
    }

    #[test]
    fn cpu_bound_python() {
        let v = |s, t, p| verdict("cpu-threads-slower", vec![python_count(s, t, p, s)]);
        assert_eq!(v(1.0, 1.2, 0.5), "confirmed");
        assert_eq!(v(1.0, 0.5, 0.8), "refuted");
        assert_eq!(v(1.0, 1.2, 1.5), "partly");
        assert_eq!(v(1.0, 0.5, 0.3), "partly");
        let f = |float| {
            verdict(
                "float-chunks-confound",
                vec![python_count(1.0, 1.0, 1.0, float)],
            )
        };
        assert_eq!(f(1.4), "confirmed");
        assert_eq!(f(1.02), "refuted");
        let l = |python_seq| {
            verdict(
                "language-vs-technique",
                vec![python_count(
                    python_seq,
                    python_seq,
                    python_seq / 1.8,
                    python_seq,
                )],
            )
        };
        // Python 100× slower and its best technique 1.8×: the language dominates.
        assert_eq!(l(1.0), "partly");
        // Python only 2× slower: its best technique (1.8×) still loses to the language gap.
        assert_eq!(l(0.02), "refuted");
    }

    #[test]
    fn io_threads() {
        let io = |seq: f64, threads: f64, processes: f64| {
            let r = |t, m| row("python", t, Params::new(), m, Params::new());
            vec![exp(
                "io",
                Params::new(),
                vec![
                    r("sequential", seq),
                    r("threads", threads),
                    r("processes", processes),
                ],
            )]
        };
        assert_eq!(verdict("io-threads-win", io(1.0, 0.2, 0.5)), "confirmed");
        assert_eq!(verdict("io-threads-win", io(1.0, 0.8, 0.9)), "partly");
        assert_eq!(verdict("io-threads-win", io(1.0, 0.9, 0.5)), "refuted");
    }

    #[test]
    fn python_threads_are_os_threads() {
        let facts = |os: bool| {
            vec![exp(
                "gil",
                Params::new(),
                vec![row(
                    "python",
                    "facts",
                    Params::new(),
                    0.0,
                    params! {"threads_are_os_tasks" => os, "switch_interval_s" => 0.005},
                )],
            )]
        };
        assert_eq!(verdict("python-threads-not-os", facts(true)), "refuted");
        assert_eq!(verdict("python-threads-not-os", facts(false)), "partly");
    }

    fn map_row(call: &str, finished: [f64; 3], received: [f64; 3], order: [u64; 3]) -> Row {
        row(
            "rust",
            "pool-threads",
            params! {"call" => call},
            0.5,
            params! {"finished_units" => finished, "received_units" => received, "received_order" => order},
        )
    }

    #[test]
    fn map_calls() {
        let map = |rows| vec![exp("map", params! {"sleeps" => [1, 5, 3]}, rows)];
        let f = [1.0, 5.0, 3.0];
        let good = vec![
            map_row("map", f, [5.0, 5.0, 5.0], [1, 5, 3]),
            map_row("imap", f, [1.0, 5.0, 5.0], [1, 5, 3]),
            map_row("imap_unordered", f, [1.0, 5.0, 3.0], [1, 3, 5]),
        ];
        assert_eq!(verdict("map-blocks-imap-streams", map(good)), "confirmed");
        let mixed = vec![
            map_row("map", f, [1.0, 5.0, 3.0], [1, 3, 5]),
            map_row("imap_unordered", f, [1.0, 5.0, 3.0], [1, 3, 5]),
        ];
        assert_eq!(verdict("map-blocks-imap-streams", map(mixed)), "partly");
        let bad = vec![map_row("imap_unordered", f, [5.0, 5.0, 5.0], [1, 5, 3])];
        assert_eq!(verdict("map-blocks-imap-streams", map(bad)), "refuted");

        let memory = |lang: &str, map: f64, imap: f64| {
            let m = |call, b: f64| {
                row(
                    lang,
                    "pool-threads",
                    params! {"mode" => "memory", "call" => call},
                    0.1,
                    params! {"bytes_per_item" => b},
                )
            };
            vec![m("map", map), m("imap", imap)]
        };
        let both = |rust: Vec<Row>, python: Vec<Row>| {
            verdict(
                "imap-less-memory",
                vec![exp(
                    "map",
                    Params::new(),
                    rust.into_iter().chain(python).collect(),
                )],
            )
        };
        assert_eq!(
            both(memory("rust", 72.0, 1.0), memory("python", 60.0, 10.0)),
            "confirmed"
        );
        assert_eq!(
            both(memory("rust", 72.0, 1.0), memory("python", 60.0, 150.0)),
            "partly"
        );
        assert_eq!(both(memory("rust", 72.0, 80.0), Vec::new()), "refuted");
    }

    #[test]
    fn spawn_memory() {
        let spawn = |go: f64, threads: f64| {
            let r = |lang, t, b: f64| {
                row(
                    lang,
                    t,
                    params! {"units" => 1000, "stack" => "default (2 MiB)"},
                    0.1,
                    params! {"bytes_per_unit" => b},
                )
            };
            vec![exp(
                "spawn",
                Params::new(),
                vec![r("go", "goroutines", go), r("rust", "threads", threads)],
            )]
        };
        assert_eq!(
            verdict("goroutines-small", spawn(2700.0, 10_000.0)),
            "partly"
        );
        assert_eq!(verdict("goroutines-small", spawn(2700.0, 2e6)), "confirmed");
        assert_eq!(
            verdict("goroutines-small", spawn(50_000.0, 10_000.0)),
            "refuted"
        );
    }

    fn sched(waited: f64, facts: Params) -> Vec<ExperimentResult> {
        vec![exp(
            "sched",
            params! {"spin_s" => 0.2},
            vec![
                row(
                    "go",
                    "goroutines-1",
                    params! {"variant" => "spin"},
                    0.2,
                    params! {"waited_s" => waited},
                ),
                row("go", "runtime", params! {"variant" => "facts"}, 0.0, facts),
            ],
        )]
    }

    #[test]
    fn go_scheduler() {
        assert_eq!(
            verdict("goroutine-runs-until-blocks", sched(0.02, Params::new())),
            "refuted"
        );
        assert_eq!(
            verdict("goroutine-runs-until-blocks", sched(0.19, Params::new())),
            "confirmed"
        );
        assert_eq!(
            verdict(
                "gomaxprocs-default",
                sched(0.0, params! {"gomaxprocs_default" => 2, "num_cpu" => 2})
            ),
            "partly"
        );
        assert_eq!(
            verdict(
                "gomaxprocs-default",
                sched(0.0, params! {"gomaxprocs_default" => 1, "num_cpu" => 2})
            ),
            "refuted"
        );
    }

    #[test]
    fn waitgroup_channel_select() {
        let wg = |no_wait: u64| {
            let r = |v, n: u64| {
                row(
                    "go",
                    "goroutines",
                    params! {"variant" => v},
                    0.1,
                    params! {"printed" => n},
                )
            };
            vec![exp(
                "waitgroup",
                params! {"prints" => 101},
                vec![r("no-wait", no_wait), r("wait", 505)],
            )]
        };
        assert_eq!(verdict("main-kills-goroutines", wg(0)), "confirmed");
        assert_eq!(verdict("main-kills-goroutines", wg(505)), "refuted");

        let channel = |second: f64| {
            let extra = params! {"receiver_start_units" => 5.0, "completed_units" => [0.0, second, 5.0, 5.0]};
            vec![exp(
                "channel",
                params! {"mode" => "timeline"},
                vec![row("go", "chan", params! {"capacity" => 1}, 0.5, extra)],
            )]
        };
        assert_eq!(verdict("capacity-one-blocks", channel(5.0)), "confirmed");
        assert_eq!(verdict("capacity-one-blocks", channel(0.0)), "refuted");

        let select = |fast: u64, slow: u64| {
            let extra =
                params! {"counts" => json!({"fast": fast, "slow": slow}), "max_wait_s" => 0.001};
            vec![exp(
                "select",
                params! {"unit_s" => 0.1},
                vec![row("go", "select", Params::new(), 1.0, extra)],
            )]
        };
        assert_eq!(verdict("select-serves-both", select(20, 5)), "confirmed");
        assert_eq!(verdict("select-serves-both", select(20, 1)), "refuted");
    }

    #[test]
    fn pool_curve() {
        let pool = |speedups: [f64; 3], over: [f64; 2]| {
            let r = |w: u64, order: &str, s: f64, o: f64| {
                let mut r = row(
                    "rust",
                    "threads",
                    params! {"workers" => w, "order" => order},
                    1.0 / s,
                    params! {"over_bound" => o},
                );
                r.speedup = Some(s);
                r
            };
            vec![exp(
                "pool",
                Params::new(),
                vec![
                    r(1, "ascending", speedups[0], 1.0),
                    r(2, "ascending", speedups[1], over[0]),
                    r(8, "ascending", speedups[2], 1.2),
                    r(2, "largest-first", 1.9, over[1]),
                ],
            )]
        };
        assert_eq!(
            verdict("pool-plateau", pool([1.0, 1.7, 1.75], [1.18, 1.02])),
            "confirmed"
        );
        assert_eq!(
            verdict("pool-plateau", pool([1.0, 1.7, 1.75], [1.02, 1.02])),
            "partly"
        );
        assert_eq!(
            verdict("pool-plateau", pool([1.0, 1.1, 1.9], [1.02, 1.1])),
            "refuted"
        );
    }

    #[test]
    fn refcounts() {
        let gil = |lost: bool, exact: &[&str]| {
            let mut e = exp("gil", Params::new(), Vec::new());
            e.findings = params! {"lost_updates" => json!({"racy_lost_any": lost, "exact": exact})};
            vec![e]
        };
        assert_eq!(
            verdict("refcount-lost-updates", gil(true, &["atomic", "mutex"])),
            "confirmed"
        );
        assert_eq!(
            verdict("refcount-lost-updates", gil(false, &["atomic"])),
            "partly"
        );
        assert_eq!(verdict("refcount-lost-updates", gil(false, &[])), "refuted");
    }
}
