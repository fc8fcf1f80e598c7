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
        claim: "GOMAXPROCS defaulted to 1 in Go versions before 1.15, and to the number of CPUs since.",
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
        // The late start as a share of the spin: near 1, the goroutine kept the thread.
        parts: vec![ClaimPart::above(
            "Go, GOMAXPROCS=1: the waiting goroutine's late start over the other's spin",
            go / spin,
            None,
            0.8,
        )],
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

/// Two parts. The present default is measured: the Go peer reads the GOMAXPROCS it
/// started with, and since Go 1.15 (every Go this peer builds with) the claim has it at
/// the CPU count. The history, what versions before 1.15 defaulted to, is a fact of
/// release notes, not of this machine: that part stays unmeasured whatever ran, and is
/// never counted against the claim.
fn gomaxprocs_default(r: &Results) -> Finding {
    let Some(facts) = r.row("sched", "go", "runtime", any) else {
        return Finding::untested(r.why_missing("sched", "go"));
    };
    let data = facts.data::<SchedData>();
    let version = data.version.as_deref().unwrap_or("go");
    let (default, cpus) = (data.gomaxprocs_default, data.num_cpu);
    let (present, said) = match (default, cpus, data.gomaxprocs_env.as_deref()) {
        (Some(d), _, Some(env)) => (
            None,
            format!(
                "{version} ran with GOMAXPROCS={env} set in its environment, so its {d} is that setting and the default went unseen."
            ),
        ),
        (Some(d), Some(c), None) if d == c => (
            Some(true),
            format!("{version}: GOMAXPROCS defaults to {d}, the {c} CPUs this process may use."),
        ),
        (Some(1), Some(c), None) => (
            Some(false),
            format!("{version}: GOMAXPROCS defaults to 1 although {c} CPUs are there to use."),
        ),
        (Some(d), Some(c), None) if d < c => (
            Some(true),
            format!(
                "{version}: GOMAXPROCS defaults to {d} of {c} CPUs: a CPU limit on the process (Go 1.25+ follows a container's quota) lowered it, but not to 1."
            ),
        ),
        (Some(d), Some(c), None) => (
            Some(false),
            format!("{version}: GOMAXPROCS defaults to {d}, more than the {c} CPUs."),
        ),
        _ => (
            None,
            format!("{version} reported no default or no CPU count."),
        ),
    };
    let present_name = "the present default is the CPU count, or a CPU limit below it, not 1";
    let present = match (present, default) {
        (Some(holds), Some(d)) => ClaimPart::fact(present_name, holds).valued(d as f64),
        _ => ClaimPart::unmeasured(present_name, said.clone()),
    };
    Finding {
        parts: vec![
            present,
            ClaimPart::unmeasured(
                "versions before 1.15 defaulted to 1",
                "the history of Go releases is documentation; no run of today's Go observes it",
            ),
        ],
        decided_by: Some(format!(
            "default {} on {} CPUs",
            default.map_or_else(|| "?".into(), |d| d.to_string()),
            cpus.map_or_else(|| "?".into(), |c| c.to_string())
        )),
        evidence: format!(
            "{said} The history is not measured: what older versions defaulted to is documentation, which no run of today's Go can observe (their release notes date the change to the CPU count to Go 1.5, not 1.15)."
        ),
    }
}
