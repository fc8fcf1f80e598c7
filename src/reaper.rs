//! Every child process parlab starts is registered here, so that an interrupt
//! (Ctrl-C, SIGTERM) can kill and reap them all before parlab exits: no worker outlives
//! the run that started it.

use std::sync::Mutex;

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// Set once an interrupt began killing the children: failures seen after it are the
/// kill's doing, and the interrupt, not the failure, decides the exit.
static INTERRUPTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks the run as interrupted, before anything is killed.
pub fn interrupting() {
    INTERRUPTING.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether an interrupt is under way (its handler ends the process with 130).
pub fn interrupted() -> bool {
    INTERRUPTING.load(std::sync::atomic::Ordering::SeqCst)
}
/// Children started as leaders of their own process group (the peers): killing the
/// group also ends what they started themselves (a Python pool's processes).
static GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    lock(&CHILDREN)
}

pub fn register(pid: u32) {
    children().push(pid);
}

/// Called once the child is known dead and about to be waited for.
pub fn unregister(pid: u32) {
    children().retain(|p| *p != pid);
}

/// Registers a child that leads its own process group (started with `process_group(0)`).
pub fn register_group(pid: u32) {
    lock(&GROUPS).push(pid);
}

/// Kills whatever is left of the group, then forgets it. The leader itself must be
/// reaped by its owner (its `Child`).
///
/// The leader's descendants are killed first, each with its own process group: some
/// launchers put what they start in groups of their own (Open MPI's mpirun gives each
/// local rank one), where a kill of the leader's group would not reach them.
pub fn kill_group(pid: u32) {
    kill_descendants(pid);
    #[cfg(unix)]
    // SAFETY: a plain system call on a group we started; ESRCH when it is gone is fine.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
    lock(&GROUPS).retain(|p| *p != pid);
}

/// SIGKILLs every descendant of `pid` and the process group each leads, deepest first,
/// found through `/proc/<pid>/task/*/children` (Linux; elsewhere nothing is found). A
/// descendant is listed there only until its parent dies, so the tree is read before
/// anything in it is killed.
fn kill_descendants(pid: u32) {
    let mut found = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let kids = children_of(p);
        todo.extend(&kids);
        found.extend(kids);
    }
    #[cfg(unix)]
    for kid in found.into_iter().rev() {
        // SAFETY: signals to processes that descend from a child we started and still
        // hold unreaped (its children cannot be reaped by anyone else while it lives).
        unsafe {
            if libc::getpgid(kid as libc::pid_t) == kid as libc::pid_t {
                libc::kill(-(kid as libc::pid_t), libc::SIGKILL);
            }
            libc::kill(kid as libc::pid_t, libc::SIGKILL);
        }
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

fn lock(list: &'static Mutex<Vec<u32>>) -> std::sync::MutexGuard<'static, Vec<u32>> {
    list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills and reaps every registered child.
pub fn kill_all() {
    #[cfg(unix)]
    for pid in std::mem::take(&mut *lock(&GROUPS)) {
        kill_descendants(pid);
        // SAFETY: as in `kill_group`, then reaping the leader we started.
        unsafe {
            libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
        }
    }
    let pids = std::mem::take(&mut *children());
    #[cfg(unix)]
    for pid in pids {
        let pid = pid as libc::pid_t;
        // SAFETY: plain system calls on a pid we started and have not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    #[cfg(not(unix))]
    drop(pids);
}

/// Runs a command to completion with its output captured, registered meanwhile so an
/// interrupt kills it too. A child still running at `timeout` is killed and the result
/// is a `TimedOut` error.
pub fn output(
    cmd: &mut std::process::Command,
    timeout: std::time::Duration,
) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    register(pid);
    // The watchdog kills the child at the deadline, but only while `alive` says it has
    // not been reaped: a reaped pid may already belong to another process.
    let alive = std::sync::Arc::new(Mutex::new(true));
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = {
        let alive = std::sync::Arc::clone(&alive);
        std::thread::spawn(move || {
            let overran = finished.recv_timeout(timeout).is_err();
            let still = *alive.lock().unwrap_or_else(|p| p.into_inner());
            #[cfg(unix)]
            if overran && still {
                // SAFETY: the child is not reaped yet (`alive`), so the pid is still ours.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                }
            }
            overran && still
        })
    };
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let mut stdout = Vec::new();
    let read = child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_end(&mut stdout);
    let stderr = err_reader.join().unwrap_or_default();
    // Both pipes are closed: the child is exiting. Forget the pid before reaping it.
    unregister(pid);
    let _ = done.send(());
    let status = {
        let mut alive = alive.lock().unwrap_or_else(|p| p.into_inner());
        *alive = false;
        child.wait()
    }?;
    if watchdog.join().unwrap_or(false) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "timed out after {} (--timeout); the child was killed",
                humantime::format_duration(timeout)
            ),
        ));
    }
    read?;
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}
