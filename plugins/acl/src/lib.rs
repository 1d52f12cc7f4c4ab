//! `acl`: database / table / action permissions per user or role, with expiry.
//!
//! # Rules
//!
//! The ACL is an ordered list of **grants**. A grant applies to a connection when its `users`
//! names the connection's user (or holds `"*"`), or its `roles` names one of the connection's
//! roles. It covers a table access when the connection's database is in `databases`, the
//! table matches one of `tables` and the access mode is in `actions`. A grant whose
//! `expires_at` has passed (compared with the host clock) no longer counts.
//!
//! For every table the statement touches (`facts.tables`, nested subqueries included):
//!
//! 1. a live grant with `"effect": "deny"` that covers the access refuses it, whatever else is
//!    granted (rule `acl.table`);
//! 2. otherwise a live `"effect": "allow"` grant (the default effect) permits it;
//! 3. otherwise `default` decides: `deny` refuses with rule `acl.table`, naming the user, the
//!    action and the table (and the grant that expired, when one would have matched).
//!
//! `default` is `"deny"` as soon as one allow grant is listed and `"allow"` otherwise, so `{}`
//! permits everything (permissions are opt-in, added by tenant packs), a list of grants is an
//! allowlist, and a list of deny rules alone is a blocklist.
//!
//! Statements that touch no table (`SELECT 1`, `SET`, `BEGIN`...) need no grant. DDL
//! statements (`CREATE`, `ALTER`, `DROP`, `TRUNCATE`, `GRANT`, `REVOKE`) whose objects are not
//! tables (`CREATE EXTENSION`, `DROP SCHEMA`...) need a `ddl` grant on the table pattern `"*"`
//! (rule `acl.ddl`). The facts do not say which table belongs to which statement, so when a
//! SQL text holds more DDL statements than DDL table accesses, the surplus is treated as
//! table-less DDL and needs `ddl` on `"*"` too.
//!
//! A statement the host could not parse (`facts.parsed == false`) cannot be proved to stay
//! within the grants: it is refused with rule `acl.unparsable` when `deny_unparsable` holds,
//! which it does by default whenever `default` is `deny`.
//!
//! # Matching
//!
//! - Users, roles and databases match exactly (they are gateway identifiers). Table patterns
//!   match case-insensitively: `"*"` every table; `"orders"` or `"*.orders"` a table named
//!   `orders` in any schema; `"public.orders"` only in schema `public`; `"public.*"` every table
//!   of `public`.
//! - An unqualified table in a statement is taken to be in `default_schema` (`"public"` unless
//!   configured; `null` makes unqualified tables match only schema-less patterns). The ACL
//!   cannot see `search_path`, so a session that changes it reads other tables under the same
//!   unqualified names: tenants relying on schema-qualified grants should qualify or pin it.
//! - MySQL: the qualifier of `db.table` is a database. It is matched against `databases`
//!   (instead of the connection's database) and also serves as the schema of table patterns;
//!   unqualified tables are in the connection's database. SQLite: unqualified tables are in
//!   schema `main`.
//!
//! The config schema, with every field described, is `manifest.json`.

mod config;
mod time;

use articdbm_plugin_sdk::facts::access_of;
use articdbm_plugin_sdk::prelude::*;
use articdbm_plugin_sdk::{AccessMode, TableAccess};

use config::{Acl, Effect, Grant, action_bit};

/// The policy: a validated [`Acl`].
pub struct Plugin {
    acl: Acl,
}

/// What a table access or a table-less DDL statement is checked as.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// A table, with its schema resolved (`None`: unqualified and no default schema).
    Table {
        schema: Option<&'a str>,
        name: &'a str,
    },
    /// DDL on something other than a table: needs a grant on `"*"`.
    Database,
}

enum Outcome {
    Allowed,
    /// No live allow grant and a default-deny ACL. `expired` is a grant that would have
    /// matched had it not expired: (index, expiry).
    NoGrant {
        expired: Option<(usize, u64)>,
    },
    /// A live deny rule matched.
    DeniedBy(usize),
}

impl Policy for Plugin {
    fn configure(config: &str) -> Result<Self, String> {
        Ok(Plugin {
            acl: Acl::parse(config)?,
        })
    }

    fn on_query(&self, conn: &Connection, query: &Query) -> Verdict {
        let mut now = Now(None);
        let v = self.judge(conn, query, &mut now);
        // The verdict follows from the facts' statement kinds and tables, the user, the roles
        // and the database (never from literal values or comments), unless a grant's expiry
        // had to be compared with the clock.
        if now.0.is_none() {
            host::reuse_verdict_for(ReuseScope::User, ReuseBasis::Fingerprint);
        }
        v
    }
}

/// The host clock, read only when a grant with an expiry is consulted.
struct Now(Option<u64>);

impl Now {
    fn get(&mut self) -> u64 {
        *self.0.get_or_insert_with(host::now_ms)
    }
}

impl Plugin {
    fn judge(&self, conn: &Connection, query: &Query, now: &mut Now) -> Verdict {
        let acl = &self.acl;
        let facts = &query.facts;
        if !facts.parsed {
            if acl.deny_unparsable {
                return deny(
                    "acl.unparsable",
                    format!(
                        "user {:?}: the statement could not be parsed, so the ACL cannot check which tables it touches",
                        conn.user
                    ),
                );
            }
            return Verdict::Allow;
        }
        if acl.grants.is_empty() && acl.default == Effect::Allow {
            return Verdict::Allow;
        }
        let mut ddl_tables = 0usize;
        for t in &facts.tables {
            if t.access == AccessMode::Ddl {
                ddl_tables += 1;
            }
            let (database, schema) = self.resolve(conn, t);
            let target = Target::Table {
                schema,
                name: &t.name,
            };
            let outcome = self.decide(conn, now, database, target, t.access);
            if let Some(v) = refusal(conn, database, t, outcome) {
                return v;
            }
        }
        let ddl_statements = facts
            .statements
            .iter()
            .filter(|k| access_of(**k) == Some(AccessMode::Ddl))
            .count();
        if ddl_statements > ddl_tables {
            let outcome = self.decide(conn, now, &conn.database, Target::Database, AccessMode::Ddl);
            let why = match outcome {
                Outcome::Allowed => return Verdict::Allow,
                Outcome::DeniedBy(i) => format!("deny rule grants[{i}]"),
                Outcome::NoGrant { expired } => no_grant_detail(expired, "ddl grant on \"*\""),
            };
            return deny(
                "acl.ddl",
                format!(
                    "user {:?} may not run DDL outside single tables in database {:?}: {why}",
                    conn.user, conn.database
                ),
            );
        }
        Verdict::Allow
    }

    /// The database and the schema a table access is checked against (see the crate docs).
    fn resolve<'a>(
        &'a self,
        conn: &'a Connection,
        t: &'a TableAccess,
    ) -> (&'a str, Option<&'a str>) {
        match conn.protocol {
            Protocol::Postgres => (
                &conn.database,
                t.schema.as_deref().or(self.acl.default_schema.as_deref()),
            ),
            Protocol::Mysql => {
                let db = t.schema.as_deref().unwrap_or(&conn.database);
                (db, Some(db))
            }
            Protocol::Sqlite => (&conn.database, Some(t.schema.as_deref().unwrap_or("main"))),
        }
    }

    fn decide(
        &self,
        conn: &Connection,
        now: &mut Now,
        database: &str,
        target: Target<'_>,
        mode: AccessMode,
    ) -> Outcome {
        let bit = action_bit(mode);
        let mut allowed = false;
        let mut expired = None;
        for g in &self.acl.grants {
            if g.actions & bit == 0 || !covers(g, conn, database, target) {
                continue;
            }
            if let Some(exp) = g.expires_at
                && now.get() >= exp
            {
                if g.effect == Effect::Allow {
                    expired = Some((g.index, exp));
                }
                continue;
            }
            match g.effect {
                Effect::Deny => return Outcome::DeniedBy(g.index),
                Effect::Allow => allowed = true,
            }
        }
        if allowed || self.acl.default == Effect::Allow {
            Outcome::Allowed
        } else {
            Outcome::NoGrant { expired }
        }
    }
}

fn covers(g: &Grant, conn: &Connection, database: &str, target: Target<'_>) -> bool {
    let subject = g.users.as_ref().is_none_or(|u| u.contains(&conn.user))
        || g.roles.iter().any(|r| conn.roles.contains(r));
    if !subject {
        return false;
    }
    if let Some(dbs) = &g.databases
        && !dbs.iter().any(|d| d == database)
    {
        return false;
    }
    match target {
        Target::Database => g.tables.iter().any(|p| p.is_everything()),
        Target::Table { schema, name } => g.tables.iter().any(|p| p.matches(schema, name)),
    }
}

fn refusal(
    conn: &Connection,
    database: &str,
    t: &TableAccess,
    outcome: Outcome,
) -> Option<Verdict> {
    let why = match outcome {
        Outcome::Allowed => return None,
        Outcome::DeniedBy(i) => format!("deny rule grants[{i}]"),
        Outcome::NoGrant { expired } => no_grant_detail(expired, "grant"),
    };
    let table = match &t.schema {
        Some(s) => format!("{s}.{}", t.name),
        None => t.name.clone(),
    };
    Some(deny(
        "acl.table",
        format!(
            "user {:?} may not {} table {table} in database {database:?}: {why}",
            conn.user,
            verb(t.access)
        ),
    ))
}

fn no_grant_detail(expired: Option<(usize, u64)>, what: &str) -> String {
    match expired {
        Some((i, at)) => format!("grants[{i}] expired at {}", time::format_rfc3339(at)),
        None => format!("no {what} covers it"),
    }
}

fn verb(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::Read => "read",
        AccessMode::Insert => "insert into",
        AccessMode::Update => "update",
        AccessMode::Delete => "delete from",
        AccessMode::Ddl => "change (ddl)",
    }
}

export_policy!(Plugin);

#[cfg(test)]
mod tests;
