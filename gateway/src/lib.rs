//! The ArticDBM gateway: the PostgreSQL proxy (the protocol-neutral [`session`] core with its
//! permits, the [`pg`] frontend, pools and routing, TLS), managed mode, audit shipping and the
//! admin endpoints. The binary in `main.rs` is a thin CLI over it.
//!
//! The other products live in their own crates and are re-exported here under the module names
//! they had before the split: `articdbm-config` ([`config`], [`threat`]), `articdbm-runtime`
//! (the plugin runtime, [`runtime`], and [`metrics`]) and `articdbm-sqlite` ([`sqlite`]).

pub mod admin;
pub mod audit;
pub mod cli;
pub mod managed;
pub mod memory;
pub mod mysql;
pub mod pg;
pub mod pool;
pub mod session;
pub mod spin;
pub mod usage;

pub use articdbm_config as config;
pub use articdbm_config::threat;
pub use articdbm_runtime as runtime;
pub use articdbm_runtime::metrics;
pub use articdbm_sqlite as sqlite;
