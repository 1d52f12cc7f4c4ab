//! The cross-language benchmark policy in Rust (tests/benches/polyglot.rs): refuses statements
//! whose facts hold a DROP (rule `trivial.drop`), allows everything else. The same policy is
//! written in Python, JavaScript and C beside this directory.

use articdbm_plugin_sdk::prelude::*;

pub struct Trivial;

impl Policy for Trivial {
    fn configure(_config: &str) -> Result<Self, String> {
        Ok(Trivial)
    }

    fn on_query(&self, _conn: &Connection, query: &Query) -> Verdict {
        if query.facts.has_statement(StatementKind::Drop) {
            return deny("trivial.drop", "DROP is not allowed");
        }
        Verdict::Allow
    }
}

export_policy!(Trivial);
