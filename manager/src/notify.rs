//! Telling long polls about new snapshot versions, across manager replicas.
//!
//! A replica wakes its own long polls when it commits a change. Replicas sharing one
//! PostgreSQL store learn of each other's changes two ways: through Redis pub/sub when
//! `--redis` is given (channel [`CHANNEL`], the new version as the message: immediate), and by
//! reading the store's version every [`STORE_POLL`] (the fallback, also without Redis).
//!
//! With Redis, the live decision stream spans replicas too: the audit events a replica receives
//! from gateways go out on [`AUDIT_CHANNEL`] (`{"from": replica, "events": [...]}`, at most
//! [`AUDIT_CHUNK`] events per message), and every other replica hands them to its own
//! subscribers. Without Redis, a replica streams what gateways upload to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::api::App;

pub const CHANNEL: &str = "articdbm:snapshot";
pub const AUDIT_CHANNEL: &str = "articdbm:audit";
/// Events per Redis message of the live stream.
pub const AUDIT_CHUNK: usize = 500;

enum Out {
    Version(i64),
    Audit(String),
}
pub const STORE_POLL: Duration = Duration::from_secs(1);

/// Publishes this replica's new versions to Redis; `None` without `--redis`.
pub struct Publisher {
    tx: std::sync::mpsc::Sender<Out>,
    /// This replica's id in audit messages, so it ignores its own.
    replica: String,
}

impl Publisher {
    pub fn publish(&self, v: i64) {
        let _ = self.tx.send(Out::Version(v));
    }

    /// Sends audit events a gateway uploaded here to the other replicas' live streams.
    pub fn publish_audit(&self, events: &[crate::store::AuditEvent]) {
        for chunk in events.chunks(AUDIT_CHUNK) {
            let msg = serde_json::json!({"from": self.replica, "events": chunk}).to_string();
            let _ = self.tx.send(Out::Audit(msg));
        }
    }
}

/// Starts the publisher and subscriber threads for `url`; they end once `stop` is set.
pub fn redis(
    url: &str,
    tls: &articdbm_runtime::redis_kv::RedisTls,
    app_version: tokio::sync::watch::Sender<i64>,
    live: crate::console::Live,
    stop: Arc<AtomicBool>,
) -> Result<Publisher, String> {
    let client =
        articdbm_runtime::redis_kv::client(url, tls).map_err(|e| format!("--redis: {e}"))?;
    let (tx, rx) = std::sync::mpsc::channel::<Out>();
    let replica = crate::auth::random_id(8);
    let pub_client = client.clone();
    std::thread::Builder::new()
        .name("manager-redis-pub".into())
        .spawn(move || {
            let mut conn: Option<redis::Connection> = None;
            while let Ok(first) = rx.recv() {
                // Of versions, only the newest matters; audit messages all go out, in order.
                let mut version = None;
                let mut audit = Vec::new();
                for out in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                    match out {
                        Out::Version(v) => version = Some(version.map_or(v, |w: i64| w.max(v))),
                        Out::Audit(m) => audit.push(m),
                    }
                }
                if conn.is_none() {
                    conn = pub_client
                        .get_connection_with_timeout(Duration::from_secs(1))
                        .ok();
                }
                let mut ok = true;
                if let Some(v) = version {
                    ok &= conn.as_mut().is_some_and(|c| {
                        redis::cmd("PUBLISH")
                            .arg(CHANNEL)
                            .arg(v)
                            .query::<i64>(c)
                            .is_ok()
                    });
                }
                for m in &audit {
                    ok &= conn.as_mut().is_some_and(|c| {
                        redis::cmd("PUBLISH")
                            .arg(AUDIT_CHANNEL)
                            .arg(m)
                            .query::<i64>(c)
                            .is_ok()
                    });
                }
                if !ok {
                    conn = None;
                    tracing::debug!(
                        "redis publish failed; replicas catch up on versions by polling the store, \
                         and their live streams miss these events"
                    );
                }
            }
        })
        .map_err(|e| e.to_string())?;
    let me = replica.clone();
    std::thread::Builder::new()
        .name("manager-redis-sub".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = subscribe(&client, &app_version, &live, &me, &stop) {
                    tracing::debug!("redis subscription lost ({e}); retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(Publisher { tx, replica })
}

fn subscribe(
    client: &redis::Client,
    version: &tokio::sync::watch::Sender<i64>,
    live: &crate::console::Live,
    me: &str,
    stop: &AtomicBool,
) -> redis::RedisResult<()> {
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
    let mut ps = conn.as_pubsub();
    ps.subscribe(CHANNEL)?;
    ps.subscribe(AUDIT_CHANNEL)?;
    ps.set_read_timeout(Some(Duration::from_millis(500)))?;
    loop {
        match ps.get_message() {
            Ok(msg) if msg.get_channel_name() == AUDIT_CHANNEL => {
                let Ok(text) = msg.get_payload::<String>() else {
                    continue;
                };
                #[derive(serde::Deserialize)]
                struct Batch {
                    from: String,
                    events: Vec<crate::store::AuditEvent>,
                }
                match serde_json::from_str::<Batch>(&text) {
                    Ok(b) if b.from != me => {
                        for e in b.events {
                            live.publish(e);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!("unreadable live-stream message on redis: {e}"),
                }
            }
            Ok(msg) => {
                if let Ok(v) = msg.get_payload::<i64>() {
                    raise(version, v);
                }
            }
            Err(e) if e.is_timeout() => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Moves the version forward (never back).
pub fn raise(version: &tokio::sync::watch::Sender<i64>, v: i64) {
    version.send_if_modified(|cur| {
        if v > *cur {
            *cur = v;
            true
        } else {
            false
        }
    });
}

/// Reads the store's version every [`STORE_POLL`] until the app is dropped.
pub fn poll_store(app: &Arc<App>) {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(STORE_POLL).await;
            let Some(app) = weak.upgrade() else { return };
            if let Ok(v) = app.store.snapshot_version().await {
                raise(&app.version, v);
                app.metrics.snapshot_version.set(*app.version.borrow());
            }
        }
    });
}
