//! The claims the `sched` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::sched::SchedData;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[
    ClaimSpec {
        id: "goroutine-runs-until-blocks",
        paper_ref: "§3.3, Figure 8",
        claim: "A goroutine keeps its thread until it finishes or blocks.",
        check: runs_until_blocks,
    },
    ClaimSpec {
        id: "gomaxprocs-default",
        paper_ref: "§3.3",
        claim: "GOMAXPROCS defaulted to 1 in Go versions before 1.15.",
        check: gomaxprocs_default,
    },
];

fn runs_until_blocks(r: &Results) -> Finding {
    let spin = r
        .experiment("sched")
        .and_then(|e| e.params.get("spin_s"))
        .and_then(Value::as_f64);
    let waited = |lang, t| {
        r.row("sched", lang, t, |row| {
            row.param_str("variant") == Some("spin")
        })
        .and_then(|row| row.data::<SchedData>().waited_s)
    };
    let (Some(spin), Some(go)) = (spin, waited("go", "goroutines-1")) else {
        return Finding::untested(r.why_missing("sched", "go"));
    };
    let tokio = waited("rust", "tokio-1");
    Finding {
        detail: Vec::new(),
        parts: vec![Some(go >= 0.8 * spin)],
        decided_by: Some(format!("waited {} of a {} spin", secs(go), secs(spin))),
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
    let data = facts.data::<SchedData>();
    let (default, cpus) = (data.gomaxprocs_default, data.num_cpu);
    Finding {
        detail: Vec::new(),
        parts: vec![default.zip(cpus).map(|(d, c)| d == c), Some(false)],
        decided_by: Some(format!(
            "default {} on {} CPUs",
            default.map_or_else(|| "?".into(), |d| d.to_string()),
            cpus.map_or_else(|| "?".into(), |c| c.to_string())
        )),
        evidence: format!(
            "{}: GOMAXPROCS defaults to {} on {} CPUs. The default has been the CPU count since Go 1.5 (its release notes), not since 1.15: the paper has the version wrong, and only the present default can be measured here.",
            data.version.as_deref().unwrap_or("go"),
            default.map_or_else(|| "?".into(), |d| d.to_string()),
            cpus.map_or_else(|| "?".into(), |c| c.to_string())
        ),
    }
}
