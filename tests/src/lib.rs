//! The harness of the shared integration suite.
//!
//! Every check in `tests/` runs against each part it is marked for: the
//! [`check!`] macro turns one check into a `#[test]` per part, so a later
//! part only adds itself to a mark. A check marked `Part4` runs against
//! both of part 4's dispatchers, `Part4` (plain) and `Part4Fast`. The
//! harness starts a part in-process on port 0 ([`start`]) or as its real
//! binary ([`Binary`]), and [`client`] speaks raw bytes to it, as `nc`
//! would.

pub mod client;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// The parts a check can be marked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// `part1-hello`: one client at a time, one read, then close.
    Part1,
    /// `part2-gateway`: HTTP/1.1 and the gateway, one client at a time.
    Part2,
    /// `part3-selectors`: one thread, a readiness loop, many clients.
    Part3,
    /// `part4-threads`: part 3's loop with a pool of worker threads.
    Part4,
    /// `part4-threads --dispatch fast`: part 4 with its tuned pool and
    /// dispatcher. Never marked by hand: a check marked `Part4` runs
    /// against it too.
    Part4Fast,
}

impl Part {
    /// The name of the part's main binary.
    pub fn binary(self) -> &'static str {
        match self {
            Part::Part1 => "part1-hello",
            Part::Part2 => "part2-gateway",
            Part::Part3 => "part3-selectors",
            Part::Part4 | Part::Part4Fast => "part4-threads",
        }
    }

    /// The flags that make the part's binary this part.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Part::Part4Fast => &["--dispatch", "fast"],
            _ => &[],
        }
    }
}

/// How a test wants the server set up; each part uses what it has.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the server waits for a request (part 1: its one read;
    /// later parts: a whole head) before giving up.
    pub read_timeout: Duration,
    /// The longest a request body may stall, and the most time it can
    /// bank by arriving fast (parts 2+).
    pub body_timeout: Duration,
    /// The slowest a request body may arrive, in bytes per second
    /// (parts 2+); 0 for no rate, only `body_timeout` between reads.
    pub body_min_rate: u64,
    /// The most of a request body kept in memory; past it the body goes
    /// to a temporary file (parts 3+).
    pub body_in_memory: usize,
    /// Where those files go (parts 3+); `None` for the system's
    /// temporary directory.
    pub spool_dir: Option<PathBuf>,
    /// How long an idle keep-alive connection is kept (parts 2+).
    pub idle_timeout: Duration,
    /// The app to run (parts 2+), by its `--app` name.
    pub app: &'static str,
    /// The largest request body accepted (parts 2+).
    pub max_body: u64,
    /// The most connections served at once (parts 3+).
    pub max_connections: usize,
    /// Worker threads that run the app (part 4).
    pub workers: usize,
    /// Requests that may wait for a worker before 503 (part 4).
    pub queue: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(5),
            body_min_rate: 500,
            body_in_memory: 64 * 1024,
            spool_dir: None,
            app: "hello",
            max_body: 1024 * 1024,
            max_connections: 20_000,
            workers: 8,
            queue: 1024,
        }
    }
}

impl Options {
    /// The default options with another app.
    pub fn app(app: &'static str) -> Self {
        Options {
            app,
            ..Options::default()
        }
    }

    /// Short timeouts, for checks about slow or silent clients.
    pub fn short_timeouts() -> Self {
        Options {
            read_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(300),
            body_timeout: Duration::from_millis(300),
            ..Options::default()
        }
    }
}

/// The gateway configuration the options ask for (parts 2+).
fn gateway_config(options: &Options) -> part2_gateway::Config {
    let mut config = part2_gateway::Config {
        request_timeout: options.read_timeout,
        body_timeout: body_timeout(options),
        keep_alive_timeout: options.idle_timeout,
        access_log: false,
        ..Default::default()
    };
    config.limits.max_body = options.max_body;
    config
}

/// How the options time a request body.
fn body_timeout(options: &Options) -> part2_gateway::body::BodyTimeout {
    part2_gateway::body::BodyTimeout {
        stall: options.body_timeout,
        min_rate: options.body_min_rate,
    }
}

/// The loop configuration the options ask for (parts 3+).
pub fn loop_config(options: &Options) -> part3_selectors::Config {
    let mut config = part3_selectors::Config {
        request_timeout: options.read_timeout,
        body_timeout: body_timeout(options),
        idle_timeout: options.idle_timeout,
        max_connections: options.max_connections,
        access_log: false,
        ..Default::default()
    };
    config.limits.max_body = options.max_body;
    config.limits.body_in_memory = options.body_in_memory;
    if let Some(dir) = &options.spool_dir {
        config.spool_dir.clone_from(dir);
    }
    config
}

/// The app the options name, from the shipped apps.
pub fn app(options: &Options) -> part2_gateway::SharedApp {
    let dirs = part2_gateway::apps::AppOptions::default();
    part2_gateway::apps::by_name(options.app, &dirs).expect("a shipped app")
}

/// A part serving in-process on a free port; dropping it stops it.
pub struct TestServer {
    addr: SocketAddr,
    /// The part's own handle; dropping it stops the server. Declared
    /// before `workers`, so dropped first: the connections must be gone
    /// before the pool is joined, or a worker could wait on one forever.
    _handle: Box<dyn Send>,
    workers: Option<Workers>,
}

impl TestServer {
    /// A server of the caller's own, listening on `addr`, that stops when
    /// `handle` is dropped (an exercise solution, say).
    pub fn new(addr: SocketAddr, handle: impl Send + 'static) -> Self {
        TestServer {
            addr,
            _handle: Box::new(handle),
            workers: None,
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Part 4's workers, whichever dispatcher runs them.
    ///
    /// # Panics
    ///
    /// For a server that has no worker pool (parts 1 to 3).
    pub fn workers(&self) -> &Workers {
        self.workers.as_ref().expect("only part 4 has workers")
    }
}

/// Part 4's pool and dispatcher seen from outside, the same way for the
/// plain and the fast one. Holds the pool: dropping the last holder
/// joins the workers.
pub struct Workers {
    live: Box<dyn Fn() -> usize + Send + Sync>,
    in_flight: Box<dyn Fn() -> usize + Send + Sync>,
}

impl Workers {
    /// Worker threads running now.
    pub fn live(&self) -> usize {
        (self.live)()
    }

    /// Jobs queued, running or parked now.
    pub fn in_flight(&self) -> usize {
        (self.in_flight)()
    }
}

/// Starts `part` in-process on 127.0.0.1, port 0.
pub fn start(part: Part, options: &Options) -> TestServer {
    match part {
        Part::Part1 => start_with_app(part, options, None),
        _ => start_with_app(part, options, Some(app(options))),
    }
}

/// Starts `part` with an app of the test's own (parts 2+; part 1 has
/// no apps and ignores it).
pub fn start_with_app(
    part: Part,
    options: &Options,
    app: Option<part2_gateway::SharedApp>,
) -> TestServer {
    let app = || app.clone().expect("parts 2+ need an app");
    match part {
        Part::Part1 => {
            let config = part1_hello::Config {
                read_timeout: options.read_timeout,
                echo_requests: false,
            };
            let server = part1_hello::Server::bind("127.0.0.1:0", config)
                .expect("bind 127.0.0.1:0");
            let handle = server.spawn().expect("spawn server thread");
            TestServer::new(handle.addr(), handle)
        }
        Part::Part2 => {
            let server = part2_gateway::Server::bind(
                "127.0.0.1:0",
                app(),
                gateway_config(options),
            )
            .expect("bind 127.0.0.1:0");
            let handle = server.spawn().expect("spawn server thread");
            TestServer::new(handle.addr(), handle)
        }
        Part::Part3 => {
            let dispatch = part3_selectors::Inline::new(app());
            let addr = "127.0.0.1:0".parse().expect("address");
            let server = part3_selectors::EventLoop::bind(
                addr,
                dispatch,
                loop_config(options),
            )
            .expect("bind 127.0.0.1:0");
            let handle = server.spawn().expect("spawn event loop");
            TestServer::new(handle.addr(), handle)
        }
        Part::Part4 | Part::Part4Fast => {
            start_threaded(part, app(), options, loop_config(options))
        }
    }
}

/// Starts part 4 (`part`: `Part4` or `Part4Fast`, which dispatcher) with
/// `app` and a loop `config` of the test's own; the pool is sized by
/// `options.workers` and `options.queue`.
///
/// # Panics
///
/// For any other part.
pub fn start_threaded(
    part: Part,
    app: part2_gateway::SharedApp,
    options: &Options,
    config: part3_selectors::Config,
) -> TestServer {
    let addr = "127.0.0.1:0".parse().expect("address");
    let (size, queue) = (options.workers, options.queue);
    // The plain and the fast pool and dispatcher have the same methods but
    // share no trait: one body, for the module named.
    macro_rules! serve_with {
        ($($module:ident)::+) => {{
            use $($module)::+::{Pool, Threaded};
            let pool = Arc::new(Pool::new(size, queue).expect("workers"));
            let dispatch = Threaded::new(app, Arc::clone(&pool));
            let monitor = dispatch.monitor();
            let server =
                part3_selectors::EventLoop::bind(addr, dispatch, config)
                    .expect("bind 127.0.0.1:0");
            let workers = Workers {
                live: Box::new(move || pool.live_workers()),
                in_flight: Box::new(move || monitor.in_flight()),
            };
            (server.spawn().expect("spawn event loop"), workers)
        }};
    }
    let (handle, workers) = match part {
        Part::Part4 => serve_with!(part4_threads),
        Part::Part4Fast => serve_with!(part4_threads::fast),
        other => panic!("{other:?} has no worker pool"),
    };
    TestServer {
        addr: handle.addr(),
        _handle: Box::new(handle),
        workers: Some(workers),
    }
}

/// Defines one check and a `#[test]` for every part it is marked with.
///
/// ```ignore
/// check!(hello_body, [Part1], |s| { /* s: &TestServer */ });
/// check!(silent, [Part1], options(short_timeout()), |s| { ... });
/// check!(sigint, [Part4], own_server, |part| { /* part: Part */ });
/// check!(
///     overtakes,
///     [Part4],
///     lesson([Part2, Part3], "the fast request waited for the slow one"),
///     own_server,
///     |part| { ... }
/// );
/// ```
///
/// Each check becomes a module holding one test per part, named
/// `check::Part1`, so `cargo test hello_body` runs it everywhere. The
/// first two forms start the part with [`start`]; with `own_server`, the
/// check is handed the part and starts what it needs itself (its real
/// binary, a custom app, a loop of its own settings).
///
/// `lesson([…], "…")` names the parts that fail the check on purpose:
/// what their chapter teaches, such as part 2 serving one client at a
/// time. The check runs against them too, and there it must fail, with
/// a panic whose message contains the text given (`should_panic`): an
/// assertion of the check that states what those parts do instead. The
/// book's matrix marks them apart from the parts the check does not
/// apply to.
///
/// `Part4` stands for both of part 4's dispatchers: it makes a test
/// `check::Part4` and a test `check::Part4Fast`.
#[macro_export]
macro_rules! check {
    (
        $name:ident,
        [$($part:ident),+ $(,)?],
        lesson([$($lesson:ident),+ $(,)?], $fails:literal),
        own_server,
        $body:expr $(,)?
    ) => {
        #[allow(non_snake_case)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $( $crate::__check_test!($part, $body); )+
            $( $crate::__check_lesson!($lesson, $fails, $body); )+
        }
    };
    (
        $name:ident,
        [$($part:ident),+ $(,)?],
        lesson([$($lesson:ident),+ $(,)?], $fails:literal),
        options($opts:expr),
        $body:expr $(,)?
    ) => {
        $crate::check!(
            $name,
            [$($part),+],
            lesson([$($lesson),+], $fails),
            own_server,
            $crate::__check_with_options!($opts, $body)
        );
    };
    (
        $name:ident,
        [$($part:ident),+ $(,)?],
        lesson([$($lesson:ident),+ $(,)?], $fails:literal),
        $body:expr $(,)?
    ) => {
        $crate::check!(
            $name,
            [$($part),+],
            lesson([$($lesson),+], $fails),
            options(Default::default()),
            $body
        );
    };
    ($name:ident, [$($part:ident),+ $(,)?], own_server, $body:expr $(,)?) => {
        #[allow(non_snake_case)]
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $( $crate::__check_test!($part, $body); )+
        }
    };
    (
        $name:ident,
        [$($part:ident),+ $(,)?],
        options($opts:expr),
        $body:expr $(,)?
    ) => {
        $crate::check!(
            $name,
            [$($part),+],
            own_server,
            $crate::__check_with_options!($opts, $body)
        );
    };
    ($name:ident, [$($part:ident),+ $(,)?], $body:expr $(,)?) => {
        $crate::check!($name, [$($part),+], options(Default::default()), $body);
    };
}

/// The `own_server` body of a check that starts the part with `options`.
#[doc(hidden)]
#[macro_export]
macro_rules! __check_with_options {
    ($opts:expr, $body:expr) => {
        |part| {
            let options: $crate::Options = $opts;
            let server = $crate::start(part, &options);
            let check: fn(&$crate::TestServer) = $body;
            check(&server);
        }
    };
}

/// One `#[test]` of a check, for one mark; `Part4` makes two.
#[doc(hidden)]
#[macro_export]
macro_rules! __check_test {
    (@one $part:ident, $run:expr) => {
        #[test]
        fn $part() {
            let run: fn($crate::Part) = $run;
            run($crate::Part::$part);
        }
    };
    (Part4, $run:expr) => {
        $crate::__check_test!(@one Part4, $run);
        $crate::__check_test!(@one Part4Fast, $run);
    };
    ($part:ident, $run:expr) => {
        $crate::__check_test!(@one $part, $run);
    };
}

/// One `#[test]` of a check for a part that fails it on purpose: the
/// check must panic, with `$fails` in its message. `Part4` makes two.
#[doc(hidden)]
#[macro_export]
macro_rules! __check_lesson {
    (@one $part:ident, $fails:literal, $run:expr) => {
        #[test]
        #[should_panic(expected = $fails)]
        fn $part() {
            let run: fn($crate::Part) = $run;
            run($crate::Part::$part);
        }
    };
    (Part4, $fails:literal, $run:expr) => {
        $crate::__check_lesson!(@one Part4, $fails, $run);
        $crate::__check_lesson!(@one Part4Fast, $fails, $run);
    };
    ($part:ident, $fails:literal, $run:expr) => {
        $crate::__check_lesson!(@one $part, $fails, $run);
    };
}

/// A part running as its real binary, as a reader runs it.
pub struct Binary {
    child: Child,
    addr: SocketAddr,
    /// The first line it printed on stdout.
    pub serving_line: String,
    /// The lines it printed after that, for a binary started with
    /// [`spawn_logged`](Self::spawn_logged); any other drops them.
    lines: Option<Receiver<String>>,
}

impl Binary {
    /// Runs `name --port 0 args…` and waits for its serving line.
    pub fn spawn(name: &str, args: &[&str]) -> Binary {
        Self::spawn_command(Command::new(binary_path(name)), name, args, false)
    }

    /// Runs `part`'s binary (with the flags that make it that part, see
    /// [`Part::args`]) and `args`.
    pub fn spawn_part(part: Part, args: &[&str]) -> Binary {
        Self::spawn(part.binary(), &part_args(part, args))
    }

    /// Like [`spawn_part`](Self::spawn_part), keeping what the binary
    /// prints for [`next_line`](Self::next_line): for checks that watch
    /// its log or `--trace`, as a reader watches the terminal.
    pub fn spawn_logged(part: Part, args: &[&str]) -> Binary {
        let command = Command::new(binary_path(part.binary()));
        let args = part_args(part, args);
        Self::spawn_command(command, part.binary(), &args, true)
    }

    /// Like [`spawn`](Self::spawn), with at most `limit` open files
    /// (`ulimit -n`), to see how the server copes with `EMFILE`. Unix
    /// only: Windows has no limit on open handles to lower.
    #[cfg(unix)]
    pub fn spawn_with_fd_limit(
        name: &str,
        args: &[&str],
        limit: u32,
    ) -> Binary {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
            .arg(binary_path(name));
        Self::spawn_command(command, name, args, false)
    }

    fn spawn_command(
        mut command: Command,
        name: &str,
        args: &[&str],
        keep_lines: bool,
    ) -> Binary {
        let mut child = command
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = read_lines(stdout);
        // The child prints its serving line right after binding; if it
        // dies instead, its stdout ends and we fail here.
        let line = lines
            .recv_timeout(client::TIMEOUT)
            .unwrap_or_else(|e| panic!("no serving line from {name}: {e}"));
        let addr = parse_serving_line(&line)
            .unwrap_or_else(|| panic!("{name} printed {line:?}"));
        Binary {
            child,
            addr,
            serving_line: line.trim_end().to_string(),
            lines: keep_lines.then_some(lines),
        }
    }

    /// The next line the binary printed, waiting for it at most
    /// [`client::TIMEOUT`], so a server that stays silent fails the check
    /// instead of hanging it.
    ///
    /// # Panics
    ///
    /// If no line comes in time, or for a binary not started with
    /// [`spawn_logged`](Self::spawn_logged).
    pub fn next_line(&self) -> String {
        let lines = self.lines.as_ref().expect("started with spawn_logged");
        lines
            .recv_timeout(client::TIMEOUT)
            .unwrap_or_else(|e| panic!("no line from the server: {e}"))
    }

    /// The lines the binary prints next, up to and including the first
    /// that starts with `prefix`.
    pub fn lines_until(&self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.next_line();
            let done = line.starts_with(prefix);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Where the binary listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the process has used so far (user + system), from
    /// `/proc/PID/stat` (Linux), in clock ticks of 1/100 s.
    #[cfg(target_os = "linux")]
    pub fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
                .expect("read /proc/PID/stat");
        // Fields after the command name, which is in parentheses.
        let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let utime: u64 = fields[11].parse().expect("utime");
        let stime: u64 = fields[12].parse().expect("stime");
        utime + stime
    }

    /// Sends a signal (e.g. `"INT"`) with the `kill` command. Unix only:
    /// Windows delivers Ctrl-C to a console, not to a process.
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit, at most `timeout`; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The flags that make `part`'s binary that part, then `args`.
fn part_args<'a>(part: Part, args: &[&'a str]) -> Vec<&'a str> {
    part.args().iter().chain(args).copied().collect()
}

/// Each line `stdout` prints, without its line end, on a channel. Once
/// the receiver is gone the rest is drained unread: a child whose pipe
/// fills up would block on its next write.
fn read_lines(stdout: ChildStdout) -> Receiver<String> {
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = Vec::new();
        while stdout.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&line);
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            if send.send(text.to_string()).is_err() {
                let _ = std::io::copy(&mut stdout, &mut std::io::sink());
                return;
            }
            line.clear();
        }
    });
    lines
}

/// The address in `Serving HTTP on http://HOST:PORT/ ...`.
pub fn parse_serving_line(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("Serving HTTP on http://")?;
    let (addr, tail) = rest.split_once('/')?;
    if tail.trim_end() != " ..." {
        return None;
    }
    addr.parse().ok()
}

/// The path of a workspace binary, built by `cargo test --workspace`
/// because each part has integration tests of its own.
pub fn binary_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/debug/deps/this-test → target/debug/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace` (or `cargo build`)",
        path.display()
    );
    path
}
