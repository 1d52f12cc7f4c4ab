//! The PostgreSQL gateway end to end: a real PostgreSQL server (SCRAM required) started by the
//! harness, the gateway in-process with the shipped default pack and the built plugins, and
//! real clients (tokio-postgres, psql, pgbench).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_gateway::config::Config;
use articdbm_gateway::pg::Gateway;
use articdbm_tests::PgServer;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

const APP_PASSWORD: &str = "app-secret";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Setup {
    pg: PgServer,
    gw: Gateway,
    _dir: tempfile::TempDir,
}

/// PostgreSQL with a `shop` database, and a gateway in front of it.
async fn setup(pool: &str, extra: &str) -> Setup {
    let pg = tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().expect("postgres starts");
        pg.create_user("shop_owner", "owner-pw").unwrap();
        pg.create_database("shop", "shop_owner").unwrap();
        pg.psql_as(
            "shop",
            "shop_owner",
            "owner-pw",
            "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric);
             INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 100) g;",
        )
        .unwrap();
        pg
    })
    .await
    .unwrap();
    let gw = gateway(&pg, pool, extra).await;
    Setup {
        pg,
        gw: gw.0,
        _dir: gw.1,
    }
}

async fn gateway(pg: &PgServer, pool: &str, extra: &str) -> (Gateway, tempfile::TempDir) {
    gateway_via(pg, "127.0.0.1", pool, extra).await
}

/// A gateway reaching `pg` at `host`: an address, or its Unix-socket directory.
async fn gateway_via(
    pg: &PgServer,
    host: &str,
    pool: &str,
    extra: &str,
) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
packs = ["{packs}"]
plugin_dir = "{plugins}"
cache_dir = "{cache}"
watch = false

[[user]]
name = "app"
password = "{APP_PASSWORD}"

[[database]]
name = "shop"
server_user = "shop_owner"
server_password = "owner-pw"
tls = "disable"
pool = {pool}
{extra}

[[database.backend]]
host = {host:?}
port = {port}
"#,
        packs = root().join("policies/default.toml").display(),
        plugins = articdbm_plugin_artifacts::PLUGIN_DIR,
        cache = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("component-cache")
            .display(),
        port = pg.port(),
    );
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(&path).expect("config parses");
    let gw = Gateway::start(config).await.expect("gateway starts");
    (gw, dir)
}

async fn connect(gw: &Gateway, password: &str) -> Result<Client, tokio_postgres::Error> {
    let addr = gw.pg_addr();
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=app password={password} dbname=shop",
            addr.port()
        ),
        NoTls,
    )
    .await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Waits (up to 10 s) until `query` is active on `pg`.
async fn wait_until_running(pg: &PgServer, query: &str) {
    let check = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE query = {} AND state = 'active'",
        articdbm_tests::pg::literal(query)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if pg.psql(&check).unwrap().trim() == "1" {
            return;
        }
        assert!(Instant::now() < deadline, "the query never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn code(e: &tokio_postgres::Error) -> Option<&SqlState> {
    e.code()
}

/// `GET path` from the gateway's admin listener: the whole HTTP response.
async fn admin_get(gw: &Gateway, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut t = tokio::net::TcpStream::connect(gw.admin_addr().unwrap())
        .await
        .unwrap();
    t.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut s = String::new();
    t.read_to_string(&mut s).await.unwrap();
    s
}

/// The value of a metric line starting with `series` (name and labels), 0 when absent.
async fn metric(gw: &Gateway, series: &str) -> f64 {
    let text = admin_get(gw, "/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queries_pass_and_injection_is_refused_with_42501() {
    let s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let c = connect(&s.gw, APP_PASSWORD).await.unwrap();

    let rows = c
        .query("SELECT name FROM items WHERE id = $1", &[&7i32])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "item 7");
    let rows = c.simple_query("SELECT count(*) FROM items").await.unwrap();
    assert!(
        matches!(&rows[1], tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("100"))
    );

    // Simple protocol.
    let e = c
        .simple_query("SELECT * FROM items WHERE name = '' OR '1'='1'")
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e:?}");
    let msg = e.as_db_error().unwrap().message().to_string();
    assert!(msg.contains("sqli."), "the message names the rule: {msg}");
    // Extended protocol: the Parse is refused.
    let e = c
        .prepare(
            "SELECT * FROM items WHERE id = 1 UNION SELECT NULL, usename, passwd FROM pg_shadow",
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e:?}");
    // Stacked statement after a harmless one: nothing of the string runs.
    let e = c
        .simple_query("UPDATE items SET price = 0 WHERE id = 1; DROP TABLE users")
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e:?}");
    let price: String = c
        .query_one("SELECT price::text FROM items WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(price, "1.5", "the implicit transaction was rolled back");
    // The connection stays usable.
    let n: i64 = c
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 100);

    let metrics = s.gw.shared.metrics.render();
    assert!(
        metrics.contains("articdbm_sql_injection_attempts_total 3"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusal_inside_a_transaction_fails_it_like_the_server_would() {
    let s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
    c.batch_execute("BEGIN; INSERT INTO items VALUES (1000, 'new', 1)")
        .await
        .unwrap();
    let e = c
        .simple_query("SELECT * FROM items WHERE id = 1 OR 1=1")
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    let e = c.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(
        code(&e),
        Some(&SqlState::IN_FAILED_SQL_TRANSACTION),
        "{e:?}"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM items WHERE id = 1000", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);

    // The same with the extended protocol inside a transaction.
    c.batch_execute("BEGIN").await.unwrap();
    let e = c
        .query(
            "SELECT * FROM items WHERE id = 1 AND 1=(SELECT 1 FROM pg_sleep(5))",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e:?}");
    let e = c.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(
        code(&e),
        Some(&SqlState::IN_FAILED_SQL_TRANSACTION),
        "{e:?}"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    c.query("SELECT 1", &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authentication_is_scram_and_errors_are_clear() {
    let s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let Err(e) = connect(&s.gw, "wrong").await else {
        panic!("a wrong password was accepted")
    };
    assert_eq!(code(&e), Some(&SqlState::INVALID_PASSWORD), "{e:?}");
    let port = s.gw.pg_addr().port();
    let (c, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=nobody password=x dbname=shop"),
        NoTls,
    )
    .await
    .map(|x| (Some(x.0), Some(x.1)))
    .unwrap_or((None, None));
    assert!(c.is_none() && conn.is_none(), "unknown users are refused");
    let e = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=app password={APP_PASSWORD} dbname=nope"),
        NoTls,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(code(&e), Some(&SqlState::UNDEFINED_DATABASE), "{e:?}");
    assert!(
        s.gw.shared
            .metrics
            .render()
            .contains("articdbm_auth_failures_total 2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prepared_statements_survive_transaction_pooling() {
    // 12 clients, 2 server connections: each client's statements must be found (or made)
    // on whichever server connection runs its next transaction.
    let s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let mut tasks = Vec::new();
    for i in 0..12i32 {
        let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
        tasks.push(tokio::spawn(async move {
            let by_id = c
                .prepare("SELECT name FROM items WHERE id = $1")
                .await
                .unwrap();
            // A statement only this client has.
            let own = c.prepare(&format!("SELECT $1::int + {i}")).await.unwrap();
            for k in 1..=40i32 {
                let id = (k + i) % 100 + 1;
                let name: String = c.query_one(&by_id, &[&id]).await.unwrap().get(0);
                assert_eq!(name, format!("item {id}"));
                let v: i32 = c.query_one(&own, &[&k]).await.unwrap().get(0);
                assert_eq!(v, k + i);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let m = s.gw.shared.metrics.render();
    // The series exists from the pool's start; no client may have given up waiting.
    assert!(
        m.contains("articdbm_pool_timeouts_total{database=\"shop\"} 0\n"),
        "{m}"
    );
}

/// A backend given as its Unix-socket directory (as libpq takes it): queries, prepared
/// statements shared by more clients than server connections, refusals, a message larger than
/// the socket buffer (the connection must switch to waiting for write space) and cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unix_socket_backend_carries_the_whole_protocol() {
    let s = setup("{ mode = \"transaction\", size = 1 }", "").await;
    let socket_dir = s.pg.socket_dir().display().to_string();
    let (gw, _dir) = gateway_via(
        &s.pg,
        &socket_dir,
        "{ mode = \"transaction\", size = 1 }",
        "",
    )
    .await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(&gw, APP_PASSWORD).await.unwrap());
    }
    let mut tasks = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let stmt = c
                .prepare("SELECT name FROM items WHERE id = $1")
                .await
                .unwrap();
            for round in 0..20 {
                let id = (i as i32) * 20 + round + 1;
                let row = c.query_one(&stmt, &[&id]).await.unwrap();
                assert_eq!(row.get::<_, String>(0), format!("item {id}"));
            }
            c
        }));
    }
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    let c = &clients[0];
    let e = c
        .simple_query("SELECT * FROM items WHERE id = 1 OR 'a'='a'")
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e:?}");
    // 4 MiB in one Bind: far more than a Unix socket buffer takes at once.
    let big = "x".repeat(4 << 20);
    let row = c
        .query_one("SELECT length($1::text)", &[&big])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 4 << 20);
    let row = c
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 100);

    // Cancel travels to the server through its socket as well.
    let c = clients.pop().unwrap();
    let token = c.cancel_token();
    let q = tokio::spawn(async move { c.simple_query("SELECT pg_sleep(30)").await });
    wait_until_running(&s.pg, "SELECT pg_sleep(30)").await;
    token.cancel_query(NoTls).await.unwrap();
    let e = q.await.unwrap().unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::QUERY_CANCELED), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_reaches_the_running_query() {
    let s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
    let token = c.cancel_token();
    let start = Instant::now();
    let q = tokio::spawn(async move { c.simple_query("SELECT pg_sleep(30)").await });
    // Cancel once the query is running on the server.
    wait_until_running(&s.pg, "SELECT pg_sleep(30)").await;
    token.cancel_query(NoTls).await.unwrap();
    let e = q.await.unwrap().unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::QUERY_CANCELED), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exhausted_pool_queues_then_times_out_clearly() {
    let s = setup(
        "{ mode = \"transaction\", size = 1, queue_timeout_ms = 300 }",
        "",
    )
    .await;
    let a = connect(&s.gw, APP_PASSWORD).await.unwrap();
    let b = connect(&s.gw, APP_PASSWORD).await.unwrap();
    a.batch_execute("BEGIN").await.unwrap(); // holds the only server connection
    let e = b.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), Some(&SqlState::TOO_MANY_CONNECTIONS), "{e:?}");
    let msg = e.as_db_error().unwrap().message();
    assert!(msg.contains("pool exhausted"), "{msg}");
    a.batch_execute("COMMIT").await.unwrap();
    // Queued clients get the connection as soon as it is free.
    let t = tokio::spawn(async move {
        let r = b.simple_query("SELECT 2").await;
        (b, r)
    });
    let (_b, r) = t.await.unwrap();
    r.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_restart_errors_in_flight_work_and_the_gateway_recovers() {
    let mut s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
    c.simple_query("SELECT 1").await.unwrap();
    c.batch_execute("BEGIN").await.unwrap();
    let pg = &mut s.pg;
    tokio::task::block_in_place(|| pg.kill().unwrap());
    let e = c.simple_query("SELECT 1").await.unwrap_err();
    assert!(
        e.code().is_some(),
        "a server-side error, not a dropped client: {e:?}"
    );
    tokio::task::block_in_place(|| s.pg.restart().unwrap());
    // The same client connection works again once the server is back.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match c.simple_query("SELECT 1").await {
            Ok(_) => break,
            Err(e) => {
                assert!(Instant::now() < deadline, "gateway did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn psql_and_pgbench_through_the_gateway() {
    let s = setup("{ mode = \"transaction\", size = 4 }", "").await;
    let port = s.gw.pg_addr().port();
    let pg = &s.pg;
    tokio::task::block_in_place(|| {
        let out = articdbm_tests::pg::psql(
            "127.0.0.1",
            port,
            "shop",
            "app",
            APP_PASSWORD,
            // A stack that opens like a script (transaction control first) passes the
            // baseline; one that starts with a query is what `sqli.stacked` refuses.
            "BEGIN; SELECT name FROM items WHERE id = 3; SELECT count(*) FROM items; COMMIT;",
        )
        .unwrap();
        assert_eq!(out, "item 3\n100");
        let e = articdbm_tests::pg::psql(
            "127.0.0.1",
            port,
            "shop",
            "app",
            APP_PASSWORD,
            "SELECT * FROM items WHERE id = 1 OR 'a'='a'",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("refused by policy rule sqli."), "{e}");

        // pgbench: its own tables, more clients than server connections, all three protocols.
        pg.psql_in("shop", "GRANT CREATE ON SCHEMA public TO shop_owner")
            .unwrap();
        let pgbench = articdbm_tests::tools::pgbench().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(&pgbench)
                .args(args)
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    "app",
                    "shop",
                ])
                .env("PGPASSWORD", APP_PASSWORD)
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "pgbench {args:?}: {text}");
            text
        };
        // Initialising goes through the gateway too (DDL and COPY are ordinary statements).
        run(&["-i", "-s", "1", "-q"]);
        // One pgbench thread driving 8 clients over 4 server connections: its synchronous
        // prepares must not wait in the pool queue behind its own clients' transactions.
        let out = run(&["-M", "prepared", "-c", "8", "-j", "1", "-t", "50", "-S"]);
        assert!(out.contains("number of failed transactions: 0"), "{out}");
        for mode in ["simple", "extended", "prepared"] {
            let out = run(&["-M", mode, "-c", "10", "-j", "2", "-t", "50", "-S"]);
            assert!(
                out.contains("number of failed transactions: 0"),
                "{mode}: {out}"
            );
            let out = run(&["-M", mode, "-c", "6", "-j", "2", "-t", "20"]);
            assert!(
                out.contains("number of failed transactions: 0"),
                "{mode}: {out}"
            );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_endpoints_report_health_and_metrics() {
    let s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
    c.simple_query("SELECT 1").await.unwrap();
    let get = |path: &'static str| admin_get(&s.gw, path);
    let h = get("/healthz").await;
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    assert!(h.contains("\"up\":true"), "{h}");
    let m = get("/metrics").await;
    for name in [
        "articdbm_active_connections 1",
        "articdbm_total_queries",
        "articdbm_query_duration_seconds",
        "articdbm_auth_failures_total 0",
        "articdbm_sql_injection_attempts_total 0",
        "articdbm_pool_server_connections{",
        "articdbm_backend_up{",
    ] {
        assert!(m.contains(name), "{name} missing from:\n{m}");
    }
    drop(Arc::new(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_side_prepared_statements_stay_bounded() {
    let s = setup(
        "{ mode = \"transaction\", size = 1, max_prepared_statements = 5 }",
        "",
    )
    .await;
    let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
    let mut stmts = Vec::new();
    for i in 0..20i32 {
        stmts.push(c.prepare(&format!("SELECT $1::int * {i}")).await.unwrap());
    }
    // Every statement still works, in any order: evicted ones are prepared again.
    for round in 0..2 {
        for (i, st) in stmts.iter().enumerate().rev() {
            let v: i32 = c.query_one(st, &[&(round + 1)]).await.unwrap().get(0);
            assert_eq!(v, (round + 1) * i as i32);
        }
    }
    let rows = c
        .simple_query("SELECT count(*) FROM pg_prepared_statements")
        .await
        .unwrap();
    let n: i64 = match &rows[1] {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).unwrap().parse().unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(
        (1..=5).contains(&n),
        "{n} statements prepared on the server connection"
    );
}

/// Transaction pooling with more clients than server connections: each client must get
/// exactly its own answers, errors and transactions, in every protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_clients_on_fewer_connections_get_their_own_answers() {
    let s = setup("{ mode = \"transaction\", size = 2 }", "").await;
    let mut tasks = Vec::new();
    for id in 0..12i32 {
        let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
        tasks.push(tokio::spawn(async move {
            let by_id = c
                .prepare("SELECT id, name FROM items WHERE id = $1")
                .await
                .unwrap();
            for i in 0..150i32 {
                let k = 1 + (id * 7 + i) % 100;
                match i % 5 {
                    0 | 1 => {
                        let rows = c
                            .simple_query(&format!("SELECT name FROM items WHERE id = {k}"))
                            .await
                            .unwrap();
                        assert_eq!(first_value(&rows), format!("item {k}"), "client {id}");
                    }
                    2 => {
                        let row = c.query_one(&by_id, &[&k]).await.unwrap();
                        assert_eq!(row.get::<_, i32>(0), k, "client {id}");
                        assert_eq!(row.get::<_, String>(1), format!("item {k}"));
                    }
                    3 if id % 3 == 0 => {
                        // A transaction of its own: writes nothing others could see.
                        c.batch_execute("BEGIN").await.unwrap();
                        c.execute("UPDATE items SET price = price WHERE id = $1", &[&k])
                            .await
                            .unwrap();
                        let n: i64 = c
                            .query_one("SELECT count(*) FROM items WHERE id <= $1", &[&k])
                            .await
                            .unwrap()
                            .get(0);
                        assert_eq!(n, i64::from(k));
                        c.batch_execute("COMMIT").await.unwrap();
                    }
                    3 => {
                        // An error is this client's alone, and the next request works.
                        let e = c
                            .query_one("SELECT id / 0 FROM items WHERE id = $1", &[&k])
                            .await
                            .unwrap_err();
                        assert_eq!(code(&e), Some(&SqlState::DIVISION_BY_ZERO), "{e:?}");
                    }
                    _ => {
                        // An unnamed statement (parse, bind, execute in one exchange).
                        let v: i32 = c
                            .query_one("SELECT $1::int + id FROM items WHERE id = 1", &[&id])
                            .await
                            .unwrap()
                            .get(0);
                        assert_eq!(v, id + 1);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// A client waiting for the only server connection gets its answer when the client holding
/// it goes away mid-query.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_waiting_request_is_served_after_the_client_ahead_leaves_mid_query() {
    let s = setup("{ mode = \"transaction\", size = 1 }", "").await;
    let a = connect(&s.gw, APP_PASSWORD).await.unwrap();
    let b = connect(&s.gw, APP_PASSWORD).await.unwrap();
    a.simple_query("SELECT 1").await.unwrap();
    let slow = "SELECT count(*) FROM generate_series(1, 30000000)";
    let running = tokio::spawn(async move { a.simple_query(slow).await.map(|_| ()) });
    wait_until_running(&s.pg, slow).await;
    let queued = tokio::spawn(async move {
        let rows = b.simple_query("SELECT name FROM items WHERE id = 7").await;
        (b, rows)
    });
    let series = "articdbm_pool_waiting_clients{database=\"shop\"}";
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&s.gw, series).await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "b never waited for the connection"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // `a` goes away mid-query (its task and connection dropped).
    running.abort();
    let (b, rows) = queued.await.unwrap();
    assert_eq!(first_value(&rows.unwrap()), "item 7");
    // The connection stays sound for the next request.
    let rows = b.simple_query("SELECT count(*) FROM items").await.unwrap();
    assert_eq!(first_value(&rows), "100");
}

/// The first column of the first row of a simple query's answer.
fn first_value(messages: &[tokio_postgres::SimpleQueryMessage]) -> String {
    messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no row in {messages:?}"))
}

/// Sessions give their buffers back between transactions and wait for readiness before
/// reading again. Eight clients on one server connection alternate small statements with
/// large ones after idling (a 300 KiB statement text in, a 200 KiB value out, by the simple
/// and the extended protocol): each gets exactly its own answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_sharing_one_connection_get_their_own_large_answers_after_idling() {
    let s = setup("{ mode = \"transaction\", size = 1 }", "").await;
    let mut tasks = Vec::new();
    for i in 0..8usize {
        let c = connect(&s.gw, APP_PASSWORD).await.unwrap();
        tasks.push(tokio::spawn(async move {
            for round in 0..5usize {
                let id = (i * 5 + round) % 100 + 1;
                let row = c
                    .query_one("SELECT name FROM items WHERE id = $1", &[&(id as i32)])
                    .await
                    .unwrap();
                assert_eq!(row.get::<_, String>(0), format!("item {id}"));
                let marker = format!("client {i} round {round}");
                let big_in = "z".repeat(300 * 1024 + i);
                let sql = format!(
                    "SELECT '{marker}' || repeat('y', {n}), length('{big_in}')",
                    n = 200 * 1024 + round
                );
                let rows = c.simple_query(&sql).await.unwrap();
                let row = rows
                    .iter()
                    .find_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
                        _ => None,
                    })
                    .expect("a row");
                let out = row.get(0).unwrap();
                assert!(out.starts_with(&marker), "{i}/{round} got another answer");
                assert_eq!(out.len(), marker.len() + 200 * 1024 + round);
                assert_eq!(row.get(1), Some(big_in.len().to_string().as_str()));
                let echoed: String = c
                    .query_one("SELECT $1::text || $2::text", &[&marker, &big_in])
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(echoed.len(), marker.len() + big_in.len());
                assert!(echoed.starts_with(&marker));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
