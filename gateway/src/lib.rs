//! The ArticDBM gateway library: the WebAssembly plugin runtime, rule packs and the policy
//! evaluator. The binary in `main.rs` is a thin CLI over it.

pub mod cli;
pub mod metrics;
pub mod runtime;
