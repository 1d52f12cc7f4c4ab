//! The protocol-neutral half of a client session: judging a statement, which is the only way
//! to obtain a [`Permit`], the route a permitted statement takes, and the audit and metrics
//! that go with every decision. The PostgreSQL core (`pg::core`) uses it; the MySQL frontend
//! is meant to use it unchanged.
//!
//! # No permit, no bytes
//!
//! A [`Permit`] can only be made in this module, by [`Judge::judge`] returning
//! [`Judgment::Allowed`]. The protocol cores send client-originated bytes to a server only
//! through functions that take a `&Permit`, so a path that forgot to judge does not compile.
//! A denial is the fall-through: there is no default allow.

use std::sync::Arc;

use crate::runtime::bindings::{AccessMode, Connection, Protocol, QueryFacts, StatementKind};
use crate::runtime::{Decision, FindingKind, PolicyEngine, StatementContext};
use crate::usage::TenantUsage;

/// Which server a statement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Primary,
    /// A replica when one is healthy, else the primary.
    Read,
}

/// Proof that the policy judged a statement and allowed it. Cloned into whatever carries the
/// statement on (a prepared statement, a portal, a COPY in progress); never made elsewhere.
#[derive(Debug, Clone)]
pub struct Permit {
    route: Route,
    local_infile: bool,
}

impl Permit {
    /// Where the permitted statement may run.
    pub fn route(&self) -> Route {
        self.route
    }

    /// Whether the tenant's packs allow MySQL `LOAD DATA LOCAL INFILE` (off unless one does).
    pub fn local_infile(&self) -> bool {
        self.local_infile
    }

    /// The permit of a statement that runs alongside others: the most demanding route wins.
    pub fn join(&self, other: &Permit) -> Permit {
        Permit {
            route: if self.route == Route::Read && other.route == Route::Read {
                Route::Read
            } else {
                Route::Primary
            },
            local_infile: self.local_infile && other.local_infile,
        }
    }
}

/// Why a statement was refused: shown to the client by the protocol core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub rule: String,
    pub reason: String,
    pub plugin: String,
    pub binding: String,
}

/// The outcome of judging one statement.
#[derive(Debug, Clone)]
pub enum Judgment {
    Allowed(Permit),
    Denied(Denial),
}

/// The policy as a protocol core sees it.
pub trait Judge {
    /// Judges `sql` (a whole client string or one statement of it).
    fn judge(&mut self, sql: &str, ctx: &StatementContext) -> Judgment;
    /// Counts `n` statements run (usage per tenant).
    fn count_queries(&mut self, n: u64);
}

/// The gateway's judge: the tenant's rule pack through the policy engine, with the log lines,
/// metrics, usage counts and audit events every decision gets.
pub struct EngineJudge {
    pub engine: Arc<PolicyEngine>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub audit: Option<Arc<crate::audit::AuditSink>>,
    pub conn: Connection,
    pub usage: Arc<TenantUsage>,
    pub database: String,
    pub protocol: Protocol,
}

impl Judge for EngineJudge {
    fn judge(&mut self, sql: &str, ctx: &StatementContext) -> Judgment {
        let stmt = self.engine.statement(sql, self.protocol);
        let d = self.engine.evaluate_statement(&self.conn, sql, &stmt, ctx);
        log_findings(&d, &self.conn, Some(sql));
        audit(
            self.audit.as_deref(),
            &self.conn,
            "query",
            &self.database,
            &d,
            Some(sql),
        );
        match d.denied {
            Some(hit) => {
                TenantUsage::add(&self.usage.denials);
                self.metrics
                    .denied_statements
                    .with_label_values(&[hit.rule.as_str()])
                    .inc();
                tracing::warn!(user = %self.conn.user, tenant = %self.conn.tenant,
                    database = %self.database, rule = %hit.rule, plugin = %hit.plugin,
                    reason = %hit.reason, "statement refused by policy");
                Judgment::Denied(Denial {
                    rule: hit.rule,
                    reason: hit.reason,
                    plugin: hit.plugin,
                    binding: hit.binding,
                })
            }
            None => Judgment::Allowed(Permit {
                route: if is_read(&stmt.facts) {
                    Route::Read
                } else {
                    Route::Primary
                },
                local_infile: d.local_infile,
            }),
        }
    }

    fn count_queries(&mut self, n: u64) {
        self.usage
            .queries
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A judge for byte-fixture tests of the protocol cores: allows everything except statements
/// containing one of `deny` (as rule `test.deny`); reads are statements starting with SELECT.
#[cfg(test)]
pub struct TestJudge {
    pub deny: Vec<String>,
    pub judged: Vec<String>,
    /// What the permits say of MySQL `LOAD DATA LOCAL INFILE`.
    pub local_infile: bool,
}

#[cfg(test)]
impl TestJudge {
    pub fn new(deny: &[&str]) -> Self {
        TestJudge {
            deny: deny.iter().map(|s| s.to_string()).collect(),
            judged: Vec::new(),
            local_infile: false,
        }
    }
}

#[cfg(test)]
impl Judge for TestJudge {
    fn judge(&mut self, sql: &str, _ctx: &StatementContext) -> Judgment {
        self.judged.push(sql.to_string());
        if let Some(d) = self.deny.iter().find(|d| sql.contains(d.as_str())) {
            return Judgment::Denied(Denial {
                rule: "test.deny".into(),
                reason: format!("contains {d}"),
                plugin: "test".into(),
                binding: "test".into(),
            });
        }
        let read = sql.trim_start().to_ascii_lowercase().starts_with("select");
        Judgment::Allowed(Permit {
            route: if read { Route::Read } else { Route::Primary },
            local_infile: self.local_infile,
        })
    }

    fn count_queries(&mut self, _n: u64) {}
}

/// Why an authenticated client is not let in. Each protocol words it (and picks its
/// SQLSTATE or error code); the checks and their order are the same for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The user has `require_tls` and the connection is in clear.
    TlsRequired,
    /// The client's address is outside the user's `allowed_networks`.
    Network,
    /// The user may not use this database.
    Database,
    /// The on-connect policy refused.
    Policy { rule: String, reason: String },
}

/// What `admit` needs of the gateway.
pub struct Gate<'a> {
    pub engine: &'a PolicyEngine,
    pub metrics: &'a crate::metrics::Metrics,
    pub audit: Option<&'a crate::audit::AuditSink>,
    pub usage: &'a crate::usage::Usage,
}

/// The checks every protocol runs after authentication, in this order: TLS, network,
/// database, then the on-connect policy (logged, audited, counted). `Ok`: the tenant's usage
/// counters, the connection counted. Every refusal counts as an authentication failure.
pub fn admit(
    gate: &Gate<'_>,
    user: &crate::config::User,
    peer: std::net::IpAddr,
    conn: &Connection,
) -> Result<Arc<TenantUsage>, Refusal> {
    let refused = |r: Refusal| {
        gate.metrics.auth_failures.inc();
        Err(r)
    };
    // After authentication, so that a probe learns nothing about which users exist.
    if user.require_tls && !conn.tls {
        return refused(Refusal::TlsRequired);
    }
    if !user.may_connect_from(peer) {
        return refused(Refusal::Network);
    }
    if !user.may_use(&conn.database) {
        return refused(Refusal::Database);
    }
    let d = gate.engine.evaluate_connect(conn);
    log_findings(&d, conn, None);
    audit(gate.audit, conn, "connect", &conn.database, &d, None);
    let usage = gate.usage.tenant(&conn.tenant);
    if let Some(hit) = d.denied {
        TenantUsage::add(&usage.denials);
        gate.metrics
            .denied_statements
            .with_label_values(&[hit.rule.as_str()])
            .inc();
        tracing::warn!(user = %conn.user, tenant = %conn.tenant, client = %conn.client_addr,
            rule = %hit.rule, reason = %hit.reason, "connection refused by policy");
        return refused(Refusal::Policy {
            rule: hit.rule,
            reason: hit.reason,
        });
    }
    TenantUsage::add(&usage.connections);
    Ok(usage)
}

/// Functions that only read: a statement calling only these may run on a replica.
const READ_ONLY_FUNCTIONS: &[&str] = &[
    "abs",
    "array_agg",
    "avg",
    "btrim",
    "ceil",
    "ceiling",
    "char_length",
    "coalesce",
    "concat",
    "concat_ws",
    "count",
    "current_database",
    "current_date",
    "current_schema",
    "current_timestamp",
    "current_user",
    "date_part",
    "date_trunc",
    "dense_rank",
    "every",
    "extract",
    "first_value",
    "floor",
    "format",
    "generate_series",
    "greatest",
    "json_agg",
    "json_build_object",
    "jsonb_agg",
    "jsonb_build_object",
    "lag",
    "last_value",
    "lead",
    "least",
    "left",
    "length",
    "lower",
    "ltrim",
    "max",
    "md5",
    "min",
    "now",
    "nullif",
    "position",
    "rank",
    "regexp_replace",
    "replace",
    "right",
    "round",
    "row_number",
    "rtrim",
    "session_user",
    "split_part",
    "string_agg",
    "substr",
    "substring",
    "sum",
    "to_char",
    "to_date",
    "to_json",
    "to_jsonb",
    "to_timestamp",
    "trim",
    "trunc",
    "unnest",
    "upper",
    "version",
];

/// A statement that only reads and may run on a replica.
pub fn is_read(f: &QueryFacts) -> bool {
    f.parsed
        && !f.locking_read
        && !f.file_access
        && !f.statements.is_empty()
        && f.statements
            .iter()
            .all(|s| matches!(s, StatementKind::Select))
        && f.tables.iter().all(|t| t.access == AccessMode::Read)
        && f.functions.iter().all(|c| {
            let name = c.name.strip_prefix("pg_catalog.").unwrap_or(&c.name);
            READ_ONLY_FUNCTIONS.contains(&name)
        })
}

/// Managed mode: refusals, would-denies and audits always, allowed statements at the pack's
/// `audit_sample` rate, become audit events for the manager.
pub fn audit(
    sink: Option<&crate::audit::AuditSink>,
    conn: &Connection,
    action: &str,
    database: &str,
    d: &Decision,
    sql: Option<&str>,
) {
    let Some(sink) = sink else {
        return;
    };
    let (verdict, hit) = if let Some(h) = &d.denied {
        ("deny", Some(h))
    } else if let Some(f) = d.findings.iter().find(|f| f.kind == FindingKind::WouldDeny) {
        ("would-deny", Some(&f.hit))
    } else if let Some(f) = d.findings.first() {
        ("audit", Some(&f.hit))
    } else {
        let p = d.audit_sample;
        if p <= 0.0 || !sample(p) {
            return;
        }
        ("allow", None)
    };
    let mut e = crate::audit::AuditEvent::new(&conn.tenant, &conn.user, action, database, verdict);
    let mut detail = serde_json::json!({"client_addr": conn.client_addr});
    if let Some(h) = hit {
        detail["rule"] = h.rule.clone().into();
        detail["plugin"] = h.plugin.clone().into();
        detail["binding"] = h.binding.clone().into();
        detail["reason"] = h.reason.clone().into();
    }
    if let Some(sql) = sql {
        let cut = sql
            .char_indices()
            .nth(2000)
            .map(|(i, _)| i)
            .unwrap_or(sql.len());
        detail["sql"] = sql[..cut].into();
    }
    e.detail = detail;
    sink.record(e);
}

/// True with probability `p` (a per-thread xorshift; sampling, not security).
fn sample(p: f64) -> bool {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut b = [0u8; 8];
            let _ = getrandom::fill(&mut b);
            u64::from_le_bytes(b) | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64 <= p
    })
}

pub fn log_findings(d: &Decision, conn: &Connection, sql: Option<&str>) {
    for f in &d.findings {
        match f.kind {
            FindingKind::WouldDeny => tracing::warn!(user = %conn.user, tenant = %conn.tenant,
                rule = %f.hit.rule, plugin = %f.hit.plugin, reason = %f.hit.reason,
                sql = sql.unwrap_or(""), "monitor mode: would deny"),
            _ => tracing::info!(user = %conn.user, tenant = %conn.tenant, kind = ?f.kind,
                rule = %f.hit.rule, plugin = %f.hit.plugin, reason = %f.hit.reason, "policy finding"),
        }
    }
}
