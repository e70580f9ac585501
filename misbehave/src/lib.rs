//! `misbehave`: the clients the book warns about, on demand.
//!
//! Each scenario plays one kind of difficult client against a server on
//! this machine: one that sends a byte at a time, pipelines, half-closes,
//! dribbles its head (slowloris), resets mid-body, never reads, or comes
//! with many friends at once. It prints what it sent and what came back,
//! and checks every response byte by byte, pointing at the first broken
//! one the way a compiler points at a syntax error.
//!
//! - [`wire`]: escaping bytes, the response validator, caret display.
//! - [`conn`]: a connection with timeouts that reads checked responses.
//! - [`target`]: the command line and the loopback-only rule.
//! - [`scenarios`]: the misbehaviours themselves.

pub mod conn;
pub mod scenarios;
pub mod target;
pub mod wire;

pub use scenarios::{Failure, Outcome, Scenario, Settings};
