//! The key-value capability shared across gateways through Redis, without Redis on the query
//! path.
//!
//! Every call is answered from local state at once. A background thread synchronises with
//! Redis every [`SYNC_INTERVAL`]: it pushes each counter's local increments (`INCRBY`, with
//! the TTL set when the key is created), learns the cluster-wide total from the reply, re-reads
//! counters other gateways move, and writes `set` / `delete` through. A counter's value is
//! therefore the cluster total as of the last sync plus this gateway's increments since: rate
//! limits hold across gateways, up to what the others admitted in the last interval.
//!
//! When Redis is unreachable the gateway keeps enforcing with its local state (the last known
//! totals plus its own increments), says so once in the log and in
//! `articdbm_kv_remote_up 0`, and pushes what it counted meanwhile when Redis returns.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::kv::{KvBackend, KvFailure};
use crate::metrics::Metrics;

/// How often local state and Redis are reconciled.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(50);
/// Counters not touched for this long are no longer re-read.
const REFRESH_FOR: Duration = Duration::from_secs(10);
/// Prefix of every key in Redis (keys arrive scoped by tenant and plugin already).
const PREFIX: &str = "articdbm:kv:";

#[derive(Debug)]
enum Val {
    /// `base`: the cluster total at the last sync (our flushed increments included);
    /// `unflushed`: our increments since.
    Counter {
        base: i64,
        unflushed: i64,
    },
    Bytes(Vec<u8>),
}

#[derive(Debug)]
struct Entry {
    val: Val,
    /// Local mirror of the key's TTL; `ttl` is sent with the first push.
    expires: Option<Instant>,
    ttl: Option<Duration>,
    created_remotely: bool,
    /// A `set` not yet written to Redis.
    dirty: bool,
    /// Redis lost this live counter (restarted without persistence): write our total back.
    reseed: bool,
    touched: Instant,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    deletes: HashSet<String>,
    /// Keys read while unknown locally: fetched at the next sync.
    wanted: HashSet<String>,
}

struct Shared {
    state: Mutex<State>,
    client: redis::Client,
    up: AtomicBool,
    stop: AtomicBool,
    max_entries: usize,
}

/// The Redis-backed [`KvBackend`]. Dropping it stops the sync thread.
pub struct RedisKv {
    shared: Arc<Shared>,
}

impl RedisKv {
    /// Starts the sync thread. Never fails: an unreachable Redis means local state until it
    /// answers. A malformed URL is an error.
    pub fn start(url: &str, metrics: Arc<Metrics>) -> Result<RedisKv, String> {
        let client =
            redis::Client::open(url).map_err(|e| format!("server.redis {}: {e}", redact(url)))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            client: client.clone(),
            up: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            max_entries: 1_000_000,
        });
        let s = Arc::clone(&shared);
        let shown = redact(url);
        std::thread::Builder::new()
            .name("articdbm-redis-kv".into())
            .spawn(move || sync_loop(&s, &client, &metrics, &shown))
            .map_err(|e| e.to_string())?;
        Ok(RedisKv { shared })
    }

    /// Whether the last sync reached Redis.
    pub fn is_up(&self) -> bool {
        self.shared.up.load(Ordering::Relaxed)
    }
}

impl Drop for RedisKv {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

impl KvBackend for RedisKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvFailure> {
        let now = Instant::now();
        let mut st = self.shared.state.lock();
        match st.entries.get_mut(key) {
            Some(e) if e.live(now) => {
                e.touched = now;
                Ok(Some(match &e.val {
                    Val::Counter { base, unflushed } => (base + unflushed).to_string().into_bytes(),
                    Val::Bytes(b) => b.clone(),
                }))
            }
            _ => {
                st.wanted.insert(key.to_string());
                Ok(None)
            }
        }
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvFailure> {
        let now = Instant::now();
        let mut st = self.shared.state.lock();
        if st.entries.len() >= self.shared.max_entries && !st.entries.contains_key(key) {
            return Err(KvFailure::Unavailable("key-value cache is full".into()));
        }
        st.deletes.remove(key);
        st.entries.insert(
            key.to_string(),
            Entry {
                val: Val::Bytes(value.to_vec()),
                expires: ttl.map(|t| now + t),
                ttl,
                created_remotely: false,
                dirty: true,
                reseed: false,
                touched: now,
            },
        );
        Ok(())
    }

    fn incr(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, KvFailure> {
        let now = Instant::now();
        let mut st = self.shared.state.lock();
        let full = st.entries.len() >= self.shared.max_entries;
        match st.entries.get_mut(key) {
            Some(e) if e.live(now) => {
                e.touched = now;
                match &mut e.val {
                    Val::Counter { base, unflushed } => {
                        *unflushed += delta;
                        Ok(*base + *unflushed)
                    }
                    Val::Bytes(b) => {
                        let n = std::str::from_utf8(b)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .ok_or(KvFailure::NotAnInteger)?;
                        e.val = Val::Counter {
                            base: n,
                            unflushed: delta,
                        };
                        Ok(n + delta)
                    }
                }
            }
            _ => {
                if full && !st.entries.contains_key(key) {
                    return Err(KvFailure::Unavailable("key-value cache is full".into()));
                }
                st.deletes.remove(key);
                st.entries.insert(
                    key.to_string(),
                    Entry {
                        val: Val::Counter {
                            base: 0,
                            unflushed: delta,
                        },
                        expires: ttl.map(|t| now + t),
                        ttl,
                        created_remotely: false,
                        dirty: false,
                        reseed: false,
                        touched: now,
                    },
                );
                Ok(delta)
            }
        }
    }

    fn delete(&self, key: &str) -> Result<(), KvFailure> {
        let mut st = self.shared.state.lock();
        st.entries.remove(key);
        st.deletes.insert(key.to_string());
        Ok(())
    }

    /// One round trip to Redis (`INCRBY`, TTL set if new); unavailable when Redis is, so
    /// the caller can refuse rather than over-admit.
    fn incr_exact(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, KvFailure> {
        let unavailable = |e: redis::RedisError| KvFailure::Unavailable(e.to_string());
        let mut conn = self
            .shared
            .client
            .get_connection_with_timeout(Duration::from_millis(500))
            .map_err(unavailable)?;
        conn.set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(unavailable)?;
        let k = format!("{PREFIX}{key}");
        let mut pipe = redis::pipe();
        pipe.cmd("INCRBY").arg(&k).arg(delta);
        if let Some(t) = ttl {
            pipe.cmd("PEXPIRE")
                .arg(&k)
                .arg(t.as_millis().max(1) as u64)
                .arg("NX")
                .ignore();
        }
        let (n,): (i64,) = pipe.query(&mut conn).map_err(unavailable)?;
        Ok(n)
    }
}

/// One sync's worth of work, taken from the state under the lock.
enum Op {
    Incr {
        key: String,
        delta: i64,
        ttl: Option<Duration>,
    },
    Set {
        key: String,
        value: Vec<u8>,
        ttl: Option<Duration>,
    },
    Del(String),
    Get(String),
    /// `SET key total PX ttl NX`: the first gateway to notice a lost counter restores it.
    Seed {
        key: String,
        total: i64,
        ttl: Option<Duration>,
    },
}

fn sync_loop(shared: &Shared, client: &redis::Client, metrics: &Metrics, url: &str) {
    let mut conn: Option<redis::Connection> = None;
    let mut reported_down = false;
    while !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(SYNC_INTERVAL);
        if conn.is_none() {
            conn = client
                .get_connection_with_timeout(Duration::from_millis(500))
                .ok();
            if let Some(c) = &mut conn {
                let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = c.set_write_timeout(Some(Duration::from_millis(500)));
            }
        }
        let ok = match &mut conn {
            Some(c) => sync_once(shared, c).is_ok(),
            None => false,
        };
        if !ok {
            conn = None;
        }
        shared.up.store(ok, Ordering::Relaxed);
        metrics.kv_remote_up.set(i64::from(ok));
        match (ok, reported_down) {
            (false, false) => {
                tracing::warn!(
                    "redis {url} unreachable: rate limits and counters continue on this gateway's local state"
                );
                reported_down = true;
            }
            (true, true) => {
                tracing::info!("redis {url} reachable again: counters shared across gateways");
                reported_down = false;
            }
            _ => {}
        }
    }
}

fn sync_once(shared: &Shared, conn: &mut redis::Connection) -> redis::RedisResult<()> {
    let now = Instant::now();
    let mut ops = Vec::new();
    {
        let mut st = shared.state.lock();
        st.entries.retain(|_, e| {
            e.live(now) || matches!(e.val, Val::Counter { unflushed, .. } if unflushed != 0)
        });
        for k in st.deletes.drain() {
            ops.push(Op::Del(k));
        }
        let wanted: Vec<String> = st.wanted.drain().collect();
        for (k, e) in &st.entries {
            match &e.val {
                Val::Counter { base, .. } if e.reseed => ops.push(Op::Seed {
                    key: k.clone(),
                    total: *base,
                    ttl: e.expires.map(|x| x.saturating_duration_since(now)),
                }),
                Val::Counter { unflushed, .. } if *unflushed != 0 || !e.created_remotely => {
                    ops.push(Op::Incr {
                        key: k.clone(),
                        delta: *unflushed,
                        ttl: e.ttl,
                    });
                }
                Val::Counter { .. } if now.duration_since(e.touched) < REFRESH_FOR => {
                    ops.push(Op::Get(k.clone()));
                }
                Val::Bytes(v) if e.dirty => ops.push(Op::Set {
                    key: k.clone(),
                    value: v.clone(),
                    ttl: e.expires.map(|x| x.saturating_duration_since(now)),
                }),
                _ => {}
            }
        }
        for k in wanted {
            if !st.entries.contains_key(&k) {
                ops.push(Op::Get(k));
            }
        }
    }
    if ops.is_empty() {
        // Still check that Redis answers, so the metric tells the truth.
        return redis::cmd("PING").query::<String>(conn).map(|_| ());
    }
    let mut pipe = redis::pipe();
    for op in &ops {
        match op {
            Op::Incr { key, delta, ttl } => {
                pipe.cmd("INCRBY").arg(format!("{PREFIX}{key}")).arg(*delta);
                if let Some(t) = ttl {
                    pipe.cmd("PEXPIRE")
                        .arg(format!("{PREFIX}{key}"))
                        .arg(t.as_millis().max(1) as u64)
                        .arg("NX")
                        .ignore();
                }
            }
            Op::Set { key, value, ttl } => {
                let c = pipe
                    .cmd("SET")
                    .arg(format!("{PREFIX}{key}"))
                    .arg(value.as_slice());
                if let Some(t) = ttl {
                    c.arg("PX").arg(t.as_millis().max(1) as u64);
                }
                c.ignore();
            }
            Op::Del(key) => {
                pipe.cmd("DEL").arg(format!("{PREFIX}{key}")).ignore();
            }
            Op::Get(key) => {
                pipe.cmd("GET").arg(format!("{PREFIX}{key}"));
            }
            Op::Seed { key, total, ttl } => {
                let c = pipe.cmd("SET").arg(format!("{PREFIX}{key}")).arg(*total);
                if let Some(t) = ttl {
                    c.arg("PX").arg(t.as_millis().max(1) as u64);
                }
                c.arg("NX").ignore();
            }
        }
    }
    let replies: Vec<redis::Value> = pipe.query(conn)?;
    let mut replies = replies.into_iter();
    let mut st = shared.state.lock();
    for op in ops {
        match op {
            Op::Incr { key, delta, .. } => {
                let total: Option<i64> = replies
                    .next()
                    .and_then(|v| redis::from_redis_value(&v).ok());
                if let (Some(total), Some(e)) = (total, st.entries.get_mut(&key))
                    && let Val::Counter { base, unflushed } = &mut e.val
                {
                    *base = total;
                    *unflushed -= delta;
                    e.created_remotely = true;
                }
            }
            Op::Set { key, .. } => {
                if let Some(e) = st.entries.get_mut(&key) {
                    e.dirty = false;
                }
            }
            Op::Del(_) => {}
            Op::Seed { key, .. } => {
                // Whoever seeded first, the next sync re-reads the total.
                if let Some(e) = st.entries.get_mut(&key) {
                    e.reseed = false;
                }
            }
            Op::Get(key) => {
                // Nil must stay None (`Vec<u8>` would read it as empty).
                let v: Option<Vec<u8>> = match replies.next() {
                    None | Some(redis::Value::Nil) => None,
                    Some(v) => redis::from_redis_value(&v).ok(),
                };
                match (st.entries.get_mut(&key), v) {
                    (Some(e), Some(bytes)) => {
                        if let Val::Counter { base, .. } = &mut e.val
                            && let Some(n) = std::str::from_utf8(&bytes)
                                .ok()
                                .and_then(|s| s.parse::<i64>().ok())
                        {
                            *base = n;
                        }
                    }
                    (Some(e), None) => {
                        // Live here but gone from Redis: Redis lost it (a restart without
                        // persistence). Put our total back rather than forget the count.
                        if let Val::Counter { base, .. } = &e.val
                            && *base != 0
                        {
                            e.reseed = true;
                        }
                    }
                    (None, Some(bytes)) => {
                        st.entries.insert(
                            key,
                            Entry {
                                val: Val::Bytes(bytes),
                                expires: Some(now + REFRESH_FOR),
                                ttl: None,
                                created_remotely: true,
                                dirty: false,
                                reseed: false,
                                touched: now,
                            },
                        );
                    }
                    (None, None) => {}
                }
            }
        }
    }
    Ok(())
}
