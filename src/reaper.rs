//! Every child process parlab starts is registered here, so that an interrupt
//! (Ctrl-C, SIGTERM) can kill and reap them all before parlab exits: no worker outlives
//! the run that started it.

use std::sync::Mutex;

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
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
pub fn kill_group(pid: u32) {
    #[cfg(unix)]
    // SAFETY: a plain system call on a group we started; ESRCH when it is gone is fine.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
    lock(&GROUPS).retain(|p| *p != pid);
}

fn lock(list: &'static Mutex<Vec<u32>>) -> std::sync::MutexGuard<'static, Vec<u32>> {
    list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills and reaps every registered child.
pub fn kill_all() {
    #[cfg(unix)]
    for pid in std::mem::take(&mut *lock(&GROUPS)) {
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
