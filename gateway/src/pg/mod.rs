//! The PostgreSQL gateway: the listener, client sessions ([`client`]), server connections
//! ([`server`]), pools and routing ([`pool`]), statement splitting ([`split`]), TLS
//! ([`stream`]). A session is a sans-I/O core ([`core`]) driven by a tokio task ([`client`]). [`Gateway::start`] wires them to the policy runtime and the admin endpoints.

pub mod client;
pub mod core;
pub mod pool;
pub mod server;
pub mod split;
pub mod stream;
pub mod words;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use arc_swap::{ArcSwap, ArcSwapOption};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{BackendRole, Config, Overlay, Target};
use crate::metrics::Metrics;
use crate::runtime::host::HostServices;
use crate::runtime::indicators::ThreatStore;
use crate::runtime::kv::MemoryKv;
use crate::runtime::reload::{Reloader, Sources, WatchHandle};
use crate::runtime::{PolicyEngine, Runtime, RuntimeConfig};
use pool::DbPool;
use server::{Endpoint, Identity};

/// Where a client's current query runs, for CancelRequest.
pub type CancelSlot = Arc<Mutex<Option<Arc<server::CancelTarget>>>>;

/// State shared by every session of a gateway process.
pub struct Shared {
    pub config: ArcSwap<Config>,
    pub engine: Arc<PolicyEngine>,
    pub metrics: Arc<Metrics>,
    pub tls: ArcSwapOption<rustls::ServerConfig>,
    dbs: ArcSwap<HashMap<String, Arc<DbPool>>>,
    /// The MySQL databases' pools (`crate::mysql`).
    my_dbs: ArcSwap<HashMap<String, Arc<crate::mysql::MyPool>>>,
    my_pool_defs: Mutex<HashMap<String, String>>,
    /// MySQL sessions by the connection id their clients were given: owner and KILL slot.
    pub my_sessions: Mutex<HashMap<u32, (String, crate::mysql::KillSlot)>>,
    cancels: Mutex<HashMap<i32, ([u8; 4], CancelSlot)>>,
    next_pid: AtomicI32,
    pub next_conn_id: AtomicU64,
    /// Name of a function that does not exist, sent in place of a refused statement.
    pub deny_marker: String,
    /// Keys the mock SCRAM verifiers of unknown users.
    pub mock_secret: String,
    /// Server-side ids of named prepared statements, shared by every session.
    pub statement_ids: Arc<core::StatementIds>,
    /// Managed mode: the manager snapshot's users, databases, plugin and pack directories.
    overlay: ArcSwapOption<Overlay>,
    /// Each database's definition, to keep the pools of unchanged ones across reloads.
    pool_defs: Mutex<HashMap<String, String>>,
    /// Managed mode: where audit events go (none standalone).
    pub audit: ArcSwapOption<crate::audit::AuditSink>,
    /// Connections, statements and refusals per tenant (reported to the manager).
    pub usage: crate::usage::Usage,
    /// The threat-intelligence indicators and bypass rules plugins look up (the very store
    /// the host's `indicators` import reads).
    pub threats: Arc<ThreatStore>,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS random source works");
    hex::encode(b)
}

impl Shared {
    /// The post-authentication checks and on-connect policy ([`crate::session::admit`]) with
    /// this gateway's engine, metrics, audit sink and usage counters: the one way in for a
    /// PostgreSQL startup, a MySQL handshake and a COM_CHANGE_USER.
    pub(crate) fn admit(
        &self,
        user: &crate::config::User,
        peer: std::net::IpAddr,
        conn: &crate::runtime::Connection,
    ) -> Result<Arc<crate::usage::TenantUsage>, crate::session::Refusal> {
        let audit = self.audit.load_full();
        let gate = crate::session::Gate {
            engine: &self.engine,
            metrics: &self.metrics,
            audit: audit.as_deref(),
            usage: &self.usage,
        };
        crate::session::admit(&gate, user, peer, conn)
    }

    pub fn database(&self, name: &str) -> Option<Arc<DbPool>> {
        self.dbs.load().get(name).cloned()
    }

    pub fn databases(&self) -> Arc<HashMap<String, Arc<DbPool>>> {
        self.dbs.load_full()
    }

    pub fn my_database(&self, name: &str) -> Option<Arc<crate::mysql::MyPool>> {
        self.my_dbs.load().get(name).cloned()
    }

    pub fn my_databases(&self) -> Arc<HashMap<String, Arc<crate::mysql::MyPool>>> {
        self.my_dbs.load_full()
    }

    /// A process id and secret for a new client. `preferred`: the server backend's pid in
    /// session mode, so that `pg_backend_pid()` and notification pids match what the client
    /// was told (taken unless another client already has it).
    fn register_cancel(&self, preferred: Option<i32>) -> (i32, [u8; 4], CancelSlot) {
        let mut secret = [0u8; 4];
        getrandom::fill(&mut secret).expect("the OS random source works");
        let slot: CancelSlot = Arc::new(Mutex::new(None));
        let mut m = self.cancels.lock();
        if let Some(pid) = preferred.filter(|p| *p > 0 && !m.contains_key(p)) {
            m.insert(pid, (secret, Arc::clone(&slot)));
            return (pid, secret, slot);
        }
        loop {
            let pid = self.next_pid.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff;
            if pid != 0 && !m.contains_key(&pid) {
                m.insert(pid, (secret, Arc::clone(&slot)));
                return (pid, secret, slot);
            }
        }
    }

    fn unregister_cancel(&self, pid: i32) {
        self.cancels.lock().remove(&pid);
    }

    async fn cancel(&self, pid: i32, secret: &[u8]) {
        let target = {
            let m = self.cancels.lock();
            match m.get(&pid) {
                Some((s, slot)) if subtle_eq(s, secret) => slot.lock().clone(),
                _ => None,
            }
        };
        if let Some(t) = target
            && let Err(e) = server::ServerConn::cancel(&t.endpoint, &t.key).await
        {
            tracing::warn!(error = %e, "forwarding a cancel request failed");
        }
    }
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Builds the pools of `config`, keeping the pools of `old` whose definition did not change
/// (their connections and clients carry on).
fn build_pools(
    config: &Config,
    metrics: &Arc<Metrics>,
    old: Option<&HashMap<String, Arc<DbPool>>>,
    defs: &mut HashMap<String, String>,
) -> Result<HashMap<String, Arc<DbPool>>, String> {
    let mut out = HashMap::new();
    let mut new_defs = HashMap::new();
    for (name, db) in &config.databases {
        if matches!(db.target, Target::Mysql { .. }) {
            continue; // served by the MySQL gateway (crate::mysql)
        }
        let secret = target_secret(&db.target);
        // `Debug` of a target redacts the password: its digest stands in for it.
        let def = format!(
            "{:?}{:?}{}{secret}",
            db.target, db.pool, db.read_write_split
        );
        if let (Some(old), Some(prev)) = (old, defs.get(name))
            && *prev == def
            && let Some(p) = old.get(name)
        {
            out.insert(name.clone(), Arc::clone(p));
            new_defs.insert(name.clone(), def);
            continue;
        }
        let (endpoints, ident) = match &db.target {
            Target::Sqlite(path) => {
                let sdb = crate::sqlite::SqliteDb::open_shared(name, path)
                    .map_err(|e| format!("database {name}: sqlite {}: {e}", path.display()))?;
                (
                    vec![(Endpoint::Sqlite(sdb), BackendRole::Primary, 1)],
                    Identity {
                        user: "articdbm".into(),
                        password: None,
                        database: name.clone(),
                    },
                )
            }
            Target::Mysql { .. } => continue,
            Target::Postgres {
                backends,
                user,
                password,
                database,
                tls,
                tls_ca,
            } => {
                let tls_config = crate::pg::stream::backend_tls(*tls, tls_ca.as_deref())
                    .map_err(|e| format!("database {name}: {e}"))?;
                (
                    backends
                        .iter()
                        .map(|b| {
                            (
                                Endpoint::Postgres {
                                    host: b.host.clone(),
                                    port: b.port,
                                    tls: *tls,
                                    tls_config: tls_config.clone(),
                                },
                                b.role,
                                b.weight,
                            )
                        })
                        .collect(),
                    Identity {
                        user: user.clone(),
                        password: password.clone(),
                        database: database.clone(),
                    },
                )
            }
        };
        let pool = DbPool::new(
            name.clone(),
            db.pool.clone(),
            pool::PgConnector::new(ident),
            endpoints,
            db.read_write_split,
            crate::pool::Topology::PrimaryReplicas,
            Arc::clone(metrics),
        );
        pool::spawn_maintenance(Arc::clone(&pool));
        out.insert(name.clone(), pool);
        new_defs.insert(name.clone(), def);
    }
    if let Some(old) = old {
        for (name, p) in old {
            if !out.get(name).is_some_and(|n| Arc::ptr_eq(n, p)) {
                // Sessions holding a connection of the old pool finish on it; the pool
                // refuses new leases and closes its idle connections.
                p.close();
            }
        }
    }
    *defs = new_defs;
    Ok(out)
}

/// A digest standing in for a database's server password in its definition (`Debug` of a
/// target redacts the password, and a changed password must still rebuild the pool).
pub fn target_secret(target: &Target) -> String {
    match target.password() {
        Some(p) => {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(p.as_bytes()))
        }
        None => String::new(),
    }
}

/// A running gateway.
pub struct Gateway {
    pub shared: Arc<Shared>,
    pg_addr: SocketAddr,
    mysql_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    reloader: Arc<Reloader>,
    shutdown: watch::Sender<bool>,
    _watch: Option<WatchHandle>,
    _config_watch: Option<notify::RecommendedWatcher>,
}

impl Gateway {
    /// Loads plugins and packs, builds the pools, binds the listeners and starts serving.
    pub async fn start(config: Config) -> anyhow::Result<Gateway> {
        Self::start_with(config, None, None).await
    }

    /// [`Gateway::start`] with a manager snapshot's overlay already applied to `config`
    /// ([`Config::load_with`]). The snapshot's directories are not watched: the manager
    /// client reloads them when a new snapshot is in place.
    pub async fn start_with(
        config: Config,
        overlay: Option<Overlay>,
        threats: Option<Arc<ThreatStore>>,
    ) -> anyhow::Result<Gateway> {
        let managed = overlay.is_some();
        let metrics = Arc::new(Metrics::new());
        crate::memory::spawn_trimmer(Arc::clone(&metrics));
        let kv: Arc<dyn crate::runtime::kv::KvBackend> = match &config.server.redis {
            Some(url) => Arc::new(
                crate::runtime::redis_kv::RedisKv::start(
                    url,
                    &config.server.redis_tls,
                    Arc::clone(&metrics),
                )
                .map_err(anyhow::Error::msg)?,
            ),
            None => Arc::new(MemoryKv::default()),
        };
        // A managed gateway brings the indicators it already holds, so that it never serves a
        // connection with an empty set.
        let threats = threats.unwrap_or_default();
        threats.bind_metrics(&metrics);
        let services = Arc::new(HostServices::new(
            kv,
            Box::new(Arc::clone(&threats)),
            Arc::clone(&metrics),
        ));
        let runtime = Arc::new(Runtime::new(
            RuntimeConfig {
                cache_dir: config
                    .server
                    .cache_dir
                    .clone()
                    .or_else(crate::cli::default_cache_dir),
                ..RuntimeConfig::default()
            },
            services,
        )?);
        if !config.server.plugin_dir.is_dir() {
            anyhow::bail!(
                "server.plugin_dir {} does not exist (build the plugins with `cargo build`)",
                config.server.plugin_dir.display()
            );
        }
        let sources = Sources {
            plugin_dir: config.server.plugin_dir.clone(),
            packs: config.server.packs.clone(),
        };
        let (reloader, report) =
            tokio::task::spawn_blocking(move || Reloader::start(runtime, sources, 100_000))
                .await??;
        for e in &report.plugin_errors {
            tracing::warn!("{e}");
        }
        let tls = match &config.server.tls {
            Some(t) => Some(stream::server_tls(&t.cert, &t.key).map_err(anyhow::Error::msg)?),
            None => None,
        };
        let mut defs = HashMap::new();
        let dbs = build_pools(&config, &metrics, None, &mut defs).map_err(anyhow::Error::msg)?;
        let mut my_defs = HashMap::new();
        let my_dbs = crate::mysql::build_pools(&config, &metrics, None, &mut my_defs)
            .map_err(anyhow::Error::msg)?;
        let listener = TcpListener::bind(config.server.listen)
            .await
            .map_err(|e| anyhow::anyhow!("server.listen {}: {e}", config.server.listen))?;
        let pg_addr = listener.local_addr()?;
        let my_listener = match config.server.mysql_listen {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("server.mysql_listen {a}: {e}"))?,
            ),
            None => None,
        };
        let mysql_addr = my_listener.as_ref().map(|l| l.local_addr()).transpose()?;
        let admin_token = match &config.server.admin_token_file {
            Some(f) => Some(Arc::new(
                crate::admin::AdminToken::read(f).map_err(anyhow::Error::msg)?,
            )),
            None => None,
        };
        if let Some(a) = config.server.admin_listen
            && admin_token.is_none()
            && !a.ip().is_loopback()
        {
            tracing::warn!(
                admin_listen = %a,
                "the admin endpoints listen beyond loopback without a token: set \
                 server.admin_token_file"
            );
        }
        let admin_listener = match config.server.admin_listen {
            Some(a) => Some(
                TcpListener::bind(a)
                    .await
                    .map_err(|e| anyhow::anyhow!("server.admin_listen {a}: {e}"))?,
            ),
            None => None,
        };
        let admin_addr = admin_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()?;
        let watch_enabled = config.server.watch;
        let config_file = config.file.clone();
        let shared = Arc::new(Shared {
            config: ArcSwap::from_pointee(config),
            engine: Arc::clone(reloader.engine()),
            metrics: Arc::clone(&metrics),
            tls: ArcSwapOption::new(tls),
            dbs: ArcSwap::from_pointee(dbs),
            my_dbs: ArcSwap::from_pointee(my_dbs),
            my_pool_defs: Mutex::new(my_defs),
            my_sessions: Mutex::new(HashMap::new()),
            cancels: Mutex::new(HashMap::new()),
            next_pid: AtomicI32::new(1000 + (std::process::id() as i32 & 0xffff)),
            next_conn_id: AtomicU64::new(1),
            deny_marker: format!("articdbm_policy_denied_{}", random_hex(8)),
            mock_secret: random_hex(16),
            statement_ids: Arc::default(),
            overlay: ArcSwapOption::new(overlay.map(Arc::new)),
            pool_defs: Mutex::new(defs),
            audit: ArcSwapOption::empty(),
            usage: crate::usage::Usage::default(),
            threats,
        });
        let (shutdown, shutdown_rx) = watch::channel(false);

        // Accept loop.
        {
            let shared = Arc::clone(&shared);
            let mut stop = shutdown_rx.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        r = listener.accept() => match r {
                            Ok((tcp, peer)) => {
                                tokio::spawn(client::handle(Arc::clone(&shared), tcp, peer));
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "accept failed");
                                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                            }
                        },
                        _ = stop.changed() => return,
                    }
                }
            });
        }

        if let Some(l) = my_listener {
            crate::mysql::spawn_listener(Arc::clone(&shared), l, shutdown_rx.clone());
        }

        // Admin endpoints.
        if let Some(l) = admin_listener {
            let s = Arc::clone(&shared);
            let r = Arc::clone(&reloader);
            let state = crate::admin::AdminState {
                metrics: Arc::clone(&metrics),
                health: Arc::new(move || health(&s, &r)),
                token: admin_token,
            };
            let mut stop = shutdown_rx.clone();
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.changed().await;
                };
                if let Err(e) = crate::admin::serve(l, state, stopped).await {
                    tracing::error!(error = %e, "admin endpoint failed");
                }
            });
        }

        let (watch_handle, config_watch) = if watch_enabled {
            let w = if managed {
                None
            } else {
                match reloader.watch() {
                    Ok(w) => Some(w),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot watch plugins and packs; reload by restart");
                        None
                    }
                }
            };
            let cw = watch_config(&shared, &config_file);
            (w, cw)
        } else {
            (None, None)
        };

        Ok(Gateway {
            shared,
            pg_addr,
            mysql_addr,
            admin_addr,
            reloader,
            shutdown,
            _watch: watch_handle,
            _config_watch: config_watch,
        })
    }

    pub fn pg_addr(&self) -> SocketAddr {
        self.pg_addr
    }

    /// The MySQL listener's address, when `server.mysql_listen` is set.
    pub fn mysql_addr(&self) -> Option<SocketAddr> {
        self.mysql_addr
    }

    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The gateway's threat-intelligence store: apply the manager's indicator changes and
    /// bypass rules to it; plugins' `indicators` lookups read it.
    pub fn threats(&self) -> Arc<ThreatStore> {
        Arc::clone(&self.shared.threats)
    }

    pub fn reloader(&self) -> &Arc<Reloader> {
        &self.reloader
    }

    /// Changes to true when the gateway shuts down.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Stops accepting clients and closes idle server connections. Sessions in progress end
    /// when their clients leave.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        for p in self.shared.databases().values() {
            p.close();
        }
        for p in self.shared.my_databases().values() {
            p.close();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn health(shared: &Shared, reloader: &Reloader) -> crate::admin::Health {
    let mut backends = Vec::new();
    for (name, p) in shared.databases().iter() {
        for (label, role, up) in p.health() {
            backends.push(crate::admin::BackendHealth {
                database: name.clone(),
                backend: label,
                role,
                up,
            });
        }
    }
    for (name, p) in shared.my_databases().iter() {
        for (label, role, up) in p.health() {
            backends.push(crate::admin::BackendHealth {
                database: name.clone(),
                backend: label,
                role,
                up,
            });
        }
    }
    backends.sort_by(|a, b| (&a.database, &a.backend).cmp(&(&b.database, &b.backend)));
    let snap = reloader.engine().snapshot();
    crate::admin::Health {
        ready: true,
        backends,
        plugins_loaded: snap.plugins.len(),
        generation: snap.generation,
    }
}

/// Watches the config file: users, databases and backends apply without a restart; sessions
/// keep their connections.
fn watch_config(shared: &Arc<Shared>, file: &Path) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let name = file.file_name()?.to_owned();
    let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev
            && ev
                .paths
                .iter()
                .any(|p| p.file_name() == Some(name.as_os_str()))
        {
            let _ = tx.send(());
        }
    })
    .ok()?;
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    w.watch(dir, notify::RecursiveMode::NonRecursive).ok()?;
    let shared = Arc::clone(shared);
    let file = file.to_path_buf();
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Debounce a burst of events (editors write in several steps).
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            while rx.try_recv().is_ok() {}
            reload_config(&shared, &file);
        }
    });
    Some(w)
}

/// Applies a changed config file. An invalid file is refused as a whole and logged; the
/// running configuration stays.
pub fn reload_config(shared: &Shared, file: &Path) {
    let overlay = shared.overlay.load_full();
    let config = match Config::load_with(file, overlay.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("config reload refused, previous configuration kept: {e}");
            return;
        }
    };
    let old = shared.dbs.load_full();
    let mut defs = shared.pool_defs.lock();
    let old_my = shared.my_dbs.load_full();
    let mut my_defs = shared.my_pool_defs.lock();
    let built = build_pools(&config, &shared.metrics, Some(&old), &mut defs).and_then(|dbs| {
        crate::mysql::build_pools(&config, &shared.metrics, Some(&old_my), &mut my_defs)
            .map(|my| (dbs, my))
    });
    match built {
        Ok((dbs, my_dbs)) => {
            shared.my_dbs.store(Arc::new(my_dbs));
            let tls = match &config.server.tls {
                Some(t) => match stream::server_tls(&t.cert, &t.key) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::error!("config reload: TLS kept as it was: {e}");
                        shared.tls.load_full()
                    }
                },
                None => None,
            };
            shared.tls.store(tls);
            shared.dbs.store(Arc::new(dbs));
            shared.config.store(Arc::new(config));
            tracing::info!(file = %file.display(), "configuration reloaded");
        }
        Err(e) => tracing::error!("config reload refused, previous configuration kept: {e}"),
    }
}

/// Managed mode: a new snapshot's users and databases (and directories) take effect, exactly as
/// a config file change would.
pub fn apply_overlay(shared: &Shared, file: &Path, overlay: Overlay) {
    shared.overlay.store(Some(Arc::new(overlay)));
    reload_config(shared, file);
}
