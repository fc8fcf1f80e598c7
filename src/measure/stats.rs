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
        let median = sorted_median(&sorted);
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

/// The confidence level of every interval parlab reports.
pub const CONFIDENCE: f64 = 0.95;

/// The fewest samples whose median has a 95 % interval. With five, the widest possible
/// interval (min to max) misses the median with probability 2/2⁵ = 6.25 %, so it would
/// claim more than it has.
pub const MIN_CI_SAMPLES: usize = 6;

/// Ranks (1-based, in sorted order) of the order statistics that bound a 95 % interval
/// of the median of `n` samples, or `None` when no pair of ranks reaches 95 %.
///
/// Distribution-free, as benchstat's: the number of samples below the true median is
/// Binomial(n, ½) whatever the distribution, so `[x(lo), x(hi)]` covers it with
/// probability P(lo ≤ B < hi). The ranks are the narrowest symmetric pair (hi = n + 1 −
/// lo) that still covers with at least 95 %; symmetric because the binomial is, and
/// narrowest because any wider pair says less.
pub fn median_ci_ranks(n: usize) -> Option<(usize, usize)> {
    if n < MIN_CI_SAMPLES {
        return None;
    }
    // Coverage of [x(lo), x(n+1-lo)] is 1 − 2·P(B ≤ lo − 1); P(B = k) is built in logs
    // so that 2⁻ⁿ cannot underflow to zero before the terms that matter.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_pmf = ln_half_n;
    let mut below = 0.0;
    let mut lo = 0;
    for k in 0..n / 2 {
        below += ln_pmf.exp();
        if 1.0 - 2.0 * below < CONFIDENCE {
            break;
        }
        lo = k + 1;
        ln_pmf += ((n - k) as f64 / (k + 1) as f64).ln();
    }
    (lo >= 1).then(|| (lo, n + 1 - lo))
}

/// A 95 % confidence interval of the median of `samples` (see [`median_ci_ranks`]);
/// `None` with fewer than [`MIN_CI_SAMPLES`] samples or any that is not finite.
pub fn median_ci(samples: &[f64]) -> Option<[f64; 2]> {
    if samples.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let (lo, hi) = median_ci_ranks(samples.len())?;
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some([sorted[lo - 1], sorted[hi - 1]])
}

/// Resamples drawn for [`speedup_ci`]: percentile intervals want a thousand or more
/// (Efron and Tibshirani), and two thousand sorts of a few runs cost less than a
/// millisecond, nothing next to the runs themselves.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;

/// The fixed seed of [`speedup_ci`]: the same samples always give the same interval, so
/// a report, its tests and a rerun of `compare` agree to the last digit.
const BOOTSTRAP_SEED: u64 = 0x5EED_15C0_FFEE_0001;

/// A 95 % confidence interval of `median(baseline) / median(row)`.
///
/// A percentile bootstrap: both sample sets are resampled with replacement (they are
/// independent runs), the ratio of the resampled medians is taken
/// [`BOOTSTRAP_RESAMPLES`] times, and its 2.5th and 97.5th percentiles bound the
/// interval. A ratio of two medians has no distribution-free interval of its own, and
/// the bootstrap needs no assumption about the shape of either set. The generator is a
/// seeded xorshift so the interval is a function of the samples alone.
///
/// `None` unless both sides have [`MIN_CI_SAMPLES`] samples, all finite and the row's
/// positive: with fewer, a resampled median takes only a handful of values and the
/// percentiles would pretend to a precision the runs do not have.
pub fn speedup_ci(baseline: &[f64], row: &[f64]) -> Option<[f64; 2]> {
    let enough = |s: &[f64]| s.len() >= MIN_CI_SAMPLES && s.iter().all(|v| v.is_finite());
    if !enough(baseline) || !enough(row) || row.iter().any(|v| *v <= 0.0) {
        return None;
    }
    let mut rng = XorShift(BOOTSTRAP_SEED);
    let mut scratch = Vec::with_capacity(baseline.len().max(row.len()));
    let mut resampled_median = |from: &[f64], rng: &mut XorShift| {
        scratch.clear();
        scratch.extend((0..from.len()).map(|_| from[rng.below(from.len())]));
        scratch.sort_by(f64::total_cmp);
        sorted_median(&scratch)
    };
    let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let b = resampled_median(baseline, &mut rng);
            b / resampled_median(row, &mut rng)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    Some([quantile(&ratios, tail), quantile(&ratios, 1.0 - tail)])
}

fn sorted_median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The `p` quantile of sorted values, interpolating between neighbours (R's default,
/// type 7) rather than snapping to one of them.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let below = h.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + (h - below as f64) * (sorted[above] - sorted[below])
}

/// xorshift64* (Marsaglia's xorshift, Vigna's output multiplier): small, fast, and
/// plenty for picking resample indices; nothing rests on it beyond "indices roughly
/// uniform", so a crate for it would be weight without benefit.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`: the high bits of a 64×64 product, which (unlike `% n`) use the
    /// generator's best bits.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// A two-sided Mann-Whitney U test of two independent sample sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UTest {
    /// U of the first set: pairs where its value is the larger, ties counting half.
    pub u: f64,
    /// The two-sided p-value of "both sets come from one distribution".
    pub p: f64,
    /// Whether `p` is from the exact distribution of U (small sets without ties) rather
    /// than the normal approximation.
    pub exact: bool,
}

/// Up to this many samples per side, sets without ties get the exact distribution of U;
/// beyond it the normal approximation is within a few thousandths of it.
pub const EXACT_U_MAX: usize = 50;

/// The Mann-Whitney U test, benchstat's choice for timings: it compares ranks, so one
/// descheduled run counts as one rank and cannot drag the verdict the way it drags a
/// t-test's mean, and it assumes no distribution. `None` when either set is empty or
/// holds a value that is not finite.
///
/// Without ties and with at most [`EXACT_U_MAX`] samples a side, p comes from the exact
/// distribution of U; otherwise from the normal approximation with the variance
/// corrected for ties and a continuity correction of ½.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<UTest> {
    let all_finite = x.iter().chain(y).all(|v| v.is_finite());
    if x.is_empty() || y.is_empty() || !all_finite {
        return None;
    }
    let (n, m) = (x.len(), y.len());
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Midranks: a run of t equal values shares the mean of the ranks it spans.
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i + 1;
        while j < pooled.len() && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        let midrank = (i + 1 + j) as f64 / 2.0;
        rank_sum_x += midrank * pooled[i..j].iter().filter(|p| p.1).count() as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let u = rank_sum_x - (n * (n + 1)) as f64 / 2.0;
    let nm = (n * m) as f64;
    if tie_term == 0.0 && n <= EXACT_U_MAX && m <= EXACT_U_MAX {
        let dist = u_distribution(n, m);
        let k = u as usize;
        let below: f64 = dist[..=k].iter().sum();
        let above: f64 = dist[k..].iter().sum();
        let p = (2.0 * below.min(above)).min(1.0);
        return Some(UTest { u, p, exact: true });
    }
    let total = (n + m) as f64;
    let variance = nm / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    let p = if variance <= 0.0 {
        // Every value equal: nothing tells the sets apart.
        1.0
    } else {
        let z = ((u - nm / 2.0).abs() - 0.5).max(0.0) / variance.sqrt();
        erfc(z / std::f64::consts::SQRT_2).min(1.0)
    };
    Some(UTest { u, p, exact: false })
}

/// P(U = u) for u in `0..=n·m` when sets of `n` and `m` values without ties come from
/// one distribution.
///
/// Built from the largest value: it belongs to the first set with probability
/// n/(n+m) and then beats all m values of the second, so
/// P(n, m, u) = n/(n+m)·P(n−1, m, u−m) + m/(n+m)·P(n, m−1, u). Every term is a sum of
/// positive probabilities, so nothing cancels, and the tables stay small (two layers of
/// m+1 rows).
fn u_distribution(n: usize, m: usize) -> Vec<f64> {
    // prev[j] holds P(i−1, j, ·), cur[j] P(i, j, ·).
    let mut prev: Vec<Vec<f64>> = (0..=m).map(|_| vec![1.0]).collect();
    for i in 1..=n {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(m + 1);
        cur.push(vec![1.0]);
        for j in 1..=m {
            let mut p = vec![0.0; i * j + 1];
            let (wi, wj) = (i as f64 / (i + j) as f64, j as f64 / (i + j) as f64);
            for (u, q) in prev[j].iter().enumerate() {
                p[u + j] += wi * q;
            }
            for (u, q) in cur[j - 1].iter().enumerate() {
                p[u] += wj * q;
            }
            cur.push(p);
        }
        prev = cur;
    }
    prev.swap_remove(m)
}

/// The smallest two-sided p the exact U test can give for sets of `n` and `m` values:
/// 2/C(n+m, n), when one set lies wholly above the other. For 3 and 3 it is 0.1, so no
/// data could make such a row significant at 0.05, and a table can say "too few runs"
/// rather than a bare "no significant change" that reads as evidence of none.
pub fn min_u_p(n: usize, m: usize) -> f64 {
    let (small, total) = (n.min(m), n + m);
    // C(total, small) as a running product, exact enough in f64 for any real run count.
    let ways = (0..small).fold(1.0, |acc, k| acc * (total - k) as f64 / (k + 1) as f64);
    (2.0 / ways).min(1.0)
}

/// Holm-Bonferroni adjusted p-values, in the order given: a family of tests whose
/// adjusted p ≤ α has a chance of at most α of any false alarm, and unlike plain
/// Bonferroni it costs the weaker results less power.
///
/// The i-th smallest p (from 0) is multiplied by (m − i), capped at 1, and each adjusted
/// value is raised to the largest before it so that the order of the p-values holds.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (i, &at) in order.iter().enumerate() {
        running = running.max(((m - i) as f64 * p[at]).min(1.0));
        adjusted[at] = running;
    }
    adjusted
}

/// The complementary error function, for normal tail probabilities:
/// P(Z > z) = erfc(z/√2)/2.
///
/// The Maclaurin series of erf where it converges without much cancellation (x < 2.5),
/// and the continued fraction of erfc (Abramowitz and Stegun 7.1.14) beyond, where the
/// series would lose the small tail in rounding; both within 1e-10 relative, far finer
/// than a p-value printed to three decimals needs.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.5 {
        // erf(x) = 2/√π Σ (−1)ᵏ x^(2k+1) / (k! (2k+1))
        let (mut term, mut sum, x2) = (x, x, x * x);
        for k in 1..200 {
            term *= -x2 / k as f64;
            let next = term / (2 * k + 1) as f64;
            sum += next;
            if next.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))),
    // evaluated from the bottom up.
    let mut tail = x;
    for k in (1..=120).rev() {
        tail = x + (k as f64 / 2.0) / tail;
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * tail)
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
    #[test]
    fn median_interval_ranks_follow_the_binomial() {
        // Fewer than six samples cannot reach 95 %: five cover with 1 − 2/32 = 93.75 %.
        for n in 0..MIN_CI_SAMPLES {
            assert_eq!(median_ci_ranks(n), None, "n = {n}");
        }
        // Textbook ranks (e.g. Conover, Practical Nonparametric Statistics, table A3).
        assert_eq!(median_ci_ranks(6), Some((1, 6)));
        assert_eq!(median_ci_ranks(8), Some((1, 8)));
        assert_eq!(median_ci_ranks(9), Some((2, 8)));
        assert_eq!(median_ci_ranks(10), Some((2, 9)));
        assert_eq!(median_ci_ranks(20), Some((6, 15)));
        assert_eq!(median_ci_ranks(100), Some((40, 61)));
        // Thousands of samples: 2⁻ⁿ underflows, the log-space terms do not.
        let (lo, hi) = median_ci_ranks(5000).unwrap();
        assert!(lo > 2400 && hi == 5001 - lo, "{lo} {hi}");
    }

    #[test]
    fn median_interval_brackets_the_median() {
        let samples = [9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0, 10.0];
        // Ranks 2 and 9 of 1..=10.
        assert_eq!(median_ci(&samples), Some([2.0, 9.0]));
        let median = Summary::of(&samples).unwrap().median;
        let [lo, hi] = median_ci(&samples).unwrap();
        assert!(lo <= median && median <= hi);
        assert_eq!(median_ci(&[1.0, 2.0, 3.0, 4.0, 5.0]), None);
        assert_eq!(median_ci(&[1.0, 2.0, 3.0, 4.0, 5.0, f64::NAN]), None);
    }

    #[test]
    fn speedup_interval_is_reproducible_and_sensible() {
        let base = [10.0, 10.2, 9.9, 10.1, 10.4, 9.8, 10.0, 10.3];
        let row = [5.0, 5.1, 4.9, 5.2, 5.0, 4.8, 5.1, 5.05];
        let ci = speedup_ci(&base, &row).unwrap();
        assert_eq!(Some(ci), speedup_ci(&base, &row), "a fixed seed");
        let point = Summary::of(&base).unwrap().median / Summary::of(&row).unwrap().median;
        assert!(ci[0] <= point && point <= ci[1], "{ci:?} around {point}");
        // No wider than the extreme ratios the samples allow.
        assert!(ci[0] >= 9.8 / 5.2 && ci[1] <= 10.4 / 4.8, "{ci:?}");
        // Identical runs leave nothing to resample.
        assert_eq!(speedup_ci(&[2.0; 6], &[1.0; 6]), Some([2.0, 2.0]));
        assert_eq!(speedup_ci(&base, &row[..5]), None);
        assert_eq!(speedup_ci(&base[..5], &row), None);
        assert_eq!(speedup_ci(&base, &[0.0; 8]), None);
    }

    #[test]
    fn fully_separated_sets_of_five_give_the_exact_p() {
        let low = [1.0, 2.0, 3.0, 4.0, 5.0];
        let high = [6.0, 7.0, 8.0, 9.0, 10.0];
        let t = mann_whitney(&low, &high).unwrap();
        assert!(t.exact);
        assert_eq!(t.u, 0.0);
        // One arrangement of C(10, 5) = 252 is this extreme, and one the other way.
        assert!((t.p - 2.0 / 252.0).abs() < 1e-12, "{}", t.p);
        let back = mann_whitney(&high, &low).unwrap();
        assert_eq!(back.u, 25.0);
        assert!((back.p - t.p).abs() < 1e-12);
        assert!((min_u_p(5, 5) - 2.0 / 252.0).abs() < 1e-15);
        assert!((min_u_p(3, 3) - 0.1).abs() < 1e-15);
    }

    #[test]
    fn exact_u_matches_hand_counts() {
        // n = 3, m = 4: C(7, 3) = 35 arrangements; U = 1 has P(U ≤ 1) = 2/35.
        let t = mann_whitney(&[1.0, 2.0, 4.0], &[3.0, 5.0, 6.0, 7.0]).unwrap();
        assert_eq!(t.u, 1.0);
        assert!((t.p - 4.0 / 35.0).abs() < 1e-12, "{}", t.p);
        // Interleaved sets: U at the centre, p = 1.
        let t = mann_whitney(&[1.0, 4.0, 5.0, 8.0], &[2.0, 3.0, 6.0, 7.0]).unwrap();
        assert_eq!(t.u, 8.0);
        assert_eq!(t.p, 1.0);
        // The distribution sums to one and is symmetric.
        let d = u_distribution(7, 4);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for u in 0..=28 {
            assert!((d[u] - d[28 - u]).abs() < 1e-15);
        }
    }

    #[test]
    fn ties_use_the_corrected_normal_approximation() {
        // By hand: pooled midranks 0.5→1, 1→2, 2,2,2→4, 3→6, 5,5→7.5, 6→9, so
        // R_x = 2 + 4 + 4 + 7.5 = 17.5 and U = 17.5 − 10 = 7.5. Ties of 3 and 2 give
        // Σ(t³ − t) = 24 + 6 = 30, σ² = 20/12·(10 − 30/72) = 15.972, and
        // z = (|7.5 − 10| − 0.5)/σ = 0.5004: p = 2·(1 − Φ(0.5004)) = 0.6168.
        let t = mann_whitney(&[1.0, 2.0, 2.0, 5.0], &[2.0, 3.0, 5.0, 6.0, 0.5]).unwrap();
        assert!(!t.exact);
        assert_eq!(t.u, 7.5);
        assert!((t.p - 0.6168).abs() < 1e-4, "{}", t.p);
        // Separated sets with three pairs of ties: U = 0, Σ(t³ − t) = 18,
        // σ² = 25/12·(11 − 18/90) = 22.5, z = (12.5 − 0.5)/√22.5 = 2.5298: p = 0.01141.
        let t = mann_whitney(&[1.0, 1.0, 2.0, 3.0, 3.0], &[4.0, 4.0, 5.0, 6.0, 7.0]).unwrap();
        assert_eq!(t.u, 0.0);
        assert!((t.p - 0.01141).abs() < 1e-5, "{}", t.p);
        // A set compared with itself: nothing to tell apart.
        let same = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mann_whitney(&same, &same).unwrap().p, 1.0);
        assert_eq!(mann_whitney(&[2.0; 4], &[2.0; 5]).unwrap().p, 1.0);
        assert!(mann_whitney(&[], &same).is_none());
        assert!(mann_whitney(&[f64::INFINITY], &same).is_none());
    }

    #[test]
    fn large_sets_use_the_normal_approximation() {
        let low: Vec<f64> = (0..60).map(f64::from).collect();
        let high: Vec<f64> = (0..60).map(|i| f64::from(i) + 30.5).collect();
        let t = mann_whitney(&low, &high).unwrap();
        assert!(!t.exact);
        // U counts (low > high) pairs: low i beats high j when j ≤ i − 31.
        let u: usize = (0..60).map(|i: usize| i.saturating_sub(30)).sum();
        assert_eq!(t.u, u as f64);
        assert!(t.p < 1e-6, "{}", t.p);
    }

    #[test]
    fn erfc_matches_tabulated_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (2.5, 4.069_520_174_449_589e-4),
            (3.0, 2.209_049_699_858_544e-5),
            (5.0, 1.537_459_794_428_034_8e-12),
            (-1.0, 1.842_700_792_949_715),
        ] {
            let got = erfc(x);
            assert!(
                ((got - want) / want).abs() < 1e-10,
                "erfc({x}) = {got}, not {want}"
            );
        }
    }

    #[test]
    fn holm_multiplies_in_order_and_keeps_it() {
        // Sorted: 0.01·4 = 0.04, 0.02·3 = 0.06, 0.03·2 = 0.06, 0.5·1 = 0.5.
        let adjusted = holm(&[0.03, 0.5, 0.01, 0.02]);
        let want = [0.06, 0.5, 0.04, 0.06];
        for (a, w) in adjusted.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adjusted:?}");
        }
        // Order is kept: 0.04·3 = 0.12, 0.3·2 = 0.6, and 0.35·1 = 0.35 is raised to 0.6,
        // since a larger p must not come out more significant than a smaller one.
        let adjusted = holm(&[0.3, 0.04, 0.35]);
        assert!((adjusted[0] - 0.6).abs() < 1e-12, "{adjusted:?}");
        assert!((adjusted[1] - 0.12).abs() < 1e-12, "{adjusted:?}");
        assert_eq!(adjusted[2], adjusted[0]);
        // Capped at 1.
        assert_eq!(holm(&[0.6, 0.9]), [1.0, 1.0]);
        assert!(holm(&[]).is_empty());
        assert_eq!(holm(&[0.7]), [0.7]);
    }
}
