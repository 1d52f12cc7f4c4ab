//! Telling long polls about new snapshot versions, across manager replicas.
//!
//! A replica wakes its own long polls when it commits a change. Replicas sharing one
//! PostgreSQL store learn of each other's changes two ways: through Redis pub/sub when
//! `--redis` is given (channel [`CHANNEL`], the new version as the message: immediate), and by
//! reading the store's version every [`STORE_POLL`] (the fallback, also without Redis).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::api::App;

pub const CHANNEL: &str = "articdbm:snapshot";
pub const STORE_POLL: Duration = Duration::from_secs(1);

/// Publishes this replica's new versions to Redis; `None` without `--redis`.
pub struct Publisher {
    tx: std::sync::mpsc::Sender<i64>,
}

impl Publisher {
    pub fn publish(&self, v: i64) {
        let _ = self.tx.send(v);
    }
}

/// Starts the publisher and subscriber threads for `url`; they end once `stop` is set.
pub fn redis(
    url: &str,
    app_version: tokio::sync::watch::Sender<i64>,
    stop: Arc<AtomicBool>,
) -> Result<Publisher, String> {
    let client = redis::Client::open(url)
        .map_err(|e| format!("--redis {}: {e}", crate::store::redact(url)))?;
    let (tx, rx) = std::sync::mpsc::channel::<i64>();
    let pub_client = client.clone();
    std::thread::Builder::new()
        .name("manager-redis-pub".into())
        .spawn(move || {
            let mut conn: Option<redis::Connection> = None;
            while let Ok(mut v) = rx.recv() {
                // Only the newest version matters.
                while let Ok(newer) = rx.try_recv() {
                    v = v.max(newer);
                }
                if conn.is_none() {
                    conn = pub_client
                        .get_connection_with_timeout(Duration::from_secs(1))
                        .ok();
                }
                let ok = conn.as_mut().is_some_and(|c| {
                    redis::cmd("PUBLISH")
                        .arg(CHANNEL)
                        .arg(v)
                        .query::<i64>(c)
                        .is_ok()
                });
                if !ok {
                    conn = None;
                    tracing::debug!("redis publish failed; replicas catch up by polling the store");
                }
            }
        })
        .map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("manager-redis-sub".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = subscribe(&client, &app_version, &stop) {
                    tracing::debug!("redis subscription lost ({e}); retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(Publisher { tx })
}

fn subscribe(
    client: &redis::Client,
    version: &tokio::sync::watch::Sender<i64>,
    stop: &AtomicBool,
) -> redis::RedisResult<()> {
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
    let mut ps = conn.as_pubsub();
    ps.subscribe(CHANNEL)?;
    ps.set_read_timeout(Some(Duration::from_millis(500)))?;
    loop {
        match ps.get_message() {
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
