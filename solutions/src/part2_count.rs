//! Part 2, exercise 4: an app that counts the requests it has answered.
//!
//! The counter is shared by every request, and in parts 3 and 4 by every
//! thread that runs the app, so it must be safe to share: an atomic.
//!
//! With a `Cell` it does not compile, because `App` requires `Sync`:
//!
//! ```compile_fail
//! use std::cell::Cell;
//!
//! use part2_gateway::{App, Body, Environ, StartResponse};
//!
//! #[derive(Default)]
//! pub struct Count(Cell<u64>);
//!
//! impl App for Count {
//!     fn handle(&self, _: &mut Environ<'_>, sr: &mut StartResponse) -> Body {
//!         let n = self.0.get() + 1;
//!         self.0.set(n);
//!         sr.start("200 OK", Vec::new());
//!         Body::from(format!("request number {n}\n"))
//!     }
//! }
//! ```

// ANCHOR: count
use std::sync::atomic::{AtomicU64, Ordering};

use part2_gateway::{App, Body, Environ, StartResponse};

/// Answers `request number N`, counting every request it has answered.
#[derive(Debug, Default)]
pub struct Count(AtomicU64);

impl App for Count {
    fn handle(&self, _: &mut Environ<'_>, sr: &mut StartResponse) -> Body {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        let headers = vec![("Content-Type".into(), "text/plain".into())];
        sr.start("200 OK", headers);
        Body::from(format!("request number {n}\n"))
    }
}
// ANCHOR_END: count
