//! The command line every part shares.
//!
//! Hand-written on purpose: part 1 uses nothing but `std`, and the later
//! parts reuse this parser with more flags instead of pulling in a crate.
//! A real program would reach for `clap`; this one teaches sockets.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process;

/// One flag a program accepts, for parsing and for `--help`.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// The long name without dashes, e.g. `"port"`.
    pub name: &'static str,
    /// The placeholder of its value (`"PORT"`), or `None` for a switch.
    pub value: Option<&'static str>,
    /// One line of help, including the default.
    pub help: &'static str,
}

/// The flags of part 1; later parts append their own.
pub const COMMON_FLAGS: &[Flag] = &[
    Flag {
        name: "host",
        value: Some("HOST"),
        help: "address to listen on (default 127.0.0.1)",
    },
    Flag {
        name: "port",
        value: Some("PORT"),
        help: "port to listen on, 0 for any free port (default 8888)",
    },
];

/// `--trace`, the same flag in every part: each prints its connections'
/// events as `trace #N …` lines (see [`crate::trace`]), parts 3 and 4
/// with more kinds of event than part 1. A part adds it to its flags and
/// reads it with `parsed.switch(TRACE_FLAG.name)`.
pub const TRACE_FLAG: Flag = Flag {
    name: "trace",
    value: None,
    help: "print each connection's events: accept, read, write, close, ...",
};

/// What went wrong while reading the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// `--help` was asked for: print this text and exit 0.
    Help(String),
    /// A flag was unknown, missing its value or had a bad one.
    Bad(String),
}

/// The flags found on a command line, in order.
#[derive(Debug, Default, Clone)]
pub struct Parsed {
    values: Vec<(&'static str, String)>,
}

impl Parsed {
    /// The last value given for `name`, if any.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the switch `name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == name)
    }

    /// The value of `name` parsed as `T`, or `default` when absent.
    pub fn parse_or<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
    ) -> Result<T, CliError> {
        match self.value(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                CliError::Bad(format!("invalid value for --{name}: {v:?}"))
            }),
        }
    }
}

/// Reads `args` (without the program name) against `flags`.
///
/// Accepts `--name value`, `--name=value`, switches and `--help`.
pub fn parse(
    program: &str,
    about: &str,
    flags: &[Flag],
    args: impl IntoIterator<Item = String>,
) -> Result<Parsed, CliError> {
    let mut parsed = Parsed::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Err(CliError::Help(usage(program, about, flags)));
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(CliError::Bad(format!("unexpected argument {arg:?}")));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(flag) = flags.iter().find(|f| f.name == name) else {
            return Err(CliError::Bad(format!("unknown flag --{name}")));
        };
        let value = match (flag.value, inline) {
            (None, None) => String::new(),
            (None, Some(_)) => {
                return Err(CliError::Bad(format!("--{name} takes no value")));
            }
            (Some(_), Some(v)) => v,
            (Some(placeholder), None) => args.next().ok_or_else(|| {
                CliError::Bad(format!("--{name} needs a value ({placeholder})"))
            })?,
        };
        parsed.values.push((flag.name, value));
    }
    Ok(parsed)
}

/// The `--help` text.
pub fn usage(program: &str, about: &str, flags: &[Flag]) -> String {
    let mut text =
        format!("{about}\n\nUsage: {program} [OPTIONS]\n\nOptions:\n");
    for flag in flags {
        let left = match flag.value {
            Some(v) => format!("--{} {v}", flag.name),
            None => format!("--{}", flag.name),
        };
        let _ = writeln!(text, "  {left:<22} {}", flag.help);
    }
    let _ = writeln!(text, "  {:<22} print this help", "--help");
    text
}

/// Where to listen: the `--host` and `--port` every part accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// `--host`, default `127.0.0.1`.
    pub host: String,
    /// `--port`, default 8888; 0 asks the OS for any free port.
    pub port: u16,
}

impl Listen {
    /// Reads `--host` and `--port` from parsed flags.
    pub fn from_parsed(parsed: &Parsed) -> Result<Self, CliError> {
        Ok(Listen {
            host: parsed.value("host").unwrap_or("127.0.0.1").to_string(),
            port: parsed.parse_or("port", 8888)?,
        })
    }

    /// The first socket address `host:port` resolves to.
    pub fn socket_addr(&self) -> Result<SocketAddr, CliError> {
        use std::net::ToSocketAddrs;
        let text = self.addr();
        text.to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| CliError::Bad(format!("bad address {text}")))
    }

    /// `host:port` in the form `ToSocketAddrs` accepts (IPv6 bracketed).
    pub fn addr(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The first line every part prints on stdout, with the real port.
pub fn serving_line(addr: SocketAddr) -> String {
    format!("Serving HTTP on http://{addr}/ ...")
}

/// Parses the command line of `program` or exits: 0 after `--help`,
/// 2 with one line on stderr after a bad flag.
pub fn parse_or_exit(program: &str, about: &str, flags: &[Flag]) -> Parsed {
    match parse(program, about, flags, std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(err) => exit_on(program, err),
    }
}

/// Ends the program for a [`CliError`], the way `parse_or_exit` does.
pub fn exit_on(program: &str, err: CliError) -> ! {
    match err {
        CliError::Help(text) => {
            print!("{text}");
            process::exit(0)
        }
        CliError::Bad(msg) => fail(program, &format!("{msg} (try --help)")),
    }
}

/// Prints `program: error: msg` on stderr and exits with code 2.
pub fn fail(program: &str, msg: &str) -> ! {
    eprintln!("{program}: error: {msg}");
    process::exit(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_and_both_value_forms() {
        let p = parse("p", "", COMMON_FLAGS, args(&[])).unwrap();
        let listen = Listen::from_parsed(&p).unwrap();
        assert_eq!(listen.addr(), "127.0.0.1:8888");
        let p =
            parse("p", "", COMMON_FLAGS, args(&["--port", "0", "--host=::1"]))
                .unwrap();
        let listen = Listen::from_parsed(&p).unwrap();
        assert_eq!(listen.addr(), "[::1]:0");
    }

    #[test]
    fn bad_flags_are_errors() {
        for bad in [&["--nope"][..], &["--port"], &["stray"], &["--port", "x"]]
        {
            let res = parse("p", "", COMMON_FLAGS, args(bad))
                .and_then(|p| Listen::from_parsed(&p));
            assert!(matches!(res, Err(CliError::Bad(_))), "{bad:?}");
        }
        let help = parse("p", "about", COMMON_FLAGS, args(&["--help"]));
        assert!(
            matches!(help, Err(CliError::Help(t)) if t.contains("--port PORT"))
        );
    }
}
