//! The claims the `spawn` experiment tests, each checked against what this run measured.

use super::*;
use crate::experiments::spawn::SpawnData;
use crate::results::RowData;

/// This experiment's claims, in the order the report lists them.
pub const CLAIMS: &[ClaimSpec] = &[ClaimSpec {
    id: "goroutines-small",
    paper_ref: "§3.2",
    claim: "A goroutine starts at about 2 KB, so millions fit, while an OS thread takes one to two megabytes.",
    check: goroutines_small,
}];

/// One spawn row's memory figure: bytes per unit, how many units, and how measured.
struct PerUnit {
    bytes: f64,
    units: u64,
    method: Option<String>,
}

/// Above this a goroutine is no longer "a few kilobytes": twice Go's 2 KiB first stack
/// and its runtime bookkeeping, with room for a busy machine's noise.
const SMALL: f64 = 8192.0;
/// From here a thread costs what the claim says, a megabyte or more.
const MEGABYTE: f64 = 1024.0 * 1024.0;

fn goroutines_small(r: &Results) -> Finding {
    let per_unit = |lang, t| {
        r.row("spawn", lang, t, |row| {
            row.param_str("stack")
                .is_none_or(|s| s.starts_with("default"))
        })
        .and_then(|row| {
            let data = SpawnData::of(row);
            Some(PerUnit {
                bytes: data.bytes_per_unit?,
                units: row.param_u64("units")?,
                method: data.method,
            })
        })
    };
    let go = per_unit("go", "goroutines");
    let threads = per_unit("rust", "threads")
        .map(|u| ("Rust", u))
        .or_else(|| per_unit("python", "threads").map(|u| ("Python", u)));
    if go.is_none() && threads.is_none() {
        return Finding::untested(r.why_missing("spawn", "go"));
    }
    let tokio = per_unit("rust", "tokio");
    let size = |b: f64| bytes(b.max(0.0) as u64);
    let mut said = Vec::new();
    match &go {
        Some(g) => said.push(format!(
            "{} goroutines took {} each",
            g.units,
            size(g.bytes)
        )),
        None => said.push(r.why_missing("spawn", "go")),
    }
    if let Some((lang, t)) = &threads {
        said.push(format!(
            "{} {lang} threads {} each in resident memory",
            t.units,
            size(t.bytes)
        ));
    }
    if let Some(t) = &tokio {
        said.push(format!("{} tokio tasks {} each", t.units, size(t.bytes)));
    }
    let mut meaning = Vec::new();
    if let Some(g) = &go {
        meaning.push(if g.bytes <= SMALL {
            format!(
                "A goroutine began small: at that rate a million take {}, so millions fit in memory.",
                size(g.bytes * 1e6)
            )
        } else {
            format!(
                "A goroutine cost more than {} here, over the claim's few kilobytes: a million would take {}.",
                size(SMALL),
                size(g.bytes * 1e6)
            )
        });
    }
    if let Some((_, t)) = &threads {
        meaning.push(if t.bytes >= MEGABYTE {
            "A thread's resident cost reached a megabyte or more, as claimed: its stack pages were touched, not only reserved.".to_string()
        } else {
            format!(
                "A thread reserves its whole stack (2 MiB in Rust, 8 MiB by default for C and Python) as address space, but the kernel backs only the pages it touches, so here it cost {}, not megabytes.",
                size(t.bytes)
            )
        });
    }
    // Figures taken by different methods are not comparable; say so rather than hide it.
    let methods: Vec<String> = [go.as_ref(), threads.as_ref().map(|(_, t)| t)]
        .into_iter()
        .flatten()
        .map(|u| {
            u.method
                .clone()
                .unwrap_or_else(|| "an unnamed method".into())
        })
        .collect();
    match methods.as_slice() {
        [a, b] if a != b => meaning.push(format!(
            "The two figures were measured differently ({a}, {b}), so compare them with care."
        )),
        [m, ..] => meaning.push(format!("Measured as {m}, a fresh process per run.")),
        [] => {}
    }
    Finding {
        parts: vec![
            ClaimPart::if_measured(
                "a goroutine's bytes, at most 8 KiB",
                go.as_ref().map(|g| g.bytes),
                r.why_missing("spawn", "go"),
                |n, v| ClaimPart::below(n, v, None, SMALL),
            ),
            match &threads {
                // "At least a megabyte": equal counts, so the threshold sits a byte under.
                Some((lang, t)) => ClaimPart::above(
                    format!("a {lang} thread's resident bytes, a megabyte or more"),
                    t.bytes,
                    None,
                    MEGABYTE - 1.0,
                ),
                None => ClaimPart::unmeasured(
                    "a thread's resident bytes, a megabyte or more",
                    r.why_missing("spawn", "rust"),
                ),
            },
        ],
        decided_by: Some(format!(
            "goroutine {}, thread {}",
            go.as_ref()
                .map_or_else(|| "?".into(), |u| bytes(u.bytes as u64)),
            threads
                .as_ref()
                .map_or_else(|| "?".into(), |(_, u)| bytes(u.bytes as u64))
        )),
        evidence: format!("{}. {}", said.join("; "), meaning.join(" ")),
    }
}
