//! The tuned pool and dispatcher, chosen with `--dispatch fast`.
//!
//! They keep the plain ones' design ([`crate::pool`],
//! [`crate::threaded`]) and pass the same checks, with fewer wake-ups,
//! locks, allocations and reads per request; what each mechanism buys is
//! measured in the book's optional performance chapter. The price is
//! polling: while a job is in flight the loop comes back every
//! [`pool::STALE`] to look for news and for jobs that wait too long.

pub mod pool;
pub mod threaded;

pub use pool::Pool;
pub use threaded::{Monitor, Threaded, Work};
