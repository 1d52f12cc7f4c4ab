//! Shared by the manager end-to-end targets (manager, threat): an in-process manager with the
//! test keys, a client for its API, and managed gateways following it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use articdbm_gateway::managed::{Managed, ManagedOptions};
use articdbm_gateway::pg::Gateway;
use articdbm_manager::ServeOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::gw_support::{APP_PASSWORD, APP_USER, OWNER, OWNER_PASSWORD};

use crate::gw_support::root;

pub const ADMIN: &str = "admin-key-for-tests-0123456789";
pub const CLUSTER: &str = "cluster-key-for-tests-0123456789";
/// The secret key of managers on a shared (PostgreSQL) store: replicas need the same one.
pub const SECRET_KEY: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWE=";

pub fn opts(
    data_dir: &Path,
    database_url: Option<String>,
    listen: Option<SocketAddr>,
) -> ServeOptions {
    let database_url_is_shared = database_url.is_some();
    ServeOptions {
        listen: listen.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()),
        data_dir: data_dir.to_path_buf(),
        database_url,
        bootstrap_key: Some(ADMIN.into()),
        cluster_key: Some(CLUSTER.into()),
        seed_plugins: Some(articdbm_plugin_artifacts::PLUGIN_DIR.into()),
        seed_packs: vec![root().join("policies/default.toml")],
        redis: None,
        redis_tls: Default::default(),
        tls: None,
        allow_plaintext_secrets: false,
        // An embedded store makes its own key in the data directory; replicas sharing a
        // PostgreSQL store are given one.
        secret_key: articdbm_manager::secrets::KeySource {
            value: database_url_is_shared.then(|| SECRET_KEY.to_string()),
            ..Default::default()
        },
    }
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Api {
        Api {
            base: format!("http://{addr}"),
            // A fresh connection per request: the manager closes a connection whose request
            // body it refused unread, and a POST on such a pooled connection would fail in
            // the client, not in the manager.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    /// The API at `base` (e.g. `https://127.0.0.1:PORT`) through `http`.
    pub fn with_client(base: String, http: reqwest::Client) -> Api {
        Api { base, http }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let mut r = self.http.request(m, format!("{}{path}", self.base));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await.expect("manager answers");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (s, v) = self.call(method, path, Some(ADMIN), body).await;
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        v
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = self
            .http
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("manager answers");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn upload(
        &self,
        key: &str,
        manifest: &[u8],
        component: Vec<u8>,
    ) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .part(
                "manifest",
                reqwest::multipart::Part::bytes(manifest.to_vec()),
            )
            .part("component", reqwest::multipart::Part::bytes(component));
        let resp = self
            .http
            .post(format!("{}/api/v1/plugins", self.base))
            .bearer_auth(key)
            .multipart(form)
            .send()
            .await
            .expect("manager answers");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn version(&self) -> i64 {
        self.ok("get", "/healthz", None).await["snapshot_version"]
            .as_i64()
            .unwrap()
    }
}

pub fn gateway_config(dir: &Path) -> PathBuf {
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ncache_dir = \"{}\"\n",
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("component-cache")
                .display()
        ),
    )
    .unwrap();
    path
}

pub async fn managed_gateway(
    config: &Path,
    state: &Path,
    manager: SocketAddr,
) -> (Gateway, Arc<Managed>) {
    articdbm_gateway::managed::start(
        config,
        ManagedOptions {
            url: format!("http://{manager}"),
            cluster_key: Some(CLUSTER.into()),
            state_dir: state.to_path_buf(),
            name: None,
            tls: Default::default(),
        },
    )
    .await
    .expect("managed gateway starts")
}

/// Tenant `shop` with the app user and the `shop` database of `create_shop` on `pg_port`,
/// pooled in transaction mode.
pub async fn create_shop_tenant(api: &Api, pg_port: u16, pool_size: u32) {
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "shop"})))
        .await;
    api.ok(
        "post",
        "/api/v1/tenants/shop/users",
        Some(&json!({"name": APP_USER, "password": APP_PASSWORD})),
    )
    .await;
    api.ok(
        "post",
        "/api/v1/tenants/shop/databases",
        Some(
            &json!({"name": "shop", "server_user": OWNER, "server_password": OWNER_PASSWORD,
                     "server_database": "shop", "tls": "disable",
                     "pool": {"mode": "transaction", "size": pool_size},
                     "backend": [{"host": "127.0.0.1", "port": pg_port}]}),
        ),
    )
    .await;
}

/// A PostgreSQL server with an empty database `manager`, and its URL for `--database-url`.
pub async fn postgres_store() -> (articdbm_tests::PgServer, String) {
    let pg = tokio::task::spawn_blocking(|| articdbm_tests::PgServer::start().unwrap())
        .await
        .unwrap();
    pg.psql("CREATE DATABASE manager").unwrap();
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/manager",
        pg.superuser(),
        pg.password(),
        pg.port()
    );
    (pg, url)
}
