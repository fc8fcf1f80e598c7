//! Dispatch overhead of the Pool API: near-empty tasks (squaring a number) through
//! `map` and `imap_unordered` with chunksize 1, over two threads and two processes.
//! Divan reports time per call and, with the item counter, tasks per second; the time
//! per task is the overhead the pool adds, since the task itself takes nanoseconds.

use divan::Bencher;
use divan::counter::ItemsCount;
use parlab::pool::Pool;
use parlab::pool::task::Square;
use std::path::Path;

fn main() {
    divan::main();
}

const TASKS: u64 = 2_000;
const WORKERS: usize = 2;

fn pool(kind: &str) -> Pool {
    match kind {
        "threads" => Pool::threads(WORKERS).unwrap(),
        _ => Pool::processes(WORKERS, Path::new(env!("CARGO_BIN_EXE_parlab")), 0).unwrap(),
    }
}

#[divan::bench(args = ["threads", "processes"], sample_count = 20)]
fn map(bencher: Bencher, kind: &str) {
    let pool = pool(kind);
    bencher.counter(ItemsCount::new(TASKS)).bench_local(|| {
        let results = pool.map(&Square, 0..TASKS, Some(1));
        assert!(results.iter().all(Result::is_ok));
        results
    });
}

#[divan::bench(args = ["threads", "processes"], sample_count = 20)]
fn imap_unordered(bencher: Bencher, kind: &str) {
    let pool = pool(kind);
    bencher.counter(ItemsCount::new(TASKS)).bench_local(|| {
        pool.imap_unordered(&Square, 0..TASKS, 1)
            .filter(Result::is_ok)
            .count()
    });
}
