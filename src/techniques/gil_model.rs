//! A MODEL of CPython's global interpreter lock, not CPython itself.
//!
//! It follows the scheme CPython has used since 3.2: a thread must hold one global lock
//! to run; a thread that has waited a whole switch interval (5 ms by default, see
//! `sys.getswitchinterval()`) without the holder changing raises a drop request; the
//! holder notices it at its next check point (CPython: between bytecodes; here: every
//! few thousand decrements or every Fibonacci leaf), releases the lock and waits until
//! another thread has taken it, so it cannot grab it straight back. Only one thread ever
//! computes at a time, so threads under this model can at best match one thread.

use super::{Batch, Work, threads};
use crate::error::TechniqueError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

pub struct Gil {
    state: Mutex<State>,
    /// Signalled when the lock is released: one waiter may take it.
    released: Condvar,
    /// Signalled when a thread takes the lock: a forced releaser may go on.
    taken: Condvar,
    drop_request: AtomicBool,
    interval: Duration,
}

#[derive(Default)]
struct State {
    holder: Option<usize>,
    /// Increases each time the lock changes hands.
    switches: u64,
    forced: u64,
}

/// Proof of holding the lock; releasing happens on drop, so a panicking job cannot
/// leave the lock held and every other thread waiting forever.
pub struct GilGuard<'a> {
    gil: &'a Gil,
    thread: usize,
}

impl Gil {
    pub fn new(interval: Duration) -> Gil {
        Gil {
            state: Mutex::new(State::default()),
            released: Condvar::new(),
            taken: Condvar::new(),
            drop_request: AtomicBool::new(false),
            interval,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn acquire(&self, thread: usize) -> GilGuard<'_> {
        self.take(thread);
        GilGuard { gil: self, thread }
    }

    fn take(&self, thread: usize) {
        let mut st = self.state();
        while st.holder.is_some() {
            let seen = st.switches;
            let (guard, wait) = self
                .released
                .wait_timeout(st, self.interval)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            st = guard;
            if wait.timed_out() && st.holder.is_some() && st.switches == seen {
                self.drop_request.store(true, Ordering::Relaxed);
            }
        }
        st.holder = Some(thread);
        st.switches += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        self.taken.notify_all();
    }

    /// Hand-overs so far, and how many of them a waiting thread forced.
    pub fn switches(&self) -> (u64, u64) {
        let st = self.state();
        (st.switches, st.forced)
    }

    fn release(&self, forced: bool) {
        let mut st = self.state();
        st.holder = None;
        if forced {
            st.forced += 1;
        }
        let before = st.switches;
        self.released.notify_one();
        if forced {
            // Wait for the requester to take over; bounded, so a lost wake-up can only
            // cost one interval, never a hang.
            let _ = self
                .taken
                .wait_timeout_while(st, self.interval, |s| s.switches == before);
        }
    }
}

impl GilGuard<'_> {
    /// The check point: hands the lock over if another thread asked for it.
    #[inline]
    pub fn check(&mut self) {
        if self.gil.drop_request.load(Ordering::Relaxed) {
            self.gil.release(true);
            self.gil.take(self.thread);
        }
    }
}

impl Drop for GilGuard<'_> {
    fn drop(&mut self) {
        self.gil.release(false);
    }
}

/// `workers` threads run the jobs, each holding the model GIL while it computes.
pub(crate) fn run<W: Work>(
    jobs: &[W],
    workers: usize,
    interval: Duration,
) -> Result<Batch<W::Output>, TechniqueError> {
    let gil = Gil::new(interval);
    let mut batch = threads::run_pulling(jobs, workers, None, |w, job| {
        let mut guard = gil.acquire(w);
        job.run_ticked(&mut || guard.check())
    })?;
    let (switches, forced) = gil.switches();
    batch.extra.insert("gil_switches".into(), switches.into());
    batch
        .extra
        .insert("gil_forced_switches".into(), forced.into());
    batch
        .extra
        .insert("switch_interval_s".into(), interval.as_secs_f64().into());
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::techniques::jobs::Job;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    /// The lock's one promise: never two threads computing at once.
    #[test]
    fn only_one_thread_runs_at_a_time() {
        let gil = Gil::new(Duration::from_micros(200));
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (gil, inside, most) = (&gil, &inside, &most);
                s.spawn(move || {
                    let mut guard = gil.acquire(t);
                    for _ in 0..20_000 {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::hint::black_box(now);
                        inside.fetch_sub(1, Ordering::SeqCst);
                        guard.check();
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }

    /// A waiting thread gets the lock within about a switch interval: two threads that
    /// both keep computing take turns, each handing over at a check point when the
    /// other asks. They compute until the lock has been forced over a few times, not
    /// for a fixed amount of work: a busy machine that delays the second thread or the
    /// waiter's wake-up makes the test slower, never wrong (a fixed count could end
    /// before the waiter ever woke).
    #[test]
    fn waiting_threads_force_switches() {
        const FORCED: u64 = 4;
        let gil = Gil::new(Duration::from_millis(1));
        // Only a lock that never hands over waits this long.
        let until = Instant::now() + Duration::from_secs(120);
        let retaken: Vec<u64> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..2)
                .map(|t| {
                    let gil = &gil;
                    s.spawn(move || {
                        let mut guard = gil.acquire(t);
                        let mut retaken = 0;
                        while gil.switches().1 < FORCED && Instant::now() < until {
                            std::hint::black_box(Job::CountDown { n: 4096 }.run());
                            let (before, _) = gil.switches();
                            guard.check();
                            retaken += u64::from(gil.switches().0 != before);
                        }
                        retaken
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let (_, forced) = gil.switches();
        assert!(forced >= FORCED, "only {forced} forced switches in 120 s");
        // Interleaved, not one after the other: each thread was forced out while it
        // still had work and took the lock back later.
        assert!(retaken.iter().all(|&r| r >= 1), "{retaken:?}");
    }

    /// What `run` reports: every job done, and hand-overs counted (each job takes the
    /// lock at least once; how many are forced depends on timing and is not asserted).
    #[test]
    fn run_reports_the_switches() {
        let jobs = vec![Job::CountDown { n: 1_000_000 }; 2];
        let batch = run(&jobs, 2, Duration::from_millis(1)).unwrap();
        batch.validate(&jobs).unwrap();
        let get = |key: &str| batch.extra[key].as_u64().unwrap();
        assert!(get("gil_switches") >= 2, "{:?}", batch.extra);
        assert!(get("gil_forced_switches") < get("gil_switches"));
        assert_eq!(batch.extra["switch_interval_s"], 0.001);
    }

    #[test]
    fn a_panicking_holder_releases_the_lock() {
        let gil = Gil::new(Duration::from_millis(1));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = gil.acquire(0);
            panic!("job failed");
        }));
        assert!(result.is_err());
        let _guard = gil.acquire(1);
    }
}
