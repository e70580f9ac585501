//! Deadlines without scanning every connection on every event.
//!
//! Each connection keeps its own deadline (when its head must be whole,
//! when its idle keep-alive ends, when a stalled write gives up). The loop
//! keeps a min-heap of `(when, connection)` entries and asks it only for
//! the earliest: that is how long `poll` may sleep, and on waking only
//! the entries that are due are looked at.
//!
//! Deadlines move all the time (every request pushes the idle deadline
//! further), and a heap cannot update an entry in place. So entries are
//! never removed early: an entry that comes due for a connection whose
//! deadline has moved later is simply pushed again for the new time
//! ("lazy deletion"). A connection keeps at most one live entry as long as
//! its deadlines only move later, which is the common case.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::connection::ConnId;

// ANCHOR: timers
/// The min-heap of pending deadlines.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, ConnId)>>,
}

impl Timers {
    /// No deadlines yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry: `id` wants to be looked at `at`.
    pub fn push(&mut self, at: Instant, id: ConnId) {
        self.heap.push(Reverse((at, id)));
    }

    /// How long until the earliest entry is due (zero if overdue), or
    /// `None` when there is none: `poll` may then sleep without limit.
    pub fn next_timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((at, _))| at.saturating_duration_since(now))
    }

    /// Removes and returns the earliest entry if it is due.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, ConnId)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => {
                self.heap.pop().map(|Reverse(entry)| entry)
            }
            _ => None,
        }
    }
    // ANCHOR_END: timers

    /// Entries held, stale ones included (for tests and figures).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests;
