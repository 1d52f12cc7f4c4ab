//! Audit events of a managed gateway, shipped to the manager in batches.
//!
//! Every refusal (connection or statement), every would-deny of a monitor-mode binding, every
//! `audit` verdict, and allowed statements at the effective pack's `audit_sample` rate become
//! an event with a random id. A sender task posts them to `POST /api/v1/audit` every second;
//! when the manager cannot take them they are written to `STATE_DIR/audit-spool/` and resent,
//! oldest first, once it can. The manager ignores ids it already has, so a batch sent twice
//! (the answer was lost) is stored once. Nothing queued is lost when the gateway stops: the
//! queue is spooled on shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// Events kept in memory before they go to disk regardless.
const MAX_QUEUE: usize = 50_000;
/// Events per request (the manager takes up to 10,000).
const BATCH: usize = 5_000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub use articdbm_config::audit::AuditEvent;

pub struct AuditSink {
    queue: Mutex<Vec<AuditEvent>>,
    spool: PathBuf,
    wake: tokio::sync::Notify,
}

impl AuditSink {
    pub fn new(spool: PathBuf) -> std::io::Result<Arc<AuditSink>> {
        std::fs::create_dir_all(&spool)?;
        Ok(Arc::new(AuditSink {
            queue: Mutex::new(Vec::new()),
            spool,
            wake: tokio::sync::Notify::new(),
        }))
    }

    /// Queues an event; never blocks on the network.
    pub fn record(&self, e: AuditEvent) {
        let full = {
            let mut q = self.queue.lock();
            q.push(e);
            q.len() >= MAX_QUEUE
        };
        if full {
            self.spill();
        }
    }

    /// Events waiting in memory and on disk (files).
    pub fn pending(&self) -> (usize, usize) {
        (self.queue.lock().len(), spool_files(&self.spool).len())
    }

    /// Moves the in-memory queue to a spool file.
    pub fn spill(&self) {
        let events = std::mem::take(&mut *self.queue.lock());
        if let Err(e) = write_spool(&self.spool, &events) {
            tracing::error!(
                "audit: {} events could not be spooled to {}: {e}",
                events.len(),
                self.spool.display()
            );
        }
    }

    /// Ships events until `stop`, then spools what is left.
    pub fn spawn_sender(
        self: &Arc<Self>,
        http: reqwest::Client,
        url: String,
        key: Option<String>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let endpoint = format!("{}/api/v1/audit", url.trim_end_matches('/'));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(FLUSH_EVERY) => {}
                    _ = me.wake.notified() => {}
                    _ = stop.changed() => {
                        me.spill();
                        return;
                    }
                }
                me.flush(&http, &endpoint, key.as_deref()).await;
            }
        });
    }

    async fn flush(&self, http: &reqwest::Client, endpoint: &str, key: Option<&str>) {
        // Spooled batches first, oldest first; stop at the first failure.
        for file in spool_files(&self.spool) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let events: Vec<AuditEvent> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if post(http, endpoint, key, &events).await.is_err() {
                return;
            }
            let _ = std::fs::remove_file(&file);
        }
        let events = std::mem::take(&mut *self.queue.lock());
        for chunk in events.chunks(BATCH) {
            if let Err(e) = post(http, endpoint, key, chunk).await {
                tracing::debug!("audit: manager unavailable ({e}); spooling");
                if let Err(e) = write_spool(&self.spool, chunk) {
                    tracing::error!("audit: cannot spool {} events: {e}", chunk.len());
                }
            }
        }
    }
}

async fn post(
    http: &reqwest::Client,
    endpoint: &str,
    key: Option<&str>,
    events: &[AuditEvent],
) -> Result<(), String> {
    if events.is_empty() {
        return Ok(());
    }
    let req = http.post(endpoint);
    // Without a cluster key the gateway is known by its client certificate (mTLS).
    let req = match key {
        Some(k) => req.bearer_auth(k),
        None => req,
    };
    req.timeout(Duration::from_secs(10))
        .json(&serde_json::json!({ "events": events }))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn spool_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
}

/// One file per batch, named so that sorting is oldest first; written whole or not at all.
fn write_spool(dir: &Path, events: &[AuditEvent]) -> std::io::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for e in events {
        text.push_str(&serde_json::to_string(e).unwrap_or_default());
        text.push('\n');
    }
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!("{nanos:024}-{}", hex::encode(b));
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join(format!("{name}.jsonl")))
}
