//! Part 4 of *From Socket to Server*: the loop of part 3, with a pool of
//! worker threads behind it.
//!
//! Part 3 ends on its flaw: the app runs on the loop thread, so one slow
//! request stops every connection. Here the loop keeps all socket I/O
//! and hands complete requests to a fixed [`pool`] of workers; the
//! [`threaded`] dispatcher brings their responses back. The loop, the
//! message layer, the gateway and the apps are parts 2 and 3, unchanged.
//!
//! [`fast`] holds a tuned pool and dispatcher of the same design,
//! chosen with `--dispatch fast`, for the optional performance chapter.

pub mod cli;
pub mod fast;
pub mod pool;
pub mod threaded;

pub use pool::Pool;
pub use threaded::{Monitor, Threaded};
