//! Running CGI/1.1 scripts (RFC 3875) as an app.
//!
//! CGI is the gateway interface WSGI grew out of: the server runs a
//! program per request, hands it the meta-variables as its environment
//! and the request body on its stdin, and reads a small header block and
//! then the body from its stdout. Any language can answer a request this
//! way, including a Python WSGI app run by `wsgiref`'s `CGIHandler`.
//!
//! This file holds the idea: find the script, build its environment,
//! start it, read its answer. [`output`] reads the header block and the
//! body; [`process`] makes sure no script outlives its response.

mod output;
mod process;

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use crate::environ::Environ;
use crate::gateway::{App, Body, Headers, StartResponse};
use crate::rfc::text_error;

pub use output::parse_output;
use output::{ScriptOutput, parse_head, read_head};

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
        if !process::is_executable(&meta) {
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
            Err(status) => return text_error(start_response, status, vec![]),
        };
        // The whole body first, bounded: a chunked body has no
        // CONTENT_LENGTH (RFC 3875 §4.1.2) until it has been decoded.
        let mut input = Vec::new();
        let limit = self.max_input;
        let mut body = environ.input().take(limit.saturating_add(1));
        match body.read_to_end(&mut input) {
            Ok(_) if input.len() as u64 > limit => {
                return text_error(start_response, 413, vec![]);
            }
            Ok(_) => {}
            Err(_) => return text_error(start_response, 400, vec![]),
        }
        let env = script_env(environ, &script, input.len());
        match self.run(&script, env, input) {
            Ok((status, headers, body)) => {
                start_response.start(&status, headers);
                // HEAD: the script's headers are the answer; dropping its
                // output stream kills and reaps it.
                body.unless_head(environ)
            }
            Err(status) => text_error(start_response, status, vec![]),
        }
    }
}

/// Header fields that concern one connection, not the request (RFC 9110
/// §7.6.1), or that the server has already acted on: the body a script
/// reads is decoded and complete, and any `100 Continue` was sent. A
/// script that saw them would act on them again (RFC 3875 §4.1.18 lets
/// a server leave them out).
const HANDLED_BY_THE_SERVER: &[&str] = &[
    "HTTP_CONNECTION",
    "HTTP_KEEP_ALIVE",
    "HTTP_PROXY_CONNECTION",
    "HTTP_TE",
    "HTTP_TRAILER",
    "HTTP_TRANSFER_ENCODING",
    "HTTP_UPGRADE",
    "HTTP_EXPECT",
    // Already CONTENT_LENGTH and CONTENT_TYPE (§4.1.18).
    "HTTP_CONTENT_LENGTH",
    "HTTP_CONTENT_TYPE",
    // "httpoxy": a client's `Proxy:` header would become the proxy
    // setting of many HTTP libraries inside the script.
    "HTTP_PROXY",
    // HTTP_AUTHORIZATION stays: this server checks no credentials, so
    // the script must (the book's CGI section says why).
];

// ANCHOR: cgi-env
/// The script's environment: the request's meta-variables (RFC 3875
/// §4.1) corrected for the script, and `PATH`. Nothing of the server's
/// own environment leaks in (it may hold secrets).
fn script_env(
    environ: &Environ<'_>,
    script: &Script,
    input_len: usize,
) -> Vec<(String, String)> {
    let hop_by_hop = named_in_connection(environ);
    let mut env: Vec<(String, String)> = environ
        .vars()
        .iter()
        .filter(|(name, value)| {
            is_env_name(name)
                && !value.contains('\0')
                && !HANDLED_BY_THE_SERVER.contains(&name.as_str())
                && !hop_by_hop.contains(name)
                && !matches!(
                    name.as_str(),
                    "SCRIPT_NAME" | "PATH_INFO" | "CONTENT_LENGTH" | "PATH"
                )
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let mount = environ.get("SCRIPT_NAME").unwrap_or("");
    env.push(("SCRIPT_NAME".into(), format!("{mount}/{}", script.name)));
    env.push(("PATH_INFO".into(), script.extra.clone()));
    let path = script.path.to_string_lossy().into_owned();
    env.push(("SCRIPT_FILENAME".into(), path));
    // §4.1.2: the length of the body the script will read, which for a
    // chunked request is known only now that it has been decoded.
    if input_len > 0 || environ.get("CONTENT_LENGTH").is_some() {
        env.push(("CONTENT_LENGTH".into(), input_len.to_string()));
    }
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    env.push(("PATH".into(), path));
    env
}
// ANCHOR_END: cgi-env

/// The variables of the fields a client's `Connection` header names,
/// which are hop-by-hop too (RFC 9110 §7.6.1): `Connection: X-Trace`
/// makes `HTTP_X_TRACE` the connection's, not the script's.
fn named_in_connection(environ: &Environ<'_>) -> Vec<String> {
    let connection = environ.get("HTTP_CONNECTION").unwrap_or("");
    connection
        .split(',')
        .map(|name| name.trim().to_ascii_uppercase().replace('-', "_"))
        .filter(|name| !name.is_empty())
        .map(|name| format!("HTTP_{name}"))
        .collect()
}

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
        let mut command = process::command(&script.path);
        command
            .env_clear()
            .envs(env)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (running, pipes) =
            process::start(command, self.timeout).map_err(|e| -> u16 {
                eprintln!("[cgi {}] cannot run: {e}", script.name);
                match e.kind() {
                    io::ErrorKind::PermissionDenied => 403,
                    _ => 502,
                }
            })?;
        let (mut stdin, mut stdout, stderr) = pipes;
        // Feed stdin from its own thread, or a script that writes before
        // it reads would wait for us while we wait for it (a deadlock).
        thread::spawn(move || {
            // An error means the script exited or closed stdin without
            // reading everything; that is its right.
            let _ = stdin.write_all(&input);
        });
        let name = script.name.clone();
        thread::spawn(move || log_stderr(&name, stderr));

        let problem = match read_head(&mut stdout) {
            Ok((head, rest)) => match parse_head(&head) {
                Ok((status, headers)) => {
                    let body = ScriptOutput::new(
                        script.name.clone(),
                        stdout,
                        rest,
                        running,
                    );
                    return Ok((status, headers, Body::stream(body)));
                }
                Err(problem) => problem,
            },
            Err(_) if running.timed_out() => {
                eprintln!("[cgi {}] timed out", script.name);
                return Err(504);
            }
            Err(problem) => problem,
        };
        eprintln!("[cgi {}] bad header block: {problem}", script.name);
        Err(502)
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

#[cfg(test)]
mod tests;
