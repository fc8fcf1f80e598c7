//! Every child process parlab starts is registered here, so that an interrupt
//! (Ctrl-C, SIGTERM) can kill and reap them all before parlab exits: no worker outlives
//! the run that started it.

use std::sync::Mutex;

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn register(pid: u32) {
    children().push(pid);
}

/// Called once the child is known dead and about to be waited for.
pub fn unregister(pid: u32) {
    children().retain(|p| *p != pid);
}

/// Kills and reaps every registered child.
pub fn kill_all() {
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

/// On Ctrl-C or SIGTERM: kill and reap the children, then exit with 130.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        kill_all();
        eprintln!("parlab: interrupted");
        std::process::exit(130);
    });
}
