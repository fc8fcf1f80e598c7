//! Summary statistics of repeated timings.
//!
//! The median is the headline figure because one descheduled run on a shared machine
//! moves a mean a long way and a median hardly at all; min–max and the coefficient of
//! variation show how far to trust it.

use serde::Serialize;

/// A result whose coefficient of variation exceeds this is flagged as noisy.
pub const NOISY_CV: f64 = 0.10;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Sample standard deviation (n − 1); zero for a single sample.
    pub stddev: f64,
    /// Standard deviation over mean: scale-free, so 0.1 means runs spread by about 10 %.
    pub cv: f64,
}

impl Summary {
    /// `None` when there is nothing to summarise.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            (sorted.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let cv = if mean > 0.0 { stddev / mean } else { 0.0 };
        Some(Summary {
            count: n,
            median,
            min: sorted[0],
            max: sorted[n - 1],
            mean,
            stddev,
            cv,
        })
    }

    pub fn is_noisy(&self) -> bool {
        self.count > 1 && self.cv > NOISY_CV
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even_medians() {
        assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    }

    #[test]
    fn spread() {
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.min, 2.0);
        assert_eq!(s.max, 9.0);
        assert_eq!(s.mean, 5.0);
        assert!((s.stddev - 2.138).abs() < 1e-3);
        assert!((s.cv - 0.4276).abs() < 1e-3);
        assert!(s.is_noisy());
    }

    #[test]
    fn single_and_steady_samples_are_not_noisy() {
        let one = Summary::of(&[1.0]).unwrap();
        assert_eq!(one.stddev, 0.0);
        assert!(!one.is_noisy());
        assert!(!Summary::of(&[1.0, 1.01, 0.99]).unwrap().is_noisy());
    }

    #[test]
    fn nothing_to_summarise() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
    }
}
