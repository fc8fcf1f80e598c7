//! The claims the `select` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::select::SelectData;

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
    let mut verdicts = Vec::new();
    let (mut ratios, mut longest) = (Vec::new(), 0.0_f64);
    for row in exp.rows.iter().filter(|r| r.status == Status::Ok) {
        let data = row.data::<SelectData>();
        // Rust rows name the producers by period, the Go peer by pace.
        let counts = data.counts.unwrap_or_default();
        let (Some(fast), Some(slow)) = (
            counts.half_unit.or(counts.fast),
            counts.two_units.or(counts.slow),
        ) else {
            continue;
        };
        let ratio = fast as f64 / slow.max(1) as f64;
        let wait = data.max_wait_s.unwrap_or(0.0);
        let missed = data.missed.unwrap_or_default();
        let dropped = missed.half_unit.or(missed.fast).unwrap_or(0)
            + missed.two_units.or(missed.slow).unwrap_or(0);
        // Each producer's rate held: the ratio near 4 with no message dropped for a
        // channel the loop left full, and no message kept waiting.
        let rates_held = (3.0..=5.5).contains(&ratio) && dropped == 0 && wait < unit / 4.0;
        let who = format!("{} {}", row.language, row.technique);
        // One part per row: the ratio is its value, and it holds only with nothing
        // dropped and no message kept waiting.
        let mut held = ClaimPart::fact(
            format!(
                "{who}: each producer kept its rate (fast:slow 3 to 5.5, none dropped, waits under 1/4 unit)"
            ),
            rates_held,
        );
        held.value = Some(ratio);
        parts.push(held);
        ratios.push(ratio);
        longest = longest.max(wait);
        let mut text = format!(
            "{} {}: {fast}:{slow} ({ratio:.1}:1), {dropped} dropped, longest wait {}",
            row.language,
            row.technique,
            secs(wait)
        );
        // With both channels always full a fair select splits its choices; the smaller
        // side's share under a third would be a select that prefers one channel.
        let split = data.saturated_split.unwrap_or_default();
        if let (Some(a), Some(b)) = (
            split.half_unit.or(split.fast),
            split.two_units.or(split.slow),
        ) && a + b > 0
        {
            let share = a.min(b) as f64 / (a + b) as f64;
            parts.push(ClaimPart::above(
                format!("{who}: smaller share of choices with both channels full"),
                share,
                None,
                1.0 / 3.0,
            ));
            text.push_str(&format!("; both full: {a}:{b}"));
        }
        said.push(text);
        verdicts.push(rates_held);
    }
    if parts.is_empty() {
        return Finding::untested("no select rows");
    }
    let meaning = if verdicts.iter().all(|v| *v) {
        "Neither producer waited for the other: select took whichever message was there, and kept both one-message channels drained."
    } else {
        "At least one loop let a channel stay full or a message wait: that producer could not keep its own rate."
    };
    Finding {
        parts,
        decided_by: Some(format!(
            "{}:1, longest wait {}",
            range(&ratios, |r| format!("{r:.1}")),
            secs(longest)
        )),
        evidence: format!("{}. {meaning}", said.join("; ")),
    }
}
