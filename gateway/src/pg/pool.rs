//! Server connection pools: one per (database, backend), a FIFO wait queue with a timeout
//! (a fair semaphore), warmup, idle and lifetime expiry, health checks with ban and recovery,
//! and the choice of backend for a read or a write.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::server::{Endpoint, Identity, ServerConn, ServerError};
use crate::config::{BackendRole, PoolMode, PoolSettings};
use crate::metrics::Metrics;

/// Connections to one backend server.
pub struct BackendPool {
    pub index: usize,
    pub database: String,
    pub endpoint: Endpoint,
    pub role: BackendRole,
    pub weight: u32,
    label: String,
    idle: Mutex<Vec<ServerConn>>,
    slots: Arc<Semaphore>,
    /// Connections open (idle or leased).
    open: AtomicUsize,
    up: AtomicBool,
    /// ParameterStatus values of the last connection opened, shown to new clients.
    pub server_params: Mutex<Vec<(String, String)>>,
    idle_gauge: prometheus::IntGauge,
    active_gauge: prometheus::IntGauge,
}

/// The pools of one database.
pub struct DbPool {
    pub name: String,
    pub settings: PoolSettings,
    pub ident: Identity,
    pub backends: Vec<Arc<BackendPool>>,
    pub read_write_split: bool,
    metrics: Arc<Metrics>,
    next: AtomicUsize,
    closed: AtomicBool,
}

/// Which server a statement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Primary,
    /// A replica when one is healthy, else the primary.
    Read,
}

#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error("no server connection for database \"{0}\" became free within {1} ms (pool exhausted)")]
    Timeout(String, u64),
    #[error("database \"{0}\" is being shut down")]
    Closed(String),
    #[error("{0}")]
    Connect(#[from] ServerError),
}

/// A server connection leased to one client.
pub struct Lease {
    pub conn: ServerConn,
    pub pool: Arc<BackendPool>,
    _permit: OwnedSemaphorePermit,
    db: Arc<DbPool>,
}

impl Lease {
    pub fn db(&self) -> &Arc<DbPool> {
        &self.db
    }
}

impl DbPool {
    pub fn new(
        name: String,
        settings: PoolSettings,
        ident: Identity,
        endpoints: Vec<(Endpoint, BackendRole, u32)>,
        read_write_split: bool,
        metrics: Arc<Metrics>,
    ) -> Arc<DbPool> {
        let backends = endpoints
            .into_iter()
            .enumerate()
            .map(|(index, (endpoint, role, weight))| {
                let label = endpoint.label();
                metrics
                    .backend_up
                    .with_label_values(&[name.as_str(), label.as_str()])
                    .set(1);
                Arc::new(BackendPool {
                    index,
                    database: name.clone(),
                    endpoint,
                    role,
                    weight,
                    idle: Mutex::new(Vec::new()),
                    slots: Arc::new(Semaphore::new(settings.size)),
                    open: AtomicUsize::new(0),
                    up: AtomicBool::new(true),
                    server_params: Mutex::new(Vec::new()),
                    idle_gauge: metrics.pool_servers.with_label_values(&[
                        name.as_str(),
                        label.as_str(),
                        "idle",
                    ]),
                    active_gauge: metrics.pool_servers.with_label_values(&[
                        name.as_str(),
                        label.as_str(),
                        "active",
                    ]),
                    label,
                })
            })
            .collect();
        Arc::new(DbPool {
            name,
            settings,
            ident,
            backends,
            read_write_split,
            metrics,
            next: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        })
    }

    pub fn mode(&self) -> PoolMode {
        self.settings.mode
    }

    pub fn primary(&self) -> &Arc<BackendPool> {
        self.backends
            .iter()
            .find(|b| b.role == BackendRole::Primary)
            .unwrap_or(&self.backends[0])
    }

    /// The backend for `route`: a healthy replica chosen by weight for reads (when splitting is
    /// on), else the primary.
    pub fn choose(&self, route: Route) -> &Arc<BackendPool> {
        if route == Route::Read && self.read_write_split {
            let up: Vec<&Arc<BackendPool>> = self
                .backends
                .iter()
                .filter(|b| b.role == BackendRole::Replica && b.is_up())
                .collect();
            let total: u64 = up.iter().map(|b| u64::from(b.weight)).sum();
            if total > 0 {
                let mut n = (self.next.fetch_add(1, Ordering::Relaxed) as u64) % total;
                for b in up {
                    if n < u64::from(b.weight) {
                        return b;
                    }
                    n -= u64::from(b.weight);
                }
            }
        }
        self.primary()
    }

    /// Leases a server connection for `route`, waiting in the queue up to the queue timeout.
    pub async fn acquire(self: &Arc<Self>, route: Route) -> Result<Lease, AcquireError> {
        let backend = Arc::clone(self.choose(route));
        match self.acquire_on(&backend).await {
            Err(AcquireError::Connect(e)) if backend.role == BackendRole::Replica => {
                tracing::warn!(database = %self.name, backend = %backend.label, error = %e,
                    "replica unavailable; reading from the primary");
                let primary = Arc::clone(self.primary());
                self.acquire_on(&primary).await
            }
            r => r,
        }
    }

    pub async fn acquire_on(
        self: &Arc<Self>,
        backend: &Arc<BackendPool>,
    ) -> Result<Lease, AcquireError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(AcquireError::Closed(self.name.clone()));
        }
        let permit = match Arc::clone(&backend.slots).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let waiting = self
                    .metrics
                    .pool_waiting
                    .with_label_values(&[self.name.as_str()]);
                waiting.inc();
                let start = Instant::now();
                let r = tokio::time::timeout(
                    self.settings.queue_timeout(),
                    Arc::clone(&backend.slots).acquire_owned(),
                )
                .await;
                waiting.dec();
                self.metrics
                    .pool_wait
                    .with_label_values(&[self.name.as_str()])
                    .observe(start.elapsed().as_secs_f64());
                match r {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(AcquireError::Closed(self.name.clone())),
                    Err(_) => {
                        self.metrics
                            .pool_timeouts
                            .with_label_values(&[self.name.as_str()])
                            .inc();
                        return Err(AcquireError::Timeout(
                            self.name.clone(),
                            self.settings.queue_timeout_ms,
                        ));
                    }
                }
            }
        };
        let now = Instant::now();
        loop {
            let Some(mut conn) = backend.idle.lock().pop() else {
                break;
            };
            if now.duration_since(conn.created) > self.settings.max_lifetime() || !conn.is_alive() {
                self.discard(backend, conn);
                continue;
            }
            self.gauge(backend, "idle").dec();
            self.gauge(backend, "active").inc();
            return Ok(Lease {
                conn,
                pool: Arc::clone(backend),
                _permit: permit,
                db: Arc::clone(self),
            });
        }
        let conn = self.open(backend).await?;
        self.gauge(backend, "active").inc();
        Ok(Lease {
            conn,
            pool: Arc::clone(backend),
            _permit: permit,
            db: Arc::clone(self),
        })
    }

    async fn open(&self, backend: &Arc<BackendPool>) -> Result<ServerConn, ServerError> {
        match ServerConn::connect(
            &backend.endpoint,
            &self.ident,
            backend.index,
            self.settings.connect_timeout(),
        )
        .await
        {
            Ok(conn) => {
                backend.open.fetch_add(1, Ordering::Relaxed);
                backend.set_up(&self.metrics, true);
                let mut params: Vec<(String, String)> = conn
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                params.sort();
                *backend.server_params.lock() = params;
                Ok(conn)
            }
            Err(e) => {
                self.metrics
                    .backend_connect_failures
                    .with_label_values(&[self.name.as_str(), backend.label.as_str()])
                    .inc();
                backend.set_up(&self.metrics, false);
                tracing::warn!(database = %self.name, backend = %backend.label, error = %e,
                    "server connection failed; backend banned until a health check passes");
                Err(e)
            }
        }
    }

    fn gauge<'a>(&self, backend: &'a BackendPool, state: &str) -> &'a prometheus::IntGauge {
        if state == "idle" {
            &backend.idle_gauge
        } else {
            &backend.active_gauge
        }
    }

    fn discard(&self, backend: &Arc<BackendPool>, conn: ServerConn) {
        backend.open.fetch_sub(1, Ordering::Relaxed);
        self.gauge(backend, "idle").dec();
        tokio::spawn(conn.terminate());
    }

    /// Returns a leased connection. `reusable` is false when its state is unknown (the client
    /// left mid-transaction, an I/O error...): it is then closed.
    pub fn release(&self, lease: Lease, reusable: bool) {
        let Lease {
            mut conn,
            pool: backend,
            ..
        } = lease;
        self.gauge(&backend, "active").dec();
        if !reusable || conn.broken || self.closed.load(Ordering::Relaxed) {
            backend.open.fetch_sub(1, Ordering::Relaxed);
            tokio::spawn(conn.terminate());
            return;
        }
        conn.idle_since = Instant::now();
        self.gauge(&backend, "idle").inc();
        backend.idle.lock().push(conn);
    }

    /// Opens `min_idle` connections on every backend.
    pub async fn warmup(self: &Arc<Self>) {
        for b in &self.backends {
            let have = b.open.load(Ordering::Relaxed);
            for _ in have..self.settings.min_idle {
                match self.open(b).await {
                    Ok(conn) => {
                        self.gauge(b, "idle").inc();
                        b.idle.lock().push(conn);
                    }
                    Err(_) => break,
                }
            }
        }
    }

    /// One maintenance round: expire idle connections, check health, refill `min_idle`.
    pub async fn maintain(self: &Arc<Self>) {
        let now = Instant::now();
        for b in &self.backends {
            let expired: Vec<ServerConn> = {
                let mut idle = b.idle.lock();
                let open = b.open.load(Ordering::Relaxed);
                let mut removable = open.saturating_sub(self.settings.min_idle);
                let mut keep = Vec::with_capacity(idle.len());
                let mut out = Vec::new();
                for c in idle.drain(..) {
                    let old = now.duration_since(c.created) > self.settings.max_lifetime();
                    let stale = now.duration_since(c.idle_since) > self.settings.idle_timeout();
                    if old || (stale && removable > 0) {
                        removable = removable.saturating_sub(1);
                        out.push(c);
                    } else {
                        keep.push(c);
                    }
                }
                *idle = keep;
                out
            };
            for c in expired {
                self.discard(b, c);
            }
            self.check(b).await;
        }
        self.warmup().await;
    }

    /// Health check of one backend: an idle connection answers `SELECT 1`, or a new
    /// connection can be opened. Failure bans the backend for reads; success lifts the ban.
    async fn check(self: &Arc<Self>, b: &Arc<BackendPool>) {
        let Ok(permit) = Arc::clone(&b.slots).try_acquire_owned() else {
            return; // every slot busy serving clients: it is evidently up
        };
        let conn = b.idle.lock().pop();
        let result = match conn {
            Some(mut c) => {
                let r = tokio::time::timeout(self.settings.connect_timeout(), c.simple("SELECT 1"))
                    .await;
                match r {
                    Ok(Ok(())) => {
                        c.idle_since = Instant::now();
                        b.idle.lock().push(c);
                        true
                    }
                    _ => {
                        self.discard(b, c);
                        false
                    }
                }
            }
            None => match self.open(b).await {
                Ok(c) => {
                    self.gauge(b, "idle").inc();
                    b.idle.lock().push(c);
                    true
                }
                Err(_) => false,
            },
        };
        drop(permit);
        if !result {
            // Idle connections to a dead server are useless.
            let dead: Vec<ServerConn> = b.idle.lock().drain(..).collect();
            for c in dead {
                self.discard(b, c);
            }
        }
        b.set_up(&self.metrics, result);
    }

    /// Closes idle connections and refuses new leases.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        for b in &self.backends {
            let idle: Vec<ServerConn> = b.idle.lock().drain(..).collect();
            for c in idle {
                self.discard(b, c);
            }
        }
    }

    pub fn health(&self) -> Vec<(String, String, bool)> {
        self.backends
            .iter()
            .map(|b| {
                (
                    b.label.clone(),
                    match b.role {
                        BackendRole::Primary => "primary".into(),
                        BackendRole::Replica => "replica".into(),
                    },
                    b.is_up(),
                )
            })
            .collect()
    }
}

impl BackendPool {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn set_up(&self, metrics: &Metrics, up: bool) {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was != up {
            if up {
                tracing::info!(database = %self.database, backend = %self.label, "backend healthy again");
            }
            metrics
                .backend_up
                .with_label_values(&[self.database.as_str(), self.label.as_str()])
                .set(i64::from(up));
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }
}

/// Parameters a client sees at startup: the server's, with the client's own choices on top.
pub fn startup_params(
    backend: &BackendPool,
    client: &HashMap<String, String>,
) -> Vec<(String, String)> {
    let mut params = backend.server_params.lock().clone();
    for (k, v) in client {
        if let Some(p) = params.iter_mut().find(|(n, _)| n == k) {
            p.1 = v.clone();
        }
    }
    params
}

/// Spawns the maintenance loop of `db` until it is closed.
pub fn spawn_maintenance(db: Arc<DbPool>) {
    tokio::spawn(async move {
        db.warmup().await;
        let every = Duration::from_secs(db.settings.health_check_secs.max(1));
        loop {
            tokio::time::sleep(every).await;
            if db.closed.load(Ordering::Relaxed) {
                return;
            }
            db.maintain().await;
        }
    });
}
