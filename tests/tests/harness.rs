//! The harness itself, proved against real servers and clients: PostgreSQL with SCRAM through
//! tokio-postgres and psql, a streaming replica, PgBouncer in transaction mode, psycopg from the
//! shared venv, and a crash and restart.

use articdbm_tests::net::{free_port, loopback, wait_for_port};
use articdbm_tests::tools;
use articdbm_tests::{HostAuth, PgBouncer, PgOptions, PgServer, PoolMode};
use std::process::Command;
use std::time::{Duration, Instant};

async fn connect(connstr: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(connstr, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

#[tokio::test]
async fn tokio_postgres_logs_in_with_scram_and_queries() {
    let pg = PgServer::start().expect("start postgres");
    assert_eq!(
        pg.psql("SHOW password_encryption").unwrap(),
        "scram-sha-256"
    );
    pg.create_user("alice", "alice-pw").unwrap();
    assert!(
        pg.password_verifier("alice")
            .unwrap()
            .starts_with("SCRAM-SHA-256$4096:")
    );

    let client = connect(&pg.connstr("postgres", "alice", "alice-pw"))
        .await
        .unwrap();
    let row = client
        .query_one("SELECT $1::int + 1, current_user::text", &[&41i32])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
    assert_eq!(row.get::<_, String>(1), "alice");
    // The login really went through SCRAM: pg_hba says so for every host connection.
    let hba = pg
        .psql("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND 'all' = ANY(database)")
        .unwrap();
    assert!(hba.lines().all(|m| m == "scram-sha-256"), "{hba}");
}

#[test]
fn psql_creates_a_database_and_queries_it_as_its_owner() {
    let pg = PgServer::start().expect("start postgres");
    pg.create_user("app", "app pw with 'quotes'").unwrap();
    pg.create_database("appdb", "app").unwrap();
    let out = pg
        .psql_as(
            "appdb",
            "app",
            "app pw with 'quotes'",
            "CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, 'one'), (2, 'two'); \
             SELECT id, name FROM t ORDER BY id",
        )
        .unwrap();
    assert_eq!(out, "1|one\n2|two");
    assert_eq!(
        pg.psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'")
            .unwrap(),
        "app"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let pg = PgServer::start().expect("start postgres");
    pg.create_user("bob", "right").unwrap();

    let Err(err) = connect(&pg.connstr("postgres", "bob", "wrong")).await else {
        panic!("a wrong password was accepted");
    };
    let db = err.as_db_error().expect("a server error");
    assert_eq!(
        db.code(),
        &tokio_postgres::error::SqlState::INVALID_PASSWORD
    );

    let err = pg
        .psql_as("postgres", "bob", "wrong", "SELECT 1")
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("password authentication failed"),
        "{err:#}"
    );
    assert_eq!(
        pg.psql_as("postgres", "bob", "right", "SELECT 1").unwrap(),
        "1"
    );
}

#[tokio::test]
async fn md5_servers_are_available_for_legacy_backends() {
    let pg = PgServer::start_with(PgOptions {
        auth: HostAuth::Md5,
        ..PgOptions::default()
    })
    .expect("start postgres");
    pg.create_user("old", "old-pw").unwrap();
    assert!(pg.password_verifier("old").unwrap().starts_with("md5"));
    let client = connect(&pg.connstr("postgres", "old", "old-pw"))
        .await
        .unwrap();
    let row = client.query_one("SELECT 7", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
    assert!(
        connect(&pg.connstr("postgres", "old", "nope"))
            .await
            .is_err()
    );
}

#[test]
fn a_replica_streams_rows_written_on_the_primary() {
    let primary = PgServer::start().expect("start primary");
    primary
        .psql("CREATE TABLE kv (k text PRIMARY KEY, v int); INSERT INTO kv VALUES ('before', 1)")
        .unwrap();
    let replica = PgServer::start_replica(&primary).expect("start replica");
    assert_ne!(replica.port(), primary.port());
    assert!(replica.is_in_recovery().unwrap());
    assert!(!primary.is_in_recovery().unwrap());
    // Present in the base backup.
    assert_eq!(
        replica.psql("SELECT v FROM kv WHERE k = 'before'").unwrap(),
        "1"
    );

    // Written after the backup: arrives through streaming replication.
    primary.psql("INSERT INTO kv VALUES ('after', 2)").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = replica.psql("SELECT v FROM kv WHERE k = 'after'").unwrap();
        if v == "2" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "row never replicated; log:\n{}",
            replica.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = replica.psql("INSERT INTO kv VALUES ('x', 3)").unwrap_err();
    assert!(
        format!("{err:#}").contains("read-only transaction"),
        "{err:#}"
    );
    let senders = primary
        .psql("SELECT usename FROM pg_stat_replication")
        .unwrap();
    assert_eq!(senders, "replicator");
}

#[test]
fn pgbouncer_in_transaction_mode_answers_psql() {
    let pg = PgServer::start().expect("start postgres");
    pg.create_user("pool", "pool-pw").unwrap();
    pg.create_database("pooled", "pool").unwrap();
    let bouncer = PgBouncer::start(&pg, "pooled", "pool", "pool-pw", 2, PoolMode::Transaction)
        .expect("start pgbouncer");
    assert_ne!(bouncer.port(), pg.port());
    let out = bouncer
        .psql(
            "pool",
            "pool-pw",
            "SELECT current_database(), current_user, 6 * 7",
        )
        .unwrap();
    assert_eq!(out, "pooled|pool|42");
    // Server connections are PgBouncer's: the backend sees it on the loopback.
    let from = pg
        .psql("SELECT count(*) > 0 FROM pg_stat_activity WHERE usename = 'pool' AND datname = 'pooled'")
        .unwrap();
    assert_eq!(from, "t");
    let err = format!(
        "{:#}",
        bouncer.psql("pool", "wrong", "SELECT 1").unwrap_err()
    );
    assert!(err.contains("SASL authentication failed"), "{err}");
}

#[test]
fn python_psycopg_connects_from_the_shared_venv() {
    let pg = PgServer::start().expect("start postgres");
    pg.create_user("py", "py-pw").unwrap();
    let python = tools::python_venv().expect("python venv");
    let script = "import sys, psycopg\n\
                  with psycopg.connect(sys.argv[1]) as conn:\n\
                  \x20   row = conn.execute('SELECT %s::int * 2, current_user', (21,)).fetchone()\n\
                  \x20   print(row[0], row[1])\n";
    let out = Command::new(&python)
        .args(["-c", script, &pg.connstr("postgres", "py", "py-pw")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42 py");
}

#[tokio::test]
async fn a_killed_server_drops_clients_and_restarts() {
    let mut pg = PgServer::start().expect("start postgres");
    pg.psql("CREATE TABLE durable (x int); INSERT INTO durable VALUES (1)")
        .unwrap();
    // A clean stop and start keeps the data and the port.
    let port = pg.port();
    pg.stop().unwrap();
    assert!(wait_for_port(loopback(port), Duration::from_millis(200)).is_err());
    pg.restart().unwrap();
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("SELECT x FROM durable").unwrap(), "1");

    let client = connect(&pg.superuser_connstr("postgres")).await.unwrap();
    client.query_one("SELECT 1", &[]).await.unwrap();
    pg.kill().unwrap();
    assert!(client.query_one("SELECT 1", &[]).await.is_err());
    assert!(pg.psql("SELECT 1").is_err());

    pg.restart().unwrap();
    assert_eq!(pg.psql("SELECT 1").unwrap(), "1");
    let client = connect(&pg.superuser_connstr("postgres")).await.unwrap();
    client.query_one("SELECT 1", &[]).await.unwrap();
}

#[test]
fn wait_for_port_sees_a_listener_and_times_out_without_one() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    wait_for_port(listener.local_addr().unwrap(), Duration::from_secs(5)).unwrap();
    let port = free_port().unwrap();
    let started = Instant::now();
    let err = wait_for_port(loopback(port), Duration::from_millis(300)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(err.to_string().contains("within"), "{err}");
}

#[test]
fn dropping_a_server_stops_it() {
    let pg = PgServer::start().expect("start postgres");
    let (addr, dir) = (pg.addr(), pg.data_dir().to_path_buf());
    drop(pg);
    assert!(wait_for_port(addr, Duration::from_millis(200)).is_err());
    assert!(!dir.exists());
}
