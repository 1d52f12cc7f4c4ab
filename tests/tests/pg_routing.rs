//! Read/write splitting against a real primary and streaming replica.
//!
//! Which server ran a statement is shown two ways, both plain SELECTs: the server's own view
//! of itself (`SELECT setting FROM pg_settings WHERE name = 'port'`, `pg_stat_wal_receiver`),
//! and data: replay is paused on the replica, then a row is written on the primary directly —
//! a statement that sees the row ran on the primary, one that does not ran on the replica.
//!
//! The session's read-only status, though, is the gateway's (a writable endpoint), whichever
//! server answers: `SHOW transaction_read_only` / `in_hot_standby` and `pg_is_in_recovery()`
//! must say what the startup ParameterStatus said and what the session's writes show.
//!
//! Then the replica goes away (stopped, and in another test killed): reads fail over to the
//! primary within a bounded time, `/healthz` and `articdbm_backend_up` report it down, and
//! once it is back the health check (every second here) sends reads to it again.

mod gw_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_gateway::pg::Gateway;
use articdbm_tests::PgServer;
use gw_support::*;
use tokio_postgres::Client;

struct Setup {
    primary: PgServer,
    replica: PgServer,
    gw: Gateway,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let (primary, replica) = tokio::task::spawn_blocking(|| {
        let primary = PgServer::start().expect("primary starts");
        create_shop(&primary);
        primary
            .psql_in(
                "shop",
                "CREATE SEQUENCE ids; ALTER SEQUENCE ids OWNER TO shop_owner",
            )
            .unwrap();
        let replica = PgServer::start_replica(&primary).expect("replica starts");
        (primary, replica)
    })
    .await
    .unwrap();
    let (gw, dir) = start_gateway(
        "",
        &database(
            "shop",
            "{ mode = \"transaction\", size = 4, health_check_secs = 1, connect_timeout_ms = 2000, queue_timeout_ms = 5000 }",
            "tls = \"disable\"\nread_write_split = true",
            &[
                Backend::primary(primary.port()),
                Backend::replica(replica.port(), 2),
            ],
        ),
    )
    .await;
    Setup {
        primary,
        replica,
        gw,
        _dir: dir,
    }
}

async fn port_of_read(c: &Client) -> Result<u16, String> {
    let v = simple_value(c, "SELECT setting FROM pg_settings WHERE name = 'port'")
        .await
        .map_err(|e| describe(&e))?;
    v.ok_or("no row")?.parse().map_err(|e| format!("{e}"))
}

/// Pauses WAL replay on the replica (until resumed) and writes row 1000 on the primary.
fn diverge(s: &Setup) {
    s.replica.psql("SELECT pg_wal_replay_pause()").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s
        .replica
        .psql("SELECT pg_get_wal_replay_pause_state()")
        .unwrap()
        != "paused"
    {
        assert!(Instant::now() < deadline, "replay never paused");
        std::thread::sleep(Duration::from_millis(20));
    }
    s.primary
        .psql_in("shop", "INSERT INTO items VALUES (1000, 'fresh', 1)")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_go_to_the_replica_and_writes_to_the_primary() {
    let s = setup().await;
    let (pport, rport) = (s.primary.port(), s.replica.port());
    tokio::task::block_in_place(|| diverge(&s));
    let c = connect(&s.gw, "shop").await.unwrap();

    // A plain SELECT of a catalog view: the replica answers.
    assert_eq!(port_of_read(&c).await.unwrap(), rport);
    assert_eq!(
        simple_value(&c, "SELECT count(*) FROM pg_stat_wal_receiver")
            .await
            .unwrap()
            .as_deref(),
        Some("1"),
        "the server that answered streams from the primary"
    );

    // Plain SELECTs outside a transaction: simple protocol, extended (unnamed statement),
    // and a named prepared statement.
    assert_eq!(
        simple_value(&c, "SELECT count(*) FROM items")
            .await
            .unwrap()
            .as_deref(),
        Some("100"),
        "the replica does not have row 1000 yet"
    );
    let q = "SELECT name FROM items WHERE id = $1";
    assert!(c.query_opt(q, &[&1000i32]).await.unwrap().is_none());
    let st = c.prepare(q).await.unwrap();
    assert!(c.query_opt(&st, &[&1000i32]).await.unwrap().is_none());
    assert_eq!(
        c.query_one(&st, &[&7i32])
            .await
            .unwrap()
            .get::<_, String>(0),
        "item 7"
    );
    // Aggregates and functions from the read-only list stay on the replica.
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM items WHERE lower(name) LIKE 'item%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 100);

    // Locking reads run on the primary.
    for lock in ["FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE"] {
        let r = simple_value(
            &c,
            &format!("SELECT name FROM items WHERE id = 1000 {lock}"),
        )
        .await
        .unwrap();
        assert_eq!(r.as_deref(), Some("fresh"), "{lock}");
    }
    // Functions outside the read-only list (they may write): the primary.
    let v: i64 = c
        .query_one("SELECT nextval('ids')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(v >= 1);
    // Writes, also hidden in a SELECT's CTE: the primary (the replica would refuse them).
    c.execute("INSERT INTO items VALUES (1001, 'written', 2)", &[])
        .await
        .unwrap();
    let id: i32 = c
        .query_one(
            "WITH w AS (INSERT INTO items VALUES (1002, 'cte', 3) RETURNING id) SELECT id FROM w",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(id, 1002);
    c.batch_execute("UPDATE items SET price = 9 WHERE id = 1001")
        .await
        .unwrap();

    // Everything in a transaction block runs on the primary, reads included.
    let mut c = c;
    let tx = c.transaction().await.unwrap();
    assert_eq!(
        tx.query_opt(q, &[&1000i32])
            .await
            .unwrap()
            .map(|r| r.get::<_, String>(0)),
        Some("fresh".to_string())
    );
    let receivers: i64 = tx
        .query_one("SELECT count(*) FROM pg_stat_wal_receiver", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(receivers, 0);
    assert_eq!(port_of_read(tx.client()).await.unwrap(), pport);
    let n: i64 = tx
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 103);
    tx.commit().await.unwrap();
    // A transaction opened by a simple-query string: the SELECT after BEGIN is on the primary.
    let rows = c
        .simple_query("BEGIN; SELECT name FROM items WHERE id = 1000; COMMIT")
        .await
        .unwrap();
    assert!(
        rows.iter().any(
            |m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("fresh"))
        ),
        "{rows:?}"
    );

    // Back outside: reads go to the replica again.
    assert_eq!(port_of_read(&c).await.unwrap(), rport);
    assert!(c.query_opt(q, &[&1000i32]).await.unwrap().is_none());

    // Replay resumes: the replica catches up, and reads (still on it) see the rows. (Commits
    // are asynchronous on these servers, so poll for the row rather than for an LSN.)
    tokio::task::block_in_place(|| s.replica.psql("SELECT pg_wal_replay_resume()").unwrap());
    let c = &c;
    let st = &st;
    poll(
        "the replica replays the writes",
        Duration::from_secs(20),
        || async move {
            let r = c
                .query_opt(st, &[&1002i32])
                .await
                .map_err(|e| describe(&e))?;
            match r {
                Some(r) => Ok(r.get::<_, String>(0)),
                None => Err("row 1002 not there yet".into()),
            }
        },
    )
    .await;
    assert_eq!(port_of_read(c).await.unwrap(), rport);
}

/// What a client learns about the session's read-only status must agree with what the
/// session can do (write) and with what the gateway reported at startup (the primary's
/// ParameterStatus: `in_hot_standby = off`, which is why libpq's
/// `target_session_attrs=read-write` accepts the gateway). Drivers that ask instead of reading
/// ParameterStatus — pgjdbc's `targetServerType=primary` sends `SHOW transaction_read_only`,
/// older libpq sends the same for `target_session_attrs=read-write` — must not be told "read
/// only" by a replica answering for a writable session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_only_status_is_the_writable_sessions() {
    let s = setup().await;
    let port = s.gw.pg_addr().port();
    tokio::task::block_in_place(|| {
        let conninfo = |attrs: &str| {
            format!(
                "host=127.0.0.1 port={port} user={APP_USER} dbname=shop sslmode=disable \
                 connect_timeout=10 target_session_attrs={attrs}"
            )
        };
        let (ok, _, err) = psql_conn(&conninfo("read-write"), APP_PASSWORD, "SELECT 1");
        assert!(ok, "libpq sees a writable session at startup: {err}");
        let (ok, _, _) = psql_conn(&conninfo("standby"), APP_PASSWORD, "SELECT 1");
        assert!(!ok, "libpq sees no standby at startup");
    });
    let c = connect(&s.gw, "shop").await.unwrap();
    // Reads do go to the replica in this session.
    assert_eq!(port_of_read(&c).await.unwrap(), s.replica.port());
    c.batch_execute("INSERT INTO items VALUES (2000, 'writable', 1)")
        .await
        .unwrap();
    let mut wrong = Vec::new();
    for (q, want) in [
        ("SELECT pg_is_in_recovery()::text", "false"),
        ("SHOW transaction_read_only", "off"),
        ("SHOW in_hot_standby", "off"),
        ("SHOW default_transaction_read_only", "off"),
    ] {
        let got = simple_value(&c, q).await.unwrap();
        if got.as_deref() != Some(want) {
            wrong.push(format!("{q} -> {got:?}, want {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "a writable session was told it is read-only: {wrong:#?}"
    );
}

/// `/healthz` entry of the replica: `Some(up)`.
async fn replica_up_in_healthz(gw: &Gateway, rport: u16) -> Option<bool> {
    let h = http_get(gw, "/healthz").await;
    let entry = format!("\"backend\":\"127.0.0.1:{rport}\",\"role\":\"replica\",\"up\":");
    let at = h.find(&entry)? + entry.len();
    Some(h[at..].starts_with("true"))
}

async fn replica_up_metric(gw: &Gateway, rport: u16) -> Option<f64> {
    let m = http_get(gw, "/metrics").await;
    metric(
        &m,
        &format!("articdbm_backend_up{{backend=\"127.0.0.1:{rport}\",database=\"shop\"}}"),
    )
}

/// Reads keep working while the replica is gone, and come back to it when it returns.
async fn failover_and_back(mut s: Setup, kill: bool) {
    let (pport, rport) = (s.primary.port(), s.replica.port());
    // Several clients, so the replica's pool holds more than one idle connection when it dies.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(Arc::new(connect(&s.gw, "shop").await.unwrap()));
    }
    for _ in 0..3 {
        let ports = show_ports(&clients, pport, rport).await;
        assert!(
            ports.iter().all(|p| p.as_deref() == Ok("replica")),
            "{ports:?}"
        );
    }
    assert_eq!(replica_up_in_healthz(&s.gw, rport).await, Some(true));
    assert_eq!(replica_up_metric(&s.gw, rport).await, Some(1.0));

    let replica = &mut s.replica;
    tokio::task::block_in_place(|| {
        if kill {
            replica.kill().unwrap()
        } else {
            replica.stop().unwrap()
        }
    });
    let stopped = Instant::now();
    let c = &clients[0];
    // Reads fail over to the primary: errors are allowed only until then, never a hang.
    let mut errors = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), port_of_read(c)).await {
            Ok(Ok(p)) => {
                assert_eq!(p, pport, "the replica is down");
                break;
            }
            Ok(Err(e)) => errors.push(e),
            Err(_) => panic!("a read hung with the replica down"),
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "reads did not fail over within 10 s: {errors:?}"
        );
    }
    let failover = stopped.elapsed();
    eprintln!("failover after {failover:?}; errors on the way: {errors:?}");
    // From now on every read of every client works, on the primary.
    for round in 0..5 {
        let ports = show_ports(&clients, pport, rport).await;
        assert!(
            ports.iter().all(|p| p.as_deref() == Ok("primary")),
            "round {round} after failover ({failover:?}, errors before: {errors:?}): {ports:?}"
        );
    }
    let q = "SELECT name FROM items WHERE id = $1";
    assert_eq!(
        c.query_one(q, &[&3i32]).await.unwrap().get::<_, String>(0),
        "item 3"
    );
    // The admin endpoints say the replica is down; the gateway stays healthy (the primary
    // serves).
    poll(
        "healthz shows the replica down",
        Duration::from_secs(5),
        || async {
            match replica_up_in_healthz(&s.gw, rport).await {
                Some(false) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert_eq!(replica_up_metric(&s.gw, rport).await, Some(0.0));
    assert!(
        http_get(&s.gw, "/healthz")
            .await
            .starts_with("HTTP/1.1 200")
    );

    // The replica comes back: the health check lifts the ban and reads return to it.
    let replica = &mut s.replica;
    tokio::task::block_in_place(|| replica.restart().unwrap());
    assert!(tokio::task::block_in_place(|| s
        .replica
        .is_in_recovery()
        .unwrap()));
    let back = Instant::now();
    poll(
        "reads return to the replica",
        Duration::from_secs(10),
        || async {
            match port_of_read(c).await {
                Ok(p) if p == rport => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let returned = back.elapsed();
    eprintln!("reads back on the replica {returned:?} after its restart");
    assert_eq!(replica_up_in_healthz(&s.gw, rport).await, Some(true));
    assert_eq!(replica_up_metric(&s.gw, rport).await, Some(1.0));
    // Every client reads from it, without errors.
    for round in 0..5 {
        let ports = show_ports(&clients, pport, rport).await;
        assert!(
            ports.iter().all(|p| p.as_deref() == Ok("replica")),
            "round {round} after the replica returned ({returned:?}): {ports:?}"
        );
    }
}

/// [`port_of_read`] on every client at once: "primary", "replica" or the error.
async fn show_ports(
    clients: &[Arc<Client>],
    pport: u16,
    rport: u16,
) -> Vec<Result<String, String>> {
    let tasks: Vec<_> = clients
        .iter()
        .map(|c| {
            let c = Arc::clone(c);
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), port_of_read(&c)).await {
                    Ok(Ok(p)) if p == pport => Ok("primary".to_string()),
                    Ok(Ok(p)) if p == rport => Ok("replica".to_string()),
                    Ok(Ok(p)) => Err(format!("port {p}?")),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err("hung for 10 s".to_string()),
                }
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_fail_over_when_the_replica_stops_and_return_when_it_is_back() {
    failover_and_back(setup().await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_fail_over_when_the_replica_is_killed_and_return_when_it_is_back() {
    failover_and_back(setup().await, true).await;
}
