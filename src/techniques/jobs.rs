//! The CPU-bound work every technique runs: counting down and naive Fibonacci.
//!
//! Both hide their values from the optimiser (`opaque`, `black_box`) so it cannot fold
//! a loop into a formula, and both return a value that can be checked, so a technique that skipped or
//! duplicated work is caught. A `tick` hook is called at regular points of the work: it
//! is where the GIL model's threads give up the lock, as CPython's interpreter does
//! between bytecodes. Every other technique runs the count without ticks, in a loop of
//! its own, because the ticks' slices cost a second loop counter (see `count_down`).

use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// How many decrements run between two ticks of a count.
pub const TICK_EVERY: u64 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Decrement a counter from `n` to zero (the paper's Figure 2 loop).
    CountDown { n: u64 },
    /// Naive doubly recursive Fibonacci (the paper's Figure 12 worker).
    Fib { n: u32 },
}

impl Job {
    /// Runs the job; returns the number of decrements for a count, the value for fib.
    pub fn run(&self) -> u64 {
        match *self {
            Job::CountDown { n } => count_down(n),
            Job::Fib { n } => fib(black_box(n), &mut || {}),
        }
    }

    pub fn run_ticked<F: FnMut()>(&self, tick: &mut F) -> u64 {
        match *self {
            Job::CountDown { n } => count_down_ticked(n, tick),
            Job::Fib { n } => fib(black_box(n), tick),
        }
    }

    /// The value `run` must return.
    pub fn expected(&self) -> u64 {
        match *self {
            Job::CountDown { n } => n,
            Job::Fib { n } => fib_exact(n),
        }
    }

    pub fn label(&self) -> String {
        match *self {
            Job::CountDown { n } => format!("count({n})"),
            Job::Fib { n } => format!("fib({n})"),
        }
    }
}

/// Hides a value from the optimiser so the loop cannot be folded into one subtraction.
/// An empty asm statement keeps it in a register; `black_box` would send it through
/// memory on every step, which cost about 3 % against Go's plain register loop.
#[inline(always)]
fn opaque(mut v: u64) -> u64 {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    // SAFETY: an empty instruction string; it only claims to read and write `v`.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) v, options(nomem, nostack, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        v = black_box(v);
    }
    v
}

/// The paper's `while n > 0: n -= 1`, and the same shape as the Go peer's `countdown`:
/// one register decremented, tested and branched on, so each step waits only on the
/// step before. Any second loop counter (a slice index, a step tally) is another
/// decrement per step, and on some CPUs (an Intel Xeon measured it) that halved the
/// speed against Go. The step count is what the counter travelled, so nothing else
/// needs counting. Never inlined, so every technique runs the very same machine code for
/// the loop: a loop this tight is fast or slow by a few percent depending on where the
/// optimiser places it, which would otherwise pass for a difference between techniques.
#[inline(never)]
fn count_down(n: u64) -> u64 {
    let mut counter = n;
    while counter > 0 {
        counter = opaque(counter - 1);
    }
    n - counter
}

/// The GIL model's count: slices of `TICK_EVERY` decrements with a check point after
/// each. The slice index is a second loop counter, which `count_down` avoids; the model
/// can afford it, since it is compared only with itself and with CPython's threads.
#[inline(never)]
fn count_down_ticked(n: u64, tick: &mut impl FnMut()) -> u64 {
    let mut counter = n;
    let mut steps = 0u64;
    while counter > 0 {
        let slice = counter.min(TICK_EVERY);
        for _ in 0..slice {
            counter = opaque(counter - 1);
        }
        steps += slice;
        tick();
    }
    steps
}

fn fib(n: u32, tick: &mut impl FnMut()) -> u64 {
    if n < 2 {
        tick();
        return n as u64;
    }
    fib(n - 1, tick) + fib(n - 2, tick)
}

/// A job as a pool task, so worker processes can run it by name.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct RunJob;

impl crate::pool::task::Task for RunJob {
    const NAME: &'static str = "job";
    type Input = Job;
    type Output = u64;

    fn call(&self, job: Job) -> Result<u64, String> {
        Ok(job.run())
    }
}

impl super::Work for Job {
    type Output = u64;
    type Task = RunJob;

    fn run(&self) -> u64 {
        Job::run(self)
    }

    fn run_ticked<F: FnMut()>(&self, tick: &mut F) -> u64 {
        Job::run_ticked(self, tick)
    }

    /// A count splits in halves with `rayon::join` until pieces are small, so rayon can
    /// balance uneven chunks over the cores by stealing halves, which neither
    /// one-thread-per-chunk nor async tasks can do.
    fn run_rayon(&self) -> u64 {
        match *self {
            Job::CountDown { n } if n > RAYON_GRAIN => {
                let half = n / 2;
                let (a, b) = rayon::join(
                    || Job::CountDown { n: half }.run_rayon(),
                    || Job::CountDown { n: n - half }.run_rayon(),
                );
                a + b
            }
            _ => Job::run(self),
        }
    }

    fn label(&self) -> String {
        Job::label(self)
    }
}

/// Below this many decrements a count is not split further (a few milliseconds of work).
const RAYON_GRAIN: u64 = 1 << 22;

/// Fibonacci by iteration, to check the naive version against.
pub fn fib_exact(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

/// Splits a count of `n` into `chunks` parts whose sizes differ by at most one.
pub fn count_chunks(n: u64, chunks: usize) -> Vec<Job> {
    let chunks = (chunks as u64).clamp(1, n.max(1));
    (0..chunks)
        .map(|i| Job::CountDown {
            n: n / chunks + u64::from(i < n % chunks),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_values() {
        let known = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55];
        for (n, v) in known.iter().enumerate() {
            assert_eq!(Job::Fib { n: n as u32 }.run(), *v);
        }
        assert_eq!(fib_exact(40), 102_334_155);
        assert_eq!(Job::Fib { n: 25 }.run(), fib_exact(25));
    }

    #[test]
    fn count_down_counts_every_step_and_ticks() {
        let mut ticks = 0;
        let steps = Job::CountDown { n: 10_000 }.run_ticked(&mut || ticks += 1);
        assert_eq!(steps, 10_000);
        assert_eq!(ticks, 3); // 4096 + 4096 + 1808
    }

    #[test]
    fn plain_and_ticked_counts_agree() {
        for n in [0, 1, 4095, 4096, 4097, 1_000_003] {
            let job = Job::CountDown { n };
            assert_eq!(job.run(), n);
            assert_eq!(job.run_ticked(&mut || {}), n);
        }
    }

    #[test]
    fn chunks_cover_the_count() {
        let jobs = count_chunks(50_000_003, 5);
        assert_eq!(jobs.len(), 5);
        let total: u64 = jobs.iter().map(Job::expected).sum();
        assert_eq!(total, 50_000_003);
        assert_eq!(count_chunks(3, 5).len(), 3);
    }

    #[test]
    fn jobs_travel_as_json() {
        let job = Job::Fib { n: 7 };
        let text = serde_json::to_string(&job).unwrap();
        assert_eq!(text, r#"{"kind":"fib","n":7}"#);
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), job);
    }
}
