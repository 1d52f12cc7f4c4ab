//! The MySQL gateway end to end: a real MariaDB behind it, and real clients in front (the
//! `mariadb` command-line client, sqlx's MySQL driver, PyMySQL), through transaction pooling
//! with fewer server connections than clients.

#[path = "gw_support/mod.rs"]
mod gw_support;

use std::time::Duration;

use articdbm_gateway::pg::Gateway;
use articdbm_tests::MariaDb;
use articdbm_tests::mariadb::client;
use gw_support::{APP_PASSWORD, APP_USER};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{Connection, Row};

const SERVER_USER: &str = "gw";
const SERVER_PASSWORD: &str = "gw-secret";

/// A MariaDB with database `shop` (table `items`, 50 rows) and the gateway's own user.
fn mariadb() -> MariaDb {
    let m = MariaDb::start().expect("MariaDB starts");
    m.create_user(SERVER_USER, SERVER_PASSWORD).unwrap();
    m.root_sql(
        "CREATE DATABASE shop CHARACTER SET utf8mb4; USE shop;
         CREATE TABLE shop.items (id int PRIMARY KEY, name varchar(100) NOT NULL, note text);
         INSERT INTO shop.items (id, name)
           SELECT seq, CONCAT('item ', seq) FROM seq_1_to_50;
         CREATE TABLE shop.owned (client int NOT NULL, n int NOT NULL, v text,
           PRIMARY KEY (client, n));",
    )
    .unwrap();
    m
}

/// `[[database]]` `shop` over MySQL on `port`, with `pool` (an inline table).
fn my_database(name: &str, port: u16, pool: &str, server_db: &str) -> String {
    format!(
        "\n[[database]]\nname = \"{name}\"\nprotocol = \"mysql\"\nserver_user = \"{SERVER_USER}\"\n\
         server_password = \"{SERVER_PASSWORD}\"\nserver_database = \"{server_db}\"\ntls = \"disable\"\n\
         pool = {pool}\n\n[[database.backend]]\nhost = \"127.0.0.1\"\nport = {port}\n"
    )
}

async fn gateway(databases: &str) -> (Gateway, tempfile::TempDir) {
    gw_support::start_gateway("mysql_listen = \"127.0.0.1:0\"", databases).await
}

/// MariaDB with `shop`, and a gateway in front of it (pool `pool`) that also knows the user
/// `other` (password `other-secret`).
async fn shop_with_other_user(pool: &str) -> (MariaDb, Gateway, tempfile::TempDir) {
    let m = blocking(mariadb).await;
    let dbs = my_database("shop", m.port(), pool, "shop");
    let (gw, dir) = gateway(&format!(
        "{dbs}\n[[user]]\nname = \"other\"\npassword = \"other-secret\"\n"
    ))
    .await;
    (m, gw, dir)
}

fn my_port(gw: &Gateway) -> u16 {
    gw.mysql_addr().expect("MySQL listener").port()
}

/// sqlx options as an application would write them: sqlx sends its session `SET`
/// (sql_mode, time_zone, names) on connect, which transaction pooling carries to every
/// server connection the client gets.
fn sqlx_options(port: u16, db: &str) -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username(APP_USER)
        .password(APP_PASSWORD)
        .database(db)
        .ssl_mode(MySqlSslMode::Disabled)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_mysql_client_creates_inserts_selects_and_is_refused_on_injection() {
    let m = blocking(mariadb).await;
    let (gw, _dir) = gateway(&my_database("shop", m.port(), "{ size = 2 }", "shop")).await;
    let port = my_port(&gw);
    let out = blocking(move || {
        let mut results = Vec::new();
        for auth in ["caching_sha2_password", "mysql_native_password"] {
            let a = format!("--default-auth={auth}");
            results.push(client(
                port,
                APP_USER,
                APP_PASSWORD,
                "shop",
                &[&a],
                "CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY, body text);
                 INSERT INTO notes VALUES (1, 'it''s \\\\ fine'), (2, NULL)
                   ON DUPLICATE KEY UPDATE body = VALUES(body);
                 SELECT id, body FROM notes ORDER BY id;",
            ));
        }
        // A refusal in the middle: --force goes on, and the connection is still usable.
        results.push(client(
            port,
            APP_USER,
            APP_PASSWORD,
            "shop",
            &["--force"],
            "SELECT name FROM items WHERE id = 1;
             SELECT name FROM items WHERE name = '' OR '1'='1';
             SELECT name FROM items WHERE id = 2;",
        ));
        results.push(client(port, APP_USER, "wrong", "shop", &[], "SELECT 1"));
        results.push(client(port, "nobody-here", "x", "shop", &[], "SELECT 1"));
        results.push(client(
            port,
            APP_USER,
            APP_PASSWORD,
            "nosuchdb",
            &[],
            "SELECT 1",
        ));
        results
    })
    .await;
    for r in &out[..2] {
        // Batch output escapes the backslash.
        assert_eq!(r.as_deref(), Ok("1\tit's \\\\ fine\n2\tNULL\n"), "{out:?}");
    }
    // With --force the client goes on after the refusal and exits with 0.
    let forced = out[2].as_ref().expect("the client goes on");
    assert!(
        forced.contains("item 1\n") && forced.contains("item 2\n"),
        "{forced}"
    );
    assert!(
        forced.contains("ERROR 1142 (42000)") && forced.contains("sqli.tautology"),
        "{forced}"
    );
    let wrong = out[3].as_ref().unwrap_err();
    let unknown = out[4].as_ref().unwrap_err();
    assert!(
        wrong.contains("ERROR 1045 (28000): Access denied for user 'app'"),
        "{wrong}"
    );
    assert!(
        unknown.contains("ERROR 1045 (28000): Access denied for user 'nobody-here'"),
        "{unknown}"
    );
    let nodb = out[5].as_ref().unwrap_err();
    assert!(
        nodb.contains("ERROR 1049") && nodb.contains("nosuchdb"),
        "{nodb}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_get_their_own_answers_with_prepared_statements_reused_across_transactions()
 {
    let m = blocking(mariadb).await;
    let (gw, _dir) = gateway(&my_database("shop", m.port(), "{ size = 3 }", "shop")).await;
    let port = my_port(&gw);
    let mut tasks = Vec::new();
    for client_id in 0..12i32 {
        tasks.push(tokio::spawn(async move {
            let mut c = sqlx::MySqlConnection::connect_with(&sqlx_options(port, "shop"))
                .await
                .map_err(|e| format!("client {client_id} connect: {e}"))?;
            for n in 0..25i32 {
                // The same statement texts every round: sqlx keeps them prepared, so each
                // execute reuses a statement id on whatever server connection is free.
                let label = format!("c{client_id} 'quote' \\ é ✓ {n}");
                let row = sqlx::query("SELECT ?, ?, CAST(? AS SIGNED) + 1, ?")
                    .bind(client_id)
                    .bind(&label)
                    .bind(n)
                    .bind(None::<String>)
                    .fetch_one(&mut c)
                    .await
                    .map_err(|e| format!("client {client_id} select: {e}"))?;
                let (a, b, d): (i32, String, i64) = (row.get(0), row.get(1), row.get(2));
                let null: Option<String> = row.get(3);
                if a != client_id || b != label || d != i64::from(n) + 1 || null.is_some() {
                    return Err(format!(
                        "client {client_id} got ({a}, {b:?}, {d}, {null:?})"
                    ));
                }
                let mut tx = c.begin().await.map_err(|e| e.to_string())?;
                sqlx::query("INSERT INTO owned (client, n, v) VALUES (?, ?, ?)")
                    .bind(client_id)
                    .bind(n)
                    .bind(&label)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| format!("client {client_id} insert: {e}"))?;
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM owned WHERE client = ?")
                    .bind(client_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                if n % 5 == 4 {
                    tx.rollback().await.map_err(|e| e.to_string())?;
                } else {
                    tx.commit().await.map_err(|e| e.to_string())?;
                }
                let kept = i64::from(n) - i64::from(n / 5);
                if count != kept + 1 {
                    return Err(format!(
                        "client {client_id} round {n}: {count} rows, expected {}",
                        kept + 1
                    ));
                }
                // A server error, then the connection goes on.
                let dup = sqlx::query("INSERT INTO items (id, name) VALUES (1, 'dup')")
                    .execute(&mut c)
                    .await;
                match dup {
                    Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23000") => {}
                    other => {
                        return Err(format!("client {client_id}: duplicate key gave {other:?}"));
                    }
                }
            }
            // An injection refused, as a prepared statement, and the connection usable after.
            let refused = sqlx::query("SELECT name FROM items WHERE id = ? OR 1=1")
                .bind(1)
                .fetch_all(&mut c)
                .await;
            match refused {
                Err(sqlx::Error::Database(e)) if e.message().contains("sqli.tautology") => {}
                other => return Err(format!("client {client_id}: injection gave {other:?}")),
            }
            let name: String = sqlx::query_scalar("SELECT name FROM items WHERE id = ?")
                .bind(client_id + 1)
                .fetch_one(&mut c)
                .await
                .map_err(|e| e.to_string())?;
            if name != format!("item {}", client_id + 1) {
                return Err(format!("client {client_id} got {name:?}"));
            }
            Ok::<_, String>(())
        }));
    }
    let mut failures = Vec::new();
    for t in tasks {
        if let Err(e) = tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("clients finish")
            .unwrap()
        {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let kept = m
        .root_sql("SELECT client, COUNT(*) FROM shop.owned GROUP BY client ORDER BY client")
        .unwrap();
    assert_eq!(kept.lines().count(), 12, "{kept}");
    assert!(kept.lines().all(|l| l.ends_with("\t20")), "{kept}");
}

/// `@@sql_mode @@time_zone` as the client's session sees them.
async fn mode(c: &mut sqlx::MySqlConnection) -> String {
    let (m, tz): (String, String) =
        sqlx::query_as("SELECT CAST(@@sql_mode AS CHAR), CAST(@@time_zone AS CHAR)")
            .fetch_one(c)
            .await
            .unwrap();
    format!("{m} {tz}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_statement_of_a_multi_statement_query_is_judged_and_a_refusal_stops_the_rest() {
    let m = blocking(mariadb).await;
    let (gw, _dir) = gateway(&my_database("shop", m.port(), "{ size = 1 }", "shop")).await;
    let port = my_port(&gw);
    let mut c = sqlx::MySqlConnection::connect_with(&sqlx_options(port, "shop"))
        .await
        .unwrap();
    // All allowed: every result comes back.
    let rows = sqlx::raw_sql("SELECT 1; SELECT name FROM items WHERE id = 3; SELECT 'x'")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    // The second is refused: the first ran, the third did not.
    let r = sqlx::raw_sql(
        "INSERT INTO owned VALUES (100, 1, 'before'); \
         SELECT * FROM items WHERE id = 1 UNION SELECT 1, LOAD_FILE('/etc/passwd'), 3; \
         INSERT INTO owned VALUES (100, 2, 'after')",
    )
    .execute(&mut c)
    .await;
    match r {
        Err(sqlx::Error::Database(e)) => {
            assert_eq!(e.code().as_deref(), Some("42000"));
            assert!(e.message().contains("sqli.file-access"), "{}", e.message());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let owned: Vec<i32> = sqlx::query_scalar("SELECT n FROM owned WHERE client = 100 ORDER BY n")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert_eq!(owned, vec![1]);
    // Executable comments are code, and judged as such.
    let r = sqlx::raw_sql("SELECT name FROM items WHERE id = 1 /*!50000 OR 1=1 */")
        .fetch_all(&mut c)
        .await;
    assert!(
        r.is_err(),
        "an executable comment hiding a tautology must be refused: {r:?}"
    );
    // Session variables under transaction pooling follow the client: on a pool of one, a
    // second client without them sees the server's defaults, and the first its own.
    let mut other = sqlx::MySqlConnection::connect_with(&sqlx_options(port, "shop"))
        .await
        .unwrap();
    sqlx::raw_sql("SET sql_mode = 'ANSI_QUOTES', time_zone = '+05:00'")
        .execute(&mut c)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(mode(&mut c).await, "ANSI_QUOTES +05:00");
        let theirs = mode(&mut other).await;
        assert!(
            !theirs.contains("ANSI_QUOTES") && !theirs.ends_with("+05:00"),
            "{theirs}"
        );
    }
    // Prepared statements survive the resets that switching states takes.
    for _ in 0..3 {
        let v: i64 = sqlx::query_scalar("SELECT ? + 1")
            .bind(41i64)
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(v, 42);
        let v: i64 = sqlx::query_scalar("SELECT ? + 1")
            .bind(1i64)
            .fetch_one(&mut other)
            .await
            .unwrap();
        assert_eq!(v, 2);
    }
    // User variables cannot follow a client: refused, pointing to session mode.
    let r = sqlx::raw_sql("SET @x = 1").execute(&mut c).await;
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("pool.mode = \"session\""), "{msg}");
    // autocommit is carried to every server connection the client gets.
    sqlx::raw_sql("SET autocommit = 0")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::raw_sql("INSERT INTO owned VALUES (101, 1, 'uncommitted')")
        .execute(&mut c)
        .await
        .unwrap();
    let seen = m
        .root_sql("SELECT COUNT(*) FROM shop.owned WHERE client = 101")
        .unwrap();
    assert_eq!(
        seen.trim(),
        "0",
        "autocommit = 0 keeps the insert uncommitted"
    );
    sqlx::raw_sql("ROLLBACK; SET autocommit = 1")
        .execute(&mut c)
        .await
        .unwrap();
    let seen = m
        .root_sql("SELECT COUNT(*) FROM shop.owned WHERE client = 101")
        .unwrap();
    assert_eq!(seen.trim(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn databases_are_checked_on_use_and_a_gateway_can_front_another_over_caching_sha2() {
    let m = blocking(mariadb).await;
    m.root_sql(
        "CREATE DATABASE other; CREATE TABLE other.t (x int); INSERT INTO other.t VALUES (7)",
    )
    .unwrap();
    let dbs = format!(
        "{}{}",
        my_database("shop", m.port(), "{ size = 2 }", "shop"),
        my_database("other", m.port(), "{ size = 2 }", "other"),
    );
    let (gw, _dir) = gateway(&dbs).await;
    let port = my_port(&gw);
    let mut c = sqlx::MySqlConnection::connect_with(&sqlx_options(port, "shop"))
        .await
        .unwrap();
    sqlx::raw_sql("USE other").execute(&mut c).await.unwrap();
    let x: i32 = sqlx::query_scalar("SELECT x FROM t")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(x, 7);
    let r = sqlx::raw_sql("USE mysql").execute(&mut c).await;
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("Unknown database 'mysql'")
    );

    // A second gateway whose server is the first gateway: its server connections log in
    // with caching_sha2_password (the fast path) as `app`.
    let front_db = format!(
        "\n[[database]]\nname = \"shop\"\nprotocol = \"mysql\"\nserver_user = \"{APP_USER}\"\n\
         server_password = \"{APP_PASSWORD}\"\nserver_database = \"shop\"\ntls = \"disable\"\n\
         pool = {{ size = 1 }}\n\n[[database.backend]]\nhost = \"127.0.0.1\"\nport = {port}\n"
    );
    let (front, _dir2) = gateway(&front_db).await;
    let mut c2 = sqlx::MySqlConnection::connect_with(&sqlx_options(my_port(&front), "shop"))
        .await
        .unwrap();
    let name: String = sqlx::query_scalar("SELECT name FROM items WHERE id = ?")
        .bind(9)
        .fetch_one(&mut c2)
        .await
        .unwrap();
    assert_eq!(name, "item 9");
}

/// Runs a MySQL driver matrix program (tests/drivers) with `driver` and `auth` against
/// `port`: `node` runs node/mysql2_matrix.js, `connector-j` java/MyMatrix.java with MariaDB
/// Connector/J, anything else python/mysql_matrix.py with that
/// driver; its JSON summary.
fn python_matrix(
    port: u16,
    db: &str,
    driver: &str,
    auth: &str,
    clients: u32,
    gateway: bool,
) -> serde_json::Value {
    let drivers = gw_support::root().join("tests/drivers");
    let mut cmd = if driver == "connector-j" {
        let mut c = std::process::Command::new(articdbm_tests::tools::java().expect("a JDK"));
        c.arg("-cp")
            .arg(articdbm_tests::tools::mariadb_jdbc_jar().expect("Connector/J"))
            .arg(drivers.join("java/MyMatrix.java"));
        c
    } else if driver == "node" {
        let mut c = std::process::Command::new(articdbm_tests::tools::node().expect("node"));
        c.arg(drivers.join("node/mysql2_matrix.js")).env(
            "NODE_PATH",
            articdbm_tests::tools::node_modules().expect("mysql2 installed"),
        );
        c
    } else {
        let py = articdbm_tests::tools::python_venv().expect("python venv with the drivers");
        let mut c = std::process::Command::new(py);
        c.arg(drivers.join("python/mysql_matrix.py"));
        c
    };
    cmd.env("MYHOST", "127.0.0.1")
        .env("MYPORT", port.to_string())
        .env("MYUSER", APP_USER)
        .env("MYPASSWORD", APP_PASSWORD)
        .env("MYDATABASE", db)
        .env("DRV_DRIVER", driver)
        .env("DRV_AUTH", auth)
        .env("DRV_CLIENTS", clients.to_string())
        .env("DRV_ITERS", "12")
        .env("DRV_DEADLINE_SECS", "60")
        .env("DRV_GATEWAY", if gateway { "1" } else { "0" });
    let out = articdbm_tests::process::output(&mut cmd, Duration::from_secs(120)).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| {
        panic!(
            "{driver}: no summary ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_node_and_java_drivers_get_their_own_answers_with_each_auth_method() {
    let m = blocking(mariadb).await;
    // The programs are checked against MariaDB itself first: a failure there is the
    // program's, not the gateway's.
    m.create_user(APP_USER, APP_PASSWORD).unwrap();
    let (gw, _dir) = gateway(&my_database("shop", m.port(), "{ size = 3 }", "shop")).await;
    let port = my_port(&gw);
    let direct = m.port();
    let runs = blocking(move || {
        let mut runs = Vec::new();
        for (driver, auth) in [
            ("pymysql", "caching_sha2_password"),
            ("mysqlclient", "caching_sha2_password"),
            ("connector", "caching_sha2_password"),
            ("connector", "mysql_native_password"),
            ("node", "caching_sha2_password"),
            ("connector-j", "caching_sha2_password"),
        ] {
            let d = python_matrix(direct, "shop", driver, auth, 8, false);
            let g = python_matrix(port, "shop", driver, auth, 8, true);
            runs.push((driver, auth, d, g));
        }
        runs
    })
    .await;
    for (driver, auth, direct, through) in runs {
        for (where_, s) in [("directly", &direct), ("through the gateway", &through)] {
            assert_eq!(s["errors"], 0, "{driver}/{auth} {where_}: {s}");
            assert_eq!(s["mismatches"], 0, "{driver}/{auth} {where_}: {s}");
            assert_eq!(s["completed"], 8 * 12, "{driver}/{auth} {where_}: {s}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_embedded_sqlite_database_is_served_over_mysql_and_postgresql_alike() {
    let dbs = "\n[[database]]\nname = \"demo\"\nsqlite = \":memory:\"\n";
    let (gw, _dir) = gateway(dbs).await;
    let port = my_port(&gw);
    let out = blocking(move || {
        client(
            port,
            APP_USER,
            APP_PASSWORD,
            "demo",
            &["--force"],
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, score REAL);
             INSERT INTO notes (body, score) VALUES ('hello', 1.5), ('it''s', NULL);
             SELECT id, body, score FROM notes ORDER BY id;
             SELECT body FROM notes WHERE body = '' OR '1'='1';
             SELECT COUNT(*) FROM notes;",
        )
    })
    .await
    .expect("the client goes on after the refusal");
    assert!(
        out.starts_with("1\thello\t1.5\n2\tit's\tNULL\n2\n"),
        "{out}"
    );
    assert!(
        out.contains("ERROR 1142 (42000)") && out.contains("sqli.tautology"),
        "{out}"
    );
    // Prepared statements (binary protocol) with typed results.
    let mut c = sqlx::MySqlConnection::connect_with(&sqlx_options(port, "demo"))
        .await
        .unwrap();
    let row = sqlx::query("SELECT id, body, score FROM notes WHERE id = ?")
        .bind(1i64)
        .fetch_one(&mut c)
        .await
        .unwrap();
    let (id, body, score): (i64, String, f64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((id, body.as_str(), score), (1, "hello", 1.5));
    sqlx::query("INSERT INTO notes (body) VALUES (?)")
        .bind("from mysql")
        .execute(&mut c)
        .await
        .unwrap();
    // The PostgreSQL side sees the same database.
    let pg = gw_support::connect(&gw, "demo").await.unwrap();
    let n = gw_support::simple_value(&pg, "SELECT count(*) FROM notes")
        .await
        .unwrap();
    assert_eq!(n.as_deref(), Some("3"));
}

/// The port of the node that answered, read through the gateway: a read outside a
/// transaction, or (`write`) inside one (the writer's).
async fn node_port(c: &mut sqlx::MySqlConnection, write: bool) -> i32 {
    if write {
        sqlx::raw_sql("BEGIN").execute(&mut *c).await.unwrap();
    }
    let p: i32 = sqlx::query_scalar("SELECT port FROM node")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    if write {
        sqlx::raw_sql("COMMIT").execute(&mut *c).await.unwrap();
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn galera_writes_go_to_one_synced_node_and_fail_over_and_a_desynced_node_gets_no_reads() {
    let mut nodes = blocking(|| {
        (0..3)
            .map(|_| {
                let m = MariaDb::start_galera().expect("a Galera node starts");
                m.create_user(SERVER_USER, SERVER_PASSWORD).unwrap();
                m.root_sql(&format!(
                    "CREATE DATABASE shop; CREATE TABLE shop.node (port int PRIMARY KEY);
                     INSERT INTO shop.node VALUES ({});",
                    m.port()
                ))
                .unwrap();
                m
            })
            .collect::<Vec<_>>()
    })
    .await;
    let ports: Vec<i32> = nodes.iter().map(|m| m.port() as i32).collect();
    let mut db = format!(
        "\n[[database]]\nname = \"shop\"\nprotocol = \"mysql\"\ngalera = true\n\
         server_user = \"{SERVER_USER}\"\nserver_password = \"{SERVER_PASSWORD}\"\n\
         server_database = \"shop\"\ntls = \"disable\"\n\
         pool = {{ size = 2, health_check_secs = 1, connect_timeout_ms = 2000 }}\n"
    );
    for p in &ports {
        db.push_str(&format!(
            "\n[[database.backend]]\nhost = \"127.0.0.1\"\nport = {p}\n"
        ));
    }
    let (gw, _dir) = gateway(&db).await;
    let mut c = sqlx::MySqlConnection::connect_with(&sqlx_options(my_port(&gw), "shop"))
        .await
        .unwrap();
    // Single writer: the first node listed.
    for _ in 0..5 {
        assert_eq!(node_port(&mut c, true).await, ports[0]);
    }
    // Reads spread over every synced node.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..30 {
        seen.insert(node_port(&mut c, false).await);
    }
    assert_eq!(seen.len(), 3, "reads reached {seen:?}");

    // A desynced node stops getting reads (after a health check).
    nodes[2].root_sql("SET GLOBAL wsrep_desync = ON").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut hits = 0;
        for _ in 0..30 {
            if node_port(&mut c, false).await == ports[2] {
                hits += 1;
            }
        }
        if hits == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the desynced node still gets reads"
        );
    }

    // The writer dies: writes move to the next node in order.
    nodes[0].stop();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = async {
            sqlx::raw_sql("BEGIN").execute(&mut c).await?;
            let p: i32 = sqlx::query_scalar("SELECT port FROM node")
                .fetch_one(&mut c)
                .await?;
            sqlx::raw_sql("COMMIT").execute(&mut c).await?;
            Ok::<_, sqlx::Error>(p)
        }
        .await;
        match r {
            Ok(p) if p == ports[1] => break,
            Ok(p) => assert_ne!(p, ports[2], "the desynced node must not take writes"),
            Err(_) => {
                // The client's own connection may have been on the dead node: reconnect.
                c = sqlx::MySqlConnection::connect_with(&sqlx_options(my_port(&gw), "shop"))
                    .await
                    .unwrap();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "writes did not fail over"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_query_reaches_the_right_server_thread_for_the_same_user_only() {
    let (_m, gw, _dir) = shop_with_other_user("{ size = 3 }").await;
    let port = my_port(&gw);
    // Client A sleeps; B (same user) kills A's query by the connection id A was given; C
    // (another user) may not.
    let script = r#"
import sys, threading, time, pymysql
port = int(sys.argv[1])
def conn(user, pw):
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=pw, database="shop", autocommit=True)
a = conn("app", "app-secret")
a_id = a.thread_id()
out = {}
def sleeper():
    t = time.time()
    try:
        c = a.cursor(); c.execute("SELECT SLEEP(20)"); out["value"] = c.fetchone()[0]
    except pymysql.err.MySQLError as e:
        out["value"] = e.args[0]
    out["seconds"] = time.time() - t
th = threading.Thread(target=sleeper); th.start()
time.sleep(1.0)
c = conn("other", "other-secret")
try:
    c.cursor().execute(f"KILL QUERY {a_id}"); out["other"] = "allowed"
except pymysql.err.MySQLError as e:
    out["other"] = e.args[0]
b = conn("app", "app-secret")
b.cursor().execute(f"KILL QUERY {a_id}")
th.join(30)
print(out["other"], out["value"], round(out["seconds"], 1))
"#;
    let py = blocking(|| articdbm_tests::tools::python_venv().expect("venv")).await;
    let out = blocking(move || {
        let mut cmd = std::process::Command::new(py);
        cmd.args(["-c", script, &port.to_string()]);
        articdbm_tests::process::output(&mut cmd, Duration::from_secs(60)).unwrap()
    })
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(
        fields.len(),
        3,
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fields[0], "1095",
        "another user's KILL is refused: {stdout}"
    );
    // An interrupted SLEEP returns 1 (MySQL) or fails with 1317 (MariaDB), long before 20 s.
    assert!(fields[1] == "1" || fields[1] == "1317", "{stdout}");
    let secs: f64 = fields[2].parse().unwrap();
    assert!(secs < 10.0, "the query was not killed: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_clients_get_tls_and_a_user_may_be_held_to_it() {
    let m = blocking(mariadb).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
    ])
    .args([
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ])
    .arg("-keyout")
    .arg(&key)
    .arg("-out")
    .arg(&cert);
    articdbm_tests::process::run(&mut cmd, Duration::from_secs(60)).unwrap();
    let server = format!(
        "mysql_listen = \"127.0.0.1:0\"\ntls = {{ cert = {:?}, key = {:?} }}",
        cert.display().to_string(),
        key.display().to_string()
    );
    let dbs = format!(
        "{}\n[[user]]\nname = \"secure\"\npassword = \"secure-secret\"\nrequire_tls = true\n",
        my_database("shop", m.port(), "{ size = 2 }", "shop")
    );
    let (gw, _gdir) = gw_support::start_gateway(&server, &dbs).await;
    let port = my_port(&gw);
    let out = blocking(move || {
        let tls = ["--ssl", "--ssl-verify-server-cert=0"];
        (
            client(
                port,
                "secure",
                "secure-secret",
                "shop",
                &tls,
                "SELECT 'over tls'",
            ),
            client(
                port,
                "secure",
                "secure-secret",
                "shop",
                &[],
                "SELECT 'in clear'",
            ),
            client(
                port,
                APP_USER,
                APP_PASSWORD,
                "shop",
                &tls,
                "SELECT name FROM items WHERE id = 4",
            ),
        )
    })
    .await;
    assert_eq!(out.0.as_deref(), Ok("over tls\n"), "{out:?}");
    let clear = out.1.as_ref().unwrap_err();
    assert!(
        clear.contains("1045") && clear.contains("only connect over TLS"),
        "{clear}"
    );
    assert_eq!(out.2.as_deref(), Ok("item 4\n"), "{out:?}");
}

/// `@@server_id` of the server that answered a read outside a transaction, or (`write`) a
/// statement inside one.
async fn server_id(c: &mut sqlx::MySqlConnection, write: bool) -> i64 {
    if write {
        sqlx::raw_sql("BEGIN").execute(&mut *c).await.unwrap();
    }
    let id: i64 = sqlx::query_scalar("SELECT CAST(@@server_id AS SIGNED) FROM t LIMIT 1")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    if write {
        sqlx::raw_sql("COMMIT").execute(&mut *c).await.unwrap();
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_go_to_the_binlog_replica_and_writes_to_the_primary() {
    let (primary, mut replica) = blocking(|| {
        let p = MariaDb::start_primary().expect("primary");
        p.create_user(SERVER_USER, SERVER_PASSWORD).unwrap();
        p.root_sql("CREATE DATABASE shop; CREATE TABLE shop.t (x int PRIMARY KEY); INSERT INTO shop.t VALUES (1)")
            .unwrap();
        let r = MariaDb::start_replica(&p, 2).expect("replica");
        r.wait_caught_up(&p, Duration::from_secs(30)).unwrap();
        (p, r)
    })
    .await;
    let db = format!(
        "\n[[database]]\nname = \"shop\"\nprotocol = \"mysql\"\nserver_user = \"{SERVER_USER}\"\n\
         server_password = \"{SERVER_PASSWORD}\"\nserver_database = \"shop\"\ntls = \"disable\"\n\
         pool = {{ size = 2, health_check_secs = 1, connect_timeout_ms = 2000 }}\n\
         \n[[database.backend]]\nhost = \"127.0.0.1\"\nport = {}\nrole = \"primary\"\n\
         \n[[database.backend]]\nhost = \"127.0.0.1\"\nport = {}\nrole = \"replica\"\n",
        primary.port(),
        replica.port()
    );
    let (gw, _dir) = gateway(&db).await;
    let mut c = sqlx::MySqlConnection::connect_with(&sqlx_options(my_port(&gw), "shop"))
        .await
        .unwrap();
    for _ in 0..10 {
        assert_eq!(
            server_id(&mut c, false).await,
            2,
            "a read outside a transaction"
        );
        assert_eq!(server_id(&mut c, true).await, 1, "inside a transaction");
    }
    sqlx::query("INSERT INTO t VALUES (?)")
        .bind(2)
        .execute(&mut c)
        .await
        .unwrap();
    let n = primary.root_sql("SELECT COUNT(*) FROM shop.t").unwrap();
    assert_eq!(n.trim(), "2", "the write reached the primary");
    // The replica goes away: reads fall back to the primary.
    replica.stop();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = sqlx::query_scalar::<_, i64>("SELECT CAST(@@server_id AS SIGNED) FROM t LIMIT 1")
            .fetch_one(&mut c)
            .await;
        match r {
            Ok(1) => break,
            _ => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "reads did not fall back: {r:?}"
                );
                if r.is_err() {
                    c = sqlx::MySqlConnection::connect_with(&sqlx_options(my_port(&gw), "shop"))
                        .await
                        .unwrap();
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn com_change_user_authenticates_the_new_user_and_starts_afresh() {
    let (_m, gw, _dir) = shop_with_other_user("{ size = 2 }").await;
    let port = my_port(&gw);
    let script = r#"
import sys, mysql.connector
port = int(sys.argv[1])
def conn():
    return mysql.connector.connect(host="127.0.0.1", port=port, user="app", password="app-secret",
        database="shop", use_pure=True, ssl_disabled=True, autocommit=True)
app = conn()
app_id = app.connection_id
c = conn()
cur = c.cursor(); cur.execute("SELECT name FROM items WHERE id = 5"); first = cur.fetchone()[0]
c.cmd_change_user(username="other", password="other-secret", database="shop")
cur = c.cursor(); cur.execute("SELECT name FROM items WHERE id = 6"); second = cur.fetchone()[0]
# The session acts as `other` now: app's queries are not its own.
try:
    cur.execute(f"KILL QUERY {app_id}"); killed = "allowed"
except mysql.connector.Error as e:
    killed = e.errno
d = conn()
try:
    d.cmd_change_user(username="other", password="wrong", database="shop"); wrong = "allowed"
except mysql.connector.Error as e:
    wrong = e.errno
print(first.replace(" ", "_"), second.replace(" ", "_"), killed, wrong)
"#;
    let py = blocking(|| articdbm_tests::tools::python_venv().expect("venv")).await;
    let out = blocking(move || {
        let mut cmd = std::process::Command::new(py);
        cmd.args(["-c", script, &port.to_string()]);
        articdbm_tests::process::output(&mut cmd, Duration::from_secs(60)).unwrap()
    })
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        stdout.trim(),
        "item_5 item_6 1095 1045",
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads one whole MySQL packet from `s` into `buf`; `None` when the gateway closed.
async fn raw_packet(
    s: &mut tokio::net::TcpStream,
    buf: &mut bytes::BytesMut,
) -> Option<articdbm_mywire::Packet> {
    use tokio::io::AsyncReadExt;
    let mut dec = articdbm_mywire::PacketDecoder::new(1 << 24);
    loop {
        if let Some(p) = dec.decode(buf).unwrap() {
            return Some(p);
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read_buf(buf))
            .await
            .expect("the gateway answers or closes")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_frames_after_login_get_errors_and_never_reach_the_server() {
    use articdbm_mywire::consts::caps;
    use articdbm_mywire::{self as wire, HandshakeResponse, HandshakeV10};
    use tokio::io::AsyncWriteExt;
    let m = blocking(mariadb).await;
    let (gw, _dir) = gw_support::start_gateway(
        "mysql_listen = \"127.0.0.1:0\"\nmax_message_bytes = 1048576",
        &my_database("shop", m.port(), "{ size = 1 }", "shop"),
    )
    .await;
    let mut s = tokio::net::TcpStream::connect(gw.mysql_addr().unwrap())
        .await
        .unwrap();
    let mut buf = bytes::BytesMut::new();
    let greeting = raw_packet(&mut s, &mut buf).await.unwrap();
    let hello = HandshakeV10::decode(&greeting.payload).unwrap();
    let client_caps = caps::CLIENT_PROTOCOL_41
        | caps::CLIENT_SECURE_CONNECTION
        | caps::CLIENT_PLUGIN_AUTH
        | caps::CLIENT_CONNECT_WITH_DB
        | caps::CLIENT_LONG_PASSWORD;
    let mut p = bytes::BytesMut::new();
    HandshakeResponse {
        capabilities: client_caps,
        max_packet: 1 << 24,
        charset: 45,
        user: APP_USER.into(),
        auth_response: wire::auth::native_scramble(APP_PASSWORD.as_bytes(), &hello.auth_data),
        database: Some("shop".into()),
        auth_plugin: Some("mysql_native_password".into()),
        attrs: Vec::new(),
    }
    .encode(&mut p);
    let mut out = bytes::BytesMut::new();
    wire::write_packet(&mut out, greeting.next_seq, &p);
    s.write_all(&out).await.unwrap();
    let ok = raw_packet(&mut s, &mut buf).await.unwrap();
    assert_eq!(ok.payload[0], 0x00, "logged in: {:?}", ok.payload);

    // Each hostile command gets an ERR with its own code, and the session goes on (a PING
    // after each is answered OK). `SLEEP` through a forged statement id must never run.
    let hostile: [(&str, Vec<u8>, u16); 6] = [
        ("unknown command", vec![0x99, 1, 2, 3], 1047),
        ("COM_FIELD_LIST", b"\x04items\x00".to_vec(), 1047),
        (
            "execute of a statement never prepared",
            vec![0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0],
            1243,
        ),
        ("truncated execute", vec![0x17, 1], 0),
        (
            "query that is not UTF-8",
            vec![0x03, b'S', 0xff, 0xfe],
            1064,
        ),
        ("empty query", vec![0x03], 1065),
    ];
    for (what, payload, code) in hostile {
        let mut out = bytes::BytesMut::new();
        wire::write_packet(&mut out, 0, &payload);
        wire::write_packet(&mut out, 0, &[0x0e]); // COM_PING
        s.write_all(&out).await.unwrap();
        let e = raw_packet(&mut s, &mut buf).await.expect(what);
        assert_eq!(e.payload[0], 0xff, "{what}: {:?}", e.payload);
        let err = wire::ErrPacket::decode(&e.payload).unwrap();
        if code != 0 {
            assert_eq!(err.code, code, "{what}: {}", err.message);
        }
        let pong = raw_packet(&mut s, &mut buf).await.expect(what);
        assert_eq!(pong.payload[0], 0x00, "{what}: the session goes on");
    }
    // None of them reached the server: it counted no execute and no field list.
    let seen = m
        .root_sql(
            "SELECT SUM(VARIABLE_VALUE) FROM information_schema.global_status \
             WHERE VARIABLE_NAME IN ('COM_STMT_EXECUTE', 'COM_FIELD_LIST')",
        )
        .unwrap();
    assert_eq!(seen.trim(), "0");

    // A packet over server.max_message_bytes (1 MiB here) is refused from its header, before
    // its body is buffered: the gateway closes the connection.
    let mut out = bytes::BytesMut::new();
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0, 0x03]);
    out.extend_from_slice(&[b' '; 4096]);
    let _ = s.write_all(&out).await;
    let closed = raw_packet(&mut s, &mut buf).await;
    assert!(
        closed.as_ref().is_none_or(|p| p.payload[0] == 0xff),
        "{closed:?}"
    );
}

/// `CLIENT_FOUND_ROWS` (Django sets it, and Connector/J by default): an UPDATE that sets a row
/// to the value it has reports 1 (matched), not 0 (changed). Django's `save()` relies on it:
/// 0 makes it INSERT and fail on the primary key. The flag is fixed per server connection,
/// so two clients, one with it and one without, alternate on a pool of one through the
/// gateway, and each must see what it sees directly on MariaDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn found_rows_is_kept_per_client_on_shared_server_connections() {
    let (m, gw, _dir) = shop_with_other_user("{ size = 1, mode = \"transaction\" }").await;
    let script = r#"
import sys, pymysql
from pymysql.constants import CLIENT
port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def conn(flags):
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=pw,
                           database="shop", autocommit=True, client_flag=flags)
found, plain = conn(CLIENT.FOUND_ROWS), conn(0)
out = []
for i in range(4):
    for name, c in (("found", found), ("plain", plain)):
        cur = c.cursor()
        out.append(f"{name}={cur.execute('UPDATE items SET name = name WHERE id = 1')}")
        cur.execute("BEGIN")
        out.append(f"{name}-tx={cur.execute('UPDATE items SET name = name WHERE id <= 3')}")
        cur.execute("COMMIT")
print(" ".join(out))
"#;
    let py = blocking(|| articdbm_tests::tools::python_venv().expect("venv")).await;
    let run = |port: u16, user: &'static str, pw: &'static str| {
        let py = py.clone();
        blocking(move || {
            let mut cmd = std::process::Command::new(py);
            cmd.args(["-c", script, &port.to_string(), user, pw]);
            let out = articdbm_tests::process::output(&mut cmd, Duration::from_secs(60)).unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
            assert!(
                out.status.success(),
                "{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
        })
    };
    let direct = run(m.port(), SERVER_USER, SERVER_PASSWORD).await;
    let through = run(my_port(&gw), APP_USER, APP_PASSWORD).await;
    assert!(
        direct.contains("found=1") && direct.contains("plain=0"),
        "the flag matters on MariaDB: {direct}"
    );
    assert_eq!(through, direct);
}

/// A backend user IDENTIFIED VIA ed25519 (MariaDB's plugin): the gateway answers the
/// server's `client_ed25519` switch with the signature MariaDB checks, and serves clients on
/// it; a wrong password is refused by MariaDB with its message, never accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mariadb_backend_user_identified_via_ed25519() {
    let m = blocking(|| {
        let m = mariadb();
        m.root_sql(
            "INSTALL SONAME 'auth_ed25519';
             CREATE USER 'ed'@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('ed-secret-0');
             GRANT ALL ON shop.* TO 'ed'@'127.0.0.1';",
        )
        .unwrap();
        m
    })
    .await;
    let db = |name: &str, password: &str| {
        format!(
            "\n[[database]]\nname = \"{name}\"\nprotocol = \"mysql\"\nserver_user = \"ed\"\n\
             server_password = \"{password}\"\nserver_database = \"shop\"\ntls = \"disable\"\n\
             pool = {{ size = 2, max_lifetime_secs = 0 }}\n\n[[database.backend]]\nhost = \"127.0.0.1\"\nport = {}\n",
            m.port()
        )
    };
    let (gw, _dir) = gateway(&format!(
        "{}{}",
        db("shop", "ed-secret-0"),
        db("wrong", "not-the-password")
    ))
    .await;
    let port = my_port(&gw);
    // Many logins: the nonce is random, and a signature must hold for every one of them
    // (also for nonces ending in a zero byte).
    for i in 0..20 {
        let mut c = sqlx::MySqlConnection::connect_with(&sqlx_options(port, "shop"))
            .await
            .unwrap();
        let row = sqlx::query("SELECT CURRENT_USER(), COUNT(*) FROM items")
            .fetch_one(&mut c)
            .await
            .unwrap_or_else(|e| panic!("login {i}: {e}"));
        assert_eq!(row.get::<String, _>(0), "ed@127.0.0.1");
        assert_eq!(row.get::<i64, _>(1), 50);
        // `max_lifetime_secs = 0`: the server connection is closed when released, so every
        // statement logs in again.
        sqlx::query("SELECT 1").execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    // The gateway reaches the server when the client logs in: the refusal comes then.
    let err = sqlx::MySqlConnection::connect_with(&sqlx_options(port, "wrong"))
        .await
        .expect_err("a wrong ed25519 password is refused");
    assert!(err.to_string().contains("Access denied"), "{err}");
}

/// The `mariadb` client as `app` on database `shop` at `port`, with `args`, reading `sql`.
async fn app_client(port: u16, args: &'static [&'static str], sql: &str) -> Result<String, String> {
    let sql = sql.to_string();
    blocking(move || client(port, APP_USER, APP_PASSWORD, "shop", args, &sql)).await
}

/// `LOAD DATA LOCAL INFILE` runs only when a pack allows it (`local_infile = "allow"`) and the
/// client enabled local files; the gateway relays the one file the statement names. Refused,
/// the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_infile_runs_only_when_a_pack_allows_it() {
    let m = blocking(mariadb).await;
    m.root_sql("CREATE TABLE shop.loaded (id int PRIMARY KEY, name varchar(20))")
        .unwrap();
    // One server connection: every client below runs on it in turn, so each one checks that
    // the previous one's file transfer (or refusal) left it in step.
    let dbs = my_database("shop", m.port(), "{ size = 1 }", "shop");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "1,alpha\n2,beta\n3,\"gamma, delta\"\n").unwrap();
    let load = format!(
        "LOAD DATA LOCAL INFILE '{}' INTO TABLE loaded FIELDS TERMINATED BY ',' \
         OPTIONALLY ENCLOSED BY '\"';\nSELECT COUNT(*) FROM loaded;\n",
        csv.display()
    );

    // The default pack alone: refused, and the connection goes on.
    let (gw, _d1) = gateway(&dbs).await;
    let out = app_client(my_port(&gw), &["--local-infile=1", "--force"], &load)
        .await
        .expect("the client goes on after the refusal");
    assert!(out.contains("ERROR 3948 (42000)"), "{out}");
    assert!(out.contains("no pack allows it"), "{out}");
    assert!(out.starts_with("0\n"), "nothing loaded: {out}");
    drop(gw);

    // A tenant pack allowing it.
    let pack = dir.path().join("files.toml");
    std::fs::write(
        &pack,
        "version = 1\nname = \"files\"\nkind = \"tenant\"\ntenant = \"default\"\n\
         local_infile = \"allow\"\n",
    )
    .unwrap();
    let text = gw_support::config_text("mysql_listen = \"127.0.0.1:0\"", &dbs).replacen(
        "packs = [\"",
        &format!("packs = [\"{}\", \"", pack.display()),
        1,
    );
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, &text).unwrap();
    let config = articdbm_gateway::config::Config::load(&path).unwrap();
    let gw = articdbm_gateway::pg::Gateway::start(config).await.unwrap();
    let port = my_port(&gw);
    let out = app_client(port, &["--local-infile=1"], &load).await;
    assert_eq!(out.as_deref(), Ok("3\n"), "{out:?}");
    let rows = m
        .root_sql("SELECT name FROM shop.loaded WHERE id = 3")
        .unwrap();
    assert!(rows.contains("gamma, delta"), "{rows}");
    // A client that did not enable local files is told so, by the gateway.
    let e = app_client(port, &["--local-infile=0"], &load)
        .await
        .expect_err("refused");
    assert!(
        e.contains("3948") && e.contains("did not enable local files"),
        "{e}"
    );
    // A name that is not a string literal is refused before the server sees it.
    let e = app_client(
        port,
        &["--local-infile=1"],
        "LOAD DATA LOCAL INFILE @f INTO TABLE loaded;",
    )
    .await
    .expect_err("refused");
    assert!(e.contains("must be a string literal"), "{e}");
    // The server asks for the file it reads in the statement; when that is not the one the
    // gateway read (here the gateway's reading is fooled by a comment), nothing is sent.
    let tricky = format!(
        "LOAD DATA LOCAL /* INFILE '/etc/hostname' */ INFILE '{}' INTO TABLE loaded \
         FIELDS TERMINATED BY ',';\nSELECT COUNT(*) FROM loaded;\n",
        csv.display()
    );
    // The client strips comments unless told not to.
    let out = app_client(
        port,
        &["--local-infile=1", "--force", "--comments"],
        &tricky,
    )
    .await
    .expect("the client goes on");
    assert!(
        out.contains("ERROR 3948 (42000)") && out.contains("which the statement does not name"),
        "{out}"
    );
    assert!(out.starts_with("3\n"), "nothing more loaded: {out}");
    // The server connection that asked was closed; the next client gets a fresh one.
    let out = app_client(port, &[], "SELECT name FROM loaded WHERE id = 2;").await;
    assert_eq!(out.as_deref(), Ok("beta\n"), "{out:?}");
    drop(gw);
}
