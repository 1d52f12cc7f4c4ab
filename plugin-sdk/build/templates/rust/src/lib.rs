//! {{name}}: refuses DROP statements except for the users its config lists.

use articdbm_plugin_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plugin {
    #[serde(default)]
    allow_users: Vec<String>,
}

impl Policy for Plugin {
    fn configure(config: &str) -> Result<Self, String> {
        config::parse(config)
    }

    fn on_query(&self, conn: &Connection, query: &Query) -> Verdict {
        if query.facts.has_statement(StatementKind::Drop) && !self.allow_users.contains(&conn.user)
        {
            host::counter_add("refused_drops", 1);
            return deny("{{name}}.drop", format!("{} may not DROP", conn.user));
        }
        Verdict::Allow
    }
}

export_policy!(Plugin);
