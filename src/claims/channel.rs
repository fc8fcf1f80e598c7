//! The claims the `channel` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::channel::ChannelData;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[ClaimSpec {
    id: "capacity-one-blocks",
    paper_ref: "§3.5, Figure 9",
    claim: "A channel of capacity one takes one value; the second send waits until a receiver takes the first.",
    check: capacity_one,
}];

fn capacity_one(r: &Results) -> Finding {
    let Some(exp) = r
        .experiment("channel")
        .filter(|e| e.params.get("mode").and_then(Value::as_str) != Some("throughput"))
    else {
        return Finding::untested("the channel timeline did not run");
    };
    let mut parts = Vec::new();
    let mut said = Vec::new();
    let mut lags = Vec::new();
    for row in exp.rows.iter().filter(|r| r.status == Status::Ok) {
        let data = row.data::<ChannelData>();
        let (Some(cap), Some(start)) = (row.param_u64("capacity"), data.receiver_start_units)
        else {
            continue;
        };
        let done = data.completed_units.unwrap_or_default();
        let cap = cap as usize;
        if done.len() <= cap {
            continue;
        }
        // The first `cap` sends go straight in; the next waits for the receiver: its
        // time after the receiver's start is the part's value, which must not be
        // earlier than 0.1 unit before it.
        let name = format!(
            "{} {}: send {} went in when the receiver started, not before",
            row.language,
            row.technique,
            cap + 1
        );
        let lag = done[cap] - start;
        parts.push(if done[..cap].iter().all(|t| *t < start - 0.1) {
            ClaimPart::above(name, lag, None, -0.1)
        } else {
            // A send within capacity waited for the receiver: the channel held less
            // than its capacity, which fails the part whatever the lag.
            ClaimPart::fact(name, false).valued(lag)
        });
        lags.push(lag);
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
        decided_by: Some(format!(
            "send past capacity went in {} from the receiver's start",
            range(&lags, |l| format!("{l:+.2}u"))
        )),
        evidence: format!(
            "{}. A bounded channel has room for its capacity and no more; a full one makes the sender wait.",
            said.join("; ")
        ),
    }
}
