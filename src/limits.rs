//! Limits of this machine that an experiment could run into, checked before it starts.
//!
//! Asked for ten million threads or a hundred thousand sockets, an experiment would not
//! fail cleanly: the kernel refuses a thread half-way through while the user's other
//! programs can no longer fork, sockets fail with "too many open files" one by one, or
//! the OOM killer picks a victim. So every experiment that can exhaust something
//! compares what it needs with the limit first, and above it refuses with a usage error
//! (exit code 2) that names the limit and the flag to lower.
//!
//! The checks are pure functions of a `Machine`, the numbers read once, so they are
//! tested on made-up machines; only `Machine::read` and `ensure_open_files` look at, and
//! touch, this one.

use crate::units;

/// Memory a waiting thread really uses, whatever its stack size: the kernel stack, the
/// stack pages it touched, thread-local storage and bookkeeping. A stack is reserved
/// address space, paid for only as it is touched (see `parlab spawn`).
pub const THREAD_BYTES: u64 = 64 << 10;
/// Memory of one waiting tokio task: about twice the 450 bytes `parlab spawn` measures,
/// for allocator slack.
pub const TASK_BYTES: u64 = 1 << 10;
/// Memory of one item that `map` materialises (the input, its chunk and its result).
pub const MAP_ITEM_BYTES: u64 = 100;
/// Open files a parlab process holds before an experiment opens any: standard streams,
/// the runtimes' event queues, the binary, pipes of the interrupt handler.
pub const BASE_OPEN_FILES: u64 = 64;
/// Rust's default thread stack, which the threads technique and `spawn`'s default row use.
pub const DEFAULT_STACK: u64 = 2 << 20;

/// What this machine allows; `None` where a limit could not be read or is unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    /// kernel.threads-max: threads of all users together.
    pub threads_max: Option<u64>,
    /// vm.max_map_count: memory mappings of one process; a thread's stack and its guard
    /// page take two.
    pub max_map_count: Option<u64>,
    /// RLIMIT_NPROC soft limit (ulimit -u): processes and threads of this user.
    pub nproc: Option<u64>,
    /// MemAvailable of /proc/meminfo, in bytes: what can be used without swapping.
    pub mem_available: Option<u64>,
    /// RLIMIT_AS soft limit (ulimit -v): the address space thread stacks are reserved in.
    pub address_space: Option<u64>,
    /// RLIMIT_NOFILE soft and hard limits (ulimit -n, ulimit -Hn): open files and
    /// sockets; `u64::MAX` stands for unlimited.
    pub open_files: Option<(u64, u64)>,
}

impl Machine {
    /// Reads this machine's limits (Linux: /proc and getrlimit; elsewhere, what is there).
    pub fn read() -> Machine {
        let number = |path: &str| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
        };
        let mem_available = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| meminfo_available(&m));
        let finite = |l: Option<(u64, u64)>| l.map(|(soft, _)| soft).filter(|s| *s != u64::MAX);
        Machine {
            threads_max: number("/proc/sys/kernel/threads-max"),
            max_map_count: number("/proc/sys/vm/max_map_count"),
            nproc: finite(rlimit(Resource::Processes)),
            mem_available,
            address_space: finite(rlimit(Resource::AddressSpace)),
            open_files: rlimit(Resource::OpenFiles),
        }
    }
}

/// The MemAvailable line of /proc/meminfo, in bytes.
fn meminfo_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[derive(Clone, Copy)]
enum Resource {
    Processes,
    AddressSpace,
    OpenFiles,
}

/// A soft and hard resource limit, unlimited as `u64::MAX`.
#[cfg(unix)]
fn rlimit(resource: Resource) -> Option<(u64, u64)> {
    let which = match resource {
        Resource::Processes => libc::RLIMIT_NPROC,
        Resource::AddressSpace => libc::RLIMIT_AS,
        Resource::OpenFiles => libc::RLIMIT_NOFILE,
    };
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is handed.
    if unsafe { libc::getrlimit(which, &mut lim) } != 0 {
        return None;
    }
    #[allow(
        clippy::unnecessary_cast,
        reason = "rlim_t is 32 bits wide on some platforms"
    )]
    let value = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            v as u64
        }
    };
    Some((value(lim.rlim_cur), value(lim.rlim_max)))
}

#[cfg(not(unix))]
fn rlimit(_: Resource) -> Option<(u64, u64)> {
    None
}

/// Refuses `n` threads with stacks of `stack` bytes above the most this machine takes;
/// `lower` names what the user can change.
pub fn check_threads(m: &Machine, n: u64, stack: u64, lower: &str) -> Result<(), String> {
    let (cap, why) = thread_cap(m, stack);
    if n > cap {
        return Err(format!(
            "refusing to start {n} threads: this machine allows about {cap} ({why}); {lower}"
        ));
    }
    Ok(())
}

/// The most threads this machine can take without trouble, and which limit says so.
/// Each limit keeps a margin for everything else that runs: the kernel's thread table
/// and the memory are shared with the whole machine, the user's process limit with
/// their other programs.
pub fn thread_cap(m: &Machine, stack: u64) -> (u64, String) {
    let mut caps: Vec<(u64, String)> = Vec::new();
    if let Some(max) = m.threads_max {
        caps.push((max / 2, format!("half of kernel.threads-max ({max})")));
    }
    if let Some(maps) = m.max_map_count {
        caps.push((
            maps.saturating_sub(2000) / 2,
            format!("vm.max_map_count ({maps}), two mappings per thread"),
        ));
    }
    if let Some(nproc) = m.nproc {
        caps.push((
            nproc - (nproc / 4).min(1000),
            format!("the process limit, ulimit -u {nproc}, less room for other programs"),
        ));
    }
    if let Some(avail) = m.mem_available {
        caps.push((
            avail / 2 / THREAD_BYTES,
            format!(
                "half the available memory ({}) at {} a thread",
                units::bytes(avail),
                units::bytes(THREAD_BYTES)
            ),
        ));
    }
    if let Some(space) = m.address_space {
        // A stack is reserved whole, with a guard page, whether it is touched or not.
        let per_thread = stack.max(1).saturating_add(4096);
        caps.push((
            space / 2 / per_thread,
            format!(
                "half the address-space limit, ulimit -v {} KiB, at a {} stack",
                space >> 10,
                units::bytes(stack)
            ),
        ));
    }
    caps.into_iter()
        .min_by_key(|(n, _)| *n)
        .unwrap_or((10_000, "no limits could be read; a cautious default".into()))
}

/// Refuses `n` tokio tasks whose memory would not fit (see `fits_memory`).
pub fn check_tasks(m: &Machine, n: u64) -> Result<(), String> {
    fits_memory(
        m,
        n.saturating_mul(TASK_BYTES),
        &format!("to start {n} tokio tasks"),
        "lower --tasks",
    )
}

/// Refuses a `map --memory` run whose materialised input would not fit.
pub fn check_map_items(m: &Machine, items: u64) -> Result<(), String> {
    fits_memory(
        m,
        items.saturating_mul(MAP_ITEM_BYTES),
        &format!("to map {items} items"),
        "lower --memory",
    )
}

/// An experiment may use at most half the available memory: the estimate is rough, and
/// the machine keeps running other things while parlab measures.
fn fits_memory(m: &Machine, need: u64, what: &str, lower: &str) -> Result<(), String> {
    match m.mem_available {
        Some(avail) if need > avail / 2 => Err(format!(
            "refusing {what}: that needs about {} of memory, over half of the {} available (MemAvailable); {lower}",
            units::bytes(need),
            units::bytes(avail)
        )),
        _ => Ok(()),
    }
}

/// What to do about the open-file limit before opening `need` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenFiles {
    /// The soft limit is enough (or unknown: nothing to compare with).
    Fits,
    /// Raise the soft limit to the hard one first, as `ulimit -n $(ulimit -Hn)` would:
    /// the default soft limit (often 1024) is a guard against old `select` code, not a
    /// policy, and the user may raise it anyway.
    Raise { to: u64 },
}

/// Compares `need` open files with the limits; above the hard limit, only an
/// administrator could help, and the experiment is refused.
pub fn open_files_plan(m: &Machine, need: u64, lower: &str) -> Result<OpenFiles, String> {
    match m.open_files {
        None => Ok(OpenFiles::Fits),
        Some((soft, _)) if need <= soft => Ok(OpenFiles::Fits),
        Some((_, hard)) if need <= hard => Ok(OpenFiles::Raise {
            to: if hard == u64::MAX { need } else { hard },
        }),
        Some((soft, hard)) => Err(format!(
            "refusing to open about {need} files and sockets at once: the open-file limit is {soft} (ulimit -n) and at most {hard} (ulimit -Hn); {lower}"
        )),
    }
}

/// Makes room for `need` open files in this process, raising the soft limit when the
/// hard one allows; the refusal of `open_files_plan` otherwise.
pub fn ensure_open_files(need: u64, lower: &str) -> Result<(), String> {
    match open_files_plan(&Machine::read(), need, lower)? {
        OpenFiles::Fits => Ok(()),
        OpenFiles::Raise { to } => raise_open_files(to).map_err(|e| {
            format!(
                "refusing to open about {need} files and sockets at once: raising the open-file limit (ulimit -n) to {to} failed ({e}); {lower}"
            )
        }),
    }
}

#[cfg(unix)]
fn raise_open_files(to: u64) -> std::io::Result<()> {
    let (_, hard) = rlimit(Resource::OpenFiles).ok_or_else(std::io::Error::last_os_error)?;
    let lim = libc::rlimit {
        rlim_cur: to as libc::rlim_t,
        rlim_max: if hard == u64::MAX {
            libc::RLIM_INFINITY
        } else {
            hard as libc::rlim_t
        },
    };
    // SAFETY: setrlimit reads the struct it is handed; only this process's limit changes.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(unix))]
fn raise_open_files(_: u64) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    /// A roomy machine: every limit far above what the tests ask.
    fn roomy() -> Machine {
        Machine {
            threads_max: Some(1_000_000),
            max_map_count: Some(1_000_000),
            nproc: Some(1_000_000),
            mem_available: Some(64 * GIB),
            address_space: None,
            open_files: Some((1024, 1 << 20)),
        }
    }

    #[test]
    fn the_tightest_limit_decides_and_is_named() {
        let m = Machine {
            nproc: Some(4000),
            ..roomy()
        };
        let err = check_threads(&m, 3001, DEFAULT_STACK, "lower --threads").unwrap_err();
        assert_eq!(
            err,
            "refusing to start 3001 threads: this machine allows about 3000 (the process limit, ulimit -u 4000, less room for other programs); lower --threads"
        );
        assert!(check_threads(&m, 3000, DEFAULT_STACK, "").is_ok());
        let m = Machine {
            threads_max: Some(10_000),
            ..roomy()
        };
        assert!(
            check_threads(&m, 6000, DEFAULT_STACK, "")
                .unwrap_err()
                .contains("half of kernel.threads-max (10000)")
        );
        let m = Machine {
            max_map_count: Some(65530),
            ..roomy()
        };
        assert_eq!(thread_cap(&m, DEFAULT_STACK).0, 31765);
    }

    #[test]
    fn a_small_process_limit_keeps_a_quarter_free() {
        let m = Machine {
            nproc: Some(400),
            ..roomy()
        };
        assert_eq!(thread_cap(&m, DEFAULT_STACK).0, 300);
    }

    #[test]
    fn thread_memory_is_counted_against_half_the_available() {
        let m = Machine {
            mem_available: Some(GIB),
            ..roomy()
        };
        // 512 MiB at 64 KiB a thread.
        assert_eq!(thread_cap(&m, DEFAULT_STACK).0, 8192);
        assert!(
            check_threads(&m, 8193, 64 << 10, "")
                .unwrap_err()
                .contains("half the available memory (1.00 GiB) at 64.0 KiB a thread")
        );
    }

    #[test]
    fn stacks_must_fit_the_address_space_limit() {
        let m = Machine {
            address_space: Some(8 * GIB),
            ..roomy()
        };
        // 4 GiB of address space at a stack plus a guard page.
        assert_eq!(
            thread_cap(&m, DEFAULT_STACK).0,
            4 * GIB / (DEFAULT_STACK + 4096)
        );
        assert!(thread_cap(&m, 64 << 10).0 > 60_000);
        let huge = check_threads(&m, 2, 16 * GIB, "lower --stack").unwrap_err();
        assert!(huge.contains("ulimit -v 8388608 KiB"), "{huge}");
    }

    #[test]
    fn an_unreadable_machine_gets_a_cautious_cap() {
        let (cap, why) = thread_cap(&Machine::default(), DEFAULT_STACK);
        assert_eq!(cap, 10_000);
        assert!(why.contains("cautious"));
    }

    #[test]
    fn tasks_and_map_items_must_fit_half_the_memory() {
        let m = Machine {
            mem_available: Some(4 * GIB),
            ..roomy()
        };
        assert!(check_tasks(&m, 2 * 1024 * 1024).is_ok());
        let err = check_tasks(&m, 2 * 1024 * 1024 + 1).unwrap_err();
        assert!(
            err.starts_with("refusing to start 2097153 tokio tasks: that needs about 2.00 GiB"),
            "{err}"
        );
        assert!(
            err.ends_with("4.00 GiB available (MemAvailable); lower --tasks"),
            "{err}"
        );
        assert!(check_map_items(&m, 20_000_000).is_ok());
        assert!(
            check_map_items(&m, 9_000_000_000_000_000)
                .unwrap_err()
                .contains("refusing to map 9000000000000000 items")
        );
        // Unknown memory: nothing to compare with, nothing refused.
        assert!(check_tasks(&Machine::default(), u64::MAX).is_ok());
    }

    #[test]
    fn open_files_fit_are_raised_to_the_hard_limit_or_refused() {
        let m = Machine {
            open_files: Some((1024, 4096)),
            ..roomy()
        };
        assert_eq!(open_files_plan(&m, 1024, ""), Ok(OpenFiles::Fits));
        assert_eq!(
            open_files_plan(&m, 1025, ""),
            Ok(OpenFiles::Raise { to: 4096 })
        );
        let err = open_files_plan(&m, 5000, "lower --sites").unwrap_err();
        assert_eq!(
            err,
            "refusing to open about 5000 files and sockets at once: the open-file limit is 1024 (ulimit -n) and at most 4096 (ulimit -Hn); lower --sites"
        );
        let unlimited = Machine {
            open_files: Some((1024, u64::MAX)),
            ..roomy()
        };
        assert_eq!(
            open_files_plan(&unlimited, 5000, ""),
            Ok(OpenFiles::Raise { to: 5000 })
        );
        assert_eq!(
            open_files_plan(&Machine::default(), u64::MAX, ""),
            Ok(OpenFiles::Fits)
        );
    }

    #[test]
    fn meminfo_is_read_in_bytes() {
        let text = "MemTotal:  32000000 kB\nMemFree: 1 kB\nMemAvailable:   23514596 kB\n";
        assert_eq!(meminfo_available(text), Some(23_514_596 * 1024));
        assert_eq!(meminfo_available("MemAvailable: lots"), None);
    }

    #[test]
    fn this_machine_can_be_read() {
        let m = Machine::read();
        let (cap, why) = thread_cap(&m, DEFAULT_STACK);
        assert!(cap > 100, "{cap} ({why})");
        // Within the limit already: nothing to raise, nothing refused.
        assert!(ensure_open_files(16, "").is_ok());
    }
}
