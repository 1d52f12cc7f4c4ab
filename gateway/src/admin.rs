//! HTTP admin endpoints: `GET /healthz` (readiness as JSON) and `GET /metrics` (Prometheus text
//! exposition). Served on `server.admin_listen`, apart from the PostgreSQL listener. With
//! `server.admin_token_file`, every request must carry `Authorization: Bearer TOKEN`.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::metrics::Metrics;

/// What the admin endpoints read. Cloning is cheap (two `Arc`s).
#[derive(Clone)]
pub struct AdminState {
    pub metrics: Arc<Metrics>,
    /// Called on every /healthz request; cheap.
    pub health: Arc<dyn Fn() -> Health + Send + Sync>,
    /// When set, requests must carry this bearer token.
    pub token: Option<Arc<AdminToken>>,
}

/// Shortest admin token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// The admin endpoints' bearer token, kept as its SHA-256 so that comparing takes the same time
/// whatever a request sends (length included).
pub struct AdminToken {
    digest: [u8; 32],
}

impl AdminToken {
    pub fn new(token: &str) -> Result<AdminToken, String> {
        let t = token.trim();
        if t.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "the admin token is {} characters; use at least {MIN_TOKEN_LEN}",
                t.len()
            ));
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the admin token has spaces or control characters".into());
        }
        Ok(AdminToken {
            digest: Sha256::digest(t.as_bytes()).into(),
        })
    }

    /// Reads `server.admin_token_file` (surrounding whitespace ignored).
    pub fn read(path: &Path) -> Result<AdminToken, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("server.admin_token_file {}: {e}", path.display()))?;
        AdminToken::new(&text)
            .map_err(|e| format!("server.admin_token_file {}: {e}", path.display()))
    }

    /// Whether `Authorization` holds `Bearer TOKEN` with this token.
    pub fn allows(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(given) = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let d: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        d.ct_eq(&self.digest).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// The gateway's readiness, as returned by `/healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Configuration, packs and plugins are loaded and the listener accepts clients.
    pub ready: bool,
    /// One entry per backend of every database. An embedded (SQLite) database is reported as
    /// one backend with role `primary`.
    pub backends: Vec<BackendHealth>,
    pub plugins_loaded: usize,
    /// Generation of the policy snapshot (plugins + packs): every applied reload increments it.
    pub generation: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendHealth {
    pub database: String,
    /// `host:port`, or the file of an embedded database.
    pub backend: String,
    /// `primary` or `replica`.
    pub role: String,
    /// Passed its last health check.
    pub up: bool,
}

impl Health {
    /// Whether a load balancer should send clients here: ready, and every database that has
    /// backends has an up primary. Replicas being down only degrades reads, which fall back
    /// to the primary, so they do not make the gateway unhealthy.
    pub fn is_healthy(&self) -> bool {
        let serving: std::collections::BTreeSet<&str> = self
            .backends
            .iter()
            .filter(|b| b.role == "primary" && b.up)
            .map(|b| b.database.as_str())
            .collect();
        self.ready
            && self
                .backends
                .iter()
                .all(|b| serving.contains(b.database.as_str()))
    }
}

/// Serves the admin endpoints on `listener` until `shutdown` completes; in-flight requests are
/// finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

fn router(state: AdminState) -> Router {
    // Unknown paths get 404; a known path with another method gets axum's 405 + `Allow`.
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state)
}

/// 401 unless the request carries the admin token (when one is configured).
async fn require_token(State(state): State<AdminState>, req: Request, next: Next) -> Response {
    match &state.token {
        Some(t) if !t.allows(req.headers().get(header::AUTHORIZATION)) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            "send the admin token: Authorization: Bearer TOKEN\n",
        )
            .into_response(),
        _ => next.run(req).await,
    }
}

async fn healthz(State(state): State<AdminState>) -> Response {
    let health = (state.health)();
    let status = if health.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    match serde_json::to_vec(&health) {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            // Only plain strings, numbers and bools: cannot fail, but never panic in a handler.
            tracing::error!(error = %e, "cannot encode health");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn metrics(State(state): State<AdminState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus::TEXT_FORMAT),
        )],
        state.metrics.render() + &crate::spin::metrics_text(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    use super::*;

    struct Server {
        addr: std::net::SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: JoinHandle<std::io::Result<()>>,
    }

    impl Server {
        async fn start(state: AdminState) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(serve(listener, state, async {
                let _ = stopped.await;
            }));
            Server {
                addr,
                stop: Some(stop),
                task,
            }
        }

        async fn stop(mut self) {
            self.stop.take().unwrap().send(()).unwrap();
            let res = tokio::time::timeout(Duration::from_secs(10), self.task)
                .await
                .expect("serve returns after shutdown")
                .unwrap();
            assert!(res.is_ok(), "{res:?}");
        }
    }

    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// One HTTP/1.1 request over a fresh connection, read until the server closes it.
    async fn request(addr: std::net::SocketAddr, method: &str, path: &str) -> Reply {
        request_full(addr, method, path, "").await
    }

    /// The same with `extra` header lines (each ending in CRLF).
    async fn request_full(
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        extra: &str,
    ) -> Reply {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
            .await
            .expect("response within 10 s")
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("header/body separator");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
        let status = parts.next().unwrap().parse().unwrap();
        let headers = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        Reply {
            status,
            headers,
            body: body.to_string(),
        }
    }

    fn backend(database: &str, role: &str, up: bool) -> BackendHealth {
        BackendHealth {
            database: database.into(),
            backend: format!("{database}-{role}:5432"),
            role: role.into(),
            up,
        }
    }

    fn state_with(health: Health) -> AdminState {
        AdminState {
            metrics: Arc::new(Metrics::new()),
            health: Arc::new(move || health.clone()),
            token: None,
        }
    }

    /// The status of one request with extra header lines.
    async fn request_with(addr: std::net::SocketAddr, path: &str, extra: &str) -> u16 {
        request_full(addr, "GET", path, extra).await.status
    }

    #[tokio::test]
    async fn a_token_guards_every_admin_path() {
        let token = "admin-token-0123456789";
        let mut state = state_with(Health {
            ready: true,
            backends: vec![],
            plugins_loaded: 0,
            generation: 1,
        });
        state.token = Some(Arc::new(AdminToken::new(&format!("{token}\n")).unwrap()));
        let server = Server::start(state).await;
        for path in ["/healthz", "/metrics", "/nothing"] {
            assert_eq!(request_with(server.addr, path, "").await, 401, "{path}");
            for wrong in [
                "Authorization: Bearer admin-token-0123456788\r\n",
                "Authorization: Bearer admin-token-012345678\r\n",
                "Authorization: admin-token-0123456789\r\n",
                "Authorization: Basic YWRtaW46YWRtaW4=\r\n",
            ] {
                assert_eq!(
                    request_with(server.addr, path, wrong).await,
                    401,
                    "{path} {wrong}"
                );
            }
        }
        let right = format!("Authorization: Bearer {token}\r\n");
        assert_eq!(request_with(server.addr, "/healthz", &right).await, 200);
        assert_eq!(request_with(server.addr, "/metrics", &right).await, 200);
        assert_eq!(request_with(server.addr, "/nothing", &right).await, 404);
        server.stop().await;
        assert!(AdminToken::new("short").is_err());
        assert!(AdminToken::new("has a space in the middle").is_err());
        assert_eq!(
            format!("{:?}", AdminToken::new(token).unwrap()),
            "AdminToken(<redacted>)"
        );
    }

    #[tokio::test]
    async fn healthz_ready_is_200_with_json() {
        let server = Server::start(state_with(Health {
            ready: true,
            backends: vec![
                backend("shop", "primary", true),
                backend("shop", "replica", false),
                backend("local", "primary", true),
            ],
            plugins_loaded: 4,
            generation: 7,
        }))
        .await;
        let r = request(server.addr, "GET", "/healthz").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["ready"], true);
        assert_eq!(v["plugins_loaded"], 4);
        assert_eq!(v["generation"], 7);
        assert_eq!(v["backends"].as_array().unwrap().len(), 3);
        assert_eq!(
            v["backends"][1],
            serde_json::json!({
                "database": "shop", "backend": "shop-replica:5432", "role": "replica", "up": false
            })
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn healthz_without_databases_is_200() {
        let server = Server::start(state_with(Health {
            ready: true,
            backends: vec![],
            plugins_loaded: 0,
            generation: 1,
        }))
        .await;
        let r = request(server.addr, "GET", "/healthz").await;
        assert_eq!(r.status, 200, "{}", r.body);
        server.stop().await;
    }

    #[tokio::test]
    async fn healthz_unhealthy_is_503_with_the_same_json() {
        for (why, health) in [
            (
                "not ready",
                Health {
                    ready: false,
                    backends: vec![backend("shop", "primary", true)],
                    plugins_loaded: 1,
                    generation: 1,
                },
            ),
            (
                "a primary is down, its replica up",
                Health {
                    ready: true,
                    backends: vec![
                        backend("local", "primary", true),
                        backend("shop", "primary", false),
                        backend("shop", "replica", true),
                    ],
                    plugins_loaded: 1,
                    generation: 2,
                },
            ),
            (
                "a database reports no primary",
                Health {
                    ready: true,
                    backends: vec![backend("shop", "replica", true)],
                    plugins_loaded: 1,
                    generation: 3,
                },
            ),
        ] {
            let generation = health.generation;
            let server = Server::start(state_with(health)).await;
            let r = request(server.addr, "GET", "/healthz").await;
            assert_eq!(r.status, 503, "{why}: {}", r.body);
            assert_eq!(r.header("content-type"), Some("application/json"), "{why}");
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(v["generation"], generation, "{why}");
            server.stop().await;
        }
    }

    #[tokio::test]
    async fn healthz_asks_on_every_request() {
        let ready = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU64::new(0));
        let (r2, c2) = (ready.clone(), calls.clone());
        let server = Server::start(AdminState {
            metrics: Arc::new(Metrics::new()),
            health: Arc::new(move || Health {
                ready: r2.load(Ordering::SeqCst),
                backends: vec![],
                plugins_loaded: 0,
                generation: c2.fetch_add(1, Ordering::SeqCst) + 1,
            }),
            token: None,
        })
        .await;
        assert_eq!(request(server.addr, "GET", "/healthz").await.status, 503);
        ready.store(true, Ordering::SeqCst);
        let r = request(server.addr, "GET", "/healthz").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("\"generation\":2"), "{}", r.body);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        server.stop().await;
    }

    #[tokio::test]
    async fn metrics_are_prometheus_text() {
        let state = state_with(Health {
            ready: true,
            backends: vec![],
            plugins_loaded: 0,
            generation: 1,
        });
        state.metrics.total_queries.inc_by(3);
        state.metrics.active_connections.set(2);
        let server = Server::start(state).await;
        let r = request(server.addr, "GET", "/metrics").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4"));
        for name in [
            "articdbm_active_connections",
            "articdbm_total_queries",
            "articdbm_query_duration_seconds",
            "articdbm_auth_failures_total",
            "articdbm_sql_injection_attempts_total",
        ] {
            assert!(
                r.body.contains(&format!("# TYPE {name} ")),
                "{name} missing from\n{}",
                r.body
            );
        }
        assert!(
            r.body.contains("\narticdbm_total_queries 3\n"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("\narticdbm_active_connections 2\n"),
            "{}",
            r.body
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn other_paths_are_404_and_other_methods_405() {
        let server = Server::start(state_with(Health {
            ready: true,
            backends: vec![],
            plugins_loaded: 0,
            generation: 1,
        }))
        .await;
        for path in ["/", "/health", "/healthz/x", "/metrics/", "/admin"] {
            let r = request(server.addr, "GET", path).await;
            assert_eq!(r.status, 404, "{path}");
        }
        let r = request(server.addr, "POST", "/healthz").await;
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("GET,HEAD"));
        server.stop().await;
    }

    #[tokio::test]
    async fn shutdown_stops_accepting() {
        let server = Server::start(state_with(Health {
            ready: true,
            backends: vec![],
            plugins_loaded: 0,
            generation: 1,
        }))
        .await;
        let addr = server.addr;
        assert_eq!(request(addr, "GET", "/metrics").await.status, 200);
        server.stop().await;
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
