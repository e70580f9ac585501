//! Criterion benchmarks of the message layer (being written).
fn main() {}
