//! The claims the `map` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::map::MapData;
use crate::results::RowData;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[
    ClaimSpec {
        id: "map-blocks-imap-streams",
        paper_ref: "§2.6, Figure 5",
        claim: "map hands back results only when every task is done; imap hands them back in input order as they arrive; imap_unordered in the order they finish.",
        check: map_semantics,
    },
    ClaimSpec {
        id: "imap-less-memory",
        paper_ref: "§2.6",
        claim: "map turns its whole input into a list first, so imap needs less memory over a large input.",
        check: imap_memory,
    },
];

/// Each map row's behaviour against its call's promise, for every language that ran.
fn map_semantics(r: &Results) -> Finding {
    let Some(exp) = r.experiment("map") else {
        return Finding::untested("the map experiment did not run");
    };
    let sleeps: Vec<f64> = exp
        .params
        .get("sleeps")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let mut parts = Vec::new();
    let mut held = Vec::new();
    let mut broken = Vec::new();
    for row in exp
        .rows
        .iter()
        .filter(|r| r.status == Status::Ok && r.param_str("mode") != Some("memory"))
    {
        let Some(call) = row.param_str("call") else {
            continue;
        };
        let Some(holds) = map_call_holds(row, call, &sleeps) else {
            continue;
        };
        let name = format!("{} {} {call}", row.language, row.technique);
        parts.push(ClaimPart::fact(
            format!("{name}: results reached the caller as the call promises"),
            holds,
        ));
        if holds {
            held.push(name)
        } else {
            broken.push(name)
        }
    }
    if held.is_empty() && broken.is_empty() {
        return Finding::untested("no map rows with timelines");
    }
    Finding {
        parts,
        decided_by: Some(format!(
            "{} of {} calls as described",
            held.len(),
            held.len() + broken.len()
        )),
        evidence: format!(
            "{} of {} calls behaved as described{}. A pool runs the tasks at once either way; the calls differ only in when the caller may see each result.",
            held.len(),
            held.len() + broken.len(),
            if broken.is_empty() {
                String::new()
            } else {
                format!("; not: {}", broken.join(", "))
            }
        ),
    }
}

/// Whether a map row kept its call's promise; `None` without the timings to tell.
/// `sleeps` is the input, in order; a value's position in it is its task.
fn map_call_holds(row: &Row, call: &str, sleeps: &[f64]) -> Option<bool> {
    const SLACK: f64 = 0.05; // units
    let data = MapData::of(row);
    let finished = data.finished_units.unwrap_or_default();
    let received = data.received_units.unwrap_or_default();
    let order: Vec<f64> = data
        .received_order
        .unwrap_or_default()
        .into_iter()
        .map(|v| v as f64)
        .collect();
    if finished.is_empty() || finished.len() != received.len() || order.len() != sleeps.len() {
        return None;
    }
    let last = finished.iter().copied().fold(0.0, f64::max);
    let finished_of = |v: &f64| sleeps.iter().position(|s| s == v).map(|p| finished[p]);
    match call {
        "map" | "map_async" => Some(received.iter().all(|t| *t + SLACK >= last)),
        "imap" => {
            Some(order == sleeps && received.iter().zip(&finished).all(|(r, f)| r + SLACK >= *f))
        }
        "imap_unordered" => {
            let times: Option<Vec<f64>> = order.iter().map(finished_of).collect();
            Some(times?.windows(2).all(|w| w[0] <= w[1] + SLACK))
        }
        _ => None,
    }
}

/// imap holds its input lazily where it needs less than half of map's memory per item,
/// in each language that ran the memory rows. The sentence for each language follows
/// its own numbers: a saving, a smaller one, or none, with the reason that fits it.
fn imap_memory(r: &Results) -> Finding {
    let mut parts = Vec::new();
    let mut said = Vec::new();
    let mut per_item = Vec::new();
    let mut meaning = Vec::new();
    for (lang, name) in [("rust", "Rust"), ("python", "Python")] {
        let growth = |call: &str| {
            r.row("map", lang, "pool-threads", |row| {
                row.param_str("mode") == Some("memory") && row.param_str("call") == Some(call)
            })
            .and_then(|row| MapData::of(row).bytes_per_item)
        };
        let (Some(map), Some(imap)) = (growth("map"), growth("imap")) else {
            continue;
        };
        let part = ClaimPart::below(
            format!("{lang}: imap's bytes per item over map's"),
            imap / map.max(f64::MIN_POSITIVE),
            None,
            0.5,
        );
        let less = part.holds() == Some(true);
        parts.push(part);
        per_item.push(format!("{lang} {map:.0} → {imap:.0}"));
        said.push(format!(
            "{lang}: map {map:.0} bytes per item, imap {imap:.0}"
        ));
        meaning.push(match (less, imap < map) {
            (true, _) => format!(
                "{name}'s imap needed {} of map's memory per item: it held only the part of the input in flight, where map turned all of it into a list first.",
                share(imap, map)
            ),
            (false, true) => format!(
                "{name}'s imap saved some memory, but less than half: it needed {} of map's.",
                share(imap, map)
            ),
            (false, false) if lang == "python" => format!(
                "{name}'s imap needed as much as map or more ({} of map's): its pool's task feeder pulls the whole input into its queue as fast as it can, so on a quick task nothing is saved by reading lazily.",
                share(imap, map)
            ),
            (false, false) => format!(
                "{name}'s imap needed as much as map or more ({} of map's), so reading lazily saved nothing here.",
                share(imap, map)
            ),
        });
    }
    if parts.is_empty() {
        return Finding::untested("map ran without --memory");
    }
    Finding {
        parts,
        decided_by: Some(format!(
            "bytes per item, map → imap: {}",
            per_item.join(", ")
        )),
        evidence: format!("{}. {}", said.join("; "), meaning.join(" ")),
    }
}

/// `imap` as a share of `map`, for a sentence: "4 %", "130 %".
fn share(imap: f64, map: f64) -> String {
    if map > 0.0 {
        format!("{:.0} %", 100.0 * imap / map)
    } else {
        "an unknown share".into()
    }
}
