//! Which techniques each peer runs for each experiment, as each experiment's descriptor
//! lists them (and `advise`, which is a command, not an experiment, lists its own) (peers/PROTOCOL.md has the same table). The runner rejects a peer row whose
//! technique is not listed, so a peer cannot slip an unknown row into a table, and
//! `--technique` can name peer techniques.

use super::Language;

/// The techniques `language`'s peer has for `experiment` (empty: it does not cover it).
pub fn techniques(language: Language, experiment: &str) -> &'static [&'static str] {
    if experiment == crate::advise::ID {
        return crate::advise::peer_techniques(language);
    }
    crate::experiments::info(experiment).map_or(&[], |i| i.peer_techniques(language))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_techniques_come_from_the_descriptors() {
        assert_eq!(
            techniques(Language::Go, "pool"),
            ["sequential", "goroutines"]
        );
        assert!(techniques(Language::Go, "map").is_empty());
        assert!(techniques(Language::Python, "nonesuch").is_empty());
        let covered = crate::experiments::ALL
            .iter()
            .filter(|i| !i.python.is_empty() || !i.go.is_empty())
            .count();
        assert_eq!(covered, crate::experiments::ALL.len());
    }
}
