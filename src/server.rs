//! The embedded target server: a real HTTP server (axum on tokio) that stands in for
//! the web sites of the paper's Figure 4. Each simulated site answers after its own
//! latency with its own status, so I/O-bound techniques are measured against a target
//! that is repeatable, local and known, which the public web is not.
//!
//! It binds loopback by default, answers only GET on known paths (404 elsewhere),
//! refuses request bodies over a few KiB (413), holds at most a set number of
//! connections at once (see `Capped`), closes connections that stay silent (see
//! `Limits::idle_timeout`) and stops cleanly when dropped.

use crate::parse;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// How long a stopping server lets open connections finish before it cuts them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Connections served at once unless `--max-connections` says otherwise: above the
/// 10,000 requests in flight of the widest io run a user is likely to ask for
/// (`--sites 10000`, io raises it to its own site count beyond that), and low enough
/// that a flood of clients cannot take every file descriptor the process may open.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

/// How long a connection may stay silent before the server closes it, unless
/// `--idle-timeout` says otherwise. Without a limit, clients that connect and send
/// nothing (or half a request) would hold every slot of `Capped` and starve real
/// requests; 10 s is far longer than any client of a loopback server needs to send a
/// request head, and short enough that a flood of idle sockets clears quickly.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request body accepted. No route takes a body; a few KiB leave room for a
/// client that sends an empty form or a small JSON document out of habit.
const MAX_BODY: u64 = 4096;

/// One simulated site: its path, how long it takes and what it answers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Site {
    pub name: String,
    pub latency: Duration,
    pub status: u16,
}

/// The six sites of the paper's Figure 4, one of them down. Their latencies spread
/// around `latency` so the order they finish in differs from the order they are asked.
pub fn paper_sites(latency: Duration) -> Vec<Site> {
    [
        ("google.com", 1.0, 200),
        ("facebook.com", 1.4, 200),
        ("sreboy.com", 0.7, 200),
        ("stackoverflow.com", 1.2, 200),
        ("goimg.org", 0.9, 200),
        ("amazon.org", 1.1, 503),
    ]
    .into_iter()
    .map(|(name, factor, status)| Site {
        name: name.into(),
        latency: latency.mul_f64(factor),
        status,
    })
    .collect()
}

/// `n` sites of equal latency, every sixth one down (the paper's ratio).
pub fn generated_sites(n: usize, latency: Duration) -> Vec<Site> {
    (1..=n)
        .map(|i| Site {
            name: format!("site-{i:04}"),
            latency,
            status: if i % 6 == 0 { 503 } else { 200 },
        })
        .collect()
}

/// The sites a command serves, as the user chose them.
#[derive(Debug, Clone, clap::Args)]
pub struct SiteArgs {
    /// Serve N generated sites of equal latency instead of the paper's six
    /// (every sixth one answers 503)
    #[arg(long, value_name = "N", value_parser = parse::int_in(1, 100_000))]
    pub sites: Option<u64>,

    /// Latency of a site (the paper's six spread from 0.7 to 1.4 times it)
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse::duration)]
    pub latency: Duration,
}

impl SiteArgs {
    pub fn sites(&self) -> Vec<Site> {
        match self.sites {
            Some(n) => generated_sites(n as usize, self.latency),
            None => paper_sites(self.latency),
        }
    }
}

/// What one server may hold, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; further clients wait until one closes (see `Capped`).
    pub max_connections: usize,
    /// How long the server waits for a request head, on a new connection or between
    /// requests on a kept-alive one, before it closes the connection and frees its slot.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// A running server; dropping it stops it.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and serves `sites` on a thread of its own,
    /// within the default `Limits`.
    pub fn start(addr: SocketAddr, sites: Vec<Site>) -> std::io::Result<Server> {
        Server::start_with(addr, sites, Limits::default())
    }

    /// Like `start`, with at most `max_connections` connections at once; further
    /// clients wait until one closes (see `Capped`).
    pub fn start_capped(
        addr: SocketAddr,
        sites: Vec<Site>,
        max_connections: usize,
    ) -> std::io::Result<Server> {
        Server::start_with(
            addr,
            sites,
            Limits {
                max_connections,
                ..Limits::default()
            },
        )
    }

    /// Like `start`, within `limits`.
    pub fn start_with(
        addr: SocketAddr,
        sites: Vec<Site>,
        limits: Limits,
    ) -> std::io::Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("parlab-server")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(async {
            let socket = if addr.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            // A deep backlog: a thousand threads connecting at once must not overflow it
            // and wait a second for a SYN retry.
            socket.listen(4096)
        })?;
        let addr = listener.local_addr()?;
        let listener = Capped {
            listener,
            slots: Arc::new(Semaphore::new(
                limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
        };
        let table: HashMap<String, Site> = sites.into_iter().map(|s| (s.name.clone(), s)).collect();
        let app = axum::Router::new()
            .route("/", get(index))
            .route("/site/{name}", get(site))
            .fallback(|| async { (StatusCode::NOT_FOUND, "no such path\n") })
            .layer(middleware::from_fn(refuse_bodies))
            .with_state(Arc::new(table));
        let (stop, mut stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("parlab-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let serve = serve(listener, app, limits.idle_timeout, stopped.clone());
                    tokio::select! {
                        _ = serve => {}
                        _ = async {
                            let _ = stopped.wait_for(|s| *s).await;
                            tokio::time::sleep(SHUTDOWN_GRACE).await;
                        } => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self, site: &str) -> String {
        format!("http://{}/site/{site}", self.addr)
    }

    /// Blocks until the server stops (for `parlab serve`, which ends on Ctrl-C).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Accepts connections until `stop` turns true, then lets each open one finish its
/// request and returns when all have closed.
///
/// This is `axum::serve` with one difference: each connection gets hyper's header-read
/// timeout, which axum does not expose. hyper starts that timer whenever it waits for a
/// request head, on a new connection and between requests on a kept-alive one, so it
/// is the idle timeout too, and a silent client loses its slot after `idle_timeout`.
async fn serve(
    mut listener: Capped,
    app: axum::Router,
    idle_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(idle_timeout);
    // Each connection holds a receiver; the sender sees them all dropped when the last
    // connection has closed.
    let (open, open_rx) = watch::channel(());
    loop {
        let held = tokio::select! {
            (held, _) = axum::serve::Listener::accept(&mut listener) => held,
            _ = stop.wait_for(|s| *s) => break,
        };
        let connection =
            http.serve_connection(TokioIo::new(held), TowerToHyperService::new(app.clone()));
        let mut stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    // A client that went silent or broke the protocol ends here; the
                    // error is the client's, and the server has nobody to tell.
                    _ = connection.as_mut() => break,
                    _ = stop.wait_for(|s| *s), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(open);
        });
    }
    // Stop accepting: clients still in the backlog are refused rather than left waiting.
    drop(listener);
    drop(open_rx);
    open.closed().await;
}

/// A listener that holds at most as many connections as it has slots. At the cap it
/// stops accepting: further clients wait in the kernel's listen backlog (beyond that,
/// in their own SYN retries) until a connection closes and frees a slot. A flood of
/// clients thus costs the server neither descriptors nor memory, and a client that
/// waited still gets the right answer, which matters to a server whose answers are
/// measured.
struct Capped {
    listener: TcpListener,
    slots: Arc<Semaphore>,
}

impl axum::serve::Listener for Capped {
    type Io = Held;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Held, SocketAddr) {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the slots are never closed");
        let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
        (
            Held {
                stream,
                _slot: slot,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// An accepted connection and the slot it holds until it is dropped.
struct Held {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Held {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Answers 413 to a request whose body is over `MAX_BODY` or of undeclared length
/// (chunked), before any handler runs. axum's own body limit applies only to handlers
/// that read the body, and none here does, so without this check a client could stream
/// a body for as long as it liked.
async fn refuse_bodies(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let too_big = match headers.get(CONTENT_LENGTH) {
        Some(len) => len
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .is_none_or(|n| n > MAX_BODY),
        None => headers.contains_key(TRANSFER_ENCODING),
    };
    if too_big {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request bodies are limited to {MAX_BODY} bytes\n"),
        )
            .into_response();
    }
    next.run(request).await
}

type Sites = Arc<HashMap<String, Site>>;

async fn site(State(sites): State<Sites>, Path(name): Path<String>) -> Response {
    match sites.get(&name) {
        Some(site) => {
            tokio::time::sleep(site.latency).await;
            let status =
                StatusCode::from_u16(site.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, format!("{}\n", site.name)).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such site\n").into_response(),
    }
}

async fn index(State(sites): State<Sites>) -> String {
    let mut names: Vec<&Site> = sites.values().collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    names
        .iter()
        .map(|s| format!("/site/{} {} after {:?}\n", s.name, s.status, s.latency))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    }

    #[test]
    fn serves_sites_with_their_status_and_404_elsewhere() {
        let server = Server::start(
            "127.0.0.1:0".parse().unwrap(),
            paper_sites(Duration::from_millis(5)),
        )
        .unwrap();
        assert!(server.addr().ip().is_loopback());
        assert!(get(server.addr(), "/site/google.com").starts_with("HTTP/1.1 200"));
        assert!(get(server.addr(), "/site/amazon.org").starts_with("HTTP/1.1 503"));
        assert!(get(server.addr(), "/site/nowhere.net").starts_with("HTTP/1.1 404"));
        assert!(get(server.addr(), "/etc/passwd").starts_with("HTTP/1.1 404"));
        assert!(get(server.addr(), "/").contains("/site/sreboy.com 200"));
    }

    #[test]
    fn answers_after_the_latency() {
        let server = Server::start(
            "127.0.0.1:0".parse().unwrap(),
            generated_sites(1, Duration::from_millis(150)),
        )
        .unwrap();
        let t = std::time::Instant::now();
        assert!(get(server.addr(), "/site/site-0001").starts_with("HTTP/1.1 200"));
        assert!(t.elapsed() >= Duration::from_millis(150));
    }

    #[test]
    fn stops_when_dropped_even_with_a_client_that_never_finishes() {
        let server = Server::start(
            "127.0.0.1:0".parse().unwrap(),
            paper_sites(Duration::from_millis(5)),
        )
        .unwrap();
        let addr = server.addr();
        let mut idle = std::net::TcpStream::connect(addr).unwrap();
        write!(idle, "GET /site/goo").unwrap();
        let t = std::time::Instant::now();
        drop(server);
        assert!(t.elapsed() < SHUTDOWN_GRACE + Duration::from_secs(3));
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "still listening after drop"
        );
    }

    #[test]
    fn bodies_over_the_limit_or_of_unknown_length_are_refused() {
        let server = Server::start(
            "127.0.0.1:0".parse().unwrap(),
            paper_sites(Duration::from_millis(1)),
        )
        .unwrap();
        let with = |headers: &str| {
            let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            write!(
                stream,
                "GET /site/google.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"
            )
            .unwrap();
            // The body itself is never sent: the answer must come from the headers alone.
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            reply
        };
        assert!(with("Content-Length: 10000000\r\n").starts_with("HTTP/1.1 413"));
        assert!(with("Transfer-Encoding: chunked\r\n").starts_with("HTTP/1.1 413"));
        assert!(with("Content-Length: 0\r\n").starts_with("HTTP/1.1 200"));
    }

    #[test]
    fn clients_over_the_connection_cap_wait_for_a_free_slot() {
        let server = Server::start_capped(
            "127.0.0.1:0".parse().unwrap(),
            paper_sites(Duration::from_millis(1)),
            2,
        )
        .unwrap();
        let idle: Vec<_> = (0..2)
            .map(|_| std::net::TcpStream::connect(server.addr()).unwrap())
            .collect();
        // The third connects (the kernel's backlog takes it) but is not served while
        // both slots are held.
        let mut third = std::net::TcpStream::connect(server.addr()).unwrap();
        write!(
            third,
            "GET /site/google.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        third
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut byte = [0u8; 1];
        assert!(third.read(&mut byte).is_err(), "served over the cap");
        drop(idle);
        third
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reply = Vec::new();
        third.read_to_end(&mut reply).unwrap();
        assert!(reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
    }

    /// Limits for the tests below: a short idle timeout, so a test does not wait the
    /// default 10 s for silent clients to be dropped.
    fn short_idle(max_connections: usize) -> Limits {
        Limits {
            max_connections,
            idle_timeout: Duration::from_millis(300),
        }
    }

    /// Generous for a busy machine, yet far short of forever: without an idle timeout
    /// the reads below block until this runs out and the test fails.
    const PATIENCE: Duration = Duration::from_secs(30);

    /// Everything the server sends on `stream` until it closes the connection.
    fn read_until_closed(stream: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
        stream.set_read_timeout(Some(PATIENCE))?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    #[test]
    fn idle_clients_that_fill_every_slot_are_closed_and_a_real_request_is_answered() {
        let server = Server::start_with(
            "127.0.0.1:0".parse().unwrap(),
            paper_sites(Duration::from_millis(1)),
            short_idle(2),
        )
        .unwrap();
        // Two hold both slots, one waits behind them in the backlog; one of them sent
        // half a request head and stopped.
        let mut idle: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(server.addr()).unwrap())
            .collect();
        write!(idle[0], "GET /site/goo").unwrap();
        let mut real = std::net::TcpStream::connect(server.addr()).unwrap();
        write!(
            real,
            "GET /site/google.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let reply = read_until_closed(&mut real).expect("the real request is answered");
        assert!(reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
        for (i, stream) in idle.iter_mut().enumerate() {
            // Closed by the server: an error reply to the half head is allowed, a
            // connection still open is not.
            assert!(
                read_until_closed(stream).is_ok(),
                "idle client {i} was never closed"
            );
        }
    }

    #[test]
    fn a_kept_alive_connection_is_closed_once_it_goes_quiet() {
        let server = Server::start_with(
            "127.0.0.1:0".parse().unwrap(),
            paper_sites(Duration::from_millis(1)),
            short_idle(1),
        )
        .unwrap();
        let mut first = std::net::TcpStream::connect(server.addr()).unwrap();
        write!(first, "GET /site/google.com HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let reply = read_until_closed(&mut first).expect("closed after its answer");
        assert!(reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
        // Its slot is free again: the only one there is.
        assert!(get(server.addr(), "/site/amazon.org").starts_with("HTTP/1.1 503"));
    }

    #[test]
    fn a_client_that_never_sends_its_declared_body_loses_its_slot() {
        let server = Server::start_with(
            "127.0.0.1:0".parse().unwrap(),
            paper_sites(Duration::from_millis(1)),
            short_idle(1),
        )
        .unwrap();
        let mut stalled = std::net::TcpStream::connect(server.addr()).unwrap();
        write!(
            stalled,
            "GET /site/google.com HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        )
        .unwrap();
        let reply = read_until_closed(&mut stalled).expect("closed without its body");
        assert!(reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
        assert!(get(server.addr(), "/site/google.com").starts_with("HTTP/1.1 200"));
    }

    #[test]
    fn generated_sites_mirror_the_paper_ratio() {
        let sites = generated_sites(12, Duration::from_millis(1));
        assert_eq!(sites.iter().filter(|s| s.status == 503).count(), 2);
        assert_eq!(sites[0].name, "site-0001");
    }
}
