//! Parsers for everything a user types: lists and ranges, counts, durations.
//!
//! They return a message rather than panicking, because their input comes from outside;
//! clap wraps the message into its one-line usage error (exit code 2). A message quotes
//! the input through `shown`, so a value holding a newline or an escape sequence cannot
//! break the line or take over the terminal.

use std::collections::HashSet;
use std::time::Duration;

/// Most entries a list may expand to: enough for any sweep, small enough that `1..1e9`
/// is refused instead of allocating gigabytes.
pub const MAX_LIST_LEN: usize = 10_000;

/// Longest duration any flag takes. Experiments multiply a unit by up to 100,000 (sites,
/// prints, select's units) and add it to the clock; a day keeps every such product far
/// from `Duration` and `Instant` overflow, which would otherwise be a panic.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// How much of a user's value a message repeats: enough to recognise it, not a
/// 100 KiB argument echoed back.
const SHOWN_CHARS: usize = 48;

/// The user's value quoted for a one-line message: control characters escaped (`\n`,
/// `\u{1b}`), long values cut with an ellipsis.
pub fn shown(text: &str) -> String {
    format!("'{}'", clip(&one_line(text), SHOWN_CHARS))
}

/// `text` with its control characters escaped, so it prints as one line and cannot
/// send escape sequences to the terminal.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max` characters of `text`, with an ellipsis where it was cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Parses a list of whole numbers and inclusive ranges such as `1..20,50`.
///
/// Order is kept as written (a sweep runs in that order) and repeats are dropped.
pub fn list(text: &str) -> Result<Vec<u64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty list: write numbers and ranges such as 1..8,16".into());
    }
    let mut out: Vec<u64> = Vec::new();
    // A set beside the list: a long argument of repeats stays linear, not quadratic.
    let mut seen: HashSet<u64> = HashSet::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("empty item in list {}", shown(text)));
        }
        let (start, end) = match item.split_once("..") {
            Some((a, b)) => {
                let b = b.strip_prefix('=').unwrap_or(b);
                let bad = || {
                    format!(
                        "{} is not a range: write START..END, e.g. 1..8",
                        shown(item)
                    )
                };
                if a.trim().is_empty() || b.trim().is_empty() {
                    return Err(bad());
                }
                let a = whole(a.trim()).map_err(|_| bad())?;
                let b = whole(b.trim()).map_err(|_| bad())?;
                if a > b {
                    return Err(format!(
                        "range {} runs backwards: its start is above its end",
                        shown(item)
                    ));
                }
                (a, b)
            }
            None => {
                let n = whole(item).map_err(|e| format!("{} in list: {e}", shown(item)))?;
                (n, n)
            }
        };
        if (end - start) as usize >= MAX_LIST_LEN
            || out.len() + ((end - start) as usize) >= MAX_LIST_LEN
        {
            return Err(format!(
                "list {} has more than {MAX_LIST_LEN} entries",
                shown(text)
            ));
        }
        for v in start..=end {
            if seen.insert(v) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// A parsed list as one flag value (clap would read a bare `Vec` as a repeated flag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List(pub Vec<usize>);

/// A list whose entries must each lie in `min..=max`.
pub fn bounded_list(text: &str, what: &str, min: u64, max: u64) -> Result<List, String> {
    let values = list(text)?;
    match values.iter().find(|v| **v < min || **v > max) {
        Some(v) => Err(format!(
            "{what} must each be between {min} and {max}, got {v}"
        )),
        None => Ok(List(values.into_iter().map(|v| v as usize).collect())),
    }
}

/// A plain non-negative whole number (digits, `_` allowed as a separator).
fn whole(text: &str) -> Result<u64, String> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    if digits.starts_with('-') {
        return Err(format!("must not be negative, got {}", shown(text)));
    }
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{} is not a whole number", shown(text)));
    }
    digits
        .parse::<u64>()
        .map_err(|_| format!("{} is too large", shown(text)))
}

/// A count such as `50000000`, `50_000_000` or `5e7`: a whole number of at least 1.
pub fn count(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let n = if t.contains(['e', 'E']) {
        let v: f64 = t
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{} is not a number", shown(text)))?;
        if !v.is_finite() || v.fract() != 0.0 || !(0.0..=9.0e15).contains(&v) {
            return Err(format!("{} is not a whole number in range", shown(text)));
        }
        v as u64
    } else {
        whole(t).map_err(|e| {
            format!("{e} (expected a positive whole number such as 50000000 or 5e7)")
        })?
    };
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// A duration such as `5ms`, `1s` or `2m 30s`; zero and more than `MAX_DURATION` are
/// refused.
pub fn duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        // humantime's message repeats an unknown unit, which is the user's text too.
        let why = clip(&one_line(&e.to_string()), 2 * SHOWN_CHARS);
        format!(
            "{} is not a duration ({why}); write e.g. 5ms, 1s, 2m",
            shown(text)
        )
    })?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    if d > MAX_DURATION {
        return Err(format!(
            "{} is longer than a day, the most parlab accepts",
            shown(text)
        ));
    }
    Ok(d)
}

/// A size in bytes such as `64KiB`, `64K`, `2MiB` or `65536` (binary units).
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n = whole(number).map_err(|_| {
        format!(
            "{} is not a size; write e.g. 64KiB, 2MiB or 65536",
            shown(text)
        )
    })?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {} in {}; use KiB, MiB or GiB",
                shown(other),
                shown(text)
            ));
        }
    };
    n.checked_mul(factor)
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("{} is not a size above zero", shown(text)))
}

/// Builds a clap value parser for a whole number in `min..=max`.
pub fn int_in(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text: &str| {
        let v = whole(text.trim())?;
        if v < min || v > max {
            return Err(format!("must be between {min} and {max}, got {v}"));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Strings a user, a script or a fuzzer could pass: anything at all (control
    /// characters and newlines included), and near misses of each syntax, which reach
    /// deeper into the parsers than random text does.
    fn hostile() -> impl Strategy<Value = String> {
        prop_oneof![
            "(?s).{0,64}",
            "[0-9_eE.+, =-]{0,24}",
            "[0-9]{0,22}(\\.\\.=?)?[0-9]{0,22}(,[0-9 ]{0,6}){0,3}",
            "[0-9]{1,22} ?(ns|us|ms|s|m|h|d|w|M|y|years|x|µs)?( ?[0-9]{1,21}[a-z]{0,3}){0,3}",
            "[0-9_]{0,25}[ kKmMgGiIbBtT]{0,4}",
        ]
    }

    /// A parser's answer: a value that satisfies `ok`, or an error of one short line.
    fn answers<T: std::fmt::Debug>(
        answer: Result<T, String>,
        ok: impl Fn(&T) -> bool,
    ) -> Result<(), TestCaseError> {
        match answer {
            Ok(v) => prop_assert!(ok(&v), "accepted a value out of bounds: {v:?}"),
            Err(e) => {
                prop_assert!(!e.is_empty());
                prop_assert!(!e.chars().any(char::is_control), "{e:?}");
                prop_assert!(e.len() < 400, "a message of {} bytes", e.len());
            }
        }
        Ok(())
    }

    #[test]
    fn hostile_values_are_quoted_on_one_line() {
        assert_eq!(shown("a\nb\u{1b}[2J"), "'a\\nb\\u{1b}[2J'");
        assert_eq!(
            shown(&"x".repeat(100)),
            format!("'{}…'", "x".repeat(SHOWN_CHARS))
        );
        assert!(count("5\n0").unwrap_err().contains("'5\\n0'"));
        assert!(duration("1y").is_err() && duration("24h").is_ok());
        assert!(
            duration("500000000000y")
                .unwrap_err()
                .contains("longer than a day")
        );
    }

    #[test]
    fn paper_worker_list() {
        let v = list("1..20,50").unwrap();
        assert_eq!(v.len(), 21);
        assert_eq!(v[0], 1);
        assert_eq!(v[19], 20);
        assert_eq!(v[20], 50);
    }

    #[test]
    fn malformed_lists_are_refused_with_a_reason() {
        for bad in [
            "1..", "..3", "5..2", "a,b", "", "1,,2", "-1", "1..x", "3..-1",
        ] {
            let err = list(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(list("5..2").unwrap_err().contains("backwards"));
        assert!(list("1..").unwrap_err().contains("START..END"));
        assert!(list("0..100000000").unwrap_err().contains("more than"));
    }

    #[test]
    fn counts_accept_separators_and_exponents() {
        assert_eq!(count("50_000_000").unwrap(), 50_000_000);
        assert_eq!(count("1e9").unwrap(), 1_000_000_000);
        assert_eq!(count("5E7").unwrap(), 50_000_000);
        assert!(count("-3").unwrap_err().contains("negative"));
        assert!(count("0").is_err());
        assert!(count("1.5").is_err());
        assert!(count("2.5e0").is_err());
        assert!(count("1e400").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size("64KiB").unwrap(), 65536);
        assert_eq!(size("2M").unwrap(), 2 << 20);
        assert_eq!(size("4096").unwrap(), 4096);
        assert!(size("0").is_err());
        assert!(size("12 parsecs").unwrap_err().contains("unit"));
        assert!(size("lots").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("5ms").unwrap(), Duration::from_millis(5));
        assert!(duration("0s").is_err());
        assert!(duration("soon").unwrap_err().contains("not a duration"));
    }

    #[test]
    fn bounded_lists() {
        assert!(
            bounded_list("0,1", "workers", 1, 8)
                .unwrap_err()
                .contains("got 0")
        );
        assert_eq!(
            bounded_list("2..4", "workers", 1, 8).unwrap(),
            List(vec![2, 3, 4])
        );
    }

    proptest! {
        #[test]
        fn a_range_expands_to_every_value(a in 0u64..5000, len in 0u64..500) {
            let b = a + len;
            let v = list(&format!("{a}..{b}")).unwrap();
            prop_assert_eq!(v, (a..=b).collect::<Vec<_>>());
        }

        #[test]
        fn a_written_list_reads_back(values in proptest::collection::vec(0u64..1_000_000, 1..50)) {
            let text = values.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let mut expected: Vec<u64> = Vec::new();
            for v in values { if !expected.contains(&v) { expected.push(v); } }
            prop_assert_eq!(list(&text).unwrap(), expected);
        }

        #[test]
        fn every_parser_answers_a_value_or_one_line(text in hostile()) {
            answers(list(&text), |v| v.len() <= MAX_LIST_LEN
                && v.iter().collect::<HashSet<_>>().len() == v.len())?;
            answers(bounded_list(&text, "workers", 1, 1024), |l| l.0.iter().all(|w| (1..=1024).contains(w)))?;
            answers(count(&text), |n| *n >= 1)?;
            answers(duration(&text), |d| !d.is_zero() && *d <= MAX_DURATION)?;
            answers(size(&text), |b| *b > 0)?;
            answers(int_in(1, 1000)(&text), |v| (1..=1000).contains(v))?;
        }

        #[test]
        fn shown_values_are_one_short_line(text in "(?s).{0,200}") {
            let s = shown(&text);
            prop_assert!(!s.chars().any(char::is_control), "{s:?}");
            prop_assert!(s.chars().count() <= SHOWN_CHARS * 10 + 3, "{s:?}");
        }

        #[test]
        fn reversed_ranges_are_refused(a in 1u64..1000, d in 1u64..1000) {
            let text = format!("{}..{}", a + d, a);
            prop_assert!(list(&text).is_err());
        }
    }
}
