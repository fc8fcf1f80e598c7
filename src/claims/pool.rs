//! The claims the `pool` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::pool::{FASTER_THAN_BOUND, PoolData};

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[ClaimSpec {
    id: "pool-plateau",
    paper_ref: "§3.7, Figure 12",
    claim: "More workers finish sooner on a multicore machine, up to a plateau; the uneven curve comes from the order of the jobs.",
    check: pool_plateau,
}];

/// A row that ran faster than its bound is flagged, not evidence: no schedule can beat
/// the bound, so such a number says the bound or the run is off. It never decides a
/// part; the evidence names it with its flag, so it cannot pass for a plain result.
fn pool_plateau(r: &Results) -> Finding {
    let cpus = r.0.environment.logical_cpus as u64;
    let t = "threads";
    let rows = |order: &str, pick: &dyn Fn(u64) -> bool| -> Vec<&Row> {
        r.rows("pool", "rust")
            .into_iter()
            .filter(|row| {
                row.technique == t
                    && row.param_str("order") == Some(order)
                    && row.param_u64("workers").is_some_and(pick)
                    && row.speedup.is_some()
            })
            .collect()
    };
    let flagged = |row: &Row| row.data::<PoolData>().faster_than_bound();
    // The best plain speedup among `rows`, and the flagged rows left out of it.
    let best = |rows: &[&Row]| {
        let plain = rows
            .iter()
            .filter(|row| !flagged(row))
            .filter_map(|row| row.speedup)
            .reduce(f64::max);
        (plain, rows.iter().filter(|row| flagged(row)).count())
    };
    let (one_rows, up_rows) = (
        rows("ascending", &|w| w == 1),
        rows("ascending", &|w| w <= cpus && w > 1),
    );
    if one_rows.is_empty() || up_rows.is_empty() {
        return Finding::untested(
            "no pool rows for threads with 1 and up to the CPU count of workers",
        );
    }
    let beyond_rows = rows("ascending", &|w| w > cpus);
    let (one, one_flagged) = best(&one_rows);
    // A 1-worker pool does the sequential run's work on one core; when its row is
    // flagged, the sequential run (1.00× by definition, and never flagged) stands in.
    let sequential_ran = r
        .row("pool", "rust", "sequential", |row| {
            row.param_str("order") == Some("ascending")
        })
        .is_some();
    let (one, one_stands_in) = match one {
        None if sequential_ran => (Some(1.0), true),
        other => (other, false),
    };
    let (up_to_cpus, up_flagged) = best(&up_rows);
    let (beyond, beyond_flagged) = best(&beyond_rows);
    let at_cpus = |order: &str| {
        r.row("pool", "rust", t, |row| {
            row.param_str("order") == Some(order) && row.param_u64("workers") == Some(cpus)
        })
        .and_then(|row| {
            let d = row.data::<PoolData>();
            Some((d.over_bound?, d.faster_than_bound()))
        })
    };
    let (asc, lf) = (at_cpus("ascending"), at_cpus("largest-first"));
    // Both ratios to the same bound: their quotient is the two orders' times.
    let orders = match (asc, lf) {
        (Some((a, false)), Some((l, false))) => Some(l / a),
        _ => None,
    };
    let shown = |v: Option<(f64, bool)>, missing: &str| match v {
        Some((o, false)) => format!("{o:.2}×"),
        Some((o, true)) => format!("{o:.2}× (flagged)"),
        None => missing.to_string(),
    };
    let times = |v: Option<f64>, flagged: usize| match (v, flagged) {
        (Some(s), 0) => format!("{s:.2}×"),
        (Some(s), n) => format!("{s:.2}× ({n} flagged row(s) left out)"),
        (None, 0) => "not measured".to_string(),
        (None, _) => "only flagged rows".to_string(),
    };
    let all_flagged: usize = r
        .rows("pool", "rust")
        .into_iter()
        .chain(r.rows("pool", "python"))
        .chain(r.rows("pool", "go"))
        .filter(|row| flagged(row))
        .count();
    let mut evidence = format!(
        "Rust threads: {} with 1 worker, best {} up to {cpus} workers, {} beyond; at {cpus} workers ascending order ran {} the lower bound, largest-first {}. The biggest job alone is over a third of the work, so handing it out last (the paper's ascending order) leaves cores idle at the end.",
        if one_stands_in {
            "1.00× (the sequential run's: every row was flagged)".to_string()
        } else {
            times(one, one_flagged)
        },
        times(up_to_cpus, up_flagged),
        times(beyond, beyond_flagged),
        shown(asc, "?"),
        shown(lf, "? (not run)"),
    );
    if all_flagged > 0 {
        evidence.push_str(&format!(
            " Flagged: {all_flagged} row(s) ran {FASTER_THAN_BOUND}; none of them decides a part."
        ));
    }
    Finding {
        decided_by: Some(format!(
            "{} up to {cpus} workers, {} beyond",
            up_to_cpus.map_or_else(|| "?".into(), |u| format!("{u:.2}×")),
            beyond.map_or_else(|| "?".into(), |b| format!("{b:.2}×"))
        )),
        parts: vec![
            ClaimPart::if_measured(
                format!("best speedup up to {cpus} workers over 1 worker's"),
                one.zip(up_to_cpus).map(|(one, up)| up / one),
                "only rows flagged faster than their bound",
                |n, v| ClaimPart::above(n, v, None, 1.3),
            ),
            ClaimPart::if_measured(
                format!("best speedup beyond {cpus} workers over the best up to {cpus}"),
                beyond.zip(up_to_cpus).map(|(b, up)| b / up),
                "no unflagged rows with more workers than CPUs",
                |n, v| ClaimPart::below(n, v, None, 1.15),
            ),
            ClaimPart::if_measured(
                format!("largest-first's time over ascending's, at {cpus} workers"),
                orders,
                "needs both orders at the CPU count, neither flagged",
                |n, v| ClaimPart::below(n, v, None, 0.95),
            ),
        ],
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::env::Environment;
    use crate::params;
    use crate::results::{Params, RowData};

    /// A Rust threads row with its speedup and its ratio to the bound (and interval).
    fn threads(w: u64, order: &str, speedup: f64, over: f64, ci: Option<[f64; 2]>) -> Row {
        let mut row = Row::new(
            "rust",
            "threads",
            params! {"workers" => w, "order" => order},
        );
        row.median_s = Some(1.0 / speedup);
        row.speedup = Some(speedup);
        PoolData {
            over_bound: Some(over),
            over_bound_ci: ci,
            ..PoolData::default()
        }
        .store(&mut row);
        row
    }

    fn finding(rows: Vec<Row>) -> (Verdict, String) {
        let mut env = Environment::capture();
        env.logical_cpus = 2;
        let mut e = ExperimentResult::new("pool", "", Params::new());
        e.rows = rows;
        let doc = ResultsDoc::new(env, vec![e]);
        let f = pool_plateau(&Results(&doc));
        (Verdict::of_parts(&f.parts), f.evidence)
    }

    fn curve(one_over: f64, at_two: (f64, Option<[f64; 2]>)) -> Vec<Row> {
        let mut seq = Row::new(
            "rust",
            "sequential",
            params! {"workers" => 1, "order" => "ascending"},
        );
        (seq.median_s, seq.speedup) = (Some(1.0), Some(1.0));
        vec![
            seq,
            threads(1, "ascending", 1.0 / one_over, one_over, None),
            threads(2, "ascending", 1.7, at_two.0, at_two.1),
            threads(8, "ascending", 1.75, 1.2, None),
            threads(2, "largest-first", 1.9, 1.02, None),
        ]
    }

    #[test]
    fn a_ratio_below_the_bound_is_flagged_and_decides_nothing() {
        let (verdict, evidence) = finding(curve(1.01, (1.18, None)));
        assert_eq!(verdict, Verdict::Confirmed, "{evidence}");
        assert!(!evidence.contains("flagged"), "{evidence}");

        // At 2 workers (the CPU count) ascending beat its bound: its speedup and its
        // ratio decide nothing, and both are shown flagged.
        let (verdict, evidence) = finding(curve(1.01, (0.97, None)));
        assert_eq!(verdict, Verdict::NotTested, "{evidence}");
        assert!(evidence.contains("0.97× (flagged)"), "{evidence}");
        assert!(
            evidence.contains("only flagged rows up to 2 workers"),
            "{evidence}"
        );
        assert!(evidence.contains(FASTER_THAN_BOUND), "{evidence}");

        // A 1-worker row faster than the sequential run it is bounded by decides no
        // part either: the sequential run's own 1.00× stands in for it.
        let (verdict, evidence) = finding(curve(0.95, (1.18, None)));
        assert_eq!(verdict, Verdict::Confirmed, "{evidence}");
        assert!(
            evidence.contains("1.00× (the sequential run's: every row was flagged) with 1 worker"),
            "{evidence}"
        );
        // Without a sequential row, that part is not measured.
        let mut rows = curve(0.95, (1.18, None));
        rows.remove(0);
        let (_, evidence) = finding(rows);
        assert!(
            evidence.contains("only flagged rows with 1 worker"),
            "{evidence}"
        );
    }

    #[test]
    fn below_one_within_its_interval_is_not_flagged() {
        // 0.97 with an interval reaching over 1 may be the bound itself: plain.
        let (_, evidence) = finding(curve(1.01, (0.97, Some([0.9, 1.05]))));
        assert!(!evidence.contains("flagged"), "{evidence}");
        // The whole interval under 1: flagged.
        let (_, evidence) = finding(curve(1.01, (0.9, Some([0.85, 0.95]))));
        assert!(evidence.contains("0.90× (flagged)"), "{evidence}");
    }
}
