//! `terroird`: the peer node daemon (networking arrives in a later change).
fn main() {}
