//! A child server process that dies with the test process.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// Spawns `cmd` from a thread that lives as long as the process, with `PR_SET_PDEATHSIG`, so a
/// test that panics or is killed never leaves a server behind. (The signal follows the thread
/// that spawned the child, hence the dedicated thread.)
pub fn spawn_bound(mut cmd: Command) -> std::io::Result<Child> {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    spawn_bound_keeping_output(cmd)
}

/// Like [`spawn_bound`], keeping whatever stdout and stderr the caller set on `cmd` (e.g. a
/// log file).
pub fn spawn_bound_keeping_output(mut cmd: Command) -> std::io::Result<Child> {
    cmd.stdin(Stdio::null());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: prctl is async-signal-safe and touches only this child's state.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let _ = tx.send(cmd.spawn());
        loop {
            std::thread::park();
        }
    });
    rx.recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("spawner thread died")))
}

/// A free loopback port (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

/// Finds an executable on PATH or in the usual Debian locations.
pub fn find_binary(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(Into::into))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
