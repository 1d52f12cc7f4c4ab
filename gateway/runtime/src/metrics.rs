//! Prometheus metrics of the gateway. One [`Metrics`] per process, registered in its own
//! registry so tests can create several without clashing. Names keep the seed project's
//! (`articdbm_*`) so existing dashboards work.
//!
//! `/metrics` lists every family, also those with no series yet (a labelled family gets its
//! first series on first use: no denial yet, no `articdbm_denied_statements_total{rule}`), as
//! `# HELP` and `# TYPE` lines without samples, so what a process exports can be read from a
//! fresh one ([`FamilyMeta`]; the manager does the same).

use std::cell::RefCell;

use prometheus::core::Collector;
use prometheus::proto::{MetricFamily, MetricType};
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Every metric the policy runtime updates.
pub struct Metrics {
    pub registry: Registry,
    pub total_queries: IntCounter,
    pub query_duration: Histogram,
    pub sql_injection_attempts: IntCounter,
    pub decisions: IntCounterVec,
    pub plugin_duration: HistogramVec,
    pub plugin_failures: IntCounterVec,
    pub plugin_reused: IntCounterVec,
    pub plugin_recycled: IntCounterVec,
    pub plugin_quarantined: IntGaugeVec,
    pub plugin_counters: IntCounterVec,
    pub plugin_reloads: IntCounterVec,
    pub plugins_loaded: IntGauge,
    pub facts_cache_hits: IntCounter,
    pub facts_cache_misses: IntCounter,
    // Wire side (PostgreSQL gateway).
    pub active_connections: IntGauge,
    pub client_connections: IntCounter,
    pub auth_failures: IntCounter,
    pub protocol_errors: IntCounterVec,
    pub denied_statements: IntCounterVec,
    pub pool_servers: IntGaugeVec,
    pub pool_waiting: IntGaugeVec,
    pub pool_wait: HistogramVec,
    pub pool_timeouts: IntCounterVec,
    pub backend_up: IntGaugeVec,
    pub backend_connect_failures: IntCounterVec,
    // Managed mode (snapshots from the manager).
    pub snapshot_version: IntGauge,
    pub manager_reachable: IntGauge,
    pub snapshot_applies: IntCounterVec,
    pub kv_remote_up: IntGauge,
    // Threat intelligence (the gateway's ThreatStore).
    pub threat_indicators: IntGauge,
    pub threat_lookups: IntCounterVec,
    /// The labelled families, for rendering those without series yet.
    families: Vec<FamilyMeta>,
}

/// A metric family's name, help and type, rendered as `# HELP` / `# TYPE` lines while the
/// family has no series.
#[derive(Debug, Clone)]
pub struct FamilyMeta {
    pub name: String,
    pub help: String,
    pub kind: MetricType,
}

impl FamilyMeta {
    /// The families of `c` that have no series now (every labelled family before first use).
    pub fn empty_in(c: &dyn Collector) -> Vec<FamilyMeta> {
        c.collect()
            .into_iter()
            .filter(|mf| mf.get_metric().is_empty())
            .map(|mf| FamilyMeta {
                name: mf.name().to_string(),
                help: mf.help().to_string(),
                kind: mf.get_field_type(),
            })
            .collect()
    }
}

/// The text exposition of `registry`, then `# HELP` and `# TYPE` for each of `families` that
/// had no series in it.
pub fn render_registry(registry: &Registry, families: &[FamilyMeta]) -> String {
    let gathered: Vec<MetricFamily> = registry.gather();
    let mut out = prometheus::TextEncoder::new()
        .encode_to_string(&gathered)
        .unwrap_or_else(|e| format!("# metrics encoding failed: {e}\n"));
    for f in families {
        if gathered.iter().any(|g| g.name() == f.name) {
            continue;
        }
        let kind = match f.kind {
            MetricType::COUNTER => "counter",
            MetricType::GAUGE => "gauge",
            MetricType::HISTOGRAM => "histogram",
            MetricType::SUMMARY => "summary",
            MetricType::UNTYPED => "untyped",
        };
        let help = f.help.replace('\\', "\\\\").replace('\n', "\\n");
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n",
            name = f.name
        ));
    }
    out
}

/// Registers `c` and notes its families that have no series yet.
struct Reg {
    registry: Registry,
    families: RefCell<Vec<FamilyMeta>>,
}

fn reg<T: Collector + Clone + 'static>(r: &Reg, c: T) -> T {
    // Names are unique constants in this module; registering can only fail on a duplicate.
    if let Err(e) = r.registry.register(Box::new(c.clone())) {
        tracing::error!(error = %e, "metric registration failed");
    }
    r.families.borrow_mut().extend(FamilyMeta::empty_in(&c));
    c
}

impl Metrics {
    pub fn new() -> Self {
        let r = Reg {
            registry: Registry::new(),
            families: RefCell::new(Vec::new()),
        };
        let latency_buckets = vec![
            1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2, 0.1, 1.0,
        ];
        Metrics {
            total_queries: reg(
                &r,
                IntCounter::new("articdbm_total_queries", "Statements evaluated by policy")
                    .expect("valid metric"),
            ),
            query_duration: reg(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "articdbm_query_duration_seconds",
                        "Time spent deciding on one statement (facts + all plugins)",
                    )
                    .buckets(latency_buckets.clone()),
                )
                .expect("valid metric"),
            ),
            sql_injection_attempts: reg(
                &r,
                IntCounter::new(
                    "articdbm_sql_injection_attempts_total",
                    "Statements a sqli.* rule denied or would have denied",
                )
                .expect("valid metric"),
            ),
            decisions: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_policy_decisions_total",
                        "Policy decisions by outcome",
                    ),
                    &["hook", "outcome"],
                )
                .expect("valid metric"),
            ),
            plugin_duration: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "articdbm_plugin_duration_seconds",
                        "Time of one plugin hook call, instance checkout included",
                    )
                    .buckets(latency_buckets),
                    &["plugin"],
                )
                .expect("valid metric"),
            ),
            plugin_failures: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_plugin_traps_total",
                        "Plugin calls that failed: trap, timeout, memory, instantiate, quarantined",
                    ),
                    &["plugin", "kind"],
                )
                .expect("valid metric"),
            ),
            plugin_recycled: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_plugin_instances_recycled_total",
                        "Warm plugin instances retired after a call because their linear memory came within an eighth of the cap (at least 1 MiB): a guest whose heap only grows is replaced before it runs out",
                    ),
                    &["plugin"],
                )
                .expect("valid metric"),
            ),
            plugin_reused: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_plugin_verdicts_reused_total",
                        "Statements answered with a verdict the plugin declared reusable for their shape, without calling it",
                    ),
                    &["plugin"],
                )
                .expect("valid metric"),
            ),
            plugin_quarantined: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "articdbm_plugin_quarantined",
                        "1 while a plugin binding is quarantined after repeated failures",
                    ),
                    &["plugin", "tenant"],
                )
                .expect("valid metric"),
            ),
            plugin_counters: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_plugin_counter_total",
                        "Counters defined by plugins",
                    ),
                    &["plugin", "tenant", "name"],
                )
                .expect("valid metric"),
            ),
            plugin_reloads: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_plugin_reloads_total",
                        "Plugin (re)loads by result",
                    ),
                    &["result"],
                )
                .expect("valid metric"),
            ),
            plugins_loaded: reg(
                &r,
                IntGauge::new("articdbm_plugins_loaded", "Plugins currently loaded")
                    .expect("valid metric"),
            ),
            facts_cache_hits: reg(
                &r,
                IntCounter::new("articdbm_facts_cache_hits_total", "Query facts cache hits")
                    .expect("valid metric"),
            ),
            facts_cache_misses: reg(
                &r,
                IntCounter::new(
                    "articdbm_facts_cache_misses_total",
                    "Query facts cache misses",
                )
                .expect("valid metric"),
            ),
            active_connections: reg(
                &r,
                IntGauge::new("articdbm_active_connections", "Client connections open now")
                    .expect("valid metric"),
            ),
            client_connections: reg(
                &r,
                IntCounter::new(
                    "articdbm_client_connections_total",
                    "Client connections accepted",
                )
                .expect("valid metric"),
            ),
            auth_failures: reg(
                &r,
                IntCounter::new(
                    "articdbm_auth_failures_total",
                    "Client authentications refused (unknown user, wrong password, policy)",
                )
                .expect("valid metric"),
            ),
            protocol_errors: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_protocol_errors_total",
                        "Client connections closed for a protocol violation",
                    ),
                    &["kind"],
                )
                .expect("valid metric"),
            ),
            denied_statements: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_denied_statements_total",
                        "Statements refused to clients, by rule",
                    ),
                    &["rule"],
                )
                .expect("valid metric"),
            ),
            pool_servers: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "articdbm_pool_server_connections",
                        "Server connections by database, backend and state (idle / active)",
                    ),
                    &["database", "backend", "state"],
                )
                .expect("valid metric"),
            ),
            pool_waiting: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "articdbm_pool_waiting_clients",
                        "Clients waiting for a server connection",
                    ),
                    &["database"],
                )
                .expect("valid metric"),
            ),
            pool_wait: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "articdbm_pool_wait_seconds",
                        "Time a client waited for a server connection",
                    )
                    .buckets(vec![1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]),
                    &["database"],
                )
                .expect("valid metric"),
            ),
            pool_timeouts: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_pool_timeouts_total",
                        "Clients that gave up waiting for a server connection",
                    ),
                    &["database"],
                )
                .expect("valid metric"),
            ),
            backend_up: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "articdbm_backend_up",
                        "1 when the backend passed its last health check, 0 while banned",
                    ),
                    &["database", "backend"],
                )
                .expect("valid metric"),
            ),
            backend_connect_failures: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_backend_connect_failures_total",
                        "Failed attempts to open a server connection",
                    ),
                    &["database", "backend"],
                )
                .expect("valid metric"),
            ),
            snapshot_version: reg(
                &r,
                IntGauge::new(
                    "articdbm_snapshot_version",
                    "Version of the manager snapshot in force (0: standalone)",
                )
                .expect("valid metric"),
            ),
            manager_reachable: reg(
                &r,
                IntGauge::new(
                    "articdbm_manager_reachable",
                    "1 while the manager answers, 0 while the gateway runs on its last good snapshot",
                )
                .expect("valid metric"),
            ),
            snapshot_applies: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_snapshot_applies_total",
                        "Manager snapshots applied, by result",
                    ),
                    &["result"],
                )
                .expect("valid metric"),
            ),
            kv_remote_up: reg(
                &r,
                IntGauge::new(
                    "articdbm_kv_remote_up",
                    "1 while the shared key-value store (Redis) answers; 0 while counters are local only",
                )
                .expect("valid metric"),
            ),
            threat_indicators: reg(
                &r,
                IntGauge::new(
                    "articdbm_threat_indicators",
                    "Threat-intelligence indicators held by the gateway (one per feed, kind and value)",
                )
                .expect("valid metric"),
            ),
            threat_lookups: reg(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "articdbm_threat_lookups_total",
                        "Indicator lookups by plugins, by result (hit / miss)",
                    ),
                    &["result"],
                )
                .expect("valid metric"),
            ),
            families: r.families.into_inner(),
            registry: r.registry,
        }
    }

    /// The text exposition of every metric; families without series as `# HELP` and
    /// `# TYPE` lines only.
    pub fn render(&self) -> String {
        render_registry(&self.registry, &self.families)
    }

    /// Per-plugin totals of this process, sent to the manager with each heartbeat:
    /// `{"plugin": {"calls": n, "seconds": s, "failures": {"trap": n, …}, "quarantined":
    /// ["tenant", …]}}`.
    pub fn plugin_summary(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let mut out: Map<String, Value> = Map::new();
        let label = |m: &prometheus::proto::Metric, name: &str| -> String {
            m.get_label()
                .iter()
                .find(|l| l.name() == name)
                .map(|l| l.value().to_string())
                .unwrap_or_default()
        };
        let entry = |out: &mut Map<String, Value>, plugin: String| -> Value {
            out.remove(&plugin).unwrap_or_else(
                || json!({"calls": 0, "seconds": 0.0, "failures": {}, "quarantined": []}),
            )
        };
        for f in self.plugin_duration.collect() {
            for m in f.get_metric() {
                let p = label(m, "plugin");
                let mut e = entry(&mut out, p.clone());
                let h = m.get_histogram();
                e["calls"] = json!(h.get_sample_count());
                e["seconds"] = json!(h.get_sample_sum());
                out.insert(p, e);
            }
        }
        for f in self.plugin_failures.collect() {
            for m in f.get_metric() {
                let p = label(m, "plugin");
                let mut e = entry(&mut out, p.clone());
                e["failures"][label(m, "kind")] = json!(m.get_counter().get_value() as u64);
                out.insert(p, e);
            }
        }
        for f in self.plugin_quarantined.collect() {
            for m in f.get_metric() {
                if m.get_gauge().get_value() > 0.0 {
                    let p = label(m, "plugin");
                    let mut e = entry(&mut out, p.clone());
                    if let Some(a) = e["quarantined"].as_array_mut() {
                        a.push(json!(label(m, "tenant")));
                    }
                    out.insert(p, e);
                }
            }
        }
        Value::Object(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_lines(text: &str, name: &str) -> usize {
        text.lines()
            .filter(|l| l.starts_with(&format!("# TYPE {name} ")))
            .count()
    }

    #[test]
    fn labelled_families_are_listed_before_first_use_and_once_after() {
        let m = Metrics::new();
        let fresh = m.render();
        for (name, kind) in [
            ("articdbm_denied_statements_total", "counter"),
            ("articdbm_plugin_quarantined", "gauge"),
            ("articdbm_plugin_duration_seconds", "histogram"),
            ("articdbm_backend_up", "gauge"),
        ] {
            assert!(
                fresh.contains(&format!("\n# TYPE {name} {kind}\n")),
                "{name} missing from\n{fresh}"
            );
            assert!(
                !fresh.contains(&format!("\n{name}{{")),
                "{name} has no series yet"
            );
        }
        // Scalars are rendered as before, with their samples.
        assert!(fresh.contains("\narticdbm_total_queries 0\n"), "{fresh}");
        m.denied_statements
            .with_label_values(&["sqli.tautology"])
            .inc();
        let used = m.render();
        assert_eq!(type_lines(&used, "articdbm_denied_statements_total"), 1);
        assert!(
            used.contains("\narticdbm_denied_statements_total{rule=\"sqli.tautology\"} 1\n"),
            "{used}"
        );
    }
}
