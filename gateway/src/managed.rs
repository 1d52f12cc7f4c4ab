//! Managed mode: the gateway takes its users, databases, plugins and packs from the manager's
//! versioned snapshot (`articdbm-gateway run --config FILE --manager URL --cluster-key KEY`).
//!
//! - Each snapshot is written to `STATE_DIR/snapshots/vN/` (plugins by content hash, fetched
//!   once into `STATE_DIR/artifacts/`, each checked against its SHA-256), then
//!   `STATE_DIR/current` is switched to it with an atomic symlink rename. A gateway restarted
//!   while the manager is unreachable starts from `current`: the last good snapshot.
//! - New versions arrive by long poll (`GET /api/v1/snapshot?after=N&wait=30`): the manager
//!   answers the moment its version moves, so a change is applied well within a second. A
//!   failed poll is retried with jittered backoff, and the gateway keeps enforcing what it has.
//! - Applying swaps the policy snapshot (plugins and packs, as a file reload does) and the
//!   config overlay (users and databases, as a config reload does); no connection is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Overlay;
use crate::pg::Shared;
use crate::runtime::indicators::ThreatStore;
use crate::runtime::reload::Reloader;
use crate::threat::{Bypass, ChangePage, IndicatorChange, IndicatorLog};

/// How long a long poll asks the manager to wait.
const POLL_WAIT_SECS: u64 = 30;
/// How often the gateway reports itself.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Indicator changes asked for per request.
const INDICATOR_PAGE: u64 = 20_000;

#[derive(Debug, Clone)]
pub struct ManagedOptions {
    pub url: String,
    /// The cluster key; `None` when the gateway is known by its client certificate.
    pub cluster_key: Option<String>,
    pub state_dir: PathBuf,
    pub name: Option<String>,
    /// How the manager's certificate is checked, and this gateway's own (mTLS).
    pub tls: ManagerTls,
}

/// TLS towards the manager (`https://` URLs).
#[derive(Debug, Clone, Default)]
pub struct ManagerTls {
    /// Trust only this CA (PEM) for the manager's certificate, instead of the platform's roots.
    pub ca: Option<PathBuf>,
    /// Accept only a manager certificate with this SHA-256 fingerprint (of its DER, as
    /// `openssl x509 -noout -fingerprint -sha256` prints it; colons optional).
    pub pin: Option<String>,
    /// This gateway's client certificate and key (PEM), for a manager that runs with
    /// `--tls-client-ca`.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl ManagerTls {
    /// The HTTP client to the manager.
    fn client(&self) -> anyhow::Result<reqwest::Client> {
        let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(3));
        let identity = match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
            (None, None) => None,
            _ => anyhow::bail!("--manager-client-cert and --manager-client-key go together"),
        };
        let pin = match &self.pin {
            Some(p) => Some(
                crate::pg::stream::parse_pin(p)
                    .map_err(|e| anyhow::anyhow!("--manager-pin: {e}"))?,
            ),
            None => None,
        };
        if pin.is_some() && self.ca.is_some() {
            anyhow::bail!("give --manager-ca or --manager-pin, not both");
        }
        if pin.is_none() && self.ca.is_none() {
            // The platform's roots; reqwest presents the identity.
            let builder = match identity {
                Some((c, k)) => {
                    let mut pem = std::fs::read(c)
                        .with_context(|| format!("--manager-client-cert {}", c.display()))?;
                    pem.extend(
                        std::fs::read(k)
                            .with_context(|| format!("--manager-client-key {}", k.display()))?,
                    );
                    builder.identity(reqwest::Identity::from_pem(&pem).with_context(|| {
                        format!(
                            "--manager-client-cert {} / --manager-client-key {}",
                            c.display(),
                            k.display()
                        )
                    })?)
                }
                None => builder,
            };
            return Ok(builder.build()?);
        }
        let cfg = crate::pg::stream::manager_tls(self.ca.as_deref(), pin, identity)
            .map_err(anyhow::Error::msg)?;
        Ok(builder.use_preconfigured_tls(cfg).build()?)
    }
}

pub struct Managed {
    opts: ManagedOptions,
    http: reqwest::Client,
    id: String,
    /// This process's run: usage totals restart from zero with it.
    run: String,
    /// Set once the gateway is up: its usage counters, sent with heartbeats.
    shared: std::sync::OnceLock<Arc<Shared>>,
    /// The snapshot in force (applied completely).
    version: AtomicI64,
    /// The newest snapshot fetched, applied or not (the long poll waits for one after it).
    seen: AtomicI64,
    /// The threat-intelligence indicators lookups use, kept in step with the manager's
    /// change stream and persisted in `STATE_DIR/indicators.log`.
    threats: Arc<ThreatStore>,
    indicator_log: IndicatorLog,
    /// The indicator sequence number applied, and the one the newest snapshot announced.
    indicator_seq: AtomicU64,
    indicator_target: AtomicU64,
    /// One indicator sync at a time.
    indicator_sync: tokio::sync::Mutex<()>,
}

/// An HTTP error with its causes (reqwest's own text leaves out the TLS reason).
fn describe(e: &reqwest::Error) -> String {
    articdbm_config::error_chain(e)
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = getrandom::fill(&mut b);
    hex::encode(b)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", random_hex(4)));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Starts a gateway in managed mode: the first snapshot (or the last good one), then the
/// gateway, then the follower task.
pub async fn start(
    config_file: &Path,
    opts: ManagedOptions,
) -> anyhow::Result<(crate::pg::Gateway, Arc<Managed>)> {
    let m = Arc::new(Managed::new(opts)?);
    let overlay = m.initial().await?;
    let config = crate::config::Config::load_with(config_file, Some(&overlay))?;
    let gw = crate::pg::Gateway::start_with(config, Some(overlay), Some(m.threats())).await?;
    let sink = crate::audit::AuditSink::new(m.opts.state_dir.join("audit-spool"))?;
    sink.spawn_sender(
        m.http.clone(),
        m.opts.url.clone(),
        m.opts.cluster_key.clone(),
        gw.stopped(),
    );
    gw.shared.audit.store(Some(sink));
    Arc::clone(&m).spawn(
        Arc::clone(&gw.shared),
        Arc::clone(gw.reloader()),
        config_file.to_path_buf(),
        gw.stopped(),
    );
    Ok((gw, m))
}

impl Managed {
    pub fn new(opts: ManagedOptions) -> anyhow::Result<Managed> {
        std::fs::create_dir_all(opts.state_dir.join("snapshots"))
            .with_context(|| format!("--state-dir {}", opts.state_dir.display()))?;
        std::fs::create_dir_all(opts.state_dir.join("artifacts"))?;
        let id_file = opts.state_dir.join("gateway-id");
        let id = match std::fs::read_to_string(&id_file) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                let id = random_hex(8);
                write_atomic(&id_file, id.as_bytes())?;
                id
            }
        };
        let http = opts.tls.client()?;
        // The indicators this gateway had: enforced from the start, whatever the manager does.
        let indicator_log = IndicatorLog::new(opts.state_dir.join("indicators.log"));
        let (seq, held) = indicator_log
            .load()
            .with_context(|| format!("{}", opts.state_dir.join("indicators.log").display()))?;
        let threats = Arc::new(ThreatStore::new());
        let changes: Vec<IndicatorChange> = held.into_iter().map(IndicatorChange::Upsert).collect();
        threats.apply(&changes);
        Ok(Managed {
            opts,
            http,
            id,
            run: random_hex(8),
            shared: std::sync::OnceLock::new(),
            version: AtomicI64::new(0),
            seen: AtomicI64::new(0),
            threats,
            indicator_log,
            indicator_seq: AtomicU64::new(seq),
            indicator_target: AtomicU64::new(seq),
            indicator_sync: tokio::sync::Mutex::new(()),
        })
    }

    /// The indicator store this gateway's lookups must use.
    pub fn threats(&self) -> Arc<ThreatStore> {
        Arc::clone(&self.threats)
    }

    /// The indicator sequence number applied.
    pub fn indicator_seq(&self) -> u64 {
        self.indicator_seq.load(Ordering::SeqCst)
    }

    /// Takes the snapshot's threat section: bypass rules now, indicators up to its sequence
    /// number by [`Managed::sync_indicators`].
    fn take_threat(&self, threat: &Value) {
        let bypass: std::collections::HashMap<String, Bypass> = threat["bypass"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(t, b)| match serde_json::from_value::<Bypass>(b.clone()) {
                Ok(b) => Some((t.clone(), b)),
                Err(e) => {
                    tracing::warn!(tenant = %t, "snapshot bypass rules ignored: {e}");
                    None
                }
            })
            .collect();
        self.threats.set_bypass(bypass);
        if let Some(target) = threat["indicators_seq"].as_u64() {
            self.indicator_target.store(target, Ordering::SeqCst);
        }
    }

    /// Fetches and applies indicator changes until the announced sequence number is reached.
    /// A manager whose sequence went backwards (its store was replaced) is followed from
    /// scratch: the whole list is fetched first and swapped in at once, so lookups never see
    /// an empty set in between.
    pub async fn sync_indicators(&self) -> Result<(), String> {
        let _one = self.indicator_sync.lock().await;
        let target = self.indicator_target.load(Ordering::SeqCst);
        let after = self.indicator_seq.load(Ordering::SeqCst);
        let log_err = |e: std::io::Error| {
            format!(
                "{}: {e}",
                self.opts.state_dir.join("indicators.log").display()
            )
        };
        if target < after {
            tracing::warn!(
                held = after,
                manager = target,
                "the manager's indicator sequence went back; reloading all indicators"
            );
            let mut all = ChangePage {
                changes: Vec::new(),
                last: 0,
                more: false,
            };
            loop {
                let page = self.indicator_page(all.last).await?;
                all.changes.extend(page.changes);
                all.last = page.last.max(all.last);
                if !page.more {
                    break;
                }
            }
            self.warn_rejected(&self.threats.replace_all(&all.changes));
            self.indicator_log.reset().map_err(log_err)?;
            self.indicator_log.append(&all).map_err(log_err)?;
            self.indicator_seq.store(all.last, Ordering::SeqCst);
            return Ok(());
        }
        let mut after = after;
        while after < target {
            let page = self.indicator_page(after).await?;
            self.warn_rejected(&self.threats.apply(&page.changes));
            self.indicator_log.append(&page).map_err(log_err)?;
            after = page.last.max(after);
            self.indicator_seq.store(after, Ordering::SeqCst);
            if !page.more {
                break;
            }
        }
        Ok(())
    }

    /// One page of the manager's indicator change stream after `after`.
    async fn indicator_page(&self, after: u64) -> Result<ChangePage, String> {
        let resp = self
            .get("/api/v1/indicators/changes")
            .query(&[("after", after), ("limit", INDICATOR_PAGE)])
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| describe(&e))?;
        if !resp.status().is_success() {
            return Err(format!("indicator changes: HTTP {}", resp.status()));
        }
        let page: ChangePage = resp.json().await.map_err(|e| e.to_string())?;
        if page.more && page.last <= after {
            return Err("the manager's indicator stream did not advance".into());
        }
        Ok(page)
    }

    fn warn_rejected(&self, report: &crate::runtime::indicators::ApplyReport) {
        if report.rejected > 0 {
            tracing::warn!(
                rejected = report.rejected,
                "indicators refused: {:?}",
                report.errors
            );
        }
    }

    /// Syncs indicators when behind, logging (not failing) on error: the next poll retries.
    async fn catch_up_indicators(&self) {
        if self.indicator_seq.load(Ordering::SeqCst) != self.indicator_target.load(Ordering::SeqCst)
            && let Err(e) = self.sync_indicators().await
        {
            tracing::warn!("indicators not synced, retrying with the next poll: {e}");
        }
    }

    /// The snapshot version in force.
    pub fn version(&self) -> i64 {
        self.version.load(Ordering::SeqCst)
    }

    fn base(&self) -> &str {
        self.opts.url.trim_end_matches('/')
    }

    /// A request to the manager's `path`, with the cluster key when the gateway has one.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base()));
        match &self.opts.cluster_key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path)
    }

    /// The overlay of the snapshot in `current`.
    pub fn overlay(&self) -> anyhow::Result<Overlay> {
        let cur = self.opts.state_dir.join("current");
        let text = std::fs::read_to_string(cur.join("config.toml"))
            .with_context(|| format!("{}", cur.join("config.toml").display()))?;
        Ok(Overlay {
            text,
            plugin_dir: cur.join("plugins"),
            packs: cur.join("packs"),
        })
    }

    /// The first snapshot: from the manager, or else the last good one on disk.
    pub async fn initial(&self) -> anyhow::Result<Overlay> {
        match self.fetch(None, Duration::from_secs(5)).await {
            Ok(Some(doc)) => {
                let v = self.materialize(&doc).await?;
                self.version.store(v, Ordering::SeqCst);
                self.take_threat(&doc["threat"]);
                self.catch_up_indicators().await;
                tracing::info!(version = v, manager = %self.opts.url,
                    indicators = self.threats.len(), "manager snapshot applied");
            }
            Ok(None) => anyhow::bail!("manager {}: no snapshot", self.opts.url),
            Err(e) => {
                let saved = self.opts.state_dir.join("current").join("snapshot.json");
                let text = std::fs::read_to_string(&saved).map_err(|_| {
                    anyhow::anyhow!(
                        "manager {} unreachable ({e}) and no saved snapshot in {}",
                        self.opts.url,
                        self.opts.state_dir.display()
                    )
                })?;
                let saved: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let v = saved["version"].as_i64().unwrap_or(0);
                // Bypass rules as last seen; indicators from the log, already loaded.
                let mut threat = saved["threat"].clone();
                if let Some(t) = threat.as_object_mut() {
                    t.remove("indicators_seq");
                }
                self.take_threat(&threat);
                self.version.store(v, Ordering::SeqCst);
                self.seen.store(v, Ordering::SeqCst);
                tracing::warn!(
                    version = v,
                    "manager {} unreachable ({e}): starting from the last good snapshot",
                    self.opts.url
                );
            }
        }
        self.overlay()
    }

    /// `Ok(None)`: nothing newer within the wait.
    async fn fetch(&self, after: Option<i64>, timeout: Duration) -> Result<Option<Value>, String> {
        let mut req = self.get("/api/v1/snapshot").timeout(timeout);
        if let Some(a) = after {
            req = req.query(&[
                ("after", a.to_string()),
                ("wait", POLL_WAIT_SECS.to_string()),
            ]);
        }
        let resp = req.send().await.map_err(|e| describe(&e))?;
        match resp.status() {
            reqwest::StatusCode::NOT_MODIFIED => Ok(None),
            s if s.is_success() => resp.json().await.map(Some).map_err(|e| e.to_string()),
            s => {
                let body = resp.text().await.unwrap_or_default();
                Err(format!(
                    "{s}: {}",
                    body.chars().take(300).collect::<String>()
                ))
            }
        }
    }

    async fn artifact(&self, sha: &str) -> anyhow::Result<PathBuf> {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            anyhow::bail!("snapshot names an artifact with a malformed hash '{sha}'");
        }
        let path = self
            .opts
            .state_dir
            .join("artifacts")
            .join(format!("{sha}.wasm"));
        if path.is_file() {
            return Ok(path);
        }
        let resp = self
            .get(&format!("/api/v1/artifacts/{sha}"))
            .timeout(Duration::from_secs(60))
            .send()
            .await?
            .error_for_status()?;
        let bytes = resp.bytes().await?;
        let got = hex::encode(Sha256::digest(&bytes));
        if got != sha {
            anyhow::bail!("artifact {sha}: the manager sent content hashing to {got}");
        }
        write_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// Writes the snapshot to `snapshots/vN` and points `current` at it; returns N.
    async fn materialize(&self, doc: &Value) -> anyhow::Result<i64> {
        let version = doc["version"]
            .as_i64()
            .context("snapshot without a version")?;
        let snaps = self.opts.state_dir.join("snapshots");
        let tmp = snaps.join(format!(".v{version}.tmp-{}", random_hex(4)));
        std::fs::create_dir_all(tmp.join("plugins"))?;
        std::fs::create_dir_all(tmp.join("packs"))?;
        for p in doc["plugins"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().context("plugin without a name")?;
            if name.is_empty() || name.contains(['/', '\\', '.']) {
                anyhow::bail!("snapshot names a plugin '{name}'");
            }
            let sha = p["sha256"].as_str().context("plugin without a hash")?;
            let art = self.artifact(sha).await?;
            let dst = tmp.join("plugins").join(format!("{name}.wasm"));
            if std::fs::hard_link(&art, &dst).is_err() {
                std::fs::copy(&art, &dst)?;
            }
            std::fs::write(
                tmp.join("plugins").join(format!("{name}.json")),
                serde_json::to_vec_pretty(&p["manifest"])?,
            )?;
        }
        for (i, p) in doc["packs"].as_array().into_iter().flatten().enumerate() {
            let toml = p["toml"].as_str().context("pack without text")?;
            std::fs::write(tmp.join("packs").join(format!("{i:04}.toml")), toml)?;
        }
        if doc["secrets_withheld"].as_bool() == Some(true) {
            tracing::warn!(
                version,
                "the manager sent this snapshot without backend passwords: it sends them over \
                 TLS (or to its own host) only; reach it by https:// (--manager-ca or \
                 --manager-pin)"
            );
        }
        std::fs::write(
            tmp.join("config.toml"),
            doc["config"].as_str().unwrap_or_default(),
        )?;
        std::fs::write(
            tmp.join("snapshot.json"),
            serde_json::to_vec(&serde_json::json!({"version": version, "threat": doc["threat"]}))?,
        )?;
        let dir = snaps.join(format!("v{version}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::rename(&tmp, &dir)?;
        let link_tmp = self
            .opts
            .state_dir
            .join(format!(".current.tmp-{}", random_hex(4)));
        std::os::unix::fs::symlink(
            Path::new("snapshots").join(format!("v{version}")),
            &link_tmp,
        )?;
        std::fs::rename(&link_tmp, self.opts.state_dir.join("current"))?;
        self.seen.store(version, Ordering::SeqCst);
        // Keep this snapshot and the one before it.
        let previous = self.version_dirs(&snaps, version);
        for (v, p) in previous.iter().rev().skip(1) {
            if *v < version {
                let _ = std::fs::remove_dir_all(p);
            }
        }
        Ok(version)
    }

    fn version_dirs(&self, snaps: &Path, below: i64) -> Vec<(i64, PathBuf)> {
        let mut v: Vec<(i64, PathBuf)> = std::fs::read_dir(snaps)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let n = e.file_name().to_str()?.strip_prefix('v')?.parse().ok()?;
                (n < below).then(|| (n, e.path()))
            })
            .collect();
        v.sort();
        v
    }

    async fn heartbeat(&self) -> Result<(), String> {
        let name = self
            .opts
            .name
            .clone()
            .unwrap_or_else(|| format!("gateway-{}", &self.id[..6]));
        self.post("/api/v1/gateways/heartbeat")
            .timeout(Duration::from_secs(5))
            .json(&serde_json::json!({
                "id": self.id, "name": name, "version": env!("CARGO_PKG_VERSION"),
                "snapshot_version": self.version(), "run": self.run,
                "usage": self.shared.get().map(|s| s.usage.totals()).unwrap_or_default(),
                "plugins": self.shared.get().map(|s| s.metrics.plugin_summary()),
            }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Follows the manager until `stop`: long polls, applies each new snapshot, heartbeats.
    pub fn spawn(
        self: Arc<Self>,
        shared: Arc<Shared>,
        reloader: Arc<Reloader>,
        config_file: PathBuf,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let _ = self.shared.set(Arc::clone(&shared));
        let me = Arc::clone(&self);
        let mut stop2 = stop.clone();
        tokio::spawn(async move {
            loop {
                let _ = me.heartbeat().await;
                tokio::select! {
                    _ = tokio::time::sleep(HEARTBEAT) => {}
                    _ = stop2.changed() => return,
                }
            }
        });
        tokio::spawn(async move {
            let metrics = Arc::clone(&shared.metrics);
            metrics.snapshot_version.set(self.version());
            let mut failures: u32 = 0;
            loop {
                let polled = tokio::select! {
                    r = self.fetch(Some(self.seen.load(Ordering::SeqCst)), Duration::from_secs(POLL_WAIT_SECS + 10)) => r,
                    _ = stop.changed() => return,
                };
                match polled {
                    Ok(None) => {
                        metrics.manager_reachable.set(1);
                        failures = 0;
                        self.catch_up_indicators().await;
                    }
                    Ok(Some(doc)) => {
                        metrics.manager_reachable.set(1);
                        failures = 0;
                        match self.apply(&doc, &shared, &reloader, &config_file).await {
                            Ok(v) => {
                                metrics.snapshot_version.set(v);
                                metrics.snapshot_applies.with_label_values(&["ok"]).inc();
                                let _ = self.heartbeat().await;
                            }
                            Err(e) => {
                                metrics.snapshot_applies.with_label_values(&["error"]).inc();
                                tracing::error!(
                                    "manager snapshot not applied, previous kept: {e:#}"
                                );
                                failures += 1;
                            }
                        }
                    }
                    Err(e) => {
                        if failures == 0 {
                            tracing::warn!(
                                "manager {} unreachable ({e}); enforcing snapshot {} until it returns",
                                self.opts.url,
                                self.version()
                            );
                        }
                        metrics.manager_reachable.set(0);
                        failures += 1;
                    }
                }
                if failures > 0 {
                    // Jittered backoff: 0.5 s doubling to 8 s, ±50%.
                    let base = 500u64 << failures.min(5).saturating_sub(1);
                    let mut b = [0u8; 2];
                    let _ = getrandom::fill(&mut b);
                    let jitter = u64::from(u16::from_le_bytes(b)) % base;
                    let wait = Duration::from_millis(base / 2 + jitter);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        });
    }

    async fn apply(
        &self,
        doc: &Value,
        shared: &Arc<Shared>,
        reloader: &Arc<Reloader>,
        config_file: &Path,
    ) -> anyhow::Result<i64> {
        let started = std::time::Instant::now();
        let v = self.materialize(doc).await?;
        let overlay = self.overlay()?;
        // Users and databases first, so a pack naming a new tenant finds its users.
        crate::pg::apply_overlay(shared, config_file, overlay);
        let r = Arc::clone(reloader);
        let report = tokio::task::spawn_blocking(move || r.reload()).await?;
        if let Some(e) = report.pack_error {
            anyhow::bail!("snapshot {v}: packs refused: {e}");
        }
        if !report.plugin_errors.is_empty() {
            anyhow::bail!("snapshot {v}: {}", report.plugin_errors.join("; "));
        }
        self.version.store(v, Ordering::SeqCst);
        self.take_threat(&doc["threat"]);
        self.catch_up_indicators().await;
        tracing::info!(
            version = v,
            ms = started.elapsed().as_millis() as u64,
            indicators = self.threats.len(),
            "manager snapshot applied"
        );
        Ok(v)
    }
}
