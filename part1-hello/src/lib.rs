//! Part 1 of *From Socket to Server*: a server in plain `std`.
//!
//! It listens, accepts one client, reads once, answers
//! `Hello, World!` and closes. It keeps the weaknesses the book
//! teaches (one client at a time, a single read) but never hangs
//! forever and never crashes on what a client does.
//!
//! The library is what the tests and later parts use: [`cli`] is the
//! command line every part shares, [`server`] the accept loop, [`trace`]
//! the `--trace` lines.

pub mod cli;
pub mod server;
pub mod trace;

pub use server::{Config, Handle, Server};
