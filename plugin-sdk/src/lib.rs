//! The crate ArticDBM policy plugin authors depend on.
//!
//! Implement [`Policy`] (every hook has a documented allow-by-default), export it with
//! [`export_policy!`], and build with `cargo build --target wasm32-wasip2 --release`. The
//! [`host`] module reaches the gateway's capabilities (log, clock, key-value store, indicator
//! lookups, counters); natively it talks to an in-memory stand-in so [`testing`] can run a
//! plugin's logic in ordinary `cargo test` without building wasm.
//!
//! ```ignore
//! use articdbm_plugin_sdk::prelude::*;
//!
//! struct NoDrop;
//!
//! impl Policy for NoDrop {
//!     fn configure(_config: &str) -> Result<Self, String> {
//!         Ok(NoDrop)
//!     }
//!     fn on_query(&self, _conn: &Connection, query: &Query) -> Verdict {
//!         if query.facts.statements.contains(&StatementKind::Drop) {
//!             return deny("nodrop.drop", "DROP is not allowed here");
//!         }
//!         Verdict::Allow
//!     }
//! }
//!
//! export_policy!(NoDrop);
//! ```

#[allow(clippy::all, missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.1.2",
        world: "configurable-policy",
        pub_export_macro: true,
        export_macro_name: "export_raw",
        default_bindings_module: "::articdbm_plugin_sdk::bindings",
    });
}

pub mod cidr;
pub mod facts;
pub mod host;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use bindings::articdbm::policy::indicators::IndicatorMatch;
pub use bindings::articdbm::policy::kv::KvError;
pub use bindings::articdbm::policy::log::Level;
/// Which statements a reusable verdict covers (contract 0.1.2): see [`host::reuse_verdict_for`].
pub use bindings::articdbm::policy::reuse::Basis as ReuseBasis;
/// How far a reusable verdict carries (contract 0.1.1): see [`host::reuse_verdict`].
pub use bindings::articdbm::policy::reuse::Scope as ReuseScope;
pub use bindings::articdbm::policy::types::{
    AccessMode, Clause, Comment, CommentKind, CommentPosition, Connection, Connective,
    ConstantComparison, Finding, FunctionCall, IndicatorKind, LiteralCounts, Protocol, Query,
    QueryFacts, StatementKind, TableAccess, Verdict,
};

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::facts::FactsExt;
    pub use crate::{
        AccessMode, Clause, Connection, Finding, Policy, Protocol, Query, QueryFacts, ReuseBasis,
        ReuseScope, StatementKind, Verdict, audit, config, deny, export_policy, host,
    };
}

/// A policy plugin.
///
/// The gateway calls [`Policy::configure`] once per instance with the binding's JSON config
/// (already validated against the plugin's JSON Schema), then the hooks. Instances are reused
/// across calls (unless the plugin's manifest asks for isolation), so keep per-query state out
/// of `self`; cross-query state belongs in the [`host::kv`] store, which is shared across
/// instances and, in a cluster, across gateways.
pub trait Policy: Sized + 'static {
    /// Builds the plugin from its JSON config. Return `Err` with a message naming the
    /// offending field to refuse the config; the operator sees it.
    fn configure(config: &str) -> Result<Self, String>;

    /// Runs once per client connection, after authentication and before any statement.
    /// Default: allow.
    fn on_connect(&self, _conn: &Connection) -> Verdict {
        Verdict::Allow
    }

    /// Runs for every statement (each statement of a simple query, every Parse).
    /// Default: allow.
    fn on_query(&self, _conn: &Connection, _query: &Query) -> Verdict {
        Verdict::Allow
    }
}

/// A deny verdict with `rule` and `reason`.
pub fn deny(rule: impl Into<String>, reason: impl Into<String>) -> Verdict {
    Verdict::Deny(Finding {
        rule: rule.into(),
        reason: reason.into(),
        score: None,
    })
}

/// An audit-only verdict: allowed, recorded.
pub fn audit(rule: impl Into<String>, reason: impl Into<String>) -> Verdict {
    Verdict::Audit(Finding {
        rule: rule.into(),
        reason: reason.into(),
        score: None,
    })
}

/// Config helpers.
pub mod config {
    use serde::de::DeserializeOwned;

    /// Parses the binding's JSON config into `T`, with a message naming the problem.
    /// An empty string counts as `{}`.
    pub fn parse<T: DeserializeOwned>(config: &str) -> Result<T, String> {
        let text = if config.trim().is_empty() {
            "{}"
        } else {
            config
        };
        serde_json::from_str(text).map_err(|e| format!("invalid config: {e}"))
    }
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
}

/// Exports a [`Policy`] implementation as the component's `hooks` and `config` interfaces.
///
/// A hook called before `configure` configures the plugin with `{}` first; if that is
/// refused, the hook denies with rule `plugin.unconfigured` (fail closed).
///
/// On native targets the macro only checks that the type implements [`Policy`]: the
/// component exports carry WIT-named symbols that a native `cdylib` cannot link, and native
/// tests drive the policy through [`testing`] instead.
#[macro_export]
macro_rules! export_policy {
    ($ty:ty) => {
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn __assert_policy<T: $crate::Policy>() {}
            let _ = __assert_policy::<$ty>;
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use ::std::cell::RefCell;
            use $crate::__private::bindings;

            struct __ArticdbmExport;

            ::std::thread_local! {
                static __ARTICDBM_STATE: RefCell<Option<$ty>> = const { RefCell::new(None) };
            }

            fn __with<R>(f: impl FnOnce(&$ty) -> R, fallback: impl FnOnce(String) -> R) -> R {
                __ARTICDBM_STATE.with(|cell| {
                    if cell.borrow().is_none() {
                        match <$ty as $crate::Policy>::configure("{}") {
                            Ok(p) => *cell.borrow_mut() = Some(p),
                            Err(e) => return fallback(e),
                        }
                    }
                    let guard = cell.borrow();
                    match guard.as_ref() {
                        Some(p) => f(p),
                        None => fallback("not configured".to_string()),
                    }
                })
            }

            fn __unconfigured(e: String) -> $crate::Verdict {
                $crate::deny(
                    "plugin.unconfigured",
                    format!("plugin has no valid configuration: {e}"),
                )
            }

            impl bindings::exports::articdbm::policy::hooks::Guest for __ArticdbmExport {
                fn on_connect(conn: $crate::Connection) -> $crate::Verdict {
                    __with(|p| $crate::Policy::on_connect(p, &conn), __unconfigured)
                }
                fn on_query(conn: $crate::Connection, query: $crate::Query) -> $crate::Verdict {
                    __with(
                        |p| $crate::Policy::on_query(p, &conn, &query),
                        __unconfigured,
                    )
                }
            }

            impl bindings::exports::articdbm::policy::config::Guest for __ArticdbmExport {
                fn configure(config_json: String) -> Result<(), String> {
                    let p = <$ty as $crate::Policy>::configure(&config_json)?;
                    __ARTICDBM_STATE.with(|cell| *cell.borrow_mut() = Some(p));
                    Ok(())
                }
            }

    bindings::export_raw!(__ArticdbmExport with_types_in bindings);
        };
    };
}
