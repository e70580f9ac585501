//! Part 2 of *From Socket to Server*: honest HTTP/1.1 and a gateway.
//!
//! - The message layer is sans-I/O: [`request`] finds and parses a head in
//!   a buffer, [`body`] and [`chunked`] decode the body, [`response`]
//!   writes responses into a buffer. No sockets inside, so the blocking
//!   server here and the event loops of parts 3 and 4 share it.
//! - The gateway is WSGI for Rust: [`gateway`] defines [`App`],
//!   [`StartResponse`] and [`Body`]; [`environ`] builds what the app
//!   sees; [`exchange`] runs an app and produces the response bytes.
//! - [`apps`] are the apps that ship; [`server`] is the blocking server.

pub mod apps;
pub mod body;
pub mod chunked;
pub mod cli;
pub mod environ;
pub mod error;
pub mod exchange;
pub mod gateway;
pub mod log;
pub mod request;
pub mod response;
pub mod rfc;
pub mod server;

pub use environ::{Environ, ServerInfo};
pub use error::HttpError;
pub use exchange::{Exchange, respond};
pub use gateway::{App, Body, Headers, SharedApp, StartResponse};
pub use request::{Limits, RequestHead};
pub use server::{Config, Server};
