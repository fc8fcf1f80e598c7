//! How numbers are written for people: times, sizes, ratios and counts, the same in
//! the terminal, the report files, the claims and `compare`.

use std::time::Duration;

/// Seconds in the unit that keeps three or four significant digits.
pub fn secs(s: f64) -> String {
    let (scale, decimals, unit) = time_unit(s);
    format!("{:.decimals$} {unit}", s * scale)
}

/// Scale, decimals and name of the unit [`secs`] writes `s` in.
fn time_unit(s: f64) -> (f64, usize, &'static str) {
    if s >= 1.0 {
        (1.0, 3, "s")
    } else if s >= 1e-3 {
        (1e3, 1, "ms")
    } else if s >= 1e-6 {
        (1e6, 0, "µs")
    } else {
        (1e9, 0, "ns")
    }
}

/// A median with its 95 % interval in the median's own unit: `12.3 ms [12.1, 12.9]`.
///
/// The interval is written as its two ends, not as `±`, because a median's interval
/// comes from order statistics and is rarely symmetric about it.
pub fn secs_ci(median: f64, ci: Option<[f64; 2]>) -> String {
    let (scale, decimals, unit) = time_unit(median);
    match ci {
        Some([lo, hi]) => format!(
            "{:.decimals$} {unit} [{:.decimals$}, {:.decimals$}]",
            median * scale,
            lo * scale,
            hi * scale
        ),
        None => secs(median),
    }
}

/// A speedup with its 95 % interval: `1.95× [1.90, 2.01]`.
pub fn ratio_ci(r: Option<f64>, ci: Option<[f64; 2]>) -> String {
    match (r, ci) {
        (Some(r), Some([lo, hi])) => format!("{r:.2}× [{lo:.2}, {hi:.2}]"),
        _ => ratio(r),
    }
}

/// `@1.0u = 0.10s`: a moment in units (the paper's seconds) and in seconds, so a run at
/// a small `--unit` still reads against the paper's figure.
pub fn at(secs: f64, unit: Duration) -> String {
    format!("@{:.1}u = {secs:.2}s", secs / unit.as_secs_f64())
}

pub fn bytes(b: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if b as f64 >= 1024.0 * MIB {
        format!("{:.2} GiB", b as f64 / (1024.0 * MIB))
    } else if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / MIB)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

pub fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".into(), |r| format!("{r:.2}×"))
}

/// A whole number with thousands separated by commas (`13,245,112`), so counts in the
/// millions can be compared by eye.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "–".into(), |p| format!("{:.0}%", p * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_keeps_three_or_four_digits() {
        assert_eq!(secs(2.5), "2.500 s");
        assert_eq!(secs(0.0123), "12.3 ms");
        assert_eq!(secs(0.000_042), "42 µs");
        assert_eq!(secs(0.000_000_451), "451 ns");
        assert_eq!(bytes(64 * 1024), "64.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(ratio(Some(1.954)), "1.95×");
        assert_eq!(ratio(None), "–");
        assert_eq!(grouped(13_245_112), "13,245,112");
        assert_eq!(grouped(-1000), "-1,000");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(0), "0");
        assert_eq!(at(0.5, Duration::from_millis(100)), "@5.0u = 0.50s");
        // An interval is written in the median's unit, however small its ends.
        assert_eq!(
            secs_ci(0.0123, Some([0.0119, 0.0131])),
            "12.3 ms [11.9, 13.1]"
        );
        assert_eq!(secs_ci(1.5, Some([0.9, 2.25])), "1.500 s [0.900, 2.250]");
        assert_eq!(secs_ci(0.0123, None), "12.3 ms");
        assert_eq!(
            ratio_ci(Some(1.954), Some([1.9, 2.013])),
            "1.95× [1.90, 2.01]"
        );
        assert_eq!(ratio_ci(Some(1.954), None), "1.95×");
        assert_eq!(ratio_ci(None, Some([1.0, 2.0])), "–");
    }
}
