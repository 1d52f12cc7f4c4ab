//! No secret in any log line: a whole managed cluster (manager with a bootstrap key, a cluster
//! key and a secret key; a tenant, a user with a password, a database with a backend password,
//! a temporary token, a tenant-admin key; a gateway in managed mode with TLS and an admin token)
//! runs a full flow at `debug` in JSON lines — logins with the password and the token, a wrong
//! password, wrong API keys, queries — and every line the manager and the gateway wrote is
//! searched for every secret of the run.
//!
//! Both run in this test process, so one log subscriber (the binaries' own set-up,
//! `articdbm_config::logging`) sees both; this target holds this one test so that nothing else
//! writes into it.

mod gw_support;
mod mgr_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use articdbm_gateway::config::logging::{LogFormat, init};
use articdbm_manager::Manager;
use articdbm_manager::secrets::KeySource;
use articdbm_tests::PgServer;
use gw_support::*;
use mgr_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BACKEND_USER: &str = "vault_owner";
const BACKEND_PASSWORD: &str = "backend-pw-7f3a9c1e55";
const CLIENT_USER: &str = "ledger";
const CLIENT_PASSWORD: &str = "client-pw-4b8e2d6a91";
const WRONG_PASSWORD: &str = "wrong-pw-0c5d7e3f28";
const WRONG_KEY: &str = "adbm_wrong-key-9a8b7c6d5e4f3a2b1c0d";
const ADMIN_TOKEN: &str = "gateway-admin-token-5e6f7a8b9c";

/// Every log line, as written.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line() {
    let capture = Capture::default();
    let writer = capture.clone();
    init(Some("debug"), "info", LogFormat::Json, move || {
        writer.clone()
    })
    .expect("the only subscriber");

    let pg = tokio::task::spawn_blocking(|| PgServer::start().unwrap())
        .await
        .unwrap();
    pg.create_user(BACKEND_USER, BACKEND_PASSWORD).unwrap();
    pg.create_database("vault", BACKEND_USER).unwrap();
    pg.psql_as(
        "vault",
        BACKEND_USER,
        BACKEND_PASSWORD,
        "CREATE TABLE entries (id int PRIMARY KEY, amount int); INSERT INTO entries VALUES (1, 42);",
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (_, secret_key) = articdbm_manager::secrets::SecretKey::generate();
    let mut o = opts(&dir.path().join("manager"), None, None);
    o.secret_key = KeySource {
        value: Some(secret_key.clone()),
        ..Default::default()
    };
    let m = Manager::start(o).await.unwrap();
    let api = Api::new(m.addr);

    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "books"})))
        .await;
    api.ok(
        "post",
        "/api/v1/tenants/books/users",
        Some(&json!({"name": CLIENT_USER, "password": CLIENT_PASSWORD})),
    )
    .await;
    api.ok(
        "post",
        "/api/v1/tenants/books/databases",
        Some(&json!({"name": "vault", "server_user": BACKEND_USER,
                     "server_password": BACKEND_PASSWORD, "server_database": "vault",
                     "tls": "disable", "pool": {"mode": "transaction", "size": 2},
                     "backend": [{"host": "127.0.0.1", "port": pg.port()}]})),
    )
    .await;
    // The same database again (an apply): unchanged, the password is compared, not logged.
    api.ok(
        "put",
        "/api/v1/tenants/books/databases/vault",
        Some(&json!({"name": "vault", "server_user": BACKEND_USER,
                     "server_password": BACKEND_PASSWORD, "server_database": "vault",
                     "tls": "disable", "pool": {"mode": "transaction", "size": 2},
                     "backend": [{"host": "127.0.0.1", "port": pg.port()}]})),
    )
    .await;
    let tenant_key = api
        .ok(
            "post",
            "/api/v1/keys",
            Some(&json!({"role": "tenant-admin", "tenant": "books"})),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let token = api
        .ok(
            "post",
            "/api/v1/tenants/books/users/ledger/tokens",
            Some(&json!({"max_uses": 3})),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Wrong API keys: logged as failures, never echoed.
    for _ in 0..3 {
        let (s, _) = api
            .call("get", "/api/v1/tenants", Some(WRONG_KEY), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = api
        .call("get", "/api/v1/tenants/books", Some(&tenant_key), None)
        .await;
    assert_eq!(s, StatusCode::OK);

    // The gateway: TLS for the token login (cleartext password over TLS), an admin token.
    articdbm_tests::pki::Pki::new(dir.path(), "ca")
        .and_then(|pki| pki.issue("ca", "gw", "DNS:localhost,IP:127.0.0.1"))
        .expect("gw.crt and gw.key");
    std::fs::write(dir.path().join("admin.token"), format!("{ADMIN_TOKEN}\n")).unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             admin_token_file = \"admin.token\"\ncache_dir = \"{}\"\n\
             tls = {{ cert = \"gw.crt\", key = \"gw.key\", cleartext_password = true }}\n",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("component-cache")
                .display()
        ),
    )
    .unwrap();
    let (gw, mg) = managed_gateway(&config, &dir.path().join("state"), m.addr).await;
    let version = api.version().await;
    poll("the gateway follows", Duration::from_secs(30), || async {
        if mg.version() >= version {
            Ok(())
        } else {
            Err(format!("at {}", mg.version()))
        }
    })
    .await;
    let port = gw.pg_addr().port();
    let login = |password: &'static str, sslmode: &'static str, sql: &'static str| {
        let password = password.to_string();
        async move {
            tokio::task::spawn_blocking(move || {
                psql_conn(
                    &format!(
                        "host=127.0.0.1 port={port} user={CLIENT_USER} dbname=vault \
                         sslmode={sslmode} connect_timeout=10"
                    ),
                    &password,
                    sql,
                )
            })
            .await
            .unwrap()
        }
    };
    // SCRAM without TLS, a statement through the pool to the backend.
    let (ok, out, err) = login(CLIENT_PASSWORD, "disable", "SELECT amount FROM entries").await;
    assert!(ok && out == "42", "{out} {err}");
    // Cleartext password over TLS, and a wrong one.
    let (ok, _, err) = login(CLIENT_PASSWORD, "require", "SELECT 1").await;
    assert!(ok, "{err}");
    let (ok, _, _) = login(WRONG_PASSWORD, "require", "SELECT 1").await;
    assert!(!ok);
    let (ok, _, _) = login(WRONG_PASSWORD, "disable", "SELECT 1").await;
    assert!(!ok);
    // The token, as a password over TLS.
    let t = token.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        psql_conn(
            &format!(
                "host=127.0.0.1 port={port} user={CLIENT_USER} dbname=vault sslmode=require \
                 connect_timeout=10"
            ),
            &t,
            "SELECT amount FROM entries",
        )
    })
    .await
    .unwrap();
    assert!(ok && out == "42", "{out} {err}");
    // The admin endpoint, with and without its token.
    let admin = gw.admin_addr().unwrap();
    let http = reqwest::Client::new();
    let r = http
        .get(format!("http://{admin}/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .get(format!("http://{admin}/metrics"))
        .bearer_auth(WRONG_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The verifiers the manager made: their text is secret too.
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    let config_text = snap["config"].as_str().unwrap().to_string();
    let verifier_field = |name: &str| -> String {
        config_text
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
            })
            .unwrap_or_else(|| panic!("no {name} in the snapshot config: {config_text}"))
    };
    let scram = verifier_field("scram");
    let mysql_native = verifier_field("mysql_native");
    let mysql_sha2 = verifier_field("mysql_sha2");
    // `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`: each key alone is a secret.
    let (_, keys) = scram.rsplit_once('$').unwrap();
    let (stored_key, server_key) = keys.split_once(':').unwrap();

    drop(gw);
    m.stop().await;
    drop(pg);

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 50, "a debug run logs plenty: {}", lines.len());
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{l}");
    }
    let secrets = [
        ("the bootstrap admin key", ADMIN),
        ("the cluster key", CLUSTER),
        ("the secret key", secret_key.as_str()),
        ("the tenant-admin key", tenant_key.as_str()),
        ("a wrong API key", WRONG_KEY),
        ("the user's password", CLIENT_PASSWORD),
        ("a wrong password", WRONG_PASSWORD),
        ("the backend password", BACKEND_PASSWORD),
        ("the temporary token", token.as_str()),
        ("the SCRAM verifier", scram.as_str()),
        ("the SCRAM StoredKey", stored_key),
        ("the SCRAM ServerKey", server_key),
        ("the mysql_native verifier", mysql_native.as_str()),
        ("the mysql_sha2 verifier", mysql_sha2.as_str()),
        ("the gateway admin token", ADMIN_TOKEN),
    ];
    // The flow was logged: both processes, the refused login among it.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("authentication failed") && l.contains(CLIENT_USER)),
        "the wrong password's refusal is logged"
    );
    assert!(lines.iter().any(|l| l.contains("articdbm_manager")));
    // To look at what a run logs: ARTICDBM_TEST_LOG_DUMP=FILE.
    if let Ok(dump) = std::env::var("ARTICDBM_TEST_LOG_DUMP") {
        std::fs::write(dump, &text).unwrap();
    }
    let mut leaks = Vec::new();
    for (what, s) in secrets {
        assert!(s.len() >= 16, "{what} is distinctive");
        for l in lines.iter().filter(|l| l.contains(s)) {
            leaks.push(format!("{what}: {l}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in {} of {} log lines:\n{}",
        leaks.len(),
        lines.len(),
        leaks.join("\n")
    );
    println!(
        "{} log lines ({} KiB) at debug, no secret in any",
        lines.len(),
        text.len() / 1024
    );
}
