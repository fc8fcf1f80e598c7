//! Progress of `reproduce`: an overall bar and a spinner for the experiment running,
//! whose message is the experiment's latest line; and of a single experiment: the row
//! running out of how many, and for how long. On a terminal the experiments' output
//! scrolls above the bars; elsewhere (a pipe, a CI log) there are no bars, only the
//! plain `=== [i/N] id ===` headings, so logs stay readable.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct Progress {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
}

impl Progress {
    /// Bars when stdout is a terminal, for `total` experiments.
    pub fn new(total: usize) -> Progress {
        if !std::io::stdout().is_terminal() {
            return Progress { bars: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30}] {pos}/{len} experiments, {elapsed}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        overall.set_prefix("reproduce");
        let current = multi.add(ProgressBar::new_spinner());
        current.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold}: {wide_msg}")
                .expect("a valid template"),
        );
        current.enable_steady_tick(Duration::from_millis(120));
        Progress {
            bars: Some((multi, overall, current)),
        }
    }

    pub fn start(&self, id: &str) {
        if let Some((_, _, current)) = &self.bars {
            current.set_prefix(id.to_string());
            current.set_message("starting");
        }
    }

    pub fn finish_one(&self) {
        if let Some((_, overall, _)) = &self.bars {
            overall.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some((_, overall, current)) = &self.bars {
            current.finish_and_clear();
            overall.finish();
        }
    }

    /// Where the experiments write: above the bars on a terminal, stdout otherwise.
    pub fn writer(&self) -> Box<dyn Write> {
        match &self.bars {
            Some((multi, _, current)) => Box::new(Above {
                multi: multi.clone(),
                current: current.clone(),
                pending: Vec::new(),
            }),
            None => Box::new(std::io::stdout()),
        }
    }
}

/// Progress of a single experiment on a terminal: which row is running out of how many,
/// for how long, and the experiment's latest line (the row it is on). A row can take
/// minutes with nothing printed, and a silent terminal looks hung. Nothing is drawn
/// when stdout is not a terminal, so pipes, logs and tests see the plain output.
pub struct RowProgress {
    multi: MultiProgress,
    bar: ProgressBar,
    id: String,
    /// Whether the expected row count is exact, or an estimate (peers that are missing
    /// give one row per technique instead of their usual rows).
    exact: AtomicBool,
}

impl RowProgress {
    /// A spinner for experiment `id` when stdout is a terminal, else `None`.
    pub fn new(id: &str) -> Option<RowProgress> {
        if !std::io::stdout().is_terminal() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed_precise}  {wide_msg}")
                .expect("a valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        let progress = RowProgress {
            multi,
            bar,
            id: id.to_string(),
            exact: AtomicBool::new(false),
        };
        progress.relabel();
        progress.bar.set_message("starting");
        Some(progress)
    }

    /// The rows the experiment expects to write, known up front (techniques × params);
    /// `exact` when nothing can change the count.
    pub fn expect(&self, rows: u64, exact: bool) {
        self.exact.store(exact, Ordering::Relaxed);
        self.bar.set_length(rows);
        self.relabel();
    }

    /// `rows` rows are finished.
    pub fn done(&self, rows: u64) {
        self.bar.set_position(rows);
        self.relabel();
    }

    /// What is running now, until the next line says otherwise.
    pub fn now(&self, what: &str) {
        self.bar
            .set_message(what.chars().take(100).collect::<String>());
    }

    /// `count row 3/16` (`/~16` for an estimate): the row running, of the rows
    /// expected. Where the count is unknown, only the row; once every expected row is
    /// done (the table is being printed, or the estimate fell short), the rows so far:
    /// `count 16 rows`.
    fn relabel(&self) {
        let done = self.bar.position();
        let label = match self.bar.length() {
            Some(n) if done < n && self.exact.load(Ordering::Relaxed) => {
                format!("row {}/{n}", done + 1)
            }
            Some(n) if done < n => format!("row {}/~{n}", done + 1),
            Some(_) => format!("{done} rows"),
            None => format!("row {}", done + 1),
        };
        self.bar.set_prefix(format!("{} {label}", self.id));
    }

    /// Where the experiment writes: above the spinner, whose message is the latest line.
    pub fn writer(&self) -> Box<dyn Write> {
        Box::new(Above {
            multi: self.multi.clone(),
            current: self.bar.clone(),
            pending: Vec::new(),
        })
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Prints whole lines above the bars and shows the latest one beside the spinner.
struct Above {
    multi: MultiProgress,
    current: ProgressBar,
    pending: Vec<u8>,
}

impl Write for Above {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if !text.trim().is_empty() {
                self.current
                    .set_message(text.trim().chars().take(100).collect::<String>());
            }
            self.multi.println(text)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
