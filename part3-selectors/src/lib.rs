//! Part 3 of *From Socket to Server*: one thread serves thousands.
//!
//! The message layer, the gateway and every app come from part 2
//! unchanged. What is new is how connections are served: non-blocking
//! sockets in one [`mio::Poll`] ([`event_loop`]), a state machine per
//! connection ([`connection`]), deadlines in a heap ([`timer`]), large
//! request bodies in temporary files ([`spool`]), a seam
//! where complete requests are run ([`dispatch`]), which part 4 fills
//! with a worker pool, and `--trace` to watch it all happen ([`trace`]).

pub mod connection;
#[cfg(windows)]
pub mod ctrl_c;
pub mod dispatch;
pub mod event_loop;
pub mod spool;
pub mod timer;
pub mod trace;

pub use dispatch::{Dispatch, Inline};
pub use event_loop::{Config, EventLoop, Handle};
