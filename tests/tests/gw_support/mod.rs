//! Shared by the gateway end-to-end targets (pg_tls, pg_python, pg_routing, pg_chaos): a
//! PostgreSQL `shop` database, a gateway config written to a temporary file and started
//! in-process with the shipped default pack, tokio-postgres and psql clients, the admin
//! endpoints, and polling with deadlines.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use articdbm_gateway::config::Config;
use articdbm_gateway::pg::Gateway;
use articdbm_tests::PgServer;
use tokio_postgres::{Client, NoTls};

pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "app-secret";
pub const OWNER: &str = "shop_owner";
pub const OWNER_PASSWORD: &str = "owner-pw";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `shop` database owned by `shop_owner`, with `items` (100 rows).
pub fn create_shop(pg: &PgServer) {
    pg.create_user(OWNER, OWNER_PASSWORD).unwrap();
    pg.create_database("shop", OWNER).unwrap();
    pg.psql_in("shop", "GRANT CREATE ON SCHEMA public TO shop_owner")
        .unwrap();
    pg.psql_as(
        "shop",
        OWNER,
        OWNER_PASSWORD,
        "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric);
         INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 100) g;",
    )
    .unwrap();
}

/// One `[[database.backend]]`.
pub struct Backend {
    pub port: u16,
    pub host: &'static str,
    pub role: &'static str,
    pub weight: u32,
}

impl Backend {
    pub fn primary(port: u16) -> Backend {
        Backend {
            port,
            host: "127.0.0.1",
            role: "primary",
            weight: 1,
        }
    }

    pub fn replica(port: u16, weight: u32) -> Backend {
        Backend {
            port,
            host: "127.0.0.1",
            role: "replica",
            weight,
        }
    }
}

/// The `[[database]]` named `name` reaching the servers as shop_owner: `pool` is the inline
/// table, `extra` more lines of the database table (`tls = ...`).
pub fn database(name: &str, pool: &str, extra: &str, backends: &[Backend]) -> String {
    let mut s = format!(
        "\n[[database]]\nname = \"{name}\"\nserver_user = \"{OWNER}\"\n\
         server_password = \"{OWNER_PASSWORD}\"\nserver_database = \"shop\"\npool = {pool}\n{extra}\n"
    );
    for b in backends {
        s.push_str(&format!(
            "\n[[database.backend]]\nhost = \"{}\"\nport = {}\nrole = \"{}\"\nweight = {}\n",
            b.host, b.port, b.role, b.weight
        ));
    }
    s
}

/// A gateway on a free port with `server_extra` in `[server]` (inline tables only) and the
/// user `app`, then `databases` (from [`database`]).
pub async fn start_gateway(server_extra: &str, databases: &str) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(server_extra, databases);
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(&path).unwrap_or_else(|e| panic!("config parses: {e}\n{text}"));
    let gw = Gateway::start(config).await.expect("gateway starts");
    (gw, dir)
}

pub fn config_text(server_extra: &str, databases: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
packs = ["{packs}"]
plugin_dir = "{plugins}"
cache_dir = "{cache}"
watch = false
{server_extra}

[[user]]
name = "{APP_USER}"
password = "{APP_PASSWORD}"
{databases}
"#,
        packs = root().join("policies/default.toml").display(),
        plugins = articdbm_plugin_artifacts::PLUGIN_DIR,
        cache = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("component-cache")
            .display(),
    )
}

/// The libpq connection string of the gateway for `app` (no TLS).
pub fn gw_connstr(gw: &Gateway, db: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={APP_USER} password={APP_PASSWORD} dbname={db} \
         sslmode=disable connect_timeout=10",
        gw.pg_addr().port()
    )
}

/// tokio-postgres to the gateway as `app`, its connection driven by a spawned task.
pub async fn connect(gw: &Gateway, db: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) = tokio::time::timeout(
        Duration::from_secs(15),
        tokio_postgres::connect(&gw_connstr(gw, db), NoTls),
    )
    .await
    .expect("connecting to the gateway does not hang")?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// The first column of the first row of a simple query, as text.
pub async fn simple_value(c: &Client, sql: &str) -> Result<Option<String>, tokio_postgres::Error> {
    for m in c.simple_query(sql).await? {
        if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
            return Ok(r.get(0).map(str::to_string));
        }
    }
    Ok(None)
}

/// An error in one line: severity, SQLSTATE and message for server errors.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} {}: {}", d.severity(), d.code().code(), d.message()),
        None => format!("{e:?}"),
    }
}

/// `GET path` on the admin listener: the whole HTTP response.
pub async fn http_get(gw: &Gateway, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let admin = gw.admin_addr().expect("admin listener");
    let mut t = tokio::net::TcpStream::connect(admin).await.unwrap();
    t.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut s = String::new();
    tokio::time::timeout(Duration::from_secs(10), t.read_to_string(&mut s))
        .await
        .expect("admin endpoint answers")
        .unwrap();
    s
}

/// The value of one metric sample line (`name{labels} value`), if present.
pub fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(name_and_labels)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Calls `f` until it returns `Some`, every 50 ms, failing with `what` and the last value
/// seen once `timeout` has passed.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(last) => {
                if Instant::now() >= deadline {
                    panic!("{what}: not within {timeout:?}; last: {last}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// psql with a full libpq connection string (`-X -A -t -q -w`, ON_ERROR_STOP), with a
/// deadline. Returns (success, stdout, stderr).
pub fn psql_conn(conninfo: &str, password: &str, sql: &str) -> (bool, String, String) {
    let out = articdbm_tests::process::output(
        Command::new(articdbm_tests::tools::psql().unwrap())
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-w"])
            .arg("-d")
            .arg(conninfo)
            .arg("-c")
            .arg(sql)
            .env("PGPASSWORD", password)
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS")
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT"),
        Duration::from_secs(30),
    )
    .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
        String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
    )
}

/// pgbench against the gateway on `port` as `app` on `shop`, with `args` before the
/// connection options.
pub fn pgbench_command(port: u16, args: &[&str]) -> Command {
    let mut c = Command::new(articdbm_tests::tools::pgbench().unwrap());
    c.args(args)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            APP_USER,
            "shop",
        ])
        .env("PGPASSWORD", APP_PASSWORD);
    c
}
