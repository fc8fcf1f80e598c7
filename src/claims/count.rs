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
    let parts = vec![
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
    let threads_no_gain = parts[0].holds() != Some(false);
    let rust = r
        .median("count", "rust", "sequential", any)
        .zip(r.median("count", "rust", "threads", any));
    Finding {
        parts,
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

/// One part: how far the float count's time is from the int count's, as the larger of
/// the two ratios, against a 10 % margin; its interval comes from both medians'.
fn float_chunks(r: &Results) -> Finding {
    let int = r.row("count", "python", "sequential", int_chunks);
    let float = r.row("count", "python", "sequential", float_chunks_row);
    let (Some(int_row), Some(float_row)) = (int, float) else {
        return Finding::untested(r.why_missing("count", "python"));
    };
    let (Some(int), Some(float)) = (int_row.median_s, float_row.median_s) else {
        return Finding::untested("the Python sequential rows have no median");
    };
    // The slower over the faster, so a float count cheaper than an int one is as much a
    // confound as a dearer one.
    let (slower, faster) = if float >= int {
        (float_row, int_row)
    } else {
        (int_row, float_row)
    };
    let part = ClaimPart::above(
        "the slower of the float and int counts over the faster",
        float.max(int) / float.min(int),
        ratio_ci(slower, faster),
        1.1,
    );
    let meaning = match (part.holds(), float > int) {
        (Some(true), true) => {
            "Counting a float costs more than an int, so the paper's parallel rows did more work per step than its sequential row and look slower than they are."
        }
        (Some(true), false) => {
            "Counting a float costs less than an int here, so the paper's parallel rows did less work per step than its sequential row."
        }
        (Some(false), _) => {
            "Within 10 %, so the mixed types do not skew Figure 2 on this interpreter."
        }
        _ => {
            "The two medians' intervals reach across the 10 % margin, so this run cannot tell whether the mixed types skew Figure 2."
        }
    };
    Finding {
        parts: vec![part],
        decided_by: Some(format!("float {} the int time", ratio(float, int))),
        evidence: format!(
            "Python sequential count: int {} against float {} ({} the int time). {meaning}",
            secs(int),
            secs(float),
            ratio(float, int),
        ),
    }
}

/// The language gap is Python's sequential loop against the faster of Rust's and Go's
/// (the best compiled language, as the evidence says), and the technique's gain is
/// Python's best speedup over its own loop; on io the same two measures for waiting.
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
    // Python's time over each compiled language's; the largest is the best compiled one.
    let compiled = [("Rust", seq("rust")), ("Go", seq("go"))]
        .into_iter()
        .filter_map(|(name, c)| Some((name, python / c?)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let gap = compiled.map(|(_, c)| c);
    let count_technique = best("count", "python");
    let io_language = r
        .median("io", "python", "sequential", any)
        .zip(r.median("io", "rust", "sequential", any))
        .map(|(p, q)| p / q);
    let io_technique = best("io", "python");
    let no_compiled = || r.why_missing("count", "rust") + " and " + &r.why_missing("count", "go");
    let parts = vec![
        match compiled {
            Some((name, c)) => ClaimPart::above(
                format!("Python's loop time over {name}'s, the faster compiled language"),
                c,
                None,
                5.0,
            ),
            None => ClaimPart::unmeasured(
                "Python's loop time over a compiled language's",
                no_compiled(),
            ),
        },
        ClaimPart::if_measured(
            "count: Python's best technique speedup over the language gap",
            gap.zip(count_technique).map(|(c, t)| t / c),
            "needs Python's techniques and a compiled language's loop",
            |n, v| ClaimPart::above(n, v, None, 1.0),
        ),
        ClaimPart::if_measured(
            "io: Python's best technique speedup over the language gap",
            io_language.zip(io_technique).map(|(l, t)| t / l),
            r.why_missing("io", "python"),
            |n, v| ClaimPart::above(n, v, None, 1.0),
        ),
    ];
    let times = |x: Option<f64>, decimals: usize| {
        x.map_or_else(|| "?".into(), |x| format!("{x:.decimals$}×"))
    };
    let mut meaning = Vec::new();
    match (compiled, count_technique) {
        (Some((name, c)), Some(t)) if t > c => meaning.push(format!(
            "On CPU-bound work Python's best technique ({t:.2}×) gained more than {name} is faster ({c:.0}×), so there the technique mattered more."
        )),
        (Some((name, c)), Some(t)) => meaning.push(format!(
            "On CPU-bound work {name}'s lead ({c:.0}×) is larger than anything a Python technique gained ({t:.2}×): there the language mattered more."
        )),
        _ => {}
    }
    if let Some((name, c)) = compiled.filter(|(_, c)| *c <= 5.0) {
        meaning.push(format!(
            "{name} was only {c:.1}× faster than Python's loop, not the wide gap expected of a compiled language."
        ));
    }
    match (io_language, io_technique) {
        (Some(l), Some(t)) if t > l => meaning.push(format!(
            "On waiting the technique ({t:.2}×) mattered more than the language ({l:.2}×)."
        )),
        (Some(l), Some(t)) => meaning.push(format!(
            "On waiting the language ({l:.2}×) mattered as much as the technique ({t:.2}×) or more."
        )),
        _ => {}
    }
    Finding {
        parts,
        decided_by: Some(format!(
            "language {}, technique {}",
            gap.map_or_else(|| "?".into(), |c| format!("{c:.0}×")),
            count_technique.map_or_else(|| "?".into(), |t| format!("{t:.2}×"))
        )),
        evidence: format!(
            "count: Python's sequential loop took {} as long as {}, while Python's best technique gained {}; io: the languages are {} apart, the techniques {}.{}",
            times(gap, 0),
            compiled.map_or_else(
                || "Rust's or Go's (neither ran)".into(),
                |(name, _)| format!("{name}'s, the faster compiled language's")
            ),
            times(count_technique, 2),
            times(io_language, 2),
            times(io_technique, 2),
            meaning.iter().map(|m| format!(" {m}")).collect::<String>()
        ),
    }
}
