//! `rate-limit`: queries per second per user, and hourly query quotas per tenant and per
//! database, counted in the host key-value store so every gateway of a cluster shares them.
//! Hook: on-query (every statement counts once).
//!
//! # Rules
//!
//! Checked in this order; the first that fails refuses the statement:
//!
//! 1. `rate.user`: the user's rate (`per_user_qps` with bucket size `burst`, or the user's
//!    entry in `users`) is exceeded.
//! 2. `rate.tenant-quota`: the tenant has run `per_tenant_hourly` statements this clock hour
//!    (UTC, by the gateway clock).
//! 3. `rate.database-quota`: the connection's database has run `per_database_hourly`
//!    statements this clock hour.
//! 4. `rate.store-unavailable`: the counters could not be read or written and
//!    `on_store_error` is `"deny"`. With the default `"allow"` the statement passes; either
//!    way a warning is logged and counter `store_errors` is incremented.
//!
//! A refused statement does not use up any limit: the increments already made for it are
//! taken back, so a client slightly over its rate still gets its rate, not nothing. Limits
//! that are not configured cost no store access; `{}` imposes no limits at all.
//!
//! # Why these counters
//!
//! In a cluster the store is Redis and many gateways count the same user at once, so every
//! counter is a single atomic `incr` with a TTL (the TTL applies when the key is created, so
//! counters clean themselves up). A read-modify-write token bucket (`get` tokens, compute,
//! `set`) would lose updates between gateways.
//!
//! - **Per-user rate: a sliding-window counter** approximating a token bucket of size `burst`
//!   refilled at `qps` per second. Time is cut into windows of `W = 1000 * burst / qps`
//!   milliseconds (the time to refill an empty bucket). A statement increments the current
//!   window's counter and reads the previous one; the count over the last `W` ms is estimated
//!   as `current + previous * (W - elapsed) / W`, and the statement passes when that is at
//!   most `burst`. A full bucket can be spent at once, and after a burst the previous
//!   window's weight decays linearly, so capacity comes back at about `qps` per second, as a
//!   token bucket's would. Cost: one `incr` and one `get` per statement. Unlike fixed windows
//!   it never admits a double burst across a window boundary; the price is that it assumes
//!   the previous window's statements were spread evenly, so a burst packed at the start of a
//!   window is remembered up to one window longer than a token bucket would (it errs on the
//!   strict side).
//! - **Hourly quotas: fixed windows** (`incr` on a key per clock hour, TTL to the end of the
//!   hour plus a minute). Quotas are budgets, and "per hour" means the clock hour.
//!
//! Keys include the limit values, so two bindings of the plugin with different limits (a
//! baseline and a tenant pack, say: the store is scoped per tenant and plugin, not per
//! binding) do not add to each other's counters, and a config change starts fresh counters.
//! Gateways' clocks are assumed to agree to well within a window (NTP).
//!
//! The config schema, with every field described, is `manifest.json`.

use std::collections::HashMap;

use articdbm_plugin_sdk::prelude::*;
use articdbm_plugin_sdk::{KvError, Level};
use serde::Deserialize;

const HOUR_MS: u64 = 3_600_000;
/// Keys longer than this get their names hashed (the store refuses keys over 512 bytes).
const MAX_NAME_BYTES: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    per_user_qps: Option<u64>,
    burst: Option<u64>,
    per_tenant_hourly: Option<u64>,
    per_database_hourly: Option<u64>,
    #[serde(default)]
    users: HashMap<String, RawUser>,
    #[serde(default)]
    on_store_error: OnStoreError,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    qps: u64,
    burst: Option<u64>,
}

/// What to do when the counter store fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStoreError {
    #[default]
    Allow,
    Deny,
}

/// A token-bucket shape: `qps` refill rate, `burst` capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rate {
    qps: u64,
    burst: u64,
}

impl Rate {
    /// The sliding window length in ms: the time to refill an empty bucket.
    fn window_ms(self) -> u64 {
        (self.burst.saturating_mul(1000)).div_ceil(self.qps).max(1)
    }
}

/// The policy.
#[derive(Debug)]
pub struct Plugin {
    default_rate: Option<Rate>,
    users: HashMap<String, Rate>,
    tenant_hourly: Option<u64>,
    database_hourly: Option<u64>,
    on_store_error: OnStoreError,
}

fn positive(field: &str, v: Option<u64>) -> Result<Option<u64>, String> {
    match v {
        Some(0) => Err(format!(
            "{field}: must be at least 1 (omit it for no limit)"
        )),
        v => Ok(v),
    }
}

impl Policy for Plugin {
    fn configure(config: &str) -> Result<Self, String> {
        let raw: RawConfig = config::parse(config)?;
        let qps = positive("per_user_qps", raw.per_user_qps)?;
        let burst = positive("burst", raw.burst)?;
        let default_rate = match (qps, burst) {
            (Some(qps), burst) => Some(Rate {
                qps,
                burst: burst.unwrap_or(qps),
            }),
            (None, Some(_)) => {
                return Err("burst: needs per_user_qps (the rate the bucket refills at)".into());
            }
            (None, None) => None,
        };
        let mut users = HashMap::new();
        for (name, u) in raw.users {
            if name.is_empty() {
                return Err("users: empty user name".into());
            }
            let qps = positive(&format!("users.{name}.qps"), Some(u.qps))?.unwrap_or(1);
            let burst = positive(&format!("users.{name}.burst"), u.burst)?.unwrap_or(qps);
            users.insert(name, Rate { qps, burst });
        }
        Ok(Plugin {
            default_rate,
            users,
            tenant_hourly: positive("per_tenant_hourly", raw.per_tenant_hourly)?,
            database_hourly: positive("per_database_hourly", raw.per_database_hourly)?,
            on_store_error: raw.on_store_error,
        })
    }

    fn on_query(&self, conn: &Connection, _query: &Query) -> Verdict {
        let rate = self.users.get(&conn.user).copied().or(self.default_rate);
        if rate.is_none() && self.tenant_hourly.is_none() && self.database_hourly.is_none() {
            return Verdict::Allow;
        }
        let mut taken = Taken::default();
        match self.check(conn, rate, &mut taken) {
            Ok(None) => Verdict::Allow,
            Ok(Some(refusal)) => {
                taken.give_back();
                refusal
            }
            Err(e) => {
                host::log(
                    Level::Warn,
                    &format!(
                        "rate-limit: counter store failed ({}), statement {}",
                        describe(&e),
                        match self.on_store_error {
                            OnStoreError::Allow =>
                                "allowed without limits (on_store_error = allow)",
                            OnStoreError::Deny => "denied (on_store_error = deny)",
                        }
                    ),
                );
                host::counter_add("store_errors", 1);
                match self.on_store_error {
                    OnStoreError::Allow => Verdict::Allow,
                    OnStoreError::Deny => {
                        taken.give_back();
                        deny(
                            "rate.store-unavailable",
                            "rate limits cannot be checked right now; try again shortly",
                        )
                    }
                }
            }
        }
    }
}

/// Counters incremented for the statement being judged, to take back if it is refused.
#[derive(Default)]
struct Taken(Vec<String>);

impl Taken {
    fn incr(&mut self, key: String, ttl_ms: u64) -> Result<i64, KvError> {
        let n = host::kv::incr(&key, 1, Some(ttl_ms))?;
        self.0.push(key);
        Ok(n)
    }

    /// Best effort: if the store fails now, the counters stay one high until they expire,
    /// which only errs on the strict side.
    fn give_back(self) {
        for key in self.0 {
            let _ = host::kv::incr(&key, -1, None);
        }
    }
}

impl Plugin {
    /// `Ok(Some(deny))` when a limit is exceeded, `Ok(None)` when all pass.
    fn check(
        &self,
        conn: &Connection,
        rate: Option<Rate>,
        taken: &mut Taken,
    ) -> Result<Option<Verdict>, KvError> {
        let now = host::now_ms();
        if let Some(rate) = rate {
            let w = rate.window_ms();
            let (idx, elapsed) = (now / w, now % w);
            let key = |i: u64| {
                key(
                    &format!("rl:u:{w}:{}:{i}", rate.burst),
                    &[&conn.tenant, &conn.user],
                )
            };
            let current = count(taken.incr(key(idx), 2 * w + 1000)?);
            let mut estimate = current;
            if current <= rate.burst && idx > 0 {
                let previous = match host::kv::get(&key(idx - 1))? {
                    Some(v) => std::str::from_utf8(&v)
                        .ok()
                        .and_then(|s| s.trim().parse::<i64>().ok())
                        .map_or(0, count),
                    None => 0,
                };
                let weighted = u128::from(previous) * u128::from(w - elapsed) / u128::from(w);
                estimate = current.saturating_add(u64::try_from(weighted).unwrap_or(u64::MAX));
            }
            if estimate > rate.burst {
                return Ok(Some(deny(
                    "rate.user",
                    format!(
                        "user {:?} is over its rate of {} queries per second (burst {})",
                        conn.user, rate.qps, rate.burst
                    ),
                )));
            }
        }
        let hour = now / HOUR_MS;
        let ttl = (hour + 1) * HOUR_MS - now + 60_000;
        if let Some(limit) = self.tenant_hourly {
            let n = taken.incr(key(&format!("q:t:{limit}:{hour}"), &[&conn.tenant]), ttl)?;
            if count(n) > limit {
                return Ok(Some(deny(
                    "rate.tenant-quota",
                    format!(
                        "tenant {:?} has used its quota of {limit} queries this hour",
                        conn.tenant
                    ),
                )));
            }
        }
        if let Some(limit) = self.database_hourly {
            let n = taken.incr(
                key(
                    &format!("q:d:{limit}:{hour}"),
                    &[&conn.tenant, &conn.database],
                ),
                ttl,
            )?;
            if count(n) > limit {
                return Ok(Some(deny(
                    "rate.database-quota",
                    format!(
                        "database {:?} has used its quota of {limit} queries this hour",
                        conn.database
                    ),
                )));
            }
        }
        Ok(None)
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `prefix` followed by each name as `:<len>:<name>`, so names containing `:` cannot collide;
/// overlong names are replaced by a hash to stay within the store's key limit.
fn key(prefix: &str, names: &[&str]) -> String {
    let mut k = String::from(prefix);
    for n in names {
        if n.len() > MAX_NAME_BYTES {
            k.push_str(&format!(":#{:016x}", fnv1a(n.as_bytes())));
        } else {
            k.push_str(&format!(":{}:{n}", n.len()));
        }
    }
    k
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The store error for the log; never shown to clients.
fn describe(e: &KvError) -> String {
    match e {
        KvError::Unavailable(m) => format!("unavailable: {m}"),
        KvError::Invalid(m) => format!("invalid request: {m}"),
        KvError::NotAnInteger => "a counter holds a non-integer".into(),
    }
}

export_policy!(Plugin);

#[cfg(test)]
mod tests;
