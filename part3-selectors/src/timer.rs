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

/// Which connection an entry is for: its slab slot and its serial number,
/// so an entry for a closed connection never fires for the next one that
/// reuses the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    /// The slot in the slab, also the `mio::Token`.
    pub slot: usize,
    /// Unique for the life of the loop.
    pub serial: u64,
}

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
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_only_when_due() {
        let t0 = Instant::now();
        let id = |slot| ConnId { slot, serial: 0 };
        let mut timers = Timers::new();
        assert_eq!(timers.next_timeout(t0), None);
        timers.push(t0 + Duration::from_secs(3), id(3));
        timers.push(t0 + Duration::from_secs(1), id(1));
        timers.push(t0 + Duration::from_secs(2), id(2));
        assert_eq!(timers.next_timeout(t0), Some(Duration::from_secs(1)));
        assert_eq!(timers.pop_due(t0), None);
        let later = t0 + Duration::from_secs(2);
        assert_eq!(timers.pop_due(later).map(|e| e.1), Some(id(1)));
        assert_eq!(timers.pop_due(later).map(|e| e.1), Some(id(2)));
        assert_eq!(timers.pop_due(later), None);
        assert_eq!(timers.len(), 1);
    }
}
