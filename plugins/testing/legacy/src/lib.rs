//! Test component built against the released `articdbm:policy@0.1.0` contract (`wit/policy.wit`)
//! with wit-bindgen directly: a gateway that speaks 0.1.1 must keep loading and calling it.
//! It audits every statement with rule `legacy.v010` and a count of its calls, so a test can
//! see that it is called for every statement (0.1.0 has no way to declare a reusable verdict).

#[allow(clippy::all, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "policy",
    });
}

use std::cell::Cell;

use bindings::articdbm::policy::types::{Connection, Finding, Query, Verdict};
use bindings::exports::articdbm::policy::hooks::Guest;

// The export symbols carry WIT names that a native linker refuses, so the component exists only
// on wasm32; a native build (the workspace's `cargo build`) only type-checks it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Legacy;

thread_local! {
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

impl Guest for Legacy {
    fn on_connect(_conn: Connection) -> Verdict {
        Verdict::Allow
    }

    fn on_query(_conn: Connection, query: Query) -> Verdict {
        let n = CALLS.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if query.sql.contains("legacy:deny") {
            return Verdict::Deny(Finding {
                rule: "legacy.v010".into(),
                reason: format!("call {n}"),
                score: None,
            });
        }
        Verdict::Audit(Finding {
            rule: "legacy.v010".into(),
            reason: format!("call {n}"),
            score: None,
        })
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Legacy with_types_in bindings);
