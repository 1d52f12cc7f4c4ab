//! The threat-intelligence indicators a manager distributes to gateways: the wire types of
//! `GET /api/v1/indicators/changes` and of the per-tenant bypass rules carried in snapshots.
//! Shared by the manager (which writes them) and the gateway (which applies them to its
//! [`ThreatStore`](crate::runtime::indicators::ThreatStore)).

use serde::{Deserialize, Serialize};

/// The indicator kinds, by their wire names (the WIT `indicator-kind` cases).
pub const KINDS: [&str; 6] = ["address", "domain", "url", "user", "email", "sql-pattern"];

/// One enforceable indicator as the manager distributes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorEntry {
    /// The feed it came from: `name` for a global feed, `tenant/name` for a tenant's feed.
    pub feed: String,
    /// The tenant a tenant feed belongs to; `None` for global feeds (every tenant sees them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// One of [`KINDS`].
    pub kind: String,
    /// The normalised value: an address or CIDR, a lower-case domain, a URL, a user name, a
    /// lower-case e-mail address, or a SQL fragment.
    pub value: String,
    /// The indicator's id in its source document (a STIX id, an OpenIOC item id, a MISP
    /// uuid): shown in audit, named in bypass rules.
    pub id: String,
    /// Confidence 0-100.
    pub confidence: u8,
    /// Validity window in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<u64>,
}

/// One change to the indicator set, numbered by a sequence that only grows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum IndicatorChange {
    /// Add the indicator, or replace the one with the same (feed, kind, value).
    Upsert(IndicatorEntry),
    /// Remove the indicator with this (feed, kind, value), if held.
    Remove {
        feed: String,
        kind: String,
        value: String,
    },
}

/// A page of `GET /api/v1/indicators/changes?after=SEQ`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePage {
    /// Changes with sequence numbers in (`after`, `last`], oldest first. When `after` is 0
    /// only live indicators are listed (no removals).
    pub changes: Vec<IndicatorChange>,
    /// The sequence number of the last change in this page (or `after` when empty).
    pub last: u64,
    /// True when more changes follow: ask again with `after=last`.
    pub more: bool,
}

/// A tenant's bypass rules: what must never be blocked by threat intelligence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bypass {
    /// Client addresses or CIDR blocks never reported as listed.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Gateway user names (and user-kind indicator values) never reported as listed.
    #[serde(default)]
    pub users: Vec<String>,
    /// Indicator ids (source ids) that never match.
    #[serde(default)]
    pub indicators: Vec<String>,
}
