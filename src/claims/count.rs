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
        id: "free-threaded-one-thread",
        paper_ref: "§2.2–2.3 (PEP 703, after the paper)",
        claim: "Free-threaded Python pays on one thread: without the GIL, a single thread runs slower than on the standard build.",
        check: free_threaded_single_thread,
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

/// The paper's Python (`python`, the first standard build) settles the claim as the
/// paper made it: threads no faster than one thread, processes the fastest. Every other
/// Python column adds its own threads part, so the verdict says on which build the claim
/// held: it should fail on a free-threaded build without its GIL, and hold again on the
/// same binary with `PYTHON_GIL=1`. Where no free-threaded build ran, a part says why.
fn cpu_threads_slower(r: &Results) -> Finding {
    let mut parts = Vec::new();
    let mut evidence = Vec::new();
    let mut decided = Vec::new();
    let m = |t| r.median("count", "python", t, int_chunks);
    if let (Some(seq), Some(thr), Some(procs)) = (m("sequential"), m("threads"), m("processes")) {
        // Speedups of Python rows are against Python's own sequential int count, with
        // an interval where the rows ran often enough.
        let threads = r.row("count", "python", "threads", int_chunks);
        let thr_x = threads.and_then(|row| row.speedup).unwrap_or(seq / thr);
        let thr_ci = threads.and_then(|row| row.speedup_ci);
        parts.push(ClaimPart::below(
            "Python threads' speedup over one thread",
            thr_x,
            thr_ci,
            1.1,
        ));
        // Fastest by a margin: against the better of one thread and threads.
        parts.push(ClaimPart::above(
            "Python processes' speedup over the faster of one thread and threads",
            seq.min(thr) / procs,
            None,
            1.1,
        ));
        let threads_no_gain = parts[0].holds() != Some(false);
        let rust = r
            .median("count", "rust", "sequential", any)
            .zip(r.median("count", "rust", "threads", any));
        decided.push(format!(
            "threads {}, processes {}",
            ratio(seq, thr),
            ratio(seq, procs)
        ));
        evidence.push(format!(
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
                "Python threads beat the single loop here although one GIL lets only one of them count at a time, so the gain is not parallelism: CPython counts five small chunks faster than one large one, and a busy machine widens the gap."
            }
        ));
    }
    let builds = threads_by_build(r);
    if parts.is_empty() && builds.iter().all(|(_, p)| !p.measured) {
        return Finding::untested(r.why_missing("count", "python"));
    }
    for (who, part) in &builds {
        if let (Some(x), Some(column)) = (part.value, who.split(" (").next()) {
            decided.push(format!("{column} threads {x:.2}×"));
        }
    }
    if builds.iter().any(|(_, p)| p.value.is_some()) {
        // Every build with a threads figure, `python` first, by how the claim came out.
        let python = r
            .row("count", "python", "threads", int_chunks)
            .zip(parts.first())
            .map(|(row, part)| (format!("python ({})", interpreter_of(row)), part));
        let mut by_outcome: [(&str, Vec<String>); 3] = [
            ("held on", Vec::new()),
            ("failed on", Vec::new()),
            ("could not tell on", Vec::new()),
        ];
        for (who, part) in python
            .into_iter()
            .chain(builds.iter().map(|(w, p)| (w.clone(), p)))
        {
            let Some(x) = part.value else { continue };
            let slot = match part.holds() {
                Some(true) => 0,
                Some(false) => 1,
                None => 2,
            };
            by_outcome[slot].1.push(format!("{who}, threads {x:.2}×"));
        }
        let said: Vec<String> = by_outcome
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(how, v)| format!("{how} {}", v.join("; ")))
            .collect();
        evidence.push(format!(
            "By build, the claim {}.{}",
            said.join("; it "),
            if builds.iter().any(|(_, p)| p.holds() == Some(false) && p.name.contains("GIL off")) {
                " Without the GIL, CPython's threads count in parallel: the claim is one about the GIL, not about Python threads as such."
            } else {
                ""
            }
        ));
    }
    parts.extend(builds.into_iter().map(|(_, p)| p));
    Finding {
        parts,
        decided_by: Some(decided.join("; ")),
        evidence: evidence.join(" "),
    }
}

/// The threads part of each Python column other than `python`, named after its
/// interpreter (`python 3.13t (3.13.5, free-threaded, GIL off)`), with the column's
/// label; and where no free-threaded build ran, a part that says why.
fn threads_by_build(r: &Results) -> Vec<(String, ClaimPart)> {
    let columns = r.python_columns("count");
    let mut parts = Vec::new();
    for column in columns.iter().filter(|c| **c != "python") {
        let Some(threads) = r.row("count", column, "threads", int_chunks) else {
            continue;
        };
        let who = format!("{column} ({})", interpreter_of(threads));
        let name = format!("{who}: threads' speedup over one thread");
        let part = ClaimPart::if_measured(
            name,
            threads.speedup,
            "no speedup (no sequential row)",
            |n, x| ClaimPart::below(n, x, threads.speedup_ci, 1.1),
        );
        parts.push((who, part));
    }
    let free_threaded = columns.iter().any(|c| {
        r.row("count", c, "threads", int_chunks)
            .is_some_and(without_gil)
    });
    if !free_threaded {
        parts.push((
            "a free-threaded build".to_string(),
            ClaimPart::unmeasured(
                "a free-threaded build without its GIL: threads' speedup over one thread",
                r.why_no_free_threaded("count"),
            ),
        ));
    }
    parts
}

/// One part per free-threaded column without its GIL and workload: its single-thread
/// median over a standard build's, count's int loop and pool's fib jobs (where pool
/// ran). The standard build is one of the same version where one ran (the twin that
/// scripts/get-free-threaded-python builds), else `python`, and then the part says the
/// versions differ, since part of the gap is the version's. Holds above 1.05: the
/// free-threaded build costs one thread at least 5 %. The same binary with
/// `PYTHON_GIL=1` is set beside it in the evidence: its time tells the build's cost from
/// the lock's.
fn free_threaded_single_thread(r: &Results) -> Finding {
    let mut parts = Vec::new();
    let mut said = Vec::new();
    let mut decided = Vec::new();
    for (exp, what) in [("count", "count's loop"), ("pool", "pool's fib jobs")] {
        // count's int loop: the float one is the paper's confound, not the baseline.
        let pick = if exp == "count" { int_chunks } else { any };
        let columns = r.python_columns(exp);
        let single = |c: &str| r.row(exp, c, "sequential", pick);
        let standard = |row: &&Row| row.param_str("build") != Some("free-threaded");
        for ft in columns
            .iter()
            .filter_map(|c| single(c))
            .filter(|row| without_gil(row))
        {
            let version = ft.param_str("interpreter");
            let twin = columns
                .iter()
                .filter_map(|c| single(c))
                .filter(standard)
                .find(|row| row.param_str("interpreter") == version);
            let Some(base) = twin.or_else(|| single("python").filter(standard)) else {
                continue;
            };
            let (Some(a), Some(b)) = (ft.median_s, base.median_s) else {
                continue;
            };
            let versions = match twin {
                Some(_) => format!("both {}", version.unwrap_or("?")),
                None => format!(
                    "versions differ: {} against {}",
                    version.unwrap_or("?"),
                    base.param_str("interpreter").unwrap_or("?")
                ),
            };
            parts.push(ClaimPart::above(
                format!(
                    "{what}: {} over {} on one thread ({versions})",
                    ft.language, base.language
                ),
                a / b,
                ratio_ci(ft, base),
                1.05,
            ));
            decided.push(format!("{exp} {}", ratio(a, b)));
            // The same binary with its GIL back on: as slow as without it (within 10 %)
            // and slower than the standard build, the cost is the build's; otherwise the
            // figure is given without a reading.
            let with_gil = single(&format!("{} GIL=1", ft.language))
                .and_then(|row| row.median_s)
                .map_or_else(String::new, |g| {
                    let build_cost = (g / a - 1.0).abs() < 0.1 && g / b > 1.05;
                    format!(
                        "; the same binary with PYTHON_GIL=1 {} ({}){}",
                        secs(g),
                        ratio(g, b),
                        if build_cost {
                            ", as slow with its GIL back on: the cost is the build's, not the lock's"
                        } else {
                            ""
                        }
                    )
                });
            said.push(format!(
                "{what} on one thread: {} {} against {} {}, {} ({versions}){with_gil}",
                ft.language,
                secs(a),
                base.language,
                secs(b),
                ratio(a, b)
            ));
        }
    }
    if parts.is_empty() {
        return Finding::untested(r.why_no_free_threaded("count"));
    }
    let outcomes: Vec<Option<bool>> = parts.iter().map(ClaimPart::holds).collect();
    let reading = if outcomes.iter().all(|o| *o == Some(true)) {
        "Without the GIL the interpreter makes reference counts and shared structures safe for threads that really run at once (biased reference counting, per-object locks), and a lone thread pays for that too."
    } else if outcomes.iter().all(|o| *o == Some(false)) {
        "The free-threaded build was not measurably slower on one thread here."
    } else if outcomes.contains(&None) && !outcomes.contains(&Some(false)) {
        "The intervals reach both sides of 5 %: this run cannot tell (a busy machine widens them; more --runs narrow them)."
    } else {
        "The workloads disagree: the cost depends on what the thread does, or on the noise of this run."
    };
    Finding {
        parts,
        decided_by: Some(decided.join(", ")),
        evidence: format!("{}. {reading}", said.join(". ")),
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
