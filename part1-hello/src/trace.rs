//! `--trace`: one line on stdout per thing a connection's socket does.
//!
//! The lines have one shape in every part that prints them,
//! `trace #N EVENT DETAILS`, where N is the connection's serial number
//! (the first connection the server accepted is #1):
//!
//! ```text
//! trace #1 accept 127.0.0.1:50312
//! trace #1 read 78 bytes
//! trace #1 wrote 113 bytes
//! trace #1 close
//! ```
//!
//! Off by default. Off, an event costs one test of a flag: the line is
//! formatted only when it is printed.

use std::fmt;
use std::io::{self, Write};

/// The trace of one connection: its serial number, if tracing is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    /// `None` when tracing is off.
    id: Option<u64>,
}

impl Trace {
    /// No trace: every event is ignored.
    pub const OFF: Trace = Trace { id: None };

    /// The trace of connection number `id`, printed only if `on`.
    pub fn new(on: bool, id: u64) -> Self {
        Trace {
            id: on.then_some(id),
        }
    }

    /// Whether events are printed.
    pub fn is_on(&self) -> bool {
        self.id.is_some()
    }

    /// Prints `trace #N` and the event, e.g.
    /// `trace.event(format_args!("read {n} bytes"))`.
    pub fn event(&self, what: fmt::Arguments<'_>) {
        if let Some(id) = self.id {
            // Not `println!`: it panics when stdout is a closed pipe.
            let _ = writeln!(io::stdout().lock(), "trace #{id} {what}");
        }
    }

    /// `read N bytes`.
    pub fn read(&self, n: usize) {
        self.event(format_args!("read {}", Bytes(n)));
    }

    /// `wrote N bytes`.
    pub fn wrote(&self, n: usize) {
        self.event(format_args!("wrote {}", Bytes(n)));
    }
}

/// A count of bytes as the trace words it: `1 byte`, `78 bytes`. A
/// `Display` rather than a `String`, so nothing is built while tracing
/// is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => write!(f, "1 byte"),
            n => write!(f, "{n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests;
