//! The claims the `io` experiment tests, each checked against what this run measured.

use super::*;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[ClaimSpec {
    id: "io-threads-win",
    paper_ref: "§2.4, Figure 4",
    claim: "Threads win on I/O-bound work; processes lose because starting the pool costs more than they save.",
    check: io_threads_win,
}];

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
    let threads_ci = r
        .row("io", lang, "threads", |row| {
            row.param_str("how") != Some("bounded pool")
        })
        .and_then(|row| row.speedup_ci);
    Finding {
        parts: vec![
            ClaimPart::above(
                "threads' speedup over one after another",
                seq / thr,
                threads_ci,
                1.5,
            ),
            ClaimPart::above("processes' time over threads'", procs / thr, None, 1.0),
        ],
        decided_by: Some(format!(
            "threads {}, processes {}",
            ratio(seq, thr),
            ratio(seq, procs)
        )),
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
