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
    /// `Some` with `--trace`: lines that other threads wrote.
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

    /// The buffer, to append lines to. Trace lines other threads wrote
    /// since the last call are moved in first, so the order holds.
    pub fn text(&mut self) -> &mut String {
        if let Some(tracer) = &self.tracer {
            let mut theirs = tracer.lock();
            self.text.push_str(&theirs);
            theirs.clear();
        }
        &mut self.text
    }

    /// Where other threads write their trace lines; `None` without
    /// `--trace`.
    pub fn tracer(&self) -> Option<Tracer> {
        self.tracer.clone()
    }

    /// Writes the turn's lines in one `write` and empties the buffer.
    pub fn flush(&mut self) {
        let text = self.text();
        if !text.is_empty() {
            let _ = io::stdout().lock().write_all(text.as_bytes());
            text.clear();
        }
    }
}

/// Trace lines from another thread (a dispatcher's workers), printed
/// with the loop's own at its next trace line or the end of its turn.
#[derive(Debug, Clone, Default)]
pub struct Tracer(Arc<Mutex<String>>);

impl Tracer {
    /// Appends the trace line `trace #N event` for connection `id`.
    pub fn line(&self, id: ConnId, event: fmt::Arguments<'_>) {
        let _ = writeln!(self.lock(), "trace #{} {event}", id.serial);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, String> {
        // A thread that panicked mid-line leaves a line, not a hazard.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
