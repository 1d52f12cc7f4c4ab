//! The manager's Prometheus metrics.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::api::App;

pub struct ManagerMetrics {
    registry: Registry,
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
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(auth_failures.clone()),
            Box::new(auth_throttled.clone()),
            Box::new(snapshot_version.clone()),
            Box::new(feed_indicators.clone()),
            Box::new(feed_last_success.clone()),
            Box::new(feed_fetches.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        ManagerMetrics {
            registry,
            requests,
            auth_failures,
            auth_throttled,
            snapshot_version,
            feed_indicators,
            feed_last_success,
            feed_fetches,
        }
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
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
