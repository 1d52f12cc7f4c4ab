//! The gateway configuration file (TOML): listeners, TLS, users, databases and their backends,
//! pools, packs and the plugin directory, the admin address.
//!
//! Parsing is strict (unknown fields are errors) and every error names the file and the
//! field. [`Config::load`] returns a validated [`Config`]; passwords given in clear for
//! development are turned into SCRAM verifiers at load time and never kept.
//! docs/CONFIGURATION.md documents every field; docs/schema/gateway-config.schema.json is the
//! JSON Schema of the same format.
//!
//! This crate also holds the wire types the manager shares with gateways ([`threat`] indicators
//! and bypass rules, [`audit`] events), so the manager links these and the plugin runtime, not
//! the whole gateway; and the std-only HTTP probe behind both binaries' `healthcheck`
//! subcommands ([`healthcheck`]).

pub mod audit;
pub mod healthcheck;
pub mod logging;
pub mod threat;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use articdbm_pgwire::auth::scram::ScramVerifier;
use serde::Deserialize;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: PathBuf,
    pub server: Server,
    pub users: BTreeMap<String, User>,
    pub databases: BTreeMap<String, Database>,
}

/// What a manager snapshot adds to the config file (the gateway's managed mode): its `[[user]]` and
/// `[[database]]` tables, and the directories its plugins and packs were written to.
#[derive(Debug, Clone)]
pub struct Overlay {
    pub text: String,
    pub plugin_dir: PathBuf,
    pub packs: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// Address the PostgreSQL listener binds.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Address of the HTTP admin endpoints (`/healthz`, `/metrics`); none when unset.
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
    /// A file holding the bearer token the admin endpoints require; relative to the config
    /// file. Unset: no token.
    #[serde(default)]
    pub admin_token_file: Option<PathBuf>,
    /// Address the MySQL listener binds (off when unset).
    #[serde(default)]
    pub mysql_listen: Option<SocketAddr>,
    /// Redis shared by the gateways of a cluster for plugin key-value state (rate limits);
    /// `redis://[:password@]host:port[/db]`. Unset: state is local to this gateway.
    #[serde(default)]
    pub redis: Option<String>,
    /// `rediss://` beyond the platform's roots: `{ ca = "redis-ca.pem" }`, plus `cert` and
    /// `key` for a Redis that asks for client certificates.
    #[serde(default)]
    pub redis_tls: RedisTls,
    /// TLS for clients. Without it, SSLRequest is answered `N`.
    #[serde(default)]
    pub tls: Option<ServerTls>,
    /// Pack files or directories; relative paths are relative to the config file.
    #[serde(default = "default_packs")]
    pub packs: Vec<PathBuf>,
    /// Directory of plugin components; relative to the config file.
    #[serde(default = "default_plugin_dir")]
    pub plugin_dir: PathBuf,
    /// Where compiled components are cached.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Largest startup packet accepted, in bytes.
    #[serde(default = "default_max_startup")]
    pub max_startup_bytes: usize,
    /// Largest regular message accepted from a client, in bytes.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// Largest message accepted from a server, in bytes (PostgreSQL's own limit for a row is
    /// 1 GiB). A larger one closes that server connection.
    #[serde(default = "default_max_server_message")]
    pub max_server_message_bytes: usize,
    /// Tenant of users that do not name one.
    #[serde(default = "default_tenant")]
    pub default_tenant: String,
    /// Seconds a client may take to authenticate before it is disconnected.
    #[serde(default = "default_auth_timeout")]
    pub auth_timeout_secs: u64,
    /// Watch the config file, packs and plugin directory and apply changes without restarting.
    #[serde(default = "default_true")]
    pub watch: bool,
    /// Worker threads serving connections (default: half the CPUs, at least one).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Microseconds a worker keeps polling its sockets after the last event before it sleeps
    /// (0: sleep at once). See the gateway's `spin` module.
    #[serde(default = "default_spin_us")]
    pub spin_us: u64,
    /// Poll (`spin_us`) even when the process runs under a cgroup CPU quota. Off by default:
    /// under a quota every polled microsecond is charged to the container and taken from its
    /// requests, so the gateway does not poll there unless this allows it.
    #[serde(default)]
    pub spin_under_quota: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// Refuse clients that do not ask for TLS.
    #[serde(default)]
    pub required: bool,
    /// Over TLS, ask clients for their password in clear (checked against the user's SCRAM
    /// verifier) instead of running SCRAM: for API keys and one-time tokens that a client
    /// cannot run SCRAM with. Never offered on a connection without TLS.
    #[serde(default)]
    pub cleartext_password: bool,
}

/// A gateway user, as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: String,
    #[serde(default)]
    scram: Option<String>,
    #[serde(default)]
    password: Option<String>,
    /// `mysql_native_password` verifier: hex SHA1(SHA1(password)) (MySQL's `*HEX` form accepted).
    #[serde(default)]
    mysql_native: Option<String>,
    /// `caching_sha2_password` verifier: hex SHA256(SHA256(password)).
    #[serde(default)]
    mysql_sha2: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    databases: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    require_tls: bool,
    #[serde(default)]
    allowed_networks: Option<Vec<String>>,
    #[serde(default)]
    tokens: Vec<RawToken>,
}

/// A temporary access token, as the manager's snapshot gives it: never the token itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    id: String,
    sha256: String,
    expires_at: String,
    #[serde(default)]
    max_uses: Option<u64>,
}

/// A temporary access token: usable once or a few times as the user's password in clear,
/// over TLS, until it expires. Uses are counted in the key-value store (cluster-wide with
/// `server.redis`).
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub id: String,
    pub sha256: [u8; 32],
    pub expires_at_ms: u64,
    pub max_uses: Option<u64>,
}

/// A gateway user.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub verifier: ScramVerifier,
    /// What MySQL clients authenticate against; `None`: the user cannot log in over MySQL.
    pub mysql: Option<MysqlVerifiers>,
    pub tenant: String,
    pub roles: Vec<String>,
    /// Databases the user may connect to; `None` means all.
    pub databases: Option<Vec<String>>,
    /// Account expiry, ms since the Unix epoch (checked by the network plugin).
    pub expires_at_ms: Option<u64>,
    /// Only over TLS (checked by the gateway itself, after authentication).
    pub require_tls: bool,
    /// Client networks the user may connect from; `None` means any.
    pub allowed_networks: Option<Vec<ipnet::IpNet>>,
    /// Temporary access tokens (managed mode).
    pub tokens: Vec<AccessToken>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolMode {
    Session,
    Transaction,
}

/// How fast-path function calls (protocol message `F`) are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionCallMode {
    /// Refused with feature_not_supported: the call names a function only by OID.
    #[default]
    Refuse,
    /// Judged as a SQL call of the function by name, and sent when the pack allows it.
    Judge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    name: String,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    sqlite: Option<PathBuf>,
    #[serde(default)]
    protocol: Option<Protocol>,
    #[serde(default)]
    backend: Vec<RawBackend>,
    #[serde(default)]
    server_user: Option<String>,
    #[serde(default)]
    server_password: Option<String>,
    #[serde(default)]
    server_database: Option<String>,
    #[serde(default)]
    tls: Option<TlsMode>,
    #[serde(default)]
    tls_ca: Option<PathBuf>,
    #[serde(default)]
    pool: PoolSettings,
    #[serde(default = "default_true")]
    read_write_split: bool,
    #[serde(default)]
    galera: bool,
    #[serde(default)]
    galera_allow_desynced: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackend {
    host: String,
    port: u16,
    #[serde(default = "default_role")]
    role: BackendRole,
    #[serde(default = "default_weight")]
    weight: u32,
}

/// A user's MySQL verifiers: never the password. Each checks a client's answer to a nonce
/// (the scramble) without the password being known.
#[derive(Clone, PartialEq, Eq)]
pub struct MysqlVerifiers {
    /// SHA1(SHA1(password)), for `mysql_native_password`.
    pub native: Option<[u8; 20]>,
    /// SHA256(SHA256(password)), for `caching_sha2_password`.
    pub sha2: Option<[u8; 32]>,
}

impl MysqlVerifiers {
    /// Both verifiers of `password`.
    pub fn from_password(password: &[u8]) -> Self {
        use sha1::Digest as _;
        let native: [u8; 20] = sha1::Sha1::digest(sha1::Sha1::digest(password)).into();
        let sha2: [u8; 32] = sha2::Sha256::digest(sha2::Sha256::digest(password)).into();
        MysqlVerifiers {
            native: Some(native),
            sha2: Some(sha2),
        }
    }

    /// Parses the hex forms (`mysql_native` may carry MySQL's leading `*`).
    pub fn parse(native: Option<&str>, sha2: Option<&str>) -> Result<Self, String> {
        let native = match native {
            None => None,
            Some(h) => {
                let h = h.strip_prefix('*').unwrap_or(h);
                let mut v = [0u8; 20];
                hex::decode_to_slice(h, &mut v).map_err(
                    |_| "mysql_native: not 40 hex digits (SHA1 of SHA1 of the password)",
                )?;
                Some(v)
            }
        };
        let sha2 = match sha2 {
            None => None,
            Some(h) => {
                let mut v = [0u8; 32];
                hex::decode_to_slice(h, &mut v).map_err(
                    |_| "mysql_sha2: not 64 hex digits (SHA-256 of SHA-256 of the password)",
                )?;
                Some(v)
            }
        };
        Ok(MysqlVerifiers { native, sha2 })
    }

    /// `mysql_native` as written in a config or snapshot (upper-case hex with MySQL's `*`).
    pub fn native_hex(&self) -> Option<String> {
        self.native.map(|v| format!("*{}", hex::encode_upper(v)))
    }

    pub fn sha2_hex(&self) -> Option<String> {
        self.sha2.map(hex::encode)
    }
}

impl std::fmt::Debug for MysqlVerifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlVerifiers")
            .field("native", &self.native.is_some())
            .field("sha2", &self.sha2.is_some())
            .finish()
    }
}

/// The wire protocol of a database's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Postgres,
    Mysql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendRole {
    Primary,
    Replica,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSettings {
    #[serde(default = "default_pool_mode")]
    pub mode: PoolMode,
    /// Server connections per backend.
    #[serde(default = "default_pool_size")]
    pub size: usize,
    /// Connections opened at start and kept open.
    #[serde(default)]
    pub min_idle: usize,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// How long a client waits for a free server connection before it gets an error.
    #[serde(default = "default_queue_timeout")]
    pub queue_timeout_ms: u64,
    /// Idle server connections above `min_idle` are closed after this long.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Server connections are closed (when idle) after this long.
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime_secs: u64,
    /// Statement run on a server connection when a session client leaves it.
    #[serde(default = "default_reset_query")]
    pub reset_query: String,
    /// Seconds between backend health checks.
    #[serde(default = "default_health_interval")]
    pub health_check_secs: u64,
    /// Statements kept prepared on one server connection under transaction pooling; past
    /// it, the least recently prepared is closed on the server (and prepared again if a
    /// client needs it later).
    #[serde(default = "default_max_prepared")]
    pub max_prepared_statements: usize,
    /// What a client's fast-path FunctionCall message gets: `refuse` (the default) answers
    /// feature_not_supported; `judge` judges it as `SELECT schema.function($1, ...)` (the
    /// function's name resolved from its OID once per database) and sends it when allowed.
    #[serde(default)]
    pub function_call: FunctionCallMode,
}

impl Default for PoolSettings {
    fn default() -> Self {
        // serde defaults and these agree: one source for both.
        toml::from_str("").expect("defaults parse")
    }
}

impl PoolSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn queue_timeout(&self) -> Duration {
        Duration::from_millis(self.queue_timeout_ms)
    }
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }
    pub fn max_lifetime(&self) -> Duration {
        Duration::from_secs(self.max_lifetime_secs)
    }
}

/// Where a database's statements run. `Debug` never shows the server password.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// An embedded SQLite file (`:memory:` for a private in-memory database).
    Sqlite(PathBuf),
    /// PostgreSQL servers: at least one primary, any number of replicas.
    Postgres {
        backends: Vec<Backend>,
        /// Identity on the servers.
        user: String,
        password: Option<String>,
        database: String,
        tls: TlsMode,
        tls_ca: Option<PathBuf>,
    },
    /// MySQL or MariaDB servers: at least one primary, any number of replicas.
    Mysql {
        backends: Vec<Backend>,
        user: String,
        password: Option<String>,
        database: String,
        tls: TlsMode,
        tls_ca: Option<PathBuf>,
    },
}

impl Target {
    /// The server password, if any (for change detection without showing it).
    pub fn password(&self) -> Option<&str> {
        match self {
            Target::Sqlite(_) => None,
            Target::Postgres { password, .. } | Target::Mysql { password, .. } => {
                password.as_deref()
            }
        }
    }

    /// The wire protocol of the servers; `None` for the embedded SQLite database (which
    /// clients of either protocol reach).
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            Target::Sqlite(_) => None,
            Target::Postgres { .. } => Some(Protocol::Postgres),
            Target::Mysql { .. } => Some(Protocol::Mysql),
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Target::Postgres {
                backends,
                user,
                password,
                database,
                tls,
                tls_ca,
            } => f
                .debug_struct("Postgres")
                .field("backends", backends)
                .field("user", user)
                .field("password", &password.as_ref().map(|_| "<redacted>"))
                .field("database", database)
                .field("tls", tls)
                .field("tls_ca", tls_ca)
                .finish(),
            Target::Mysql {
                backends,
                user,
                password,
                database,
                tls,
                tls_ca,
            } => f
                .debug_struct("Mysql")
                .field("backends", backends)
                .field("user", user)
                .field("password", &password.as_ref().map(|_| "<redacted>"))
                .field("database", database)
                .field("tls", tls)
                .field("tls_ca", tls_ca)
                .finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub host: String,
    pub port: u16,
    pub role: BackendRole,
    pub weight: u32,
}

/// A database clients can connect to.
#[derive(Debug, Clone)]
pub struct Database {
    pub name: String,
    /// Tenant that owns the database; users' tenants apply when unset.
    pub tenant: Option<String>,
    pub target: Target,
    pub pool: PoolSettings,
    pub read_write_split: bool,
    /// The backends are the nodes of a Galera cluster (MySQL / MariaDB only): a node serves
    /// only while synced, writes go to the first healthy node in the order listed.
    pub galera: Option<Galera>,
}

/// Galera settings of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Galera {
    /// A Donor/Desynced node (`wsrep_local_state` 2) still serves.
    pub allow_desynced: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_server")]
    server: Server,
    #[serde(default, rename = "user")]
    users: Vec<RawUser>,
    #[serde(default, rename = "database")]
    databases: Vec<RawDatabase>,
}

/// A configuration error; the message names the file and the field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

fn default_server() -> Server {
    toml::from_str("").expect("defaults parse")
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 6432))
}
fn default_packs() -> Vec<PathBuf> {
    vec![PathBuf::from("policies/default.toml")]
}
fn default_plugin_dir() -> PathBuf {
    PathBuf::from("target/plugins")
}
fn default_max_startup() -> usize {
    10_000
}
fn default_max_message() -> usize {
    64 << 20
}
fn default_max_server_message() -> usize {
    1 << 30
}
fn default_tenant() -> String {
    "default".into()
}
fn default_auth_timeout() -> u64 {
    15
}
fn default_true() -> bool {
    true
}
/// See the gateway's `spin` module: long enough to cover PostgreSQL answering a short query and a client
/// sending its next one (measured round trips on loopback: 30-100 µs).
fn default_spin_us() -> u64 {
    100
}
/// Above this, polling is no longer "a moment" and only burns CPU.
pub const MAX_SPIN_US: u64 = 100_000;
fn default_role() -> BackendRole {
    BackendRole::Primary
}
fn default_weight() -> u32 {
    1
}
fn default_pool_mode() -> PoolMode {
    PoolMode::Transaction
}
fn default_pool_size() -> usize {
    16
}
fn default_connect_timeout() -> u64 {
    5_000
}
fn default_queue_timeout() -> u64 {
    10_000
}
fn default_idle_timeout() -> u64 {
    600
}
fn default_max_lifetime() -> u64 {
    3_600
}
fn default_reset_query() -> String {
    "DISCARD ALL".into()
}
fn default_health_interval() -> u64 {
    2
}
fn default_max_prepared() -> usize {
    1000
}

impl Config {
    /// Reads, parses and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Reads `path` with a manager snapshot's users and databases appended; the snapshot's
    /// plugins and packs replace `server.plugin_dir` and `server.packs`.
    pub fn load_with(path: &Path, overlay: Option<&Overlay>) -> Result<Config, ConfigError> {
        let Some(o) = overlay else {
            return Self::load(path);
        };
        let mut text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        text.push('\n');
        text.push_str(&o.text);
        let mut c = Self::parse(&text, path)?;
        c.server.plugin_dir = o.plugin_dir.clone();
        c.server.packs = vec![o.packs.clone()];
        Ok(c)
    }

    /// Parses and validates `text`; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let err = |message: String| ConfigError {
            file: file.clone(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| err(toml_message(&e, text)))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut server = raw.server;
        let anchor = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        server.packs = server.packs.iter().map(|p| anchor(p)).collect();
        server.plugin_dir = anchor(&server.plugin_dir);
        server.cache_dir = server.cache_dir.as_deref().map(anchor);
        server.admin_token_file = server.admin_token_file.as_deref().map(anchor);
        if let Some(tls) = &mut server.tls {
            tls.cert = anchor(&tls.cert);
            tls.key = anchor(&tls.key);
        }
        if server.max_startup_bytes < 64 {
            return Err(err(format!(
                "server.max_startup_bytes: {} is too small (at least 64)",
                server.max_startup_bytes
            )));
        }
        if server.spin_us > MAX_SPIN_US {
            return Err(err(format!(
                "server.spin_us: {} is too large (at most {MAX_SPIN_US}, 0 turns polling off)",
                server.spin_us
            )));
        }
        if server.workers == Some(0) {
            return Err(err("server.workers: must be at least 1".into()));
        }
        if server.auth_timeout_secs == 0 {
            return Err(err("server.auth_timeout_secs: must be at least 1".into()));
        }
        check_tenant("server.default_tenant", &server.default_tenant).map_err(&err)?;
        if server.max_message_bytes < 1024 {
            return Err(err(format!(
                "server.max_message_bytes: {} is too small (at least 1024)",
                server.max_message_bytes
            )));
        }
        if server.max_server_message_bytes < 1024 {
            return Err(err(format!(
                "server.max_server_message_bytes: {} is too small (at least 1024)",
                server.max_server_message_bytes
            )));
        }

        let mut users = BTreeMap::new();
        for (i, u) in raw.users.into_iter().enumerate() {
            let at = format!("user[{i}] ({})", u.name);
            if u.name.is_empty() {
                return Err(err(format!("user[{i}].name: must not be empty")));
            }
            let verifier = match (&u.scram, &u.password) {
                (Some(_), Some(_)) => {
                    return Err(err(format!(
                        "{at}: give either `scram` or `password`, not both"
                    )));
                }
                (None, None) => {
                    return Err(err(format!(
                        "{at}: needs `scram` (a SCRAM-SHA-256 verifier) or `password`"
                    )));
                }
                (Some(s), None) => ScramVerifier::parse(s)
                    .map_err(|e| err(format!("{at}.scram: not a SCRAM-SHA-256 verifier: {e}")))?,
                // Development convenience: hashed here, the clear text is dropped with `u`.
                (None, Some(p)) => ScramVerifier::generate_with_iterations(p.as_bytes(), 4096)
                    .map_err(|e| err(format!("{at}.password: {e}")))?,
            };
            let mysql = match (&u.password, &u.mysql_native, &u.mysql_sha2) {
                (Some(p), None, None) => Some(MysqlVerifiers::from_password(p.as_bytes())),
                (Some(_), _, _) => {
                    return Err(err(format!(
                        "{at}: give either `password` or MySQL verifiers (`mysql_native`, `mysql_sha2`), not both"
                    )));
                }
                (None, None, None) => None,
                (None, n, s) => Some(
                    MysqlVerifiers::parse(n.as_deref(), s.as_deref())
                        .map_err(|e| err(format!("{at}.{e}")))?,
                ),
            };
            let expires_at_ms = match &u.expires_at {
                None => None,
                Some(s) => Some(parse_rfc3339_ms(s).ok_or_else(|| {
                    err(format!(
                        "{at}.expires_at: {s:?} is not an RFC 3339 UTC time like 2026-12-31T23:59:59Z"
                    ))
                })?),
            };
            if let Some(t) = &u.tenant {
                check_tenant(&format!("{at}.tenant"), t).map_err(&err)?;
            }
            let allowed_networks = match &u.allowed_networks {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .enumerate()
                        .map(|(i, n)| parse_network(n).ok_or_else(|| {
                            err(format!(
                                "{at}.allowed_networks[{i}]: {n:?} is not an address or CIDR such as 10.0.0.0/8"
                            ))
                        }))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            let mut tokens = Vec::new();
            for (i, t) in u.tokens.iter().enumerate() {
                let at = format!("{at}.tokens[{i}]");
                let mut sha256 = [0u8; 32];
                hex::decode_to_slice(&t.sha256, &mut sha256)
                    .map_err(|_| err(format!("{at}.sha256: not 64 hex digits")))?;
                let expires_at_ms = parse_rfc3339_ms(&t.expires_at).ok_or_else(|| {
                    err(format!(
                        "{at}.expires_at: {:?} is not an RFC 3339 UTC time",
                        t.expires_at
                    ))
                })?;
                tokens.push(AccessToken {
                    id: t.id.clone(),
                    sha256,
                    expires_at_ms,
                    max_uses: t.max_uses,
                });
            }
            let user = User {
                name: u.name.clone(),
                verifier,
                mysql,
                tenant: u.tenant.unwrap_or_else(|| server.default_tenant.clone()),
                roles: u.roles,
                databases: u.databases,
                expires_at_ms,
                require_tls: u.require_tls,
                allowed_networks,
                tokens,
            };
            if users.insert(u.name.clone(), user).is_some() {
                return Err(err(format!("{at}: user {:?} is defined twice", u.name)));
            }
        }

        let mut databases = BTreeMap::new();
        for (i, d) in raw.databases.into_iter().enumerate() {
            let at = format!("database[{i}] ({})", d.name);
            if d.name.is_empty() {
                return Err(err(format!("database[{i}].name: must not be empty")));
            }
            let target = match (&d.sqlite, d.backend.is_empty()) {
                (Some(_), false) => {
                    return Err(err(format!(
                        "{at}: give either `sqlite` or `backend` entries, not both"
                    )));
                }
                (None, true) => {
                    return Err(err(format!(
                        "{at}: needs `sqlite = \"FILE\"` or at least one [[database.backend]]"
                    )));
                }
                (Some(p), true) => {
                    for (field, set) in [
                        ("protocol", d.protocol.is_some()),
                        ("server_user", d.server_user.is_some()),
                        ("server_password", d.server_password.is_some()),
                        ("server_database", d.server_database.is_some()),
                        ("tls", d.tls.is_some()),
                        ("tls_ca", d.tls_ca.is_some()),
                    ] {
                        if set {
                            return Err(err(format!(
                                "{at}.{field}: only applies to server backends, not to `sqlite`"
                            )));
                        }
                    }
                    let p = if p.as_os_str() == ":memory:" {
                        p.clone()
                    } else {
                        anchor(p)
                    };
                    Target::Sqlite(p)
                }
                (None, false) => {
                    let backends: Vec<Backend> = d
                        .backend
                        .iter()
                        .map(|b| Backend {
                            host: b.host.clone(),
                            port: b.port,
                            role: b.role,
                            weight: b.weight,
                        })
                        .collect();
                    let primaries = backends
                        .iter()
                        .filter(|b| b.role == BackendRole::Primary)
                        .count();
                    if primaries != 1 && !d.galera {
                        return Err(err(format!(
                            "{at}.backend: needs exactly one backend with role = \"primary\", found {primaries}"
                        )));
                    }
                    for (j, b) in backends.iter().enumerate() {
                        if b.weight == 0 && b.role == BackendRole::Replica {
                            return Err(err(format!(
                                "{at}.backend[{j}].weight: 0 would never be chosen; remove the replica instead"
                            )));
                        }
                        if b.port == 0 || b.host.is_empty() {
                            return Err(err(format!(
                                "{at}.backend[{j}]: host and a non-zero port are required"
                            )));
                        }
                        if let Some(path) = unix_socket(&b.host, b.port) {
                            // sockaddr_un holds 108 bytes, the terminating NUL included.
                            if path.len() > 107 {
                                return Err(err(format!(
                                    "{at}.backend[{j}].host: the socket path {path} is longer than the 107 bytes a Unix-domain socket address holds"
                                )));
                            }
                            if matches!(d.tls, Some(TlsMode::Require | TlsMode::VerifyFull)) {
                                return Err(err(format!(
                                    "{at}.tls: a Unix-domain socket ({}) carries no TLS; use tls = \"disable\" or a TCP host",
                                    b.host
                                )));
                            }
                        }
                    }
                    let tls = d.tls.unwrap_or(TlsMode::Prefer);
                    if tls == TlsMode::VerifyFull && d.tls_ca.is_none() {
                        return Err(err(format!(
                            "{at}.tls_ca: tls = \"verify-full\" needs the CA certificate file"
                        )));
                    }
                    let database = d.server_database.clone().unwrap_or_else(|| d.name.clone());
                    let tls_ca = d.tls_ca.as_deref().map(anchor);
                    match d.protocol.unwrap_or_default() {
                        Protocol::Postgres => Target::Postgres {
                            backends,
                            user: d.server_user.clone().unwrap_or_else(|| "postgres".into()),
                            password: d.server_password.clone(),
                            database,
                            tls,
                            tls_ca,
                        },
                        Protocol::Mysql => Target::Mysql {
                            backends,
                            user: d.server_user.clone().unwrap_or_else(|| "root".into()),
                            password: d.server_password.clone(),
                            database,
                            tls,
                            tls_ca,
                        },
                    }
                }
            };
            if let Some(t) = &d.tenant {
                check_tenant(&format!("{at}.tenant"), t).map_err(&err)?;
            }
            let pool = d.pool;
            if pool.health_check_secs == 0 {
                return Err(err(format!(
                    "{at}.pool.health_check_secs: must be at least 1"
                )));
            }
            if pool.max_prepared_statements == 0 {
                return Err(err(format!(
                    "{at}.pool.max_prepared_statements: must be at least 1"
                )));
            }
            if pool.size == 0 {
                return Err(err(format!("{at}.pool.size: must be at least 1")));
            }
            if pool.min_idle > pool.size {
                return Err(err(format!(
                    "{at}.pool.min_idle: {} exceeds pool.size {}",
                    pool.min_idle, pool.size
                )));
            }
            if (d.galera || d.galera_allow_desynced) && !matches!(target, Target::Mysql { .. }) {
                return Err(err(format!(
                    "{at}.galera: only applies to protocol = \"mysql\" databases"
                )));
            }
            let db = Database {
                name: d.name.clone(),
                tenant: d.tenant,
                target,
                pool,
                read_write_split: d.read_write_split,
                galera: d.galera.then_some(Galera {
                    allow_desynced: d.galera_allow_desynced,
                }),
            };
            if databases.insert(d.name.clone(), db).is_some() {
                return Err(err(format!("{at}: database {:?} is defined twice", d.name)));
            }
        }
        for u in users.values() {
            for name in u.databases.iter().flatten() {
                if name != "*" && !databases.contains_key(name) {
                    return Err(err(format!(
                        "user ({}).databases: no database named {name:?}",
                        u.name
                    )));
                }
            }
        }

        Ok(Config {
            file: path.to_path_buf(),
            server,
            users,
            databases,
        })
    }
}

impl User {
    /// Whether a client at `addr` may log in as this user.
    pub fn may_connect_from(&self, addr: std::net::IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.allowed_networks
            .as_ref()
            .is_none_or(|nets| nets.iter().any(|n| n.contains(&addr)))
    }

    pub fn may_use(&self, database: &str) -> bool {
        match &self.databases {
            None => true,
            Some(list) => list.iter().any(|d| d == "*" || d == database),
        }
    }
}

/// Tenant names as packs accept them: not empty, no whitespace, at most 128 bytes.
fn check_tenant(field: &str, t: &str) -> Result<(), String> {
    if t.is_empty() || t.len() > 128 || t.chars().any(char::is_whitespace) {
        return Err(format!(
            "{field}: {t:?} is not a tenant name (1 to 128 characters, no whitespace)"
        ));
    }
    Ok(())
}

/// A toml error as one line: what is wrong, where (line and column), and the key path.
fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line} column {col}: {msg}")
        }
        None => msg,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (optionally with fractional seconds) to ms since the epoch.
/// An address (a /32 or /128) or a CIDR network.
fn parse_network(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

pub fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=month_days).contains(&day) {
        return None;
    }
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (time, None),
    };
    let mut t = hms.split(':');
    let (hh, mm, ss): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if t.next().is_some() || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let ms_frac = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let f3: String = f.chars().chain("000".chars()).take(3).collect();
            f3.parse().ok()?
        }
        Some(_) => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs * 1000 + ms_frac).ok()
}

/// The Unix socket path libpq would use for a backend whose host is a directory (PostgreSQL's
/// `/dir/.s.PGSQL.PORT`), or `None` for a TCP host.
/// An error and its causes on one line, `outer: cause: cause` (HTTP and TLS errors keep the
/// reason, e.g. the certificate problem, in their sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

pub fn unix_socket(host: &str, port: u16) -> Option<String> {
    host.starts_with('/')
        .then(|| format!("{}/.s.PGSQL.{port}", host.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Config, ConfigError> {
        Config::parse(t, Path::new("/etc/articdbm/gateway.toml"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:6432".parse().unwrap());
        assert_eq!(
            c.server.packs,
            vec![PathBuf::from("/etc/articdbm/policies/default.toml")]
        );
        assert!(c.users.is_empty() && c.databases.is_empty());
    }

    #[test]
    fn full_config() {
        let c = parse(
            r#"
[server]
listen = "0.0.0.0:5433"
admin_listen = "127.0.0.1:9187"
packs = ["/srv/packs"]

[[user]]
name = "app"
password = "secret"
tenant = "acme"
roles = ["writer"]
expires_at = "2030-01-01T00:00:00Z"

[[database]]
name = "shop"
server_user = "shop_owner"
server_password = "pw"
tls = "disable"
pool = { mode = "session", size = 4, min_idle = 2 }

[[database.backend]]
host = "127.0.0.1"
port = 5432

[[database.backend]]
host = "127.0.0.2"
port = 5432
role = "replica"
weight = 3

[[database]]
name = "local"
sqlite = "data/local.db"
"#,
        )
        .unwrap();
        let u = &c.users["app"];
        assert!(u.verifier.verify_password(b"secret"));
        assert!(!u.verifier.verify_password(b"Secret"));
        assert_eq!(u.tenant, "acme");
        assert_eq!(u.expires_at_ms, Some(1_893_456_000_000));
        let shop = &c.databases["shop"];
        assert_eq!(shop.pool.mode, PoolMode::Session);
        assert_eq!(shop.pool.size, 4);
        assert_eq!(shop.pool.queue_timeout_ms, 10_000);
        let Target::Postgres {
            backends, database, ..
        } = &shop.target
        else {
            panic!()
        };
        assert_eq!(backends.len(), 2);
        assert_eq!(backends[1].weight, 3);
        assert_eq!(database, "shop");
        let Target::Sqlite(p) = &c.databases["local"].target else {
            panic!()
        };
        assert_eq!(p, Path::new("/etc/articdbm/data/local.db"));
    }

    #[test]
    fn errors_name_the_field() {
        for (text, want) in [
            ("[server]\nlisten = 5\n", "line 2 column 10"),
            (
                "[server]\nlisten_addr = \"x\"\n",
                "unknown field `listen_addr`",
            ),
            ("[[user]]\nname = \"a\"\n", "user[0] (a): needs `scram`"),
            (
                "[[user]]\nname = \"a\"\nscram = \"nope\"\n",
                "user[0] (a).scram: not a SCRAM-SHA-256 verifier",
            ),
            (
                "[[user]]\nname = \"a\"\npassword = \"x\"\nexpires_at = \"tomorrow\"\n",
                "user[0] (a).expires_at",
            ),
            (
                "[[database]]\nname = \"d\"\n",
                "database[0] (d): needs `sqlite",
            ),
            (
                "[[database]]\nname = \"d\"\n[[database.backend]]\nhost = \"h\"\nport = 1\nrole = \"replica\"\n",
                "needs exactly one backend with role = \"primary\", found 0",
            ),
            (
                "[[database]]\nname = \"d\"\nsqlite = \"x\"\npool = { size = 0 }\n",
                "database[0] (d).pool.size",
            ),
            (
                "[[database]]\nname = \"d\"\nsqlite = \"x\"\ntls = \"require\"\n",
                "database[0] (d).tls: only applies to server backends",
            ),
            (
                "[[database]]\nname = \"d\"\nsqlite = \"x\"\nprotocol = \"mysql\"\n",
                "database[0] (d).protocol: only applies to server backends",
            ),
            (
                "[[database]]\nname = \"d\"\ngalera = true\n[[database.backend]]\nhost = \"h\"\nport = 1\n",
                "database[0] (d).galera: only applies to protocol = \"mysql\" databases",
            ),
            (
                "[[user]]\nname = \"a\"\nscram = \"x\"\nmysql_native = \"zz\"\n",
                "user[0] (a).scram",
            ),
            (
                "[[user]]\nname = \"a\"\npassword = \"x\"\nmysql_sha2 = \"00\"\n",
                "give either `password` or MySQL verifiers",
            ),
            (
                "[[user]]\nname = \"a\"\npassword = \"x\"\ndatabases = [\"nope\"]\n",
                "no database named \"nope\"",
            ),
            (
                "[[user]]\nname = \"a\"\npassword = \"x\"\ntenant = \"a b\"\n",
                "user[0] (a).tenant: \"a b\" is not a tenant name",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(
                e.starts_with("/etc/articdbm/gateway.toml: "),
                "{text:?} -> {e}"
            );
            assert!(e.contains(want), "{text:?} -> {e}");
        }
    }

    #[test]
    fn spin_settings() {
        let c = parse("").unwrap();
        assert_eq!(c.server.spin_us, 100);
        assert!(
            !c.server.spin_under_quota,
            "no polling under a quota by default"
        );
        let c = parse("[server]\nspin_us = 0\n").unwrap();
        assert_eq!(c.server.spin_us, 0);
        let c = parse("[server]\nspin_us = 200\nspin_under_quota = true\n").unwrap();
        assert_eq!(c.server.spin_us, 200);
        assert!(c.server.spin_under_quota);
        for (text, want) in [
            (
                "[server]\nspin_us = 100001\n",
                "server.spin_us: 100001 is too large",
            ),
            ("[server]\nspin_under_quota = 1\n", "expected a boolean"),
            (
                "[server]\nspin_under_quotas = true\n",
                "unknown field `spin_under_quotas`",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?} -> {e}");
        }
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-12-31T23:59:59.5Z"),
            Some(1_798_761_599_500)
        );
        assert_eq!(parse_rfc3339_ms("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_ms("2026-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_ms("2026-04-31T00:00:00Z"), None);
        assert!(parse_rfc3339_ms("2028-02-29T00:00:00Z").is_some());
        assert_eq!(parse_rfc3339_ms("2026-01-01 00:00:00"), None);
    }
}

/// What `rediss://` trusts and presents beyond the URL: the CA that signs the Redis server's
/// certificate (PEM; absent: the platform's roots), and a client certificate and key (PEM) for
/// a Redis with `tls-auth-clients yes`. A password or ACL user goes in the URL
/// (`rediss://user:password@host:port`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTls {
    #[serde(default)]
    pub ca: Option<std::path::PathBuf>,
    #[serde(default)]
    pub cert: Option<std::path::PathBuf>,
    #[serde(default)]
    pub key: Option<std::path::PathBuf>,
}

impl RedisTls {
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }
}
