//! Which techniques each peer runs for each experiment: the table of peers/PROTOCOL.md.
//! The runner rejects a peer row whose technique is not listed here, so a peer cannot
//! slip an unknown row into a table, and `--technique` can name peer techniques.

use super::Language;

const TABLE: &[(&str, &[&str], &[&str])] = &[
    // experiment, python, go
    (
        "count",
        &["sequential", "threads", "processes"],
        &["sequential", "goroutines", "goroutines-1"],
    ),
    (
        "io",
        &["sequential", "threads", "processes"],
        &["sequential", "goroutines"],
    ),
    ("map", &["pool-threads", "pool-processes"], &[]),
    ("spawn", &["threads", "asyncio"], &["goroutines"]),
    (
        "sched",
        &[],
        &["sequential", "goroutines-1", "goroutines", "runtime"],
    ),
    ("waitgroup", &[], &["goroutines"]),
    ("channel", &["queue"], &["chan"]),
    ("select", &[], &["select"]),
    ("pool", &["processes"], &["goroutines"]),
    ("gil", &["facts", "racy-threads"], &[]),
];

/// The techniques `language`'s peer has for `experiment` (empty: it does not cover it).
pub fn techniques(language: Language, experiment: &str) -> &'static [&'static str] {
    TABLE.iter().find(|(id, _, _)| *id == experiment).map_or(
        &[],
        |(_, python, go)| match language {
            Language::Python => python,
            Language::Go => go,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_experiment_is_in_the_table() {
        for id in crate::experiments::IDS {
            assert!(
                TABLE.iter().any(|(e, _, _)| e == id),
                "{id} has no line in the peer table"
            );
        }
        assert_eq!(techniques(Language::Go, "pool"), ["goroutines"]);
        assert!(techniques(Language::Go, "map").is_empty());
        assert!(techniques(Language::Python, "nonesuch").is_empty());
    }
}
