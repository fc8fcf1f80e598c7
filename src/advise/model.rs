//! A model beside the measurement: from a row's sweep of worker counts, the Universal
//! Scalability Law (and Amdahl's law, its special case) fitted by least squares, to say
//! what other worker counts, task counts and machines would give without measuring
//! them. Every figure it gives is a prediction and is labelled so.
//!
//! USL: T(N) = T1 (1 + σ(N−1) + κN(N−1)) / N, with σ the share that does not overlap
//! (contention, a lock, one parent feeding every worker) and κ the cost that grows with
//! every pair of workers (crosstalk, start-up per worker). Multiplied by N it is linear
//! in T1, T1σ and T1κ, so ordinary least squares fits it; coefficients are kept
//! non-negative by fitting every subset of the terms and keeping the best fit whose
//! coefficients all are, which for three terms is cheaper than any iterative method.
//!
//! Amdahl: T(N) = T1 (s + (1−s)/N), fitted only on the points with N at most the cores
//! here, where a core was free for every worker: beyond that the machine, not the work,
//! bounds the speedup, and a serial fraction fitted there would blame the work for it.

use serde::Serialize;

/// One row's sweep: median seconds per worker count.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub language: String,
    pub technique: String,
    /// (workers, median seconds), workers ascending.
    pub points: Vec<(u64, f64)>,
}

/// The USL fitted to a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Usl {
    pub t1_s: f64,
    pub sigma: f64,
    pub kappa: f64,
}

impl Usl {
    pub fn time(&self, workers: f64) -> f64 {
        let n = workers.max(1.0);
        self.t1_s * (1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0)) / n
    }

    /// The worker count of the shortest time the law allows: √((1−σ)/κ).
    pub fn best_workers(&self) -> Option<f64> {
        (self.kappa > 0.0).then(|| ((1.0 - self.sigma).max(0.0) / self.kappa).sqrt().max(1.0))
    }
}

/// Amdahl's law fitted to the sweep's points within the cores.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Amdahl {
    pub t1_s: f64,
    pub serial_fraction: f64,
    /// The largest worker count the fit used.
    pub up_to_workers: u64,
}

impl Amdahl {
    pub fn time(&self, workers: f64) -> f64 {
        self.t1_s * (self.serial_fraction + (1.0 - self.serial_fraction) / workers.max(1.0))
    }
}

/// The fits of one sweep, and how far the USL misses the measured points.
#[derive(Clone, Debug, Serialize)]
pub struct Fit {
    pub language: String,
    pub technique: String,
    pub points: Vec<(u64, f64)>,
    pub usl: Option<Usl>,
    /// Largest relative miss of the USL on a measured point.
    pub usl_worst_miss: Option<f64>,
    pub amdahl: Option<Amdahl>,
}

/// Fits both laws to a sweep; a law with too few points is `None`.
pub fn fit(sweep: &Sweep, cores: u64) -> Fit {
    let usl = fit_usl(&sweep.points);
    let usl_worst_miss = usl.map(|u| {
        sweep
            .points
            .iter()
            .map(|&(n, t)| ((u.time(n as f64) - t) / t).abs())
            .fold(0.0, f64::max)
    });
    let within: Vec<(u64, f64)> = sweep
        .points
        .iter()
        .copied()
        .filter(|(n, _)| *n <= cores.max(1))
        .collect();
    Fit {
        language: sweep.language.clone(),
        technique: sweep.technique.clone(),
        points: sweep.points.clone(),
        usl,
        usl_worst_miss,
        amdahl: fit_amdahl(&within),
    }
}

/// USL by least squares on T·N = a + b(N−1) + cN(N−1); needs three worker counts.
fn fit_usl(points: &[(u64, f64)]) -> Option<Usl> {
    if points.len() < 3 {
        return None;
    }
    let basis: Vec<[f64; 3]> = points
        .iter()
        .map(|&(n, _)| {
            let n = n as f64;
            [1.0, n - 1.0, n * (n - 1.0)]
        })
        .collect();
    let y: Vec<f64> = points.iter().map(|&(n, t)| t * n as f64).collect();
    let c = non_negative_least_squares(&basis, &y)?;
    (c[0] > 0.0).then(|| Usl {
        t1_s: c[0],
        sigma: c[1] / c[0],
        kappa: c[2] / c[0],
    })
}

/// Amdahl by least squares on T = a + b/N (s = a/(a+b)); needs two worker counts.
fn fit_amdahl(points: &[(u64, f64)]) -> Option<Amdahl> {
    if points.len() < 2 {
        return None;
    }
    let basis: Vec<[f64; 2]> = points.iter().map(|&(n, _)| [1.0, 1.0 / n as f64]).collect();
    let y: Vec<f64> = points.iter().map(|&(_, t)| t).collect();
    let c = non_negative_least_squares(&basis, &y)?;
    let t1 = c[0] + c[1];
    (t1 > 0.0).then(|| Amdahl {
        t1_s: t1,
        serial_fraction: c[0] / t1,
        up_to_workers: points.iter().map(|p| p.0).max().unwrap_or(1),
    })
}

/// Least squares with every coefficient at least zero: the best fit over the subsets of
/// terms whose unconstrained solution is non-negative (the true constrained optimum is
/// one of them).
fn non_negative_least_squares<const K: usize>(basis: &[[f64; K]], y: &[f64]) -> Option<[f64; K]> {
    let mut best: Option<([f64; K], f64)> = None;
    for mask in 1u32..(1 << K) {
        let terms: Vec<usize> = (0..K).filter(|k| mask & (1 << k) != 0).collect();
        let Some(sol) = solve_normal(basis, y, &terms) else {
            continue;
        };
        if sol.iter().any(|c| *c < 0.0) {
            continue;
        }
        let mut coef = [0.0; K];
        for (k, c) in terms.iter().zip(&sol) {
            coef[*k] = *c;
        }
        let residual: f64 = basis
            .iter()
            .zip(y)
            .map(|(row, t)| {
                let fitted: f64 = row.iter().zip(&coef).map(|(x, c)| x * c).sum();
                (fitted - t).powi(2)
            })
            .sum();
        if best.as_ref().is_none_or(|(_, r)| residual < *r) {
            best = Some((coef, residual));
        }
    }
    best.map(|(c, _)| c)
}

/// Solves the normal equations of the chosen terms by Gaussian elimination with partial
/// pivoting; `None` when they are singular (a term the points cannot tell apart).
fn solve_normal<const K: usize>(
    basis: &[[f64; K]],
    y: &[f64],
    terms: &[usize],
) -> Option<Vec<f64>> {
    let m = terms.len();
    let mut a = vec![vec![0.0; m + 1]; m];
    for (row, t) in basis.iter().zip(y) {
        for i in 0..m {
            for j in 0..m {
                a[i][j] += row[terms[i]] * row[terms[j]];
            }
            a[i][m] += row[terms[i]] * t;
        }
    }
    for col in 0..m {
        let pivot = (col..m).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        let scale = a.iter().map(|r| r[col].abs()).fold(0.0, f64::max);
        if a[pivot][col].abs() <= 1e-12 * scale.max(1e-300) {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..m).map(|i| a[i][m] / a[i][i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(points: &[(u64, f64)]) -> Sweep {
        Sweep {
            language: "rust".into(),
            technique: "threads".into(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn a_usl_curve_is_recovered_from_its_own_points() {
        let truth = Usl {
            t1_s: 2.0,
            sigma: 0.1,
            kappa: 0.01,
        };
        let points: Vec<(u64, f64)> = [1, 2, 4, 8, 16]
            .into_iter()
            .map(|n| (n, truth.time(n as f64)))
            .collect();
        let got = fit(&sweep(&points), 64);
        let usl = got.usl.unwrap();
        assert!((usl.sigma - 0.1).abs() < 1e-6, "{usl:?}");
        assert!((usl.kappa - 0.01).abs() < 1e-6, "{usl:?}");
        assert!(got.usl_worst_miss.unwrap() < 1e-6);
        // 1−σ over κ: √90 ≈ 9.5 workers is the fastest the law allows.
        assert!((usl.best_workers().unwrap() - 90f64.sqrt()).abs() < 1e-3);
    }

    #[test]
    fn amdahl_uses_only_the_points_within_the_cores() {
        // Perfect halving to 2 cores, then flat: the work is parallel, the machine small.
        let got = fit(&sweep(&[(1, 4.0), (2, 2.0), (4, 2.0), (8, 2.0)]), 2);
        let a = got.amdahl.unwrap();
        assert!(a.serial_fraction.abs() < 1e-9, "{a:?}");
        assert_eq!(a.up_to_workers, 2);
        assert!((a.time(64.0) - 4.0 / 64.0).abs() < 1e-9);
        // A quarter that never overlaps.
        let got = fit(&sweep(&[(1, 4.0), (2, 2.5), (4, 1.75)]), 4);
        assert!((got.amdahl.unwrap().serial_fraction - 0.25).abs() < 1e-9);
    }

    #[test]
    fn coefficients_stay_non_negative_and_short_sweeps_fit_nothing() {
        // Faster than linear (noise): σ would be negative, so it is held at zero.
        let got = fit(&sweep(&[(1, 4.0), (2, 1.9), (4, 0.9)]), 4);
        let usl = got.usl.unwrap();
        assert!(usl.sigma >= 0.0 && usl.kappa >= 0.0, "{usl:?}");
        let one = fit(&sweep(&[(1, 4.0)]), 4);
        assert!(one.usl.is_none() && one.amdahl.is_none());
        assert!(fit(&sweep(&[(1, 4.0), (2, 2.0)]), 4).usl.is_none());
    }
}
