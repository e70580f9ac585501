//! The exercise solutions of *From Socket to Server* that are code.
//!
//! Each module holds one exercise's solution, named for the part and for
//! what it holds. The chapters include these files by anchor inside their
//! `<details>` folds, so a solution the book shows is one that compiles,
//! and `tests/tests/solutions.rs` checks what each one does over real
//! sockets. Some of the book's replayed sessions run against these servers
//! too (see `tests/tests/sessions.rs`).
//!
//! The modules reuse the parts' libraries. Where a solution is one of a
//! part's functions with one thing changed (part 1's `handle`, say), the
//! module holds the whole changed function, so that it compiles and runs,
//! and the book shows the change.

pub mod part1;
pub mod part1_content_length;
pub mod part1_read_until_blank;
pub mod part2_count;
pub mod part4_thread_per_connection;
