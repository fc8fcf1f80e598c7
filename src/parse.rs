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

/// Parses a list of whole numbers and inclusive ranges such as `1..20,50`, each number
/// written as `int_in` takes it.
///
/// Order is kept as written (a sweep runs in that order) and repeats are dropped.
pub fn list(text: &str) -> Result<Vec<u64>, String> {
    list_within(text, &|item| {
        format!(
            "{} in list: {}",
            shown(item),
            out_of_range(item, 0, u64::MAX)
        )
    })
}

/// `list`, with the message for an entry that is a whole number but does not fit a
/// `u64` (negative or too large) left to the caller, which knows the range it needs.
fn list_within(text: &str, out_of_range: &dyn Fn(&str) -> String) -> Result<Vec<u64>, String> {
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
        let entry = |number: &str| match integral(number) {
            Some(Whole::Fits(v)) => Ok(Some(v)),
            Some(Whole::Beyond) => Err(out_of_range(number)),
            None => Ok(None),
        };
        let (start, end) = match item.split_once("..") {
            Some((a, b)) => {
                let b = b.strip_prefix('=').unwrap_or(b);
                let bad = || {
                    format!(
                        "{} is not a range: write START..END, e.g. 1..8",
                        shown(item)
                    )
                };
                let (Some(a), Some(b)) = (entry(a.trim())?, entry(b.trim())?) else {
                    return Err(bad());
                };
                if a > b {
                    return Err(format!(
                        "range {} runs backwards: its start is above its end",
                        shown(item)
                    ));
                }
                (a, b)
            }
            None => match entry(item)? {
                Some(n) => (n, n),
                None => return Err(format!("{} in list: {}", shown(item), not_whole(item))),
            },
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
    let beyond = |v: &str| format!("{what} must each be between {min} and {max}, got {v}");
    let values = list_within(text, &|item| beyond(&shown(item)))?;
    match values.iter().find(|v| **v < min || **v > max) {
        Some(v) => Err(beyond(&v.to_string())),
        None => Ok(List(values.into_iter().map(|v| v as usize).collect())),
    }
}

/// A whole number the user wrote, by whether it fits the `u64` that holds it.
enum Whole {
    Fits(u64),
    /// Negative, or above `u64::MAX`: a whole number all the same, so its message is
    /// about the range, not the syntax.
    Beyond,
}

/// Reads a whole number written in digits (`50000000`, `50_000_000`) or in scientific
/// notation (`5e7`, `2.5e3`, `1e12`), with an optional sign; `None` when the text is not
/// a number or its value has a fraction (`2.5`, `1e-3`). `-0` is 0.
///
/// The value is worked out exactly from the digits rather than through `f64`, which
/// cannot tell 9007199254740993 from its neighbour, so every whole number is read as
/// written and one too large for a `u64` is known to be too large, not mistaken for a
/// malformed one.
fn integral(text: &str) -> Option<Whole> {
    let text: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !digits(int) || (mantissa.contains('.') && !digits(frac)) {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (sign, magnitude) = match e.as_bytes().first() {
                Some(b'-') => (-1, &e[1..]),
                Some(b'+') => (1, &e[1..]),
                _ => (1, e),
            };
            if !digits(magnitude) {
                return None;
            }
            // Any exponent past a million puts a nonzero value far beyond a u64 or
            // below 1, and keeps the arithmetic below from overflowing.
            sign * magnitude.parse::<i64>().unwrap_or(i64::MAX).min(1_000_000)
        }
    };
    // The value is `significand × 10^shift`, the significand without leading zeros.
    let joined = format!("{int}{frac}");
    let significand = joined.trim_start_matches('0');
    if significand.is_empty() {
        return Some(Whole::Fits(0));
    }
    let shift = exponent - frac.len() as i64;
    let (kept, zeros) = if shift < 0 {
        // The digits shifted past the point must all be zeros, or it has a fraction.
        let cut = usize::try_from(-shift).unwrap_or(usize::MAX);
        let at = significand.len().checked_sub(cut)?;
        let (kept, dropped) = significand.split_at(at);
        if kept.is_empty() || dropped.bytes().any(|b| b != b'0') {
            return None;
        }
        (kept, 0)
    } else {
        (significand, shift as u64)
    };
    if negative {
        return Some(Whole::Beyond);
    }
    let value = (kept.len() as u64 + zeros <= 20)
        .then(|| kept.parse::<u64>().ok())
        .flatten()
        .and_then(|v| v.checked_mul(10u64.checked_pow(zeros as u32)?));
    Some(value.map_or(Whole::Beyond, Whole::Fits))
}

fn not_whole(text: &str) -> String {
    format!("{} is not a whole number", shown(text))
}

fn out_of_range(text: &str, min: u64, max: u64) -> String {
    format!("{} is out of range: choose {min} to {max}", shown(text))
}

/// A whole number in `min..=max`, or why not: not a whole number at all, or one out of
/// range, with the range.
fn whole_in(text: &str, min: u64, max: u64) -> Result<u64, String> {
    match integral(text) {
        None => Err(not_whole(text)),
        Some(Whole::Fits(v)) if (min..=max).contains(&v) => Ok(v),
        Some(_) => Err(out_of_range(text, min, max)),
    }
}

/// A count such as `50000000`, `50_000_000` or `5e7`: a whole number of at least 1.
/// Its only upper bound is the `u64` that holds it: what a count costs (time, memory)
/// is for `--timeout` and the experiment's own checks to judge.
pub fn count(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if integral(t).is_none() {
        return Err(format!(
            "{} (expected a positive whole number such as 50000000 or 5e7)",
            not_whole(t)
        ));
    }
    whole_in(t, 1, u64::MAX)
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

/// A limit that zero switches off (`--skip-over 0`): zero in any form (`0`, `0s`), or a
/// duration as [`duration`] takes it.
pub fn duration_or_zero(text: &str) -> Result<Duration, String> {
    if humantime::parse_duration(text.trim()).is_ok_and(|d| d.is_zero()) {
        return Ok(Duration::ZERO);
    }
    duration(text).map_err(|e| {
        if e.starts_with("must be") {
            e
        } else {
            format!("{e}, or 0 for no limit")
        }
    })
}

/// A size in bytes such as `64KiB`, `64K`, `2MiB` or `65536` (binary units).
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let too_large = || format!("{} is out of range: sizes stop below 16 EiB", shown(text));
    let n = match integral(number) {
        // `number` holds digits and `_` only, so it is never negative.
        Some(Whole::Fits(n)) => n,
        Some(Whole::Beyond) => return Err(too_large()),
        None => {
            return Err(format!(
                "{} is not a size; write e.g. 64KiB, 2MiB or 65536",
                shown(text)
            ));
        }
    };
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
    match n.checked_mul(factor) {
        Some(0) => Err(format!("{} is not a size above zero", shown(text))),
        Some(bytes) => Ok(bytes),
        None => Err(too_large()),
    }
}

/// Builds a clap value parser for a whole number in `min..=max`, written as `count`
/// takes it (`100000`, `100_000`, `1e5`).
pub fn int_in(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text: &str| whole_in(text.trim(), min, max)
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
        assert!(
            list("1,2.5")
                .unwrap_err()
                .contains("'2.5' is not a whole number")
        );
        assert!(
            list("1,1e30")
                .unwrap_err()
                .contains("'1e30' is out of range: choose 0 to 18446744073709551615")
        );
        assert_eq!(list("1e3,2e0..3").unwrap(), vec![1000, 2, 3]);
    }

    #[test]
    fn counts_accept_separators_and_exponents() {
        assert_eq!(count("50_000_000").unwrap(), 50_000_000);
        assert_eq!(count("1e9").unwrap(), 1_000_000_000);
        assert_eq!(count("5E7").unwrap(), 50_000_000);
        assert_eq!(count("2.5e3").unwrap(), 2500);
        assert_eq!(count("+5").unwrap(), 5);
        assert_eq!(count("18446744073709551615").unwrap(), u64::MAX);
        // Beyond f64's exact integers, still read exactly.
        assert_eq!(count("9007199254740993").unwrap(), 9_007_199_254_740_993);
        assert_eq!(
            count("9.007199254740993e15").unwrap(),
            9_007_199_254_740_993
        );
        let range = "is out of range: choose 1 to 18446744073709551615";
        assert_eq!(count("-3").unwrap_err(), format!("'-3' {range}"));
        assert_eq!(count("0").unwrap_err(), format!("'0' {range}"));
        assert_eq!(count("1e400").unwrap_err(), format!("'1e400' {range}"));
        assert!(count("18446744073709551616").unwrap_err().contains(range));
        for fraction in ["1.5", "2.5e0", "1e-3", "abc", "1e", "5e7e1"] {
            assert!(
                count(fraction)
                    .unwrap_err()
                    .contains("is not a whole number"),
                "{fraction}"
            );
        }
    }

    #[test]
    fn whole_numbers_out_of_range_say_the_range_and_others_say_they_are_not_whole() {
        let tasks = int_in(1, 1_000_000);
        assert_eq!(
            tasks("1e12").unwrap_err(),
            "'1e12' is out of range: choose 1 to 1000000"
        );
        for (text, value) in [("1e5", 100_000), ("1_000", 1000), ("1.0", 1), ("100e-2", 1)] {
            assert_eq!(tasks(text), Ok(value), "{text}");
        }
        for beyond in [
            "0",
            "1000001",
            "-1",
            "-1e3",
            "18446744073709551616",
            "1e19",
            "1e999999999999",
        ] {
            assert_eq!(
                tasks(beyond).unwrap_err(),
                format!("'{beyond}' is out of range: choose 1 to 1000000")
            );
        }
        for not_whole in [
            "2.5", "abc", "1e-1", "0x10", "1 000", "1.", ".5", "e5", "-", "٣",
        ] {
            assert_eq!(
                tasks(not_whole).unwrap_err(),
                format!("'{not_whole}' is not a whole number")
            );
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size("64KiB").unwrap(), 65536);
        assert_eq!(size("2M").unwrap(), 2 << 20);
        assert_eq!(size("4096").unwrap(), 4096);
        assert!(size("0").is_err());
        assert!(size("12 parsecs").unwrap_err().contains("unit"));
        assert!(size("lots").is_err());
        for huge in ["99999999999999999999", "17179869184GiB"] {
            assert!(size(huge).unwrap_err().contains("out of range"), "{huge}");
        }
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
        for beyond in ["1e30", "-1", "1..1e30"] {
            assert!(
                bounded_list(beyond, "workers", 1, 8)
                    .unwrap_err()
                    .starts_with("workers must each be between 1 and 8, got '"),
                "{beyond}"
            );
        }
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
        fn scientific_notation_reads_exactly(
            m in prop_oneof![0u64..100_000, any::<u64>()],
            k in 0u32..25,
        ) {
            let any_whole = int_in(0, u64::MAX);
            let exact = match m {
                0 => Some(0),
                _ => 10u64.checked_pow(k).and_then(|p| m.checked_mul(p)),
            };
            let read = any_whole(&format!("{m}e{k}"));
            match exact {
                Some(v) => prop_assert_eq!(read, Ok(v)),
                None => prop_assert!(read.unwrap_err().contains("out of range")),
            }
            prop_assert_eq!(any_whole(&m.to_string()), Ok(m));
            let fraction = format!("{m}.5");
            prop_assert!(any_whole(&fraction).unwrap_err().contains("not a whole number"));
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
