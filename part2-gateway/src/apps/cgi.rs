//! Running CGI/1.1 scripts (RFC 3875) as an app.
//!
//! CGI is the gateway interface WSGI grew out of: the server runs a
//! program per request, hands it the meta-variables as its environment
//! and the request body on its stdin, and reads a small header block and
//! then the body from its stdout. Any language can answer a request this
//! way, including a Python WSGI app run by `wsgiref`'s `CGIHandler`.
//!
//! A script is another program, so it can misbehave in every way a
//! program can: write garbage instead of headers, never finish, fill its
//! pipes and wait for us while we wait for it. Each of those is handled
//! here, and none of them may leave a process behind.
//!
//! Unix only: the executable bit and process groups have no portable
//! equivalent in `std`.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::environ::Environ;
use crate::error::reason;
use crate::gateway::{App, Body, Headers, StartResponse, parse_status};

/// How long a script may run, headers and body together, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body handed to a script by default.
pub const DEFAULT_MAX_INPUT: u64 = 16 * 1024 * 1024;

/// The largest header block a script may write; more is a broken script.
pub const MAX_HEADER_BLOCK: usize = 32 * 1024;

/// How much of the script's output is read per body chunk.
pub const CHUNK_SIZE: usize = 16 * 1024;

/// The app that runs the CGI scripts of one directory.
///
/// `PATH_INFO` `/script.py/extra/path` runs `dir/script.py` with
/// `SCRIPT_NAME` extended by `/script.py` and `PATH_INFO` `/extra/path`.
/// Only regular, executable, non-hidden files directly in the directory
/// are run.
#[derive(Debug, Clone)]
pub struct Cgi {
    /// The script directory, canonical, to compare a script's real
    /// parent against.
    dir: PathBuf,
    timeout: Duration,
    max_input: u64,
}

/// A script found for a request.
#[derive(Debug)]
struct Script {
    /// Its file name, for `SCRIPT_NAME` and the log.
    name: String,
    /// Its canonical path, which is what we run.
    path: PathBuf,
    /// The rest of `PATH_INFO`, which becomes the script's `PATH_INFO`.
    extra: String,
}

impl Cgi {
    /// Runs the scripts in `dir`, which must be a directory.
    pub fn new(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = fs::canonicalize(dir)?;
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Ok(Cgi {
            dir,
            timeout: DEFAULT_TIMEOUT,
            max_input: DEFAULT_MAX_INPUT,
        })
    }

    /// Kills a script still running after `timeout` (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refuses request bodies over `limit` bytes with 413 (default
    /// 16 MiB).
    pub fn with_max_input(mut self, limit: u64) -> Self {
        self.max_input = limit;
        self
    }

    /// The canonical script directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Finds the script the first segment of `PATH_INFO` names, or the
    /// status to refuse with.
    fn find_script(&self, path_info: &str) -> Result<Script, u16> {
        let rest = path_info.strip_prefix('/').unwrap_or(path_info);
        let (name, extra) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        // The name is one segment (we split at the first `/`), so it
        // cannot climb out with `a/../..`; `..` itself and hidden files
        // start with a dot.
        if name.is_empty()
            || name.starts_with('.')
            || name.contains(['\\', '\0'])
        {
            return Err(404);
        }
        let status_of = |e: io::Error| -> u16 {
            match e.kind() {
                io::ErrorKind::PermissionDenied => 403,
                _ => 404,
            }
        };
        let path = fs::canonicalize(self.dir.join(name)).map_err(status_of)?;
        // A symlink may point elsewhere; only what really lives in the
        // directory is run.
        if path.parent() != Some(self.dir.as_path()) {
            return Err(404);
        }
        let meta = fs::metadata(&path).map_err(status_of)?;
        if !meta.is_file() {
            return Err(404);
        }
        // There, but not meant to be run (a data file, a README).
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(403);
        }
        Ok(Script {
            name: name.to_string(),
            path,
            extra: extra.to_string(),
        })
    }
}

impl App for Cgi {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let script = match self.find_script(environ.path_info()) {
            Ok(script) => script,
            Err(status) => return error(start_response, status),
        };
        // The whole body first, bounded. Scripts expect CONTENT_LENGTH
        // (RFC 3875 §4.1.2), which a chunked request lacks until it has
        // been read; and holding the bytes lets a separate thread feed
        // them to the script without borrowing the environ.
        let mut input = Vec::new();
        let limit = self.max_input;
        match Read::take(environ.input(), limit + 1).read_to_end(&mut input) {
            Ok(_) if input.len() as u64 > limit => {
                return error(start_response, 413);
            }
            Ok(_) => {}
            Err(_) => return error(start_response, 400),
        }
        let env = script_env(environ, &script, input.len());
        match self.run(&script, env, input) {
            Ok((status, headers, body)) => {
                start_response.start(&status, headers);
                // HEAD: the script's headers are the answer; dropping its
                // output stream kills and reaps it.
                body.unless_head(environ)
            }
            Err(status) => error(start_response, status),
        }
    }
}

// ANCHOR: cgi-env
/// The script's environment: the request's meta-variables, corrected for
/// the script, and `PATH`. Nothing of the server's own environment leaks
/// in (it may hold secrets).
fn script_env(
    environ: &Environ<'_>,
    script: &Script,
    input_len: usize,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = environ
        .vars()
        .iter()
        .filter(|(name, value)| {
            // "httpoxy": a client's `Proxy:` header becomes HTTP_PROXY,
            // which many HTTP libraries read as their proxy setting.
            is_env_name(name)
                && name.as_str() != "HTTP_PROXY"
                && !value.contains('\0')
        })
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "SCRIPT_NAME" | "PATH_INFO" | "CONTENT_LENGTH" | "PATH"
            )
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let mount = environ.get("SCRIPT_NAME").unwrap_or("");
    env.push(("SCRIPT_NAME".into(), format!("{mount}/{}", script.name)));
    env.push(("PATH_INFO".into(), script.extra.clone()));
    env.push((
        "SCRIPT_FILENAME".into(),
        script.path.to_string_lossy().into_owned(),
    ));
    if input_len > 0 {
        env.push(("CONTENT_LENGTH".into(), input_len.to_string()));
    }
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    env.push(("PATH".into(), path));
    env
}
// ANCHOR_END: cgi-env

/// Whether `name` can be an environment variable: `[A-Z_][A-Z0-9_]*`,
/// which the CGI and `HTTP_` variables are and WSGI-style keys such as
/// `wsgi.input` are not.
fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'_'))
        && bytes.all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b'_'))
}

impl Cgi {
    // ANCHOR: cgi-spawn
    /// Starts the script, reads its header block, and returns the status,
    /// headers and streaming body, or the status to answer with instead.
    fn run(
        &self,
        script: &Script,
        env: Vec<(String, String)>,
        input: Vec<u8>,
    ) -> Result<(String, Headers, Body), u16> {
        let mut command = Command::new(&script.path);
        command
            .env_clear()
            .envs(env)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills whatever the
            // script started too (`sh` running `sleep` holds our pipe).
            .process_group(0);
        let mut child = command.spawn().map_err(|e| -> u16 {
            eprintln!("[cgi {}] cannot run: {e}", script.name);
            match e.kind() {
                io::ErrorKind::PermissionDenied => 403,
                _ => 502,
            }
        })?;
        let pipes =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        // From here on, dropping `running` kills and reaps the script.
        let running = Running::start(child, self.timeout);
        let (Some(mut stdin), Some(mut stdout), Some(stderr)) = pipes else {
            return Err(500);
        };
        // Feed stdin from its own thread: a script may write a lot before
        // it reads, and if we were blocked writing its stdin while it was
        // blocked writing its stdout, neither would ever move. Dropping
        // `stdin` at the end closes it: the script sees end of input.
        thread::spawn(move || {
            // An error means the script exited or closed stdin without
            // reading everything; that is its right.
            let _ = stdin.write_all(&input);
        });
        let name = script.name.clone();
        thread::spawn(move || log_stderr(&name, stderr));

        let (head, rest) = match read_head(&mut stdout) {
            Ok(parts) => parts,
            Err(problem) => {
                if running.timed_out() {
                    eprintln!("[cgi {}] timed out", script.name);
                    return Err(504);
                }
                eprintln!("[cgi {}] bad header block: {problem}", script.name);
                return Err(502);
            }
        };
        let (status, headers) = parse_head(&head).map_err(|problem| {
            eprintln!("[cgi {}] bad header block: {problem}", script.name);
            502_u16
        })?;
        let body = Body::stream(ScriptOutput {
            name: script.name.clone(),
            stdout,
            first: rest,
            running,
            done: false,
        });
        Ok((status, headers, body))
    }
    // ANCHOR_END: cgi-spawn
}

/// Logs what the script writes to stderr, one log line per line.
fn log_stderr(name: &str, stderr: impl Read) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bounded, so a script writing one endless line costs no memory.
        match reader.by_ref().take(4096).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                eprintln!("[cgi {name}] {}", text.trim_end());
            }
        }
    }
}

// ANCHOR: cgi-headers
/// Reads stdout up to the blank line ending the header block. Returns
/// the block (without the blank line) and whatever was read past it.
fn read_head(stdout: &mut impl Read) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0; 4096];
    loop {
        if let Some((head_end, body_start)) = find_blank_line(&buf) {
            let rest = buf.split_off(body_start);
            buf.truncate(head_end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEADER_BLOCK {
            return Err(format!("over {MAX_HEADER_BLOCK} bytes"));
        }
        match stdout.read(&mut chunk) {
            Ok(0) => return Err("output ended before the blank line".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Where the first empty line (`\n` or `\r\n`) is: the end of the header
/// block, and the start of the body after it.
fn find_blank_line(buf: &[u8]) -> Option<(usize, usize)> {
    let mut start = 0;
    while let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + i];
        if line.is_empty() || line == b"\r" {
            return Some((start, start + i + 1));
        }
        start += i + 1;
    }
    None
}

/// Turns the script's header block into a status and response headers
/// (RFC 3875 §6.3): `Status` sets the status, `Location` alone means a
/// redirect, the other fields pass through.
fn parse_head(head: &[u8]) -> Result<(String, Headers), String> {
    let text = std::str::from_utf8(head).map_err(|_| "not UTF-8")?;
    // The block ends with its last line's line ending.
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut status = None;
    let mut headers = Headers::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("no colon in {line:?}"));
        };
        // A token, so no spaces: this also refuses folded lines.
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(format!("bad field name {name:?}"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(format!("control character in {name}"));
        }
        if name.eq_ignore_ascii_case("Status") {
            status = Some(value.to_string());
            continue;
        }
        if name.eq_ignore_ascii_case("Content-Length")
            && value.parse::<u64>().is_err()
        {
            return Err(format!("bad Content-Length {value:?}"));
        }
        headers.push((name.to_string(), value.to_string()));
    }
    let has = |n: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n));
    let status = match status {
        Some(status) => {
            let (code, phrase) = parse_status(&status)
                .ok_or_else(|| format!("bad Status {status:?}"))?;
            match phrase {
                "" => format!("{code} {}", known_reason(code)),
                _ => format!("{code} {phrase}"),
            }
        }
        // A Location with no Status is a redirect. (RFC 3875 would have
        // the server follow a local `/path` itself; a 302 is simpler and
        // just as correct for the client.)
        None if has("Location") => "302 Found".to_string(),
        None => "200 OK".to_string(),
    };
    let bodyless = matches!(status.as_bytes()[0], b'1')
        || status.starts_with("204")
        || status.starts_with("304");
    if !has("Content-Type") && !has("Location") && !bodyless {
        return Err("neither Content-Type nor Location".into());
    }
    Ok((status, headers))
}
// ANCHOR_END: cgi-headers

/// What the app makes of a script's output: [`read_head`], then
/// [`parse_head`]: the status, the header fields, and the first bytes
/// of the body read along with the block; or why the script gets a 502.
/// Public so that tests can feed it any bytes (`tests/fuzz.rs`).
pub fn parse_output(
    stdout: &mut impl Read,
) -> Result<(String, Headers, Vec<u8>), String> {
    let (head, rest) = read_head(stdout)?;
    let (status, headers) = parse_head(&head)?;
    Ok((status, headers, rest))
}

/// The reason phrase for `code`, or none for a code we do not know.
fn known_reason(code: u16) -> &'static str {
    match reason(code) {
        "Unknown" => "",
        phrase => phrase,
    }
}

/// A `tchar` of RFC 9110 §5.6.2, the characters of a field name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

// ANCHOR: cgi-reap
/// A running script: its process, a watchdog that kills it at the
/// deadline, and the promise that it is killed and reaped when dropped.
struct Running {
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

    fn timed_out(&self) -> bool {
        self.process.timed_out.load(Ordering::SeqCst)
    }

    /// Waits for the script to exit after its stdout ended. It usually
    /// has; if it has not, the watchdog bounds the wait.
    fn reap(&self) -> Option<ExitStatus> {
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

/// Kills the script and its process group. `std` can only signal the
/// child itself, and `unsafe` is not allowed here, so the group gets its
/// signal from the `kill` utility.
fn kill(state: &mut ChildState) {
    let group = format!("-{}", state.child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = state.child.kill();
}
// ANCHOR_END: cgi-reap

// ANCHOR: cgi-body
/// The script's stdout after the header block, as a body stream.
struct ScriptOutput {
    name: String,
    stdout: ChildStdout,
    /// Bytes read with the header block that belong to the body.
    first: Vec<u8>,
    running: Running,
    done: bool,
}

impl Iterator for ScriptOutput {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.first.is_empty() {
            return Some(Ok(std::mem::take(&mut self.first)));
        }
        let mut buf = vec![0; CHUNK_SIZE];
        loop {
            match self.stdout.read(&mut buf) {
                Ok(0) => return self.finish(),
                Ok(n) => {
                    buf.truncate(n);
                    return Some(Ok(buf));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl ScriptOutput {
    /// The output ended: reap the script, and turn a timeout into an
    /// error so the server aborts a response it cannot vouch for.
    fn finish(&mut self) -> Option<io::Result<Vec<u8>>> {
        self.done = true;
        let status = self.running.reap();
        if self.running.timed_out() {
            eprintln!("[cgi {}] timed out", self.name);
            return Some(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "CGI script timed out",
            )));
        }
        if let Some(status) = status.filter(|s| !s.success()) {
            eprintln!("[cgi {}] exited with {status}", self.name);
        }
        None
    }
}
// ANCHOR_END: cgi-body

/// A short text/plain response for an error status.
fn error(start_response: &mut StartResponse, status: u16) -> Body {
    let status_line = format!("{status} {}", reason(status));
    let headers = vec![(
        "Content-Type".to_string(),
        "text/plain; charset=utf-8".to_string(),
    )];
    start_response.start(&status_line, headers);
    Body::from(format!("{status_line}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::test_dir::TempDir;
    use crate::environ::percent_decode;
    use std::collections::BTreeMap;
    use std::io::Cursor;
    use std::time::Instant;

    impl TempDir {
        /// A temporary directory with an empty `bin/` for scripts.
        fn scripts() -> TempDir {
            let tmp = TempDir::new("cgi");
            fs::create_dir_all(tmp.0.join("bin")).unwrap();
            tmp
        }

        /// Writes an executable script into `bin/`.
        fn script(&self, name: &str, text: &str) {
            let path = self.0.join("bin").join(name);
            fs::write(&path, text).unwrap();
            let mode = fs::Permissions::from_mode(0o755);
            fs::set_permissions(&path, mode).unwrap();
        }

        fn cgi(&self) -> Cgi {
            Cgi::new(self.0.join("bin")).unwrap()
        }
    }

    fn shipped() -> Cgi {
        Cgi::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin")).unwrap()
    }

    /// Runs `app` for `method target` with `body`, mounted at /cgi-bin.
    fn run(
        app: &Cgi,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> (StartResponse, Vec<u8>) {
        let (sr, body) = start(app, method, target, body);
        (sr, body.into_bytes().unwrap())
    }

    fn start(
        app: &Cgi,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> (StartResponse, Body) {
        let test = Environ::for_test(method, target);
        let mut vars: BTreeMap<String, String> = test.vars().clone();
        vars.insert("SCRIPT_NAME".into(), "/cgi-bin".into());
        if !body.is_empty() {
            vars.insert("CONTENT_LENGTH".into(), body.len().to_string());
        }
        let mut environ = Environ::new(vars, Cursor::new(body.to_vec()));
        let mut sr = StartResponse::new();
        let body = app.handle(&mut environ, &mut sr);
        (sr, body)
    }

    fn status(sr: &StartResponse) -> u16 {
        sr.parsed_status().unwrap().0
    }

    fn text(body: &[u8]) -> String {
        String::from_utf8_lossy(body).into_owned()
    }

    /// Whether process `pid` is gone (or a zombie awaiting `init`).
    fn gone(pid: &str) -> bool {
        match fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z')),
        }
    }

    #[test]
    fn hello_sh_runs() {
        let (sr, body) = run(&shipped(), "GET", "/hello.sh/a/b?x=1", b"");
        assert_eq!(status(&sr), 200);
        assert_eq!(
            sr.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        let body = text(&body);
        assert!(body.starts_with("Hello from a shell script"), "{body}");
        assert!(
            body.contains("SCRIPT_NAME     = /cgi-bin/hello.sh"),
            "{body}"
        );
        assert!(body.contains("PATH_INFO       = /a/b"), "{body}");
        assert!(body.contains("QUERY_STRING    = x=1"), "{body}");
    }

    #[test]
    fn env_py_shows_only_cgi_variables() {
        let (sr, body) = run(&shipped(), "GET", "/env.py", b"");
        assert_eq!(status(&sr), 200);
        let body = text(&body);
        assert!(body.contains("GATEWAY_INTERFACE=CGI/1.1\n"), "{body}");
        assert!(body.contains("HTTP_HOST=localhost\n"), "{body}");
        assert!(body.contains("SCRIPT_NAME=/cgi-bin/env.py\n"), "{body}");
        assert!(body.contains("PATH="), "{body}");
        // The server's own environment stays out.
        assert!(!body.contains("CARGO_MANIFEST_DIR"), "{body}");
        assert!(!body.contains("HOME="), "{body}");
    }

    #[test]
    fn a_python_wsgi_app_runs_under_cgihandler() {
        let app = shipped();
        let (sr, body) = run(&app, "GET", "/wsgi_app.py/some/path?x=1", b"");
        assert_eq!(status(&sr), 200);
        assert_eq!(sr.header("Content-Type"), Some("text/html; charset=utf-8"));
        let body = text(&body);
        assert!(body.contains("Hello from a Python WSGI app"), "{body}");
        assert!(body.contains("<code>/some/path</code>"), "{body}");
        assert!(body.contains("<code>x=1</code>"), "{body}");
        let len: usize = sr.header("Content-Length").unwrap().parse().unwrap();
        assert_eq!(len, body.len());

        let target = "/wsgi_app.py/echo?format=text";
        let (sr, body) = run(&app, "POST", target, b"say=hello+world");
        assert_eq!(status(&sr), 200);
        assert_eq!(
            sr.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        let body = text(&body);
        assert!(body.contains("method: POST\n"), "{body}");
        assert!(body.contains("path: /echo\n"), "{body}");
        assert!(body.contains("body: say=hello+world\n"), "{body}");
    }

    #[test]
    fn the_status_header_is_honoured() {
        let tmp = TempDir::scripts();
        tmp.script(
            "gone.sh",
            "#!/bin/sh\nprintf 'Status: 404 Not Found\\r\\n\
             Content-Type: text/plain\\r\\nX-Why: testing\\r\\n\\r\\nnope'\n",
        );
        tmp.script(
            "code.sh",
            "#!/bin/sh\n\
             printf 'Status: 201\\nContent-Type: text/plain\\n\\n'\n",
        );
        let (sr, body) = run(&tmp.cgi(), "GET", "/gone.sh", b"");
        assert_eq!(sr.status(), Some("404 Not Found"));
        assert_eq!(sr.header("X-Why"), Some("testing"));
        assert_eq!(sr.header("Status"), None);
        assert_eq!(body, b"nope");
        let (sr, _) = run(&tmp.cgi(), "GET", "/code.sh", b"");
        assert_eq!(sr.status(), Some("201 Created"));
    }

    #[test]
    fn location_redirects() {
        let tmp = TempDir::scripts();
        tmp.script("local.sh", "#!/bin/sh\nprintf 'Location: /x\\n\\n'\n");
        tmp.script(
            "away.sh",
            "#!/bin/sh\nprintf 'Location: https://example.com/\\n\\n'\n",
        );
        let (sr, _) = run(&tmp.cgi(), "GET", "/local.sh", b"");
        assert_eq!(sr.status(), Some("302 Found"));
        assert_eq!(sr.header("Location"), Some("/x"));
        let (sr, _) = run(&tmp.cgi(), "GET", "/away.sh", b"");
        assert_eq!(sr.status(), Some("302 Found"));
        assert_eq!(sr.header("Location"), Some("https://example.com/"));
    }

    #[test]
    fn the_body_goes_to_stdin() {
        let tmp = TempDir::scripts();
        tmp.script(
            "cat.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
             echo \"length=$CONTENT_LENGTH\"\ncat\n",
        );
        let (sr, body) = run(&tmp.cgi(), "POST", "/cat.sh", b"some input");
        assert_eq!(status(&sr), 200);
        assert_eq!(text(&body), "length=10\nsome input");
    }

    #[test]
    fn a_script_writing_before_reading_does_not_deadlock() {
        // 256 KiB out before reading 1 MiB in: both pipes fill up unless
        // stdin is fed from its own thread.
        let tmp = TempDir::scripts();
        tmp.script(
            "chatty.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
             head -c 262144 /dev/zero\ncat | wc -c\n",
        );
        let input = vec![b'x'; 1024 * 1024];
        let app = tmp.cgi().with_timeout(Duration::from_secs(20));
        let (sr, body) = run(&app, "POST", "/chatty.sh", &input);
        assert_eq!(status(&sr), 200);
        assert_eq!(body.len(), 262144 + "1048576\n".len());
        assert!(text(&body[262144..]).trim() == "1048576");
    }

    #[test]
    fn the_output_streams() {
        let tmp = TempDir::scripts();
        tmp.script(
            "big.sh",
            "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\
             Content-Length: 100000\\n\\n'\nhead -c 100000 /dev/zero\n",
        );
        let (sr, body) = start(&tmp.cgi(), "GET", "/big.sh", b"");
        assert_eq!(sr.header("Content-Length"), Some("100000"));
        let Body::Stream(chunks) = body else {
            panic!("not streamed")
        };
        let chunks: Vec<Vec<u8>> = chunks.map(|c| c.unwrap()).collect();
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_SIZE));
        assert_eq!(chunks.concat().len(), 100000);
    }

    #[test]
    fn broken_header_blocks_are_502() {
        let tmp = TempDir::scripts();
        let long = "X-Long: ".to_string() + &"a".repeat(40 * 1024);
        let cases = [
            ("nocolon.sh", "printf 'Content-Type text/plain\\n\\nx'"),
            ("eof.sh", "printf 'Content-Type: text/plain\\n'"),
            ("nothing.sh", "true"),
            ("notype.sh", "printf 'X-Foo: 1\\n\\nbody'"),
            ("status.sh", "printf 'Status: OK\\nContent-Type: a/b\\n\\n'"),
            ("fold.sh", "printf 'Content-Type: a/b\\n more\\n\\n'"),
            (
                "length.sh",
                "printf 'Content-Type: a/b\\nContent-Length: x\\n\\n'",
            ),
            ("long.sh", &format!("printf '{long}\\n'; sleep 5")),
            ("crash.sh", "exit 3"),
        ];
        for (name, body) in &cases {
            tmp.script(name, &format!("#!/bin/sh\n{body}\n"));
        }
        for (name, _) in &cases {
            let (sr, body) = run(&tmp.cgi(), "GET", &format!("/{name}"), b"");
            assert_eq!(status(&sr), 502, "{name}");
            assert_eq!(text(&body), "502 Bad Gateway\n");
        }
    }

    #[test]
    fn a_slow_script_is_killed_with_504() {
        let tmp = TempDir::scripts();
        let pids = tmp.0.join("pids");
        // `sleep` runs as a child of `sh`: killing `sh` alone would leave
        // it holding our pipe.
        tmp.script(
            "slow.sh",
            &format!(
                "#!/bin/sh\necho $$ > {0}.sh\nsleep 30 &\necho $! > {0}.sleep\n\
                 wait\n",
                pids.display()
            ),
        );
        let app = tmp.cgi().with_timeout(Duration::from_millis(300));
        let began = Instant::now();
        let (sr, body) = run(&app, "GET", "/slow.sh", b"");
        assert_eq!(status(&sr), 504);
        assert_eq!(text(&body), "504 Gateway Timeout\n");
        assert!(began.elapsed() < Duration::from_secs(10));
        let sh = fs::read_to_string(pids.with_extension("sh")).unwrap();
        let sleep = fs::read_to_string(pids.with_extension("sleep")).unwrap();
        // The script was reaped by us; the orphan `sleep` is gone too.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(gone(&sh) && gone(&sleep)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(&sh) && gone(&sleep), "left behind: {sh} {sleep}");
    }

    #[test]
    fn a_timeout_after_the_headers_ends_the_body_with_an_error() {
        let tmp = TempDir::scripts();
        tmp.script(
            "stall.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nstart'\n\
             exec sleep 30\n",
        );
        let app = tmp.cgi().with_timeout(Duration::from_millis(300));
        let (sr, body) = start(&app, "GET", "/stall.sh", b"");
        assert_eq!(status(&sr), 200);
        let Body::Stream(mut chunks) = body else {
            panic!("not streamed")
        };
        assert_eq!(chunks.next().unwrap().unwrap(), b"start");
        let end = chunks.next().unwrap().unwrap_err();
        assert_eq!(end.kind(), io::ErrorKind::TimedOut);
        assert!(chunks.next().is_none());
    }

    #[test]
    fn dropping_the_body_kills_the_script() {
        let tmp = TempDir::scripts();
        let pid = tmp.0.join("pid");
        tmp.script(
            "forever.sh",
            &format!(
                "#!/bin/sh\necho $$ > {}\n\
                 printf 'Content-Type: text/plain\\n\\n'\nexec yes\n",
                pid.display()
            ),
        );
        let (_, body) = start(&tmp.cgi(), "GET", "/forever.sh", b"");
        let Body::Stream(mut chunks) = body else {
            panic!("not streamed")
        };
        assert!(!chunks.next().unwrap().unwrap().is_empty());
        let pid = fs::read_to_string(pid).unwrap();
        assert!(!gone(&pid));
        drop(chunks);
        // Killed and reaped at once, not merely a zombie.
        assert!(!Path::new(&format!("/proc/{}", pid.trim())).exists());
    }

    #[test]
    fn only_executable_files_in_the_directory_run() {
        let tmp = TempDir::scripts();
        tmp.script("ok.sh", "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n");
        tmp.script(
            ".hidden.sh",
            "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n",
        );
        tmp.script(
            "../outside.sh",
            "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n",
        );
        fs::write(tmp.0.join("bin/data.txt"), "not a script").unwrap();
        fs::create_dir(tmp.0.join("bin/sub")).unwrap();
        std::os::unix::fs::symlink(
            tmp.0.join("outside.sh"),
            tmp.0.join("bin/link.sh"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            tmp.0.join("bin/ok.sh"),
            tmp.0.join("bin/in.sh"),
        )
        .unwrap();
        let app = tmp.cgi();
        for (target, expect) in [
            ("/ok.sh", 200),
            ("/ok.sh/", 200),
            ("/in.sh", 200),
            ("/data.txt", 403),
            ("/missing.sh", 404),
            ("/", 404),
            ("", 404),
            ("/sub", 404),
            ("/sub/ok.sh", 404),
            ("/.hidden.sh", 404),
            ("/../outside.sh", 404),
            ("/%2e%2e/outside.sh", 404),
            ("/..%2foutside.sh", 404),
            ("/link.sh", 404),
        ] {
            // PATH_INFO as the URL map leaves it: decoded, below /cgi-bin.
            let test = Environ::for_test("GET", target);
            let mut vars = test.vars().clone();
            vars.insert("PATH_INFO".into(), percent_decode(target));
            let mut environ = Environ::new(vars, io::empty());
            let mut sr = StartResponse::new();
            let _ = app.handle(&mut environ, &mut sr).into_bytes().unwrap();
            assert_eq!(status(&sr), expect, "{target}");
        }
    }

    #[test]
    fn oversized_bodies_are_413() {
        let tmp = TempDir::scripts();
        tmp.script("ok.sh", "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n");
        let app = tmp.cgi().with_max_input(4);
        assert_eq!(status(&run(&app, "POST", "/ok.sh", b"1234").0), 200);
        assert_eq!(status(&run(&app, "POST", "/ok.sh", b"12345").0), 413);
    }

    #[test]
    fn header_blocks_parse() {
        assert_eq!(find_blank_line(b"A: b\r\n\r\nbody"), Some((6, 8)));
        assert_eq!(find_blank_line(b"A: b\n\nbody"), Some((5, 6)));
        assert_eq!(find_blank_line(b"\nbody"), Some((0, 1)));
        assert_eq!(find_blank_line(b"A: b\r\n"), None);
        let (status, headers) =
            parse_head(b"Content-Type:  text/html \r\nSet-Cookie: a=1")
                .unwrap();
        assert_eq!(status, "200 OK");
        assert_eq!(headers[0], ("Content-Type".into(), "text/html".into()));
        assert_eq!(parse_head(b"Status: 204").unwrap().0, "204 No Content");
        assert_eq!(
            parse_head(b"Status: 299\r\nContent-Type: a/b").unwrap().0,
            "299 "
        );
        assert!(parse_head(b"Bad Name: x\nContent-Type: a/b").is_err());
        assert!(parse_head(b"Content-Type: a\x01b").is_err());
        assert!(is_env_name("HTTP_X_Y2") && is_env_name("PATH_INFO"));
        assert!(
            !is_env_name("wsgi.input")
                && !is_env_name("2X")
                && !is_env_name("")
        );
    }
}
