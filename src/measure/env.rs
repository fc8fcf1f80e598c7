//! What the machine was when the numbers were taken.
//!
//! Timings mean little without the machine behind them, so every results document
//! carries this, and a busy machine at start is reported rather than silently measured.

use serde::{Deserialize, Serialize};
use std::time::SystemTime;
use sysinfo::{CpuRefreshKind, RefreshKind, System};

/// The rustc that built this binary (set by build.rs).
pub const RUSTC_VERSION: &str = env!("PARLAB_RUSTC_VERSION");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: String,
    pub logical_cpus: usize,
    pub os: String,
    pub kernel: String,
    pub rustc: String,
    /// Filled in by the peers once they run; `None` when no Python or Go peer ran.
    pub python: Option<String>,
    pub go: Option<String>,
    pub loadavg_1m: f64,
    pub started_at: String,
}

impl Environment {
    pub fn capture() -> Environment {
        let sys =
            System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()));
        let cpu_model = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Environment {
            cpu_model,
            logical_cpus: logical_cpus(),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
            kernel: System::kernel_version().unwrap_or_else(|| "unknown".into()),
            rustc: RUSTC_VERSION.to_string(),
            python: None,
            go: None,
            loadavg_1m: System::load_average().one,
            started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// A warning when other work was already using the CPUs: parallel timings then
    /// measure sharing, not the technique.
    pub fn busy_warning(&self) -> Option<String> {
        let busy = self.loadavg_1m >= 0.5 * self.logical_cpus as f64;
        busy.then(|| {
            format!(
                "the machine was busy when parlab started (1-minute load {:.2} on {} logical CPUs); timings may be inflated and speedups understated",
                self.loadavg_1m, self.logical_cpus
            )
        })
    }

    /// Human-readable lines for `parlab env`.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CPU model", self.cpu_model.clone()),
            ("logical CPUs", self.logical_cpus.to_string()),
            ("OS", self.os.clone()),
            ("kernel", self.kernel.clone()),
            ("rustc (build)", self.rustc.clone()),
            (
                "python",
                self.python.clone().unwrap_or_else(|| "not found".into()),
            ),
            ("go", self.go.clone().unwrap_or_else(|| "not found".into())),
            ("load average (1 min)", format!("{:.2}", self.loadavg_1m)),
            ("time", self.started_at.clone()),
        ]
    }
}

/// CPUs this process may run on (affinity and cgroup limits included), which is what
/// bounds its parallelism, not the number of cores in the box.
pub fn logical_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_fills_the_fields() {
        let env = Environment::capture();
        assert!(env.logical_cpus >= 1);
        assert!(env.rustc.starts_with("rustc "), "{}", env.rustc);
        assert!(env.started_at.ends_with('Z'));
        assert!(env.loadavg_1m >= 0.0);
    }

    #[test]
    fn busy_machine_is_reported() {
        let mut env = Environment::capture();
        env.logical_cpus = 2;
        env.loadavg_1m = 1.5;
        assert!(env.busy_warning().unwrap().contains("busy"));
        env.loadavg_1m = 0.1;
        assert!(env.busy_warning().is_none());
    }
}
