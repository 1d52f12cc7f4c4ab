//! The WebAssembly plugin runtime: one engine, plugins loaded and pre-instantiated off the hot
//! path, warm or fresh instances per (tenant, binding) under memory and CPU limits, host
//! capabilities scoped per tenant, and the policy evaluator over rule packs. See
//! docs/ARCHITECTURE.md for how the pieces fit and docs/PLUGINS.md for the plugin lifecycle.

pub mod bindings;
pub mod engine;
pub mod host;
pub mod indicators;
pub mod instance;
pub mod kv;
pub mod metrics;
pub mod plugin;
pub mod policy;
pub mod redis_kv;
pub mod reload;
pub mod reuse;
mod sync_io;
pub mod trial;

pub use bindings::{Connection, Protocol, Query, Verdict};
pub use engine::{Runtime, RuntimeConfig, content_hash};
pub use host::HostServices;
pub use instance::{FailureKind, PluginFailure};
pub use plugin::{LoadError, LoadedPlugin};
pub use policy::{
    Decision, Finding, FindingKind, PolicyEngine, RuleHit, Snapshot, Statement, StatementContext,
};
