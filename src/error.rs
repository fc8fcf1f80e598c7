//! Errors of the library, split by who must act on them.
//!
//! A `Usage` error is the user's to fix (exit code 2, one line); a technique error
//! belongs to one result row and never stops the other rows (exit code 1).

use std::time::Duration;

/// An error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum ParlabError {
    /// Bad input from the user: printed as one line, exit code 2. Its text often quotes
    /// what the user typed, so control characters are escaped when it is shown.
    #[error("{}", crate::parse::one_line(.0))]
    Usage(String),
    /// Writing results or reading the environment failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The user interrupted the run (Ctrl-C or SIGTERM).
    #[error("interrupted")]
    Interrupted,
}

impl ParlabError {
    pub fn usage(msg: impl Into<String>) -> Self {
        ParlabError::Usage(msg.into())
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ParlabError::Io {
            context: context.into(),
            source,
        }
    }

    /// The process exit code that docs/DESIGN.md assigns to this kind of failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            ParlabError::Usage(_) => 2,
            ParlabError::Io { .. } => 1,
            ParlabError::Interrupted => 130,
        }
    }
}

/// Why one row (one technique at one setting) failed; the run goes on without it.
#[derive(Debug, thiserror::Error)]
pub enum TechniqueError {
    #[error("could not start worker process {exe}: {source}")]
    Spawn {
        exe: String,
        #[source]
        source: std::io::Error,
    },
    #[error("worker {worker} {what}")]
    WorkerFailed { worker: usize, what: String },
    #[error("a job panicked: {0}")]
    Panicked(String),
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("wrong result: {0}")]
    Invalid(String),
    #[error("an item failed: {0}")]
    Item(String),
    #[error("could not set up the technique: {0}")]
    Setup(String),
    /// An MPI run that failed, in mpirun's words made into one line.
    #[error("{0}")]
    Mpi(String),
}

/// Turns a panic payload into the message it carried.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}
