//! The synthetic task of `parlab advise`: CPU, then a wait, with data in and out.
//!
//! A task burns a number of steps of the count loop that `count` measures (so its cost
//! per step is the one `estimate::count_rate` calibrated on this machine), digests its
//! payload, builds its result, and then blocks: a sleep, or a GET to the embedded server
//! whose site answers after the wait. The payload travels inside the task and the result
//! inside its answer, so worker processes pay for both as JSON over their pipes, as a
//! Python pool pays for pickling them; threads and async tasks only share them.
//!
//! The CPU part is timed with the thread's own CPU clock, so a row can tell whether its
//! tasks really burned what was asked (a slower or throttled core, a loop the optimiser
//! shortened) instead of trusting the calibration.

use crate::pool::task::Task;
use crate::techniques::Work;
use crate::techniques::http::Fetch;
use crate::techniques::jobs::Job;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// One task as the techniques receive it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Synthetic {
    pub index: u64,
    /// Steps of the count loop: the CPU share, from the calibrated rate.
    pub steps: u64,
    /// The wait after the CPU share, in microseconds.
    pub wait_us: u64,
    /// Where to wait with `--wait-kind http`: a site of the embedded server whose latency
    /// is the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Shared by the rows that run the same tasks, so holding every row's tasks at once
    /// does not add to any row's peak memory; a worker process still gets its own copy.
    pub payload: Arc<str>,
    pub result_bytes: u64,
}

/// What a task hands back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// CRC-32 of the payload, proof that the task read all of it.
    pub checksum: u32,
    /// Steps the count loop went through.
    pub steps: u64,
    /// CPU time of this task's thread over its CPU share (digest, loop, result).
    pub cpu_s: f64,
    /// The HTTP status of an `http` wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub result: String,
}

impl Synthetic {
    /// The tasks of one row: `tasks` of them, each with a payload of its own (so no
    /// technique can share one copy) of exactly `payload` bytes.
    pub fn batch(shape: &TaskShape, tasks: u64, url: Option<&str>) -> Vec<Synthetic> {
        (0..tasks)
            .map(|index| Synthetic {
                index,
                steps: shape.steps,
                wait_us: shape.wait.as_micros() as u64,
                url: url.map(str::to_string),
                payload: filler(index, shape.payload_bytes).into(),
                result_bytes: shape.result_bytes,
            })
            .collect()
    }

    /// The CPU share, on the calling thread.
    fn compute(&self) -> Done {
        let started = thread_cpu_s();
        let checksum = crc32fast::hash(self.payload.as_bytes());
        let steps = Job::CountDown { n: self.steps }.run();
        let result = filler(u64::from(checksum) ^ self.index, self.result_bytes);
        Done {
            checksum,
            steps,
            cpu_s: (thread_cpu_s() - started).max(0.0),
            status: None,
            result,
        }
    }

    fn fetch(&self, url: &str) -> Fetch {
        Fetch {
            url: url.to_string(),
            // The site answers after the wait; a generous margin covers a busy machine.
            timeout_ms: self.wait_us / 1000 * 10 + 10_000,
        }
    }

    /// Whether `done` is this task's right answer; the CPU time is judged per row.
    pub fn check(&self, done: &Done) -> Result<(), String> {
        let want = crc32fast::hash(self.payload.as_bytes());
        if done.checksum != want {
            return Err(format!(
                "task {} read a payload with checksum {:08x}, expected {want:08x}",
                self.index, done.checksum
            ));
        }
        if done.steps != self.steps {
            return Err(format!(
                "task {} counted {} steps of {}",
                self.index, done.steps, self.steps
            ));
        }
        if done.result != filler(u64::from(want) ^ self.index, self.result_bytes) {
            return Err(format!(
                "task {} gave a wrong result of {} bytes",
                self.index,
                done.result.len()
            ));
        }
        if self.url.is_some() && done.status != Some(200) {
            return Err(format!(
                "task {}'s request got {}",
                self.index,
                done.status
                    .map_or_else(|| "no answer".to_string(), |s| s.to_string())
            ));
        }
        Ok(())
    }
}

/// What every task of a row does: its CPU steps, wait and data sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskShape {
    pub steps: u64,
    pub wait: Duration,
    pub payload_bytes: u64,
    pub result_bytes: u64,
}

/// `bytes` of printable text that depend on `seed`: the seed mixed and written as 16
/// hex digits, repeated. Cheap to build in every language (the peers build the same
/// text), and JSON carries it unescaped, so its size on a pipe is its size in memory.
pub fn filler(seed: u64, bytes: u64) -> String {
    let unit = format!("{:016x}", seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut text = unit.repeat(bytes as usize / 16 + 1);
    text.truncate(bytes as usize);
    text
}

/// The count loop on this machine: steps per second of this thread's CPU time, and
/// how much longer the wall clock took than the CPU did (1 on an idle core).
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    pub steps_per_s: f64,
    pub slowdown: f64,
}

/// Calibrates on CPU time, not wall time: on a busy machine the loop shares its core,
/// and a rate taken from the wall clock would make every task burn less CPU than asked.
/// The ratio of the two says how busy the machine is, for the budget's estimates.
pub fn calibrate() -> Calibration {
    let mut n = 1u64 << 16;
    loop {
        let (cpu, wall) = (thread_cpu_s(), std::time::Instant::now());
        Job::CountDown { n }.run();
        let took = thread_cpu_s() - cpu;
        if took >= CALIBRATION_S || n >= 1 << 36 {
            let took = took.max(1e-9);
            return Calibration {
                steps_per_s: n as f64 / took,
                slowdown: (wall.elapsed().as_secs_f64() / took).max(1.0),
            };
        }
        n *= 2;
    }
}

/// CPU time the calibration's last trial runs at least.
const CALIBRATION_S: f64 = 0.05;

/// CPU time of the calling thread, in seconds.
pub fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the struct it is handed.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    if ok {
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    } else {
        0.0
    }
}

/// The pool task that lets worker processes run synthetic tasks.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct SyntheticTask;

impl Task for SyntheticTask {
    const NAME: &'static str = "advise";
    type Input = Synthetic;
    type Output = Done;

    fn call(&self, task: Synthetic) -> Result<Done, String> {
        Ok(Work::run(&task))
    }
}

impl Work for Synthetic {
    type Output = Done;
    type Task = SyntheticTask;

    fn run(&self) -> Done {
        let mut done = self.compute();
        match &self.url {
            Some(url) => done.status = self.fetch(url).run().status,
            None => std::thread::sleep(Duration::from_micros(self.wait_us)),
        }
        done
    }

    /// The CPU share blocks the runtime thread, as CPU work in an async task does; the
    /// wait yields it.
    async fn run_async(self) -> Done {
        let mut done = self.compute();
        match &self.url {
            Some(url) => done.status = self.fetch(url).run_async().await.status,
            None => tokio::time::sleep(Duration::from_micros(self.wait_us)).await,
        }
        done
    }

    fn label(&self) -> String {
        format!("task {}", self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(steps: u64, payload: u64, result: u64) -> TaskShape {
        TaskShape {
            steps,
            wait: Duration::from_millis(1),
            payload_bytes: payload,
            result_bytes: result,
        }
    }

    #[test]
    fn tasks_carry_their_sizes_and_check_their_answers() {
        let tasks = Synthetic::batch(&shape(10_000, 300, 40), 3, None);
        assert_eq!(tasks.len(), 3);
        assert!(tasks.iter().all(|t| t.payload.len() == 300));
        assert_ne!(tasks[0].payload, tasks[1].payload);
        let done = tasks[1].run();
        assert_eq!(done.result.len(), 40);
        assert_eq!(done.steps, 10_000);
        tasks[1].check(&done).unwrap();
        // Another task's answer is wrong for this one.
        let err = tasks[0].check(&done).unwrap_err();
        assert!(err.contains("checksum"), "{err}");
        let mut short = done.clone();
        short.steps -= 1;
        assert!(tasks[1].check(&short).unwrap_err().contains("steps"));
    }

    #[test]
    fn the_cpu_share_is_timed_on_the_thread_clock() {
        let rate = calibrate().steps_per_s;
        let task = &Synthetic::batch(&shape((rate * 0.02) as u64, 0, 0), 1, None)[0];
        let done = task.run();
        // 20 ms of steps: the thread's clock saw about that, and none of the sleep.
        assert!(done.cpu_s > 0.01 && done.cpu_s < 0.04, "{}", done.cpu_s);
    }

    #[test]
    fn tasks_travel_as_json_without_escapes() {
        let task = &Synthetic::batch(&shape(5, 64, 8), 1, Some("http://127.0.0.1:1/x"))[0];
        let text = serde_json::to_string(task).unwrap();
        assert!(text.len() < 64 + 150, "{text}");
        assert_eq!(serde_json::from_str::<Synthetic>(&text).unwrap(), *task);
    }
}
