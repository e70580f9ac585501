//! Keeping scripts in check: every script is killed at its deadline and
//! reaped when its response is over, so none is left running or left as
//! a zombie (an exited process whose parent never collected its exit
//! status, which keeps its slot in the process table).
//!
//! On Unix a script runs in its own process group (the script and every
//! process it starts), and a kill reaches the whole group. Windows has no
//! process groups in `std` and no `#!` lines: there the script alone is
//! killed, and the program its `#!` line names is run with the script as
//! its argument.

use std::fs::Metadata;
use std::io;
use std::path::Path;
#[cfg(unix)]
use std::process::Stdio;
use std::process::{
    Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// A started script's stdin, stdout and stderr.
pub(super) type Pipes = (ChildStdin, ChildStdout, ChildStderr);

/// Whether a file may be run as a script: its executable bit on Unix;
/// on Windows, which has none, any regular file.
pub(super) fn is_executable(meta: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The command that runs `script`. Unix runs the file, and the kernel
/// reads its `#!` line; elsewhere we read that line ourselves.
pub(super) fn command(script: &Path) -> Command {
    #[cfg(unix)]
    {
        Command::new(script)
    }
    #[cfg(not(unix))]
    {
        let first = std::fs::read(script).unwrap_or_default();
        let first = first.split(|&b| b == b'\n').next().unwrap_or_default();
        match interpreter(&String::from_utf8_lossy(first)) {
            Some(program) => {
                let mut command = Command::new(program);
                command.arg(script);
                command
            }
            None => Command::new(script),
        }
    }
}

/// The program a `#!` line names, without its directory (which is a Unix
/// path): `#!/usr/bin/env python3` and `#!/usr/bin/python3` both give
/// `python3`.
#[cfg_attr(unix, allow(dead_code))]
pub(super) fn interpreter(line: &str) -> Option<String> {
    let line = line.strip_prefix("#!")?.trim();
    let mut words = line.split_whitespace();
    let mut program = words.next()?;
    if program.rsplit('/').next() == Some("env") {
        program = words.next()?;
    }
    Some(program.rsplit('/').next()?.to_string())
}

/// Starts `command` with piped stdin, stdout and stderr, watched: it is
/// killed if it still runs after `timeout`.
pub(super) fn start(
    mut command: Command,
    timeout: Duration,
) -> io::Result<(Running, Pipes)> {
    // Its own process group, so a kill reaches whatever the script
    // started too (`sh` running `sleep` holds our pipe).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("{program}: {e}")))?;
    let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    // From here on, dropping `running` kills and reaps the script.
    let running = Running::start(child, timeout);
    match pipes {
        (Some(stdin), Some(stdout), Some(stderr)) => {
            Ok((running, (stdin, stdout, stderr)))
        }
        _ => Err(io::Error::other("the script's pipes were not set up")),
    }
}

/// A running script: its process, a watchdog that kills it at the
/// deadline, and the promise that it is killed and reaped when dropped.
pub(super) struct Running {
    process: Arc<Process>,
    /// Dropping this wakes the watchdog, which then exits.
    _watchdog: mpsc::Sender<()>,
}

/// The child process, shared with the watchdog thread.
struct Process {
    state: Mutex<ChildState>,
    timed_out: AtomicBool,
}

struct ChildState {
    child: Child,
    /// Once reaped, its pid may belong to another process: never signal
    /// it again.
    reaped: bool,
}

impl Running {
    fn start(child: Child, timeout: Duration) -> Running {
        let process = Arc::new(Process {
            state: Mutex::new(ChildState {
                child,
                reaped: false,
            }),
            timed_out: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel::<()>();
        let watched = Arc::clone(&process);
        thread::spawn(move || {
            // Nothing is ever sent: the sender is dropped when the script
            // is done with, which ends the wait early.
            if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(timeout) {
                watched.timed_out.store(true, Ordering::SeqCst);
                watched.kill();
            }
        });
        Running {
            process,
            _watchdog: tx,
        }
    }

    /// Whether the watchdog killed the script.
    pub(super) fn timed_out(&self) -> bool {
        self.process.timed_out.load(Ordering::SeqCst)
    }

    /// Waits for the script to exit after its stdout ended. It usually
    /// has; if it has not, the watchdog bounds the wait.
    pub(super) fn reap(&self) -> Option<ExitStatus> {
        loop {
            let mut state = self.process.lock();
            if state.reaped {
                return None;
            }
            match state.child.try_wait() {
                Ok(Some(status)) => {
                    state.reaped = true;
                    return Some(status);
                }
                Ok(None) => {}
                Err(_) => {
                    state.reaped = true;
                    return None;
                }
            }
            // Not `wait()` under the lock: the watchdog needs it to kill.
            drop(state);
            thread::sleep(Duration::from_millis(5));
        }
    }
}

// ANCHOR: cgi-cleanup
impl Drop for Running {
    fn drop(&mut self) {
        // The response is over, finished or not (the client may have
        // gone): a script still running is killed, and every exited one
        // reaped, so no zombie is left in the process table.
        let mut state = self.process.lock();
        if !state.reaped {
            kill(&mut state);
            let _ = state.child.wait();
            state.reaped = true;
        }
    }
}

/// Kills the script and, on Unix, its process group. `std` can only
/// signal the child itself, and `unsafe` is not allowed here, so the
/// group gets its signal from the `kill` utility.
fn kill(state: &mut ChildState) {
    #[cfg(unix)]
    {
        let group = format!("-{}", state.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = state.child.kill();
}
// ANCHOR_END: cgi-cleanup

impl Process {
    fn lock(&self) -> MutexGuard<'_, ChildState> {
        // A panic elsewhere cannot leave the state half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn kill(&self) {
        let mut state = self.lock();
        if !state.reaped {
            kill(&mut state);
        }
    }
}
