//! How numbers are written for people: times, sizes, ratios and counts, the same in
//! the terminal, the report files, the claims and `compare`.

use std::time::Duration;

/// Seconds in the unit that keeps three or four significant digits.
pub fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else if s >= 1e-6 {
        format!("{:.0} µs", s * 1e6)
    } else {
        format!("{:.0} ns", s * 1e9)
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
    }
}
