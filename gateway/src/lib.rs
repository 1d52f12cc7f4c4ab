//! The ArticDBM gateway library: the WebAssembly plugin runtime, rule packs and the policy
//! evaluator. The binary in `main.rs` is a thin CLI over it.

pub mod admin;
pub mod audit;
pub mod cli;
pub mod config;
pub mod managed;
pub mod metrics;
pub mod pg;
pub mod runtime;
pub mod session;
pub mod spin;
pub mod sqlite;
pub mod threat;
pub mod usage;
