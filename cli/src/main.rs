//! `terroir`: the command-line client.
fn main() {}
