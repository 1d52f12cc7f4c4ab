//! `network`: who may connect from where, over what, until when. Hook: on-connect.
//!
//! # Rules
//!
//! Checked in this order; the first that fails refuses the connection:
//!
//! 1. `network.expired`: the account has an expiry (`account-expires-at`, set in gateway user
//!    configuration) and the host clock has reached it. On by default
//!    (`check_account_expiry`): an expiry on an account is the operator's own statement.
//! 2. `network.address`: the allowlist in force is non-empty and the client address is in
//!    none of its blocks, or is not an IP address at all (a Unix socket). **An empty
//!    allowlist means any address**, so `{}` admits everyone.
//! 3. `network.tls`: TLS is required for this connection and the client did not use it.
//!
//! # Overrides
//!
//! `allow` and `require_tls` can be set globally, per user (`users`), per tenant (`tenants`)
//! and per user within a tenant (`tenants.<t>.users`). For each of the two settings the most
//! specific level that sets it wins: tenant user, then user, then tenant, then global. An
//! override replaces rather than adds to what it overrides, so it can also loosen (a user
//! override `"allow": []` admits that user from anywhere). Users in `require_tls_users` need
//! TLS whatever the overrides say. Top-level `users` keys apply in every tenant; in a baseline
//! pack shared by tenants, prefer `tenants.<t>.users`.
//!
//! # Addresses
//!
//! Blocks are `a.b.c.d/n`, `x:y::/n` or bare addresses, parsed with `std::net` and matched
//! with integer mask math (see [`articdbm_plugin_sdk::cidr`]). IPv4-mapped IPv6 clients (`::ffff:192.0.2.7`)
//! match IPv4 blocks. A block with bits set beyond its prefix (`10.0.0.1/8`) is refused as a
//! config error naming the field.
//!
//! The config schema, with every field described, is `manifest.json`.

use std::collections::HashMap;
use std::net::IpAddr;

use articdbm_plugin_sdk::prelude::*;
use serde::Deserialize;

use articdbm_plugin_sdk::cidr::{Cidr, normalize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    require_tls: bool,
    #[serde(default)]
    require_tls_users: Vec<String>,
    #[serde(default = "yes")]
    check_account_expiry: bool,
    #[serde(default)]
    users: HashMap<String, RawOverride>,
    #[serde(default)]
    tenants: HashMap<String, RawTenant>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    allow: Option<Vec<String>>,
    require_tls: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    allow: Option<Vec<String>>,
    require_tls: Option<bool>,
    #[serde(default)]
    users: HashMap<String, RawOverride>,
}

/// Settings at one level; `None` defers to the next, less specific level.
#[derive(Debug, Default)]
struct Level {
    allow: Option<Vec<Cidr>>,
    require_tls: Option<bool>,
}

#[derive(Debug, Default)]
struct Tenant {
    level: Level,
    users: HashMap<String, Level>,
}

/// The policy.
#[derive(Debug)]
pub struct Plugin {
    global_allow: Vec<Cidr>,
    global_tls: bool,
    tls_users: Vec<String>,
    check_expiry: bool,
    users: HashMap<String, Level>,
    tenants: HashMap<String, Tenant>,
}

fn blocks(field: &str, list: &[String]) -> Result<Vec<Cidr>, String> {
    list.iter()
        .enumerate()
        .map(|(i, s)| Cidr::parse(s).map_err(|e| format!("{field}[{i}]: {e}")))
        .collect()
}

fn level(field: &str, raw: &RawOverride) -> Result<Level, String> {
    Ok(Level {
        allow: raw
            .allow
            .as_deref()
            .map(|l| blocks(&format!("{field}.allow"), l))
            .transpose()?,
        require_tls: raw.require_tls,
    })
}

fn user_levels(
    field: &str,
    raw: &HashMap<String, RawOverride>,
) -> Result<HashMap<String, Level>, String> {
    raw.iter()
        .map(|(name, o)| {
            if name.is_empty() {
                return Err(format!("{field}: empty user name"));
            }
            Ok((name.clone(), level(&format!("{field}.{name}"), o)?))
        })
        .collect()
}

impl Policy for Plugin {
    fn configure(config: &str) -> Result<Self, String> {
        let raw: RawConfig = config::parse(config)?;
        if let Some(i) = raw.require_tls_users.iter().position(|u| u.is_empty()) {
            return Err(format!("require_tls_users[{i}]: empty user name"));
        }
        let tenants = raw
            .tenants
            .iter()
            .map(|(name, t)| {
                if name.is_empty() {
                    return Err("tenants: empty tenant name".to_string());
                }
                let field = format!("tenants.{name}");
                let lvl = level(
                    &field,
                    &RawOverride {
                        allow: t.allow.clone(),
                        require_tls: t.require_tls,
                    },
                )?;
                Ok((
                    name.clone(),
                    Tenant {
                        level: lvl,
                        users: user_levels(&format!("{field}.users"), &t.users)?,
                    },
                ))
            })
            .collect::<Result<_, String>>()?;
        Ok(Plugin {
            global_allow: blocks("allow", &raw.allow)?,
            global_tls: raw.require_tls,
            tls_users: raw.require_tls_users,
            check_expiry: raw.check_account_expiry,
            users: user_levels("users", &raw.users)?,
            tenants,
        })
    }

    fn on_connect(&self, conn: &Connection) -> Verdict {
        if self.check_expiry
            && let Some(exp) = conn.account_expires_at
            && host::now_ms() >= exp
        {
            return deny(
                "network.expired",
                format!(
                    "the account of user {:?} expired at {}",
                    conn.user,
                    format_utc(exp)
                ),
            );
        }
        let levels = self.levels(conn);
        let allow = levels
            .iter()
            .find_map(|l| l.allow.as_deref())
            .unwrap_or(&self.global_allow);
        if !allow.is_empty() {
            let admitted = normalize(&conn.client_addr)
                .is_some_and(|ip: IpAddr| allow.iter().any(|b| b.contains(ip)));
            if !admitted {
                return deny(
                    "network.address",
                    format!(
                        "user {:?} may not connect from address {:?}",
                        conn.user, conn.client_addr
                    ),
                );
            }
        }
        let tls = self.tls_users.contains(&conn.user)
            || levels
                .iter()
                .find_map(|l| l.require_tls)
                .unwrap_or(self.global_tls);
        if tls && !conn.tls {
            return deny(
                "network.tls",
                format!("user {:?} must connect with TLS", conn.user),
            );
        }
        Verdict::Allow
    }
}

impl Plugin {
    /// The override levels that apply to `conn`, most specific first.
    fn levels(&self, conn: &Connection) -> Vec<&Level> {
        let tenant = self.tenants.get(&conn.tenant);
        [
            tenant.and_then(|t| t.users.get(&conn.user)),
            self.users.get(&conn.user),
            tenant.map(|t| &t.level),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// `ms` since the epoch as `YYYY-MM-DDTHH:MM:SSZ`, for reasons a person reads.
fn format_utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

export_policy!(Plugin);

#[cfg(test)]
mod tests;
