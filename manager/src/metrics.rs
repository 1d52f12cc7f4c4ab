//! The manager's Prometheus metrics.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use articdbm_runtime::metrics::{FamilyMeta, render_registry};

use crate::api::App;

pub struct ManagerMetrics {
    registry: Registry,
    /// Labelled families, listed on `/metrics` before their first series.
    families: Vec<FamilyMeta>,
    pub requests: IntCounterVec,
    pub auth_failures: IntCounter,
    /// Requests refused (429) because their address failed API-key checks too often.
    pub auth_throttled: IntCounter,
    pub snapshot_version: IntGauge,
    /// Live indicators per feed.
    pub feed_indicators: IntGaugeVec,
    /// Unix time of each feed's last successful fetch.
    pub feed_last_success: IntGaugeVec,
    /// Fetches per feed and result (`ok`, `error`).
    pub feed_fetches: IntCounterVec,
    /// Each scheduled feed's fetch interval, so "stale" can be judged per feed.
    pub feed_interval: IntGaugeVec,
}

impl Default for ManagerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ManagerMetrics {
    pub fn new() -> ManagerMetrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "articdbm_manager_http_requests_total",
                "API requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("constant metric definition");
        let auth_failures = IntCounter::new(
            "articdbm_manager_auth_failures_total",
            "Requests with an unknown or revoked API key",
        )
        .expect("constant metric definition");
        let auth_throttled = IntCounter::new(
            "articdbm_manager_auth_throttled_total",
            "Requests refused (429) from addresses with too many API-key failures",
        )
        .expect("constant metric definition");
        let snapshot_version = IntGauge::new(
            "articdbm_manager_snapshot_version",
            "Version of the configuration snapshot served to gateways",
        )
        .expect("constant metric definition");
        let feed_indicators = IntGaugeVec::new(
            Opts::new(
                "articdbm_manager_feed_indicators",
                "Live indicators held per threat feed",
            ),
            &["feed"],
        )
        .expect("constant metric definition");
        let feed_last_success = IntGaugeVec::new(
            Opts::new(
                "articdbm_manager_feed_last_success_timestamp_seconds",
                "Unix time of each threat feed's last successful fetch",
            ),
            &["feed"],
        )
        .expect("constant metric definition");
        let feed_fetches = IntCounterVec::new(
            Opts::new(
                "articdbm_manager_feed_fetches_total",
                "Threat feed fetches by feed and result (ok, error)",
            ),
            &["feed", "result"],
        )
        .expect("constant metric definition");
        let feed_interval = IntGaugeVec::new(
            Opts::new(
                "articdbm_manager_feed_interval_seconds",
                "Fetch interval of each enabled, scheduled threat feed",
            ),
            &["feed"],
        )
        .expect("constant metric definition");
        let mut families = Vec::new();
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(auth_failures.clone()),
            Box::new(auth_throttled.clone()),
            Box::new(snapshot_version.clone()),
            Box::new(feed_indicators.clone()),
            Box::new(feed_last_success.clone()),
            Box::new(feed_fetches.clone()),
            Box::new(feed_interval.clone()),
        ] {
            families.extend(FamilyMeta::empty_in(c.as_ref()));
            registry.register(c).expect("metric registered once");
        }
        ManagerMetrics {
            registry,
            families,
            requests,
            auth_failures,
            auth_throttled,
            snapshot_version,
            feed_indicators,
            feed_last_success,
            feed_fetches,
            feed_interval,
        }
    }

    /// The text exposition; families without series as `# HELP` and `# TYPE` lines only.
    pub fn render(&self) -> String {
        render_registry(&self.registry, &self.families)
    }
}

/// Counts every request by its route template (never the raw path: bounded label values).
pub async fn count_requests(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    app.metrics
        .requests
        .with_label_values(&[method.as_str(), route.as_str(), resp.status().as_str()])
        .inc();
    resp
}
