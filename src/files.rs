//! Writing files so that a reader, or a run cut short, never sees half of one.

use crate::error::ParlabError;
use std::path::Path;

/// Writes to a temporary name beside `path`, then renames it into place: the rename is
/// atomic on one file system, so the old file or the new one is there, never a mix.
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
