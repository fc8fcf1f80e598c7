//! The count loop against the plainest loop that can count: `while n > 0 { n -= 1 }`
//! with the same empty asm statement to keep it from being folded. Both should run one
//! decrement per step at the same speed, so the ratio, not the absolute time, is what
//! shows a regression: a second loop-carried counter, a value sent through memory, or a
//! call per step makes parlab's loop slower than the reference on the same machine.
//!
//! Divan times each loop on its own (its throughput column is steps per second). After
//! it, the two loops are timed in alternation and the median ns per step and the median
//! of the per-round ratios are printed, because alternating keeps a change of clock
//! speed or a neighbour's load from landing on one loop only.

use divan::Bencher;
use divan::counter::ItemsCount;
use parlab::techniques::jobs::Job;
use std::time::Instant;

const STEPS: u64 = 10_000_000;
const ROUNDS: usize = 15;
const ROUND_STEPS: u64 = 100_000_000;

fn main() {
    divan::main();
    // Divan runs each benchmark once as a test without `--bench`; the summary would be
    // a second of timing that such a run does not want.
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}

/// The anti-folding device of `parlab::techniques::jobs`, repeated here so that the
/// reference stays the reference if that one changes.
#[inline(always)]
fn opaque(mut v: u64) -> u64 {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    // SAFETY: an empty instruction string; it only claims to read and write `v`.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) v, options(nomem, nostack, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        v = std::hint::black_box(v);
    }
    v
}

#[inline(never)]
fn reference(n: u64) -> u64 {
    let mut counter = n;
    while counter > 0 {
        counter = opaque(counter - 1);
    }
    n - counter
}

fn parlab_count(n: u64) -> u64 {
    Job::CountDown { n }.run()
}

#[divan::bench(sample_count = 30)]
fn parlab_loop(bencher: Bencher) {
    bencher
        .counter(ItemsCount::new(STEPS))
        .bench(|| parlab_count(divan::black_box(STEPS)));
}

#[divan::bench(sample_count = 30)]
fn reference_loop(bencher: Bencher) {
    bencher
        .counter(ItemsCount::new(STEPS))
        .bench(|| reference(divan::black_box(STEPS)));
}

fn ns_per_step(count: fn(u64) -> u64) -> f64 {
    let started = Instant::now();
    let steps = count(divan::black_box(ROUND_STEPS));
    let ns = started.elapsed().as_nanos() as f64;
    assert_eq!(steps, ROUND_STEPS);
    ns / ROUND_STEPS as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn summary() {
    let (mut ours, mut plain, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Which loop goes first alternates, so neither always runs on a warmer core.
        let (a, b) = if round % 2 == 0 {
            let a = ns_per_step(parlab_count);
            (a, ns_per_step(reference))
        } else {
            let b = ns_per_step(reference);
            (ns_per_step(parlab_count), b)
        };
        ours.push(a);
        plain.push(b);
        ratios.push(a / b);
    }
    println!(
        "\ncount loop, {ROUNDS} alternating rounds of {ROUND_STEPS} steps (medians):\n  \
         parlab    {:.4} ns/step\n  reference {:.4} ns/step\n  ratio     {:.3} \
         (parlab / reference; 1.00 is the goal)",
        median(ours),
        median(plain),
        median(ratios)
    );
}
