//! The claims the `select` experiment tests, each checked against what this run measured.

use super::*;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[ClaimSpec {
    id: "select-serves-both",
    paper_ref: "§3.6, Figure 11",
    claim: "select serves both channels as their messages arrive, so each producer goes at its own rate (about 4:1).",
    check: select_both,
}];

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
    let (mut ratios, mut longest) = (Vec::new(), 0.0_f64);
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
        ratios.push(ratio);
        longest = longest.max(wait);
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
        decided_by: Some(format!(
            "{}:1, longest wait {}",
            range(&ratios, |r| format!("{r:.1}")),
            secs(longest)
        )),
        evidence: format!(
            "{}. Neither producer waited for the other: select took whichever message was there.",
            said.join("; ")
        ),
    }
}
