//! The command line of the gateway parts (2, 3 and 4): part 1's `--host`,
//! `--port` and `--trace`, plus the app to run and where its files are.

use std::path::PathBuf;

use part1_hello::cli::{self, CliError, Flag, Listen, Parsed};

use crate::apps::{self, AppOptions};
use crate::gateway::SharedApp;

/// The flags parts 2, 3 and 4 share, after part 1's.
pub const GATEWAY_FLAGS: &[Flag] = &[
    Flag {
        name: "app",
        value: Some("APP"),
        help: "demo|hello|echo|environ|sleep|static|cgi (default demo)",
    },
    Flag {
        name: "root",
        value: Some("DIR"),
        help: "directory the static app serves (default: the shipped site)",
    },
    Flag {
        name: "cgi-dir",
        value: Some("DIR"),
        help: "directory of CGI scripts (default: the shipped cgi-bin)",
    },
    Flag {
        name: "verbose",
        value: None,
        help: "print every request and response head",
    },
    cli::TRACE_FLAG,
];

/// What the shared flags ask for.
pub struct GatewayArgs {
    /// `--host` and `--port`.
    pub listen: Listen,
    /// `--app`, already built.
    pub app: SharedApp,
    /// The app's name, for the serving line.
    pub app_name: String,
    /// `--verbose`.
    pub verbose: bool,
    /// `--trace`.
    pub trace: bool,
    /// Everything parsed, for a part's own extra flags.
    pub parsed: Parsed,
}

/// All flags of a gateway part: part 1's, these, then `extra`.
pub fn flags(extra: &[Flag]) -> Vec<Flag> {
    let mut all = cli::COMMON_FLAGS.to_vec();
    all.extend_from_slice(GATEWAY_FLAGS);
    all.extend_from_slice(extra);
    all
}

/// Parses the command line of a gateway part, or exits with code 2 (0
/// for `--help`).
pub fn parse_or_exit(
    program: &str,
    about: &str,
    extra: &[Flag],
) -> GatewayArgs {
    let parsed = cli::parse_or_exit(program, about, &flags(extra));
    from_parsed(parsed).unwrap_or_else(|e| cli::exit_on(program, e))
}

/// Builds the app and address from parsed flags.
pub fn from_parsed(parsed: Parsed) -> Result<GatewayArgs, CliError> {
    let listen = Listen::from_parsed(&parsed)?;
    let app_name = parsed.value("app").unwrap_or("demo").to_string();
    let defaults = AppOptions::default();
    let options = AppOptions {
        root: parsed.value("root").map_or(defaults.root, PathBuf::from),
        cgi_dir: parsed
            .value("cgi-dir")
            .map_or(defaults.cgi_dir, PathBuf::from),
    };
    let app = apps::by_name(&app_name, &options).map_err(CliError::Bad)?;
    Ok(GatewayArgs {
        listen,
        app,
        app_name,
        verbose: parsed.switch("verbose"),
        trace: parsed.switch(cli::TRACE_FLAG.name),
        parsed,
    })
}
