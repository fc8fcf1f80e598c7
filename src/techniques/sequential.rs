//! The baseline: every job on the calling thread, one after another.

use super::{Batch, Done, jobs::Job};
use crate::error::TechniqueError;
use std::time::Instant;

pub(crate) fn run(jobs: &[Job]) -> Result<Batch, TechniqueError> {
    let t0 = Instant::now();
    let done = jobs.iter().enumerate().map(|(i, job)| {
        let start = t0.elapsed();
        let output = job.run();
        Done::new(i, output, "main".into(), start, t0.elapsed())
    });
    Batch::assemble(jobs.len(), done.collect::<Vec<_>>())
}
