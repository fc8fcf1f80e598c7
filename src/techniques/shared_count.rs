//! One count shared by several threads, updated the way CPython updates an object's
//! reference count, under each way of keeping it right (or not).
//!
//! The count stands for `ob_refcnt`: every update is a reference taken (+1) or dropped
//! (−1). What differs between techniques is only what guards the read-modify-write, so
//! the lost updates and the nanoseconds per update can be laid side by side:
//!
//! - `racy` loads the value and stores it plus one as two separate steps, which is what
//!   an unguarded `ob_refcnt += 1` compiles to. It is written with relaxed atomics so it
//!   stays safe Rust (no undefined behaviour) while keeping the race that matters: another
//!   thread's update between the load and the store is overwritten.
//! - `atomic` makes each update one indivisible hardware operation, the per-object
//!   approach of free-threaded CPython (PEP 703), paid on every update.
//! - `mutex` takes a lock around each update: the per-object lock alternative.
//! - `gil-model` does the very same racy load and store as `racy`, but every thread holds
//!   the model GIL while it runs, so the race cannot happen: that is the GIL's bargain.
//! - `plain` is a count no other thread can see: the cost of an update with no sharing.

use super::CounterTechnique;
use super::gil_model::Gil;
use crate::error::{TechniqueError, panic_message};
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Updates between two GIL check points: often enough that a waiting thread gets the
/// lock soon after asking, rarely enough that checking costs next to nothing.
pub const CHECK_EVERY: u64 = 1024;

/// Where the balanced count starts: an object that already has this many references,
/// so losing a few decrements or increments moves it but never makes it meaningless.
pub const BALANCED_START: i64 = 1_000_000;

/// The order of updates each thread makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Only increments: every lost update is one missing from the end count.
    Increments,
    /// Each increment followed by its decrement, as a reference is taken and dropped; the
    /// count must end where it started.
    Balanced,
}

impl Shape {
    pub fn id(self) -> &'static str {
        match self {
            Shape::Increments => "increments",
            Shape::Balanced => "balanced",
        }
    }
}

/// What every thread does in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Updates {
    pub threads: usize,
    /// Updates each thread is asked for; the balanced shape rounds an odd number up to
    /// whole increment/decrement pairs.
    pub ops: u64,
    pub shape: Shape,
}

impl Updates {
    pub fn start(&self) -> i64 {
        match self.shape {
            Shape::Increments => 0,
            Shape::Balanced => BALANCED_START,
        }
    }

    /// Updates one thread really makes.
    pub fn updates_per_thread(&self) -> u64 {
        match self.shape {
            Shape::Increments => self.ops,
            Shape::Balanced => self.ops.div_ceil(2) * 2,
        }
    }

    pub fn total_updates(&self) -> u64 {
        self.updates_per_thread() * self.threads as u64
    }

    /// The count once every update has landed.
    pub fn expected(&self) -> i64 {
        match self.shape {
            Shape::Increments => self.start() + self.total_updates() as i64,
            Shape::Balanced => self.start(),
        }
    }

    /// Runs one thread's updates in order; `tick` is called every `CHECK_EVERY` updates.
    #[inline(always)]
    fn apply(&self, mut update: impl FnMut(i64), mut tick: impl FnMut()) {
        let mut left = self.updates_per_thread();
        while left > 0 {
            let slice = left.min(CHECK_EVERY);
            match self.shape {
                Shape::Increments => (0..slice).for_each(|_| update(1)),
                Shape::Balanced => (0..slice / 2).for_each(|_| {
                    update(1);
                    update(-1);
                }),
            }
            left -= slice;
            tick();
        }
    }
}

/// How one run ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tally {
    pub work: Updates,
    pub final_count: i64,
    /// Times the model GIL changed hands (gil-model only).
    pub gil_switches: Option<u64>,
    /// How much the threads ran at the same time: the span all of them were running,
    /// over the shortest thread's own time (1.0: the shortest ran wholly alongside the
    /// others; 0.0: one finished before another began). `None` with one thread. A lost
    /// update needs two threads inside the same update, so a racy count that lost
    /// nothing proves little unless this is high.
    pub overlap: Option<f64>,
}

impl Tally {
    /// Final minus expected: below zero, updates that would have freed the object too
    /// early; above zero, updates that would have leaked it.
    pub fn drift(&self) -> i64 {
        self.final_count - self.work.expected()
    }

    /// Increments that never landed (increments shape; in the balanced shape losses of
    /// both signs can cancel, so only the drift is known).
    pub fn lost(&self) -> Option<u64> {
        (self.work.shape == Shape::Increments).then(|| self.drift().unsigned_abs())
    }

    pub fn is_exact(&self) -> bool {
        self.drift() == 0
    }

    /// A synchronised technique must be exact. `racy` may lose updates, but its count
    /// must still be one a lost-update race can produce: with increments only, lost plus
    /// final is T×N with at most T×N − 1 lost (the last store is at least 1); in the
    /// balanced shape the count cannot move further than the updates made in one
    /// direction. Anything else is a bug in the counting, not a race.
    pub fn check(&self, technique: CounterTechnique) -> Result<(), String> {
        let (drift, expected) = (self.drift(), self.work.expected());
        let bound = match self.work.shape {
            Shape::Increments => self.work.total_updates() as i64 - 1,
            Shape::Balanced => self.work.total_updates() as i64 / 2,
        };
        let possible = match self.work.shape {
            Shape::Increments => (-bound..=0).contains(&drift),
            Shape::Balanced => (-bound..=bound).contains(&drift),
        };
        match technique {
            CounterTechnique::Racy if possible => Ok(()),
            CounterTechnique::Racy => Err(format!(
                "count ended at {}, which no lost update can explain (expected {expected})",
                self.final_count
            )),
            _ if drift == 0 => Ok(()),
            _ => Err(format!(
                "count ended at {}, expected {expected}: it drifted by {drift}",
                self.final_count
            )),
        }
    }
}

/// The racy update: a read, then a write of what was read plus `d`. Another thread's
/// update between the two is overwritten, which is exactly the lost update.
///
/// `black_box` hides where the count lives, so the compiler must do every load and store
/// through a pointer, as CPython does to a heap object, and cannot fold a run of updates
/// into one (the memory model would allow it for relaxed accesses).
#[inline(always)]
fn racy_add(count: &AtomicI64, d: i64) {
    let count = black_box(count);
    let v = count.load(Relaxed);
    count.store(v + d, Relaxed);
}

/// The share of the shortest thread's time that every thread was running: spans are
/// each thread's start and end.
pub fn overlap(spans: &[(Instant, Instant)]) -> Option<f64> {
    if spans.len() < 2 {
        return None;
    }
    let latest_start = spans.iter().map(|s| s.0).max()?;
    let earliest_end = spans.iter().map(|s| s.1).min()?;
    let shortest = spans.iter().map(|s| s.1 - s.0).min()?;
    let together = earliest_end.saturating_duration_since(latest_start);
    if shortest.is_zero() {
        return Some(0.0);
    }
    Some((together.as_secs_f64() / shortest.as_secs_f64()).clamp(0.0, 1.0))
}

/// Runs `body` on `threads` scoped threads released together by a barrier, so the
/// threads really overlap even when each has little to do; collects what each returns
/// and how much the threads overlapped.
fn on_threads(
    threads: usize,
    body: impl Fn(usize) -> i64 + Sync,
) -> Result<(Vec<i64>, Option<f64>), TechniqueError> {
    if threads == 0 {
        return Err(TechniqueError::Setup(
            "at least one thread is needed".into(),
        ));
    }
    let barrier = Barrier::new(threads);
    let (body, barrier) = (&body, &barrier);
    let joined: Vec<std::thread::Result<(i64, (Instant, Instant))>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                s.spawn(move || {
                    barrier.wait();
                    let started = Instant::now();
                    let out = body(i);
                    (out, (started, Instant::now()))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut outs = Vec::with_capacity(threads);
    let mut spans = Vec::with_capacity(threads);
    for r in joined {
        let (out, span) =
            r.map_err(|payload| TechniqueError::Panicked(panic_message(&*payload)))?;
        outs.push(out);
        spans.push(span);
    }
    Ok((outs, overlap(&spans)))
}

/// Runs `work` once with `technique`; `interval` is the model GIL's switch interval.
pub fn run(
    technique: CounterTechnique,
    work: Updates,
    interval: Duration,
) -> Result<Tally, TechniqueError> {
    let start = work.start();
    let mut gil_switches = None;
    let together;
    let final_count = match technique {
        CounterTechnique::Plain => {
            let (own, o) = on_threads(work.threads, |_| {
                let mut count = 0i64;
                work.apply(|d| count = black_box(count + d), || {});
                count
            })?;
            together = o;
            start + own.iter().sum::<i64>()
        }
        CounterTechnique::Racy => {
            let count = AtomicI64::new(start);
            together = on_threads(work.threads, |_| {
                work.apply(|d| racy_add(&count, d), || {});
                0
            })?
            .1;
            count.into_inner()
        }
        CounterTechnique::Atomic => {
            let count = AtomicI64::new(start);
            together = on_threads(work.threads, |_| {
                work.apply(
                    |d| {
                        if d > 0 {
                            count.fetch_add(d, Relaxed);
                        } else {
                            count.fetch_sub(-d, Relaxed);
                        }
                    },
                    || {},
                );
                0
            })?
            .1;
            count.into_inner()
        }
        CounterTechnique::Mutex => {
            let count = Mutex::new(start);
            together = on_threads(work.threads, |_| {
                work.apply(
                    |d| *count.lock().unwrap_or_else(PoisonError::into_inner) += d,
                    || {},
                );
                0
            })?
            .1;
            count.into_inner().unwrap_or_else(PoisonError::into_inner)
        }
        CounterTechnique::GilModel => {
            let gil = Gil::new(interval);
            let count = AtomicI64::new(start);
            together = on_threads(work.threads, |i| {
                let mut guard = gil.acquire(i);
                work.apply(|d| racy_add(&count, d), || guard.check());
                0
            })?
            .1;
            gil_switches = Some(gil.switches().0);
            count.into_inner()
        }
    };
    Ok(Tally {
        work,
        final_count,
        gil_switches,
        overlap: together,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_micros(200);

    fn work(threads: usize, ops: u64, shape: Shape) -> Updates {
        Updates {
            threads,
            ops,
            shape,
        }
    }

    /// The synchronised techniques never lose an update, whatever the thread count.
    #[test]
    fn synchronised_counts_are_exact() {
        for t in [
            CounterTechnique::Plain,
            CounterTechnique::Atomic,
            CounterTechnique::Mutex,
            CounterTechnique::GilModel,
        ] {
            for threads in [1, 2, 3, 8] {
                for shape in [Shape::Increments, Shape::Balanced] {
                    let w = work(threads, 30_001, shape);
                    let tally = run(t, w, INTERVAL).unwrap();
                    assert_eq!(
                        tally.final_count,
                        w.expected(),
                        "{} {threads} {shape:?}",
                        t.id()
                    );
                    assert!(tally.is_exact());
                    tally.check(t).unwrap();
                }
            }
        }
    }

    #[test]
    fn the_expected_counts() {
        let inc = work(3, 10, Shape::Increments);
        assert_eq!(
            (inc.start(), inc.expected(), inc.total_updates()),
            (0, 30, 30)
        );
        // An odd number of updates is rounded up to whole pairs.
        let bal = work(2, 5, Shape::Balanced);
        assert_eq!(
            (bal.updates_per_thread(), bal.expected()),
            (6, BALANCED_START)
        );
    }

    /// Alone, the racy update has nothing to race with: it is exact.
    #[test]
    fn racy_on_one_thread_is_exact() {
        for shape in [Shape::Increments, Shape::Balanced] {
            let tally = run(CounterTechnique::Racy, work(1, 200_000, shape), INTERVAL).unwrap();
            assert!(tally.is_exact(), "{shape:?}: {tally:?}");
        }
    }

    /// With several threads every increment is either in the final count or lost.
    #[test]
    fn racy_increments_account_for_every_update() {
        for threads in [2, 4] {
            let w = work(threads, 500_000, Shape::Increments);
            let tally = run(CounterTechnique::Racy, w, INTERVAL).unwrap();
            let lost = tally.lost().unwrap();
            assert_eq!(lost as i64 + tally.final_count, w.total_updates() as i64);
            assert!(tally.final_count >= 1 && tally.final_count <= w.expected());
            tally.check(CounterTechnique::Racy).unwrap();
        }
    }

    /// Every thread gets the lock, so the work is all done and none is skipped.
    #[test]
    fn every_gil_model_thread_takes_the_lock() {
        let tally = run(
            CounterTechnique::GilModel,
            work(2, 2_000_000, Shape::Increments),
            INTERVAL,
        )
        .unwrap();
        assert!(tally.gil_switches.unwrap() >= 2, "{tally:?}");
    }

    /// A wrong count is an error for a synchronised technique; for racy only a count no
    /// race can produce is.
    #[test]
    fn checks() {
        let w = work(2, 10, Shape::Increments);
        let tally = |final_count| Tally {
            work: w,
            final_count,
            gil_switches: None,
            overlap: None,
        };
        assert!(tally(20).check(CounterTechnique::Atomic).is_ok());
        let err = tally(19).check(CounterTechnique::Mutex).unwrap_err();
        assert!(err.contains("ended at 19, expected 20"), "{err}");
        assert!(tally(7).check(CounterTechnique::Racy).is_ok());
        assert_eq!(tally(7).lost(), Some(13));
        assert!(tally(21).check(CounterTechnique::Racy).is_err());
        assert!(tally(0).check(CounterTechnique::Racy).is_err());
        let b = Tally {
            work: work(2, 10, Shape::Balanced),
            final_count: BALANCED_START + 3,
            gil_switches: None,
            overlap: None,
        };
        assert_eq!((b.drift(), b.lost()), (3, None));
        assert!(b.check(CounterTechnique::Racy).is_ok());
        assert!(b.check(CounterTechnique::GilModel).is_err());
    }

    #[test]
    fn overlap_is_the_shared_span_over_the_shortest_thread() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(overlap(&[(at(0), at(10))]), None);
        // The second thread ran 5..10 wholly alongside the first.
        assert_eq!(overlap(&[(at(0), at(10)), (at(5), at(10))]), Some(1.0));
        // Half of the shorter one's 10 ms was shared.
        assert_eq!(overlap(&[(at(0), at(10)), (at(5), at(15))]), Some(0.5));
        // One ended before the other began.
        assert_eq!(overlap(&[(at(0), at(10)), (at(20), at(30))]), Some(0.0));
    }

    #[test]
    fn a_run_of_several_threads_reports_their_overlap() {
        let tally = run(
            CounterTechnique::Atomic,
            work(2, 10_000, Shape::Increments),
            INTERVAL,
        )
        .unwrap();
        let o = tally.overlap.expect("two threads overlap somehow");
        assert!((0.0..=1.0).contains(&o), "{o}");
        let one = run(
            CounterTechnique::Atomic,
            work(1, 10, Shape::Increments),
            INTERVAL,
        )
        .unwrap();
        assert_eq!(one.overlap, None);
    }
}
