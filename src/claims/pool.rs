//! The claims the `pool` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::pool::PoolData;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[ClaimSpec {
    id: "pool-plateau",
    paper_ref: "§3.7, Figure 12",
    claim: "More workers finish sooner on a multicore machine, up to a plateau; the uneven curve comes from the order of the jobs.",
    check: pool_plateau,
}];

fn pool_plateau(r: &Results) -> Finding {
    let cpus = r.0.environment.logical_cpus as u64;
    let speedup = |t: &str, order: &str, pick: &dyn Fn(u64) -> bool| {
        r.rows("pool", "rust")
            .into_iter()
            .filter(|row| {
                row.technique == t
                    && row.param_str("order") == Some(order)
                    && row.param_u64("workers").is_some_and(pick)
            })
            .filter_map(|row| row.speedup)
            .reduce(f64::max)
    };
    let t = "threads";
    let (Some(up_to_cpus), Some(one)) = (
        speedup(t, "ascending", &|w| w <= cpus && w > 1),
        speedup(t, "ascending", &|w| w == 1),
    ) else {
        return Finding::untested(
            "no pool rows for threads with 1 and up to the CPU count of workers",
        );
    };
    let beyond = speedup(t, "ascending", &|w| w > cpus);
    let over = |order: &str| {
        r.row("pool", "rust", t, |row| {
            row.param_str("order") == Some(order) && row.param_u64("workers") == Some(cpus)
        })
        .and_then(|row| row.data::<PoolData>().over_bound)
    };
    let order_matters = over("ascending")
        .zip(over("largest-first"))
        .map(|(a, l)| l < a * 0.95);
    Finding {
        detail: Vec::new(),
        parts: vec![
            Some(up_to_cpus > one * 1.3),
            beyond.map(|b| b < up_to_cpus * 1.15),
            order_matters,
        ],
        decided_by: Some(format!(
            "{up_to_cpus:.2}× up to {cpus} workers, {} beyond",
            beyond.map_or_else(|| "?".into(), |b| format!("{b:.2}×"))
        )),
        evidence: format!(
            "Rust threads: {:.2}× with 1 worker, best {:.2}× up to {cpus} workers, {} beyond; at {cpus} workers ascending order ran {} the lower bound, largest-first {}. The biggest job alone is over a third of the work, so handing it out last (the paper's ascending order) leaves cores idle at the end.",
            one,
            up_to_cpus,
            beyond.map_or_else(|| "not measured".into(), |b| format!("{b:.2}×")),
            over("ascending").map_or_else(|| "?".into(), |o| format!("{o:.2}×")),
            over("largest-first").map_or_else(|| "? (not run)".into(), |o| format!("{o:.2}×"))
        ),
    }
}
