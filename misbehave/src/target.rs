//! Where to misbehave, and the command line that says so.
//!
//! A tool that opens thousands of half-finished requests is a
//! denial-of-service tool when pointed elsewhere, so it only ever talks
//! to this machine: every address a host resolves to must be loopback.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use part1_hello::cli::{self, CliError, Flag, Listen, Parsed};

use crate::scenarios::{Scenario, Settings};

/// The flags `misbehave` accepts after the scenario name.
pub const FLAGS: &[Flag] = &[
    Flag {
        name: "host",
        value: Some("HOST"),
        help: "server host, loopback only (default 127.0.0.1)",
    },
    Flag {
        name: "port",
        value: Some("PORT"),
        help: "server port (default 8888)",
    },
    Flag {
        name: "path",
        value: Some("PATH"),
        help: "request target (default: per scenario, mostly /hello)",
    },
    Flag {
        name: "delay-ms",
        value: Some("MS"),
        help: "pause between dribbled bytes (fragments 10, slowloris 1000)",
    },
    Flag {
        name: "max-secs",
        value: Some("SECS"),
        help: "how long a scenario may run (slowloris 30, no-read 5)",
    },
    Flag {
        name: "timeout-ms",
        value: Some("MS"),
        help: "read/write timeout of every socket (default 10000)",
    },
    Flag {
        name: "n",
        value: Some("N"),
        help: "parallel: how many connections (default 8, at most 256)",
    },
    Flag {
        name: "ms",
        value: Some("MS"),
        help: "parallel: how long each /sleep request sleeps (default 500)",
    },
    Flag {
        name: "count",
        value: Some("N"),
        help: "no-read: how many requests to pipeline (default 1000)",
    },
];

/// Whether `ip` is this machine: 127.0.0.0/8 or ::1 (also written as
/// the IPv4-mapped `::ffff:127.x.y.z`).
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Resolves `listen` and insists that every address is loopback.
///
/// A name that resolves to both a loopback and another address is
/// refused too: which one a connect picks is not ours to decide.
pub fn resolve_loopback(listen: &Listen) -> Result<SocketAddr, String> {
    let text = listen.addr();
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {text}: {e}"))?
        .collect();
    if let Some(far) = addrs.iter().find(|a| !is_loopback(a.ip())) {
        return Err(format!(
            "refusing {text}: it resolves to {}, which is not loopback \
             (127.0.0.0/8 or ::1); misbehave only plays against this machine",
            far.ip()
        ));
    }
    addrs
        .first()
        .copied()
        .ok_or_else(|| format!("{text} resolves to no address"))
}

fn millis(parsed: &Parsed, name: &str) -> Result<Option<Duration>, CliError> {
    Ok(match parsed.value(name) {
        None => None,
        Some(_) => Some(Duration::from_millis(parsed.parse_or(name, 0)?)),
    })
}

/// Reads `--max-secs`, which may be fractional (`0.5`).
fn seconds(parsed: &Parsed, name: &str) -> Result<Option<Duration>, CliError> {
    let Some(text) = parsed.value(name) else {
        return Ok(None);
    };
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .map(Some)
        .ok_or_else(|| {
            CliError::Bad(format!("invalid value for --{name}: {text:?}"))
        })
}

/// Reads a whole command line (without the program name): the scenario,
/// then the flags. Resolving the address is left to [`resolve_loopback`].
pub fn parse_args(
    program: &str,
    about: &str,
    args: Vec<String>,
) -> Result<(Scenario, Listen, Settings), CliError> {
    let usage = format!("{program} SCENARIO");
    let mut args = args.into_iter();
    let first = args.next();
    let scenario = match first.as_deref() {
        None => {
            return Err(CliError::Bad(
                "missing SCENARIO (one of: fragments, pipeline, \
                 half-close, slowloris, reset, no-read, parallel)"
                    .into(),
            ));
        }
        Some("--help" | "-h") => {
            return Err(CliError::Help(cli::usage(&usage, about, FLAGS)));
        }
        Some(name) => Scenario::from_name(name).ok_or_else(|| {
            CliError::Bad(format!("unknown scenario {name:?}"))
        })?,
    };
    let parsed = cli::parse(&usage, about, FLAGS, args)?;
    let listen = Listen::from_parsed(&parsed)?;
    let mut settings = Settings::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    settings.host_header = listen.addr();
    settings.path = parsed.value("path").map(str::to_string);
    // The path goes into a request line verbatim: a space or a CR in it
    // would make a different request from the one the scenario means.
    if let Some(path) = &settings.path
        && (!path.starts_with('/') || path.bytes().any(|b| b <= b' '))
    {
        return Err(CliError::Bad(format!(
            "--path must start with / and hold no spaces: {path:?}"
        )));
    }
    settings.delay = millis(&parsed, "delay-ms")?;
    settings.max = seconds(&parsed, "max-secs")?;
    if let Some(timeout) = millis(&parsed, "timeout-ms")? {
        if timeout.is_zero() {
            return Err(CliError::Bad("--timeout-ms must be above 0".into()));
        }
        settings.timeout = timeout;
    }
    settings.n = parsed.parse_or("n", settings.n)?;
    if !(1..=256).contains(&settings.n) {
        return Err(CliError::Bad("--n must be 1 to 256".into()));
    }
    settings.ms = parsed.parse_or("ms", settings.ms)?;
    settings.count = parsed.parse_or("count", settings.count)?;
    Ok((scenario, listen, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn listen(host: &str) -> Listen {
        Listen {
            host: host.into(),
            port: 80,
        }
    }

    #[test]
    fn only_loopback_is_accepted() {
        for ok in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(resolve_loopback(&listen(ok)).is_ok(), "{ok}");
        }
        for bad in ["10.0.0.1", "192.0.2.7", "0.0.0.0", "::", "2001:db8::1"] {
            let err = resolve_loopback(&listen(bad)).unwrap_err();
            assert!(err.contains("not loopback"), "{bad}: {err}");
        }
    }

    #[test]
    fn scenario_then_flags() {
        let (scenario, listen, s) = parse_args(
            "m",
            "",
            args(&["slowloris", "--port", "9", "--max-secs", "0.5"]),
        )
        .unwrap();
        assert_eq!(scenario, Scenario::Slowloris);
        assert_eq!(listen.addr(), "127.0.0.1:9");
        assert_eq!(s.max, Some(Duration::from_millis(500)));
        for bad in [
            &[][..],
            &["nope"],
            &["pipeline", "--n", "0"],
            &["pipeline", "--path", "x"],
            &["pipeline", "--max-secs", "-1"],
        ] {
            assert!(
                matches!(parse_args("m", "", args(bad)), Err(CliError::Bad(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_args("m", "", args(&["--help"])),
            Err(CliError::Help(t)) if t.contains("Usage: m SCENARIO")
        ));
    }
}
