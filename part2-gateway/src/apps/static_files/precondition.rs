//! Validators and conditional requests (RFC 9110 §8.8 and §13) for the
//! static app.
//!
//! A file has two validators: its modification time, sent as
//! `Last-Modified`, and an entity tag made from its length and the same
//! time to the nanosecond, sent as `ETag`. A client that has a copy sends
//! them back in `If-None-Match` or `If-Modified-Since` ("send it only if
//! it changed": `304 Not Modified` otherwise), in `If-Match` or
//! `If-Unmodified-Since` ("only if it did not": `412 Precondition Failed`
//! otherwise) and in `If-Range` ("the rest of my copy, or all of it if it
//! changed").

use std::fs::Metadata;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use crate::environ::Environ;
use crate::rfc::parse_http_date;

/// What the static app can say about a file's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Validators {
    /// A strong entity tag, `"{length:x}-{mtime in ns:x}"`: two versions
    /// of a file would have to have the same length and be written in the
    /// same tick of the file system's clock to share one.
    pub etag: Option<String>,
    /// The modification time, never later than now (RFC 9110 §8.8.2.1:
    /// a file dated in the future is sent as modified now).
    pub modified: Option<DateTime<Utc>>,
    /// Whether `modified` is a strong validator (§8.8.2.2): the file
    /// could still change within the second it names while that second
    /// lasts, and a second change would keep the same date.
    pub strong_date: bool,
}

impl Validators {
    /// The validators of the file `meta` describes, as of `now`.
    pub fn of(meta: &Metadata, now: SystemTime) -> Self {
        let Ok(mtime) = meta.modified() else {
            return Validators {
                etag: None,
                modified: None,
                strong_date: false,
            };
        };
        let nanos =
            mtime.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let etag = format!("\"{:x}-{nanos:x}\"", meta.len());
        let modified = DateTime::<Utc>::from(mtime.min(now));
        let now = DateTime::<Utc>::from(now);
        Validators {
            etag: Some(etag),
            modified: Some(modified),
            strong_date: modified.timestamp() < now.timestamp(),
        }
    }
}

/// What the preconditions of a GET or HEAD request decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Serve the file (or the range asked for).
    Proceed,
    /// `304 Not Modified`: the client's copy is current.
    NotModified,
    /// `412 Precondition Failed`: the client asked for a version that
    /// is not this one.
    Failed,
}

// ANCHOR: evaluate
/// Evaluates the preconditions of a GET or HEAD request in the order of
/// RFC 9110 §13.2.2. Each tag condition makes its date twin ignored: an
/// entity tag says more than a date to the second.
pub(super) fn evaluate(environ: &Environ<'_>, file: &Validators) -> Decision {
    let date = |name| environ.get(name).and_then(parse_http_date);
    let modified = file.modified.map(|m| m.timestamp());
    // 1. If-Match: only this version, compared strongly.
    if let Some(value) = environ.get("HTTP_IF_MATCH") {
        if !matches(value, file.etag.as_deref(), Comparison::Strong) {
            return Decision::Failed;
        }
    // 2. If-Unmodified-Since: only if unchanged since that date.
    } else if let (Some(since), Some(modified)) =
        (date("HTTP_IF_UNMODIFIED_SINCE"), modified)
        && modified > since.timestamp()
    {
        return Decision::Failed;
    }
    // 3. If-None-Match: not if the client has it (compared weakly).
    if let Some(value) = environ.get("HTTP_IF_NONE_MATCH") {
        if matches(value, file.etag.as_deref(), Comparison::Weak) {
            return Decision::NotModified;
        }
    // 4. If-Modified-Since: not if unchanged since the client's copy.
    } else if let (Some(since), Some(modified)) =
        (date("HTTP_IF_MODIFIED_SINCE"), modified)
        && modified <= since.timestamp()
    {
        // Whole seconds both: a file written at 12:00:00.5 was sent as
        // "12:00:00" and must still match it.
        return Decision::NotModified;
    }
    Decision::Proceed
}
// ANCHOR_END: evaluate

/// RFC 9110 §13.1.5, step 5 of §13.2.2: whether `If-Range` lets the
/// `Range` header apply. Its value is one validator: an entity tag,
/// compared strongly, or a date, which must be strong and exact.
pub(super) fn if_range_holds(value: &str, file: &Validators) -> bool {
    let value = value.trim_matches([' ', '\t']);
    if value.starts_with('"') || value.starts_with("W/") {
        // Strong comparison: a weak tag never matches, and ours are
        // all strong.
        return !value.starts_with("W/") && file.etag.as_deref() == Some(value);
    }
    match (parse_http_date(value), file.modified) {
        (Some(date), Some(modified)) => {
            file.strong_date && date.timestamp() == modified.timestamp()
        }
        _ => false,
    }
}

/// How two entity tags are compared (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    /// Both strong and character for character the same.
    Strong,
    /// The same characters; `W/` on either side does not matter.
    Weak,
}

/// Whether the list `value` (`*` or entity tags) matches `current`.
///
/// `*` matches any current representation. A malformed list matches
/// nothing past the point where it stops making sense.
fn matches(value: &str, current: Option<&str>, how: Comparison) -> bool {
    if value.trim_matches([' ', '\t']) == "*" {
        return true;
    }
    let Some(current) = current else {
        return false;
    };
    let (current_weak, current_tag) = split_weak(current);
    entity_tags(value).any(|(weak, tag)| {
        tag == current_tag
            && (how == Comparison::Weak || !(weak || current_weak))
    })
}

/// `W/"x"` → `(true, "\"x\"")`; `"x"` → `(false, "\"x\"")`.
fn split_weak(tag: &str) -> (bool, &str) {
    match tag.strip_prefix("W/") {
        Some(rest) => (true, rest),
        None => (false, tag),
    }
}

/// The entity tags of a list such as `"a", W/"b"` (RFC 9110 §8.8.3): each
/// `[W/]"opaque"`, where the opaque part may itself hold commas, so the
/// list is read tag by tag rather than split at commas.
fn entity_tags(list: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = list;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let (weak, after) = split_weak(rest);
        let inner = after.strip_prefix('"')?;
        let end = inner.find('"')?;
        let tag = &after[..end + 2];
        rest = &inner[end + 1..];
        // The next tag must come after a comma (or the end).
        let next = rest.trim_start_matches([' ', '\t']);
        if !next.is_empty() && !next.starts_with(',') {
            rest = "";
        }
        Some((weak, tag))
    })
}
