//! The apps that ship with the gateway, each in its own file, and the
//! middleware that composes them.

pub mod cgi;
pub mod demo;
pub mod echo;
pub mod environ;
pub mod gzip;
pub mod hello;
pub mod sleep;
pub mod static_files;
#[cfg(test)]
mod test_dir;
pub mod urlmap;
pub mod validator;

pub use cgi::Cgi;
pub use echo::Echo;
pub use environ::ShowEnviron;

pub use gzip::Gzip;
pub use hello::Hello;
pub use sleep::Sleep;
pub use static_files::StaticFiles;
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
pub const NAMES: &[&str] =
    &["demo", "hello", "echo", "environ", "sleep", "static", "cgi"];

// ANCHOR: by-name
/// Builds the app `--app NAME` asks for.
pub fn by_name(name: &str, options: &AppOptions) -> Result<SharedApp, String> {
    let open = |what: &str, dir: &std::path::Path, e: std::io::Error| {
        format!("cannot open {what} {}: {e}", dir.display())
    };
    Ok(match name {
        "demo" => Arc::new(demo::demo(options)?),
        "static" => Arc::new(
            StaticFiles::new(&options.root)
                .map_err(|e| open("--root", &options.root, e))?,
        ),
        "cgi" => Arc::new(
            Cgi::new(&options.cgi_dir)
                .map_err(|e| open("--cgi-dir", &options.cgi_dir, e))?,
        ),
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
