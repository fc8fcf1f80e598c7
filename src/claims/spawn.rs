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

fn goroutines_small(r: &Results) -> Finding {
    let per_unit = |lang, t| {
        r.row("spawn", lang, t, |row| {
            row.param_str("stack")
                .is_none_or(|s| s.starts_with("default"))
        })
        .and_then(|row| Some((SpawnData::of(row).bytes_per_unit?, row.param_u64("units")?)))
    };
    let go = per_unit("go", "goroutines");
    let threads = per_unit("rust", "threads").or_else(|| per_unit("python", "threads"));
    if go.is_none() && threads.is_none() {
        return Finding::untested(r.why_missing("spawn", "go"));
    }
    let tokio = per_unit("rust", "tokio");
    let mut said = Vec::new();
    if let Some((b, n)) = go {
        said.push(format!("{n} goroutines took {} each", bytes(b as u64)));
    } else {
        said.push(r.why_missing("spawn", "go"));
    }
    if let Some((b, n)) = threads {
        said.push(format!(
            "{n} OS threads took {} each in resident memory",
            bytes(b as u64)
        ));
    }
    if let Some((b, n)) = tokio {
        said.push(format!("{n} tokio tasks {} each", bytes(b as u64)));
    }
    Finding {
        detail: Vec::new(),
        parts: vec![
            go.map(|(b, _)| b <= 8192.0),
            threads.map(|(b, _)| b >= 1024.0 * 1024.0),
        ],
        decided_by: Some(format!(
            "goroutine {}, thread {}",
            go.map_or_else(|| "?".into(), |(b, _)| bytes(b as u64)),
            threads.map_or_else(|| "?".into(), |(b, _)| bytes(b as u64))
        )),
        evidence: format!(
            "{}. A thread reserves its whole stack (2 MiB in Rust, 8 MiB by default for C and Python) as address space, but the kernel only backs the pages it touches, so the memory it really costs is tens of kilobytes.",
            said.join("; ")
        ),
    }
}
