//! Placeholder policy: allows everything.

use articdbm_plugin_sdk::prelude::*;

pub struct Plugin;

impl Policy for Plugin {
    fn configure(_config: &str) -> Result<Self, String> {
        Ok(Plugin)
    }
}

export_policy!(Plugin);
