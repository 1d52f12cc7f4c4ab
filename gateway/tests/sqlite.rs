//! The embedded SQLite backend driven by real PostgreSQL clients: tokio-postgres over TCP and
//! over an in-process duplex stream (the gateway's path), and the `psql` binary.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use articdbm_gateway::sqlite::{SqliteDb, serve};
use tokio::net::TcpListener;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// A TCP listener on 127.0.0.1:0 serving `db`, one task per accepted socket.
async fn start(db: Arc<SqliteDb>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            // Answers are written once per batch; without this, Nagle's algorithm and the
            // client's delayed ACK can add 40 ms to a round trip.
            let _ = socket.set_nodelay(true);
            let db = db.clone();
            tokio::spawn(async move {
                let _ = serve(socket, db).await;
            });
        }
    });
    addr
}

async fn connect(addr: SocketAddr) -> Client {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host={} port={} user=tester dbname=app application_name=it",
            addr.ip(),
            addr.port()
        ),
        NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

fn memory() -> Arc<SqliteDb> {
    SqliteDb::open(Path::new(":memory:")).unwrap()
}

/// Rows of a simple query as text, and the command-complete counts.
fn simple_rows(msgs: &[SimpleQueryMessage]) -> (Vec<Vec<Option<String>>>, Vec<u64>) {
    let mut rows = Vec::new();
    let mut counts = Vec::new();
    for m in msgs {
        match m {
            SimpleQueryMessage::Row(r) => {
                rows.push((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            SimpleQueryMessage::CommandComplete(n) => counts.push(*n),
            _ => {}
        }
    }
    (rows, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_query_with_several_statements() {
    let addr = start(memory()).await;
    let client = connect(addr).await;
    let msgs = client
        .simple_query(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, note TEXT);
             INSERT INTO t (name, note) VALUES ('a', 'semi;colon'), ('b', 'it''s');
             UPDATE t SET note = 'x' WHERE id = 2;
             SELECT id, name, note FROM t ORDER BY id;",
        )
        .await
        .unwrap();
    let (rows, counts) = simple_rows(&msgs);
    assert_eq!(counts, [0, 2, 1, 2]);
    assert_eq!(
        rows,
        [
            vec![
                Some("1".into()),
                Some("a".into()),
                Some("semi;colon".into())
            ],
            vec![Some("2".into()), Some("b".into()), Some("x".into())],
        ]
    );
    // An error in the middle rolls back the whole string (one implicit transaction).
    let err = client
        .simple_query("INSERT INTO t (name) VALUES ('c'); SELECT * FROM missing; INSERT INTO t (name) VALUES ('d')")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE));
    let msgs = client.simple_query("SELECT count(*) FROM t").await.unwrap();
    assert_eq!(simple_rows(&msgs).0, [vec![Some("2".into())]]);
    // Empty query.
    client.simple_query("").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_with_typed_parameters_and_binary_results() {
    let addr = start(memory()).await;
    let client = connect(addr).await;

    let row = client
        .query_one("SELECT $1::int8 + 1", &[&41i64])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);

    let row = client
        .query_one(
            "SELECT $1::int4, $2::int2, $3::float4, $4::float8, $5::bool, $6::text, $7::bytea",
            &[
                &7i32,
                &-3i16,
                &1.5f32,
                &2.25f64,
                &true,
                &"héllo",
                &vec![0u8, 1, 255],
            ],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
    assert_eq!(row.get::<_, i16>(1), -3);
    assert_eq!(row.get::<_, f32>(2), 1.5);
    assert_eq!(row.get::<_, f64>(3), 2.25);
    assert!(row.get::<_, bool>(4));
    assert_eq!(row.get::<_, &str>(5), "héllo");
    assert_eq!(row.get::<_, Vec<u8>>(6), [0, 1, 255]);

    client
        .batch_execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, \
             active BOOLEAN, payload BLOB, qty INTEGER)",
        )
        .await
        .unwrap();
    // Parameter types come from the columns they are inserted into or compared with.
    let insert = client
        .prepare("INSERT INTO items (name, price, active, payload, qty) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        [
            Type::TEXT,
            Type::FLOAT8,
            Type::BOOL,
            Type::BYTEA,
            Type::INT8
        ]
    );
    let mut ids = Vec::new();
    for (name, price, active, qty) in [("pen", 1.25, true, 10i64), ("ink", 7.5, false, 0)] {
        let row = client
            .query_one(&insert, &[&name, &price, &active, &vec![1u8, 2], &qty])
            .await
            .unwrap();
        ids.push(row.get::<_, i64>(0));
    }
    assert_eq!(ids, [1, 2]);
    let null_name: Option<String> = None;
    let err = client
        .execute(
            &insert,
            &[&null_name, &1.0f64, &true, &Vec::<u8>::new(), &1i64],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::NOT_NULL_VIOLATION));

    let rows = client
        .query(
            "SELECT id, name, price, active, payload, qty, price * qty AS total, count(*) OVER () AS n \
             FROM items WHERE price > $1 AND name <> $2 ORDER BY id",
            &[&1.0f64, &"nothing"],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.get::<_, i64>("id"), 1);
    assert_eq!(r.get::<_, String>("name"), "pen");
    assert_eq!(r.get::<_, f64>("price"), 1.25);
    assert!(r.get::<_, bool>("active"));
    assert_eq!(r.get::<_, Vec<u8>>("payload"), [1, 2]);
    assert_eq!(r.get::<_, i64>("qty"), 10);
    assert_eq!(r.get::<_, f64>("total"), 12.5);
    assert_eq!(r.get::<_, i64>("n"), 2);
    assert!(!rows[1].get::<_, bool>("active"));

    // NULLs in binary results, and `execute` counts.
    let row = client
        .query_one("SELECT NULL::int8, NULL::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i64>>(0), None);
    assert_eq!(row.get::<_, Option<String>>(1), None);
    let n = client
        .execute("UPDATE items SET qty = qty + $1", &[&1i64])
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_reports_parameter_and_column_types() {
    let addr = start(memory()).await;
    let client = connect(addr).await;
    client
        .batch_execute(
            "CREATE TABLE t (id INTEGER, name VARCHAR(20), score DOUBLE PRECISION, ok BOOL)",
        )
        .await
        .unwrap();
    let st = client
        .prepare("SELECT id, name, score, ok, id::text AS s, count(*) AS c FROM t WHERE id = $1 AND name LIKE $2 GROUP BY id LIMIT $3")
        .await
        .unwrap();
    assert_eq!(st.params(), [Type::INT8, Type::TEXT, Type::INT8]);
    let cols: Vec<(&str, Type)> = st
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_().clone()))
        .collect();
    assert_eq!(
        cols,
        [
            ("id", Type::INT8),
            ("name", Type::TEXT),
            ("score", Type::FLOAT8),
            ("ok", Type::BOOL),
            ("s", Type::TEXT),
            ("c", Type::INT8),
        ]
    );
    let st = client.prepare("UPDATE t SET ok = $1").await.unwrap();
    assert_eq!(st.params(), [Type::BOOL]);
    assert!(st.columns().is_empty());
    // A statement with no parameter context describes the parameter as text.
    let st = client.prepare("SELECT $1 AS v").await.unwrap();
    assert_eq!(st.params(), [Type::TEXT]);
    let row = client.query_one(&st, &[&"echo"]).await.unwrap();
    assert_eq!(row.get::<_, &str>("v"), "echo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_error_then_rollback() {
    let addr = start(memory()).await;
    let mut client = connect(addr).await;
    client
        .batch_execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
        .await
        .unwrap();
    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES ($1)", &[&1i64])
        .await
        .unwrap();
    let err = tx
        .execute("INSERT INTO t VALUES ($1)", &[&1i64])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
    let err = tx.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    let err = tx.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    tx.rollback().await.unwrap();
    let row = client
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);

    // A committed transaction sticks; COMMIT of a failed one reports ROLLBACK.
    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (5)", &[]).await.unwrap();
    tx.commit().await.unwrap();
    let msgs = client
        .simple_query("BEGIN; INSERT INTO t VALUES (6)")
        .await
        .unwrap();
    assert_eq!(simple_rows(&msgs).1, [0, 1]);
    assert!(client.simple_query("SELECT * FROM nope").await.is_err());
    client.simple_query("COMMIT").await.unwrap();
    let row = client
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_with_row_limits() {
    let addr = start(memory()).await;
    let mut client = connect(addr).await;
    client
        .batch_execute("CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (1), (2), (3), (4), (5)")
        .await
        .unwrap();
    let tx = client.transaction().await.unwrap();
    let portal = tx
        .bind("SELECT v FROM n WHERE v > $1 ORDER BY v", &[&0i64])
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 2).await.unwrap();
        if rows.is_empty() {
            break;
        }
        seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    assert_eq!(seen, [1, 2, 3, 4, 5]);
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_show_and_discard() {
    let addr = start(memory()).await;
    let client = connect(addr).await;
    let show = |msgs: Vec<SimpleQueryMessage>| simple_rows(&msgs).0[0][0].clone().unwrap();
    assert_eq!(
        show(client.simple_query("SHOW application_name").await.unwrap()),
        "it"
    );
    client
        .simple_query("SET application_name TO 'renamed'; SET TIME ZONE 'UTC'")
        .await
        .unwrap();
    assert_eq!(
        show(client.simple_query("SHOW application_name").await.unwrap()),
        "renamed"
    );
    assert_eq!(
        show(client.simple_query("SHOW server_version").await.unwrap()),
        "15.0"
    );
    let row = client
        .query_one("SELECT version(), current_database(), current_user", &[])
        .await
        .unwrap();
    assert!(row.get::<_, &str>(0).starts_with("PostgreSQL 15.0"));
    assert_eq!(row.get::<_, &str>(1), "app");
    assert_eq!(row.get::<_, &str>(2), "tester");
    client.batch_execute("DISCARD ALL").await.unwrap();
    assert_eq!(
        show(client.simple_query("SHOW application_name").await.unwrap()),
        "it"
    );
    for sql in ["COPY t FROM STDIN", "LISTEN chan", "NOTIFY chan"] {
        let err = client.simple_query(sql).await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED), "{sql}");
        let message = err
            .as_db_error()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(
            message.contains("not supported by the SQLite backend"),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connections_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("app.db")).unwrap();
    let addr = start(db).await;
    let a = connect(addr).await;
    let b = connect(addr).await;
    a.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
        .await
        .unwrap();

    // WAL: a reader sees the last committed state while a writer's transaction is open.
    a.batch_execute("BEGIN; INSERT INTO t (who) VALUES ('a')")
        .await
        .unwrap();
    let row = b.query_one("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);
    a.batch_execute("COMMIT").await.unwrap();
    let row = b.query_one("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);

    // Concurrent writers wait for each other (busy timeout) instead of failing.
    let mut tasks = Vec::new();
    for w in 0..4 {
        let client = connect(addr).await;
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                client
                    .execute("INSERT INTO t (who) VALUES ($1)", &[&format!("w{w}-{i}")])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let row = a.query_one("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_duplex_stream() {
    // What the gateway does: a duplex pair, the backend on one end, a client on the other.
    let db = memory();
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(serve(server_end, db));
    let (client, conn) = tokio_postgres::Config::new()
        .user("gw")
        .dbname("embedded")
        .connect_raw(client_end, NoTls)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")
        .await
        .unwrap();
    let st = client
        .prepare("INSERT INTO kv VALUES ($1, $2)")
        .await
        .unwrap();
    // Pipelined: several Bind/Execute before the responses are read.
    let (r1, r2, r3) = tokio::join!(
        client.execute(&st, &[&"a", &1i64]),
        client.execute(&st, &[&"b", &2i64]),
        client.execute(&st, &[&"c", &3i64]),
    );
    assert_eq!((r1.unwrap(), r2.unwrap(), r3.unwrap()), (1, 1, 1));
    let row = client
        .query_one("SELECT sum(v) FROM kv", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 6);
    drop(client);
    conn.await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve ends after Terminate")
        .unwrap()
        .unwrap();
}

/// Run psql against `addr` with `args`, feeding `stdin`. Returns (success, stdout, stderr), or
/// `None` when psql is not installed.
async fn psql(addr: SocketAddr, args: &[&str], stdin: &str) -> Option<(bool, String, String)> {
    let bin = ["/usr/bin/psql", "/usr/local/bin/psql"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let mut cmd = std::process::Command::new(bin);
    cmd.args([
        "-X",
        "-h",
        "127.0.0.1",
        "-p",
        &addr.port().to_string(),
        "-U",
        "x",
        "-d",
        "db",
    ])
    .args(args)
    .env("PGCONNECT_TIMEOUT", "10")
    .env("PGSSLMODE", "disable")
    .env_remove("PGPASSWORD")
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let stdin = stdin.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = cmd.spawn().unwrap();
        if let Some(mut i) = child.stdin.take() {
            i.write_all(stdin.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_client() {
    let addr = start(memory()).await;
    let Some((ok, out, err)) = psql(addr, &["-c", "select 1"], "").await else {
        println!(
            "SKIPPED psql_client: psql is not installed (scripts/test.sh installs postgresql-client)"
        );
        return;
    };
    assert!(ok, "psql -c failed: {err}");
    assert!(out.contains("?column?"), "{out}");
    assert!(out.contains("(1 row)"), "{out}");

    let script = r"
CREATE TABLE people (id serial PRIMARY KEY, name text NOT NULL, born date, active boolean DEFAULT true);
INSERT INTO people (name, born) VALUES ('Ada', '1815-12-10'), ('Alan', '1912-06-23');
BEGIN;
UPDATE people SET active = false WHERE name = 'Alan';
SAVEPOINT s;
DELETE FROM people;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SET application_name = 'script';
SHOW application_name;
SELECT id, name, born::date, active, length(name) AS len FROM people ORDER BY id;
SELECT 'semi;colon' AS s, E'tab\there' AS e;
";
    let (ok, out, err) = psql(
        addr,
        &["-v", "ON_ERROR_STOP=1", "-A", "-F", "|", "-f", "-"],
        script,
    )
    .await
    .unwrap();
    assert!(ok, "psql script failed: {err}\n{out}");
    for want in [
        "CREATE TABLE",
        "INSERT 0 2",
        "UPDATE 1",
        "DELETE 2",
        "ROLLBACK",
        "COMMIT",
        "script",
        "1|Ada|1815-12-10|t|3",
        "2|Alan|1912-06-23|f|4",
        "semi;colon|tab\there",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }

    // psql reports errors with their SQLSTATE and exits non-zero under ON_ERROR_STOP.
    let (ok, _out, err) = psql(
        addr,
        &["-v", "ON_ERROR_STOP=1", "-c", "select * from nope"],
        "",
    )
    .await
    .unwrap();
    assert!(!ok);
    assert!(err.contains("relation \"nope\" does not exist"), "{err}");
}
