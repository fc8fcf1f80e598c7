//! An HTTP check as a unit of work: one GET, its status or why it failed. A blocking
//! client (ureq) serves the thread-based techniques and worker processes, an async one
//! (reqwest) serves tokio: the same check, done the way each technique does I/O.
//!
//! Connections are not reused between checks, so every run does the same work (a new
//! connection per request, as a script calling `requests.get` does).

use super::Work;
use crate::parse;
use crate::pool::task::Task;
use serde::{Deserialize, Serialize};
use std::error::Error as _;
use std::sync::OnceLock;
use std::time::Duration;

/// Check one URL within a timeout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fetch {
    pub url: String,
    pub timeout_ms: u64,
}

/// The answer: an HTTP status, or why there was none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Fetched {
    fn status(code: u16) -> Fetched {
        Fetched {
            status: Some(code),
            error: None,
        }
    }

    fn failed(why: String) -> Fetched {
        Fetched {
            status: None,
            error: Some(why),
        }
    }
}

/// The pool task that lets worker processes run checks.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct FetchTask;

impl Task for FetchTask {
    const NAME: &'static str = "fetch";
    type Input = Fetch;
    type Output = Fetched;

    fn call(&self, fetch: Fetch) -> Result<Fetched, String> {
        Ok(Work::run(&fetch))
    }
}

impl Fetch {
    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    fn is_https(&self) -> bool {
        self.url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }

    fn timed_out(&self) -> String {
        format!(
            "timed out after {}",
            humantime::format_duration(self.timeout())
        )
    }
}

/// Refuses what no HTTP client should try, before any request: text that is not a URL,
/// a scheme other than http(s), no host. Both clients must accept the URL as well
/// (reqwest parses the WHATWG way, which drops tabs and newlines; ureq by RFC 3986,
/// which refuses them), or one URL could fail on some techniques only, for a reason that
/// has nothing to do with I/O.
pub fn check_url(url: &str) -> Result<(), String> {
    let shown = parse::shown(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "invalid URL {shown}: write it as http://host/path or https://host/path"
        ));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "unsupported scheme {} in {shown} (only http and https)",
            parse::shown(scheme)
        ));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("invalid URL {shown}: no host"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL {shown}: {e}"))?;
    if !parsed.has_host() {
        return Err(format!("invalid URL {shown}: no host"));
    }
    ureq::http::Uri::try_from(url).map_err(|e| format!("invalid URL {shown}: {e}"))?;
    Ok(())
}

/// `--url` as clap reads it: a URL `check_url` accepts, so a bad one is a usage error
/// (exit code 2) before any technique starts.
pub fn url_arg(text: &str) -> Result<String, String> {
    check_url(text).map(|()| text.to_string())
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            // 128 KiB buffers each way by default: a thousand threads would first-touch
            // 256 MiB for replies of a few bytes.
            .input_buffer_size(16 << 10)
            .output_buffer_size(16 << 10)
            .build()
            .new_agent()
    })
}

fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .ok()
        })
        .as_ref()
}

impl Work for Fetch {
    type Output = Fetched;
    type Task = FetchTask;

    fn run(&self) -> Fetched {
        if let Err(why) = check_url(&self.url) {
            return Fetched::failed(why);
        }
        let request = agent()
            .get(&self.url)
            .config()
            .timeout_global(Some(self.timeout()))
            .build();
        match request.call() {
            Ok(mut response) => {
                let status = response.status().as_u16();
                // Read the (small) body so the check covers the whole exchange.
                let _ = response.body_mut().read_to_vec();
                Fetched::status(status)
            }
            Err(e) => Fetched::failed(self.explain_ureq(e)),
        }
    }

    async fn run_async(self) -> Fetched {
        if let Err(why) = check_url(&self.url) {
            return Fetched::failed(why);
        }
        let Some(client) = client() else {
            return Fetched::failed("the async HTTP client could not be built".into());
        };
        match client.get(&self.url).timeout(self.timeout()).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                Fetched::status(status)
            }
            Err(e) => Fetched::failed(self.explain_reqwest(&e)),
        }
    }

    fn label(&self) -> String {
        site_name(&self.url).to_string()
    }
}

/// The short name of a checked URL: the embedded server's site, or the URL itself.
pub fn site_name(url: &str) -> &str {
    url.rsplit_once("/site/").map_or(url, |(_, name)| name)
}

impl Fetch {
    fn explain_ureq(&self, e: ureq::Error) -> String {
        use ureq::Error as E;
        match e {
            E::Timeout(_) => self.timed_out(),
            E::HostNotFound => "DNS lookup failed: host not found".into(),
            E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".into()
            }
            E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => self.timed_out(),
            E::Io(io) if is_reset(io.kind()) => RESET.into(),
            // rustls reports a broken handshake as invalid data on the socket.
            E::Io(io) if io.kind() == std::io::ErrorKind::InvalidData && self.is_https() => {
                format!("TLS error: {io}")
            }
            E::Io(io) => format!("I/O error: {io}"),
            E::BadUri(why) => format!("invalid URL: {why}"),
            E::Http(why) => format!("invalid URL: {why}"),
            E::Rustls(why) => format!("TLS error: {why}"),
            E::Tls(why) => format!("TLS error: {why}"),
            E::ConnectionFailed => "connection failed".into(),
            other => other.to_string(),
        }
    }

    fn explain_reqwest(&self, e: &reqwest::Error) -> String {
        let mut chain = e.to_string();
        let mut innermost = chain.clone();
        let (mut refused, mut invalid_data, mut saw_io, mut reset) = (false, false, false, false);
        let mut source = e.source();
        while let Some(s) = source {
            // io errors may wrap further io errors (hyper wraps rustls' InvalidData in
            // Other), reachable through `get_ref` rather than `source`.
            let mut inner = s.downcast_ref::<std::io::Error>();
            while let Some(io) = inner {
                saw_io = true;
                refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
                invalid_data |= io.kind() == std::io::ErrorKind::InvalidData;
                reset |= is_reset(io.kind());
                inner = io
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<std::io::Error>());
            }
            innermost = s.to_string();
            chain.push_str(": ");
            chain.push_str(&innermost);
            source = s.source();
        }
        let lower = chain.to_lowercase();
        if e.is_timeout() {
            self.timed_out()
        } else if refused || lower.contains("connection refused") {
            "connection refused".into()
        } else if reset
            || lower.contains("connection reset")
            || lower.contains("connection closed before message completed")
        {
            RESET.into()
        } else if lower.contains("dns error") || lower.contains("failed to lookup") {
            "DNS lookup failed: host not found".into()
        } else if self.is_https()
            && (invalid_data || (e.is_connect() && !saw_io) || lower.contains("certificate"))
        {
            // rustls reports a broken handshake as invalid data, or with its own error
            // type and no socket error at all.
            format!("TLS error: {innermost}")
        } else if e.is_builder() {
            format!("invalid URL: {innermost}")
        } else {
            chain
        }
    }
}

/// What both clients say when the server drops the connection mid-request.
const RESET: &str = "connection reset by the server";

fn is_reset(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_any_request() {
        assert!(check_url("http://127.0.0.1:80/x").is_ok());
        assert!(check_url("HTTPS://example.org").is_ok());
        assert!(
            check_url("ftp://example.org/file")
                .unwrap_err()
                .contains("unsupported scheme 'ftp'")
        );
        assert!(
            check_url("example.org")
                .unwrap_err()
                .contains("invalid URL")
        );
        assert!(check_url("http:///path").unwrap_err().contains("no host"));
        let f = Fetch {
            url: "ftp://x".into(),
            timeout_ms: 100,
        };
        assert!(f.run().error.unwrap().contains("unsupported scheme"));
    }

    #[test]
    fn urls_both_clients_would_refuse_are_refused_first() {
        for (url, why) in [
            ("http://exa mple.org/", "invalid URL"),
            ("http://a\tb/", "invalid URL 'http://a\\tb/'"),
            ("http://127.0.0.1:99999/", "invalid port"),
            ("http://[::1/", "invalid URL"),
            ("http://\u{1b}[2J/", "\\u{1b}"),
            (" http://x/", "unsupported scheme ' http'"),
        ] {
            let err = check_url(url).unwrap_err();
            assert!(err.contains(why), "{url:?}: {err}");
            assert!(!err.chars().any(char::is_control), "{err:?}");
        }
        assert_eq!(
            url_arg("http://[::1]:8080/x").unwrap(),
            "http://[::1]:8080/x"
        );
    }

    proptest::proptest! {
        /// Whatever `--url` holds: an accepted URL both clients parse with a host, or
        /// one line saying why not.
        #[test]
        fn any_url_text_is_accepted_or_refused_on_one_line(
            url in proptest::prop_oneof![
                "(?s).{0,80}",
                "(?i)(https?|ftp|)(://)?[a-z0-9.:@\\[\\]%_ /?#-]{0,40}",
            ]
        ) {
            match check_url(&url) {
                Ok(()) => {
                    let parsed = reqwest::Url::parse(&url).unwrap();
                    proptest::prop_assert!(parsed.has_host());
                    proptest::prop_assert!(matches!(parsed.scheme(), "http" | "https"));
                    proptest::prop_assert!(ureq::http::Uri::try_from(url.as_str()).is_ok());
                }
                Err(e) => {
                    proptest::prop_assert!(!e.chars().any(char::is_control), "{e:?}");
                    proptest::prop_assert!(e.len() < 400);
                }
            }
        }
    }

    #[test]
    fn site_names() {
        assert_eq!(
            site_name("http://127.0.0.1:1/site/google.com"),
            "google.com"
        );
        assert_eq!(site_name("https://example.org/"), "https://example.org/");
    }
}
