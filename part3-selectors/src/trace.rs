//! What the loop prints on stdout, and `--trace`.
//!
//! Access-log lines, `--verbose` heads and trace lines all go into one
//! buffer that the loop writes once per turn, so they come out in the
//! order they happened at the cost of one `write`. With `--trace`, every
//! readiness event and every change of phase gets a line:
//!
//! ```text
//! trace #3 accept 127.0.0.1:50312
//! trace #3 read 18 bytes
//! trace #3 Idle -> Head
//! trace #3 Head -> Respond GET /hello
//! trace #3 wrote 150 bytes
//! trace #3 Respond -> Idle
//! trace #3 close: client closed
//! ```
//!
//! `#3` is the connection's serial number: one word after it names the
//! event, the rest are details. The flag is part 1's
//! ([`part1_hello::cli::TRACE_FLAG`]), the same in every part.

use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};

use crate::connection::ConnId;

/// Writes one trace line if tracing is on. Nothing is formatted when it
/// is off: the cost is one branch.
macro_rules! trace {
    ($log:expr, $id:expr, $($event:tt)+) => {
        if $log.tracing() {
            $log.trace($id, format_args!($($event)+));
        }
    };
}
pub(crate) use trace;

/// The loop's stdout, buffered for one turn.
#[derive(Debug, Default)]
pub struct Log {
    text: String,
    /// `Some` with `--trace`: lines that a dispatcher wrote.
    tracer: Option<Tracer>,
}

impl Log {
    /// A buffer; with `trace`, one that takes trace lines too.
    pub fn new(trace: bool) -> Self {
        Log {
            text: String::new(),
            tracer: trace.then(Tracer::default),
        }
    }

    /// Whether `--trace` is on.
    pub fn tracing(&self) -> bool {
        self.tracer.is_some()
    }

    /// Appends the trace line `trace #N event` (use `trace!`, which
    /// checks [`tracing`](Self::tracing) first).
    pub fn trace(&mut self, id: ConnId, event: fmt::Arguments<'_>) {
        let text = self.text();
        let _ = writeln!(text, "trace #{} {event}", id.serial);
    }

    /// The buffer, to append lines to. The lines a dispatcher wrote on
    /// the loop thread (or took in, see [`Tracer`]) since the last call
    /// are moved in first, so the order holds.
    pub fn text(&mut self) -> &mut String {
        self.take_lines(false);
        &mut self.text
    }

    /// Moves the dispatcher's seen lines into the buffer; with `all`,
    /// the unseen ones after them.
    fn take_lines(&mut self, all: bool) {
        if let Some(tracer) = &self.tracer {
            let mut lines = tracer.lock();
            if all {
                lines.take_in(None);
            }
            self.text.push_str(&lines.seen);
            lines.seen.clear();
        }
    }

    /// Where a dispatcher writes trace lines of its own; `None` without
    /// `--trace`.
    pub fn tracer(&self) -> Option<Tracer> {
        self.tracer.clone()
    }

    /// Writes the turn's lines in one `write` and empties the buffer.
    /// Lines from other threads that the loop has not taken in yet come
    /// last.
    pub fn flush(&mut self) {
        self.take_lines(true);
        if !self.text.is_empty() {
            let _ = io::stdout().lock().write_all(self.text.as_bytes());
            self.text.clear();
        }
    }
}

/// Where a dispatcher writes its trace lines, on the loop thread or on
/// its workers, to be printed among the loop's own.
///
/// A worker's line does not go in the moment it is written, among the
/// lines the loop is writing at that time: the order would change from
/// run to run. It waits until the loop sees what the worker did for that
/// connection, a wake-up or a response's bytes
/// ([`take_in`](Tracer::take_in)), and comes, with every line written
/// before it, before the lines that follow from it; or until the loop's
/// turn ends. A dispatcher wakes the loop after a worker's line, so that
/// a line written while the loop waits ends a turn of its own. So a job
/// is queued before it is taken, and finished before the loop is woken
/// for it or writes its bytes, and the same clients make the same trace.
#[derive(Debug, Clone, Default)]
pub struct Tracer(Arc<Mutex<Lines>>);

#[derive(Debug, Default)]
struct Lines {
    /// Lines the loop has seen the cause of: they go in at once.
    seen: String,
    /// Lines from other threads, with their connection's serial number,
    /// waiting for the loop to see their work.
    unseen: Vec<(u64, String)>,
}

impl Lines {
    /// Moves the unseen lines, up to the last one of connection `serial`
    /// (all, with `None`), to the seen ones, in the order they were
    /// written: what was written before a line happened before it.
    fn take_in(&mut self, serial: Option<u64>) {
        let upto = match serial {
            None => self.unseen.len(),
            Some(serial) => self
                .unseen
                .iter()
                .rposition(|(of, _)| *of == serial)
                .map_or(0, |last| last + 1),
        };
        for (_, line) in self.unseen.drain(..upto) {
            self.seen.push_str(&line);
        }
    }
}

impl Tracer {
    /// Appends the trace line `trace #N event` for connection `id`, from
    /// a thread other than the loop's (a worker). The caller then wakes
    /// the loop, which prints it at the latest when that turn ends.
    pub fn line(&self, id: ConnId, event: fmt::Arguments<'_>) {
        let line = format!("trace #{} {event}\n", id.serial);
        self.lock().unseen.push((id.serial, line));
    }

    /// Appends the trace line `trace #N event` from the loop thread, in a
    /// hook the loop calls: it comes right after the loop's lines so far.
    pub fn loop_line(&self, id: ConnId, event: fmt::Arguments<'_>) {
        let _ = writeln!(self.lock().seen, "trace #{} {event}", id.serial);
    }

    /// On the loop thread, when it sees work done elsewhere for
    /// connection `id` (a wake-up, a response's bytes): the lines other
    /// threads wrote about it so far, and all written before them, come
    /// before the loop's next line.
    pub fn take_in(&self, id: ConnId) {
        self.lock().take_in(Some(id.serial));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lines> {
        // A thread that panicked mid-line leaves a line, not a hazard.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
