//! The binding config: serde types mirroring `manifest.json`'s schema, and their validation
//! into the matcher the hooks use. Every error names the offending field.

use serde::Deserialize;

use crate::time::parse_rfc3339;
use articdbm_plugin_sdk::AccessMode;

/// `{"default": ..., "grants": [...], "deny_unparsable": ..., "default_schema": ...}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    default: Option<Effect>,
    #[serde(default)]
    grants: Vec<RawGrant>,
    deny_unparsable: Option<bool>,
    /// Absent: "public". `null`: unqualified tables match only unqualified patterns.
    #[serde(default = "public_schema")]
    default_schema: Option<String>,
}

fn public_schema() -> Option<String> {
    Some("public".to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    #[serde(default)]
    effect: Effect,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    databases: Option<Vec<String>>,
    tables: Option<Vec<String>>,
    actions: Vec<Action>,
    #[serde(alias = "expires")]
    expires_at: Option<Instant>,
    #[serde(default)]
    #[allow(dead_code)] // for humans reading the pack
    description: Option<String>,
}

/// Whether a grant permits or forbids what it matches; also the ACL's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    Read,
    Insert,
    Update,
    Delete,
    Ddl,
}

/// An expiry: RFC 3339 text or milliseconds since the Unix epoch.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Instant {
    Ms(u64),
    Text(String),
}

/// The validated ACL.
#[derive(Debug)]
pub struct Acl {
    pub default: Effect,
    pub deny_unparsable: bool,
    pub default_schema: Option<String>,
    pub grants: Vec<Grant>,
}

/// One validated grant (or deny rule).
#[derive(Debug)]
pub struct Grant {
    /// Position in `grants`, for reasons.
    pub index: usize,
    pub effect: Effect,
    /// `None` when `users` holds `"*"`: every user.
    pub users: Option<Vec<String>>,
    pub roles: Vec<String>,
    /// `None` for `"*"`.
    pub databases: Option<Vec<String>>,
    pub tables: Vec<TablePattern>,
    /// Bit set of [`action_bit`]s.
    pub actions: u8,
    pub expires_at: Option<u64>,
}

/// `"*"`, `"orders"`, `"public.orders"`, `"public.*"` or `"*.orders"`, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePattern {
    /// `None`: any schema.
    pub schema: Option<String>,
    /// `None`: any table.
    pub name: Option<String>,
}

impl TablePattern {
    /// True for `"*"` / `"*.*"`, the only patterns that cover table-less DDL.
    pub fn is_everything(&self) -> bool {
        self.schema.is_none() && self.name.is_none()
    }

    /// Whether a table in `schema` (already resolved; `None` when unqualified and no default
    /// schema applies) named `name` matches, case-insensitively.
    pub fn matches(&self, schema: Option<&str>, name: &str) -> bool {
        let schema_ok = match (&self.schema, schema) {
            (None, _) => true,
            (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
            (Some(_), None) => false,
        };
        schema_ok
            && self
                .name
                .as_ref()
                .is_none_or(|want| want.eq_ignore_ascii_case(name))
    }
}

/// The bit of an access mode in [`Grant::actions`].
pub fn action_bit(mode: AccessMode) -> u8 {
    match mode {
        AccessMode::Read => 1,
        AccessMode::Insert => 2,
        AccessMode::Update => 4,
        AccessMode::Delete => 8,
        AccessMode::Ddl => 16,
    }
}

fn bit(a: Action) -> u8 {
    action_bit(match a {
        Action::Read => AccessMode::Read,
        Action::Insert => AccessMode::Insert,
        Action::Update => AccessMode::Update,
        Action::Delete => AccessMode::Delete,
        Action::Ddl => AccessMode::Ddl,
    })
}

impl Acl {
    /// Parses and validates the binding config.
    pub fn parse(json: &str) -> Result<Acl, String> {
        let raw: RawConfig = articdbm_plugin_sdk::config::parse(json)?;
        let grants = raw
            .grants
            .into_iter()
            .enumerate()
            .map(|(i, g)| grant(i, g))
            .collect::<Result<Vec<_>, _>>()?;
        let default = raw.default.unwrap_or_else(|| {
            if grants.iter().any(|g| g.effect == Effect::Allow) {
                Effect::Deny
            } else {
                Effect::Allow
            }
        });
        let default_schema = match raw.default_schema {
            Some(s) if s.trim().is_empty() || s.contains(['.', '*']) => {
                return Err(format!(
                    "default_schema: {s:?} is not a schema name (use null for none)"
                ));
            }
            s => s.map(|s| s.to_ascii_lowercase()),
        };
        Ok(Acl {
            deny_unparsable: raw.deny_unparsable.unwrap_or(default == Effect::Deny),
            default,
            default_schema,
            grants,
        })
    }
}

fn grant(i: usize, g: RawGrant) -> Result<Grant, String> {
    let at = |field: &str| format!("grants[{i}].{field}");
    if g.users.is_empty() && g.roles.is_empty() {
        return Err(format!(
            "grants[{i}]: names no users and no roles, so it applies to nobody (use users: [\"*\"] for everyone)"
        ));
    }
    for (field, list) in [("users", &g.users), ("roles", &g.roles)] {
        if let Some(j) = list.iter().position(|s| s.is_empty()) {
            return Err(format!("{}[{j}]: empty name", at(field)));
        }
    }
    if g.roles.iter().any(|r| r == "*") {
        return Err(format!(
            "{}: \"*\" is only meaningful in users (every user)",
            at("roles")
        ));
    }
    let users = (!g.users.iter().any(|u| u == "*")).then_some(g.users);
    let databases = match g.databases {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(format!(
                "{}: empty list matches nothing (omit it or use [\"*\"] for every database)",
                at("databases")
            ));
        }
        Some(list) => {
            if let Some(j) = list.iter().position(|s| s.is_empty()) {
                return Err(format!("{}[{j}]: empty name", at("databases")));
            }
            (!list.iter().any(|d| d == "*")).then_some(list)
        }
    };
    let tables = match g.tables {
        None => vec![TablePattern {
            schema: None,
            name: None,
        }],
        Some(list) if list.is_empty() => {
            return Err(format!(
                "{}: empty list matches nothing (omit it or use [\"*\"] for every table)",
                at("tables")
            ));
        }
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(j, t)| table_pattern(t).map_err(|e| format!("{}[{j}]: {e}", at("tables"))))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if g.actions.is_empty() {
        return Err(format!(
            "{}: empty list grants nothing; list read, insert, update, delete and/or ddl",
            at("actions")
        ));
    }
    let expires_at = match g.expires_at {
        None => None,
        Some(Instant::Ms(ms)) => Some(ms),
        Some(Instant::Text(t)) => {
            Some(parse_rfc3339(&t).map_err(|e| format!("{}: {e}", at("expires_at")))?)
        }
    };
    Ok(Grant {
        index: i,
        effect: g.effect,
        users,
        roles: g.roles,
        databases,
        tables,
        actions: g.actions.iter().fold(0, |acc, a| acc | bit(*a)),
        expires_at,
    })
}

fn table_pattern(text: &str) -> Result<TablePattern, String> {
    let part = |s: &str| -> Result<Option<String>, String> {
        match s {
            "" => Err(format!("{text:?} has an empty name part")),
            "*" => Ok(None),
            s if s.contains('*') => Err(format!(
                "{text:?}: \"*\" must stand alone for a whole name part (\"public.*\", \"*.orders\")"
            )),
            s => Ok(Some(s.to_ascii_lowercase())),
        }
    };
    if text.split('.').any(str::is_empty) {
        return Err(format!("{text:?} has an empty name part"));
    }
    match text.rsplit_once('.') {
        None => Ok(TablePattern {
            schema: None,
            name: part(text)?,
        }),
        Some((schema, name)) => Ok(TablePattern {
            schema: part(schema)?,
            name: part(name)?,
        }),
    }
}
