//! The claims the `count` experiment tests, each checked against what this run measured.

use super::*;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[
    ClaimSpec {
        id: "cpu-threads-slower",
        paper_ref: "§2.4, Figure 2",
        claim: "On CPU-bound work CPython threads are no faster than one thread, and processes are the fastest way to count.",
        check: cpu_threads_slower,
    },
    ClaimSpec {
        id: "float-chunks-confound",
        paper_ref: "Figure 2",
        claim: "The paper's parallel counters count float chunks (count/5) while its sequential counter counts an int, which may skew the comparison.",
        check: float_chunks,
    },
    ClaimSpec {
        id: "language-vs-technique",
        paper_ref: "§1",
        claim: "Compiled languages are faster on CPU-bound work, but the choice of technique matters more than the language.",
        check: language_vs_technique,
    },
];

fn int_chunks(r: &Row) -> bool {
    r.param_str("chunk_type") != Some("float")
}

fn float_chunks_row(r: &Row) -> bool {
    r.param_str("chunk_type") == Some("float")
}

fn cpu_threads_slower(r: &Results) -> Finding {
    let m = |t| r.median("count", "python", t, int_chunks);
    let (Some(seq), Some(thr), Some(procs)) = (m("sequential"), m("threads"), m("processes"))
    else {
        return Finding::untested(r.why_missing("count", "python"));
    };
    // Speedups of Python rows are against Python's own sequential int count, with an
    // interval where the rows ran often enough.
    let speedup = |t| {
        r.row("count", "python", t, int_chunks)
            .map(|row| {
                (
                    row.speedup.unwrap_or(seq / row.median_s.unwrap_or(seq)),
                    row.speedup_ci,
                )
            })
            .unwrap_or((1.0, None))
    };
    let (thr_x, thr_ci) = speedup("threads");
    let detail = vec![
        ClaimPart::below(
            "Python threads' speedup over one thread",
            thr_x,
            thr_ci,
            1.1,
        ),
        // Fastest by a margin: against the better of one thread and threads.
        ClaimPart::above(
            "Python processes' speedup over the faster of one thread and threads",
            seq.min(thr) / procs,
            None,
            1.1,
        ),
    ];
    let threads_no_gain = detail[0].holds() != Some(false);
    let rust = r
        .median("count", "rust", "sequential", any)
        .zip(r.median("count", "rust", "threads", any));
    Finding {
        parts: Vec::new(),
        detail,
        decided_by: Some(format!(
            "threads {}, processes {}",
            ratio(seq, thr),
            ratio(seq, procs)
        )),
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
        detail: Vec::new(),
        parts: vec![Some(confound)],
        decided_by: Some(format!("float {} the int time", ratio(float, int))),
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
        detail: Vec::new(),
        parts: vec![
            compiled.map(|c| c > 5.0),
            compiled.zip(count_technique).map(|(c, t)| t > c),
            io_language.zip(io_technique).map(|(l, t)| t > l),
        ],
        decided_by: Some(format!(
            "language {}, technique {}",
            compiled.map_or_else(|| "?".into(), |c| format!("{c:.0}×")),
            count_technique.map_or_else(|| "?".into(), |t| format!("{t:.2}×"))
        )),
        evidence: format!(
            "count: Python's sequential loop took {} Rust's or Go's best, while Python's best technique gained {}; io: the languages are {} apart, the techniques {}. On CPU-bound work the language dominates; on waiting, the technique does.",
            compiled.map_or_else(|| "?".into(), |c| format!("{c:.0}×")),
            count_technique.map_or_else(|| "?".into(), |t| format!("{t:.2}×")),
            io_language.map_or_else(|| "?".into(), |l| format!("{l:.2}×")),
            io_technique.map_or_else(|| "?".into(), |t| format!("{t:.2}×"))
        ),
    }
}
