//! Server connection pools: one per (database, backend), a FIFO wait queue with a timeout,
//! warmup, idle and lifetime expiry, health checks with ban and recovery, and the choice of
//! backend for a read or a write.
//!
//! # Slots
//!
//! A backend pool has `size` slots. A slot is taken by every connection that exists (idle or
//! leased) or is being opened, so there are never more than `size` of them. A lease carries
//! its slot; a connection given back goes straight to the longest-waiting client when one is
//! queued (with its slot), else to the idle list. A connection closed instead frees its slot,
//! which the longest-waiting client then uses to open a new one. Everything is under one
//! short mutex per backend: taking an idle connection is a lock, a pop and an unlock.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;

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
    size: usize,
    slots: Mutex<Slots>,
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
    waiting: prometheus::IntGauge,
    wait_time: prometheus::Histogram,
    timeouts: prometheus::IntCounter,
    /// Function names by OID, for fast-path calls judged as SQL (`pool.function_call`).
    pub functions: Arc<Mutex<HashMap<u32, String>>>,
}

pub use crate::session::Route;

#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error("no server connection for database \"{0}\" became free within {1} ms (pool exhausted)")]
    Timeout(String, u64),
    #[error("database \"{0}\" is being shut down")]
    Closed(String),
    #[error("{0}")]
    Connect(#[from] ServerError),
}

impl AcquireError {
    /// The text a client is shown: no server address, no internals.
    pub fn to_string_client(&self) -> String {
        match self {
            AcquireError::Connect(e) => e.to_string_client(),
            other => other.to_string(),
        }
    }

    /// SQLSTATE for the client.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            AcquireError::Timeout(..) => "53300",
            _ => "08006",
        }
    }
}

/// The slots of one backend pool.
#[derive(Default)]
struct Slots {
    /// Boxed like every held connection, so one moves as a pointer between this list, a
    /// waiter's grant and a lease.
    #[allow(clippy::vec_box)]
    idle: Vec<Box<ServerConn>>,
    /// Slots taken: connections idle, leased or being opened.
    taken: usize,
    /// Clients waiting for a slot, longest-waiting first. A sender whose receiver is gone
    /// (the client gave up) is skipped.
    waiters: VecDeque<Waiter>,
    closed: bool,
}

/// What a waiting client is given.
struct Waiter {
    tx: oneshot::Sender<Grant>,
}

enum Grant {
    /// A connection given back by another client.
    Conn(Box<ServerConn>),
    /// A freed slot: open a connection in it.
    Open,
}

/// A taken slot. Dropped without [`SlotGuard::keep`] (a lease dropped on an error path, a
/// failed connect, a connection closed on release), it frees the slot for the next waiter.
struct SlotGuard {
    pool: Option<Arc<BackendPool>>,
}

impl SlotGuard {
    /// The slot stays taken: its connection went back to the idle list or to a waiter.
    fn keep(mut self) {
        self.pool = None;
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if let Some(p) = self.pool.take() {
            p.free_slot();
        }
    }
}

/// A server connection leased to one client.
pub struct Lease {
    /// Boxed: leases move between the pool, the wait queue and sessions on every transaction.
    pub conn: Box<ServerConn>,
    pub pool: Arc<BackendPool>,
    slot: SlotGuard,
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
                    size: settings.size,
                    slots: Mutex::new(Slots::default()),
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
            waiting: metrics.pool_waiting.with_label_values(&[name.as_str()]),
            wait_time: metrics.pool_wait.with_label_values(&[name.as_str()]),
            timeouts: metrics.pool_timeouts.with_label_values(&[name.as_str()]),
            name,
            settings,
            ident,
            backends,
            read_write_split,
            metrics,
            next: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            functions: Arc::default(),
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
    /// A replica that cannot be reached sends the read to the primary.
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

    async fn acquire_on(
        self: &Arc<Self>,
        backend: &Arc<BackendPool>,
    ) -> Result<Lease, AcquireError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(AcquireError::Closed(self.name.clone()));
        }
        let taken = {
            let mut s = backend.slots.lock();
            if let Some(conn) = s.idle.pop() {
                drop(s);
                backend.idle_gauge.dec();
                Some(Grant::Conn(conn))
            } else if s.taken < backend.size {
                s.taken += 1;
                Some(Grant::Open)
            } else {
                None
            }
        };
        let grant = match taken {
            Some(g) => g,
            None => self.wait(backend).await?,
        };
        let slot = SlotGuard {
            pool: Some(Arc::clone(backend)),
        };
        if let Grant::Conn(mut conn) = grant {
            // Lifetimes are enforced when connections are given back and by maintenance.
            if conn.is_alive() {
                backend.active_gauge.inc();
                return Ok(Lease {
                    conn,
                    pool: Arc::clone(backend),
                    slot,
                    db: Arc::clone(self),
                });
            }
            // Closed by the server: replaced by a new one in the same slot.
            backend.open.fetch_sub(1, Ordering::Relaxed);
            tokio::spawn(conn.terminate());
        }
        // On failure the slot guard frees the slot for the next waiter. Boxed: connecting is
        // rare and its future large, and every acquire would otherwise carry it.
        let conn = Box::pin(self.open(backend)).await?;
        backend.active_gauge.inc();
        Ok(Lease {
            conn,
            pool: Arc::clone(backend),
            slot,
            db: Arc::clone(self),
        })
    }

    /// Queues for a slot of `backend`, up to the queue timeout.
    async fn wait(&self, backend: &Arc<BackendPool>) -> Result<Grant, AcquireError> {
        let (tx, mut rx) = oneshot::channel();
        {
            let mut s = backend.slots.lock();
            // Given back while the lock was released: no need to wait.
            if let Some(conn) = s.idle.pop() {
                drop(s);
                backend.idle_gauge.dec();
                return Ok(Grant::Conn(conn));
            }
            if s.taken < backend.size {
                s.taken += 1;
                return Ok(Grant::Open);
            }
            if s.closed {
                return Err(AcquireError::Closed(self.name.clone()));
            }
            s.waiters.push_back(Waiter { tx });
        }
        self.waiting.inc();
        let start = Instant::now();
        let r = tokio::time::timeout(self.settings.queue_timeout(), &mut rx).await;
        self.waiting.dec();
        self.wait_time.observe(start.elapsed().as_secs_f64());
        match r {
            Ok(Ok(grant)) => Ok(grant),
            Ok(Err(_)) => Err(AcquireError::Closed(self.name.clone())),
            Err(_) => {
                // A grant sent just as the wait timed out is still ours: use it.
                rx.close();
                if let Ok(grant) = rx.try_recv() {
                    return Ok(grant);
                }
                self.timeouts.inc();
                Err(AcquireError::Timeout(
                    self.name.clone(),
                    self.settings.queue_timeout_ms,
                ))
            }
        }
    }

    async fn open(&self, backend: &Arc<BackendPool>) -> Result<Box<ServerConn>, ServerError> {
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
                Ok(Box::new(conn))
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

    /// Closes an idle connection taken out of the pool; its slot is freed.
    fn discard(&self, backend: &Arc<BackendPool>, conn: Box<ServerConn>) {
        backend.open.fetch_sub(1, Ordering::Relaxed);
        backend.idle_gauge.dec();
        tokio::spawn(conn.terminate());
        backend.free_slot();
    }

    /// Returns a leased connection. `reusable` is false when its state is unknown (the client
    /// left mid-transaction, an I/O error...): it is then closed and its slot freed. True when
    /// the connection went straight to a waiting client.
    pub fn release(&self, lease: Lease, reusable: bool) -> bool {
        let Lease {
            mut conn,
            pool: backend,
            slot,
            ..
        } = lease;
        backend.active_gauge.dec();
        let now = Instant::now();
        if !reusable
            || conn.broken
            || self.closed.load(Ordering::Relaxed)
            || now.duration_since(conn.created) > self.settings.max_lifetime()
        {
            backend.open.fetch_sub(1, Ordering::Relaxed);
            tokio::spawn(conn.terminate());
            return false; // `slot` drops: freed for the next waiter
        }
        conn.idle_since = now;
        let handed = backend.give_back(conn);
        slot.keep();
        handed
    }

    /// Opens `min_idle` connections on every backend.
    pub async fn warmup(self: &Arc<Self>) {
        for b in &self.backends {
            let have = b.open.load(Ordering::Relaxed);
            for _ in have..self.settings.min_idle {
                if !b.take_free_slot() {
                    break;
                }
                match self.open(b).await {
                    Ok(conn) => {
                        b.give_back(conn);
                    }
                    Err(_) => {
                        b.free_slot();
                        break;
                    }
                }
            }
        }
    }

    /// One maintenance round: expire idle connections, check health, refill `min_idle`.
    pub async fn maintain(self: &Arc<Self>) {
        let now = Instant::now();
        for b in &self.backends {
            let expired: Vec<Box<ServerConn>> = {
                let mut slots = b.slots.lock();
                let open = b.open.load(Ordering::Relaxed);
                let mut removable = open.saturating_sub(self.settings.min_idle);
                let mut keep = Vec::with_capacity(slots.idle.len());
                let mut out = Vec::new();
                for c in slots.idle.drain(..) {
                    let old = now.duration_since(c.created) > self.settings.max_lifetime();
                    let stale = now.duration_since(c.idle_since) > self.settings.idle_timeout();
                    if old || (stale && removable > 0) {
                        removable = removable.saturating_sub(1);
                        out.push(c);
                    } else {
                        keep.push(c);
                    }
                }
                slots.idle = keep;
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
        // An idle connection answers, or a free slot gets a new one; with neither, every slot
        // is busy serving clients and the backend is evidently up.
        let idle = b.slots.lock().idle.pop();
        let result = match idle {
            Some(mut c) => {
                b.idle_gauge.dec();
                let r = tokio::time::timeout(self.settings.connect_timeout(), c.simple("SELECT 1"))
                    .await;
                match r {
                    Ok(Ok(())) => {
                        c.idle_since = Instant::now();
                        b.give_back(c);
                        true
                    }
                    _ => {
                        b.idle_gauge.inc();
                        self.discard(b, c);
                        false
                    }
                }
            }
            None if b.take_free_slot() => match self.open(b).await {
                Ok(c) => {
                    b.give_back(c);
                    true
                }
                Err(_) => {
                    b.free_slot();
                    false
                }
            },
            None => return,
        };
        if !result {
            // Idle connections to a dead server are useless.
            let dead: Vec<Box<ServerConn>> = b.slots.lock().idle.drain(..).collect();
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
            let (idle, waiters) = {
                let mut s = b.slots.lock();
                s.closed = true;
                (
                    s.idle.drain(..).collect::<Vec<_>>(),
                    std::mem::take(&mut s.waiters),
                )
            };
            // Waiting clients get "being shut down".
            drop(waiters);
            for c in idle {
                self.discard(b, c);
            }
        }
    }

    /// Whether the pool was closed (its database was removed or redefined by a reload).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
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
    /// Puts a connection that holds a slot back: to the longest-waiting client, else idle.
    /// Whether a waiting client took it.
    fn give_back(&self, mut conn: Box<ServerConn>) -> bool {
        let mut s = self.slots.lock();
        if !s.closed {
            while let Some(w) = s.waiters.pop_front() {
                match w.tx.send(Grant::Conn(conn)) {
                    Ok(()) => return true,
                    Err(Grant::Conn(c)) => conn = c,
                    // Not what was sent: cannot happen.
                    Err(_) => return false,
                }
            }
        }
        s.idle.push(conn);
        drop(s);
        self.idle_gauge.inc();
        false
    }

    /// Frees a slot: the longest-waiting client opens a connection in it.
    fn free_slot(&self) {
        let mut s = self.slots.lock();
        while let Some(w) = s.waiters.pop_front() {
            if w.tx.send(Grant::Open).is_ok() {
                return;
            }
        }
        s.taken = s.taken.saturating_sub(1);
    }

    /// Takes a free slot, if there is one, for the pool's own use (warmup, health checks).
    fn take_free_slot(&self) -> bool {
        let mut s = self.slots.lock();
        if s.taken < self.size && !s.closed {
            s.taken += 1;
            true
        } else {
            false
        }
    }

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
