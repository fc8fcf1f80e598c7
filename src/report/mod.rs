//! Turning results into things people and programs read: terminal tables, JSON files.

pub mod terminal;

use crate::error::ParlabError;
use crate::results::ResultsDoc;
use std::io::Write;
use std::path::Path;

/// Writes the results document to `path`, or to stdout when `path` is `-`.
///
/// A file is written to a temporary name beside it and renamed into place, so a reader
/// (or an interrupted run) never sees half a document.
pub fn write_json(doc: &ResultsDoc, path: &Path) -> Result<(), ParlabError> {
    let text = serde_json::to_string_pretty(doc).expect("results always serialise");
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|e| ParlabError::io("writing results to stdout", e));
    }
    write_atomically(path, text.as_bytes())
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ParlabError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "results".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let context = || format!("writing {}", path.display());
    std::fs::write(&tmp, bytes).map_err(|e| ParlabError::io(context(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ParlabError::io(context(), e)
    })
}
