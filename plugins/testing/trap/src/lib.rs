//! Test component: traps (panics) on every query containing "trap", allows the rest.
//! Used to prove a trapping plugin costs one query a fail-closed deny, never the gateway.

use articdbm_plugin_sdk::prelude::*;

pub struct Trap;

impl Policy for Trap {
    fn configure(_config: &str) -> Result<Self, String> {
        Ok(Trap)
    }

    fn on_query(&self, _conn: &Connection, query: &Query) -> Verdict {
        if query.sql.contains("trap") {
            panic!("test component asked to trap");
        }
        Verdict::Allow
    }
}

export_policy!(Trap);
