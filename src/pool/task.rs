//! Tasks: named, serialisable functions a pool can run in a thread or in a worker process.
//!
//! A process pool cannot send a closure to another process, so (as with Python's pickled
//! functions) a task is sent by name with its settings as JSON; the worker looks the name
//! up in `crate::worker`'s registry. The same task type runs unchanged in a thread pool.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A function a pool can run on each item. `self` carries the settings (sent along to
/// worker processes); `Input` and `Output` cross process boundaries as JSON.
pub trait Task: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The name the worker registry knows the task by.
    const NAME: &'static str;
    type Input: Serialize + DeserializeOwned + Send + 'static;
    type Output: Serialize + DeserializeOwned + Send + 'static;

    /// Runs on one item; an `Err` becomes that item's error, not the pool's.
    fn call(&self, input: Self::Input) -> Result<Self::Output, String>;
}

/// Why one item has no result. The pool itself goes on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("task failed: {0}")]
    Failed(String),
    #[error("task panicked: {0}")]
    Panicked(String),
    /// The worker process running the item died (after any retries).
    #[error("worker lost: {0}")]
    WorkerLost(String),
    /// The item or its result could not cross the process boundary.
    #[error("bad data: {0}")]
    BadData(String),
}

/// Sleeps `input` units and reports when it ran: the paper's Figure 5 task.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sleep {
    pub unit_ns: u64,
}

/// What a `Sleep` reports: its input back, and wall-clock start and end (comparable
/// across processes, unlike `Instant`), and who ran it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slept {
    pub value: u64,
    pub started_unix_ns: u64,
    pub finished_unix_ns: u64,
    pub worker: String,
}

pub fn unix_ns(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Names the thread or process running a task, for timelines.
fn worker_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => format!("pid-{}", std::process::id()),
    }
}

impl Task for Sleep {
    const NAME: &'static str = "sleep";
    type Input = u64;
    type Output = Slept;

    fn call(&self, units: u64) -> Result<Slept, String> {
        let started = unix_ns(SystemTime::now());
        let nanos = units
            .checked_mul(self.unit_ns)
            .ok_or_else(|| format!("{units} units of {} ns overflow", self.unit_ns))?;
        std::thread::sleep(Duration::from_nanos(nanos));
        Ok(Slept {
            value: units,
            started_unix_ns: started,
            finished_unix_ns: unix_ns(SystemTime::now()),
            worker: worker_name(),
        })
    }
}

/// Squares a number (wrapping): a small item for memory and overhead measurements.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Square;

impl Task for Square {
    const NAME: &'static str = "square";
    type Input = u64;
    type Output = u64;

    fn call(&self, x: u64) -> Result<u64, String> {
        Ok(x.wrapping_mul(x))
    }
}

/// Fails on the items listed and panics on those in `panic_on`; squares the others.
/// Exists to show, and test, that one bad item does not spoil a call or the pool.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Flaky {
    pub fail_on: Vec<u64>,
    pub panic_on: Vec<u64>,
}

impl Task for Flaky {
    const NAME: &'static str = "flaky";
    type Input = u64;
    type Output = u64;

    fn call(&self, x: u64) -> Result<u64, String> {
        if self.panic_on.contains(&x) {
            panic!("flaky task panics on {x}");
        }
        if self.fail_on.contains(&x) {
            return Err(format!("flaky task refuses {x}"));
        }
        Ok(x.wrapping_mul(x))
    }
}
