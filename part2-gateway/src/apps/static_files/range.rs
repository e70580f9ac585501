//! Byte ranges (RFC 9110 §14) for the static app: `Range: bytes=0-499`
//! asks for part of a file, which a browser does to seek in a video or a
//! download manager to resume.
//!
//! One range gets `206 Partial Content` with a `Content-Range`. Several
//! would need a `multipart/byteranges` body; the RFC lets a server send
//! the whole file instead, and we do.

/// What a `Range` header asks of a representation of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ranged {
    /// The whole representation, `200 OK`: no usable `Range` (another
    /// unit, bad syntax, several ranges, an empty file).
    Whole,
    /// One satisfiable range, `206 Partial Content`: bytes `first` to
    /// `last`, both included.
    Part {
        /// The first byte sent.
        first: u64,
        /// The last byte sent, less than the length.
        last: u64,
    },
    /// A valid `Range` none of whose ranges lies in the representation:
    /// `416 Range Not Satisfiable`.
    Unsatisfiable,
}

/// Reads `value` (`bytes=0-499`, `bytes=500-`, `bytes=-500`, or a list
/// of them) for a representation of `len` bytes.
pub(super) fn ranged(value: &str, len: u64) -> Ranged {
    // §14.2: a unit we do not know is ignored; `bytes` is case-insensitive.
    let Some((unit, set)) = value.trim_matches([' ', '\t']).split_once('=')
    else {
        return Ranged::Whole;
    };
    if !unit.eq_ignore_ascii_case("bytes") || len == 0 {
        // An empty file has no byte to point at; §14.2 lets the server
        // ignore the range.
        return Ranged::Whole;
    }
    let mut specs = Vec::new();
    // A list: empty elements (`0-1,,2-3`) are allowed and mean nothing.
    for element in set.split(',').map(|e| e.trim_matches([' ', '\t'])) {
        if element.is_empty() {
            continue;
        }
        match spec(element, len) {
            Some(part) => specs.push(part),
            // One invalid spec makes the whole header invalid: ignored.
            None => return Ranged::Whole,
        }
    }
    match specs.as_slice() {
        [] => Ranged::Whole,
        [one] => one.unwrap_or(Ranged::Unsatisfiable),
        many if many.iter().all(Option::is_none) => Ranged::Unsatisfiable,
        _ => Ranged::Whole,
    }
}

/// One range-spec: `None` if malformed, `Some(None)` if valid but outside
/// the representation, `Some(Some(part))` otherwise.
fn spec(text: &str, len: u64) -> Option<Option<Ranged>> {
    let (first, last) = text.split_once('-')?;
    let part = |first: u64, last: u64| Ranged::Part {
        first,
        last: last.min(len - 1),
    };
    if first.is_empty() {
        // `-500`: the last 500 bytes, or the whole file if shorter.
        let suffix = number(last)?;
        return Some(
            (suffix > 0).then(|| part(len.saturating_sub(suffix), len)),
        );
    }
    let first = number(first)?;
    let last = if last.is_empty() {
        u64::MAX // `500-`: to the end
    } else {
        number(last)?
    };
    if last < first {
        return None;
    }
    Some((first < len).then(|| part(first, last)))
}

/// Decimal digits, saturating: `99999999999999999999-` is past the end
/// of any file, not an overflow (§14.1.1 asks for exactly this care).
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// The `Content-Range` header of a part (`bytes 0-499/1234`), or of a
/// `416` (`bytes */1234`: here is the length to ask within).
pub(super) fn content_range(
    part: Option<(u64, u64)>,
    len: u64,
) -> (String, String) {
    let value = match part {
        Some((first, last)) => format!("bytes {first}-{last}/{len}"),
        None => format!("bytes */{len}"),
    };
    ("Content-Range".to_string(), value)
}

#[cfg(test)]
mod tests;
