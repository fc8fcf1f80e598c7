//! What a run has finished so far, kept where the interrupt handler can reach it: on
//! Ctrl-C parlab writes the rows it has (valid JSON, the unfinished rest marked
//! `interrupted`) instead of losing minutes of measurements.
//!
//! Every row an experiment pushes through its context is mirrored here (`Ctx::push`
//! calls `pushed`), so a long experiment interrupted halfway keeps its finished rows.

use crate::measure::env::Environment;
use crate::results::{ExperimentResult, ResultsDoc, Row, Status};
use std::path::PathBuf;
use std::sync::Mutex;

/// Where an interrupted run's document goes.
#[derive(Clone, Debug)]
pub enum Sink {
    /// `--json PATH` (`-` is stdout).
    Json(PathBuf),
    /// `reproduce --out DIR`: every report file.
    Report(PathBuf),
}

struct State {
    env: Environment,
    done: Vec<ExperimentResult>,
    current: Option<ExperimentResult>,
    /// Experiments not started yet, in order: id and paper reference.
    pending: Vec<(String, String)>,
    sink: Sink,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn state() -> std::sync::MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts keeping a run of the experiments `planned` (id, paper reference).
pub fn begin(env: Environment, planned: &[(&str, &str)], sink: Sink) {
    *state() = Some(State {
        env,
        done: Vec::new(),
        current: None,
        pending: planned
            .iter()
            .map(|(id, r)| (id.to_string(), r.to_string()))
            .collect(),
        sink,
    });
}

/// Mirrors the row `result` just got (its last one).
pub fn pushed(result: &ExperimentResult) {
    let mut guard = state();
    let Some(s) = guard.as_mut() else { return };
    let current = s.current.get_or_insert_with(|| {
        ExperimentResult::new(&result.experiment, &result.paper_ref, result.params.clone())
    });
    if current.experiment != result.experiment {
        // A child experiment of the same process (never in practice): start over.
        *current =
            ExperimentResult::new(&result.experiment, &result.paper_ref, result.params.clone());
    }
    s.pending.retain(|(id, _)| *id != result.experiment);
    let index = result.rows.len() - 1;
    current.rows.push(result.rows[index].clone());
    current
        .events
        .extend(result.events.iter().filter(|e| e.row == index).cloned());
}

/// An experiment ended: its whole result replaces the mirror.
pub fn finished(result: &ExperimentResult) {
    let mut guard = state();
    let Some(s) = guard.as_mut() else { return };
    s.current = None;
    s.pending.retain(|(id, _)| *id != result.experiment);
    s.done.push(result.clone());
}

/// An experiment ended without a result (it failed as a whole).
pub fn abandoned(id: &str) {
    let mut guard = state();
    let Some(s) = guard.as_mut() else { return };
    s.current = None;
    s.pending.retain(|(p, _)| p != id);
}

/// Takes what was finished, marking the rest `interrupted`; later pushes are ignored.
pub fn take_interrupted() -> Option<(ResultsDoc, Sink)> {
    let s = state().take()?;
    let mut experiments = s.done;
    let mark = |mut e: ExperimentResult, why: &str| {
        let mut row = Row::new("rust", "rest", Default::default());
        row.status = Status::Interrupted;
        row.message = Some(why.to_string());
        e.rows.push(row);
        e
    };
    if let Some(current) = s.current {
        experiments.push(mark(current, "interrupted before the remaining rows ran"));
    }
    for (id, paper_ref) in s.pending {
        experiments.push(mark(
            ExperimentResult::new(&id, &paper_ref, Default::default()),
            "interrupted before this experiment started",
        ));
    }
    Some((ResultsDoc::new(s.env, experiments), s.sink))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_keeps_finished_rows_and_marks_the_rest() {
        let env = Environment::capture();
        begin(
            env,
            &[
                ("count", "Figure 2"),
                ("pool", "Figure 12"),
                ("io", "Figure 4"),
            ],
            Sink::Json("-".into()),
        );
        let mut count = ExperimentResult::new("count", "Figure 2", Default::default());
        count.push(
            Row::new("rust", "sequential", Default::default()),
            Vec::new(),
        );
        pushed(&count);
        finished(&count);
        let mut pool = ExperimentResult::new("pool", "Figure 12", Default::default());
        pool.push(Row::new("rust", "threads", Default::default()), Vec::new());
        pushed(&pool);
        let (doc, _) = take_interrupted().expect("a run was kept");
        let ids: Vec<&str> = doc
            .experiments
            .iter()
            .map(|e| e.experiment.as_str())
            .collect();
        assert_eq!(ids, ["count", "pool", "io"]);
        assert_eq!(doc.experiments[0].rows.len(), 1);
        let pool = &doc.experiments[1];
        assert_eq!(pool.rows[0].technique, "threads");
        assert_eq!(pool.rows[1].status, Status::Interrupted);
        assert_eq!(doc.experiments[2].rows[0].status, Status::Interrupted);
        assert!(take_interrupted().is_none(), "taken once");
    }
}
