//! The baseline: every item on the calling thread, one after another.

use super::{Batch, Done, Work};
use crate::error::TechniqueError;
use std::time::Instant;

pub(crate) fn run<W: Work>(items: &[W]) -> Result<Batch<W::Output>, TechniqueError> {
    let t0 = Instant::now();
    let done = items.iter().enumerate().map(|(i, item)| {
        let start = t0.elapsed();
        let output = item.run();
        Done::new(i, output, "main".into(), start, t0.elapsed())
    });
    Batch::assemble(items.len(), done.collect::<Vec<_>>())
}
