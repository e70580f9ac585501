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

use std::path::PathBuf;
use std::sync::Arc;

use crate::gateway::SharedApp;

/// Where the file-serving apps find their files.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The static app's root (`--root`).
    pub root: PathBuf,
    /// The CGI app's scripts (`--cgi-dir`).
    pub cgi_dir: PathBuf,
}

impl Default for AppOptions {
    /// The site and scripts that ship with this crate.
    fn default() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        AppOptions {
            root: dir.join("site"),
            cgi_dir: dir.join("cgi-bin"),
        }
    }
}

/// The names `--app` accepts.
pub const NAMES: &[&str] = &["hello", "echo", "environ", "sleep"];

// ANCHOR: by-name
/// Builds the app `--app NAME` asks for.
pub fn by_name(name: &str, options: &AppOptions) -> Result<SharedApp, String> {
    let _ = options;
    Ok(match name {
        "hello" => Arc::new(Hello),
        "echo" => Arc::new(Echo::default()),
        "environ" => Arc::new(ShowEnviron),
        "sleep" => Arc::new(Sleep::default()),
        other => {
            return Err(format!(
                "unknown app {other:?} (one of {})",
                NAMES.join(", ")
            ));
        }
    })
}
// ANCHOR_END: by-name
