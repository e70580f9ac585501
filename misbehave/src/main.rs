//! `misbehave`: plays a difficult client against a server on loopback.
//!
//! ```text
//! cargo run -p part3-selectors
//! cargo run -p misbehave -- pipeline --port 8888
//! ```
//!
//! Exit codes: 0 when the scenario ran (whatever the server did, it is
//! reported), 1 when the server's answer was malformed or it could not
//! be reached, 2 for a bad command line or a non-loopback address.

use std::io::{self, Write};
use std::process;

use misbehave::scenarios::{self, Failure, Scenario};
use misbehave::target;
use part1_hello::cli;

const PROGRAM: &str = "misbehave";

fn about() -> String {
    let mut about = String::from(
        "Plays the clients the book warns about against a server on this \
         machine.\n\nScenarios:\n",
    );
    for (_, name, help) in Scenario::ALL {
        about.push_str(&format!("  {name:<22} {help}\n"));
    }
    about
}

fn main() {
    let about = about();
    let args = std::env::args().skip(1).collect();
    let (scenario, listen, mut settings) =
        target::parse_args(PROGRAM, about.trim_end(), args)
            .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    settings.addr = target::resolve_loopback(&listen)
        .unwrap_or_else(|msg| cli::fail(PROGRAM, &msg));
    let mut stdout = io::stdout().lock();
    let name = Scenario::ALL
        .iter()
        .find(|(s, _, _)| *s == scenario)
        .map_or("", |(_, name, _)| name);
    // Show what the host resolved to: the address actually played on.
    let _ = writeln!(stdout, "misbehave {name} on {}", settings.addr);
    match scenarios::run(scenario, &settings, &mut stdout) {
        Ok(_) => {}
        Err(failure @ Failure::Malformed(_)) => {
            let _ = stdout.flush();
            eprint!("{failure}");
            process::exit(1);
        }
        Err(failure) => {
            let _ = stdout.flush();
            eprintln!("{PROGRAM}: {failure}");
            process::exit(1);
        }
    }
}
