//! The policy evaluator: the live snapshot (loaded plugins plus rule packs), swapped
//! atomically on reload, and the evaluation of the on-connect and on-query hooks of a tenant's
//! effective pack.
//!
//! Outcome rules: bindings run in pack order; the first `deny` of a binding in enforce mode
//! ends evaluation with that denial. A deny from a binding in monitor mode is recorded as a
//! would-deny finding and evaluation goes on. A failed call (trap, timeout, memory, missing
//! plugin, quarantine) is a deny under `failure = "closed"` (the default) and an allow with a
//! recorded finding under `failure = "open"`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use articdbm_facts::FactsCache;
use articdbm_pack::{EffectivePack, FailureMode, Hook, Mode, PackSet};
use parking_lot::RwLock;

use super::bindings::{self, Connection, Query, Verdict};
use super::engine::Runtime;
use super::instance::{BindingRuntime, PluginFailure};
use super::plugin::LoadedPlugin;

/// What a tenant's effective pack runs, built on first use per snapshot.
pub struct TenantPolicy {
    pub bindings: Vec<BindingRuntime>,
    pub audit_sample: f64,
}

/// Plugins and packs in force. Replaced whole on reload; evaluations that hold the old one
/// finish on it.
pub struct Snapshot {
    pub generation: u64,
    pub plugins: HashMap<String, Arc<LoadedPlugin>>,
    pub packs: Arc<PackSet>,
    tenants: RwLock<HashMap<String, Arc<TenantPolicy>>>,
}

impl Snapshot {
    pub fn new(
        generation: u64,
        plugins: HashMap<String, Arc<LoadedPlugin>>,
        packs: Arc<PackSet>,
    ) -> Self {
        Snapshot {
            generation,
            plugins,
            packs,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    /// Installs a pre-built tenant policy (activation builds and pre-warms them).
    pub(crate) fn insert_tenant(&self, tenant: &str, policy: TenantPolicy) {
        self.tenants
            .write()
            .insert(tenant.to_string(), Arc::new(policy));
    }
}

/// What kind of finding a non-denying result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The plugin returned `audit`.
    Audit,
    /// A monitor-mode binding would have denied.
    WouldDeny,
    /// The plugin failed and its binding fails open.
    FailedOpen,
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleHit {
    pub binding: String,
    pub plugin: String,
    pub rule: String,
    pub reason: String,
    pub score: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    #[serde(flatten)]
    pub hit: RuleHit,
}

/// The result of evaluating one hook over a tenant's pack.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Decision {
    /// `Some` when the connection or statement must be refused.
    pub denied: Option<RuleHit>,
    /// Audits, would-denies and failed-open calls, in binding order.
    pub findings: Vec<Finding>,
    /// The fraction of allowed statements the tenant's effective pack wants audited.
    #[serde(skip)]
    pub audit_sample: f64,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.denied.is_none()
    }
}

/// Per-statement context that is not part of the statement text.
#[derive(Debug, Clone, Default)]
pub struct StatementContext {
    pub in_transaction: bool,
    pub prepared_name: Option<String>,
}

/// The shape of a statement: its text with every integer literal outside strings, quoted
/// identifiers and dollar quotes replaced by a NUL byte (which no SQL text holds), prefixed
/// by the protocol. `None` when there is nothing to blank or the text has comments.
fn shape_of(sql: &str, protocol: bindings::Protocol) -> Option<Vec<u8>> {
    let b = sql.as_bytes();
    let ident =
        |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 || c == b'.';
    let mut out = Vec::with_capacity(b.len() + 1);
    out.push(protocol as u8);
    let mut blanked = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                let backslash = c == b'\'' && i > 0 && matches!(b[i - 1], b'e' | b'E');
                let end = crate::sqltext::quoted_end(b, i, c, backslash);
                out.extend_from_slice(&b[i..end]);
                i = end;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => return None,
            b'/' if b.get(i + 1) == Some(&b'*') => return None,
            b'#' => return None, // MySQL comment
            b'$' => return None, // dollar quoting or placeholders: keep it simple, exact text
            b'0'..=b'9' if i == 0 || !ident(b[i - 1]) => {
                let mut j = i;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j < b.len() && ident(b[j]) {
                    // 1e5, 1.5, 0x1F, 12abc: copied as they are.
                    while j < b.len() && ident(b[j]) {
                        j += 1;
                    }
                    out.extend_from_slice(&b[i..j]);
                } else {
                    out.push(0);
                    blanked = true;
                }
                i = j;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    blanked.then_some(out)
}

/// Rule id used for denials caused by plugin failures.
pub const FAILURE_RULE: &str = "plugin.failure";

/// Statement shape → the facts shared by every statement of that shape (`None`: not shared).
type ShapeMap = HashMap<Box<[u8]>, Option<Arc<Query>>>;

/// The policy engine of a gateway process.
pub struct PolicyEngine {
    runtime: Arc<Runtime>,
    snapshot: ArcSwap<Snapshot>,
    facts: FactsCache<Query>,
    /// Facts by statement shape (the text with its integer literals blanked): statements
    /// that differ only in integer values have the same facts, unless the facts hold
    /// something that depends on the values or their positions (constant comparisons,
    /// comments), in which case the shape maps to `None` and the exact text is used.
    shapes: RwLock<ShapeMap>,
    shapes_capacity: usize,
}

impl PolicyEngine {
    pub fn new(runtime: Arc<Runtime>, snapshot: Snapshot, facts_capacity: usize) -> Self {
        PolicyEngine {
            runtime,
            snapshot: ArcSwap::from_pointee(snapshot),
            facts: FactsCache::new(facts_capacity),
            shapes: RwLock::new(HashMap::new()),
            shapes_capacity: facts_capacity,
        }
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The snapshot in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Replaces the snapshot. Evaluations already running finish on the old one.
    pub fn swap(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
    }

    /// The statement with its facts, from the cache when the same text was seen before.
    ///
    /// The cached value is the converted WIT record, so a hit costs a hash lookup and an
    /// `Arc` clone; `prepared_name` is unset and `in_transaction` false (see
    /// [`PolicyEngine::query_in`]).
    pub fn query(&self, sql: &str, protocol: bindings::Protocol) -> Arc<Query> {
        let Some(shape) = shape_of(sql, protocol) else {
            return self.query_exact(sql, protocol);
        };
        let known = self.shapes.read().get(&shape[..]).cloned();
        match known {
            Some(Some(q)) => {
                self.runtime.services.metrics.facts_cache_hits.inc();
                Arc::new(Query {
                    sql: sql.to_string(),
                    facts: q.facts.clone(),
                    prepared_name: None,
                    in_transaction: false,
                })
            }
            Some(None) => self.query_exact(sql, protocol),
            None => {
                let q = self.query_exact(sql, protocol);
                let f = &q.facts;
                let reusable =
                    f.parsed && f.constant_comparisons.is_empty() && f.comments.is_empty();
                let mut shapes = self.shapes.write();
                if shapes.len() >= self.shapes_capacity {
                    shapes.clear();
                }
                shapes.insert(shape.into_boxed_slice(), reusable.then(|| Arc::clone(&q)));
                q
            }
        }
    }

    fn query_exact(&self, sql: &str, protocol: bindings::Protocol) -> Arc<Query> {
        let metrics = &self.runtime.services.metrics;
        let mut missed = false;
        let q = self
            .facts
            .get_or_insert_with(sql, bindings::dialect_of(protocol), |f| {
                missed = true;
                Query {
                    sql: sql.to_string(),
                    facts: bindings::facts(f),
                    prepared_name: None,
                    in_transaction: false,
                }
            });
        if missed {
            metrics.facts_cache_misses.inc();
        } else {
            metrics.facts_cache_hits.inc();
        }
        q
    }

    /// Like [`PolicyEngine::query`], for a statement inside a transaction block or being
    /// prepared under a name (the record is copied only when one of them is set).
    pub fn query_in(
        &self,
        sql: &str,
        protocol: bindings::Protocol,
        prepared_name: Option<&str>,
        in_transaction: bool,
    ) -> Arc<Query> {
        let q = self.query(sql, protocol);
        if prepared_name.is_none() && !in_transaction {
            return q;
        }
        let mut q = (*q).clone();
        q.prepared_name = prepared_name.map(str::to_string);
        q.in_transaction = in_transaction;
        Arc::new(q)
    }

    /// Runs the on-connect hook of the tenant's pack.
    pub fn evaluate_connect(&self, conn: &Connection) -> Decision {
        let snap = self.snapshot.load();
        let tenant = self.tenant_policy(&snap, &conn.tenant);
        let d = self.run(&tenant, Hook::Connect, |b| {
            b.call(&self.runtime, |p, store| {
                p.articdbm_policy_hooks().call_on_connect(store, conn)
            })
        });
        self.runtime
            .services
            .metrics
            .decisions
            .with_label_values(&["connect", if d.is_allowed() { "allow" } else { "deny" }])
            .inc();
        d
    }

    /// Extracts facts (cached) and runs the on-query hook of the tenant's pack.
    pub fn evaluate_sql(&self, conn: &Connection, sql: &str, ctx: &StatementContext) -> Decision {
        let q = self.query(sql, conn.protocol);
        self.evaluate_query(conn, &q, ctx)
    }

    /// Runs the on-query hook of the tenant's pack on a statement whose facts are known.
    pub fn evaluate_query(
        &self,
        conn: &Connection,
        query: &Query,
        ctx: &StatementContext,
    ) -> Decision {
        let start = Instant::now();
        let owned;
        let query = if ctx.in_transaction == query.in_transaction
            && ctx.prepared_name == query.prepared_name
        {
            query
        } else {
            owned = Query {
                in_transaction: ctx.in_transaction,
                prepared_name: ctx.prepared_name.clone(),
                ..query.clone()
            };
            &owned
        };
        let snap = self.snapshot.load();
        let tenant = self.tenant_policy(&snap, &conn.tenant);
        let d = self.run(&tenant, Hook::Query, |b| {
            b.call(&self.runtime, |p, store| {
                p.articdbm_policy_hooks().call_on_query(store, conn, query)
            })
        });
        let m = &self.runtime.services.metrics;
        m.total_queries.inc();
        m.query_duration.observe(start.elapsed().as_secs_f64());
        let sqli = d
            .denied
            .as_ref()
            .is_some_and(|h| h.rule.starts_with("sqli."))
            || d.findings
                .iter()
                .any(|f| f.kind == FindingKind::WouldDeny && f.hit.rule.starts_with("sqli."));
        if sqli {
            m.sql_injection_attempts.inc();
        }
        d
    }

    fn run(
        &self,
        tenant: &TenantPolicy,
        hook: Hook,
        call: impl Fn(&BindingRuntime) -> Result<Verdict, PluginFailure>,
    ) -> Decision {
        let mut decision = Decision {
            audit_sample: tenant.audit_sample,
            ..Decision::default()
        };
        for b in &tenant.bindings {
            if !b.binding.hooks.contains(&hook) {
                continue;
            }
            let started = Instant::now();
            let result = call(b);
            b.duration.observe(started.elapsed().as_secs_f64());
            let monitor = b.binding.mode == Mode::Monitor;
            let hit = |rule: String, reason: String, score| RuleHit {
                binding: b.binding.id.clone(),
                plugin: b.binding.plugin.clone(),
                rule,
                reason,
                score,
            };
            match result {
                Ok(Verdict::Allow) => {}
                Ok(Verdict::Audit(f)) => decision.findings.push(Finding {
                    kind: FindingKind::Audit,
                    hit: hit(f.rule, f.reason, f.score),
                }),
                Ok(Verdict::Deny(f)) => {
                    let h = hit(f.rule, f.reason, f.score);
                    if monitor {
                        tracing::info!(binding = %h.binding, rule = %h.rule, reason = %h.reason, "monitor mode: would deny");
                        decision.findings.push(Finding {
                            kind: FindingKind::WouldDeny,
                            hit: h,
                        });
                    } else {
                        decision.denied = Some(h);
                        return decision;
                    }
                }
                Err(failure) => {
                    let closed = b.binding.failure == FailureMode::Closed;
                    let reason = if closed {
                        format!(
                            "{}; denied because the binding fails closed",
                            failure.message
                        )
                    } else {
                        format!(
                            "{}; allowed because the binding fails open",
                            failure.message
                        )
                    };
                    tracing::warn!(binding = %b.binding.id, kind = failure.kind.label(), "{reason}");
                    let h = hit(FAILURE_RULE.to_string(), reason, None);
                    if !closed {
                        decision.findings.push(Finding {
                            kind: FindingKind::FailedOpen,
                            hit: h,
                        });
                    } else if monitor {
                        decision.findings.push(Finding {
                            kind: FindingKind::WouldDeny,
                            hit: h,
                        });
                    } else {
                        decision.denied = Some(h);
                        return decision;
                    }
                }
            }
        }
        decision
    }

    fn tenant_policy(&self, snap: &Snapshot, tenant: &str) -> Arc<TenantPolicy> {
        if let Some(t) = snap.tenants.read().get(tenant) {
            return t.clone();
        }
        let built = Arc::new(build_tenant(&self.runtime, snap, tenant));
        let mut map = snap.tenants.write();
        map.entry(tenant.to_string()).or_insert(built).clone()
    }
}

/// The bindings a tenant runs under `snap`.
pub fn build_tenant(runtime: &Runtime, snap: &Snapshot, tenant: &str) -> TenantPolicy {
    let effective: EffectivePack = snap.packs.effective_for(tenant);
    let tenant_name: Arc<str> = Arc::from(tenant);
    let bindings = effective
        .bindings
        .into_iter()
        .map(|b| {
            let plugin = match snap.plugins.get(&b.plugin) {
                Some(p) => match &b.version {
                    Some(v) if *v != p.manifest.version => Err(format!(
                        "plugin '{}' version {} is loaded but binding '{}' pins version {v}",
                        b.plugin, p.manifest.version, b.id
                    )),
                    _ => Ok(p.clone()),
                },
                None => Err(format!(
                    "plugin '{}' used by binding '{}' ({}) is not loaded: it is missing from the plugin directory or failed to load",
                    b.plugin, b.id, b.source
                )),
            };
            BindingRuntime::new(runtime, tenant_name.clone(), b, plugin)
        })
        .collect();
    TenantPolicy {
        bindings,
        audit_sample: effective.audit_sample,
    }
}

#[cfg(test)]
mod shape_tests {
    use super::shape_of;
    use crate::runtime::bindings::Protocol;

    fn shape(s: &str) -> Option<String> {
        shape_of(s, Protocol::Postgres).map(|v| String::from_utf8_lossy(&v[1..]).replace('\0', "#"))
    }

    #[test]
    fn integers_outside_strings_are_blanked() {
        assert_eq!(
            shape("SELECT abalance FROM pgbench_accounts WHERE aid = 80125;").as_deref(),
            Some("SELECT abalance FROM pgbench_accounts WHERE aid = #;")
        );
        assert_eq!(
            shape("SELECT * FROM t1 WHERE a = 'x1' AND b = 7").as_deref(),
            Some("SELECT * FROM t1 WHERE a = 'x1' AND b = #")
        );
        assert_eq!(
            shape("SELECT 1.5, 1e5, 0x1F, 3").as_deref(),
            Some("SELECT 1.5, 1e5, 0x1F, #")
        );
        assert_eq!(
            shape(r"SELECT E'it\'s 5', 6").as_deref(),
            Some(r"SELECT E'it\'s 5', #")
        );
    }

    #[test]
    fn nothing_to_blank_or_comments_means_no_shape() {
        assert_eq!(shape("SELECT a FROM t"), None);
        assert_eq!(shape("SELECT 1 -- 2"), None);
        assert_eq!(shape("SELECT 1 /* 2 */"), None);
        assert_eq!(shape("SELECT $1 + 2"), None);
    }

    #[test]
    fn different_values_share_a_shape_different_structure_does_not() {
        assert_eq!(
            shape("SELECT * FROM t WHERE id = 1"),
            shape("SELECT * FROM t WHERE id = 99999")
        );
        assert_ne!(
            shape("SELECT * FROM t WHERE id = 1"),
            shape("SELECT * FROM t WHERE id = 1 OR 1=1")
        );
        assert_ne!(
            shape("SELECT * FROM t WHERE id = 1"),
            shape("SELECT * FROM t WHERE id = '1'")
        );
    }
}
