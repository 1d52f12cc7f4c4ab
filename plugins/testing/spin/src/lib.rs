//! Test component: loops forever on every query containing "spin", allows the rest.
//! Used to prove the CPU deadline (epoch interruption) contains a runaway plugin.

use articdbm_plugin_sdk::prelude::*;

pub struct Spin;

impl Policy for Spin {
    fn configure(_config: &str) -> Result<Self, String> {
        Ok(Spin)
    }

    fn on_query(&self, _conn: &Connection, query: &Query) -> Verdict {
        if query.sql.contains("spin") {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        Verdict::Allow
    }
}

export_policy!(Spin);
