//! The chunked transfer coding (RFC 9112 §7.1), decoding and encoding.
//!
//! (Skeleton: being written.)
