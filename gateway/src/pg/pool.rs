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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::server::{Endpoint, Identity, PreparedSet, ServerConn, ServerError};
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
    /// How long leases of this backend were held lately (exponential moving average, ns):
    /// relays open only while that is short (`PoolSettings::pipeline_short_ms`).
    hold_ns: AtomicU64,
    pipeline_below_ns: u64,
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
    pipelined: prometheus::IntCounter,
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
    /// Leased connections offering to carry one more request (oldest first).
    relays: VecDeque<Arc<Relay>>,
    closed: bool,
}

/// What a waiting client is given.
struct Waiter {
    tx: oneshot::Sender<Grant>,
    /// It may be given a place behind another client's read instead of a connection.
    follows: bool,
}

enum Grant {
    /// A connection given back by another client.
    Conn(Box<ServerConn>),
    /// A freed slot: open a connection in it.
    Open,
    /// A place behind another client's read on a busy connection.
    Follow(Following),
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
    since: Instant,
    relay: RelayGuard,
}

impl Lease {
    pub fn db(&self) -> &Arc<DbPool> {
        &self.db
    }

    /// The relay this lease offers, if any.
    pub fn relay(&self) -> Option<&Arc<Relay>> {
        self.relay.0.as_ref().map(|(r, _)| r)
    }

    /// Offers to carry one more client's request behind the requests in flight, which must
    /// all leave the server idle outside a transaction. `holder` is woken when the follower's
    /// bytes are ready to write. Nothing happens when the backend has a free or idle
    /// connection (a client would take that instead), or its leases were not short lately.
    pub fn offer_relay(&mut self, holder: &Waker) {
        offer(
            &self.pool,
            &self.db,
            &self.conn.prepared,
            holder,
            &mut self.relay,
        );
    }

    /// Takes over the relay a follower offered while it followed (see
    /// [`Following::offer_relay`]): this lease now carries that follower's follower.
    pub fn adopt_offer(&mut self, f: &mut Following) {
        if self.relay.0.is_none() {
            self.relay.0 = f.offer.0.take();
        }
    }

    /// Withdraws the offer. `true`: no follower had taken it (or there was none); `false`: a
    /// follower's request is queued on this connection, which must now go to it
    /// ([`Lease::hand_over`]) once the holder's own requests are answered.
    pub fn withdraw_relay(&mut self) -> bool {
        withdraw(&mut self.relay)
    }

    /// The holder's requests are answered: the connection goes to the follower (`Ok(true)`;
    /// `Ok(false)`: the follower was gone and the connection is closed). Bytes the follower
    /// queued that the holder has not written yet are appended to `out` instead, and the
    /// lease comes back (`Err`): write them and try again.
    pub fn hand_over(mut self, out: &mut BytesMut) -> Result<bool, Lease> {
        let Some((relay, pool)) = self.relay.0.take() else {
            let db = Arc::clone(&self.db);
            return Ok(db.release(self, true));
        };
        let mut st = relay.state.lock();
        if st.drain_into(out) {
            drop(st);
            self.relay.0 = Some((relay, pool));
            return Err(self);
        }
        st.handed = true;
        st.holder = None;
        let to = st.to.take();
        drop(st);
        self.pool.record_hold(self.since);
        self.since = Instant::now();
        match to.map(|to| to.send(self)) {
            Some(Ok(())) => Ok(true),
            // The follower is gone, its request perhaps already sent: the connection's
            // state is unknown.
            Some(Err(lease)) => {
                let db = Arc::clone(&lease.db);
                db.release(lease, false);
                Ok(false)
            }
            None => Ok(false),
        }
    }
}

/// A leased connection's offer to carry one more client's request right behind the
/// requests in flight on it (pipelining across clients). The follower's request then reaches
/// the server without waiting for the holder's answer to cross the gateway, and the server
/// goes on to it without sleeping. Offered only behind plain reads outside a transaction, so
/// the server is idle, outside any transaction, when the follower's request starts: exactly
/// as if the follower had been given the connection next.
pub struct Relay {
    state: Mutex<RelayState>,
    /// The statements prepared on the connection (the follower prepares its own on it).
    pub prepared: Arc<Mutex<PreparedSet>>,
}

#[derive(Default)]
struct RelayState {
    /// Where the lease goes at hand-over; `Some` from when a follower takes the relay.
    to: Option<oneshot::Sender<Lease>>,
    /// The follower's bytes the holder has yet to write.
    bytes: BytesMut,
    /// The lease was sent to the follower (or the connection lost): it writes its own bytes.
    handed: bool,
    holder: Option<Waker>,
}

impl RelayState {
    /// Moves the follower's unwritten bytes to `out`; whether there were any.
    fn drain_into(&mut self, out: &mut BytesMut) -> bool {
        if self.bytes.is_empty() {
            return false;
        }
        out.extend_from_slice(&self.bytes);
        self.bytes.clear();
        true
    }
}

impl Relay {
    /// Holder: moves the follower's bytes to `out`, to be written behind the holder's own.
    pub fn take_bytes(&self, out: &mut BytesMut) {
        self.state.lock().drain_into(out);
    }

    /// Follower: queues `bytes` (emptied) for the holder to write. `false` when the lease is
    /// already on its way to the follower, which then writes them itself.
    pub fn queue(&self, bytes: &mut BytesMut) -> bool {
        let mut st = self.state.lock();
        if st.handed {
            return false;
        }
        st.bytes.extend_from_slice(bytes);
        bytes.clear();
        if let Some(w) = &st.holder {
            w.wake_by_ref();
        }
        true
    }

    fn abandon(&self) {
        let mut st = self.state.lock();
        st.handed = true;
        st.to = None;
        st.holder = None;
    }
}

/// What a client waiting for the pool gets.
pub enum Seat {
    Lease(Lease),
    Follow(Following),
}

/// A client whose request rides behind another's: its bytes go through the relay until the
/// lease arrives (an error from `rx`: the connection was lost before).
pub struct Following {
    pub relay: Arc<Relay>,
    pub rx: oneshot::Receiver<Lease>,
    pool: Arc<BackendPool>,
    db: Arc<DbPool>,
    /// The relay this follower offers in turn (a chain: its follower's bytes go behind its
    /// own through the relay it follows).
    offer: RelayGuard,
}

impl Following {
    fn new(
        relay: Arc<Relay>,
        rx: oneshot::Receiver<Lease>,
        pool: &Arc<BackendPool>,
        db: &Arc<DbPool>,
    ) -> Following {
        Following {
            relay,
            rx,
            pool: Arc::clone(pool),
            db: Arc::clone(db),
            offer: RelayGuard::default(),
        }
    }

    /// The relay this follower offers, if any.
    pub fn offered(&self) -> Option<&Arc<Relay>> {
        self.offer.0.as_ref().map(|(r, _)| r)
    }

    /// As [`Lease::offer_relay`], for a client whose own requests (reads) are queued behind
    /// another's: one more client may queue behind them.
    pub fn offer_relay(&mut self, holder: &Waker) {
        let prepared = Arc::clone(&self.relay.prepared);
        offer(&self.pool, &self.db, &prepared, holder, &mut self.offer);
    }

    /// As [`Lease::withdraw_relay`].
    pub fn withdraw_relay(&mut self) -> bool {
        withdraw(&mut self.offer)
    }
}

/// Offers a relay on `pool` for the connection whose statements are `prepared`: to the
/// longest-waiting client if it can follow, else listed for the next client to find every
/// connection busy. Nothing when the backend has a free or idle connection (a client would
/// take that), or its leases were not short lately.
fn offer(
    pool: &Arc<BackendPool>,
    db: &Arc<DbPool>,
    prepared: &Arc<Mutex<PreparedSet>>,
    holder: &Waker,
    guard: &mut RelayGuard,
) {
    if guard.0.is_some()
        || pool.pipeline_below_ns == 0
        || pool.hold_ns.load(Ordering::Relaxed) >= pool.pipeline_below_ns
    {
        return;
    }
    let mut s = pool.slots.lock();
    if s.closed || !s.idle.is_empty() || s.taken < pool.size {
        return;
    }
    let relay = Arc::new(Relay {
        state: Mutex::new(RelayState {
            holder: Some(holder.clone()),
            ..RelayState::default()
        }),
        prepared: Arc::clone(prepared),
    });
    // The longest-waiting client takes it at once, if it can follow.
    while s.waiters.front().is_some_and(|w| w.follows) {
        let Some(w) = s.waiters.pop_front() else {
            break;
        };
        let (tx, rx) = oneshot::channel();
        relay.state.lock().to = Some(tx);
        let f = Following::new(Arc::clone(&relay), rx, pool, db);
        if w.tx.send(Grant::Follow(f)).is_ok() {
            drop(s);
            db.pipelined.inc();
            guard.0 = Some((relay, Arc::clone(pool)));
            return;
        }
        // That client gave up waiting.
        relay.state.lock().to = None;
    }
    if !s.waiters.is_empty() {
        // Its first waiter takes connections only: it gets one next.
        return;
    }
    s.relays.push_back(Arc::clone(&relay));
    drop(s);
    guard.0 = Some((relay, Arc::clone(pool)));
}

/// Withdraws the relay `guard` offers: `true` when no follower had taken it.
fn withdraw(guard: &mut RelayGuard) -> bool {
    let Some((relay, pool)) = &guard.0 else {
        return true;
    };
    if !pool.remove_relay(relay) {
        return false;
    }
    guard.0 = None;
    true
}

/// The relay a lease offers, withdrawn when the lease goes away without a hand-over (a
/// follower's request, if one was queued, then fails: the connection is closed under it).
#[derive(Default)]
struct RelayGuard(Option<(Arc<Relay>, Arc<BackendPool>)>);

impl Drop for RelayGuard {
    fn drop(&mut self) {
        if let Some((relay, pool)) = self.0.take()
            && !pool.remove_relay(&relay)
        {
            relay.abandon();
        }
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
                    hold_ns: AtomicU64::new(u64::MAX),
                    pipeline_below_ns: settings.pipeline_short_ms.saturating_mul(1_000_000),
                })
            })
            .collect();
        Arc::new(DbPool {
            waiting: metrics.pool_waiting.with_label_values(&[name.as_str()]),
            wait_time: metrics.pool_wait.with_label_values(&[name.as_str()]),
            timeouts: metrics.pool_timeouts.with_label_values(&[name.as_str()]),
            pipelined: metrics.pool_pipelined.with_label_values(&[name.as_str()]),
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
        match self.seat(route, false).await? {
            Seat::Lease(l) => Ok(l),
            // Relays are offered only to waiters that follow; were one offered here, dropping
            // it closes that connection after its holder's answer, and this client retries.
            Seat::Follow(_) => Box::pin(self.acquire(route)).await,
        }
    }

    /// A server connection for `route`, or (`follow`, transaction pooling) a place behind
    /// another client's read when a relay is offered to this client while it waits.
    pub async fn seat(self: &Arc<Self>, route: Route, follow: bool) -> Result<Seat, AcquireError> {
        let backend = Arc::clone(self.choose(route));
        match self.acquire_on(&backend, follow).await {
            Err(AcquireError::Connect(e)) if backend.role == BackendRole::Replica => {
                tracing::warn!(database = %self.name, backend = %backend.label, error = %e,
                    "replica unavailable; reading from the primary");
                let primary = Arc::clone(self.primary());
                self.acquire_on(&primary, follow).await
            }
            r => r,
        }
    }

    async fn acquire_on(
        self: &Arc<Self>,
        backend: &Arc<BackendPool>,
        follow: bool,
    ) -> Result<Seat, AcquireError> {
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
            None => self.wait(backend, follow).await?,
        };
        if let Grant::Follow(f) = grant {
            return Ok(Seat::Follow(f));
        }
        let slot = SlotGuard {
            pool: Some(Arc::clone(backend)),
        };
        if let Grant::Conn(mut conn) = grant {
            // Lifetimes are enforced when connections are given back and by maintenance.
            if conn.is_alive() {
                backend.active_gauge.inc();
                return Ok(Seat::Lease(Lease {
                    conn,
                    pool: Arc::clone(backend),
                    slot,
                    db: Arc::clone(self),
                    since: Instant::now(),
                    relay: RelayGuard::default(),
                }));
            }
            // Closed by the server: replaced by a new one in the same slot.
            backend.open.fetch_sub(1, Ordering::Relaxed);
            tokio::spawn(conn.terminate());
        }
        // On failure the slot guard frees the slot for the next waiter. Boxed: connecting is
        // rare and its future large, and every acquire would otherwise carry it.
        let conn = Box::pin(self.open(backend)).await?;
        backend.active_gauge.inc();
        Ok(Seat::Lease(Lease {
            conn,
            pool: Arc::clone(backend),
            slot,
            db: Arc::clone(self),
            since: Instant::now(),
            relay: RelayGuard::default(),
        }))
    }

    /// Queues for a slot of `backend`, up to the queue timeout.
    /// Queues behind a busy connection's plain read (see [`Relay`]) when the route's backend
    /// has no idle connection, no free slot and no client already waiting.
    pub fn follow(self: &Arc<Self>, route: Route) -> Option<Following> {
        if self.closed.load(Ordering::Relaxed) {
            return None;
        }
        let backend = Arc::clone(self.choose(route));
        let mut s = backend.slots.lock();
        if !s.idle.is_empty() || s.taken < backend.size || !s.waiters.is_empty() {
            return None;
        }
        let relay = s.relays.pop_front()?;
        let (tx, rx) = oneshot::channel();
        // Under the slots lock: a holder withdrawing its relay either still finds it listed
        // (nobody took it) or finds the follower in place.
        relay.state.lock().to = Some(tx);
        drop(s);
        self.pipelined.inc();
        Some(Following::new(relay, rx, &backend, self))
    }

    async fn wait(&self, backend: &Arc<BackendPool>, follows: bool) -> Result<Grant, AcquireError> {
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
            s.waiters.push_back(Waiter { tx, follows });
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
            since,
            relay,
            ..
        } = lease;
        // A relay still offered is withdrawn; a follower queued on it loses the connection.
        drop(relay);
        backend.record_hold(since);
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
                s.relays.clear();
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
    /// Takes `relay` off the list of offers. `false`: a follower had already taken it.
    fn remove_relay(&self, relay: &Arc<Relay>) -> bool {
        let mut s = self.slots.lock();
        match s.relays.iter().position(|r| Arc::ptr_eq(r, relay)) {
            Some(i) => {
                s.relays.remove(i);
                true
            }
            None => relay.state.lock().to.is_none(),
        }
    }

    fn record_hold(&self, since: Instant) {
        let ns = since.elapsed().as_nanos().min(u128::from(u64::MAX / 2)) as u64;
        let old = self.hold_ns.load(Ordering::Relaxed);
        let new = if old == u64::MAX {
            ns
        } else {
            old - old / 8 + ns / 8
        };
        self.hold_ns.store(new, Ordering::Relaxed);
    }

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
