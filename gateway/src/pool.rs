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
//!
//! # Protocols
//!
//! The pool knows nothing of a wire protocol. A [`Connector`] opens connections (PostgreSQL:
//! `pg::PgConnector`; MySQL: `mysql::MyConnector`) and a [`Link`] is what it opened: whether
//! it is still usable, a health-check ping, and how to close it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::config::{BackendRole, PoolMode, PoolSettings};
use crate::metrics::Metrics;

/// An open, authenticated server connection as the pool sees it.
pub trait Link: Send + Sized + 'static {
    /// When it was opened (for `pool.max_lifetime_secs`).
    fn created(&self) -> Instant;
    /// When it was last given back (for `pool.idle_timeout_secs`).
    fn idle_since(&self) -> Instant;
    fn set_idle_since(&mut self, at: Instant);
    /// Set when it must not be reused (protocol desync, I/O error...).
    fn broken(&self) -> bool;
    /// Whether an idle connection is still usable (the server has not closed it); no waiting.
    fn is_alive(&mut self) -> bool;
    /// A health-check round trip on an idle connection.
    fn ping(&mut self) -> impl Future<Output = bool> + Send;
    /// Says goodbye to the server and closes.
    fn terminate(self: Box<Self>) -> impl Future<Output = ()> + Send + 'static;
}

/// Why a server connection could not be opened.
pub trait ConnectFailure: std::fmt::Display + Send + Sync + 'static {
    /// The text a client is shown: what went wrong, without the server's address.
    fn to_string_client(&self) -> String;
}

/// Opens server connections of one protocol for the databases that use it.
pub trait Connector: Send + Sync + Sized + 'static {
    /// Where a connection goes (host and port, TLS, or an embedded database).
    type Endpoint: Send + Sync + 'static;
    type Conn: Link;
    type Error: ConnectFailure;
    /// What the protocol keeps per backend (e.g. PostgreSQL's parameters shown to clients).
    type BackendState: Default + Send + Sync + 'static;

    /// `host:port`, the socket path or `sqlite`, for logs and metric labels.
    fn label(endpoint: &Self::Endpoint) -> String;

    /// Opens and authenticates a connection to `backend`.
    fn connect(
        &self,
        backend: &BackendPool<Self>,
        timeout: Duration,
    ) -> impl Future<Output = Result<Self::Conn, Self::Error>> + Send;
}

/// Connections to one backend server.
pub struct BackendPool<C: Connector> {
    pub index: usize,
    pub database: String,
    pub endpoint: C::Endpoint,
    pub role: BackendRole,
    pub weight: u32,
    /// The protocol's own state of this backend.
    pub state: C::BackendState,
    label: String,
    size: usize,
    slots: Mutex<Slots<C::Conn>>,
    /// Connections open (idle or leased).
    open: AtomicUsize,
    up: AtomicBool,
    idle_gauge: prometheus::IntGauge,
    active_gauge: prometheus::IntGauge,
}

/// The pools of one database.
pub struct DbPool<C: Connector> {
    pub name: String,
    pub settings: PoolSettings,
    /// Opens this database's connections (who the gateway is on the servers, TLS...).
    pub connector: C,
    pub backends: Vec<Arc<BackendPool<C>>>,
    pub read_write_split: bool,
    /// How writes and reads are placed on the backends.
    pub topology: Topology,
    metrics: Arc<Metrics>,
    next: AtomicUsize,
    closed: AtomicBool,
    /// A pool over the same backends whose connections are opened differently (MySQL's
    /// `CLIENT_FOUND_ROWS`), made on first use ([`DbPool::variant`]) and closed with this one.
    variant: std::sync::OnceLock<Arc<DbPool<C>>>,
    waiting: prometheus::IntGauge,
    wait_time: prometheus::Histogram,
    timeouts: prometheus::IntCounter,
}

pub use crate::session::Route;

/// How a database's backends share the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One primary takes writes; replicas (by weight) take reads.
    PrimaryReplicas,
    /// Every backend is a node of a multi-writer cluster (Galera): writes go to one node at a
    /// time, the first healthy one in the order listed (single-writer, no certification
    /// conflicts), reads to any healthy node by weight.
    FirstHealthyWriter,
}

#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error("no server connection for database \"{0}\" became free within {1} ms (pool exhausted)")]
    Timeout(String, u64),
    #[error("database \"{0}\" is being shut down")]
    Closed(String),
    /// Opening a connection failed: the full text (for logs) and the client's.
    #[error("{log}")]
    Connect { log: String, client: String },
}

impl AcquireError {
    fn connect(e: &impl ConnectFailure) -> Self {
        AcquireError::Connect {
            log: e.to_string(),
            client: e.to_string_client(),
        }
    }

    /// The text a client is shown: no server address, no internals.
    pub fn to_string_client(&self) -> String {
        match self {
            AcquireError::Connect { client, .. } => client.clone(),
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
struct Slots<L> {
    /// Boxed like every held connection, so one moves as a pointer between this list, a
    /// waiter's grant and a lease.
    #[allow(clippy::vec_box)]
    idle: Vec<Box<L>>,
    /// Slots taken: connections idle, leased or being opened.
    taken: usize,
    /// Clients waiting for a slot, longest-waiting first. A sender whose receiver is gone
    /// (the client gave up) is skipped.
    waiters: VecDeque<Waiter<L>>,
    closed: bool,
}

impl<L> Default for Slots<L> {
    fn default() -> Self {
        Slots {
            idle: Vec::new(),
            taken: 0,
            waiters: VecDeque::new(),
            closed: false,
        }
    }
}

/// What a waiting client is given.
struct Waiter<L> {
    tx: oneshot::Sender<Grant<L>>,
}

enum Grant<L> {
    /// A connection given back by another client.
    Conn(Box<L>),
    /// A freed slot: open a connection in it.
    Open,
}

/// A taken slot. Dropped without [`SlotGuard::keep`] (a lease dropped on an error path, a
/// failed connect, a connection closed on release), it frees the slot for the next waiter.
struct SlotGuard<C: Connector> {
    pool: Option<Arc<BackendPool<C>>>,
}

impl<C: Connector> SlotGuard<C> {
    /// The slot stays taken: its connection went back to the idle list or to a waiter.
    fn keep(mut self) {
        self.pool = None;
    }
}

impl<C: Connector> Drop for SlotGuard<C> {
    fn drop(&mut self) {
        if let Some(p) = self.pool.take() {
            p.free_slot();
        }
    }
}

/// A server connection leased to one client.
pub struct Lease<C: Connector> {
    /// Boxed: leases move between the pool, the wait queue and sessions on every transaction.
    pub conn: Box<C::Conn>,
    pub pool: Arc<BackendPool<C>>,
    slot: SlotGuard<C>,
    db: Arc<DbPool<C>>,
}

impl<C: Connector> Lease<C> {
    pub fn db(&self) -> &Arc<DbPool<C>> {
        &self.db
    }
}

impl<C: Connector> DbPool<C> {
    pub fn new(
        name: String,
        settings: PoolSettings,
        connector: C,
        endpoints: Vec<(C::Endpoint, BackendRole, u32)>,
        read_write_split: bool,
        topology: Topology,
        metrics: Arc<Metrics>,
    ) -> Arc<DbPool<C>> {
        let backends = endpoints
            .into_iter()
            .enumerate()
            .map(|(index, (endpoint, role, weight))| {
                let label = C::label(&endpoint);
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
                    state: C::BackendState::default(),
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
            connector,
            backends,
            read_write_split,
            topology,
            metrics,
            next: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            variant: std::sync::OnceLock::new(),
        })
    }

    /// The variant pool: the same backends, settings and routing, connections opened by the
    /// connector `make` returns, named `<name>+<suffix>` in metrics. Made (and its maintenance
    /// started) on first use; closed when this pool is.
    pub fn variant(&self, suffix: &str, make: impl FnOnce(&C) -> C) -> Arc<DbPool<C>>
    where
        C::Endpoint: Clone,
    {
        let v = self.variant.get_or_init(|| {
            let pool = DbPool::new(
                format!("{}+{suffix}", self.name),
                self.settings.clone(),
                make(&self.connector),
                self.backends
                    .iter()
                    .map(|b| (b.endpoint.clone(), b.role, b.weight))
                    .collect(),
                self.read_write_split,
                self.topology,
                Arc::clone(&self.metrics),
            );
            spawn_maintenance(Arc::clone(&pool));
            pool
        });
        if self.is_closed() {
            v.close();
        }
        Arc::clone(v)
    }

    pub fn mode(&self) -> PoolMode {
        self.settings.mode
    }

    /// The backend that takes writes: the primary, or (first-healthy-writer) the first
    /// healthy backend in the order listed.
    pub fn primary(&self) -> &Arc<BackendPool<C>> {
        match self.topology {
            Topology::PrimaryReplicas => self
                .backends
                .iter()
                .find(|b| b.role == BackendRole::Primary)
                .unwrap_or(&self.backends[0]),
            Topology::FirstHealthyWriter => self
                .backends
                .iter()
                .find(|b| b.is_up())
                .unwrap_or(&self.backends[0]),
        }
    }

    /// The backend for `route`: a healthy replica chosen by weight for reads (when splitting is
    /// on), else the primary.
    pub fn choose(&self, route: Route) -> &Arc<BackendPool<C>> {
        if route == Route::Read && self.read_write_split {
            let readers = |b: &&Arc<BackendPool<C>>| match self.topology {
                Topology::PrimaryReplicas => b.role == BackendRole::Replica,
                Topology::FirstHealthyWriter => true,
            };
            let up: Vec<&Arc<BackendPool<C>>> = self
                .backends
                .iter()
                .filter(readers)
                .filter(|b| b.is_up())
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
    pub async fn acquire(self: &Arc<Self>, route: Route) -> Result<Lease<C>, AcquireError> {
        let backend = Arc::clone(self.choose(route));
        match self.acquire_on(&backend).await {
            // The node just failed and is banned: the next healthy one takes over.
            Err(e @ AcquireError::Connect { .. })
                if self.topology == Topology::FirstHealthyWriter =>
            {
                let next = Arc::clone(self.choose(route));
                if Arc::ptr_eq(&next, &backend) {
                    return Err(e);
                }
                tracing::warn!(database = %self.name, backend = %backend.label, error = %e,
                    next = %next.label, "cluster node unavailable; using the next one");
                self.acquire_on(&next).await
            }
            Err(e @ AcquireError::Connect { .. }) if backend.role == BackendRole::Replica => {
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
        backend: &Arc<BackendPool<C>>,
    ) -> Result<Lease<C>, AcquireError> {
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
        let conn = Box::pin(self.open(backend))
            .await
            .map_err(|e| AcquireError::connect(&e))?;
        backend.active_gauge.inc();
        Ok(Lease {
            conn,
            pool: Arc::clone(backend),
            slot,
            db: Arc::clone(self),
        })
    }

    /// Queues for a slot of `backend`, up to the queue timeout.
    async fn wait(&self, backend: &Arc<BackendPool<C>>) -> Result<Grant<C::Conn>, AcquireError> {
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

    async fn open(&self, backend: &Arc<BackendPool<C>>) -> Result<Box<C::Conn>, C::Error> {
        match self
            .connector
            .connect(backend, self.settings.connect_timeout())
            .await
        {
            Ok(conn) => {
                backend.open.fetch_add(1, Ordering::Relaxed);
                backend.set_up(&self.metrics, true);
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
    fn discard(&self, backend: &Arc<BackendPool<C>>, conn: Box<C::Conn>) {
        backend.open.fetch_sub(1, Ordering::Relaxed);
        backend.idle_gauge.dec();
        tokio::spawn(conn.terminate());
        backend.free_slot();
    }

    /// Returns a leased connection. `reusable` is false when its state is unknown (the client
    /// left mid-transaction, an I/O error...): it is then closed and its slot freed. True when
    /// the connection went straight to a waiting client.
    pub fn release(&self, lease: Lease<C>, reusable: bool) -> bool {
        let Lease {
            mut conn,
            pool: backend,
            slot,
            ..
        } = lease;
        backend.active_gauge.dec();
        let now = Instant::now();
        if !reusable
            || conn.broken()
            || self.closed.load(Ordering::Relaxed)
            || now.duration_since(conn.created()) > self.settings.max_lifetime()
        {
            backend.open.fetch_sub(1, Ordering::Relaxed);
            tokio::spawn(conn.terminate());
            return false; // `slot` drops: freed for the next waiter
        }
        conn.set_idle_since(now);
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
            let expired: Vec<Box<C::Conn>> = {
                let mut slots = b.slots.lock();
                let open = b.open.load(Ordering::Relaxed);
                let mut removable = open.saturating_sub(self.settings.min_idle);
                let mut keep = Vec::with_capacity(slots.idle.len());
                let mut out = Vec::new();
                for c in slots.idle.drain(..) {
                    let old = now.duration_since(c.created()) > self.settings.max_lifetime();
                    let stale = now.duration_since(c.idle_since()) > self.settings.idle_timeout();
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

    /// Health check of one backend: an idle connection answers a ping, or a new
    /// connection can be opened. Failure bans the backend for reads; success lifts the ban.
    async fn check(self: &Arc<Self>, b: &Arc<BackendPool<C>>) {
        // An idle connection answers, or a free slot gets a new one; with neither, every slot
        // is busy serving clients and the backend is evidently up.
        let idle = b.slots.lock().idle.pop();
        let result = match idle {
            Some(mut c) => {
                b.idle_gauge.dec();
                let r = tokio::time::timeout(self.settings.connect_timeout(), c.ping()).await;
                match r {
                    Ok(true) => {
                        c.set_idle_since(Instant::now());
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
            let dead: Vec<Box<C::Conn>> = b.slots.lock().idle.drain(..).collect();
            for c in dead {
                self.discard(b, c);
            }
        }
        b.set_up(&self.metrics, result);
    }

    /// Closes idle connections and refuses new leases.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        if let Some(v) = self.variant.get() {
            v.close();
        }
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

impl<C: Connector> BackendPool<C> {
    /// Puts a connection that holds a slot back: to the longest-waiting client, else idle.
    /// Whether a waiting client took it.
    fn give_back(&self, mut conn: Box<C::Conn>) -> bool {
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

/// Spawns the maintenance loop of `db` until it is closed.
pub fn spawn_maintenance<C: Connector>(db: Arc<DbPool<C>>) {
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
