//! The misbehaviours, one function each.
//!
//! Every scenario prints a transcript and returns what happened, so the
//! tests can assert on it. A server that cuts a client off, stalls or
//! resets is *reported*, not an error: that is often the right thing for
//! a server to do. Only a malformed answer is a [`Failure`].

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::conn::{self, BadAnswer, Conn, End, Reply, Transcript};
use crate::wire::{self, Response};

/// The scenarios, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A request in 1-byte writes.
    Fragments,
    /// Three requests in one write.
    Pipeline,
    /// A POST, then `shutdown(Write)`, then read to the end.
    HalfClose,
    /// A head that never ends, one byte at a time.
    Slowloris,
    /// Half a POST body, then a TCP reset.
    Reset,
    /// Pipelined requests on a connection that never reads.
    NoRead,
    /// Many slow requests at once.
    Parallel,
}

impl Scenario {
    /// Every scenario with its name and one line of help.
    pub const ALL: &[(Scenario, &str, &str)] = &[
        (
            Scenario::Fragments,
            "fragments",
            "a GET sent one byte per write",
        ),
        (Scenario::Pipeline, "pipeline", "three GETs in one write"),
        (
            Scenario::HalfClose,
            "half-close",
            "a POST, then shut the write side, read to EOF",
        ),
        (
            Scenario::Slowloris,
            "slowloris",
            "a head that never ends: one byte every --delay-ms",
        ),
        (
            Scenario::Reset,
            "reset",
            "a POST cut off by a TCP reset, then a fresh GET",
        ),
        (
            Scenario::NoRead,
            "no-read",
            "--count pipelined GETs never read, while others are probed",
        ),
        (
            Scenario::Parallel,
            "parallel",
            "--n GET /sleep?ms=--ms at once; do they overlap?",
        ),
    ];

    /// The scenario called `name` on the command line.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(s, _, _)| *s)
    }
}

/// Everything a scenario needs to know; the `Option`s fall back to
/// each scenario's own default.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server, already checked to be loopback.
    pub addr: SocketAddr,
    /// The `Host` header to send (`host:port` as the user wrote it).
    pub host_header: String,
    /// `--path`: the request target.
    pub path: Option<String>,
    /// `--delay-ms`: the pause between dribbled bytes.
    pub delay: Option<Duration>,
    /// `--max-secs`: how long slowloris and no-read may run.
    pub max: Option<Duration>,
    /// `--timeout-ms`: every socket's read and write timeout, and the
    /// longest wait for one whole response.
    pub timeout: Duration,
    /// `--n`: parallel connections.
    pub n: usize,
    /// `--ms`: how long each parallel request asks the server to sleep.
    pub ms: u64,
    /// `--count`: requests pipelined by no-read.
    pub count: usize,
}

impl Settings {
    /// The defaults, against `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Settings {
            addr,
            host_header: addr.to_string(),
            path: None,
            delay: None,
            max: None,
            timeout: Duration::from_secs(10),
            n: 8,
            ms: 500,
            count: 1000,
        }
    }

    fn path_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.path.as_deref().unwrap_or(default)
    }

    /// A GET for `path`, asking the server to close after it if `close`.
    fn get(&self, path: &str, close: bool) -> Vec<u8> {
        let close = if close { "Connection: close\r\n" } else { "" };
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: misbehave\r\n\
             {close}\r\n",
            self.host_header
        )
        .into_bytes()
    }

    fn open(&self) -> Result<Conn, Failure> {
        Conn::open(self.addr, self.timeout).map_err(|e| Failure::Io {
            doing: format!("connect to {}", self.addr),
            error: e,
        })
    }
}

/// Why a scenario could not give a verdict on the server's behaviour.
#[derive(Debug)]
pub enum Failure {
    /// The server's answer broke HTTP/1.1.
    Malformed(BadAnswer),
    /// We could not even start: no server there, or a local error.
    Io {
        /// What we were doing, e.g. `connect to 127.0.0.1:8888`.
        doing: String,
        /// What the OS said.
        error: io::Error,
    },
}

impl From<BadAnswer> for Failure {
    fn from(bad: BadAnswer) -> Self {
        Failure::Malformed(bad)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Malformed(bad) => bad.fmt(f),
            Failure::Io { doing, error } => {
                write!(f, "error: cannot {doing}: {error}")
            }
        }
    }
}

/// What fragments, pipeline and half-close saw: the responses, in
/// order, and how the connection ended after them.
#[derive(Debug)]
pub struct Exchange {
    /// The final (non-1xx) responses, in the order they came.
    pub responses: Vec<Response>,
    /// How the connection ended.
    pub end: End,
}

impl Exchange {
    /// The status codes, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.iter().map(|r| r.status).collect()
    }
}

/// What slowloris saw.
#[derive(Debug)]
pub struct Slowloris {
    /// How long the server put up with us, from the first dribbled byte
    /// until it answered or closed (or until we gave up).
    pub lived: Duration,
    /// How many header bytes we dribbled.
    pub dribbled: usize,
    /// What it answered, if anything (408 is the textbook answer).
    pub response: Option<Response>,
    /// How the connection ended.
    pub end: End,
}

/// What reset saw.
#[derive(Debug)]
pub struct Reset {
    /// The status of the fresh GET sent after the reset, or why there
    /// was none (the server may have died).
    pub after: Result<u16, String>,
}

/// What no-read saw.
#[derive(Debug)]
pub struct NoRead {
    /// How many requests the kernel accepted on the never-read
    /// connection before we stopped.
    pub written: usize,
    /// Whether its writes blocked: the server stopped reading it, as it
    /// should when its answers pile up unread.
    pub blocked: bool,
    /// The other connections: status and latency, or what went wrong.
    pub probes: Vec<Result<(u16, Duration), String>>,
}

/// What parallel saw.
#[derive(Debug)]
pub struct Parallel {
    /// Each request's time from send to whole response, or its error,
    /// in the order the requests were numbered.
    pub took: Vec<Result<Duration, String>>,
    /// The most requests the server worked on at the same time, judged
    /// from when each answer arrived (see [`peak_overlap`]).
    pub peak: usize,
    /// From the first send to the last answer.
    pub wall: Duration,
}

/// The result of any scenario.
#[derive(Debug)]
pub enum Outcome {
    /// fragments, pipeline or half-close.
    Exchange(Exchange),
    /// slowloris.
    Slowloris(Slowloris),
    /// reset.
    Reset(Reset),
    /// no-read.
    NoRead(NoRead),
    /// parallel.
    Parallel(Parallel),
}

/// Runs `scenario`, writing its transcript to `out`.
pub fn run(
    scenario: Scenario,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<Outcome, Failure> {
    Ok(match scenario {
        Scenario::Fragments => Outcome::Exchange(fragments(settings, out)?),
        Scenario::Pipeline => Outcome::Exchange(pipeline(settings, out)?),
        Scenario::HalfClose => Outcome::Exchange(half_close(settings, out)?),
        Scenario::Slowloris => Outcome::Slowloris(slowloris(settings, out)?),
        Scenario::Reset => Outcome::Reset(reset(settings, out)?),
        Scenario::NoRead => Outcome::NoRead(no_read(settings, out)?),
        Scenario::Parallel => Outcome::Parallel(parallel(settings, out)?),
    })
}

/// Reads one final response per method, showing interim `1xx` ones on
/// the way, then insists the server closes with nothing left over.
fn collect(
    conn: &mut Conn,
    t: &mut Transcript<'_>,
    methods: &[&str],
) -> Result<Exchange, BadAnswer> {
    let mut responses = Vec::new();
    for method in methods {
        loop {
            let reply = conn.read_response(method)?;
            t.read_result(&reply);
            let end = match reply {
                // 101 switches protocols: it is the last HTTP/1.1 word.
                Reply::Response(r)
                    if r.status / 100 == 1 && r.status != 101 =>
                {
                    continue;
                }
                Reply::Response(r) => {
                    responses.push(r);
                    break;
                }
                Reply::Closed => End::Closed,
                Reply::TimedOut(_) => End::StillOpen,
                Reply::Failed(e) => End::Failed(e.to_string()),
            };
            // Fewer answers than requests: report what we have.
            t.note(format!(
                "=> {} of {} answered; {end}",
                responses.len(),
                methods.len()
            ));
            return Ok(Exchange { responses, end });
        }
    }
    let end = conn.expect_close()?;
    t.note(format!(
        "=> {} of {} answered; {end}",
        responses.len(),
        methods.len()
    ));
    Ok(Exchange { responses, end })
}

/// `fragments`: a GET in 1-byte writes with `--delay-ms` (default 10)
/// between them. A server that parses whatever one `read` returned sees
/// `G` and nothing else; a correct one buffers until the head is whole.
pub fn fragments(
    s: &Settings,
    out: &mut dyn Write,
) -> Result<Exchange, Failure> {
    let mut t = Transcript::new(out);
    let delay = s.delay.unwrap_or(Duration::from_millis(10));
    let request = s.get(s.path_or("/hello"), true);
    let mut conn = s.open()?;
    // Without TCP_NODELAY the kernel would coalesce our tiny writes
    // (Nagle's algorithm) and the server would see bigger pieces.
    conn.stream().set_nodelay(true).map_err(|e| Failure::Io {
        doing: "set TCP_NODELAY".into(),
        error: e,
    })?;
    // No byte count here: it would change with the port in `Host`.
    t.note(format!(
        "sending this request one byte per write, {delay:?} apart \
         (TCP_NODELAY):"
    ));
    t.sent(&request);
    for (i, byte) in request.iter().enumerate() {
        if let Err(e) = conn.send(&[*byte]) {
            t.note(format!("(write failed after {i} bytes: {e})"));
            break;
        }
        thread::sleep(delay);
    }
    Ok(collect(&mut conn, &mut t, &["GET"])?)
}

/// `pipeline`: three GETs in a single write (`/hello`, `/environ?n=2`,
/// `/hello`, or `--path` three times), the last asking to close. A
/// server must answer all three, in order, with nothing in between.
pub fn pipeline(
    s: &Settings,
    out: &mut dyn Write,
) -> Result<Exchange, Failure> {
    let mut t = Transcript::new(out);
    let paths = match &s.path {
        Some(p) => [p.as_str(); 3],
        None => ["/hello", "/environ?n=2", "/hello"],
    };
    let mut requests = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        requests.extend(s.get(path, i == paths.len() - 1));
    }
    let mut conn = s.open()?;
    t.note("sending three requests in one write:");
    t.sent(&requests);
    if let Err(e) = conn.send(&requests) {
        t.note(format!("(write failed: {e})"));
    }
    Ok(collect(&mut conn, &mut t, &["GET"; 3])?)
}

/// `half-close`: a POST with a small body, then `shutdown(Write)`. The
/// server reads end-of-stream right after the request: it must still
/// answer, because our read side is open.
pub fn half_close(
    s: &Settings,
    out: &mut dyn Write,
) -> Result<Exchange, Failure> {
    let mut t = Transcript::new(out);
    let body = "greeting=hello";
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: misbehave\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        s.path_or("/hello"),
        s.host_header,
        body.len()
    );
    let mut conn = s.open()?;
    t.sent(request.as_bytes());
    if let Err(e) = conn.send(request.as_bytes()) {
        t.note(format!("(write failed: {e})"));
    }
    match conn.stream().shutdown(Shutdown::Write) {
        Ok(()) => t.note("(shut down our write side: the server reads EOF)"),
        Err(e) => t.note(format!("(shutdown failed: {e})")),
    }
    Ok(collect(&mut conn, &mut t, &["POST"])?)
}

/// `slowloris`: the request line and `Host`, then one header byte every
/// `--delay-ms` (default 1000) for at most `--max-secs` (default 30). A
/// server without a request timeout keeps the connection (and whatever
/// it costs) forever; a good one answers 408 and closes.
pub fn slowloris(
    s: &Settings,
    out: &mut dyn Write,
) -> Result<Slowloris, Failure> {
    let mut t = Transcript::new(out);
    let delay = s.delay.unwrap_or(Duration::from_secs(1));
    let max = s.max.unwrap_or(Duration::from_secs(30));
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: misbehave\r\n",
        s.path_or("/hello"),
        s.host_header
    );
    let mut conn = s.open()?;
    conn.stream().set_nodelay(true).map_err(|e| Failure::Io {
        doing: "set TCP_NODELAY".into(),
        error: e,
    })?;
    t.sent(head.as_bytes());
    t.note(format!(
        "then one header byte every {delay:?}, for at most {max:?}:"
    ));
    let start = Instant::now();
    let mut header = b"X-Slowloris: "
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'));
    let mut dribbled = Vec::new();
    // None: we gave up waiting; Some: the server did something.
    let stopped: Option<Option<io::Error>> = match conn.send(head.as_bytes()) {
        Err(e) => Some(Some(e)),
        Ok(()) => loop {
            let left = max.saturating_sub(start.elapsed());
            if left.is_zero() {
                break None;
            }
            // Sleep by listening, so a 408 or a close is seen at once.
            match conn.wait_for_server(delay.min(left)) {
                Ok(true) => break Some(None),
                Ok(false) => {}
                Err(e) => break Some(Some(e)),
            }
            if start.elapsed() >= max {
                break None;
            }
            let byte = header.next().unwrap_or(b'a');
            if let Err(e) = conn.send(&[byte]) {
                break Some(Some(e));
            }
            dribbled.push(byte);
        },
    };
    let lived = start.elapsed();
    t.note(format!(
        "> {}  ({} bytes)",
        wire::escape(&dribbled),
        dribbled.len()
    ));
    let mut outcome = Slowloris {
        lived,
        dribbled: dribbled.len(),
        response: None,
        end: End::StillOpen,
    };
    match stopped {
        None => {
            t.note(format!(
                "=> still open {}: the server would have waited longer \
                 (we gave up at --max-secs)",
                when(lived)
            ));
            return Ok(outcome);
        }
        Some(Some(e)) => t.note(format!("({}: {e})", when(lived))),
        Some(None) => {
            t.note(format!("(the server spoke or closed {})", when(lived)));
        }
    }
    // A write error may still leave the server's last words unread.
    let reply = conn.read_response("GET")?;
    t.read_result(&reply);
    outcome.end = match reply {
        Reply::Response(r) => {
            outcome.response = Some(r);
            conn.expect_close()?
        }
        Reply::Closed => End::Closed,
        Reply::TimedOut(_) => End::StillOpen,
        Reply::Failed(e) => End::Failed(e.to_string()),
    };
    let answer = match &outcome.response {
        Some(r) => format!("answered {} {}", r.status, r.reason),
        None => "sent no answer".into(),
    };
    if lived < AT_ONCE {
        // It answered a head that was never complete: it did not wait.
        t.note(format!(
            "=> the server did not wait for the head: it {answer} at once; {}",
            outcome.end
        ));
    } else {
        t.note(format!(
            "=> the server let slowloris live {} and {answer}; {}",
            when(lived).trim_start_matches("after "),
            outcome.end
        ));
    }
    Ok(outcome)
}

/// Sooner than this, the server did not wait for us at all.
const AT_ONCE: Duration = Duration::from_millis(100);

/// `at once`, `after 312.50ms`, or `after about 10s`: a few
/// microseconds more or less of an immediate answer are noise, not news,
/// and so are a few hundred milliseconds more of a timeout of seconds.
fn when(lived: Duration) -> String {
    if lived < AT_ONCE {
        "at once".to_string()
    } else if lived < Duration::from_secs(2) {
        format!("after {lived:.2?}")
    } else {
        format!("after about {:.0}s", lived.as_secs_f64())
    }
}

/// `reset`: a POST head announcing 1 MiB, a few body bytes, then a TCP
/// reset (RST) instead of the rest. The server must drop that one
/// connection and go on; a fresh GET checks that it does.
pub fn reset(s: &Settings, out: &mut dyn Write) -> Result<Reset, Failure> {
    let mut t = Transcript::new(out);
    let path = s.path_or("/hello");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: misbehave\r\n\
         Content-Length: 1048576\r\n\r\n",
        s.host_header
    )
    .into_bytes();
    request.extend_from_slice(b"only these bytes of the promised MiB");
    let mut conn = s.open()?;
    // Let the server accept before the bytes arrive, so that a --trace
    // shows the same steps every time.
    thread::sleep(RESET_SETTLE);
    t.sent(&request);
    if let Err(e) = conn.send(&request) {
        t.note(format!("(write failed: {e})"));
    }
    // Let the server read the head and settle into waiting for the body
    // (generously: a loaded machine must not turn this into a reset
    // before the head, which teaches something else).
    thread::sleep(Duration::from_millis(200));
    // SO_LINGER with a zero timeout makes close() send RST, not FIN.
    let linger = socket2::SockRef::from(&*conn.stream())
        .set_linger(Some(Duration::ZERO));
    drop(conn);
    match linger {
        Ok(()) => t.note("(reset: SO_LINGER 0, then close, sends RST)"),
        Err(e) => t.note(format!("(SO_LINGER failed, closed normally: {e})")),
    }
    thread::sleep(Duration::from_millis(100));

    t.note("a fresh connection, to see whether the server survived:");
    let request = s.get(path, true);
    t.sent(&request);
    let after = match Conn::open(s.addr, s.timeout) {
        Err(e) => Err(format!("cannot connect any more: {e}")),
        Ok(mut conn) => {
            thread::sleep(RESET_SETTLE);
            match conn.send(&request) {
                Err(e) => Err(format!("write failed: {e}")),
                Ok(()) => {
                    let reply = conn.read_response("GET")?;
                    t.read_result(&reply);
                    match reply {
                        Reply::Response(r) => Ok(r.status),
                        Reply::Closed => Err("closed without answering".into()),
                        Reply::TimedOut(_) => Err("no answer in time".into()),
                        Reply::Failed(e) => Err(e.to_string()),
                    }
                }
            }
        }
    };
    match &after {
        Ok(status) => t.note(format!("=> still serving: {status}")),
        Err(e) => t.note(format!("=> the server stopped serving: {e}")),
    }
    Ok(Reset { after })
}

/// How long `reset` waits between connecting and sending.
const RESET_SETTLE: Duration = Duration::from_millis(100);

/// How many of `no-read`'s requests go in one write.
const NO_READ_BATCH: usize = 64;

/// A write of `no-read`'s that takes this long waited for the server.
const NO_READ_WAITED: Duration = Duration::from_millis(100);

/// `no-read`: connection A pipelines `--count` GETs for `--path` (default
/// `/`) and never reads a byte of the answers, which pile up in the
/// socket buffers until the server's writes would block. Meanwhile fresh
/// connections ask for `/hello`, one after another, for `--max-secs`
/// (default 5): their latencies show whether the server serves others
/// while one client's answers are stuck.
pub fn no_read(s: &Settings, out: &mut dyn Write) -> Result<NoRead, Failure> {
    let mut t = Transcript::new(out);
    let max = s.max.unwrap_or(Duration::from_secs(5));
    let one = s.get(s.path_or("/"), false);
    let hog = conn::connect(s.addr, s.timeout).map_err(|e| Failure::Io {
        doing: format!("connect to {}", s.addr),
        error: e,
    })?;
    t.note(format!(
        "connection A sends {} of these, pipelined, and never reads:",
        s.count
    ));
    t.sent(&one);
    let deadline = Instant::now() + max;
    let count = s.count;
    let hog = thread::spawn(move || {
        let mut stream = hog;
        let mut written = 0;
        let mut blocked = false;
        // A batch of requests per write: the buffers fill in thousands of
        // writes rather than a hundred thousand, even on a busy machine.
        // Only whole batches are counted.
        let batch = one.repeat(NO_READ_BATCH);
        while written < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero()
                || stream
                    .set_write_timeout(Some(left.max(Duration::from_millis(1))))
                    .is_err()
            {
                break;
            }
            let n = NO_READ_BATCH.min(count - written);
            let started = Instant::now();
            match stream.write_all(&batch[..n * one.len()]) {
                Ok(()) => {
                    written += n;
                    // A write with room in the buffers takes microseconds;
                    // one that waited was held up by the server. (The
                    // kernel may grow the buffer while we wait, so the
                    // write can still go through in the end.)
                    blocked |= started.elapsed() >= NO_READ_WAITED;
                }
                Err(e) => {
                    blocked |= conn::is_timeout(&e);
                    break;
                }
            }
        }
        // Keep A open (and unread) until the probes are done.
        (stream, written, blocked)
    });

    let probe = s.get("/hello", true);
    t.note(format!("meanwhile, fresh connections for {max:?}:"));
    t.sent(&probe);
    let mut probes = Vec::new();
    while Instant::now() < deadline && probes.len() < 1000 {
        let start = Instant::now();
        let result = match Conn::open(s.addr, s.timeout) {
            Err(e) => Err(format!("connect: {e}")),
            Ok(mut conn) => match conn.send(&probe) {
                Err(e) => Err(format!("write: {e}")),
                Ok(()) => match conn.read_response("GET")? {
                    Reply::Response(r) => Ok((r.status, start.elapsed())),
                    Reply::Closed => Err("closed without answering".into()),
                    Reply::TimedOut(_) => Err("no answer in time".into()),
                    Reply::Failed(e) => Err(e.to_string()),
                },
            },
        };
        probes.push(result);
        thread::sleep(Duration::from_millis(50));
    }
    let (written, blocked) = match hog.join() {
        Ok((stream, written, blocked)) => {
            drop(stream);
            (written, blocked)
        }
        Err(_) => (0, false),
    };
    t.note(format!(
        "=> A: {written} of {count} requests written{}",
        if blocked {
            ", then our writes blocked: the server stopped reading A"
        } else {
            " without blocking"
        }
    ));
    let mut ok: Vec<Duration> = probes
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|p| p.1)
        .collect();
    ok.sort();
    if let (Some(fastest), Some(slowest)) = (ok.first(), ok.last()) {
        t.note(format!(
            "=> others: {} of {} answered; latency min {fastest:.2?}, \
             median {:.2?}, max {slowest:.2?}",
            ok.len(),
            probes.len(),
            ok[ok.len() / 2]
        ));
    } else {
        t.note(format!("=> others: none of {} answered", probes.len()));
    }
    for error in probes.iter().filter_map(|p| p.as_ref().err()) {
        t.note(format!("   failed: {error}"));
    }
    Ok(NoRead {
        written,
        blocked,
        probes,
    })
}

/// The most of `windows` (start, end) that share a moment in time.
///
/// Parallel judges when the server worked on a request by when its
/// answer came: a request asking for `ms` of sleep was being served
/// during the `ms` before its answer. Each window is shrunk by a tenth of
/// its length at both ends so that one answer following another
/// back-to-back (a serial server) does not count as overlap.
pub fn peak_overlap(windows: &[(Duration, Duration)]) -> usize {
    let mut events: Vec<(Duration, i32)> = Vec::new();
    for &(start, end) in windows {
        let margin = (end.saturating_sub(start)) / 10;
        let (start, end) = (start + margin, end.saturating_sub(margin));
        if start < end {
            events.push((start, 1));
            events.push((end, -1));
        }
    }
    // At equal times, ends sort before starts: touching is not overlap.
    events.sort();
    let mut now = 0;
    let mut peak = 0;
    for (_, change) in events {
        now += change;
        peak = peak.max(now);
    }
    usize::try_from(peak).unwrap_or(0)
}

/// `parallel`: `--n` connections (default 8) send `GET /sleep?ms=M`
/// (`--ms`, default 500) at the same moment. Part 3 runs the app on its
/// one thread, so the answers come one after another; part 4's workers
/// overlap them. The report lists the answers in the order they came.
pub fn parallel(
    s: &Settings,
    out: &mut dyn Write,
) -> Result<Parallel, Failure> {
    let mut t = Transcript::new(out);
    let request = s.get(&format!("{}?ms={}", s.path_or("/sleep"), s.ms), true);
    t.note(format!("{} connections send at the same moment:", s.n));
    t.sent(&request);
    // All connect first, then all send together.
    let barrier = Arc::new(Barrier::new(s.n));
    let threads: Vec<_> = (0..s.n)
        .map(|_| {
            let (barrier, request) = (Arc::clone(&barrier), request.clone());
            let (addr, timeout) = (s.addr, s.timeout);
            thread::spawn(move || {
                let conn = Conn::open(addr, timeout);
                // Wait even after a failed connect, or the others would
                // wait for us forever.
                barrier.wait();
                let start = Instant::now();
                let mut conn = match conn {
                    Ok(conn) => conn,
                    Err(e) => return Ok(Err(format!("connect: {e}"))),
                };
                if let Err(e) = conn.send(&request) {
                    return Ok(Err(format!("write: {e}")));
                }
                Ok(match conn.read_response("GET") {
                    Err(bad) => return Err(bad),
                    Ok(Reply::Response(r)) => {
                        Ok((r.status, start, Instant::now()))
                    }
                    Ok(Reply::Closed) => Err("closed without answering".into()),
                    Ok(Reply::TimedOut(_)) => Err("no answer in time".into()),
                    Ok(Reply::Failed(e)) => Err(e.to_string()),
                })
            })
        })
        .collect();
    let mut results = Vec::new();
    for thread in threads {
        let result = match thread.join() {
            Ok(Ok(result)) => result,
            Ok(Err(bad)) => return Err(Failure::Malformed(bad)),
            Err(_) => Err("client thread panicked".into()),
        };
        results.push(result);
    }
    let Some(t0) = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| r.1)
        .min()
    else {
        t.note("=> no request was answered");
        return Ok(Parallel {
            took: results
                .into_iter()
                .map(|r| r.map(|_| Duration::ZERO))
                .collect(),
            peak: 0,
            wall: Duration::ZERO,
        });
    };
    let sleep = Duration::from_millis(s.ms);
    let mut windows = Vec::new();
    let mut wall = Duration::ZERO;
    // In the order the answers came, so the rounds of a pool show.
    let mut answered: Vec<_> = results.iter().flatten().collect();
    answered.sort_by_key(|(_, _, end)| *end);
    for (status, start, end) in answered {
        let (start, end) = (*start - t0, *end - t0);
        t.note(format!(
            "  {status}  sent at {start:>8.2?}, answered at {end:>8.2?} \
             (took {:>8.2?})",
            end - start
        ));
        windows.push((start.max(end.saturating_sub(sleep)), end));
        wall = wall.max(end);
    }
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        t.note(format!("  failed: {e}"));
    }
    let peak = peak_overlap(&windows);
    t.note(format!(
        "=> {} answered in {wall:.2?}; at most {peak} served at the same \
         time{}",
        windows.len(),
        if peak <= 1 { " (serialised)" } else { "" }
    ));
    Ok(Parallel {
        took: results
            .into_iter()
            .map(|r| r.map(|(_, start, end)| end - start))
            .collect(),
        peak,
        wall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(a: u64, b: u64) -> (Duration, Duration) {
        (Duration::from_millis(a), Duration::from_millis(b))
    }

    #[test]
    fn overlap_of_answer_windows() {
        // Serial: each answer 500 ms after the one before.
        let serial = [ms(0, 500), ms(500, 1000), ms(1000, 1500)];
        assert_eq!(peak_overlap(&serial), 1);
        // A little jitter still reads as serial.
        assert_eq!(peak_overlap(&[ms(0, 510), ms(490, 1000)]), 1);
        // Together.
        let together = [ms(0, 500), ms(5, 505), ms(10, 510), ms(600, 1100)];
        assert_eq!(peak_overlap(&together), 3);
        assert_eq!(peak_overlap(&[]), 0);
    }

    #[test]
    fn how_long_reads_as_a_person_would_say_it() {
        assert_eq!(when(Duration::from_micros(170)), "at once");
        assert_eq!(when(Duration::from_millis(312)), "after 312.00ms");
        assert_eq!(when(Duration::from_millis(10_300)), "after about 10s");
        assert_eq!(when(Duration::from_millis(9_700)), "after about 10s");
    }

    #[test]
    fn every_scenario_has_a_name() {
        for (scenario, name, _) in Scenario::ALL {
            assert_eq!(Scenario::from_name(name), Some(*scenario));
        }
        assert_eq!(Scenario::from_name("Pipeline"), None);
    }
}
