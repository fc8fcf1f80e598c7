//! The report in a real browser. The string checks beside this module cannot tell
//! whether the page works where it is read: whether an error or a failed load spoils it,
//! whether a chart is laid out at a size a reader can see, whether it paints at all. Here
//! headless Chromium loads report.html made from the fixture and answers those.
//!
//! How the browser is driven: the Chrome DevTools Protocol over
//! `--remote-debugging-pipe`, where the browser reads commands from its fd 3 and writes
//! replies and events to its fd 4, each a JSON message ended by a NUL byte. A pipe needs
//! no port, no DevToolsActivePort file to wait for and no websocket crate; the
//! `headless_chrome` crate would speak the same protocol over a websocket at the price of
//! many more crates to build. `png` and `base64` are the only dev-dependencies, for the
//! screenshot.
//!
//! Nothing may hang or outlive the test: one deadline bounds every wait (a reader thread
//! turns the pipe into a channel, so each wait is a `recv_timeout`), and the browser runs
//! in a process group of its own that `Drop` kills whole and reaps, on success and on a
//! failed assertion alike. Helpers the browser forks are orphaned to init when their
//! group is killed, and init reaps them.
//!
//! Skipped, with a message, only where no Chromium is installed (`.ci/run` installs
//! Debian's); `PARLAB_CHROMIUM` names another binary. To look at the page as the test
//! saw it, `PARLAB_SCREENSHOT=/tmp/report.png cargo test browser` keeps the first screen
//! there and the whole page beside it (`/tmp/report-full.png`).

use super::written;
use base64::Engine;
use parlab::report;
use serde_json::{Value, json};
use std::io::{ErrorKind, PipeReader, PipeWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Far above the two seconds a run takes, so that two busy cores never fail it, and
/// short enough that a wedged browser fails the test instead of stalling the suite.
const DEADLINE: Duration = Duration::from_secs(90);

/// A common laptop screen's page area: the first screen is what a reader sees before
/// scrolling.
const VIEWPORT: (u32, u32) = (1280, 800);

/// Headless, and nothing that would reach the network or start background work.
const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-quic",
    "--disable-component-update",
    "--disable-sync",
];

/// Measures, in the page, what a reader would see. Waits for fonts and two frames first,
/// so that the sizes are those of the painted page, not of a layout still settling.
const MEASURE: &str = r#"(async (sections) => {
  await document.fonts.ready;
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const size = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  return {
    svgs: [...document.querySelectorAll("svg")].map(s => ({
      size: size(s),
      section: s.closest("section[id]")?.id ?? null,
    })),
    sections: sections.map(([id, name]) => {
      const e = document.getElementById(id);
      return e && { size: size(e), named: e.innerText.includes(name) };
    }),
    page: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
  };
})"#;

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(binary) = chromium() else {
        eprintln!("skipped: no Chromium (apt-get install chromium)");
        return;
    };
    let started = Instant::now();
    let (dir, doc, _) = written();
    let page = dir.path().join("report.html");
    let ids = report::section_ids(&doc);
    assert_eq!(
        ids.len(),
        doc.experiments.len(),
        "one section per experiment"
    );

    let mut browser = Browser::launch(&binary);
    let named: Vec<_> = ids
        .iter()
        .zip(&doc.experiments)
        .map(|(id, e)| (id.as_str(), e.experiment.as_str()))
        .collect();
    let seen = browser.inspect(&page, &named);
    if let Some(path) = std::env::var_os("PARLAB_SCREENSHOT") {
        save_screenshots(&mut browser, &seen, Path::new(&path));
    }
    drop(browser);

    assert!(
        seen.errors.is_empty(),
        "the page logged errors: {:#?}",
        seen.errors
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!seen.svgs.is_empty(), "no chart on the page");
    assert_eq!(
        seen.svgs.len(),
        html.matches("<svg").count(),
        "the browser lost charts that the file has: broken markup around them?"
    );
    for svg in &seen.svgs {
        assert!(
            svg.visible(),
            "a chart in section {:?} is drawn at {:?}",
            svg.section,
            svg.size
        );
    }
    for ((id, section), exp) in ids.iter().zip(&seen.sections).zip(&doc.experiments) {
        let name = &exp.experiment;
        let section = section
            .as_ref()
            .unwrap_or_else(|| panic!("no section {id} for {name}"));
        assert!(section.size[1] > 0.0, "section {id} ({name}) is not shown");
        assert!(section.named, "section {id} does not say {name}");
    }
    let (width, height, flat) = one_colour(&seen.screenshot);
    assert_eq!(
        (width, height),
        VIEWPORT,
        "the screenshot is not of the viewport"
    );
    assert!(!flat, "the first screen is blank: one colour");
    eprintln!(
        "browser test: {} charts and {} sections checked in {:.1} s",
        seen.svgs.len(),
        ids.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The checks above pass trivially if the browser reports nothing; a page broken in
/// every way they look for shows that each of them can fail.
#[test]
fn a_broken_page_fails_every_check() {
    let Some(binary) = chromium() else {
        eprintln!("skipped: no Chromium (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body>\
         <img src=\"missing.png\" alt=\"\" style=\"display: none\">\
         <svg width=\"0\" height=\"0\"></svg>\
         <script>console.error(\"logged\"); null.boom;</script>\
         </body></html>",
    )
    .unwrap();

    let mut browser = Browser::launch(&binary);
    let seen = browser.inspect(&page, &[("absent", "absent")]);
    drop(browser);

    let errors = seen.errors.join("\n");
    for expected in ["missing.png", "logged", "null"] {
        assert!(
            errors.contains(expected),
            "{expected} not caught in {errors}"
        );
    }
    assert_eq!(seen.svgs.len(), 1);
    assert!(!seen.svgs[0].visible());
    assert!(seen.sections[0].is_none());
    assert!(
        one_colour(&seen.screenshot).2,
        "an empty page is one colour"
    );
}

/// Where the browser is: `PARLAB_CHROMIUM`, else `chromium` on `PATH` or in /usr/bin.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PARLAB_CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "PARLAB_CHROMIUM={} is not a file",
            path.display()
        );
        return Some(path);
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file())
}

/// What the browser saw of one page.
struct Seen {
    /// Uncaught exceptions, console errors and error log entries (failed loads among them).
    errors: Vec<String>,
    svgs: Vec<Svg>,
    /// Each section asked for, in order; `None` where the page has none.
    sections: Vec<Option<Section>>,
    /// The first screen, PNG.
    screenshot: Vec<u8>,
    /// The page's scroll size, for a picture of all of it.
    page: [f64; 2],
    session: String,
}

#[derive(Debug, serde::Deserialize)]
struct Svg {
    size: [f64; 2],
    section: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Section {
    size: [f64; 2],
    /// Whether its text names the experiment, so a reader knows which one it is.
    named: bool,
}

impl Svg {
    fn visible(&self) -> bool {
        self.size[0] > 0.0 && self.size[1] > 0.0
    }
}

/// The PNG's width and height, and whether every pixel has the same colour.
fn one_colour(png_bytes: &[u8]) -> (u32, u32, bool) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    // Whole bytes per sample, so that pixels compare as byte chunks.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("the screenshot is a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
    let frame = reader.next_frame(&mut pixels).expect("the PNG decodes");
    let pixels = &pixels[..frame.buffer_size()];
    let step = frame.color_type.samples();
    let first = &pixels[..step];
    let flat = pixels.chunks_exact(step).all(|p| p == first);
    (frame.width, frame.height, flat)
}

fn save_screenshots(browser: &mut Browser, seen: &Seen, path: &Path) {
    std::fs::write(path, &seen.screenshot)
        .unwrap_or_else(|e| panic!("PARLAB_SCREENSHOT={}: {e}", path.display()));
    let [width, height] = seen.page;
    let full = browser.call(
        Some(&seen.session),
        "Page.captureScreenshot",
        json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        }),
    );
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let full_path = path.with_file_name(format!("{stem}-full.png"));
    std::fs::write(&full_path, decode(&full["data"])).unwrap();
    eprintln!(
        "screenshots: {} (first screen), {} (whole page)",
        path.display(),
        full_path.display()
    );
}

fn decode(data: &Value) -> Vec<u8> {
    let text = data.as_str().expect("screenshot data is a string");
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("screenshot data is base64")
}

/// A running Chromium and the DevTools pipe to it. Dropping it kills and reaps the
/// browser before its profile folder is removed.
struct Browser {
    child: Child,
    to_browser: PipeWriter,
    from_browser: Receiver<Result<Value, String>>,
    deadline: Instant,
    next_id: u64,
    /// Events that arrived while waiting for a reply, in order.
    events: Vec<Value>,
    stderr: PathBuf,
    /// Last, so that it is removed after `drop` has ended the browser.
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch(binary: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let stderr = profile.path().join("stderr.txt");
        let (their_in, to_browser) = std::io::pipe().unwrap();
        let (from_browser, their_out) = std::io::pipe().unwrap();
        let (fd_in, fd_out) = (their_in.as_raw_fd(), their_out.as_raw_fd());
        let mut cmd = Command::new(binary);
        cmd.args(FLAGS)
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("profile").display()
            ))
            .arg("--remote-debugging-pipe")
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .process_group(0);
        // SAFETY: fcntl and dup2 are async-signal-safe and change only the child's table.
        unsafe {
            cmd.pre_exec(move || {
                // Both ends move above 4 first: placing one on 3 or 4 could otherwise
                // close the other, or leave it close-on-exec where it already was.
                let fd_in = libc::fcntl(fd_in, libc::F_DUPFD_CLOEXEC, 10);
                let fd_out = libc::fcntl(fd_out, libc::F_DUPFD_CLOEXEC, 10);
                if fd_in < 0 || fd_out < 0 || libc::dup2(fd_in, 3) < 0 || libc::dup2(fd_out, 4) < 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        // The browser's ends are its own now; ours must close so that its exit reads as EOF.
        drop((their_in, their_out));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || read_messages(from_browser, tx));
        Browser {
            child,
            to_browser,
            from_browser: rx,
            deadline: Instant::now() + DEADLINE,
            next_id: 0,
            events: Vec::new(),
            stderr,
            _profile: profile,
        }
    }

    /// Loads `page` in a new tab, measures it, screenshots its first screen and gathers
    /// every error it logged on the way.
    /// `sections` are (element id, text it must contain).
    fn inspect(&mut self, page: &Path, sections: &[(&str, &str)]) -> Seen {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let session = attached["sessionId"].as_str().unwrap().to_string();
        let s = Some(session.as_str());
        for domain in ["Runtime", "Log", "Page"] {
            self.call(s, &format!("{domain}.enable"), json!({}));
        }
        // The viewport itself, not the window: a headless window still keeps room for
        // a toolbar, so its page area is smaller than the window size says.
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": VIEWPORT.0, "height": VIEWPORT.1, "deviceScaleFactor": 1, "mobile": false}),
        );
        let url = format!("file://{}", page.display());
        let navigated = self.call(s, "Page.navigate", json!({"url": url}));
        if let Some(error) = navigated.get("errorText") {
            self.fail(&format!("{url} did not load: {error}"));
        }
        self.wait_for(&session, "Page.loadEventFired");
        let measured = self.call(
            s,
            "Runtime.evaluate",
            json!({
                "expression": format!("{MEASURE}({})", json!(sections)),
                "awaitPromise": true,
                "returnByValue": true,
            }),
        );
        if let Some(exception) = measured.get("exceptionDetails") {
            self.fail(&format!("measuring the page threw: {exception}"));
        }
        let value = &measured["result"]["value"];
        let svgs = serde_json::from_value(value["svgs"].clone()).expect("svg sizes");
        let sections = serde_json::from_value(value["sections"].clone()).expect("sections");
        let page_size = serde_json::from_value(value["page"].clone()).expect("page size");
        let shot = self.call(s, "Page.captureScreenshot", json!({"format": "png"}));
        Seen {
            errors: self.events.iter().filter_map(error_of).collect(),
            svgs,
            sections,
            screenshot: decode(&shot["data"]),
            page: page_size,
            session,
        }
    }

    /// Sends one command and waits for its reply, keeping the events that come first.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        if let Err(e) = self.to_browser.write_all(&bytes) {
            self.fail(&format!("cannot send {method}: {e}"));
        }
        loop {
            let mut reply = self.next_message(method);
            if reply["id"] == id {
                if let Some(error) = reply.get("error") {
                    self.fail(&format!("{method} failed: {error}"));
                }
                return reply["result"].take();
            }
            self.events.push(reply);
        }
    }

    fn wait_for(&mut self, session: &str, event: &str) {
        let is_it = |m: &Value| m["method"] == event && m["sessionId"] == session;
        if self.events.iter().any(is_it) {
            return;
        }
        loop {
            let message = self.next_message(event);
            let found = is_it(&message);
            self.events.push(message);
            if found {
                return;
            }
        }
    }

    fn next_message(&mut self, waiting_for: &str) -> Value {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.from_browser.recv_timeout(left) {
            Ok(Ok(message)) => message,
            Ok(Err(e)) => self.fail(&format!("waiting for {waiting_for}: {e}")),
            Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                "waiting for {waiting_for}: no answer within {DEADLINE:?} of the start"
            )),
            Err(RecvTimeoutError::Disconnected) => self.fail(&format!(
                "waiting for {waiting_for}: the browser closed the pipe"
            )),
        }
    }

    /// Panics with the end of the browser's stderr, which says why it stopped answering.
    fn fail(&self, what: &str) -> ! {
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        let tail = if tail.is_empty() {
            "(nothing)".into()
        } else {
            tail
        };
        panic!("headless Chromium: {what}\nits stderr ends with:\n{tail}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The group is signalled before the leader is reaped: until then its id cannot
        // be reused, so the signal reaches no stranger.
        // SAFETY: killpg only sends a signal.
        unsafe { libc::killpg(self.child.id() as libc::pid_t, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// The browser's output as messages, until it closes the pipe or the test goes.
fn read_messages(mut pipe: PipeReader, tx: Sender<Result<Value, String>>) {
    let mut pending = Vec::new();
    let mut chunk = vec![0; 1 << 16];
    loop {
        let n = match pipe.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = tx.send(Err(format!("reading the pipe: {e}")));
                return;
            }
        };
        for piece in chunk[..n].split_inclusive(|&b| b == 0) {
            let Some((&0, body)) = piece.split_last() else {
                pending.extend_from_slice(piece);
                continue;
            };
            pending.extend_from_slice(body);
            let message = serde_json::from_slice(&pending)
                .map_err(|e| format!("a message that is not JSON ({e})"));
            pending.clear();
            if tx.send(message).is_err() {
                return;
            }
        }
    }
}

/// An event that a reader would count as the page going wrong, as one line.
fn error_of(event: &Value) -> Option<String> {
    let params = &event["params"];
    match event["method"].as_str()? {
        "Runtime.exceptionThrown" => {
            let details = &params["exceptionDetails"];
            let text = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("an exception");
            Some(format!("uncaught: {text}"))
        }
        "Runtime.consoleAPICalled"
            if matches!(params["type"].as_str(), Some("error" | "assert")) =>
        {
            let args: Vec<String> = params["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    a["value"]
                        .as_str()
                        .map_or_else(|| a.to_string(), str::to_string)
                })
                .collect();
            Some(format!(
                "console.{}: {}",
                params["type"].as_str()?,
                args.join(" ")
            ))
        }
        "Log.entryAdded" if params["entry"]["level"] == "error" => {
            let entry = &params["entry"];
            Some(format!(
                "{} error: {} {}",
                entry["source"].as_str().unwrap_or("log"),
                entry["text"].as_str().unwrap_or_default(),
                entry["url"].as_str().unwrap_or_default()
            ))
        }
        _ => None,
    }
}
