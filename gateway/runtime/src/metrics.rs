//! Prometheus metrics of the gateway. One [`Metrics`] per process, registered in its own
//! registry so tests can create several without clashing. Names keep the seed project's
//! (`articdbm_*`) so existing dashboards work.

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
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> T {
    // Names are unique constants in this module; registering can only fail on a duplicate.
    if let Err(e) = r.register(Box::new(c.clone())) {
        tracing::error!(error = %e, "metric registration failed");
    }
    c
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
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
            registry: r,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let encoder = prometheus::TextEncoder::new();
        encoder
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# metrics encoding failed: {e}\n"))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
