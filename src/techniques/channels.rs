//! Channels as the `channel` and `select` experiments use them: std's `sync_channel`,
//! crossbeam's `bounded`, tokio's `mpsc` between tasks on a multi-thread runtime, and the
//! same tokio channel between tasks on ONE thread (`tokio-1-mpsc`).
//!
//! The last one is here because it is how Go makes unbuffered and tiny channels cheap: a
//! hand-off between goroutines is a switch inside the user-space scheduler, whereas two OS
//! threads on a channel of capacity 0 or 1 park and wake each other on nearly every
//! message, and each wake-up is a system call and often a trip to another core.
//!
//! crossbeam takes the other way out: a blocked operation spins and yields a little before
//! it parks, so when the partner answers within microseconds no thread sleeps at all.
//!
//! Everything that can wait forever here (a receiver whose sender never closes) runs
//! under a watchdog, so a deadlock becomes a report instead of a hung process.

use super::tokio_tasks;
use super::{ChannelTechnique, SelectTechnique, Technique};
use crate::error::TechniqueError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The letters of Figure 9, sent in this order by one sender.
pub const LETTERS: [char; 4] = ['A', 'B', 'C', 'D'];

/// Why `technique` cannot build a channel of `capacity`, if it cannot.
pub fn capacity_unsupported(technique: Technique, capacity: usize) -> Option<&'static str> {
    match technique {
        Technique::TokioSelect if capacity == 0 => {
            Some("tokio::sync::mpsc has no rendezvous channel (its capacity must be at least 1)")
        }
        _ => None,
    }
}

/// A runtime for the tokio techniques, built outside the timed runs as a program would
/// build it once; `None` for the thread-based ones.
pub fn runtime(technique: Technique) -> Result<Option<Runtime>, TechniqueError> {
    match technique {
        Technique::TokioMpsc | Technique::TokioSelect => tokio_tasks::runtime(false).map(Some),
        Technique::Tokio1Mpsc | Technique::Kanal1 => tokio_tasks::runtime(true).map(Some),
        _ => Ok(None),
    }
}

fn no_runtime(technique: Technique) -> TechniqueError {
    TechniqueError::Setup(format!("{} needs a tokio runtime", technique.id()))
}

/// The sending side of a blocking channel, whichever library made it.
enum Tx<T> {
    Std(std::sync::mpsc::SyncSender<T>),
    Crossbeam(crossbeam_channel::Sender<T>),
    Kanal(kanal::Sender<T>),
}

impl<T> Tx<T> {
    /// False when every receiver is gone.
    fn send(&self, value: T) -> bool {
        match self {
            Tx::Std(tx) => tx.send(value).is_ok(),
            Tx::Crossbeam(tx) => tx.send(value).is_ok(),
            Tx::Kanal(tx) => tx.send(value).is_ok(),
        }
    }
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        match self {
            Tx::Std(tx) => Tx::Std(tx.clone()),
            Tx::Crossbeam(tx) => Tx::Crossbeam(tx.clone()),
            Tx::Kanal(tx) => Tx::Kanal(tx.clone()),
        }
    }
}

enum Rx<T> {
    Std(std::sync::mpsc::Receiver<T>),
    Crossbeam(crossbeam_channel::Receiver<T>),
    Kanal(kanal::Receiver<T>),
}

impl<T> Rx<T> {
    /// Another consumer on the same channel, where the library allows one.
    fn try_clone(&self) -> Option<Rx<T>> {
        match self {
            Rx::Std(_) => None,
            Rx::Crossbeam(rx) => Some(Rx::Crossbeam(rx.clone())),
            Rx::Kanal(rx) => Some(Rx::Kanal(rx.clone())),
        }
    }

    /// `None` once the channel is empty and every sender is gone.
    fn recv(&self) -> Option<T> {
        match self {
            Rx::Std(rx) => rx.recv().ok(),
            Rx::Crossbeam(rx) => rx.recv().ok(),
            Rx::Kanal(rx) => rx.recv().ok(),
        }
    }
}

fn blocking_channel<T>(technique: Technique, capacity: usize) -> Option<(Tx<T>, Rx<T>)> {
    match technique {
        Technique::StdSyncChannel => {
            let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
            Some((Tx::Std(tx), Rx::Std(rx)))
        }
        Technique::Crossbeam => {
            let (tx, rx) = crossbeam_channel::bounded(capacity);
            Some((Tx::Crossbeam(tx), Rx::Crossbeam(rx)))
        }
        Technique::Kanal => {
            let (tx, rx) = kanal::bounded(capacity);
            Some((Tx::Kanal(tx), Rx::Kanal(rx)))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Figure 9: one sender, a receiver that starts late.

/// How the Figure 9 run is set up.
#[derive(Clone, Debug)]
pub struct HandoffConfig {
    pub capacity: usize,
    pub unit: Duration,
    /// Units before the receiver starts taking.
    pub receiver_delay: u32,
    /// The sender finishes without closing its side (the bug the paper warns about).
    pub forget_close: bool,
    /// How long "sender finished, receiver waiting" must last to count as a deadlock.
    pub grace: Duration,
    /// The run gives up after this, deadlock or not.
    pub timeout: Duration,
}

/// One send: when it was attempted and when the channel took the value.
#[derive(Clone, Debug, PartialEq)]
pub struct SendRecord {
    pub letter: char,
    pub attempted: Duration,
    pub completed: Duration,
}

/// What one Figure 9 run did, in time from its start.
#[derive(Clone, Debug, Default)]
pub struct Handoff {
    pub sends: Vec<SendRecord>,
    pub receiver_start: Option<Duration>,
    pub receives: Vec<(char, Duration)>,
    pub sender_finished: Option<Duration>,
    /// Set when the watchdog found the receiver waiting for a sender that had finished.
    pub deadlock: Option<Duration>,
}

/// What the sender and the receiver report while they run; the watchdog reads it.
struct Log {
    t0: Instant,
    handoff: Mutex<Handoff>,
    sender_done: AtomicBool,
    receiver_done: AtomicBool,
    /// Nanoseconds from `t0` (plus one, so 0 means "not waiting") since the receiver
    /// has been inside a receive call.
    waiting_since: AtomicU64,
}

impl Log {
    fn new() -> Log {
        Log {
            t0: Instant::now(),
            handoff: Mutex::new(Handoff::default()),
            sender_done: AtomicBool::new(false),
            receiver_done: AtomicBool::new(false),
            waiting_since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Handoff) -> R) -> R {
        let mut h = self.handoff.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut h)
    }

    fn sent(&self, letter: char, attempted: Duration) {
        let completed = self.now();
        self.with(|h| {
            h.sends.push(SendRecord {
                letter,
                attempted,
                completed,
            })
        });
    }

    fn sender_finished(&self) {
        let at = self.now();
        self.with(|h| h.sender_finished = Some(at));
        self.sender_done.store(true, Ordering::SeqCst);
    }

    fn receiver_started(&self) {
        let at = self.now();
        self.with(|h| h.receiver_start = Some(at));
    }

    fn waiting(&self, yes: bool) {
        let v = if yes {
            self.now().as_nanos() as u64 + 1
        } else {
            0
        };
        self.waiting_since.store(v, Ordering::SeqCst);
    }

    fn received(&self, letter: char) {
        let at = self.now();
        self.with(|h| h.receives.push((letter, at)));
    }

    /// Go's rule, for two units: the one that could send has finished and the other is
    /// waiting to receive, so nothing can ever wake it.
    fn deadlocked(&self, grace: Duration) -> bool {
        let since = self.waiting_since.load(Ordering::SeqCst);
        let finished = self.with(|h| h.sender_finished);
        let now = self.now();
        self.sender_done.load(Ordering::SeqCst)
            && since != 0
            && now.saturating_sub(Duration::from_nanos(since - 1)) > grace
            && finished.is_some_and(|f| now.saturating_sub(f) > grace)
    }
}

/// Watches until the receiver is done; ends a deadlock by dropping the sender the
/// forgetful sender left behind, and gives up at the timeout.
fn watch<S>(
    log: &Log,
    cfg: &HandoffConfig,
    forgotten: &Mutex<Option<S>>,
) -> Result<(), TechniqueError> {
    let tick = Duration::from_millis(1)
        .max(cfg.unit / 100)
        .min(Duration::from_millis(10));
    while !log.receiver_done.load(Ordering::SeqCst) {
        if log.deadlocked(cfg.grace) {
            let at = log.now();
            log.with(|h| h.deadlock = Some(at));
            // The receiver must not be left blocked: closing the channel for the
            // sender lets its loop end, so nothing is abandoned.
            forgotten.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Ok(());
        }
        if log.now() > cfg.timeout {
            forgotten.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Err(TechniqueError::Timeout(cfg.timeout));
        }
        std::thread::sleep(tick);
    }
    Ok(())
}

/// Runs Figure 9: one sender sends A, B, C, D in turn; the receiver starts after
/// `receiver_delay` units and takes until the channel closes.
pub fn handoff(
    channel: ChannelTechnique,
    rt: Option<&Runtime>,
    cfg: &HandoffConfig,
) -> Result<Handoff, TechniqueError> {
    let technique = Technique::from(channel);
    if let Some(why) = capacity_unsupported(technique, cfg.capacity) {
        return Err(TechniqueError::Setup(why.into()));
    }
    let log = Arc::new(Log::new());
    match channel {
        ChannelTechnique::StdSyncChannel
        | ChannelTechnique::Crossbeam
        | ChannelTechnique::Kanal => {
            handoff_threads(technique, cfg, &log)?;
        }
        ChannelTechnique::TokioMpsc | ChannelTechnique::Tokio1Mpsc | ChannelTechnique::Kanal1 => {
            handoff_tasks(
                technique,
                rt.ok_or_else(|| no_runtime(technique))?,
                cfg,
                &log,
            )?;
        }
    }
    let mut h = log.with(std::mem::take);
    h.sends.sort_by_key(|s| s.attempted);
    Ok(h)
}

fn handoff_threads(
    technique: Technique,
    cfg: &HandoffConfig,
    log: &Arc<Log>,
) -> Result<(), TechniqueError> {
    let (tx, rx) = blocking_channel::<char>(technique, cfg.capacity).ok_or_else(|| {
        TechniqueError::Setup(format!("{} is not a blocking channel", technique.id()))
    })?;
    let forgotten: Arc<Mutex<Option<Tx<char>>>> = Arc::new(Mutex::new(None));
    let sender = {
        let (log, forgotten, forget) = (Arc::clone(log), Arc::clone(&forgotten), cfg.forget_close);
        std::thread::spawn(move || {
            for letter in LETTERS {
                let attempted = log.now();
                if !tx.send(letter) {
                    break;
                }
                log.sent(letter, attempted);
            }
            if forget {
                // Kept alive, as a sender that never closes its channel is.
                *forgotten.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
            } else {
                drop(tx);
            }
            log.sender_finished();
        })
    };
    let receiver = {
        let (log, delay) = (Arc::clone(log), cfg.unit * cfg.receiver_delay);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            log.receiver_started();
            loop {
                log.waiting(true);
                let got = rx.recv();
                log.waiting(false);
                match got {
                    Some(letter) => log.received(letter),
                    None => break,
                }
            }
            log.receiver_done.store(true, Ordering::SeqCst);
        })
    };
    let watched = watch(log, cfg, &forgotten);
    if watched.is_ok() {
        // Both ended or were unblocked; a thread still stuck after a timeout is left
        // behind rather than hanging the process.
        let _ = sender.join();
        let _ = receiver.join();
    }
    watched
}

/// The sending side of a tokio channel. tokio's mpsc has no capacity 0, so a rendezvous
/// is built as Go's unbuffered channel behaves: a capacity-1 channel whose sender then
/// waits for the receiver's acknowledgement, so a send completes only once the value has
/// been taken. It has one sender (the acknowledgement goes back to it alone). kanal's
/// async channel runs on the same runtimes beside it.
enum TokioTx<T> {
    Buffered(tokio::sync::mpsc::Sender<T>),
    Kanal(kanal::AsyncSender<T>),
    Rendezvous(
        tokio::sync::mpsc::Sender<T>,
        tokio::sync::mpsc::Receiver<()>,
    ),
}

enum TokioRx<T> {
    Buffered(tokio::sync::mpsc::Receiver<T>),
    Kanal(kanal::AsyncReceiver<T>),
    Rendezvous(
        tokio::sync::mpsc::Receiver<T>,
        tokio::sync::mpsc::Sender<()>,
    ),
}

fn tokio_channel<T>(technique: Technique, capacity: usize) -> (TokioTx<T>, TokioRx<T>) {
    if technique == Technique::Kanal1 {
        // kanal's capacity 0 is a real rendezvous: no acknowledgement needed.
        let (tx, rx) = kanal::bounded_async(capacity);
        return (TokioTx::Kanal(tx), TokioRx::Kanal(rx));
    }
    let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
    if capacity > 0 {
        return (TokioTx::Buffered(tx), TokioRx::Buffered(rx));
    }
    let (ack_tx, ack_rx) = tokio::sync::mpsc::channel(1);
    (
        TokioTx::Rendezvous(tx, ack_rx),
        TokioRx::Rendezvous(rx, ack_tx),
    )
}

impl<T> TokioTx<T> {
    /// Another sender on the same channel; a rendezvous has just one.
    fn try_clone(&self) -> Option<TokioTx<T>> {
        match self {
            TokioTx::Buffered(tx) => Some(TokioTx::Buffered(tx.clone())),
            TokioTx::Kanal(tx) => Some(TokioTx::Kanal(tx.clone())),
            TokioTx::Rendezvous(..) => None,
        }
    }

    /// False when the receiver is gone.
    async fn send(&mut self, value: T) -> bool {
        match self {
            TokioTx::Buffered(tx) => tx.send(value).await.is_ok(),
            TokioTx::Kanal(tx) => tx.send(value).await.is_ok(),
            TokioTx::Rendezvous(tx, ack) => {
                tx.send(value).await.is_ok() && ack.recv().await.is_some()
            }
        }
    }
}

impl<T> TokioRx<T> {
    async fn recv(&mut self) -> Option<T> {
        match self {
            TokioRx::Buffered(rx) => rx.recv().await,
            TokioRx::Kanal(rx) => rx.recv().await.ok(),
            TokioRx::Rendezvous(rx, ack) => {
                let value = rx.recv().await?;
                let _ = ack.send(()).await;
                Some(value)
            }
        }
    }
}

fn handoff_tasks(
    technique: Technique,
    rt: &Runtime,
    cfg: &HandoffConfig,
    log: &Arc<Log>,
) -> Result<(), TechniqueError> {
    let (mut tx, mut rx) = tokio_channel::<char>(technique, cfg.capacity);
    let forgotten: Arc<Mutex<Option<TokioTx<char>>>> = Arc::new(Mutex::new(None));
    let sender = {
        let (log, forgotten, forget) = (Arc::clone(log), Arc::clone(&forgotten), cfg.forget_close);
        async move {
            for letter in LETTERS {
                let attempted = log.now();
                if !tx.send(letter).await {
                    break;
                }
                log.sent(letter, attempted);
            }
            if forget {
                *forgotten.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
            } else {
                drop(tx);
            }
            log.sender_finished();
        }
    };
    let receiver = {
        let (log, delay) = (Arc::clone(log), cfg.unit * cfg.receiver_delay);
        async move {
            tokio::time::sleep(delay).await;
            log.receiver_started();
            loop {
                log.waiting(true);
                let got = rx.recv().await;
                log.waiting(false);
                match got {
                    Some(letter) => log.received(letter),
                    None => break,
                }
            }
            log.receiver_done.store(true, Ordering::SeqCst);
        }
    };
    // The watchdog is an OS thread, so it sees the runtime from outside even when the
    // runtime has one thread and that thread is parked waiting for the receiver.
    std::thread::scope(|s| {
        let watchdog = s.spawn(|| watch(log, cfg, &forgotten));
        rt.block_on(async {
            let sender = tokio::spawn(sender);
            let receiver = tokio::spawn(receiver);
            // Past the timeout the tasks are left to the runtime, which cancels them
            // when it is dropped, so a stuck task cannot hold the run.
            tokio::select! {
                _ = async { tokio::join!(sender, receiver) } => {}
                _ = tokio::time::sleep(cfg.timeout + Duration::from_millis(100)) => {}
            }
        });
        watchdog
            .join()
            .unwrap_or_else(|_| Err(TechniqueError::Panicked("the watchdog".into())))
    })
}

// ---------------------------------------------------------------------------------------
// Throughput: how many messages per second a channel moves.

/// Producers and consumers on one channel of a capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub producers: usize,
    pub consumers: usize,
    pub capacity: usize,
}

impl Shape {
    /// `1→1` or `2→2`.
    pub fn label(&self) -> String {
        format!("{}→{}", self.producers, self.consumers)
    }
}

/// What the consumers received: every value counted and summed, to prove that exactly
/// the messages asked for were moved, no more, no fewer, none twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub count: u64,
    pub sum: u64,
}

impl Moved {
    /// The values 0..n, each once.
    pub fn expected(n: u64) -> Moved {
        let sum = (n as u128 * (n as u128).saturating_sub(1) / 2) as u64;
        Moved { count: n, sum }
    }

    fn add(self, other: Moved) -> Moved {
        Moved {
            count: self.count + other.count,
            sum: self.sum.wrapping_add(other.sum),
        }
    }

    fn take(&mut self, v: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(v);
    }

    pub fn check(&self, n: u64) -> Result<(), String> {
        let want = Moved::expected(n);
        if *self != want {
            return Err(format!(
                "received {} messages summing to {} (expected {} summing to {})",
                self.count, self.sum, want.count, want.sum
            ));
        }
        Ok(())
    }
}

/// Why `technique` cannot run `shape`, if it cannot.
pub fn shape_unsupported(technique: Technique, shape: Shape) -> Option<&'static str> {
    if let Some(why) = capacity_unsupported(technique, shape.capacity) {
        return Some(why);
    }
    match technique {
        Technique::StdSyncChannel if shape.consumers > 1 => {
            Some("std::sync::mpsc has a single consumer")
        }
        Technique::TokioMpsc | Technique::Tokio1Mpsc if shape.consumers > 1 => {
            Some("tokio::sync::mpsc has a single consumer")
        }
        Technique::Kanal1 if shape.consumers > 1 => {
            Some("parlab runs kanal's async side with one consumer")
        }
        Technique::TokioMpsc | Technique::Tokio1Mpsc
            if shape.capacity == 0 && shape.producers > 1 =>
        {
            Some("parlab's tokio rendezvous has a single sender")
        }
        Technique::CrossbeamSelect | Technique::TokioSelect
            if shape.consumers != 1 || shape.producers != 2 =>
        {
            Some("select runs one loop over two channels, each with its own producer")
        }
        _ => None,
    }
}

/// The values producer `p` of `producers` sends: every `producers`-th from `p`.
fn share(p: usize, producers: usize, n: u64) -> impl Iterator<Item = u64> {
    (p as u64..n).step_by(producers)
}

/// Moves the values 0..n through one channel of `shape`.
pub fn throughput(
    technique: Technique,
    rt: Option<&Runtime>,
    shape: Shape,
    n: u64,
) -> Result<Moved, TechniqueError> {
    if let Some(why) = shape_unsupported(technique, shape) {
        return Err(TechniqueError::Setup(why.into()));
    }
    match technique {
        Technique::StdSyncChannel | Technique::Crossbeam | Technique::Kanal => {
            Ok(throughput_threads(technique, shape, n))
        }
        Technique::TokioMpsc | Technique::Tokio1Mpsc | Technique::Kanal1 => {
            let rt = rt.ok_or_else(|| no_runtime(technique))?;
            Ok(throughput_tasks(technique, rt, shape, n))
        }
        Technique::CrossbeamSelect => Ok(select_busy_crossbeam(shape, n)),
        Technique::TokioSelect => {
            let rt = rt.ok_or_else(|| no_runtime(technique))?;
            Ok(select_busy_tokio(rt, shape, n))
        }
        t => Err(TechniqueError::Setup(format!(
            "{} is not a channel",
            t.id()
        ))),
    }
}

fn throughput_threads(technique: Technique, shape: Shape, n: u64) -> Moved {
    let Some((tx, rx)) = blocking_channel::<u64>(technique, shape.capacity) else {
        return Moved::default();
    };
    // std's receiver cannot be shared; `shape_unsupported` keeps it to one consumer.
    let mut receivers: Vec<Rx<u64>> = (1..shape.consumers)
        .filter_map(|_| rx.try_clone())
        .collect();
    receivers.push(rx);
    std::thread::scope(|s| {
        for p in 0..shape.producers {
            let tx = tx.clone();
            s.spawn(move || {
                for v in share(p, shape.producers, n) {
                    if !tx.send(v) {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let consumers: Vec<_> = receivers
            .into_iter()
            .map(|rx| {
                s.spawn(move || {
                    let mut got = Moved::default();
                    while let Some(v) = rx.recv() {
                        got.take(v);
                    }
                    got
                })
            })
            .collect();
        consumers
            .into_iter()
            .map(|c| c.join().unwrap_or_default())
            .fold(Moved::default(), Moved::add)
    })
}

/// tokio's mpsc has one consumer, so `shape.consumers` is 1 here.
fn throughput_tasks(technique: Technique, rt: &Runtime, shape: Shape, n: u64) -> Moved {
    rt.block_on(async move {
        let (tx, mut rx) = tokio_channel::<u64>(technique, shape.capacity);
        match tx {
            TokioTx::Kanal(_) | TokioTx::Buffered(_) => {
                for p in 0..shape.producers {
                    let Some(mut tx) = tx.try_clone() else { break };
                    tokio::spawn(async move {
                        for v in share(p, shape.producers, n) {
                            if !tx.send(v).await {
                                break;
                            }
                        }
                    });
                }
                // Only the producers may hold a sender, or the consumer never sees the end.
                drop(tx);
            }
            // One sender: `shape_unsupported` refuses more for a rendezvous.
            mut tx @ TokioTx::Rendezvous(..) => {
                tokio::spawn(async move {
                    for v in 0..n {
                        if !tx.send(v).await {
                            break;
                        }
                    }
                });
            }
        }
        let consumer = tokio::spawn(async move {
            let mut got = Moved::default();
            while let Some(v) = rx.recv().await {
                got.take(v);
            }
            got
        });
        consumer.await.unwrap_or_default()
    })
}

/// Two busy producers, one on each of two channels, and one select loop taking from
/// whichever is ready; half the values go down each channel.
fn select_busy_crossbeam(shape: Shape, n: u64) -> Moved {
    let (tx1, rx1) = crossbeam_channel::bounded::<u64>(shape.capacity);
    let (tx2, rx2) = crossbeam_channel::bounded::<u64>(shape.capacity);
    std::thread::scope(|s| {
        for (p, tx) in [tx1, tx2].into_iter().enumerate() {
            s.spawn(move || {
                for v in share(p, 2, n) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            });
        }
        let (mut got, mut open1, mut open2) = (Moved::default(), true, true);
        let never = crossbeam_channel::never::<u64>();
        while open1 || open2 {
            let r1 = if open1 { &rx1 } else { &never };
            let r2 = if open2 { &rx2 } else { &never };
            crossbeam_channel::select! {
                recv(r1) -> v => match v { Ok(v) => got.take(v), Err(_) => open1 = false },
                recv(r2) -> v => match v { Ok(v) => got.take(v), Err(_) => open2 = false },
            }
        }
        got
    })
}

fn select_busy_tokio(rt: &Runtime, shape: Shape, n: u64) -> Moved {
    rt.block_on(async move {
        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<u64>(shape.capacity.max(1));
        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<u64>(shape.capacity.max(1));
        for (p, tx) in [tx1, tx2].into_iter().enumerate() {
            tokio::spawn(async move {
                for v in share(p, 2, n) {
                    if tx.send(v).await.is_err() {
                        break;
                    }
                }
            });
        }
        let mut got = Moved::default();
        loop {
            tokio::select! {
                Some(v) = rx1.recv() => got.take(v),
                Some(v) = rx2.recv() => got.take(v),
                else => break,
            }
        }
        got
    })
}

// ---------------------------------------------------------------------------------------
// Figures 10–11: two producers at different rates, one select loop.

/// How the select run is set up: producer `i` sends every `periods[i]` until `duration`.
/// The channels are unbounded, so a producer never waits on the loop: a loop that fell
/// behind shows as messages waiting between send and receipt, not as a slower producer,
/// and `is_empty` can tell when both channels hold a message.
#[derive(Clone, Debug)]
pub struct TickConfig {
    pub periods: [Duration; 2],
    pub duration: Duration,
    /// The loop gives up after this even if a producer never stops.
    pub timeout: Duration,
}

/// One message the select loop took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Taken {
    /// Which channel: 0 fast, 1 slow.
    pub channel: usize,
    pub sent: Duration,
    pub received: Duration,
    /// Both channels held a message when the loop went to select.
    pub both_ready: bool,
}

/// What the select loop saw.
#[derive(Clone, Debug, Default)]
pub struct Ticks {
    pub taken: Vec<Taken>,
    /// Messages each producer sent.
    pub sent: [u64; 2],
    /// Messages each producer had to drop: its channel (capacity 1) was still full when
    /// its next message was due, because the loop had not taken the last one. A select
    /// that favoured one channel would make the other producer drop messages and move
    /// the ratio of what was taken away from the ratio of the producers' rates.
    pub missed: [u64; 2],
}

impl Ticks {
    pub fn counts(&self) -> [u64; 2] {
        let mut c = [0; 2];
        for t in &self.taken {
            c[t.channel] += 1;
        }
        c
    }

    /// Every message sent was taken (dropped ones were never sent).
    pub fn check(&self) -> Result<(), String> {
        let c = self.counts();
        if c != self.sent {
            return Err(format!(
                "took {c:?} messages, the producers sent {:?}",
                self.sent
            ));
        }
        Ok(())
    }
}

/// The moments producer `i` sends at: every period from the start, up to the duration.
/// Scheduled against the start rather than slept back to back, so late wake-ups do not
/// add up over a long run.
fn schedule(period: Duration, duration: Duration) -> impl Iterator<Item = Duration> {
    (1u32..)
        .map(move |k| period * k)
        .take_while(move |t| *t <= duration)
}

pub fn ticks(
    select: SelectTechnique,
    rt: Option<&Runtime>,
    cfg: &TickConfig,
) -> Result<Ticks, TechniqueError> {
    match select {
        SelectTechnique::CrossbeamSelect => ticks_crossbeam(cfg),
        SelectTechnique::TokioSelect => {
            ticks_tokio(rt.ok_or_else(|| no_runtime(select.into()))?, cfg)
        }
    }
}

fn ticks_crossbeam(cfg: &TickConfig) -> Result<Ticks, TechniqueError> {
    let t0 = Instant::now();
    let chans: Vec<_> = (0..2)
        .map(|_| crossbeam_channel::bounded::<Duration>(1))
        .collect();
    let (rx1, rx2) = (chans[0].1.clone(), chans[1].1.clone());
    let producers: Vec<_> = chans
        .into_iter()
        .enumerate()
        .map(|(i, (tx, _))| {
            let (period, duration) = (cfg.periods[i], cfg.duration);
            std::thread::spawn(move || {
                let (mut sent, mut missed) = (0, 0);
                for at in schedule(period, duration) {
                    std::thread::sleep((t0 + at).saturating_duration_since(Instant::now()));
                    // The message must be in before the next one is due, or it is dropped.
                    let due = (t0 + at + period).saturating_duration_since(Instant::now());
                    match tx.send_timeout(t0.elapsed(), due) {
                        Ok(()) => sent += 1,
                        Err(crossbeam_channel::SendTimeoutError::Timeout(_)) => missed += 1,
                        Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => break,
                    }
                }
                (sent, missed)
            })
        })
        .collect();
    let mut ticks = Ticks::default();
    let never = crossbeam_channel::never::<Duration>();
    let timeout = crossbeam_channel::at(t0 + cfg.timeout);
    let (mut open1, mut open2) = (true, true);
    while open1 || open2 {
        // A look before choosing: the only honest way to know a choice was a real one.
        let both_ready = !rx1.is_empty() && !rx2.is_empty();
        let r1 = if open1 { &rx1 } else { &never };
        let r2 = if open2 { &rx2 } else { &never };
        let mut take = |channel: usize, sent: Duration| {
            ticks.taken.push(Taken {
                channel,
                sent,
                received: t0.elapsed(),
                both_ready,
            })
        };
        crossbeam_channel::select! {
            recv(r1) -> v => match v { Ok(sent) => take(0, sent), Err(_) => open1 = false },
            recv(r2) -> v => match v { Ok(sent) => take(1, sent), Err(_) => open2 = false },
            recv(timeout) -> _ => return Err(TechniqueError::Timeout(cfg.timeout)),
        }
    }
    for (i, p) in producers.into_iter().enumerate() {
        (ticks.sent[i], ticks.missed[i]) = p
            .join()
            .map_err(|_| TechniqueError::Panicked("a producer".into()))?;
    }
    Ok(ticks)
}

fn ticks_tokio(rt: &Runtime, cfg: &TickConfig) -> Result<Ticks, TechniqueError> {
    let cfg = cfg.clone();
    rt.block_on(async move {
        let t0 = tokio::time::Instant::now();
        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<Duration>(1);
        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<Duration>(1);
        let producers: Vec<_> = [tx1, tx2]
            .into_iter()
            .enumerate()
            .map(|(i, tx)| {
                let (period, duration) = (cfg.periods[i], cfg.duration);
                tokio::spawn(async move {
                    let (mut sent, mut missed) = (0u64, 0u64);
                    for at in schedule(period, duration) {
                        tokio::time::sleep_until(t0 + at).await;
                        // In before the next message is due, or dropped.
                        let due = t0 + at + period;
                        match tokio::time::timeout_at(due, tx.send(t0.elapsed())).await {
                            Ok(Ok(())) => sent += 1,
                            Ok(Err(_)) => break,
                            Err(_) => missed += 1,
                        }
                    }
                    (sent, missed)
                })
            })
            .collect();
        let mut ticks = Ticks::default();
        let timeout = tokio::time::sleep_until(t0 + cfg.timeout);
        tokio::pin!(timeout);
        let (mut open1, mut open2) = (true, true);
        while open1 || open2 {
            // is_empty looks without taking, unlike try_recv.
            let both_ready = !rx1.is_empty() && !rx2.is_empty();
            let (channel, sent) = tokio::select! {
                v = rx1.recv(), if open1 => (0, v),
                v = rx2.recv(), if open2 => (1, v),
                _ = &mut timeout => return Err(TechniqueError::Timeout(cfg.timeout)),
            };
            match sent {
                Some(sent) => ticks.taken.push(Taken {
                    channel,
                    sent,
                    received: t0.elapsed(),
                    both_ready,
                }),
                None if channel == 0 => open1 = false,
                None => open2 = false,
            }
        }
        for (i, p) in producers.into_iter().enumerate() {
            (ticks.sent[i], ticks.missed[i]) = p
                .await
                .map_err(|_| TechniqueError::Panicked("a producer".into()))?;
        }
        Ok(ticks)
    })
}

/// How a select loop splits its choices when both channels hold a message: two producers
/// keep their capacity-1 channels full, and before each select the loop waits until both
/// are full again, so every one of its `messages` takes is a real choice between two.
/// Go's select picks at random among ready cases, crossbeam's too, and `tokio::select!`
/// unless it is `biased`: each should give about half to each channel. A select that
/// always tried the first ready case would give it nearly all.
pub fn both_ready_split(
    select: SelectTechnique,
    rt: Option<&Runtime>,
    messages: u64,
) -> Result<[u64; 2], TechniqueError> {
    match select {
        SelectTechnique::CrossbeamSelect => {
            let (tx1, rx1) = crossbeam_channel::bounded::<u8>(1);
            let (tx2, rx2) = crossbeam_channel::bounded::<u8>(1);
            let fill = |tx: crossbeam_channel::Sender<u8>| {
                std::thread::spawn(move || while tx.send(0).is_ok() {})
            };
            let producers = [fill(tx1), fill(tx2)];
            let mut split = [0u64; 2];
            for _ in 0..messages {
                while rx1.is_empty() || rx2.is_empty() {
                    std::thread::yield_now();
                }
                crossbeam_channel::select! {
                    recv(rx1) -> _ => split[0] += 1,
                    recv(rx2) -> _ => split[1] += 1,
                }
            }
            drop((rx1, rx2));
            for p in producers {
                p.join()
                    .map_err(|_| TechniqueError::Panicked("a producer".into()))?;
            }
            Ok(split)
        }
        SelectTechnique::TokioSelect => {
            let rt = rt.ok_or_else(|| no_runtime(select.into()))?;
            rt.block_on(async move {
                let (tx1, mut rx1) = tokio::sync::mpsc::channel::<u8>(1);
                let (tx2, mut rx2) = tokio::sync::mpsc::channel::<u8>(1);
                let fill = |tx: tokio::sync::mpsc::Sender<u8>| {
                    tokio::spawn(async move { while tx.send(0).await.is_ok() {} })
                };
                let producers = [fill(tx1), fill(tx2)];
                let mut split = [0u64; 2];
                for _ in 0..messages {
                    while rx1.is_empty() || rx2.is_empty() {
                        tokio::task::yield_now().await;
                    }
                    tokio::select! {
                        _ = rx1.recv() => split[0] += 1,
                        _ = rx2.recv() => split[1] += 1,
                    }
                }
                drop((rx1, rx2));
                for p in producers {
                    p.await
                        .map_err(|_| TechniqueError::Panicked("a producer".into()))?;
                }
                Ok(split)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_sums() {
        assert_eq!(Moved::expected(4), Moved { count: 4, sum: 6 });
        assert_eq!(Moved::expected(1), Moved { count: 1, sum: 0 });
        let mut m = Moved::default();
        for v in 0..4 {
            m.take(v);
        }
        assert!(m.check(4).is_ok());
        m.take(0);
        assert!(m.check(4).is_err());
    }

    #[test]
    fn producers_share_every_value_once() {
        let mut all: Vec<u64> = (0..3).flat_map(|p| share(p, 3, 10)).collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn schedules_stop_at_the_duration() {
        let ms = Duration::from_millis;
        assert_eq!(schedule(ms(500), ms(2000)).count(), 4);
        assert_eq!(schedule(ms(2000), ms(10_000)).count(), 5);
    }

    #[test]
    fn every_shape_moves_exactly_what_was_asked() {
        let n = 5_000;
        for t in [
            Technique::StdSyncChannel,
            Technique::Crossbeam,
            Technique::TokioMpsc,
            Technique::Tokio1Mpsc,
            Technique::CrossbeamSelect,
            Technique::TokioSelect,
        ] {
            let rt = runtime(t).unwrap();
            for (producers, consumers, capacity) in [(1, 1, 0), (1, 1, 1), (2, 2, 16), (2, 1, 4)] {
                let shape = Shape {
                    producers,
                    consumers,
                    capacity,
                };
                match throughput(t, rt.as_ref(), shape, n) {
                    Ok(moved) => moved
                        .check(n)
                        .unwrap_or_else(|e| panic!("{} {shape:?}: {e}", t.id())),
                    Err(e) => assert!(
                        shape_unsupported(t, shape).is_some(),
                        "{} {shape:?}: {e}",
                        t.id()
                    ),
                }
            }
        }
    }

    #[test]
    fn a_fair_select_splits_its_choices_between_two_full_channels() {
        let rt = runtime(Technique::TokioSelect).unwrap();
        for t in SelectTechnique::ALL {
            let split = both_ready_split(*t, rt.as_ref(), 400).unwrap();
            let made = split[0] + split[1];
            assert_eq!(made, 400, "{}", t.id());
            // Random choice: each side gets a fair share of the real choices whatever the
            // machine's load (a biased select would give one side all of them).
            assert!(
                split.iter().all(|&n| n * 5 >= made),
                "{}: {split:?}",
                t.id()
            );
        }
    }
}
