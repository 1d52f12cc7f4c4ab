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
use articdbm_facts::{FactsCache, Fingerprint};
use articdbm_pack::{EffectivePack, FailureMode, Hook, Mode, PackSet};
use parking_lot::RwLock;

use super::bindings::{self, Connection, QueryFacts, Verdict};
use super::engine::Runtime;
use super::instance::{BindingRuntime, PluginFailure};
use super::plugin::LoadedPlugin;

/// What a tenant's effective pack runs, built on first use per snapshot.
pub struct TenantPolicy {
    pub bindings: Vec<BindingRuntime>,
    pub audit_sample: f64,
    /// The effective pack allows MySQL `LOAD DATA LOCAL INFILE`.
    pub local_infile: bool,
}

/// Plugins and packs in force. Replaced whole on reload; evaluations that hold the old one
/// finish on it.
pub struct Snapshot {
    pub generation: u64,
    pub plugins: HashMap<String, Arc<LoadedPlugin>>,
    pub packs: Arc<PackSet>,
    tenants: RwLock<HashMap<String, Arc<TenantPolicy>, foldhash::fast::RandomState>>,
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
            tenants: RwLock::new(HashMap::default()),
        }
    }

    /// The tenant's policy, when a statement or activation has built it.
    pub fn tenant(&self, tenant: &str) -> Option<Arc<TenantPolicy>> {
        self.tenants.read().get(tenant).cloned()
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
    /// The tenant's effective pack allows MySQL `LOAD DATA LOCAL INFILE`.
    #[serde(skip)]
    pub local_infile: bool,
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

/// Rule id used for denials caused by plugin failures.
pub const FAILURE_RULE: &str = "plugin.failure";

/// What every statement of one fingerprint ([`articdbm_facts::Fingerprint`]) shares.
pub(crate) struct Shared {
    /// The facts of the first statement seen with the fingerprint, which stand for every other
    /// once its comment texts and literal counts are put back; `None` when they cannot
    /// ([`shareable`]) and each text is judged on its own facts.
    facts: Option<Arc<QueryFacts>>,
    /// Strings and numbers the fingerprint hid in that first statement.
    strings: u32,
    numbers: u32,
}

/// Which statements a reused verdict may cover ([`super::reuse`]). Compared by address: an
/// entry holds its `Arc`, so the address is not handed to another fingerprint or text while
/// the entry lives.
#[derive(Clone)]
pub(crate) enum Identity {
    /// Statements of one fingerprint; with the residue, of one shape.
    Fingerprint(Arc<Shared>),
    /// One exact text (the fingerprint refused it, or its facts are not shared).
    Text(Arc<QueryFacts>),
}

impl Identity {
    pub(crate) fn addr(&self) -> usize {
        match self {
            Identity::Fingerprint(s) => Arc::as_ptr(s) as usize,
            Identity::Text(f) => Arc::as_ptr(f) as usize,
        }
    }
}

/// A statement as the engine knows it: its facts, exact for its text and shared where they can
/// be, and its identity for reused verdicts.
#[derive(Clone)]
pub struct Statement {
    pub facts: Arc<QueryFacts>,
    pub protocol: bindings::Protocol,
    pub(crate) identity: Identity,
    /// What the statement's shape holds beyond its fingerprint
    /// ([`articdbm_facts::Fingerprint::residue`]); empty for a text identity.
    pub(crate) residue: Box<[u8]>,
}

/// The policy engine of a gateway process.
pub struct PolicyEngine {
    runtime: Arc<Runtime>,
    snapshot: ArcSwap<Snapshot>,
    /// Facts by exact text, for statements without a shared fingerprint.
    facts: FactsCache<QueryFacts>,
    /// What statements of one fingerprint share, by fingerprint.
    prints: FactsCache<Shared>,
}

/// Whether the facts extracted from `sql` can stand for every statement with its fingerprint
/// `fp`. They cannot when they depend on literal values (constant comparisons), when the
/// parser did not read the text (the facts then come from tokens, and the error may quote a
/// literal), or when the parser saw comments or literals other than the fingerprint did: the
/// fingerprint's reading is checked against the parser's on every new fingerprint.
fn shareable(f: &QueryFacts, fp: &Fingerprint, sql: &str) -> bool {
    f.parsed
        && f.constant_comparisons.is_empty()
        && f.comments.len() == fp.comment_count()
        && f.comments
            .iter()
            .zip(fp.comment_bodies(sql))
            .all(|(c, body)| {
                c.kind == bindings::CommentKind::Block
                    && c.text == articdbm_facts::comment_text(body)
            })
        && f.literals.strings >= fp.strings()
        && f.literals.numbers >= fp.numbers()
}

/// The facts of `sql`, whose fingerprint `fp` shares `base` (extracted from another statement
/// with it): `base` itself when nothing it says differs, else a copy with this statement's
/// comment texts and literal counts.
fn rebase(base: &Arc<QueryFacts>, shared: &Shared, fp: &Fingerprint, sql: &str) -> Arc<QueryFacts> {
    let same_counts = fp.strings() == shared.strings && fp.numbers() == shared.numbers;
    let same_comments = base
        .comments
        .iter()
        .zip(fp.comment_bodies(sql))
        .all(|(c, body)| c.text == articdbm_facts::comment_text(body));
    if same_counts && same_comments {
        return Arc::clone(base);
    }
    let mut f = (**base).clone();
    f.literals.strings = f.literals.strings - shared.strings + fp.strings();
    f.literals.numbers = f.literals.numbers - shared.numbers + fp.numbers();
    for (c, body) in f.comments.iter_mut().zip(fp.comment_bodies(sql)) {
        c.text.clear();
        c.text.push_str(articdbm_facts::comment_text(body));
    }
    Arc::new(f)
}

impl PolicyEngine {
    pub fn new(runtime: Arc<Runtime>, snapshot: Snapshot, facts_capacity: usize) -> Self {
        PolicyEngine {
            runtime,
            snapshot: ArcSwap::from_pointee(snapshot),
            facts: FactsCache::new(facts_capacity),
            prints: FactsCache::new(facts_capacity),
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

    /// The statement with its facts: shared by its fingerprint when they can be (parsed once
    /// per fingerprint, with the comment texts and literal counts of this text put back), else
    /// from the facts cache by exact text.
    pub fn statement(&self, sql: &str, protocol: bindings::Protocol) -> Statement {
        thread_local! {
            static FINGERPRINT: std::cell::RefCell<Fingerprint> =
                std::cell::RefCell::new(Fingerprint::default());
        }
        let dialect = bindings::dialect_of(protocol);
        FINGERPRINT.with(|cell| {
            let mut fp = cell.borrow_mut();
            if !fp.compute(sql, dialect) {
                return self.exact(sql, protocol);
            }
            let metrics = &self.runtime.services.metrics;
            let mut missed = false;
            let shared = self.prints.get_or_make(fp.key(), dialect, || {
                missed = true;
                let facts = self.facts_exact(sql, protocol);
                Shared {
                    facts: shareable(&facts, &fp, sql).then_some(facts),
                    strings: fp.strings(),
                    numbers: fp.numbers(),
                }
            });
            let Some(base) = &shared.facts else {
                return self.exact(sql, protocol);
            };
            if !missed {
                metrics.facts_cache_hits.inc();
            }
            Statement {
                facts: rebase(base, &shared, &fp, sql),
                protocol,
                residue: fp.residue().into(),
                identity: Identity::Fingerprint(shared),
            }
        })
    }

    fn exact(&self, sql: &str, protocol: bindings::Protocol) -> Statement {
        let facts = self.facts_exact(sql, protocol);
        Statement {
            facts: Arc::clone(&facts),
            protocol,
            identity: Identity::Text(facts),
            residue: Box::default(),
        }
    }

    fn facts_exact(&self, sql: &str, protocol: bindings::Protocol) -> Arc<QueryFacts> {
        let metrics = &self.runtime.services.metrics;
        let mut missed = false;
        let f = self
            .facts
            .get_or_insert_with(sql, bindings::dialect_of(protocol), |f| {
                missed = true;
                bindings::facts(f)
            });
        if missed {
            metrics.facts_cache_misses.inc();
        } else {
            metrics.facts_cache_hits.inc();
        }
        f
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
        let stmt = self.statement(sql, conn.protocol);
        self.evaluate_statement(conn, sql, &stmt, ctx)
    }

    /// Runs the on-query hook of the tenant's pack on `sql`, whose facts are `stmt`'s.
    pub fn evaluate_statement(
        &self,
        conn: &Connection,
        sql: &str,
        stmt: &Statement,
        ctx: &StatementContext,
    ) -> Decision {
        let start = Instant::now();
        let snap = self.snapshot.load();
        let tenant = self.tenant_policy(&snap, &conn.tenant);
        let mut query = None;
        let d = self.run(&tenant, Hook::Query, |b| {
            b.on_query(&self.runtime, conn, sql, stmt, ctx, &mut query)
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
        mut call: impl FnMut(&BindingRuntime) -> Result<Verdict, PluginFailure>,
    ) -> Decision {
        let mut decision = Decision {
            audit_sample: tenant.audit_sample,
            local_infile: tenant.local_infile,
            ..Decision::default()
        };
        for b in &tenant.bindings {
            if !b.binding.hooks.contains(&hook) {
                continue;
            }
            let result = call(b);
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
        local_infile: effective.local_infile,
    }
}
