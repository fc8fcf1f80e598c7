//! Progress of `reproduce`: an overall bar and a spinner for the experiment running,
//! whose message is the experiment's latest line. On a terminal the experiments' output
//! scrolls above the bars; elsewhere (a pipe, a CI log) there are no bars, only the
//! plain `=== [i/N] id ===` headings, so logs stay readable.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
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
