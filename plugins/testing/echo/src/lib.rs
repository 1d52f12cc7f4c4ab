//! Test component: audits every query with rule `echo.v1` (or `echo.v2` when built with the
//! `v2` feature), and denies queries containing the configured `deny_word`. Used by hot-reload
//! tests to see which version served each evaluation, and by host-capability tests (`kv`,
//! `clock`, `log`, `indicators`, `metrics`, `reuse` are exercised when the SQL asks for them).

use articdbm_plugin_sdk::prelude::*;
use serde::Deserialize;

#[cfg(not(feature = "v2"))]
const RULE: &str = "echo.v1";
#[cfg(feature = "v2")]
const RULE: &str = "echo.v2";

thread_local! {
    static CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Echo {
    #[serde(default)]
    deny_word: Option<String>,
}

impl Policy for Echo {
    fn configure(config: &str) -> Result<Self, String> {
        config::parse(config)
    }

    fn on_connect(&self, conn: &Connection) -> Verdict {
        if let Some(m) = host::indicators::address_listed(&conn.client_addr) {
            return deny("echo.listed", format!("address listed by {}", m.id));
        }
        audit(RULE, format!("connect {}@{}", conn.user, conn.tenant))
    }

    fn on_query(&self, conn: &Connection, query: &Query) -> Verdict {
        if let Some(word) = &self.deny_word
            && query.sql.contains(word.as_str())
        {
            return deny(RULE, format!("contains {word}"));
        }
        if query.sql.contains("echo:count") {
            host::counter_add("count_calls", 1);
            host::log(articdbm_plugin_sdk::Level::Info, "counting");
            return match host::kv::incr("count", 1, None) {
                Ok(n) => audit(RULE, format!("count={n} tenant={}", conn.tenant)),
                Err(e) => deny("echo.kv", format!("kv failed: {e:?}")),
            };
        }
        if query.sql.contains("echo:reuse") {
            // The reason counts this instance's calls: a reused verdict repeats an old count.
            let n = CALLS.with(|c| {
                c.set(c.get() + 1);
                c.get()
            });
            let scope = if query.sql.contains("echo:reuse-user") {
                ReuseScope::User
            } else {
                ReuseScope::Statement
            };
            if query.sql.contains("echo:reuse-clock") {
                // Declares reuse but reads the clock: the host must not reuse this verdict.
                let _ = host::now_ms();
            }
            if query.sql.contains("echo:reuse-fp") {
                host::reuse_verdict_for(scope, ReuseBasis::Fingerprint);
            } else {
                host::reuse_verdict(scope);
            }
            return audit(RULE, format!("call {n} for {}", conn.user));
        }
        if query.sql.contains("echo:clock") {
            return audit(RULE, format!("now={}", host::now_ms()));
        }
        audit(RULE, "seen")
    }
}

export_policy!(Echo);
