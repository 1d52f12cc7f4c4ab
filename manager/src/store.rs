//! The manager's store, through sqlx's `Any` driver: an embedded SQLite file in the data
//! directory by default, PostgreSQL when `DATABASE_URL` names one.
//!
//! The schema is portable on purpose: `TEXT` and `BIGINT` columns only (booleans as 0/1, times
//! as Unix milliseconds), text primary keys, `$n` placeholders. The one dialect difference, the
//! byte-string type of stored components, is filled in per backend when migrating.
//!
//! Every change bumps the snapshot version in the same transaction, so a gateway that saw
//! version N has seen every change up to N.
//!
//! Secret fields of resources (see [`crate::secrets`]) are sealed in [`Store::put`] and opened
//! when read: only this module and `secrets` ever see them sealed.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::secrets::{Keyring, SECRET_KINDS, SecretError};

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Migrations in order; `{bytes}` is the dialect's byte-string type.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE snapshot_version (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
        "INSERT INTO snapshot_version (id, version) VALUES (1, 1)",
        "CREATE TABLE api_keys (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL, \
     tenant TEXT, name TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT)",
        "CREATE TABLE resources (kind TEXT NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL, \
     body TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, \
     PRIMARY KEY (kind, tenant, name))",
        "CREATE TABLE artifacts (sha256 TEXT PRIMARY KEY, bytes {bytes} NOT NULL, created_at BIGINT NOT NULL)",
        "CREATE TABLE plugin_versions (name TEXT NOT NULL, version BIGINT NOT NULL, sha256 TEXT NOT NULL, \
     manifest TEXT NOT NULL, size BIGINT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (name, version))",
        "CREATE TABLE plugins (name TEXT PRIMARY KEY, active_version BIGINT NOT NULL, enabled BIGINT NOT NULL)",
        "CREATE TABLE gateways (id TEXT PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, \
     snapshot_version BIGINT NOT NULL, last_seen BIGINT NOT NULL)",
        "CREATE TABLE audit (id TEXT PRIMARY KEY, at BIGINT NOT NULL, tenant TEXT NOT NULL, actor TEXT NOT NULL, \
     action TEXT NOT NULL, target TEXT NOT NULL, verdict TEXT NOT NULL, detail TEXT NOT NULL)",
        "CREATE INDEX audit_at ON audit (at)",
    ],
    &[
        // Totals per (gateway, run, tenant) as last reported: a resent heartbeat overwrites, never
        // adds, and a gateway restart starts a new run.
        "CREATE TABLE usage (gateway TEXT NOT NULL, run TEXT NOT NULL, tenant TEXT NOT NULL, \
     connections BIGINT NOT NULL, queries BIGINT NOT NULL, denials BIGINT NOT NULL, \
     updated_at BIGINT NOT NULL, PRIMARY KEY (gateway, run, tenant))",
    ],
    &[
        // Threat-intelligence indicators by (feed, kind, value). A removed indicator stays as a
        // tombstone (`removed` 1) so gateways following `seq` learn of the removal; `seq` is
        // unique and only grows (see feeds::store).
        "CREATE TABLE indicators (feed TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, \
     tenant TEXT NOT NULL, id TEXT NOT NULL, confidence BIGINT NOT NULL, valid_from BIGINT, \
     valid_until BIGINT, labels TEXT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, \
     seq BIGINT NOT NULL, removed BIGINT NOT NULL, PRIMARY KEY (feed, kind, value))",
        "CREATE INDEX indicators_seq ON indicators (seq)",
        "CREATE TABLE feed_status (feed TEXT PRIMARY KEY, last_attempt BIGINT, last_success BIGINT, \
     last_error TEXT, indicators BIGINT NOT NULL, unsupported TEXT NOT NULL, cursor TEXT)",
    ],
    &[
        // The rule of an audit event (from its detail), for filters and per-rule counts.
        "ALTER TABLE audit ADD COLUMN rule TEXT NOT NULL DEFAULT ''",
        // Statements and refusals per heartbeat: the increase of a (gateway, run, tenant)'s
        // totals since its previous report, kept two hours for the console's rates.
        "CREATE TABLE usage_samples (at BIGINT NOT NULL, gateway TEXT NOT NULL, tenant TEXT NOT NULL, \
     queries BIGINT NOT NULL, denials BIGINT NOT NULL)",
        "CREATE INDEX usage_samples_at ON usage_samples (at)",
        // Each gateway's latest per-plugin counters (JSON), sent with its heartbeat.
        "CREATE TABLE gateway_plugins (gateway TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    ],
];

/// How long usage samples are kept.
pub const USAGE_SAMPLES_KEPT_MS: i64 = 2 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store: {0}")]
    Other(String),
    #[error("store secret: {0}")]
    Secret(#[from] SecretError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A stored JSON document (tenant, gateway user, database, pack).
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub tenant: String,
    pub name: String,
    pub body: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: String,
    pub role: String,
    pub tenant: Option<String>,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct PluginVersion {
    pub name: String,
    pub version: i64,
    pub sha256: String,
    pub manifest: serde_json::Value,
    pub size: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct PluginState {
    pub name: String,
    pub active_version: i64,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct GatewayRow {
    pub id: String,
    pub name: String,
    pub version: String,
    pub snapshot_version: i64,
    pub last_seen: i64,
}

/// The audit event, as gateways send it.
pub use articdbm_config::audit::AuditEvent;

/// Filters of an audit query.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub tenant: Option<String>,
    pub actor: Option<String>,
    pub verdict: Option<String>,
    /// The rule of the hit (`detail.rule`), e.g. `sqli.tautology`.
    pub rule: Option<String>,
    /// `connect`, `query`, or a manager action such as `pack.put`.
    pub action: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Return events strictly older than this `(at, id)` cursor.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub backend: Backend,
    /// Seals and opens the secret fields of resources.
    secrets: Arc<Keyring>,
}

/// A stored row as it is, secrets sealed.
fn sealed_resource(r: &AnyRow) -> Result<Resource> {
    let body: String = r.try_get("body")?;
    Ok(Resource {
        kind: r.try_get("kind")?,
        tenant: r.try_get("tenant")?,
        name: r.try_get("name")?,
        body: serde_json::from_str(&body).map_err(|e| StoreError::Other(e.to_string()))?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// What [`Store::reseal_secrets`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    /// Rows whose secrets changed.
    pub rows: usize,
    /// Secret fields sealed again (from clear, from an old key, or all of them on rotation).
    pub fields: usize,
}

fn plugin_version(r: &AnyRow) -> Result<PluginVersion> {
    let manifest: String = r.try_get("manifest")?;
    Ok(PluginVersion {
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        sha256: r.try_get("sha256")?,
        manifest: serde_json::from_str(&manifest).map_err(|e| StoreError::Other(e.to_string()))?,
        size: r.try_get("size")?,
        created_at: r.try_get("created_at")?,
    })
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `url`; `secrets` seals and opens
    /// the secret fields of resources.
    pub async fn open(url: &str, secrets: Arc<Keyring>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Other(format!(
                "unsupported store URL '{}': use sqlite:PATH or postgres://...",
                redact(url)
            )));
        };
        let mut opts = AnyPoolOptions::new().max_connections(8);
        if backend == Backend::Sqlite {
            // One writer at a time; SQLite serialises writes anyway and this avoids SQLITE_BUSY.
            opts = opts.max_connections(1);
        }
        let pool = opts.connect(url).await?;
        let store = Store {
            pool,
            backend,
            secrets,
        };
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&store.pool)
                .await?;
        }
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
            .execute(&self.pool)
            .await?;
        let done: i64 = sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let bytes = match self.backend {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        };
        for (i, steps) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            let mut tx = self.pool.begin().await?;
            for s in *steps {
                sqlx::query(&s.replace("{bytes}", bytes))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version = i + 1, "store migrated");
        }
        Ok(())
    }

    /// The id of the key that seals new secrets.
    pub fn secret_key_id(&self) -> &str {
        self.secrets.current_id()
    }

    /// Seals again, in one transaction, the secret fields of every resource that needs it for
    /// `target`: fields in clear (rows written by a version before secrets were sealed), fields
    /// under an older key, or, with `all` (key rotation), every field. Values are opened with
    /// this store's keys; one that does not open fails the whole pass, naming the row.
    /// The snapshot version does not change: gateways see the same values.
    pub async fn reseal_secrets(&self, target: &Keyring, all: bool) -> Result<Resealed> {
        let mut tx = self.pool.begin().await?;
        let mut done = Resealed::default();
        for kind in SECRET_KINDS {
            let rows = sqlx::query(
                "SELECT kind, tenant, name, body, created_at, updated_at FROM resources WHERE kind = $1",
            )
            .bind(*kind)
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let before: String = row.try_get("body")?;
                let mut r = sealed_resource(row)?;
                let n = self.secrets.reseal_body(
                    target,
                    &r.kind,
                    &r.tenant,
                    &r.name,
                    &mut r.body,
                    all,
                )?;
                if n == 0 {
                    continue;
                }
                // Compared with the body read, so a row changed meanwhile (another replica) is
                // never overwritten with an older body.
                let updated = sqlx::query(
                    "UPDATE resources SET body = $1 WHERE kind = $2 AND tenant = $3 AND name = $4 AND body = $5",
                )
                .bind(r.body.to_string())
                .bind(&r.kind)
                .bind(&r.tenant)
                .bind(&r.name)
                .bind(&before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 1 {
                    done.rows += 1;
                    done.fields += n;
                }
            }
        }
        tx.commit().await?;
        Ok(done)
    }

    /// A stored row with its secrets opened.
    fn resource(&self, r: &AnyRow) -> Result<Resource> {
        let mut res = sealed_resource(r)?;
        self.secrets
            .open_body(&res.kind, &res.tenant, &res.name, &mut res.body)?;
        Ok(res)
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // ---- snapshot version ----

    pub async fn snapshot_version(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT version FROM snapshot_version WHERE id = 1")
                .fetch_one(&self.pool)
                .await?
                .try_get("version")?,
        )
    }

    pub(crate) async fn bump(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<i64> {
        sqlx::query("UPDATE snapshot_version SET version = version + 1 WHERE id = 1")
            .execute(&mut **tx)
            .await?;
        Ok(
            sqlx::query("SELECT version FROM snapshot_version WHERE id = 1")
                .fetch_one(&mut **tx)
                .await?
                .try_get("version")?,
        )
    }

    // ---- API keys ----

    pub async fn key_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM api_keys")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    pub async fn insert_key(&self, row: &ApiKeyRow, hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, hash, role, tenant, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.id)
        .bind(hash)
        .bind(&row.role)
        .bind(row.tenant.clone())
        .bind(&row.name)
        .bind(row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn key_row(r: &AnyRow) -> Result<ApiKeyRow> {
        Ok(ApiKeyRow {
            id: r.try_get("id")?,
            role: r.try_get("role")?,
            tenant: r.try_get("tenant")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }

    /// The live (not revoked) key with this hash.
    pub async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>> {
        let r = sqlx::query(
            "SELECT id, role, tenant, name, created_at, revoked_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(Self::key_row).transpose()
    }

    pub async fn keys(&self) -> Result<Vec<ApiKeyRow>> {
        let rows = sqlx::query(
            "SELECT id, role, tenant, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::key_row).collect()
    }

    /// Revokes a key; false when no live key has this id.
    pub async fn revoke_key(&self, id: &str) -> Result<bool> {
        let r =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now_ms())
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() > 0)
    }

    // ---- resources ----

    pub async fn get(&self, kind: &str, tenant: &str, name: &str) -> Result<Option<Resource>> {
        let r = sqlx::query(
            "SELECT kind, tenant, name, body, created_at, updated_at FROM resources WHERE kind = $1 AND tenant = $2 AND name = $3",
        )
        .bind(kind)
        .bind(tenant)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(|r| self.resource(r)).transpose()
    }

    /// Resources of a kind, of one tenant or (None) of all.
    pub async fn list(&self, kind: &str, tenant: Option<&str>) -> Result<Vec<Resource>> {
        let rows = match tenant {
            Some(t) => {
                sqlx::query(
                    "SELECT kind, tenant, name, body, created_at, updated_at FROM resources WHERE kind = $1 AND tenant = $2 ORDER BY tenant, name",
                )
                .bind(kind)
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT kind, tenant, name, body, created_at, updated_at FROM resources WHERE kind = $1 ORDER BY tenant, name",
                )
                .bind(kind)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(|r| self.resource(r)).collect()
    }

    /// Inserts or replaces a resource, its secret fields sealed; returns (created, new snapshot
    /// version).
    pub async fn put(
        &self,
        kind: &str,
        tenant: &str,
        name: &str,
        body: &serde_json::Value,
    ) -> Result<(bool, i64)> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let current: Option<String> =
            sqlx::query("SELECT body FROM resources WHERE kind = $1 AND tenant = $2 AND name = $3")
                .bind(kind)
                .bind(tenant)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("body"))
                .transpose()?;
        let mut body = body.clone();
        let stored: Option<serde_json::Value> = current
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok());
        self.secrets
            .seal_body(kind, tenant, name, &mut body, stored.as_ref())?;
        let text = body.to_string();
        if current.as_deref() == Some(text.as_str()) {
            // Unchanged: no new snapshot version (applying the same thing twice is a no-op).
            let v = sqlx::query("SELECT version FROM snapshot_version WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?
                .try_get("version")?;
            return Ok((false, v));
        }
        let updated = sqlx::query(
            "UPDATE resources SET body = $1, updated_at = $2 WHERE kind = $3 AND tenant = $4 AND name = $5",
        )
        .bind(&text)
        .bind(now)
        .bind(kind)
        .bind(tenant)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO resources (kind, tenant, name, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(kind)
            .bind(tenant)
            .bind(name)
            .bind(&text)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let v = Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok((updated == 0, v))
    }

    /// Deletes a resource (and, for a tenant, everything it owns); None when absent.
    pub async fn delete(&self, kind: &str, tenant: &str, name: &str) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM resources WHERE kind = $1 AND tenant = $2 AND name = $3")
            .bind(kind)
            .bind(tenant)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        if kind == "tenant" {
            sqlx::query("DELETE FROM resources WHERE tenant = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_keys SET revoked_at = $1 WHERE tenant = $2 AND revoked_at IS NULL",
            )
            .bind(now_ms())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        let v = Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(Some(v))
    }

    // ---- plugins ----

    pub async fn artifact(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let r = sqlx::query("SELECT bytes FROM artifacts WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| r.try_get::<Vec<u8>, _>("bytes")).transpose()?)
    }

    /// Registers a new version (content already validated); it becomes the active one and the
    /// plugin is enabled. Returns the version number and the snapshot version.
    pub async fn add_plugin_version(
        &self,
        name: &str,
        sha256: &str,
        bytes: &[u8],
        manifest: &serde_json::Value,
    ) -> Result<(i64, i64)> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let have: Option<i64> = sqlx::query("SELECT 1 AS one FROM artifacts WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("one"))
            .transpose()?;
        if have.is_none() {
            sqlx::query("INSERT INTO artifacts (sha256, bytes, created_at) VALUES ($1, $2, $3)")
                .bind(sha256)
                .bind(bytes.to_vec())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let last: Option<i64> =
            sqlx::query("SELECT MAX(version) AS v FROM plugin_versions WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?
                .try_get("v")?;
        let version = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO plugin_versions (name, version, sha256, manifest, size, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(name)
        .bind(version)
        .bind(sha256)
        .bind(manifest.to_string())
        .bind(bytes.len() as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query("UPDATE plugins SET active_version = $1, enabled = 1 WHERE name = $2")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            sqlx::query("INSERT INTO plugins (name, active_version, enabled) VALUES ($1, $2, 1)")
                .bind(name)
                .bind(version)
                .execute(&mut *tx)
                .await?;
        }
        let v = Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok((version, v))
    }

    pub async fn plugin_states(&self) -> Result<Vec<PluginState>> {
        let rows = sqlx::query("SELECT name, active_version, enabled FROM plugins ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PluginState {
                    name: r.try_get("name")?,
                    active_version: r.try_get("active_version")?,
                    enabled: r.try_get::<i64, _>("enabled")? != 0,
                })
            })
            .collect()
    }

    pub async fn plugin_versions(&self, name: &str) -> Result<Vec<PluginVersion>> {
        let rows = sqlx::query(
            "SELECT name, version, sha256, manifest, size, created_at FROM plugin_versions WHERE name = $1 ORDER BY version",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(plugin_version).collect()
    }

    /// The active version of every enabled plugin.
    pub async fn active_plugins(&self) -> Result<Vec<PluginVersion>> {
        let rows = sqlx::query(
            "SELECT v.name, v.version, v.sha256, v.manifest, v.size, v.created_at FROM plugin_versions v \
             JOIN plugins p ON p.name = v.name AND p.active_version = v.version WHERE p.enabled = 1 ORDER BY v.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(plugin_version).collect()
    }

    /// Sets a plugin's active version and/or enabled flag; None when the plugin or version
    /// does not exist.
    pub async fn set_plugin(
        &self,
        name: &str,
        version: Option<i64>,
        enabled: Option<bool>,
    ) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        if let Some(v) = version {
            let exists =
                sqlx::query("SELECT version FROM plugin_versions WHERE name = $1 AND version = $2")
                    .bind(name)
                    .bind(v)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
            if !exists {
                return Ok(None);
            }
            sqlx::query("UPDATE plugins SET active_version = $1 WHERE name = $2")
                .bind(v)
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(e) = enabled {
            let n = sqlx::query("UPDATE plugins SET enabled = $1 WHERE name = $2")
                .bind(i64::from(e))
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(None);
            }
        }
        let v = Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(Some(v))
    }

    // ---- gateways ----

    pub async fn heartbeat(&self, g: &GatewayRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE gateways SET name = $1, version = $2, snapshot_version = $3, last_seen = $4 WHERE id = $5",
        )
        .bind(&g.name)
        .bind(&g.version)
        .bind(g.snapshot_version)
        .bind(g.last_seen)
        .bind(&g.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            sqlx::query(
                "INSERT INTO gateways (id, name, version, snapshot_version, last_seen) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&g.id)
            .bind(&g.name)
            .bind(&g.version)
            .bind(g.snapshot_version)
            .bind(g.last_seen)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a gateway run's usage totals (overwriting that run's previous report).
    pub async fn report_usage(
        &self,
        gateway: &str,
        run: &str,
        totals: &[(String, [i64; 3])],
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for (tenant, [c, q, d]) in totals {
            let before = sqlx::query(
                "SELECT queries, denials FROM usage WHERE gateway = $1 AND run = $2 AND tenant = $3",
            )
            .bind(gateway)
            .bind(run)
            .bind(tenant)
            .fetch_optional(&mut *tx)
            .await?;
            let (q0, d0) = match &before {
                Some(r) => (
                    r.try_get::<i64, _>("queries")?,
                    r.try_get::<i64, _>("denials")?,
                ),
                None => (0, 0),
            };
            // Totals only grow within a run; a smaller one (never sent by a gateway) adds nothing.
            let (dq, dd) = ((q - q0).max(0), (d - d0).max(0));
            if dq > 0 || dd > 0 {
                sqlx::query(
                    "INSERT INTO usage_samples (at, gateway, tenant, queries, denials) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(now)
                .bind(gateway)
                .bind(tenant)
                .bind(dq)
                .bind(dd)
                .execute(&mut *tx)
                .await?;
            }
            let n = sqlx::query(
                "UPDATE usage SET connections = $1, queries = $2, denials = $3, updated_at = $4 \
                 WHERE gateway = $5 AND run = $6 AND tenant = $7",
            )
            .bind(*c)
            .bind(*q)
            .bind(*d)
            .bind(now)
            .bind(gateway)
            .bind(run)
            .bind(tenant)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                sqlx::query(
                    "INSERT INTO usage (gateway, run, tenant, connections, queries, denials, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(gateway)
                .bind(run)
                .bind(tenant)
                .bind(*c)
                .bind(*q)
                .bind(*d)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Statements and refusals reported since `since` (ms), as `(at, queries, denials)` per
    /// heartbeat, oldest first; one tenant's or everyone's. Drops samples older than
    /// [`USAGE_SAMPLES_KEPT_MS`] on the way.
    pub async fn usage_samples(
        &self,
        since: i64,
        tenant: Option<&str>,
    ) -> Result<Vec<(i64, i64, i64)>> {
        sqlx::query("DELETE FROM usage_samples WHERE at < $1")
            .bind(now_ms() - USAGE_SAMPLES_KEPT_MS)
            .execute(&self.pool)
            .await?;
        let rows = match tenant {
            Some(t) => {
                sqlx::query(
                    "SELECT at, queries, denials FROM usage_samples WHERE at >= $1 AND tenant = $2 ORDER BY at",
                )
                .bind(since)
                .bind(t)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT at, queries, denials FROM usage_samples WHERE at >= $1 ORDER BY at",
                )
                .bind(since)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("at")?,
                    r.try_get("queries")?,
                    r.try_get("denials")?,
                ))
            })
            .collect()
    }

    /// Refusals (`deny` and `would-deny` events) since `since` per rule, most first (at most 50).
    pub async fn denials_by_rule(
        &self,
        since: i64,
        tenant: Option<&str>,
    ) -> Result<Vec<(String, i64)>> {
        let mut sql = String::from(
            "SELECT rule, COUNT(*) AS n FROM audit WHERE at >= $1 AND rule <> '' \
             AND verdict IN ('deny', 'would-deny')",
        );
        if tenant.is_some() {
            sql += " AND tenant = $2";
        }
        sql += " GROUP BY rule ORDER BY n DESC, rule LIMIT 50";
        let mut q = sqlx::query(&sql).bind(since);
        if let Some(t) = tenant {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("rule")?, r.try_get("n")?)))
            .collect()
    }

    /// Keeps a gateway's latest per-plugin counters.
    pub async fn set_gateway_plugins(&self, gateway: &str, body: &serde_json::Value) -> Result<()> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM gateway_plugins WHERE gateway = $1")
            .bind(gateway)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO gateway_plugins (gateway, body, updated_at) VALUES ($1, $2, $3)")
            .bind(gateway)
            .bind(body.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The per-plugin counters of gateways that reported since `since` (ms).
    pub async fn gateway_plugins(&self, since: i64) -> Result<Vec<serde_json::Value>> {
        let rows = sqlx::query("SELECT body FROM gateway_plugins WHERE updated_at >= $1")
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let b: String = r.try_get("body")?;
                serde_json::from_str(&b).map_err(|e| StoreError::Other(e.to_string()))
            })
            .collect()
    }

    /// A tenant's usage over every gateway and run: (connections, queries, denials).
    pub async fn usage(&self, tenant: &str) -> Result<[i64; 3]> {
        let r = sqlx::query(
            "SELECT COALESCE(SUM(connections), 0) AS c, COALESCE(SUM(queries), 0) AS q, \
             COALESCE(SUM(denials), 0) AS d FROM usage WHERE tenant = $1",
        )
        .bind(tenant)
        .fetch_one(&self.pool)
        .await?;
        // SUM is numeric on PostgreSQL and integer on SQLite: read either.
        let get = |c: &str| -> Result<i64> {
            r.try_get::<i64, _>(c)
                .or_else(|_| r.try_get::<f64, _>(c).map(|f| f as i64))
                .or_else(|_| r.try_get::<String, _>(c).map(|s| s.parse().unwrap_or(0)))
                .map_err(StoreError::from)
        };
        Ok([get("c")?, get("q")?, get("d")?])
    }

    pub async fn gateways(&self) -> Result<Vec<GatewayRow>> {
        let rows = sqlx::query(
            "SELECT id, name, version, snapshot_version, last_seen FROM gateways ORDER BY name, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GatewayRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    version: r.try_get("version")?,
                    snapshot_version: r.try_get("snapshot_version")?,
                    last_seen: r.try_get("last_seen")?,
                })
            })
            .collect()
    }

    // ---- audit ----

    /// Stores events; an id seen before is skipped (a resend never duplicates). Returns how
    /// many were new.
    pub async fn insert_audit(&self, events: &[AuditEvent]) -> Result<u64> {
        Ok(self
            .insert_audit_fresh(events)
            .await?
            .iter()
            .filter(|n| **n)
            .count() as u64)
    }

    /// Stores events as [`Store::insert_audit`] does; says for each whether it was new.
    pub async fn insert_audit_fresh(&self, events: &[AuditEvent]) -> Result<Vec<bool>> {
        let mut tx = self.pool.begin().await?;
        let mut new = Vec::with_capacity(events.len());
        for e in events {
            let n = sqlx::query(
                "INSERT INTO audit (id, at, tenant, actor, action, target, verdict, detail, rule) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&e.id)
            .bind(e.at)
            .bind(&e.tenant)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.verdict)
            .bind(e.detail.to_string())
            .bind(e.detail["rule"].as_str().unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            new.push(n > 0);
        }
        tx.commit().await?;
        Ok(new)
    }

    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
        enum Arg {
            Text(String),
            Int(i64),
        }
        let mut sql = String::from(
            "SELECT id, at, tenant, actor, action, target, verdict, detail FROM audit WHERE 1 = 1",
        );
        let mut args: Vec<Arg> = Vec::new();
        let mut push = |sql: &mut String, clause: &str, a: Arg| {
            args.push(a);
            *sql += &clause.replace('?', &format!("${}", args.len()));
        };
        if let Some(t) = &f.tenant {
            push(&mut sql, " AND tenant = ?", Arg::Text(t.clone()));
        }
        if let Some(a) = &f.actor {
            push(&mut sql, " AND actor = ?", Arg::Text(a.clone()));
        }
        if let Some(v) = &f.verdict {
            push(&mut sql, " AND verdict = ?", Arg::Text(v.clone()));
        }
        if let Some(r) = &f.rule {
            push(&mut sql, " AND rule = ?", Arg::Text(r.clone()));
        }
        if let Some(a) = &f.action {
            push(&mut sql, " AND action = ?", Arg::Text(a.clone()));
        }
        if let Some(s) = f.since {
            push(&mut sql, " AND at >= ?", Arg::Int(s));
        }
        if let Some(u) = f.until {
            push(&mut sql, " AND at < ?", Arg::Int(u));
        }
        if let Some((at, id)) = &f.before {
            push(&mut sql, " AND (at < ?", Arg::Int(*at));
            push(&mut sql, " OR (at = ?", Arg::Int(*at));
            push(&mut sql, " AND id < ?))", Arg::Text(id.clone()));
        }
        push(
            &mut sql,
            " ORDER BY at DESC, id DESC LIMIT ?",
            Arg::Int(f.limit),
        );
        let mut q = sqlx::query(&sql);
        for a in args {
            q = match a {
                Arg::Text(t) => q.bind(t),
                Arg::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let detail: String = r.try_get("detail")?;
                Ok(AuditEvent {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    tenant: r.try_get("tenant")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    verdict: r.try_get("verdict")?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}

/// A store URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
