//! Where a command will write, checked before it runs anything: results are written
//! only at the end, and a run of minutes that then finds its target missing or
//! read-only has measured for nothing.
//!
//! A target that fails a check is the user's to fix (exit code 2, one line naming the
//! flag). The checks write a probe file rather than reading permission bits, because
//! only a write tells: root ignores the bits, and ACLs and read-only mounts override
//! them.

use crate::error::ParlabError;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// A file that `flag` names (`--json PATH`): its folder must exist and take new files,
/// since the file is written through a temporary one beside it (see
/// `report::write_atomically`). `-`, standard output, always passes.
pub fn check_file(flag: &str, path: &Path) -> Result<(), ParlabError> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    let refuse = |why: String| ParlabError::usage(format!("{flag} {}: {why}", path.display()));
    if path.as_os_str().is_empty() {
        return Err(ParlabError::usage(format!("{flag} needs a path")));
    }
    if path.is_dir() {
        return Err(refuse("is a directory; name a file in it".into()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => writable(dir)
            .map_err(|e| refuse(format!("directory {} is not writable ({e})", dir.display()))),
        Ok(_) => Err(refuse(format!("{} is not a directory", dir.display()))),
        Err(e) => Err(refuse(match blocking_file(dir) {
            Some(file) => format!("{} is not a directory", file.display()),
            None if e.kind() == ErrorKind::NotFound => {
                format!("directory {} does not exist", dir.display())
            }
            None => format!("cannot reach directory {} ({e})", dir.display()),
        })),
    }
}

/// A folder that `flag` names (`--out DIR`): made, with its parents, if missing, and
/// checked to take new files.
pub fn prepare_dir(flag: &str, dir: &Path) -> Result<(), ParlabError> {
    let refuse = |why: String| ParlabError::usage(format!("{flag} {}: {why}", dir.display()));
    if dir.as_os_str().is_empty() {
        return Err(ParlabError::usage(format!("{flag} needs a path")));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(refuse("is not a directory".into()));
    }
    if let Some(file) = blocking_file(dir) {
        return Err(refuse(format!("{} is not a directory", file.display())));
    }
    std::fs::create_dir_all(dir).map_err(|e| refuse(format!("cannot create it ({e})")))?;
    writable(dir).map_err(|e| refuse(format!("is not writable ({e})")))
}

/// The nearest existing ancestor of `path` when it is not a directory: the reason
/// `path` cannot exist, which names the real mistake better than "does not exist".
fn blocking_file(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists())
        .filter(|a| !a.is_dir())
        .map(Path::to_path_buf)
}

/// Creates and removes a file in `dir`.
fn writable(dir: &Path) -> std::io::Result<()> {
    for attempt in 0..100 {
        let probe = dir.join(format!(".parlab-probe.{}.{attempt}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
        {
            Ok(file) => {
                drop(file);
                return std::fs::remove_file(&probe);
            }
            // Left by an earlier process of the same id that was killed mid-check.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("every probe name is taken"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), ParlabError>) -> String {
        let e = result.unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    }

    #[test]
    fn a_file_needs_an_existing_folder_that_takes_new_files() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert!(check_file("--json", Path::new("-")).is_ok());
        assert!(check_file("--json", &tmp.path().join("x.json")).is_ok());
        assert_eq!(
            message(check_file("--json", Path::new("/nonexistent/dir/x.json"))),
            "--json /nonexistent/dir/x.json: directory /nonexistent/dir does not exist"
        );
        let under_file = plain.join("deeper/x.json");
        assert_eq!(
            message(check_file("--json", &under_file)),
            format!(
                "--json {}: {} is not a directory",
                under_file.display(),
                plain.display()
            )
        );
        assert!(message(check_file("--json", tmp.path())).contains("is a directory"));
        // Nothing is left behind by the check.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_folder_is_made_unless_a_file_stands_in_its_way() {
        let tmp = tempfile::tempdir().unwrap();
        let nested = tmp.path().join("a/b/report");
        prepare_dir("--out", &nested).unwrap();
        assert!(nested.is_dir());
        assert_eq!(std::fs::read_dir(&nested).unwrap().count(), 0);
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert_eq!(
            message(prepare_dir("--out", &plain)),
            format!("--out {}: is not a directory", plain.display())
        );
        let under_file = plain.join("report");
        assert_eq!(
            message(prepare_dir("--out", &under_file)),
            format!(
                "--out {}: {} is not a directory",
                under_file.display(),
                plain.display()
            )
        );
    }
}
