//! `threat-match`: refuses connections and statements that threat intelligence lists.
//! Hooks: on-connect, on-query.
//!
//! The indicators are the gateway's: global feeds plus the connection's tenant's own feeds,
//! looked up through the `indicators` host import. The host already drops expired
//! indicators and applies the manager's per-tenant bypass rules; this plugin adds a
//! confidence threshold and its own bypass lists.
//!
//! # Rules
//!
//! On connect, in order:
//!
//! - `threat.address`: the client address is listed (exactly or inside a listed block);
//! - `threat.user`: the gateway user name is listed (user-kind indicators match exactly).
//!
//! On each statement that holds string literals (the facts count them: a statement without
//! any is allowed without scanning), the literals are read out of the SQL text (see
//! [`lexer`]: standard, escape, dollar-quoted and MySQL strings, comments skipped), at most
//! `max_literals` of them and at most 2 KiB each, and what they mention is looked up (see
//! [`classify`]):
//!
//! - `threat.query.address`: an IP address or block, or a URL whose host is an address;
//! - `threat.query.url`: a URL (scheme and host lower-cased);
//! - `threat.query.email`: an e-mail address;
//! - `threat.query.domain`: a domain, a URL's host or an e-mail address's domain, or any of
//!   their parent domains down to two labels.
//!
//! At most [`MAX_LOOKUPS`] distinct lookups are made per statement. A match counts when its
//! confidence reaches `min_confidence` and neither its indicator id nor (for addresses) the
//! address is in the bypass lists; user bypass applies to `threat.user`. The deny reason names
//! the listed value, the indicator id, the feed and the confidence, and each refusal adds to
//! the plugin counter `blocks.<rule without "threat.">` (`blocks.address`,
//! `blocks.query.domain`...).
//!
//! The host returns the best (highest-confidence) match only: when the plugin's own bypass
//! names that indicator's id, a weaker match of the same value by another feed is not
//! consulted. The manager's per-tenant bypass, applied by the host, has no such limit.
//!
//! # Overrides
//!
//! `tenants.<t>.min_confidence` replaces the threshold for tenant `t`; `tenants.<t>.bypass`
//! adds to the global bypass lists.
//!
//! The config schema, with every field described, is `manifest.json`.

pub mod classify;
pub mod lexer;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use articdbm_plugin_sdk::prelude::*;
use articdbm_plugin_sdk::{IndicatorKind, IndicatorMatch};
use serde::Deserialize;

use articdbm_plugin_sdk::cidr::{Cidr, normalize};
use classify::Lookup;

/// Longest literal (decoded) that is looked at.
pub const MAX_LITERAL_LEN: usize = 2048;
/// Distinct indicator lookups per statement.
pub const MAX_LOOKUPS: usize = 128;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_confidence")]
    min_confidence: u8,
    #[serde(default = "yes")]
    check_client_address: bool,
    #[serde(default = "yes")]
    check_user: bool,
    #[serde(default = "yes")]
    check_query_literals: bool,
    #[serde(default = "default_max_literals")]
    max_literals: u32,
    #[serde(default)]
    bypass: RawBypass,
    #[serde(default)]
    tenants: HashMap<String, RawTenant>,
}

fn default_confidence() -> u8 {
    50
}

fn default_max_literals() -> u32 {
    32
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBypass {
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    indicators: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    min_confidence: Option<u8>,
    #[serde(default)]
    bypass: RawBypass,
}

/// What never counts as listed.
#[derive(Debug, Default, Clone)]
struct BypassSet {
    blocks: Vec<Cidr>,
    users: HashSet<String>,
    indicators: HashSet<String>,
}

impl BypassSet {
    fn add(&mut self, field: &str, raw: &RawBypass) -> Result<(), String> {
        for (i, a) in raw.addresses.iter().enumerate() {
            self.blocks
                .push(Cidr::parse(a).map_err(|e| format!("{field}.addresses[{i}]: {e}"))?);
        }
        for (i, u) in raw.users.iter().enumerate() {
            if u.is_empty() {
                return Err(format!("{field}.users[{i}]: empty user name"));
            }
            self.users.insert(u.clone());
        }
        for (i, id) in raw.indicators.iter().enumerate() {
            if id.is_empty() {
                return Err(format!("{field}.indicators[{i}]: empty indicator id"));
            }
            self.indicators.insert(id.clone());
        }
        Ok(())
    }

    fn covers(&self, ip: IpAddr) -> bool {
        self.blocks.iter().any(|b| b.contains(ip))
    }
}

/// The settings in force for one tenant.
#[derive(Debug, Clone)]
struct Settings {
    min_confidence: u8,
    bypass: BypassSet,
}

impl Settings {
    fn counts(&self, m: &IndicatorMatch) -> bool {
        m.confidence >= self.min_confidence && !self.bypass.indicators.contains(&m.id)
    }
}

/// The policy.
#[derive(Debug)]
pub struct ThreatMatch {
    check_client_address: bool,
    check_user: bool,
    check_query_literals: bool,
    max_literals: usize,
    global: Settings,
    tenants: HashMap<String, Settings>,
}

fn confidence(field: &str, c: u8) -> Result<u8, String> {
    if c > 100 {
        return Err(format!("{field}: must be 0-100, got {c}"));
    }
    Ok(c)
}

/// `threat feed "abuse" (indicator indicator--1234, 203.0.113.0/24, confidence 85)`.
fn provenance(m: &IndicatorMatch) -> String {
    format!(
        "threat feed {:?} (indicator {}, {}, confidence {})",
        m.source, m.id, m.value, m.confidence
    )
}

fn block(rule: &str, counter: &str, reason: String, m: &IndicatorMatch) -> Verdict {
    host::counter_add(counter, 1);
    Verdict::Deny(Finding {
        rule: rule.to_string(),
        reason,
        score: Some(f32::from(m.confidence.min(100)) / 100.0),
    })
}

impl Policy for ThreatMatch {
    fn configure(config: &str) -> Result<Self, String> {
        let raw: RawConfig = config::parse(config)?;
        if raw.max_literals == 0 || raw.max_literals > 1024 {
            return Err(format!(
                "max_literals: must be 1-1024, got {}",
                raw.max_literals
            ));
        }
        let mut bypass = BypassSet::default();
        bypass.add("bypass", &raw.bypass)?;
        let global = Settings {
            min_confidence: confidence("min_confidence", raw.min_confidence)?,
            bypass,
        };
        let mut tenants = HashMap::new();
        for (name, t) in &raw.tenants {
            if name.is_empty() {
                return Err("tenants: empty tenant name".into());
            }
            let field = format!("tenants.{name}");
            let mut s = global.clone();
            if let Some(c) = t.min_confidence {
                s.min_confidence = confidence(&format!("{field}.min_confidence"), c)?;
            }
            s.bypass.add(&format!("{field}.bypass"), &t.bypass)?;
            tenants.insert(name.clone(), s);
        }
        Ok(ThreatMatch {
            check_client_address: raw.check_client_address,
            check_user: raw.check_user,
            check_query_literals: raw.check_query_literals,
            max_literals: raw.max_literals as usize,
            global,
            tenants,
        })
    }

    fn on_connect(&self, conn: &Connection) -> Verdict {
        let s = self.settings(&conn.tenant);
        if self.check_client_address
            && let Some(ip) = normalize(&conn.client_addr)
            && !s.bypass.covers(ip)
            && let Some(m) = host::indicators::address_listed(&ip.to_string())
            && s.counts(&m)
        {
            let reason = format!("client address {ip} is listed by {}", provenance(&m));
            return block("threat.address", "blocks.address", reason, &m);
        }
        if self.check_user
            && !conn.user.is_empty()
            && !s.bypass.users.contains(&conn.user)
            && let Some(m) = host::indicators::name_listed(IndicatorKind::User, &conn.user)
            && s.counts(&m)
        {
            let reason = format!("user {:?} is listed by {}", conn.user, provenance(&m));
            return block("threat.user", "blocks.user", reason, &m);
        }
        Verdict::Allow
    }

    fn on_query(&self, conn: &Connection, query: &Query) -> Verdict {
        if !self.check_query_literals || query.facts.literals.strings == 0 {
            return Verdict::Allow;
        }
        let literals = lexer::string_literals(
            &query.sql,
            conn.protocol == Protocol::Mysql,
            self.max_literals,
            MAX_LITERAL_LEN,
        );
        let s = self.settings(&conn.tenant);
        let mut seen: HashSet<(u8, String)> = HashSet::new();
        for literal in &literals {
            for l in classify::lookups(literal) {
                if seen.len() >= MAX_LOOKUPS {
                    return Verdict::Allow;
                }
                if !seen.insert((l.kind as u8, l.value.clone())) {
                    continue;
                }
                if let Some(v) = self.check(s, &l) {
                    return v;
                }
            }
        }
        Verdict::Allow
    }
}

impl ThreatMatch {
    fn settings(&self, tenant: &str) -> &Settings {
        self.tenants.get(tenant).unwrap_or(&self.global)
    }

    /// One lookup: a deny verdict when it finds a match that counts.
    fn check(&self, s: &Settings, l: &Lookup) -> Option<Verdict> {
        let m = match l.ip {
            Some(ip) => {
                if s.bypass.covers(ip) {
                    return None;
                }
                host::indicators::address_listed(&l.value)?
            }
            None => host::indicators::name_listed(l.kind, &l.value)?,
        };
        if !s.counts(&m) {
            return None;
        }
        let reason = format!(
            "the statement mentions {} {:?}, listed by {}",
            l.mention.noun(),
            l.said,
            provenance(&m)
        );
        Some(block(l.mention.rule(), l.mention.counter(), reason, &m))
    }
}

export_policy!(ThreatMatch);

#[cfg(test)]
mod tests;
