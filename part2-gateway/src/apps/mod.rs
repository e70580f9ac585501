//! The apps that ship with the gateway, each in its own file, and the
//! middleware that composes them.

pub mod echo;
pub mod environ;
pub mod hello;
pub mod sleep;
pub mod urlmap;
pub mod validator;

pub use echo::Echo;
pub use environ::ShowEnviron;
pub use hello::Hello;
pub use sleep::Sleep;
pub use urlmap::UrlMap;
pub use validator::Validator;
