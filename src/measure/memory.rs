//! Peak resident memory of this process.
//!
//! Linux keeps a high-water mark (VmHWM) that can be reset by writing 5 to
//! `/proc/self/clear_refs`, so each run can be measured on its own instead of inheriting
//! the peak of everything before it. Elsewhere the figure is simply not reported.
//!
//! Every row with a peak says how it was measured (`Row::memory_method`), in ids that
//! parlab and both peers share (peers/PROTOCOL.md, "Peak memory"), so that a column that
//! mixes methods can say so instead of comparing unlike figures.

/// A row's peak, run by run: the peak of the process that ran the run, over that run
/// (since a reset of VmHWM, or over the whole life of a process started for the run),
/// plus the sum of the peaks of the child processes the run started (worker processes
/// are all resident at once; `RUSAGE_CHILDREN` would give only the largest). The row
/// shows its largest run's.
pub const PER_RUN: &str = "per-run-peak+children-sum";

/// As `PER_RUN`, where the high-water mark could not be reset: the measuring process's
/// peak over its whole life, which covers whatever ran before the row.
pub const LIFETIME: &str = "lifetime-peak+children-sum";

/// How this process measures its rows' peaks: per run where VmHWM can be reset.
pub fn method() -> &'static str {
    static RESETS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *RESETS.get_or_init(reset_peak) {
        PER_RUN
    } else {
        LIFETIME
    }
}

/// Starts a fresh peak. Returns whether the reset worked (so the next peak is this run's).
pub fn reset_peak() -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Peak resident set size in bytes since the process started or the last reset.
pub fn peak_rss_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status_field_kib(&status, "VmHWM:").map(|kib| kib * 1024)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Resident set size right now, in bytes.
pub fn rss_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status_field_kib(&status, "VmRSS:").map(|kib| kib * 1024)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Minor page faults of this process so far: each is a page touched for the first time,
/// which is where much of the cost of a new stack or heap block goes.
pub fn minor_faults() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage only writes the struct we hand it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        (unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0)
            .then_some(usage.ru_minflt as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Reads a `Name:   123 kB` line of `/proc/<pid>/status`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let status = "Name:\tparlab\nVmHWM:\t   3072 kB\nVmRSS:\t 2048 kB\n";
        assert_eq!(status_field_kib(status, "VmHWM:"), Some(3072));
        assert_eq!(status_field_kib(status, "VmSwap:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_grows_when_memory_is_touched() {
        let before = peak_rss_bytes().unwrap();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = peak_rss_bytes().unwrap();
        assert!(after >= before + (48 << 20), "{before} -> {after}");
    }
}
