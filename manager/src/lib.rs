//! The ArticDBM manager: REST API (axum) over a store (sqlx: embedded SQLite by default,
//! PostgreSQL by `DATABASE_URL`), the plugin registry, rule packs, and the versioned
//! configuration snapshot gateways pull. See docs/USAGE.md and docs/ARCHITECTURE.md.

pub mod api;
pub mod apply;
pub mod auth;
pub mod console;
pub mod feeds;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod secrets;
pub mod snapshot;
pub mod store;
pub mod tls;
pub mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::api::App;
use crate::auth::{Role, generate_key, hash_key, random_id};
use crate::store::{ApiKeyRow, Store, now_ms};

/// What `articdbm-manager serve` needs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Store URL; default `sqlite:DATA_DIR/manager.db`.
    pub database_url: Option<String>,
    /// Admin key to create on first start (else one is generated and printed once).
    pub bootstrap_key: Option<String>,
    /// A cluster key (role `gateway`) to register if it is not yet.
    pub cluster_key: Option<String>,
    /// Components (`NAME.wasm` + `NAME.json`) registered at start when no version of that
    /// plugin exists yet.
    pub seed_plugins: Option<PathBuf>,
    /// Pack files registered at start when no pack of that name exists yet.
    pub seed_packs: Vec<PathBuf>,
    /// Redis for telling other replicas (sharing a PostgreSQL store) of new versions at once.
    pub redis: Option<String>,
    /// The CA and client certificate for a `rediss://` Redis.
    pub redis_tls: articdbm_runtime::redis_kv::RedisTls,
    /// HTTPS instead of HTTP (and, with a client CA, gateway client certificates).
    pub tls: Option<tls::TlsOptions>,
    /// Send backend passwords in snapshots over plain HTTP to other hosts too.
    pub allow_plaintext_secrets: bool,
    /// The key that seals secrets in the store (default: `DATA_DIR/secret.key` for an
    /// embedded store).
    pub secret_key: secrets::KeySource,
}

/// The store URL of the options: `database_url`, or SQLite in the data directory.
fn store_url(database_url: &Option<String>, data_dir: &Path) -> String {
    match database_url {
        Some(u) => u.clone(),
        None => format!("sqlite:{}?mode=rwc", data_dir.join("manager.db").display()),
    }
}

/// Opens the store with the keys `key` names, and seals what an earlier version left in clear
/// (or under an older key given during a rotation).
async fn open_store(url: &str, data_dir: &Path, key: &secrets::KeySource) -> anyhow::Result<Store> {
    let embedded = url.starts_with("sqlite:");
    let keyring = Arc::new(secrets::Keyring::load(key, data_dir, embedded)?);
    let store = Store::open(url, Arc::clone(&keyring))
        .await
        .with_context(|| format!("store {}", store::redact(url)))?;
    let done = store.reseal_secrets(&keyring, false).await?;
    if done.fields > 0 {
        tracing::info!(
            rows = done.rows,
            fields = done.fields,
            key_id = %keyring.current_id(),
            "stored secrets sealed with the current key"
        );
    }
    Ok(store)
}

/// What `articdbm-manager secrets rotate` needs.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// The key the store is sealed with now (found as `serve` finds it).
    pub secret_key: secrets::KeySource,
    /// The key to seal with from now on.
    pub new_key_file: PathBuf,
}

/// Seals every stored secret with a new key, in one transaction. The manager must then be
/// started with the new key (or with the new key and `--old-secret-key-file` the previous one,
/// while replicas still using the previous key are restarted).
pub async fn rotate_secrets(opts: &RotateOptions) -> anyhow::Result<(store::Resealed, String)> {
    let url = store_url(&opts.database_url, &opts.data_dir);
    if opts.database_url.is_none() && !opts.data_dir.join("manager.db").exists() {
        anyhow::bail!(
            "no store at {}: give the --data-dir or --database-url the manager serves from",
            opts.data_dir.display()
        );
    }
    let store = open_store(&url, &opts.data_dir, &opts.secret_key).await?;
    let new = secrets::SecretKey::read(&opts.new_key_file)?;
    if new.id() == store.secret_key_id() {
        anyhow::bail!(
            "--new-key-file {} holds the key the store is sealed with already",
            opts.new_key_file.display()
        );
    }
    let id = new.id().to_string();
    let target = secrets::Keyring::new(new, vec![]);
    let done = store.reseal_secrets(&target, true).await?;
    Ok((done, id))
}

/// A running manager.
pub struct Manager {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// Ends the Redis threads.
    stopped: Arc<std::sync::atomic::AtomicBool>,
}

impl Manager {
    pub async fn start(opts: ServeOptions) -> anyhow::Result<Manager> {
        std::fs::create_dir_all(&opts.data_dir)
            .with_context(|| format!("--data-dir {}", opts.data_dir.display()))?;
        let url = store_url(&opts.database_url, &opts.data_dir);
        let store = open_store(&url, &opts.data_dir, &opts.secret_key).await?;
        bootstrap(&store, &opts).await?;
        let version = store.snapshot_version().await?;
        let metrics = metrics::ManagerMetrics::new();
        metrics.snapshot_version.set(version);
        let version = tokio::sync::watch::Sender::new(version);
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let live = console::Live::default();
        let publisher = match &opts.redis {
            Some(url) => Some(
                notify::redis(
                    url,
                    &opts.redis_tls,
                    version.clone(),
                    live.clone(),
                    Arc::clone(&stopped),
                )
                .map_err(anyhow::Error::msg)?,
            ),
            None => None,
        };
        let feeds = feeds::Feeds::new()?;
        let app = Arc::new(App {
            store,
            metrics,
            version,
            validator: validate::ComponentValidator::new(feeds.sandbox.clone())?,
            publisher,
            feeds,
            auth_limiter: auth::FailureLimiter::default(),
            plaintext_secrets: opts.allow_plaintext_secrets,
            live,
            trial: console::Trial::new(&opts.data_dir),
        });
        notify::poll_store(&app);
        feeds::seed_builtin(&app).await?;
        seed(&app, &opts).await?;
        feeds::spawn_scheduler(Arc::clone(&app), Arc::clone(&stopped));
        let tls = match &opts.tls {
            Some(t) => Some(Arc::new(tls::Tls::new(t)?)),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .with_context(|| format!("--listen {}", opts.listen))?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        if let Some(t) = &tls {
            t.spawn_reload(rx.clone());
        }
        let router = api::router(Arc::clone(&app));
        let task = tokio::spawn(tls::serve(listener, router, tls, rx));
        Ok(Manager {
            addr,
            app,
            shutdown,
            task,
            stopped,
        })
    }

    pub async fn stop(self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.shutdown.send(true);
        // Long polls end with the connections; don't wait for them.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.task).await;
    }
}

async fn bootstrap(store: &Store, opts: &ServeOptions) -> anyhow::Result<()> {
    if store.key_count().await? == 0 {
        let (key, generated) = match &opts.bootstrap_key {
            Some(k) if k.len() >= 16 => (k.clone(), false),
            Some(_) => anyhow::bail!("ARTICDBM_BOOTSTRAP_KEY: at least 16 characters"),
            None => (generate_key(), true),
        };
        store
            .insert_key(
                &ApiKeyRow {
                    id: random_id(8),
                    role: Role::Admin.as_str().into(),
                    tenant: None,
                    name: "bootstrap".into(),
                    created_at: now_ms(),
                    revoked_at: None,
                },
                &hash_key(&key),
            )
            .await?;
        if generated {
            // Printed once, never stored in clear.
            println!("articdbm-manager bootstrap admin key (shown once): {key}");
        } else {
            tracing::info!("bootstrap admin key registered from ARTICDBM_BOOTSTRAP_KEY");
        }
    }
    if let Some(k) = &opts.cluster_key {
        if k.len() < 16 {
            anyhow::bail!("ARTICDBM_CLUSTER_KEY: at least 16 characters");
        }
        if store.key_by_hash(&hash_key(k)).await?.is_none() {
            store
                .insert_key(
                    &ApiKeyRow {
                        id: random_id(8),
                        role: Role::Gateway.as_str().into(),
                        tenant: None,
                        name: "cluster".into(),
                        created_at: now_ms(),
                        revoked_at: None,
                    },
                    &hash_key(k),
                )
                .await?;
        }
    }
    Ok(())
}

/// Checks a component like an upload (manifest, compiled against its world) and registers it
/// as a new version of `name`; `origin` names it in errors.
pub(crate) async fn register(
    app: &Arc<App>,
    name: &str,
    bytes: Vec<u8>,
    manifest: &[u8],
    origin: &str,
) -> anyhow::Result<()> {
    let (m, mjson) =
        validate::manifest(manifest).map_err(|e| anyhow::anyhow!("{origin}: {}", e.message))?;
    let v = app.validator.clone();
    let (sha, bytes) = tokio::task::spawn_blocking(move || (v.check(&bytes, m), bytes)).await?;
    let sha = sha.map_err(|e| anyhow::anyhow!("{origin}: {}", e.message))?;
    let (_, ver) = app
        .store
        .add_plugin_version(name, &sha, &bytes, &mjson)
        .await?;
    notify::raise(&app.version, ver);
    Ok(())
}

/// Registers seed plugins and packs that are not registered yet.
async fn seed(app: &Arc<App>, opts: &ServeOptions) -> anyhow::Result<()> {
    if let Some(dir) = &opts.seed_plugins {
        let known: Vec<String> = app
            .store
            .plugin_states()
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("--seed-plugins {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        entries.sort();
        for wasm in entries {
            let name = wasm
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if known.contains(&name) {
                continue;
            }
            let bytes = std::fs::read(&wasm)?;
            let mtext = std::fs::read(wasm.with_extension("json"))
                .with_context(|| format!("{}: its manifest", wasm.display()))?;
            register(app, &name, bytes, &mtext, &wasm.display().to_string()).await?;
            tracing::info!(plugin = %name, "seed plugin registered");
        }
    }
    for file in &opts.seed_packs {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("--seed-pack {}", file.display()))?;
        let pack = validate::parse_pack(&text, &file.display().to_string())
            .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message))?;
        let tenant = pack.tenant.clone().unwrap_or_default();
        if app.store.get("pack", &tenant, &pack.name).await?.is_some() {
            continue;
        }
        let (_, ver) = app
            .store
            .put(
                "pack",
                &tenant,
                &pack.name,
                &validate::pack_body(&text, &pack),
            )
            .await?;
        notify::raise(&app.version, ver);
        tracing::info!(pack = %pack.name, "seed pack registered");
    }
    Ok(())
}

/// The default data directory: `$XDG_DATA_HOME/articdbm-manager` or `~/.local/share/...`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return Path::new(&d).join("articdbm-manager");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return Path::new(&h).join(".local/share/articdbm-manager");
    }
    PathBuf::from("articdbm-manager-data")
}
