#!/usr/bin/env python3
"""parlab's Python peer: the Python side of the paper's experiments, run for real.

parlab (the Rust program) starts this script as

    parlab_peer.py version
    parlab_peer.py EXPERIMENT [--flag value]...

and reads one JSON object per line from its stdout; peers/PROTOCOL.md is the contract
(flags, technique ids, row fields). Nothing but those objects goes to stdout, and each
is flushed as soon as its row is done, so a peer killed half-way still leaves its
finished rows behind. Diagnostics go to stderr.

Standard library only, Python 3.8 or newer. Process pools use the 'fork' start method
where the platform has it: it is the fastest to start, and it is what the paper's
Linux measurements used.
"""

import asyncio
import concurrent.futures
import http.client
import json
import math
import multiprocessing
import os
import platform
import queue
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections import namedtuple
from multiprocessing.pool import ThreadPool

try:
    import resource
except ImportError:  # not on Windows; memory figures are then null
    resource = None

PROG = "parlab-peer-python"
SCRIPT = os.path.abspath(__file__)


# ---------------------------------------------------------------------------
# errors and small helpers
# ---------------------------------------------------------------------------


class UsageError(Exception):
    """A bad command line: reported on one stderr line, exit status 2."""


class Skip(Exception):
    """Raised by a row that cannot be measured here; its text says why."""


class CheckFailed(Exception):
    """A run produced a wrong result: the row becomes an error row."""


def one_line(exc):
    """An exception as a single line, short enough for a table cell."""
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, (CheckFailed, Skip, RunFailed)):
        text = "%s: %s" % (type(exc).__name__, text)
    text = " ".join(text.split())
    return text if len(text) <= 500 else text[:497] + "..."


def mp_context():
    """The multiprocessing context to use: 'fork' where available (quickest start)."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


# ---------------------------------------------------------------------------
# the interpreter: its build and the GIL, as asked and as observed
# ---------------------------------------------------------------------------


def gil_enabled():
    """Whether the GIL is on now. Before 3.13 there is no way to run without one."""
    probe = getattr(sys, "_is_gil_enabled", None)
    return bool(probe()) if probe is not None else True


def build_kind():
    """default, or free-threaded for a build configured with --disable-gil (PEP 703)."""
    return "free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED") else "default"


def gil_asked():
    """The GIL state this process was started to have. A default build always has the
    GIL; a free-threaded one has none unless PYTHON_GIL=1 (parlab's second run of the
    same binary). An extension module without free-threading support can turn it back
    on at import, silently: that is what GilWatch catches."""
    if build_kind() == "default":
        return True
    return os.environ.get("PYTHON_GIL") == "1"


def interpreter_params():
    """What every row says about the interpreter that measured it (peers/PROTOCOL.md):
    its version, its build, and the GIL as observed here, after every import."""
    return {"interpreter": platform.python_version(), "build": build_kind(),
            "gil": gil_enabled()}


class GilWatch:
    """Where a process of this row found the GIL in another state than asked. The peer
    itself, each fresh run, each child it starts and each process-pool worker look
    once; a row with any such place says so in its notes."""

    def __init__(self):
        self.notes = []
        self.workers = None  # a shared counter of pool workers, made before the first fork

    def seen(self, where, enabled):
        asked = gil_asked()
        if enabled is None or bool(enabled) == asked:
            return
        text = "%s ran with the GIL %s although %s was asked" % (
            where, "on" if enabled else "off", "on" if asked else "off")
        if text not in self.notes:
            self.notes.append(text)

    def take(self):
        """The notes of the row now ending, the pool workers' count included; clears."""
        if self.workers is not None:
            with self.workers.get_lock():
                wrong, self.workers.value = self.workers.value, 0
            if wrong:
                self.seen("%d process-pool worker%s" % (wrong, "" if wrong == 1 else "s"),
                          not gil_asked())
        notes, self.notes = self.notes, []
        return notes


GIL_WATCH = GilWatch()


def _worker_gil_check(counter, asked):
    """A process-pool worker's initializer: counts the workers whose GIL differs."""
    if gil_enabled() != asked:
        with counter.get_lock():
            counter.value += 1


def process_pool(workers):
    """multiprocessing.Pool(workers) on the peer's start method, each worker checking
    the GIL it got: a forked worker inherits the parent's state, a spawned one starts
    a new interpreter that imports modules again."""
    ctx = mp_context()
    if GIL_WATCH.workers is None:
        GIL_WATCH.workers = ctx.Value("i", 0)
    return ctx.Pool(workers, initializer=_worker_gil_check,
                    initargs=(GIL_WATCH.workers, gil_asked()))


# The version that brought concurrent.futures.InterpreterPoolExecutor (PEP 734).
INTERPRETERS_SINCE = (3, 14)


def interpreters_missing():
    """Why the interpreters technique cannot run on this Python, or None."""
    if sys.version_info < INTERPRETERS_SINCE:
        return ("concurrent.futures.InterpreterPoolExecutor (subinterpreters, PEP 734) "
                "needs Python %d.%d or later; this is Python %s" % (
                    INTERPRETERS_SINCE + (platform.python_version(),)))
    try:
        from concurrent.futures import InterpreterPoolExecutor  # noqa: F401
    except ImportError as exc:
        return "Python %s has no InterpreterPoolExecutor: %s" % (platform.python_version(), exc)
    return None


def interpreter_pool(workers):
    """InterpreterPoolExecutor(workers): a subinterpreter per worker thread, each with a
    GIL of its own (PEP 684), so CPU work runs in parallel on either build, at the price
    of pickling work and results across interpreters. A subinterpreter's __main__ is
    not this script, so work is sent as functions of this file imported as the module
    parlab_peer (peer_module()); the initializer puts its folder on the worker's path."""
    import functools
    from concurrent.futures import InterpreterPoolExecutor
    here = os.path.dirname(SCRIPT)
    setup = "import sys\nif %r not in sys.path:\n    sys.path.insert(0, %r)\n" % (here, here)
    return InterpreterPoolExecutor(workers, initializer=functools.partial(exec, setup))


def peer_module():
    """This file as the importable module parlab_peer, whose functions pickle by a name
    a subinterpreter can import (this script runs as __main__)."""
    import importlib
    here = os.path.dirname(SCRIPT)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("parlab_peer")


def fmt_s(seconds):
    """Seconds for a paper-style line: two decimals, more for short times."""
    return "%.2f" % seconds if seconds >= 1 else "%.3g" % seconds


def number(x):
    """A float that is whole printed as an int (5 rather than 5.0) in JSON."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    if not ordered:
        return None
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def event(t_s, lane, kind, label):
    return {"t_s": round(max(t_s, 0.0), 6), "lane": lane, "kind": kind, "label": label}


def ordinal_lanes(records):
    """Name workers worker-1, worker-2... in the order they first started work.

    records: (who, start) pairs, where who is a pid or a thread id. Pool workers are
    anonymous to the reader; numbering them keeps the timeline lanes short and stable.
    """
    lanes = {}
    for who, _start in sorted(records, key=lambda r: r[1]):
        if who not in lanes:
            lanes[who] = "worker-%d" % (len(lanes) + 1)
    return lanes


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------


# How a row's peak_rss_bytes was measured (peers/PROTOCOL.md, "Peak memory"): parlab and
# both peers write the same ids, so a table can tell when a column mixes methods.
MEMORY_PER_RUN = "per-run-peak+children-sum"
MEMORY_LIFETIME = "lifetime-peak+children-sum"

# ru_maxrss counts kilobytes on Linux and bytes on macOS.
RSS_SCALE = 1 if sys.platform == "darwin" else 1024


def peak_rss_bytes(children=False):
    """Lifetime peak resident memory of this process (plus its largest reaped child).

    A high-water mark over the whole process, so it also covers what ran before. Rows
    that measure runs get their figure from measure() instead (run_row puts it in); this
    is what the children that a row starts report about themselves.
    """
    if resource is None:
        return None
    total = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if children:
        total += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return total * RSS_SCALE


# Every child this process reaped, as (pid, its peak resident bytes). RUSAGE_CHILDREN
# only keeps the largest child's peak, and a process pool's workers are all resident at
# once, so their peaks are summed as parlab sums its worker processes': that needs each
# child's own figure, which only wait4 gives.
_reaped = []
_reaped_lock = threading.Lock()


def record_reaped_children():
    """Route os.waitpid through os.wait4 and keep each reaped child's ru_maxrss.

    multiprocessing and subprocess reap their children with os.waitpid, looked up at
    each call, so this sees every pool worker and child process without changing the
    experiments. wait4 waits exactly as waitpid does; only the rusage is new.
    """
    wait4 = getattr(os, "wait4", None)
    if wait4 is None or getattr(os.waitpid, "_parlab_records", False):
        return

    def waitpid(pid, options):
        got, status, usage = wait4(pid, options)
        if got > 0 and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
            with _reaped_lock:
                _reaped.append((got, usage.ru_maxrss * RSS_SCALE))
        return got, status

    waitpid._parlab_records = True
    os.waitpid = waitpid


def reaped_mark():
    """Where the record of reaped children stands now, for reaped_since."""
    with _reaped_lock:
        return len(_reaped)


def reaped_since(mark):
    """The children reaped since mark: (the sum of their peaks, their pids)."""
    with _reaped_lock:
        since = _reaped[mark:]
    return sum(peak for _pid, peak in since), [pid for pid, _peak in since]


def self_peak_bytes():
    """This process's own lifetime peak (ru_maxrss), or None where there is no rusage."""
    if resource is None:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * RSS_SCALE


def proc_status_bytes(field):
    """A memory field (VmRSS, VmHWM) of /proc/self/status in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss():
    """Let VmHWM restart from the current RSS (Linux 4.0+); harmless where refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# output: rows and the measurement loop
# ---------------------------------------------------------------------------


def emit(obj):
    """Write one JSON object as one line and flush it at once.

    Flushing also matters for correctness: a forked pool worker inherits stdout's
    buffer, and anything left in it could be written a second time by the child.
    """
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")
    sys.stdout.flush()


def make_row(experiment, technique, params, status="ok", message=None, samples_s=(),
             validated=False, peak_rss_bytes=None, memory_method=None, extra=None,
             events=None, lines=None):
    """The one place rows are shaped: exactly the keys PROTOCOL.md allows."""
    row = {
        "experiment": experiment,
        "language": "python",
        "technique": technique,
        "params": dict(params, **(SESSION.interpreter or {})),
        "status": status,
        "message": message,
        "samples_s": list(samples_s),
        "validated": bool(validated),
        "peak_rss_bytes": peak_rss_bytes,
        "memory_method": memory_method if peak_rss_bytes is not None else None,
        "extra": extra if extra is not None else {},
    }
    if events:
        row["events"] = events
    if lines:
        row["lines"] = lines
    return row


def row_key(technique, params):
    """A row's identity across processes: its technique and params, as one string. A
    fresh run is told which row to run by this key (--one-run)."""
    return json.dumps([technique, params], sort_keys=True, separators=(",", ":"))


class Session:
    """How this peer process measures (peers/PROTOCOL.md, "Processes").

    process: "fresh" (each counted run of a row in a new interpreter, started with
    --one-run) or "shared" (every run in this one). one_run: the key of the row this
    process is a fresh run of, or None. command and flags: how this process was started,
    so a fresh run can be started with the same flags. current: the (technique, key) of
    the row run_row is computing. measured: what measure() found out about each row's
    runs (memory, pids, GIL notes), which run_row puts in the row. interpreter: the
    params every row carries (interpreter_params(), read once after the imports).
    """

    def __init__(self):
        self.process = "shared"
        self.one_run = None
        self.command = None
        self.flags = {}
        self.current = None
        self.measured = {}
        self.interpreter = None


SESSION = Session()

# The flags a fresh run gets from its parent rather than from the peer's own command line.
FRESH_RUN_FLAGS = ("runs", "skip-over", "technique", "peer-process", "one-run")


class OneRunDone(BaseException):
    """A fresh run has printed its report: the process ends here. A BaseException, so
    that run_row's `except Exception` does not turn it into an error row."""


class RunFailed(Exception):
    """A fresh run failed or died; its text already says which run and why."""


def run_row(experiment, technique, params, body):
    """Compute one row with body() and print it.

    body returns the row's measured fields (samples_s, validated, extra, ...). A Skip
    becomes a skipped row, any other exception an error row: one bad row must not cost
    the rows after it. The peak memory comes from measure(), which measured it per run
    (a row without runs has none); body's own figure is not used.

    In a fresh run (--one-run) only the row asked for is computed, and measure() ends
    the process inside it.
    """
    key = row_key(technique, params)
    if SESSION.one_run is not None and key != SESSION.one_run:
        return
    SESSION.current = (technique, key)
    GIL_WATCH.take()  # what an estimate's trial pool saw is no run of this row
    try:
        fields = body()
        measured = SESSION.measured.pop(key, None)
        fields["peak_rss_bytes"] = measured["peak_rss_bytes"] if measured else None
        fields["memory_method"] = measured["memory_method"] if measured else None
        extra = dict(fields.get("extra") or {})
        if measured and measured["run_pids"] is not None:
            extra["run_pids"] = measured["run_pids"]
        GIL_WATCH.seen("the peer process", gil_enabled())
        notes = merged(measured["gil_notes"] if measured else [], GIL_WATCH.take())
        if notes:
            extra["notes"] = merged(extra.get("notes") or [], notes)
        fields["extra"] = extra
        row = make_row(experiment, technique, params, **fields)
    except Skip as why:
        row = make_row(experiment, technique, params, status="skipped", message=one_line(why))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a row
        row = make_row(experiment, technique, params, status="error", message=one_line(exc))
    finally:
        SESSION.current = None
        SESSION.measured.pop(key, None)
    try:
        emit(row)
    except ValueError as exc:  # a NaN or infinity slipped into the row: JSON has none
        emit(make_row(experiment, technique, params, status="error", message=one_line(exc)))


def merged(first, more):
    """first, then what of more it lacks, in order."""
    return list(first) + [m for m in more if m not in first]


def measure(once, check, runs, warmup, own_process=False):
    """Run once() warmup times (thrown away), then runs times (counted).

    once returns a dict; its optional "elapsed_s" replaces the perf_counter time of the
    whole call, for rows whose timed span is narrower than the call (map times the pool
    call, not the pool's start-up). check(result) returns None when the result is right,
    else what is wrong; every run is checked, warm-ups included. Returns the counted
    samples and the last run's result.

    own_process: each once() already is a child process of its own that reports its
    "peak_rss_bytes" (spawn, map's memory rows), so its runs are not wrapped in fresh
    runs again and the row's memory is the children's.
    """
    samples, results = measure_all(once, check, runs, warmup, own_process)
    return samples, results[-1]


def measure_all(once, check, runs, warmup, own_process=False):
    """measure(), returning every counted run's result instead of the last one."""
    technique, key = SESSION.current
    outcome = measure_interleaved([Arm(key, technique, once, check, own_process=own_process)],
                                  runs, warmup, every_result=True)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


class Arm(namedtuple("Arm", "key technique once check in_process own_process")):
    """One row for measure_interleaved: its key and technique (for fresh runs), a run
    and its check. in_process: always run here, even when runs are fresh (count's
    in-process sequential figure); own_process: see measure()."""

    def __new__(cls, key, technique, once, check, in_process=False, own_process=False):
        return super().__new__(cls, key, technique, once, check, in_process, own_process)


Run = namedtuple("Run", "elapsed_s result peak_rss_bytes memory_method pid")


def measure_interleaved(arms, runs, warmup, every_result=False):
    """measure() for several rows at once, one run of each in turn: all warm-ups first,
    then the counted runs round by round. arms are Arm tuples; returns per arm (samples,
    last result) (or (samples, every result)) or the exception that ended it. What each
    arm's runs showed of memory and processes is left in SESSION.measured for run_row.

    With fresh runs (the default), each counted run of an arm is a new interpreter
    running this script with --one-run, which does the row's warm-ups and then the one
    counted run in that process, so no row's run inherits the state another row (or an
    earlier run) left in the interpreter; the rounds keep their order all the same.
    """
    if SESSION.one_run is not None:
        for arm in arms:
            if arm.key == SESSION.one_run:
                report_one_run(arm, warmup)
        raise RunFailed("no row %s to run here" % SESSION.one_run)
    fresh = SESSION.process == "fresh"
    samples = [[] for _ in arms]
    results = [[] for _ in arms]
    failed = [None] * len(arms)
    peaks = [None] * len(arms)
    methods = [None] * len(arms)
    pids = [[] for _ in arms]
    gil_notes = [[] for _ in arms]
    for i in range(warmup + runs):
        counted = i >= warmup
        for r, arm in enumerate(arms):
            if failed[r] is not None:
                continue
            in_fresh = fresh and not arm.in_process and not arm.own_process
            if in_fresh and not counted:
                continue  # a fresh run does its warm-ups itself
            number = i - warmup + 1 if in_fresh else i + 1
            try:
                run = fresh_run(arm, number) if in_fresh else run_here(arm)
                # Checked here too, fresh or not: some checks note what they saw.
                problem = arm.check(run.result)
                if problem:
                    raise CheckFailed("run %d: %s" % (number, problem))
            except Exception as exc:  # noqa: BLE001 - it becomes the row's error
                failed[r] = exc
                continue
            finally:
                gil_notes[r] = merged(gil_notes[r], GIL_WATCH.take())
            if run.peak_rss_bytes is not None:
                peaks[r] = max(peaks[r] or 0, run.peak_rss_bytes)
                methods[r] = methods[r] or run.memory_method
            if counted:
                samples[r].append(run.elapsed_s)
                results[r].append(run.result)
                pids[r].append(run.pid)
    outcomes = []
    for r, arm in enumerate(arms):
        SESSION.measured[arm.key] = {
            "peak_rss_bytes": peaks[r],
            "memory_method": methods[r],
            # A row whose runs are children of their own has no process of a run to name.
            "run_pids": None if arm.own_process else pids[r],
            "gil_notes": gil_notes[r],
        }
        if failed[r] is not None:
            outcomes.append(failed[r])
        else:
            outcomes.append((samples[r], results[r] if every_result else results[r][-1]))
    return outcomes


def run_here(arm):
    """One run of arm in this process, with its memory: the peak since the run began
    (VmHWM, reset just before it) plus the peaks of the children it reaped; where the
    peak cannot be reset, the process's lifetime peak, and the method says so."""
    mark = reaped_mark()
    reset = not arm.own_process and reset_peak_rss()
    started = time.perf_counter()
    result = arm.once()
    took = time.perf_counter() - started
    elapsed = result.get("elapsed_s") if isinstance(result, dict) else None
    children, _pids = reaped_since(mark)
    if arm.own_process:
        # The run is the child: its peak is the one it reported.
        peak = result.get("peak_rss_bytes") if isinstance(result, dict) else None
        method = MEMORY_PER_RUN
    else:
        own = proc_status_bytes("VmHWM") if reset else None
        method = MEMORY_PER_RUN if own is not None else MEMORY_LIFETIME
        if own is None:
            own = self_peak_bytes()
        peak = own + children if own is not None else None
    return Run(took if elapsed is None else elapsed, result, peak, method, os.getpid())


def report_one_run(arm, warmup):
    """The fresh run's side (--one-run): the row's warm-ups and one counted run here,
    then its report as the one line on stdout, and the process ends (OneRunDone).

    Its memory is this process's lifetime peak (it was started for this run) plus the
    largest sum of the children's peaks that one of its runs reaped.
    """
    report = {"one_run": arm.key, "pid": os.getpid()}
    try:
        children = 0
        for i in range(warmup + 1):
            mark = reaped_mark()
            started = time.perf_counter()
            result = arm.once()
            took = time.perf_counter() - started
            problem = arm.check(result)
            if problem:
                raise CheckFailed(("warm-up %d: " % (i + 1) if i < warmup else "") + problem)
            children = max(children, reaped_since(mark)[0])
        elapsed = result.get("elapsed_s") if isinstance(result, dict) else None
        own = self_peak_bytes()
        GIL_WATCH.seen("a fresh run's process", gil_enabled())
        report.update(elapsed_s=took if elapsed is None else elapsed, result=result,
                      peak_rss_bytes=own + children if own is not None else None,
                      memory_method=MEMORY_PER_RUN if own is not None else None,
                      gil_notes=GIL_WATCH.take())
        line = json.dumps(report, separators=(",", ":"), allow_nan=False)
    except Exception as exc:  # noqa: BLE001 - the parent makes it the row's error
        report["error"] = one_line(exc)
        line = json.dumps(report, separators=(",", ":"))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    raise OneRunDone()


def fresh_run(arm, number):
    """Counted run number of arm, in a new interpreter running this script with the
    peer's own flags and --one-run (peers/PROTOCOL.md). The child stays in this
    process's group, so parlab's kill of the group ends it too; an exception here
    (SIGTERM, Ctrl-C) kills and reaps it on the way out (subprocess.run does)."""
    argv = [sys.executable, SCRIPT, SESSION.command]
    for name, text in SESSION.flags.items():
        if name not in FRESH_RUN_FLAGS:
            argv += ["--" + name, text]
    argv += ["--technique", arm.technique, "--runs", "1", "--skip-over", "0",
             "--peer-process", "shared", "--one-run", arm.key]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    if proc.stderr:
        sys.stderr.write(proc.stderr)
        sys.stderr.flush()
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode != 0 or not lines:
        last = [l for l in proc.stderr.splitlines() if l.strip()]
        raise RunFailed("run %d: its process %s%s" % (
            number, "exited with %d" % proc.returncode if proc.returncode else "printed no report",
            (": " + last[-1].strip()) if last else ""))
    try:
        report = json.loads(lines[-1])
    except ValueError:
        raise RunFailed("run %d: its process printed %r" % (number, lines[-1][:200]))
    if "error" in report:
        raise RunFailed("run %d: %s" % (number, report["error"]))
    GIL_WATCH.notes = merged(GIL_WATCH.notes, report.get("gil_notes") or [])
    return Run(report["elapsed_s"], report["result"], report["peak_rss_bytes"],
               report["memory_method"], report["pid"])


def run_child(args):
    """Run this script again with a hidden subcommand; return its JSON report.

    Used where a row must own a whole process (memory per unit, memory of a pool call).
    The child inherits our process group, so killing the peer's group ends it too.
    """
    proc = subprocess.run(
        [sys.executable, SCRIPT] + args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    if proc.stderr:
        sys.stderr.write(proc.stderr)
        sys.stderr.flush()
    if proc.returncode != 0:
        last = [l for l in proc.stderr.splitlines() if l.strip()]
        raise RuntimeError("child %s exited with %d%s" % (
            args[0], proc.returncode, (": " + last[-1].strip()) if last else ""))
    reports = [l for l in proc.stdout.splitlines() if l.strip()]
    if not reports:
        raise RuntimeError("child %s printed no report" % args[0])
    report = json.loads(reports[-1])
    GIL_WATCH.seen("the %s process" % args[0], report.get("gil"))
    return report


# ---------------------------------------------------------------------------
# estimates (--skip-over): a row that would run for minutes says so instead
# ---------------------------------------------------------------------------

# How long a trial runs at least: long enough to swamp the clock, short enough not to
# be noticed before a row.
TRIAL_S = 0.03


def approx(seconds):
    """A duration as a person reads an estimate: 9m 40s, 25s, 2.5s, 120ms. parlab and
    the Go peer write theirs the same way, so skipped rows read alike in every language."""
    seconds = max(seconds, 0.0)
    if seconds >= 59.5:
        whole = int(round(seconds))
        if whole >= 3600:
            minutes = (whole + 30) // 60
            hours, rest = divmod(minutes, 60)
            return "%dh %dm" % (hours, rest) if rest else "%dh" % hours
        mins, rest = divmod(whole, 60)
        return "%dm %ds" % (mins, rest) if rest else "%dm" % mins
    if seconds >= 9.95:
        return "%ds" % int(round(seconds))
    if seconds >= 0.9995:
        tenths = "%.1f" % seconds
        return (tenths[:-2] if tenths.endswith(".0") else tenths) + "s"
    if seconds >= 0.0005:
        return "%dms" % int(round(seconds * 1e3))
    return "%d\u00b5s" % int(round(seconds * 1e6))


def rate_text(per_s):
    """A rate with three significant digits and an SI prefix: 41.2M."""
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")):
        if per_s >= scale or scale == 1.0:
            v = per_s / scale
            return "%.*f%s" % (0 if v >= 100 else 1 if v >= 10 else 2, v, prefix)


def too_long(opts, per_run, basis="", own_process=False):
    """Why a row whose runs take about per_run seconds each is skipped, or None when it
    fits or --skip-over is 0. Warm-up runs count: they take as long, and with fresh runs
    every counted run's process does them again (own_process: the row's runs are child
    processes anyway, and are not made fresh runs). basis says where the estimate came
    from (" at 41.2M steps/s")."""
    limit = opts["skip-over"]
    if limit <= 0 or per_run is None:
        return None
    runs = opts["warmup"] + max(opts["runs"], 1)
    if opts["peer-process"] == "fresh" and not own_process:
        runs = max(opts["runs"], 1) * (1 + opts["warmup"])
    total = per_run * runs
    if total <= limit:
        return None
    return "would take about %s (%d run%s of %s%s), over --skip-over %s" % (
        approx(total), runs, "" if runs == 1 else "s", approx(per_run), basis, approx(limit))


def trial_rate(work, units=1 << 12):
    """Units per second of work(units), doubling units until one trial takes TRIAL_S."""
    while True:
        started = time.perf_counter()
        work(units)
        took = time.perf_counter() - started
        if took >= TRIAL_S or units >= 1 << 34:
            return units / max(took, 1e-9)
        units *= 2


def scaled_trial(full, trial, work):
    """Seconds for work of full units, from a timed trial of trial units; None when the
    work is no bigger than the trial or the trial failed (the row will say why)."""
    if full <= trial:
        return None
    try:
        started = time.perf_counter()
        work(trial)
        took = time.perf_counter() - started
    except Exception:  # noqa: BLE001 - the real run reports the failure
        return None
    return took / trial * full


def usable_cpus():
    """CPUs this process may run on (its affinity), which caps what a pool can use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def lower_bound(job_times, at_once):
    """The shortest time any schedule of these jobs could take, at_once at a time on
    this machine's CPUs: shared work, and never less than the longest job."""
    if not job_times:
        return 0.0
    return max(sum(job_times) / max(min(at_once, usable_cpus()), 1), max(job_times))


def skip_row(experiment, technique, params, why):
    if SESSION.one_run is None:  # a fresh run prints its report and nothing else
        emit(make_row(experiment, technique, params, status="skipped", message=why))


# ---------------------------------------------------------------------------
# count (Figure 2): CPU-bound countdown, sequential vs ThreadPool vs Pool
# ---------------------------------------------------------------------------


def countdown(n):
    """The paper's workload: decrement until zero. Returns where the counter stopped."""
    while n > 0:
        n -= 1
    return n


def _count_chunk(n):
    """One chunk in a pool worker, with who ran it and when (wall clock: shared by
    all processes of the machine, so worker and parent times line up)."""
    start = time.time()
    final = countdown(n)
    return final, os.getpid(), threading.get_ident(), start, time.time()


def split_chunks(n, k, chunk_type):
    """int: K whole parts summing to N, the first N mod K one larger. float: the paper's
    N / K for every chunk, which makes the parallel runs count floats."""
    if chunk_type == "float":
        return [n / k] * k
    base, rest = divmod(n, k)
    return [base + (1 if i < rest else 0) for i in range(k)]


def exp_count(opts):
    """Figure 2. Threads share one GIL and so cannot beat the single loop; processes
    each have their own interpreter. Pools are created inside the timed run, as the
    paper's parallel_exec did, so their start-up cost is part of the figure.

    The rows' runs are interleaved (one run of each row in turn) rather than done row
    by row: CPython's speed on a shared machine drifts by tens of percent over seconds,
    and a drift must not pass for a difference between techniques.

    With fresh runs, the int sequential row is also run in this process, taking its
    turn with the others: CPython's loop runs at a different speed once the process has
    done other work (a thread pool, say), and the two figures show by how much. They go
    in the row's extra as in_process_samples_s.
    """
    n, k = opts["n"], opts["chunks"]
    rows = []
    for chunk_type in opts["chunk-type"]:
        for technique in opts["technique"]:
            workers = 1 if technique == "sequential" else k
            params = {"chunks": workers, "workers": workers, "chunk_type": chunk_type}
            why = technique == "interpreters" and interpreters_missing()
            why = why or count_too_long(opts, technique, chunk_type, n, k)
            row = None if why else count_row(technique, chunk_type, n, k)
            rows.append((technique, params, why, row))
    live, beside = [], None
    for technique, params, _why, row in rows:
        if row is not None:
            live.append(Arm(row_key(technique, params), technique, row[0], row[1]))
            if technique == "sequential" and params["chunk_type"] == "int":
                beside = live[-1]
    if SESSION.process != "fresh" or SESSION.one_run is not None:
        beside = None
    if beside is not None:
        live.append(Arm(beside.key + " in-process", beside.technique, beside.once,
                        beside.check, in_process=True))
    measured = measure_interleaved(live, opts["runs"], opts["warmup"])
    if beside is not None:
        in_process = measured.pop()
        SESSION.measured.pop(live[-1].key, None)
    measured = iter(measured)
    for technique, params, why, row in rows:
        if why:
            skip_row("count", technique, params, why)
            continue

        def body(outcome=next(measured), finish=row[2], key=row_key(technique, params)):
            if isinstance(outcome, Exception):
                raise outcome
            fields = finish(*outcome)
            if beside is not None and key == beside.key and not isinstance(in_process, Exception):
                fields["extra"]["in_process_samples_s"] = in_process[0]
            return fields
        run_row("count", technique, params, body)


_count_rates = {}
_pool_rates = {}


def count_too_long(opts, technique, chunk_type, n, k):
    """--skip-over for a count row: the loop's steps per second from a trial (one per
    chunk type: float steps cost more). Threads take turns under the GIL, so they count
    at one core's rate. Processes count at the rate a small run of the row itself got,
    K processes at once: on a busy machine that is well below a core's rate times the
    cores, and the difference decides whether a row near --skip-over runs."""
    if opts["skip-over"] <= 0:
        return None
    as_type = float if chunk_type == "float" else int
    if chunk_type not in _count_rates:
        _count_rates[chunk_type] = trial_rate(lambda units: countdown(as_type(units)))
    rate = _count_rates[chunk_type]
    if technique != "processes":
        return too_long(opts, n / rate, " at %s steps/s a core" % rate_text(rate))
    if chunk_type not in _pool_rates:
        units = max(int(rate * 2 * TRIAL_S * min(k, usable_cpus()) / k), 1000)
        _pool_rates[chunk_type] = pool_rate(k, as_type(units))
    start, together = _pool_rates[chunk_type]
    largest = max(split_chunks(n, k, chunk_type))
    per_run = start + max(n / together, largest / rate)
    return too_long(opts, per_run, " at %s steps/s in %d processes" % (rate_text(together), k))


def pool_rate(k, units):
    """(seconds to start Pool(k), steps per second of its k processes counting at once):
    the processes row in small, with every process counting a chunk of units."""
    started = time.perf_counter()
    with process_pool(k) as pool:
        up = time.perf_counter()
        pool.map(countdown, [units] * k, chunksize=1)
        took = time.perf_counter() - up
        # Closed and joined, as every pool here is: leaving the block would otherwise
        # terminate the workers with SIGTERM, and a worker waiting on the task queue's
        # lock (which terminate holds) could then hang, and the peer with it.
        pool.close()
        pool.join()
    return up - started, k * units / max(took, 1e-9)


def count_row(technique, chunk_type, n, k):
    """One count row as (once, check, finish): a run, its check, and the row's fields
    from the counted samples and the last run."""
    if technique == "sequential":
        start_value = float(n) if chunk_type == "float" else n

        def once():
            t0 = time.time()
            final = countdown(start_value)
            return {"finals": [final], "spans": [("main", "count %s" % start_value, t0, time.time())],
                    "t0": t0}
    else:
        chunks = split_chunks(n, k, chunk_type)
        # Lanes: a thread per worker in a thread pool and an interpreter pool.
        threads = technique != "processes"

        def once():
            t0 = time.time()
            if technique == "interpreters":
                with interpreter_pool(k) as pool:
                    results = list(pool.map(peer_module()._count_chunk, chunks))
            else:
                pool = ThreadPool(k) if threads else process_pool(k)
                with pool:
                    results = pool.map(_count_chunk, chunks)
                    pool.close()
                    pool.join()
            lanes = ordinal_lanes([((r[2] if threads else r[1]), r[3]) for r in results])
            spans = [(lanes[r[2] if threads else r[1]], "chunk %d" % (i + 1), r[3], r[4])
                     for i, r in enumerate(results)]
            return {"finals": [r[0] for r in results], "spans": spans, "t0": t0}

    def check(result):
        for final in result["finals"]:
            # An int counter stops at exactly 0; a float one at the first value <= 0,
            # which is above -1.
            if (chunk_type == "int" and final != 0) or not (-1 < final <= 0):
                return "a counter stopped at %r" % (final,)
        return None

    def finish(samples, last):
        events = []
        for lane, label, start, end in last["spans"]:
            events.append(event(start - last["t0"], lane, "start", label))
            events.append(event(end - last["t0"], lane, "end", label))
        name = "sequential_exec" if technique == "sequential" else "parallel_exec"
        return {
            "samples_s": samples,
            "validated": True,
            "peak_rss_bytes": peak_rss_bytes(children=technique == "processes"),
            "extra": {"remaining": number(sum(last["finals"]))},
            "events": events,
            "lines": ["Function '%s' executed in %ss" % (name, fmt_s(samples[-1]))],
        }

    return once, check, finish


# ---------------------------------------------------------------------------
# io (Figure 4): HTTP checks, sequential vs one thread per URL vs Pool.map
# ---------------------------------------------------------------------------

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def http_status(url, timeout):
    """GET url on a fresh connection and return its HTTP status; 0 when no answer came.

    An HTTP error status (a 503 from a site that is down) is an answer, not a failure.
    Loopback targets bypass any proxy from the environment, so parlab's own server is
    reached directly.
    """
    handlers = []
    if urllib.parse.urlsplit(url).hostname in LOOPBACK:
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"Connection": "close", "User-Agent": PROG})
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read()
            return response.getcode()
    except urllib.error.HTTPError as err:
        try:
            err.read()
            err.close()
        except Exception:  # noqa: BLE001 - the status is all we need
            pass
        return err.code
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):
        return 0


def _fetch_job(job):
    """One URL in any technique: (status, start, end) on the shared wall clock."""
    url, timeout = job
    start = time.time()
    status = http_status(url, timeout)
    return status, start, time.time()


def exp_io(opts):
    """Figure 4. Waiting on the network releases the GIL, so threads overlap the waits;
    a process pool overlaps them too but pays for starting its processes first."""
    urls = opts["urls"]
    expect = opts["expect"]
    if expect is not None and len(expect) != len(urls):
        raise UsageError("io: --expect has %d statuses for %d URLs" % (len(expect), len(urls)))
    pool_size = opts["workers"] or len(urls)
    sizes = {"sequential": 1, "threads": len(urls), "processes": pool_size}
    for technique in opts["technique"]:
        params = {"workers": sizes[technique], "sites": len(urls)}
        run_row("io", technique, params, lambda t=technique: io_row(t, urls, expect, pool_size, opts))


def io_row(technique, urls, expect, pool_size, opts):
    jobs = [(url, opts["request-timeout"]) for url in urls]

    def once():
        t0 = time.time()
        if technique == "sequential":
            results = [_fetch_job(job) for job in jobs]
        elif technique == "threads":
            results = [None] * len(jobs)

            def fetch_into(i):
                results[i] = _fetch_job(jobs[i])

            threads = [threading.Thread(target=fetch_into, args=(i,)) for i in range(len(jobs))]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        else:
            with process_pool(pool_size) as pool:
                results = pool.map(_fetch_job, jobs)
                pool.close()
                pool.join()
        return {"results": results, "t0": t0}

    all_answered = []  # per run, for rows without --expect

    def check(result):
        statuses = [r[0] for r in result["results"]]
        all_answered.append(0 not in statuses)
        if expect is not None and statuses != expect:
            return "statuses %s, expected %s" % (statuses, expect)
        return None

    samples, last = measure(once, check, opts["runs"], opts["warmup"])
    results, t0 = last["results"], last["t0"]
    statuses = [r[0] for r in results]
    names = [urllib.parse.urlsplit(u).path.rstrip("/").split("/")[-1] or u for u in urls]
    events, lines = [], []
    for i, (status, start, end) in enumerate(results):
        events.append(event(start - t0, "site-%d" % (i + 1), "start", names[i]))
        events.append(event(end - t0, "site-%d" % (i + 1), "end", names[i]))
    for i in sorted(range(len(results)), key=lambda i: results[i][2]):
        status = statuses[i]
        lines.append(("FINE: %s" if status == 200 else "DOWN<%d>: %%s" % status) % names[i])
    fname = {"sequential": "sequential_monitoring", "threads": "threaded_monitoring",
             "processes": "multiprocess_monitoring"}[technique]
    lines.append("Function '%s' executed in %ss" % (fname, fmt_s(samples[-1])))
    return {
        # Without --expect the only thing to check is that every URL answered.
        "samples_s": samples,
        "validated": True if expect is not None else all(all_answered),
        "peak_rss_bytes": peak_rss_bytes(children=technique == "processes"),
        "extra": {"statuses": statuses,
                  "fine": sum(1 for s in statuses if s == 200),
                  "down": sum(1 for s in statuses if s not in (200, 0)),
                  "failed": sum(1 for s in statuses if s == 0)},
        "events": events,
        "lines": lines,
    }


# ---------------------------------------------------------------------------
# map (Figure 5): when each Pool call hands results back
# ---------------------------------------------------------------------------

MAP_CALLS = ("map", "map_async", "imap", "imap_unordered")


def _map_task(job):
    """Sleep value units, then report who ran it and when (wall clock, shared with the
    pool's processes). Lanes: the pid in a process pool, the thread name in a thread
    pool."""
    index, value, unit, by_pid = job
    start = time.time()
    time.sleep(value * unit)
    end = time.time()
    who = str(os.getpid()) if by_pid else threading.current_thread().name.split(" ")[0]
    return index, value, who, start, end


def _square(i):
    return i * i


def exp_map(opts):
    """Figure 5: map and map_async hand results over only when every task is done;
    imap yields in input order as soon as the next one in line is done; imap_unordered
    in completion order. Then, optionally, the memory each call needs over a large lazy
    input (map turns its input into a list first)."""
    # The tasks only sleep: their sleeps on the workers say how long a call takes.
    per_run = makespan(opts["sleeps"], opts["workers"]) * opts["unit"]
    why = too_long(opts, per_run, ": %d sleeps on %d workers" % (len(opts["sleeps"]), opts["workers"]))
    for technique in opts["technique"]:
        for call in opts["calls"]:
            params = {"call": call, "workers": opts["workers"], "chunksize": 1}
            if why:
                skip_row("map", technique, params, why)
                continue
            run_row("map", technique, params, lambda t=technique, c=call: map_row(t, c, opts))
    if opts["memory"] > 0 and "pool-threads" in opts["technique"]:
        for call in opts["calls"]:
            params = {"call": call, "mode": "memory", "items": opts["memory"],
                      "workers": opts["workers"]}
            why = map_memory_too_long(call, opts)
            if why:
                skip_row("map", "pool-threads", params, why)
                continue
            run_row("map", "pool-threads", params, lambda c=call: map_memory_row(c, opts))


def makespan(sleeps, workers):
    """When the last of these tasks ends if each goes, in input order, to the first
    worker free: what a pool with chunksize 1 does."""
    free = [0.0] * max(workers, 1)
    for value in sleeps:
        i = free.index(min(free))
        free[i] += value
    return max(free)


MEMORY_TRIAL_ITEMS = 2000


def map_memory_too_long(call, opts):
    """--skip-over for a memory row: the call over a few thousand items here, scaled."""
    if opts["skip-over"] <= 0:
        return None

    def work(items):
        with ThreadPool(opts["workers"]) as pool:
            lazy = (i for i in range(items))
            if call == "map_async":
                pool.map_async(_square, lazy).get()
            else:
                sum(getattr(pool, call)(_square, lazy))
            pool.close()
            pool.join()

    per_run = scaled_trial(opts["memory"], MEMORY_TRIAL_ITEMS, work)
    return too_long(opts, per_run, " from a %d-item trial" % MEMORY_TRIAL_ITEMS, own_process=True)


def map_row(technique, call, opts):
    sleeps, unit, workers = opts["sleeps"], opts["unit"], opts["workers"]
    by_pid = technique == "pool-processes"
    jobs = [(i, v, unit, by_pid) for i, v in enumerate(sleeps)]

    def once():
        # The pool is started before the clock, so the figure is the call alone.
        pool = process_pool(workers) if by_pid else ThreadPool(workers)
        with pool:
            got = []
            returned = None
            t0 = time.time()
            if call == "map":
                for r in pool.map(_map_task, jobs, chunksize=1):
                    got.append(r + (time.time(),))
            elif call == "map_async":
                pending = pool.map_async(_map_task, jobs, chunksize=1)
                returned = time.time()
                for r in pending.get():
                    got.append(r + (time.time(),))
            else:
                for r in getattr(pool, call)(_map_task, jobs, chunksize=1):
                    got.append(r + (time.time(),))
            done = time.time()
            pool.close()
            pool.join()
        last = got[-1][5] if got else done
        return {"got": got, "t0": t0, "returned": returned, "elapsed_s": last - t0}

    def check(result):
        got = result["got"]
        if sorted(r[0] for r in got) != list(range(len(sleeps))):
            return "received tasks %s" % [r[0] for r in got]
        if any(r[1] != sleeps[r[0]] for r in got):
            return "a task returned a value that is not its input"
        if call != "imap_unordered" and [r[1] for r in got] != sleeps:
            return "%s returned %s, not the inputs in order" % (call, [r[1] for r in got])
        return None

    samples, last = measure(once, check, opts["runs"], opts["warmup"])
    got, t0 = last["got"], last["t0"]

    def units(t):
        return round((t - t0) / unit, 4)

    finished = [None] * len(sleeps)
    received = [None] * len(sleeps)
    events = []
    moments = []  # (time, rank, line): finishing sorts before receiving at equal times
    for index, value, who, start, end, recv in got:
        label = "task %d (%s units)" % (index + 1, value)
        finished[index] = units(end)
        received[index] = units(recv)
        events.append(event(start - t0, "worker-" + who, "start", label))
        events.append(event(end - t0, "worker-" + who, "end", label))
        events.append(event(recv - t0, "caller", "receive", label))
        moments.append((end, 0, "%s (Finished @%.2fu = %.3fs)" % (value, units(end), end - t0)))
        moments.append((recv, 1, "%s (Time elapsed @%.2fu = %.3fs)" % (value, units(recv), recv - t0)))
    if last["returned"] is not None:
        events.append(event(last["returned"] - t0, "caller", "return", "map_async returned"))
    events.sort(key=lambda e: e["t_s"])
    moments.sort(key=lambda m: (m[0], m[1]))
    return {
        "samples_s": samples,
        "validated": True,
        "peak_rss_bytes": peak_rss_bytes(children=by_pid),
        "extra": {"received_order": [r[1] for r in got],
                  "finished_units": finished,
                  "received_units": received,
                  "returned_units": units(last["returned"]) if last["returned"] is not None else None},
        "events": events,
        "lines": ["-----> TESTING: %s" % call] + [m[2] for m in moments],
    }


def map_memory_row(call, opts):
    """Each run in a fresh child, so one call's peak does not hide the next one's."""
    items = opts["memory"]
    args = ["_map-memory-child", "--call", call, "--items", str(items),
            "--workers", str(opts["workers"])]

    def once():
        return run_child(args)

    def check(report):
        expected = (items - 1) * items * (2 * items - 1) // 6
        if report["total"] != expected:
            return "sum of squares %d, expected %d" % (report["total"], expected)
        return None

    samples, last = measure(once, check, opts["runs"], opts["warmup"], own_process=True)
    growth = last["growth_bytes"]
    return {
        "samples_s": samples,
        "validated": True,
        "peak_rss_bytes": last["peak_rss_bytes"],
        "extra": {"baseline_rss_bytes": last["baseline_rss_bytes"],
                  "growth_bytes": growth,
                  "bytes_per_item": round(growth / items, 3) if growth is not None else None},
        "lines": ["%s over %d lazy items: +%.1f MiB at peak" % (call, items, (growth or 0) / 2**20)],
    }


def child_map_memory(opts):
    """Hidden subcommand: one pool call over a generator, measured from inside."""
    call, items = opts["call"], opts["items"]
    with ThreadPool(opts["workers"]) as pool:
        lazy = (i for i in range(items))
        reset_peak_rss()
        baseline = proc_status_bytes("VmRSS")
        started = time.perf_counter()
        if call == "map":
            total = sum(pool.map(_square, lazy))
        elif call == "map_async":
            total = sum(pool.map_async(_square, lazy).get())
        else:
            total = sum(getattr(pool, call)(_square, lazy))
        elapsed = time.perf_counter() - started
        peak = proc_status_bytes("VmHWM")
        pool.close()
        pool.join()
    if peak is None or baseline is None:  # no /proc: fall back on the lifetime peak
        peak, baseline = peak_rss_bytes(), None
    growth = max(peak - baseline, 0) if baseline is not None else None
    print(json.dumps({"elapsed_s": elapsed, "total": total, "baseline_rss_bytes": baseline,
                      "growth_bytes": growth, "peak_rss_bytes": peak, "gil": gil_enabled()}))


# ---------------------------------------------------------------------------
# spawn (§3.2): many units alive at once, time and memory per unit
# ---------------------------------------------------------------------------


# How a spawn row's growth was measured (extra.method), named alike in every language.
PEAK_MINUS_BASELINE = "peak-minus-baseline"
LIFETIME_PEAK_MINUS_BASELINE = "lifetime-peak-minus-baseline"


def exp_spawn(opts):
    """§3.2: what one more unit costs. Each run is a fresh child process so that one
    technique's memory does not sit under the next one's.

    Bytes per unit are measured as parlab and the Go peer measure them (PROTOCOL.md,
    spawn): the child resets its peak resident memory, reads VmRSS as the baseline,
    runs the units and, once they are joined, reads the peak (VmHWM); (peak - baseline)
    / N. A VmRSS snapshot while they are alive would not be the other languages'
    figure: it misses whatever was touched and given back before the read."""
    counts = {"threads": opts["threads"], "asyncio": opts["tasks"]}
    for technique in opts["technique"]:
        n = counts[technique]
        params = {"units": n, "stack": "default"}
        why = spawn_too_long(technique, n, opts)
        if why:
            skip_row("spawn", technique, params, why)
            continue
        run_row("spawn", technique, params, lambda t=technique, n=n: spawn_row(t, n, opts))


SPAWN_TRIAL_UNITS = {"threads": 200, "asyncio": 5000}


def spawn_too_long(technique, n, opts):
    """--skip-over for a spawn row: a few hundred units spawned here, scaled to n."""
    if opts["skip-over"] <= 0:
        return None
    trial = SPAWN_TRIAL_UNITS[technique]
    run = _spawn_threads if technique == "threads" else _spawn_asyncio
    # memory=False: the trial runs in the peer itself, whose peak must not be reset.
    per_run = scaled_trial(n, trial, lambda m: run(m, memory=False))
    return too_long(opts, per_run, " from %d units spawned in a trial" % trial, own_process=True)


def spawn_row(technique, n, opts):
    args = ["_spawn-child", "--technique", technique, "--units", str(n)]

    def once():
        return run_child(args)

    def check(report):
        if report["ran"] != n:
            return "%d of %d units ran" % (report["ran"], n)
        return None

    samples, last = measure(once, check, opts["runs"], opts["warmup"], own_process=True)
    growth = last["growth_bytes"]
    per_unit = round(growth / n, 1) if growth is not None else None
    method = None
    if per_unit is not None:
        method = PEAK_MINUS_BASELINE if last["peak_reset"] else LIFETIME_PEAK_MINUS_BASELINE
    kind = "threads" if technique == "threads" else "asyncio tasks"
    extra = {"spawn_s": last["spawn_s"], "alive_s": last["alive_s"], "join_s": last["join_s"],
             "spawn_ns_per_unit": round(last["spawn_s"] * 1e9 / n, 1),
             "bytes_per_unit": per_unit, "growth_bytes": growth,
             "baseline_rss_bytes": last["baseline_rss_bytes"]}
    if method is not None:
        extra["method"] = method
    return {
        "samples_s": samples,
        "validated": True,
        "peak_rss_bytes": last["peak_rss_bytes"],
        "extra": extra,
        "lines": ["%d %s alive at once: %s bytes each (%s), %.0f ns to spawn each" % (
            n, kind, "?" if per_unit is None else "%.0f" % per_unit, method or "no /proc",
            last["spawn_s"] * 1e9 / n)],
    }


def _spawn_baseline(memory):
    """The peak reset, then the baseline read: the peak starts at the baseline, so peak
    minus baseline is what the units added at their most. Returns (baseline, reset);
    (None, False) without memory, for a trial that only times the work."""
    if not memory:
        return None, False
    reset = reset_peak_rss()
    return proc_status_bytes("VmRSS"), reset


def _spawn_threads(n, memory=True):
    """n OS threads, each counting itself alive and then blocking on one Event."""
    release, all_alive = threading.Event(), threading.Event()
    lock = threading.Lock()
    state = {"alive": 0, "ran": 0}

    def unit():
        with lock:
            state["alive"] += 1
            if state["alive"] == n:
                all_alive.set()
        release.wait()
        with lock:
            state["ran"] += 1

    threads = []
    baseline, reset = _spawn_baseline(memory)
    t0 = time.perf_counter()
    try:
        for _ in range(n):
            th = threading.Thread(target=unit, daemon=True)
            th.start()
            threads.append(th)
        t_spawned = time.perf_counter()
        all_alive.wait()
        t_alive = time.perf_counter()
    finally:
        # Released even when a start failed, so the threads that did start can end.
        release.set()
        t_release = time.perf_counter()
        for th in threads:
            th.join()
    t_joined = time.perf_counter()
    # A high-water mark: read after the join, it holds the moment all were alive.
    return {"ran": state["ran"], "baseline_rss_bytes": baseline,
            "peak_after_rss_bytes": proc_status_bytes("VmHWM") if memory else None,
            "peak_reset": reset,
            "spawn_s": t_spawned - t0, "alive_s": t_alive - t0, "join_s": t_joined - t_release,
            "elapsed_s": t_joined - t0}


def _spawn_asyncio(n, memory=True):
    """n asyncio tasks, each counting itself alive and then awaiting one Event."""

    async def main():
        release, all_alive = asyncio.Event(), asyncio.Event()
        state = {"alive": 0, "ran": 0}

        async def unit():
            state["alive"] += 1
            if state["alive"] == n:
                all_alive.set()
            await release.wait()
            state["ran"] += 1

        baseline, reset = _spawn_baseline(memory)
        t0 = time.perf_counter()
        tasks = []
        for _ in range(n):
            tasks.append(asyncio.ensure_future(unit()))
        t_spawned = time.perf_counter()
        # The tasks only run once this coroutine yields to the loop.
        await all_alive.wait()
        t_alive = time.perf_counter()
        release.set()
        t_release = time.perf_counter()
        await asyncio.gather(*tasks)
        t_joined = time.perf_counter()
        return {"ran": state["ran"], "baseline_rss_bytes": baseline,
                "peak_after_rss_bytes": proc_status_bytes("VmHWM") if memory else None,
                "peak_reset": reset,
                "spawn_s": t_spawned - t0, "alive_s": t_alive - t0,
                "join_s": t_joined - t_release, "elapsed_s": t_joined - t0}

    return asyncio.run(main())


def child_spawn(opts):
    """Hidden subcommand: one spawn measurement in a process of its own."""
    report = (_spawn_threads if opts["technique"] == "threads" else _spawn_asyncio)(opts["units"])
    base, peak = report["baseline_rss_bytes"], report["peak_after_rss_bytes"]
    # The peak started at the baseline; max() only guards a kernel that refused the reset.
    report["growth_bytes"] = max(peak - base, 0) if base is not None and peak is not None else None
    report["peak_rss_bytes"] = peak_rss_bytes()
    report["gil"] = gil_enabled()
    print(json.dumps(report))


# ---------------------------------------------------------------------------
# channel (Figure 9): a bounded queue as Go's buffered channel; throughput
# ---------------------------------------------------------------------------

LETTERS = ("A", "B", "C", "D")
TRIAL_MESSAGES = 20000


def exp_channel(opts):
    if opts["throughput"]:
        channel_throughput(opts)
        return
    capacity = opts["capacity"]
    params = {"capacity": capacity, "receiver_delay": number(opts["receiver-delay"])}
    # The receiver sleeps its delay; the rest of a run is a few hand-offs.
    why = too_long(opts, opts["receiver-delay"] * opts["unit"], ": the receiver's delay")
    if why:
        skip_row("channel", "queue", params, why)
        return
    run_row("channel", "queue", params, lambda: channel_figure_row(opts))


def handoff(capacity, delay_s):
    """Figure 9 once: a sender puts A-D into queue.Queue(maxsize=capacity) while the
    receiver only starts after delay_s. Every moment is kept (perf_counter seconds)."""
    q = queue.Queue(maxsize=capacity)
    log = {"sends": [], "receives": [], "receiver_start": None, "sender_end": None}
    t0 = time.perf_counter()

    def sender():
        for letter in LETTERS:
            attempted = time.perf_counter() - t0
            try:
                q.put_nowait(letter)
                blocked = False
            except queue.Full:
                blocked = True
                q.put(letter)
            log["sends"].append((letter, attempted, time.perf_counter() - t0, blocked))
        log["sender_end"] = time.perf_counter() - t0

    def receiver():
        time.sleep(delay_s)
        log["receiver_start"] = time.perf_counter() - t0
        for _ in LETTERS:
            letter = q.get()
            log["receives"].append((letter, time.perf_counter() - t0))

    threads = [threading.Thread(target=sender), threading.Thread(target=receiver)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return log


def channel_figure_row(opts):
    capacity, unit, delay = opts["capacity"], opts["unit"], opts["receiver-delay"]
    if capacity == 0:
        raise Skip("queue.Queue(maxsize=0) is unbounded in Python, not a rendezvous "
                   "channel like Go's capacity 0; the figure needs a bounded queue")

    def once():
        return handoff(capacity, delay * unit)

    def check(log):
        sent = [s[0] for s in log["sends"]]
        got = [r[0] for r in log["receives"]]
        if sent != list(LETTERS) or got != list(LETTERS):
            return "sent %s and received %s, expected %s both" % (sent, got, list(LETTERS))
        return None

    samples, log = measure(once, check, opts["runs"], opts["warmup"])

    def units(t):
        return round(t / unit, 4)

    events, moments = [], []
    for letter, attempted, completed, blocked in log["sends"]:
        events.append(event(attempted, "sender", "send", letter))
        moments.append((attempted, 0, "%s sending ....  (@%.2fu)" % (letter, units(attempted))))
        if blocked:
            events.append(event(attempted, "sender", "blocked",
                                "%s blocked %.3fs" % (letter, completed - attempted)))
        if completed - attempted > unit / 4:  # a wait worth a line of its own
            moments.append((completed, 1, "   (%s went in after %.2f units blocked)" % (
                letter, units(completed - attempted))))
        events.append(event(completed, "sender", "sent", letter))
    events.append(event(log["sender_end"], "sender", "end", "sender finished"))
    events.append(event(log["receiver_start"], "receiver", "start", "receiver starts"))
    moments.append((log["receiver_start"], 0, "Receiver Starts @t=%s  (@%.2fu)" % (
        number(delay), units(log["receiver_start"]))))
    for letter, t in log["receives"]:
        events.append(event(t, "receiver", "receive", letter))
        moments.append((t, 2, "Receiver: %s  (@%.2fu)" % (letter, units(t))))
    events.sort(key=lambda e: e["t_s"])
    moments.sort(key=lambda m: (m[0], m[1]))
    return {
        "samples_s": samples,
        "validated": True,
        "peak_rss_bytes": peak_rss_bytes(),
        "extra": {"letters": [s[0] for s in log["sends"]],
                  "attempted_units": [units(s[1]) for s in log["sends"]],
                  "completed_units": [units(s[2]) for s in log["sends"]],
                  "blocked_units": [units(s[2] - s[1]) for s in log["sends"]],
                  "received": [r[0] for r in log["receives"]],
                  "received_units": [units(r[1]) for r in log["receives"]],
                  "receiver_start_units": units(log["receiver_start"])},
        "events": events,
        "lines": [m[2] for m in moments],
    }


def move_messages(producers, consumers, capacity, n):
    """Producers put the integers 0..n-1 between them (contiguous slices) into one
    queue; consumers count and sum what they take. A None per consumer, sent after the
    producers are done, tells the consumers to stop. Returns (received, sum)."""
    q = queue.Queue(maxsize=capacity)
    tallies = [None] * consumers

    def produce(lo, hi):
        put = q.put
        for value in range(lo, hi):
            put(value)

    def consume(slot):
        get = q.get
        count = total = 0
        while True:
            value = get()
            if value is None:
                break
            count += 1
            total += value
        tallies[slot] = (count, total)

    bounds = [n * p // producers for p in range(producers + 1)]
    takers = [threading.Thread(target=consume, args=(c,)) for c in range(consumers)]
    givers = [threading.Thread(target=produce, args=(bounds[p], bounds[p + 1]))
              for p in range(producers)]
    for th in takers + givers:
        th.start()
    for th in givers:
        th.join()
    for _ in takers:
        q.put(None)
    for th in takers:
        th.join()
    return sum(t[0] for t in tallies), sum(t[1] for t in tallies)


def channel_throughput(opts):
    """Messages per second through queue.Queue for each producers x consumers x
    capacity shape. A row whose estimate (from a short trial), warm-up included, is over
    --skip-over is reported as skipped instead of run."""
    n = opts["messages"]
    for producers, consumers, capacity in opts["shapes"]:
        params = {"mode": "throughput", "shape": "%d\u2192%d" % (producers, consumers),
                  "producers": producers, "consumers": consumers, "capacity": capacity,
                  "messages": n}
        run_row("channel", "queue", params,
                lambda p=producers, c=consumers, k=capacity: throughput_row(p, c, k, n, opts))


# A slow first trial is confirmed by one five times longer before a row is skipped: a
# queue can be bimodal (a thread caught parking on every message, then not), and parlab
# and the Go peer decide the same way.
CONFIRM_TRIALS = (TRIAL_MESSAGES, 5 * TRIAL_MESSAGES)


def throughput_too_long(opts, n, trial):
    """Why a row of n messages would run over --skip-over, or None when it fits, when n
    is no bigger than the first trial, or when --skip-over is 0. trial(m) moves m
    messages and returns the seconds it took; every trial in CONFIRM_TRIALS (none
    larger than n) must say too long, and the message gives the last one's rate."""
    if opts["skip-over"] <= 0 or n <= CONFIRM_TRIALS[0]:
        return None
    why = None
    for m in CONFIRM_TRIALS:
        m = min(m, n)
        rate = m / max(trial(m), 1e-9)
        why = too_long(opts, n / rate, " at {:,} msgs/s from a {}-message trial".format(
            int(rate), m))
        if why is None:
            return None
    return why + "; lower --messages to run it"


def throughput_row(producers, consumers, capacity, n, opts):
    if capacity == 0:
        raise Skip("queue.Queue(maxsize=0) is unbounded in Python: there is no "
                   "capacity-0 (rendezvous) queue to measure")

    def trial(m):
        started = time.perf_counter()
        move_messages(producers, consumers, capacity, m)
        return time.perf_counter() - started

    why = throughput_too_long(opts, n, trial)
    if why:
        raise Skip(why)

    def once():
        received, total = move_messages(producers, consumers, capacity, n)
        return {"received": received, "sum": total}

    def check(result):
        if result["received"] != n or result["sum"] != n * (n - 1) // 2:
            return "received %d messages summing to %d, expected %d summing to %d" % (
                result["received"], result["sum"], n, n * (n - 1) // 2)
        return None

    samples, last = measure(once, check, opts["runs"], opts["warmup"])
    mid = median(samples)
    return {
        "samples_s": samples,
        "validated": True,
        "peak_rss_bytes": peak_rss_bytes(),
        "extra": {"msgs_per_s": round(n / mid, 1) if mid else None,
                  "ns_per_msg": round(mid * 1e9 / n, 1) if mid else None,
                  "received": last["received"], "sum": last["sum"]},
    }


# ---------------------------------------------------------------------------
# pool (Figure 12): naive fib jobs through a process pool
# ---------------------------------------------------------------------------


def fib(n):
    """Naive recursion on purpose: the point is CPU work of very uneven size."""
    return n if n <= 1 else fib(n - 1) + fib(n - 2)


def fib_iter(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _fib_job(n):
    start = time.time()
    value = fib(n)
    return n, value, os.getpid(), start, time.time()


def _fib_job_in_thread(n):
    """_fib_job for workers that share a process: the thread names the worker."""
    start = time.time()
    value = fib(n)
    return n, value, threading.get_ident(), start, time.time()


def exp_pool(opts):
    """Figure 12 with processes: more workers help until the cores run out or the
    biggest job alone is the bound; the job order decides how well the work packs.

    The sequential rows (one per order) run the same jobs in the same order in one loop
    in this process: parlab measures each pool row's speedup and bound against the
    sequential row of its order. The rows' runs are interleaved (one run of each row in
    turn) unless --schedule grouped, so a drift of CPython's speed falls on the
    baseline and the rows alike."""
    rate, job_times = None, None
    if opts["skip-over"] > 0:
        rate = fib_rate()
        job_times = [fib_calls(n) / rate for n in range(1, opts["max-fib"] + 1)]
    rows = []
    for technique in opts["technique"]:
        sizes = [1] if technique == "sequential" else opts["workers"]
        missing = technique == "interpreters" and interpreters_missing()
        if missing:  # one row says why, not one per pool size
            rows.append((technique, {"workers": sizes[0], "order": opts["order"][0]}, missing, None))
            continue
        for order in opts["order"]:
            for workers in sizes:
                params = {"workers": workers, "order": order}
                why = None
                if job_times is not None:
                    # Threads under a GIL compute one at a time.
                    serial = technique == "sequential" or (technique == "threads" and gil_enabled())
                    at_once = 1 if serial else workers
                    why = too_long(opts, lower_bound(job_times, at_once),
                                   " at %s fib calls/s a core" % rate_text(rate))
                row = None if why else pool_row(technique, workers, order, opts)
                rows.append((technique, params, why, row))
    if opts["schedule"] == "grouped":
        for technique, params, why, row in rows:
            if why:
                skip_row("pool", technique, params, why)
                continue

            def body(once=row[0], check=row[1], finish=row[2]):
                return finish(*measure(once, check, opts["runs"], opts["warmup"]))
            run_row("pool", technique, params, body)
        return
    live = [Arm(row_key(technique, params), technique, row[0], row[1])
            for technique, params, _why, row in rows if row is not None]
    measured = iter(measure_interleaved(live, opts["runs"], opts["warmup"]))
    for technique, params, why, row in rows:
        if why:
            skip_row("pool", technique, params, why)
            continue

        def body(outcome=next(measured), finish=row[2]):
            if isinstance(outcome, Exception):
                raise outcome
            return finish(*outcome)
        run_row("pool", technique, params, body)


def fib_calls(n):
    """Calls the naive fib makes for fib(n)."""
    return 2 * fib_iter(n + 1) - 1


def fib_rate():
    """Calls per second of the naive fib, from fib(k) for k rising until one takes TRIAL_S."""
    k = 12
    while True:
        started = time.perf_counter()
        fib(k)
        took = time.perf_counter() - started
        if took >= TRIAL_S or k >= 40:
            return fib_calls(k) / max(took, 1e-9)
        k += 1


def pool_row(technique, workers, order, opts):
    """One pool row as (once, check, finish): a run, its check, and the row's fields from
    the counted samples and the last run. sequential calls the pool's own job function
    in a loop here; processes hands the jobs to multiprocessing.Pool(workers), created
    inside the timed run; threads to a ThreadPool(workers), and interpreters to an
    InterpreterPoolExecutor(workers) (Python 3.14 or later), both in the same place.
    """
    m = opts["max-fib"]
    jobs = list(range(1, m + 1))
    if order == "largest-first":
        jobs.reverse()
    expected = {n: fib_iter(n) for n in jobs}
    sequential = technique == "sequential"
    # Each run's job times, warm-ups first: the sequential row reports each job's
    # median over its counted runs.
    job_runs = []

    def once():
        t0 = time.time()
        if sequential:
            results = [_fib_job(n) for n in jobs]
            job_runs.append({r[0]: r[4] - r[3] for r in results})
        elif technique == "interpreters":
            job = peer_module()._fib_job_in_thread
            with interpreter_pool(workers) as pool:
                pending = [pool.submit(job, n) for n in jobs]
                results = [f.result() for f in concurrent.futures.as_completed(pending)]
        else:
            threads = technique == "threads"
            with (ThreadPool(workers) if threads else process_pool(workers)) as pool:
                job = _fib_job_in_thread if threads else _fib_job
                results = list(pool.imap_unordered(job, jobs, chunksize=1))
                pool.close()
                pool.join()
        return {"results": results, "t0": t0}

    def check(result):
        seen = {}
        for n, value, _pid, _start, _end in result["results"]:
            if expected.get(n) != value:
                return "fib(%d) = %r, expected %r" % (n, value, expected.get(n))
            seen[n] = value
        if len(seen) != len(jobs) or len(result["results"]) != len(jobs):
            return "%d results for %d jobs" % (len(result["results"]), len(jobs))
        return None

    def finish(samples, last):
        results, t0 = last["results"], last["t0"]
        lanes = {} if sequential else ordinal_lanes([(r[2], r[3]) for r in results])
        events = []
        for n, _value, pid, start, end in sorted(results, key=lambda r: r[3]):
            lane = lanes.get(pid, "main")
            events.append(event(start - t0, lane, "start", "fib(%d)" % n))
            events.append(event(end - t0, lane, "end", "fib(%d)" % n))
        extra = {"fib_sum": sum(r[1] for r in results)}
        if sequential:
            counted = job_runs[-len(samples):]
            if len(counted) < len(samples):
                # Fresh runs ran in other processes: the last run's own job times are
                # what came back.
                counted = [{r[0]: r[4] - r[3] for r in results}]
            extra["job_times_s"] = [median([run[n] for run in counted]) for n in range(1, m + 1)]
        suffix = "" if order == "ascending" else " (%s)" % order
        return {
            "samples_s": samples,
            "validated": True,
            "peak_rss_bytes": peak_rss_bytes(children=not sequential),
            "extra": extra,
            "events": events,
            "lines": ["Total time taken<%d>: %d msec%s" % (workers, round(samples[-1] * 1000), suffix)],
        }

    return once, check, finish


# ---------------------------------------------------------------------------
# gil (§2.2-2.3): facts about threads and the GIL; unlocked increments
# ---------------------------------------------------------------------------

_racy_counter = 0


def os_task_count():
    """Threads the kernel schedules for this process, or None off Linux."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def exp_gil(opts):
    for technique in opts["technique"]:
        if technique == "facts":
            run_row("gil", "facts", {}, gil_facts_row)
        else:
            params = {"threads": opts["threads"], "ops": opts["ops"]}
            why = racy_too_long(opts)
            if why:
                skip_row("gil", "racy-threads", params, why)
                continue
            run_row("gil", "racy-threads", params, lambda: racy_row(opts))


RACY_TRIAL_OPS = 20000


def racy_too_long(opts):
    """--skip-over for the racy row: every thread's increments, a few thousand each in a
    trial, scaled."""
    if opts["skip-over"] <= 0:
        return None

    def work(ops):
        barrier = threading.Barrier(opts["threads"])
        threads = [threading.Thread(target=_racy_add, args=(ops, barrier))
                   for _ in range(opts["threads"])]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    per_run = scaled_trial(opts["ops"], RACY_TRIAL_OPS, work)
    return too_long(opts, per_run, " from %d increments a thread" % RACY_TRIAL_OPS)


def gil_facts_row():
    """Python threads are kernel threads (each appears under /proc/self/task), and the
    interpreter asks the running one to drop the GIL after a switch interval of time,
    not after a count of bytecodes."""
    started = 4
    release = threading.Event()
    before = os_task_count()
    threads = [threading.Thread(target=release.wait, daemon=True) for _ in range(started)]
    try:
        for th in threads:
            th.start()
        during = os_task_count()
    finally:
        release.set()
        for th in threads:
            if th.ident is not None:
                th.join()
    probe = getattr(sys, "_is_gil_enabled", None)
    gil_enabled = bool(probe()) if probe is not None else None
    are_tasks = (during - before >= started) if before is not None and during is not None else None
    interval = sys.getswitchinterval()
    return {
        "samples_s": [],
        "validated": True,
        "peak_rss_bytes": peak_rss_bytes(),
        "extra": {"version": platform.python_version(),
                  "implementation": platform.python_implementation(),
                  "switch_interval_s": interval,
                  "threads_started": started,
                  "os_tasks_before": before,
                  "os_tasks_during": during,
                  "threads_are_os_tasks": are_tasks,
                  "gil_enabled": gil_enabled},
        "lines": ["%s %s: switch interval %g ms; %d threads started, OS tasks %s -> %s" % (
            platform.python_implementation(), platform.python_version(), interval * 1000,
            started, before, during)],
    }


def _racy_add(times, barrier):
    """counter += 1 is a read, an add and a write: a thread switch in between loses
    the other thread's update, which is what refcounts would suffer without the GIL."""
    global _racy_counter
    barrier.wait()
    for _ in range(times):
        _racy_counter += 1


def _share_refs(obj, times, barrier):
    """Take two references to obj and drop them, times over: reference-count updates on
    one object from every thread at once."""
    barrier.wait()
    for _ in range(times):
        held = [obj, obj]
    del held


# Reference takes per thread in the refcount check: enough for the threads to overlap
# for many switch intervals, small beside the racy row itself.
REFCOUNT_TIMES = 200000


def refcount_check(threads, times=REFCOUNT_TIMES):
    """The interpreter's own safety beside user code's: threads hammer one object's
    reference count, then the count must be what it was. With the GIL only one thread
    touches it at a time; the free-threaded build keeps it exact by design instead
    (biased reference counting, PEP 703: the owning thread's field plain, the others'
    atomic). A wrong count here would be an interpreter bug, never a lost update the
    program could cause: those are counter += 1's alone. Returns (before, after)."""
    shared = object()
    before = sys.getrefcount(shared)
    barrier = threading.Barrier(threads)
    pool = [threading.Thread(target=_share_refs, args=(shared, times, barrier))
            for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    del pool
    return before, sys.getrefcount(shared)


def racy_row(opts):
    t, ops = opts["threads"], opts["ops"]

    def once():
        global _racy_counter
        _racy_counter = 0
        barrier = threading.Barrier(t)
        threads = [threading.Thread(target=_racy_add, args=(ops, barrier)) for _ in range(t)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return {"final": _racy_counter}

    def check(result):
        final = result["final"]
        if not 0 < final <= t * ops:
            return "counter ended at %d, outside 1..%d" % (final, t * ops)
        return None

    # Every counted run's result, from whichever process ran it.
    samples, results = measure_all(once, check, opts["runs"], opts["warmup"])
    last = results[-1]
    expected = t * ops
    before, after = refcount_check(t)
    return {
        "samples_s": samples,
        "validated": True,  # a lost update is the finding, not a failure
        "peak_rss_bytes": peak_rss_bytes(),
        "extra": {"expected": expected, "final": last["final"],
                  "lost_updates": expected - last["final"],
                  "lost_updates_per_run": [expected - r["final"] for r in results],
                  "refcount_threads": t, "refcount_takes": 2 * REFCOUNT_TIMES * t,
                  "refcount_before": before, "refcount_after": after,
                  "refcount_intact": before == after},
        "lines": ["%d threads x %d unlocked increments: %d of %d counted, %d lost" % (
            t, ops, last["final"], expected, expected - last["final"]),
            "%d threads taking %d references to one object: its count %d before, %d after" % (
                t, 2 * REFCOUNT_TIMES * t, before, after)],
    }


# ---------------------------------------------------------------------------
# pingpong (beyond the paper): one message bounced between two endpoints
# ---------------------------------------------------------------------------


def pingpong_rounds(round_trips, size):
    """parlab's rule: messages over 256 KiB do fewer round trips, in proportion, but at
    least 20."""
    large = 256 << 10
    if size <= large:
        return round_trips
    return min(round_trips, max(20, round_trips * large // size))


class PingpongMessage:
    """One size's bytes as parlab builds them (peers/PROTOCOL.md): the round number in
    the first 8 bytes (little endian), then a pattern where byte i is (i*131+7) mod 256,
    whose CRC-32 is known in advance."""

    def __init__(self, size):
        import zlib
        self.crc32 = zlib.crc32
        self.bytes = bytearray((i * 131 + 7) & 0xFF for i in range(size))
        self.tail_crc = zlib.crc32(memoryview(self.bytes)[8:])

    def stamp(self, round_no):
        self.bytes[:8] = round_no.to_bytes(8, "little")
        return self.bytes

    def check(self, got, round_no):
        """None when got is this message of round round_no, else what is wrong."""
        if len(got) != len(self.bytes):
            return "a message of %d bytes arrived as %d bytes" % (len(self.bytes), len(got))
        stamp = int.from_bytes(got[:8], "little")
        if stamp != round_no:
            return "round %d's message carried round %d" % (round_no, stamp)
        crc = self.crc32(memoryview(got)[8:])
        if crc != self.tail_crc:
            return "round %d's message of %d bytes is corrupt (CRC-32 %08x, expected %08x)" % (
                round_no, len(got), crc, self.tail_crc)
        return None


def _pipe_echo(conn, size, rounds):
    msg = PingpongMessage(size)
    conn.send_bytes(b"R")
    for round_no in range(rounds):
        got = conn.recv_bytes()
        problem = msg.check(got, round_no)
        if problem:
            sys.stderr.write("echo process: %s\n" % problem)
            os._exit(1)
        conn.send_bytes(got)
    conn.close()


def pipe_bounce(size, rounds):
    """Round trips with a child process over multiprocessing.Pipe; the seconds of one,
    timed by this side once the child said it is ready."""
    msg = PingpongMessage(size)
    here, there = mp_context().Pipe()
    child = mp_context().Process(target=_pipe_echo, args=(there, size, rounds))
    child.start()
    try:
        here.recv_bytes()
        started = time.perf_counter()
        for round_no in range(rounds):
            here.send_bytes(msg.stamp(round_no))
            problem = msg.check(here.recv_bytes(), round_no)
            if problem:
                raise CheckFailed(problem)
        took = time.perf_counter() - started
    finally:
        child.join(5)
        if child.exitcode is None:
            child.kill()
            child.join()
    if child.exitcode != 0:
        raise RuntimeError("the echo process exited with %s" % child.exitcode)
    return took / rounds


def pingpong_extra(samples, size, copies):
    mid = median(samples)
    return {"round_trip_us": mid * 1e6, "gb_per_s": 2 * size / mid / 1e9, "copies": copies}


def mpi4py_missing():
    """Why the mpi4py row cannot run here, or None."""
    try:
        import mpi4py  # noqa: F401 - only whether it imports
    except ImportError:
        return ("mpi4py is not installed: apt-get install libopenmpi-dev openmpi-bin, "
                "then pip install mpi4py")
    if not shutil_which("mpirun"):
        return "mpirun not found on PATH: apt-get install openmpi-bin"
    return None


def shutil_which(name):
    import shutil
    return shutil.which(name)


def mpi4py_samples(opts):
    """Every size's samples from one mpirun launch of two mpi4py ranks (one launch for
    all runs, as parlab's mpi row). Shared memory only, as parlab's local launches."""
    argv = ["mpirun", "-np", "2", "--mca", "pml", "ob1", "--mca", "btl", "self,vader",
            "--bind-to", "none"]
    if usable_cpus() < 2:
        argv.append("--oversubscribe")
    argv += [sys.executable, SCRIPT, "_mpi-pingpong-rank",
             "--sizes", ",".join(str(s) for s in opts["sizes"]),
             "--round-trips", str(opts["round-trips"]),
             "--runs", str(opts["runs"]), "--warmup", str(opts["warmup"])]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode != 0 or not lines:
        last = [l.strip() for l in proc.stderr.splitlines() if l.strip() and not l.startswith("--")]
        raise RuntimeError("mpirun exited with %d: %s" % (
            proc.returncode, " ".join(last[-3:]) or "no output"))
    return {int(k): v for k, v in json.loads(lines[-1]).items()}


def child_mpi_pingpong_rank(opts):
    """One mpi4py rank: rank 0 times each size's round trips (after a barrier), rank 1
    echoes; both check every message. Rank 0 prints {size: [seconds a round trip, ...]}."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank, peer = comm.Get_rank(), 1 - comm.Get_rank()
    out = {}
    for size in opts["sizes"]:
        rounds = pingpong_rounds(opts["round-trips"], size)
        msg = PingpongMessage(size)
        back = bytearray(size)
        samples = []
        for run in range(opts["warmup"] + opts["runs"]):
            comm.Barrier()
            status = MPI.Status()
            if rank == 1:
                for round_no in range(rounds):
                    comm.Recv([back, MPI.BYTE], source=0, tag=6, status=status)
                    problem = msg.check(back[:status.Get_count(MPI.BYTE)], round_no)
                    if problem:
                        sys.stderr.write("rank 1: %s\n" % problem)
                        comm.Abort(1)
                    comm.Send([back, MPI.BYTE], dest=0, tag=6)
                continue
            started = time.perf_counter()
            for round_no in range(rounds):
                comm.Send([msg.stamp(round_no), MPI.BYTE], dest=peer, tag=6)
                comm.Recv([back, MPI.BYTE], source=peer, tag=6, status=status)
                problem = msg.check(back[:status.Get_count(MPI.BYTE)], round_no)
                if problem:
                    sys.stderr.write("rank 0: %s\n" % problem)
                    comm.Abort(1)
            took = time.perf_counter() - started
            if run >= opts["warmup"]:
                samples.append(took / rounds)
        out[size] = samples
    if rank == 0:
        emit(out)


def exp_pingpong(opts):
    """Round trips of one message per size: pipe (two processes over
    multiprocessing.Pipe, interleaved with nothing else, fresh runs aside) and mpi4py
    (two MPI ranks, one mpirun launch for every size and run)."""
    sizes = opts["sizes"]
    if "pipe" in opts["technique"]:
        for size in sizes:
            rounds = pingpong_rounds(opts["round-trips"], size)
            params = {"size_bytes": size, "round_trips": rounds}

            def body(size=size, rounds=rounds):
                samples, _ = measure(lambda: {"elapsed_s": pipe_bounce(size, rounds)},
                                     lambda _r: None, opts["runs"], opts["warmup"])
                return {"samples_s": samples, "validated": True,
                        "extra": pingpong_extra(samples, size, True)}
            run_row("pingpong", "pipe", params, body)
    if "mpi4py" in opts["technique"]:
        why = mpi4py_missing()
        measured, failure = {}, None
        if why is None and SESSION.one_run is None:
            try:
                measured = mpi4py_samples(opts)
            except Exception as exc:  # noqa: BLE001 - every row says so
                failure = exc
        for size in sizes:
            rounds = pingpong_rounds(opts["round-trips"], size)
            params = {"size_bytes": size, "round_trips": rounds}
            if why:
                skip_row("pingpong", "mpi4py", params, why)
                continue

            def body(size=size):
                if failure is not None:
                    raise failure
                samples = measured[size]
                return {"samples_s": samples, "validated": True,
                        "extra": pingpong_extra(samples, size, True)}
            run_row("pingpong", "mpi4py", params, body)


# ---------------------------------------------------------------------------
# advise: the user's own shape of work (parlab advise)
# ---------------------------------------------------------------------------

ADVISE_TECHNIQUES = ("sequential", "threads", "pool-threads", "processes", "asyncio")
# Techniques run at each --workers count; the others run one unit per task.
ADVISE_SWEPT = ("pool-threads", "processes")
MASK64 = (1 << 64) - 1


def filler(seed, size):
    """size bytes of printable text that depend on seed: the seed mixed and written as
    16 hex digits, repeated. parlab and the Go peer build theirs the same way."""
    unit = b"%016x" % ((seed * 0x9E3779B97F4A7C15) & MASK64)
    return (unit * (size // 16 + 1))[:size]


def steps_per_cpu_s():
    """Steps of countdown per second of this thread's CPU time (not wall time: on a busy
    machine the loop shares its core, and a wall-clock rate would burn too little)."""
    n = 1 << 12
    while True:
        started = time.thread_time()
        countdown(n)
        took = time.thread_time() - started
        if took >= 0.05 or n >= 1 << 34:
            return n / max(took, 1e-9)
        n *= 2


def _advise_compute(task):
    """The CPU share of a task on the calling thread: digest the payload, burn the
    steps, build the result; with the thread's CPU time it took."""
    index, steps, payload, result_bytes, _wait, _url = task
    started = time.thread_time()
    checksum = zlib.crc32(payload)
    done = steps - countdown(steps)
    result = filler(checksum ^ index, result_bytes)
    return [checksum, done, time.thread_time() - started, None, result]


def _advise_task(task):
    """One task in any thread or pool worker: the CPU share, then the wait (a sleep or
    a GET to parlab's server)."""
    out = _advise_compute(task)
    wait, url = task[4], task[5]
    if url:
        out[3] = http_status(url, wait * 10 + 10)
    elif wait > 0:
        time.sleep(wait)
    return out


async def _advise_async(task):
    """One task as a coroutine: the CPU share holds the event loop, the wait yields it."""
    out = _advise_compute(task)
    wait, url = task[4], task[5]
    if url:
        out[3] = await http_status_async(url, wait * 10 + 10)
    elif wait > 0:
        await asyncio.sleep(wait)
    return out


async def http_status_async(url, timeout):
    """GET url over asyncio's own streams (the standard library has no async HTTP
    client) on a fresh connection; its status, or 0 when no answer came."""
    parts = urllib.parse.urlsplit(url)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port or 80), timeout)
        try:
            writer.write(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n"
                          % (parts.path or "/", parts.netloc, PROG)).encode("ascii"))
            await writer.drain()
            reply = await asyncio.wait_for(reader.read(), timeout)
        finally:
            writer.close()
        return int(reply.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError, asyncio.TimeoutError):
        return 0


def exp_advise(opts):
    """parlab advise: the same synthetic tasks through every technique. Threads share
    one GIL for the CPU share and overlap the waits; processes pickle each payload and
    result across; asyncio overlaps the waits on one thread."""
    if opts["wait-kind"] == "http" and not opts["url"]:
        raise UsageError("advise: --wait-kind http needs --url")
    if opts["steps"] is None:
        # Calibrated once here; fresh runs get the same steps (and rate) as flags.
        rate = steps_per_cpu_s()
        opts["steps"] = int(round(opts["cpu"] * rate))
        opts["steps-per-s"] = rate
        SESSION.flags["steps"] = str(opts["steps"])
        SESSION.flags["steps-per-s"] = repr(rate)
    n = opts["tasks"]
    url = opts["url"] if opts["wait-kind"] == "http" else None
    tasks = [(i, opts["steps"], filler(i, opts["payload"]), opts["result"], opts["wait"], url)
             for i in range(n)]
    rows = []
    for technique in opts["technique"]:
        if technique in ADVISE_SWEPT:
            sizes = [w for w in opts["workers"] if w <= n]
        else:
            sizes = [1 if technique == "sequential" else n]
        for workers in sizes:
            rows.append((technique, {"workers": workers}))
    check = advise_check(tasks)

    def arm(technique, workers):
        run = advise_run(technique, workers, tasks)

        def once():
            # Timed here, so the check (which compares whole results) stays outside the
            # time, and only a small summary goes back from a fresh run.
            started = time.perf_counter()
            results = run()
            elapsed = time.perf_counter() - started
            return {"elapsed_s": elapsed, "problem": check(results),
                    "cpu_s": [r[2] for r in results]}
        return Arm(row_key(technique, {"workers": workers}), technique, once,
                   lambda result: result["problem"])

    arms = [arm(t, p["workers"]) for t, p in rows]
    measured = iter(measure_interleaved(arms, opts["runs"], opts["warmup"]))
    for technique, params in rows:
        def body(outcome=next(measured)):
            if isinstance(outcome, Exception):
                raise outcome
            samples, last = outcome
            cpu = last["cpu_s"]
            return {"samples_s": samples, "validated": True,
                    "extra": {"cpu_per_task_s": sum(cpu) / len(cpu), "cpu_total_s": sum(cpu),
                              "steps_per_s": opts["steps-per-s"]}}
        run_row("advise", technique, params, body)


def advise_run(technique, workers, tasks):
    """One run of the tasks with technique: results in task order. Pools are made
    inside the run, as parlab's worker processes start inside theirs; chunksize 1
    hands one task at a time, as parlab's workers take them."""
    def once():
        if technique == "sequential":
            return [_advise_task(t) for t in tasks]
        if technique == "threads":
            results = [None] * len(tasks)

            def one(i):
                results[i] = _advise_task(tasks[i])
            threads = [threading.Thread(target=one, args=(i,)) for i in range(len(tasks))]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            return results
        if technique == "asyncio":
            async def main():
                return await asyncio.gather(*(_advise_async(t) for t in tasks))
            return list(asyncio.run(main()))
        pool = ThreadPool(workers) if technique == "pool-threads" else mp_context().Pool(workers)
        with pool:
            results = pool.map(_advise_task, tasks, chunksize=1)
            pool.close()
            pool.join()
        return results
    return once


def advise_check(tasks):
    """Every task's answer: the payload's checksum, every step, the right result, and
    a 200 from the server for an HTTP wait."""
    def check(results):
        if len(results) != len(tasks):
            return "%d answers for %d tasks" % (len(results), len(tasks))
        for task, (checksum, steps, _cpu, status, result) in zip(tasks, results):
            index, want_steps, payload, result_bytes, _wait, url = task
            want = zlib.crc32(payload)
            if checksum != want:
                return "task %d read a payload with checksum %08x, expected %08x" % (index, checksum, want)
            if steps != want_steps:
                return "task %d counted %d steps of %d" % (index, steps, want_steps)
            if result != filler(want ^ index, result_bytes):
                return "task %d gave a wrong result of %d bytes" % (index, len(result))
            if url and status != 200:
                return "task %d's request got %s" % (index, status or "no answer")
        return None
    return check


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def integer(lo, hi=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise ValueError("%r is not a whole number" % text)
        if value < lo or (hi is not None and value > hi):
            raise ValueError("%d is out of range (%d..%s)" % (value, lo, hi if hi is not None else ""))
        return value
    return parse


def seconds(allow_zero=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise ValueError("%r is not a number of seconds" % text)
        if math.isnan(value) or math.isinf(value) or value < 0 or (value == 0 and not allow_zero):
            raise ValueError("%r must be %s" % (text, "0 or more" if allow_zero else "above 0"))
        return value
    return parse


def listed(item, allow_repeats=True):
    def parse(text):
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            raise ValueError("%r is not a comma-separated list" % text)
        values = [item(p) for p in parts]
        if not allow_repeats and len(set(values)) != len(values):
            raise ValueError("%r names something twice" % text)
        return values
    return parse


def one_of(*allowed):
    def parse(text):
        if text not in allowed:
            raise ValueError("%r is not one of %s" % (text, ", ".join(allowed)))
        return text
    return parse


def boolean(text):
    if text not in ("0", "1"):
        raise ValueError("%r is not 0 or 1" % text)
    return text == "1"


def url(text):
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("%r is not an http(s) URL" % text)
    return text


def sleep_value(text):
    return number(seconds(allow_zero=True)(text))


def shape(text):
    pieces = text.lower().split("x")
    if len(pieces) != 3:
        raise ValueError("%r is not PRODUCERSxCONSUMERSxCAPACITY" % text)
    return (integer(1, 1000)(pieces[0]), integer(1, 1000)(pieces[1]), integer(0)(pieces[2]))


Experiment = namedtuple("Experiment", "run techniques flags runs warmup")

# flag -> (parser, default); a default of REQUIRED must be given.
REQUIRED = object()

EXPERIMENTS = {
    "count": Experiment(exp_count, ("sequential", "threads", "processes", "interpreters"), {
        "n": (integer(1), 50000000),
        "chunks": (integer(1, 4096), 5),
        "chunk-type": (listed(one_of("int", "float"), False), ["int", "float"]),
    }, 3, 1),
    "io": Experiment(exp_io, ("sequential", "threads", "processes"), {
        "urls": (listed(url), REQUIRED),
        "expect": (listed(integer(0, 999)), None),
        "request-timeout": (seconds(), 10.0),
        "workers": (integer(1, 1024), None),
    }, 3, 1),
    "map": Experiment(exp_map, ("pool-threads", "pool-processes"), {
        "sleeps": (listed(sleep_value), [1, 5, 3]),
        "unit": (seconds(), 0.1),
        "workers": (integer(1, 1024), 3),
        "calls": (listed(one_of(*MAP_CALLS), False), list(MAP_CALLS)),
        "memory": (integer(0), 0),
    }, 1, 0),
    "spawn": Experiment(exp_spawn, ("threads", "asyncio"), {
        "tasks": (integer(1, 10000000), 100000),
        "threads": (integer(1, 1000000), 1000),
    }, 1, 0),
    "channel": Experiment(exp_channel, ("queue",), {
        "capacity": (integer(0), 1),
        "receiver-delay": (seconds(allow_zero=True), 5.0),
        "unit": (seconds(), 0.1),
        "throughput": (boolean, False),
        "messages": (integer(1), 100000),
        "shapes": (listed(shape), [(1, 1, 0), (1, 1, 1), (1, 1, 1024), (2, 2, 1024)]),
    }, 1, 0),
    "pool": Experiment(exp_pool, ("sequential", "threads", "processes", "interpreters"), {
        "max-fib": (integer(1, 60), 30),
        "workers": (listed(integer(1, 1024)), [1, 2, 3, 4, 8]),
        "order": (listed(one_of("ascending", "largest-first"), False), ["ascending", "largest-first"]),
        "schedule": (one_of("interleaved", "grouped"), "interleaved"),
    }, 3, 1),
    "advise": Experiment(exp_advise, ADVISE_TECHNIQUES, {
        "cpu": (seconds(allow_zero=True), REQUIRED),
        "wait": (seconds(allow_zero=True), REQUIRED),
        "tasks": (integer(1, 1000000), REQUIRED),
        "payload": (integer(0), 0),
        "result": (integer(0), 0),
        "workers": (listed(integer(1, 1024)), [1, 2, 4]),
        "wait-kind": (one_of("sleep", "http"), "sleep"),
        "url": (url, None),
        # Set by the first process for its fresh runs: the calibration is done once.
        "steps": (integer(0), None),
        "steps-per-s": (seconds(), None),
    }, 3, 1),
    "gil": Experiment(exp_gil, ("facts", "racy-threads"), {
        "ops": (integer(1), 1000000),
        "threads": (integer(1, 1024), 4),
    }, 1, 0),
    "pingpong": Experiment(exp_pingpong, ("pipe", "mpi4py"), {
        "sizes": (listed(integer(8, 1 << 30)), [8, 64, 512, 4096, 32768, 262144, 1048576]),
        "round-trips": (integer(1, 10000000), 1000),
    }, 6, 1),
}

# Hidden subcommands: the children that spawn and map's memory rows start.
CHILDREN = {
    "_spawn-child": (child_spawn, {
        "technique": (one_of("threads", "asyncio"), REQUIRED),
        "units": (integer(1), REQUIRED),
    }),
    "_map-memory-child": (child_map_memory, {
        "call": (one_of(*MAP_CALLS), REQUIRED),
        "items": (integer(1), REQUIRED),
        "workers": (integer(1, 1024), REQUIRED),
    }),
    "_mpi-pingpong-rank": (child_mpi_pingpong_rank, {
        "sizes": (listed(integer(8, 1 << 30)), REQUIRED),
        "round-trips": (integer(1), REQUIRED),
        "runs": (integer(1), REQUIRED),
        "warmup": (integer(0), REQUIRED),
    }),
}


def parse_flags(command, argv, flags, raw=None):
    """--flag value (or --flag=value) pairs into a dict, defaults filled in. raw, when
    given, gets each flag's text as given (a fresh run is started with them)."""
    given = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise UsageError("%s: unexpected argument %r (flags are --name value)" % (command, arg))
        name, eq, value = arg[2:].partition("=")
        if name not in flags:
            raise UsageError("%s: unknown flag --%s (known: %s)" % (
                command, name, ", ".join("--" + f for f in sorted(flags))))
        if not eq:
            if i + 1 >= len(argv):
                raise UsageError("%s: --%s needs a value" % (command, name))
            value = argv[i + 1]
            i += 1
        i += 1
        if name in given:
            raise UsageError("%s: --%s given twice" % (command, name))
        if raw is not None:
            raw[name] = value
        try:
            given[name] = flags[name][0](value)
        except ValueError as err:
            raise UsageError("%s: --%s: %s" % (command, name, err))
    opts = {}
    for name, (_parser, default) in flags.items():
        if name in given:
            opts[name] = given[name]
        elif default is REQUIRED:
            raise UsageError("%s: --%s is required" % (command, name))
        else:
            opts[name] = default
    return opts


MAIN_PID = os.getpid()


def on_sigterm(_signum, _frame):
    """SIGTERM to the peer alone (not its group) unwinds it like an exception, so the
    with-blocks terminate their pools and no worker is left behind. A forked pool
    worker inherits this handler; there it just ends the process."""
    if os.getpid() != MAIN_PID:
        os._exit(143)
    raise SystemExit(143)


def main(argv):
    if not argv:
        raise UsageError("usage: parlab_peer.py version | EXPERIMENT [--flag value]... "
                         "(experiments: %s)" % ", ".join(EXPERIMENTS))
    command, rest = argv[0], argv[1:]
    if command == "version":
        if rest:
            raise UsageError("version takes no flags")
        emit({"language": "python", "version": platform.python_version(),
              "implementation": platform.python_implementation(),
              "build": build_kind(), "gil": gil_enabled(), "gil_asked": gil_asked()})
        return 0
    if command in CHILDREN:
        run, flags = CHILDREN[command]
        run(parse_flags(command, rest, flags))
        return 0
    if command not in EXPERIMENTS:
        raise UsageError("unknown experiment %r (experiments: %s)" % (command, ", ".join(EXPERIMENTS)))
    spec = EXPERIMENTS[command]
    flags = dict(spec.flags)
    flags["runs"] = (integer(1, 100000), spec.runs)
    flags["warmup"] = (integer(0, 100000), spec.warmup)
    flags["skip-over"] = (seconds(allow_zero=True), 60.0)
    flags["technique"] = (listed(one_of(*spec.techniques), False), list(spec.techniques))
    flags["peer-process"] = (one_of("fresh", "shared"), "fresh")
    flags["one-run"] = (str, None)
    opts = parse_flags(command, rest, flags, SESSION.flags)
    # Rows come in the peer's own technique order, whatever order the flag used.
    opts["technique"] = [t for t in spec.techniques if t in opts["technique"]]
    SESSION.command = command
    SESSION.interpreter = interpreter_params()
    SESSION.one_run = opts["one-run"]
    SESSION.process = "shared" if SESSION.one_run is not None else opts["peer-process"]
    record_reaped_children()
    try:
        spec.run(opts)
    except OneRunDone:
        pass
    return 0


if __name__ == "__main__":
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as err:
        sys.stderr.write("%s: %s\n" % (PROG, err))
        sys.exit(2)
    except BrokenPipeError:
        # The reader went away: nothing more can be said on stdout.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
