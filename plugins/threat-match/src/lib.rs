//! threat-match policy (in progress).

use articdbm_plugin_sdk::prelude::*;

pub struct ThreatMatch;

impl Policy for ThreatMatch {
    fn configure(_config: &str) -> Result<Self, String> {
        Ok(ThreatMatch)
    }
}

export_policy!(ThreatMatch);
