//! The claims the `waitgroup` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::waitgroup::WaitgroupData;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[ClaimSpec {
    id: "main-kills-goroutines",
    paper_ref: "§3.4",
    claim: "When main returns, units still running die with it; waiting on a wait group lets them finish.",
    check: main_kills,
}];

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
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for (lang, t) in [("rust", "threads"), ("rust", "tokio"), ("go", "goroutines")] {
        let printed = |v| {
            r.row("waitgroup", lang, t, |row| {
                row.param_str("variant") == Some(v)
            })
            .and_then(|row| row.data::<WaitgroupData>().printed)
        };
        if let (Some(no), Some(wait), Some(all)) = (printed("no-wait"), printed("wait"), expected) {
            parts.push(ClaimPart::below(
                format!("{lang} {t}: letters printed when main returned at once (of {all})"),
                no as f64,
                None,
                all as f64,
            ));
            parts.push(
                ClaimPart::fact(
                    format!("{lang} {t}: all {all} letters printed when main waited"),
                    wait == all,
                )
                .valued(wait as f64),
            );
            without.push(no as f64);
            with.push(wait as f64);
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
        decided_by: Some(format!(
            "{} of {} printed without waiting, {} with",
            range(&without, |n| format!("{n:.0}")),
            expected.unwrap_or(0),
            range(&with, |n| format!("{n:.0}"))
        )),
        evidence: format!(
            "{}. The process ends with main, and every unit still running ends with it.",
            said.join("; ")
        ),
    }
}
