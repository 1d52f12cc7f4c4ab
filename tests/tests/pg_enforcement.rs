//! Nothing unjudged reaches a backend: the holes an attacker or an ordinary driver found in
//! the PostgreSQL session, each tried through the real gateway in front of a real PostgreSQL,
//! with the default pack plus an `acl` pack (user `app`: full DML; user `viewer`: read only),
//! transaction pooling and one server connection, so that every client shares it.

mod wire_support;

use std::path::{Path, PathBuf};

use articdbm_gateway::config::Config;
use articdbm_gateway::pg::Gateway;
use articdbm_pgwire::frontend::encode as fe;
use articdbm_tests::PgServer;
use bytes::{BufMut, BytesMut};
use tokio_postgres::{Client, NoTls};
use wire_support::{RawClient, error_message, summary};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Setup {
    pg: PgServer,
    gw: Gateway,
    _dir: tempfile::TempDir,
}

const ACL_PACK: &str = r#"
version = 1
name = "shop"
kind = "tenant"
tenant = "shop"
mode = "enforce"

[[binding]]
id = "acl"
plugin = "acl"
hooks = ["query"]

[binding.config]
default = "deny"
default_schema = "public"

[[binding.config.grants]]
users = ["app"]
tables = ["public.*"]
actions = ["read", "insert", "update", "delete"]

[[binding.config.grants]]
users = ["viewer"]
tables = ["public.*"]
actions = ["read"]
"#;

/// PostgreSQL with a `shop` database, and a gateway in front of it: `pool` is the database's
/// pool table, `server` extra lines of `[server]`.
async fn setup(pool: &str, server: &str) -> Setup {
    let pg = tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().expect("postgres starts");
        pg.create_user("shop_owner", "owner-pw").unwrap();
        pg.create_database("shop", "shop_owner").unwrap();
        pg.psql_as(
            "shop",
            "shop_owner",
            "owner-pw",
            "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g;",
        )
        .unwrap();
        pg
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("shop.toml");
    std::fs::write(&pack, ACL_PACK).unwrap();
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
packs = ["{default}", "{pack}"]
plugin_dir = "{plugins}"
cache_dir = "{cache}"
watch = false
{server}

[[user]]
name = "app"
password = "app-pw"
tenant = "shop"

[[user]]
name = "viewer"
password = "viewer-pw"
tenant = "shop"

[[database]]
name = "shop"
server_user = "shop_owner"
server_password = "owner-pw"
tls = "disable"
pool = {pool}

[[database.backend]]
host = "127.0.0.1"
port = {port}
"#,
        default = root().join("policies/default.toml").display(),
        pack = pack.display(),
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
    Setup { pg, gw, _dir: dir }
}

const TX_POOL_1: &str = "{ mode = \"transaction\", size = 1 }";

async fn connect(gw: &Gateway, user: &str, password: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={user} password={password} dbname=shop",
            gw.pg_addr().port()
        ),
        NoTls,
    )
    .await
    .expect("connects");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

async fn raw(gw: &Gateway, user: &str, password: &str) -> RawClient {
    RawClient::connect(gw.pg_addr().port(), user, password, "shop")
        .await
        .expect("raw client connects")
}

async fn count_items(c: &Client) -> i64 {
    c.query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0)
}

/// A FunctionCall message: `oid`, text arguments, text result.
fn function_call(out: &mut BytesMut, oid: u32, args: &[&[u8]]) {
    let mut body = Vec::new();
    body.extend_from_slice(&oid.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&(args.len() as i16).to_be_bytes());
    for a in args {
        body.extend_from_slice(&(a.len() as i32).to_be_bytes());
        body.extend_from_slice(a);
    }
    body.extend_from_slice(&0i16.to_be_bytes());
    out.put_u8(b'F');
    out.put_u32(4 + body.len() as u32);
    out.put_slice(&body);
}

/// `app` prepares a DELETE; `viewer`, on the same (only) server connection, binds the
/// gateway's server-side names and SQL-EXECUTEs them: every attempt is refused by the
/// gateway, nothing is deleted, and the same DELETE as SQL is refused by the acl rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_sessions_prepared_statement_cannot_be_executed() {
    let s = setup(TX_POOL_1, "").await;
    let app = connect(&s.gw, "app", "app-pw").await;
    let delete = app
        .prepare("DELETE FROM items WHERE id = $1")
        .await
        .unwrap();
    // The statement exists on the server connection (used once, on id 100).
    assert_eq!(app.execute(&delete, &[&100i32]).await.unwrap(), 1);

    let mut viewer = raw(&s.gw, "viewer", "viewer-pw").await;
    for n in 0..30 {
        let name = format!("articdbm_s{n}");
        let mut b = BytesMut::new();
        fe::bind(&mut b, "", &name, &[], [Some(&b"5"[..])], &[]).unwrap();
        fe::execute(&mut b, "", 0).unwrap();
        fe::sync(&mut b);
        fe::describe(&mut b, articdbm_pgwire::frontend::Target::Statement, &name).unwrap();
        fe::sync(&mut b);
        let answers = summary(&viewer.exchange(&b, 2).await);
        assert_eq!(
            answers,
            vec!["E 26000", "Z I", "E 26000", "Z I"],
            "bind/describe of {name}"
        );
        let mut b = BytesMut::new();
        fe::query(&mut b, &format!("EXECUTE {name}(5)")).unwrap();
        let answers = summary(&viewer.exchange(&b, 1).await);
        assert_eq!(answers[0], "E 0A000", "EXECUTE {name}: {answers:?}");
    }
    // A portal someone else may have left is not reachable either.
    let mut b = BytesMut::new();
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    assert_eq!(
        summary(&viewer.exchange(&b, 1).await),
        vec!["E 34000", "Z I"]
    );

    // The SQL the statement holds is refused for the viewer by the acl rule...
    let mut b = BytesMut::new();
    fe::query(&mut b, "DELETE FROM items WHERE id = 5").unwrap();
    let answers = viewer.exchange(&b, 1).await;
    assert_eq!(summary(&answers)[0], "E 42501");
    assert!(
        error_message(&answers).unwrap_or_default().contains("acl."),
        "{:?}",
        error_message(&answers)
    );
    // ...and nothing was deleted, while the app's own statement still works.
    assert_eq!(count_items(&app).await, 99);
    assert_eq!(app.execute(&delete, &[&99i32]).await.unwrap(), 1);
    assert_eq!(count_items(&app).await, 98);
    viewer.terminate().await;
}

/// Fast-path FunctionCall is refused by default, naming the setting; the connection stays
/// usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn function_calls_are_refused_by_default() {
    let s = setup(TX_POOL_1, "").await;
    let app = connect(&s.gw, "app", "app-pw").await;
    let oid: u32 = app
        .query_one("SELECT 'pg_read_file(text)'::regprocedure::oid", &[])
        .await
        .unwrap()
        .get(0);
    let mut viewer = raw(&s.gw, "viewer", "viewer-pw").await;
    let mut b = BytesMut::new();
    function_call(&mut b, oid, &[b"/etc/hostname"]);
    let answers = viewer.exchange(&b, 1).await;
    assert_eq!(summary(&answers), vec!["E 0A000", "Z I"]);
    let text = error_message(&answers).unwrap_or_default();
    assert!(text.contains("pool.function_call"), "{text}");
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT 1").unwrap();
    assert_eq!(
        summary(&viewer.exchange(&b, 1).await),
        vec!["T", "D 1", "C SELECT 1", "Z I"]
    );
}

/// With `function_call = "judge"`, a call is judged as a SQL call of the function by name:
/// reading a file is refused by the injection guard; an ordinary function runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn function_calls_can_be_judged_by_name() {
    let s = setup(
        "{ mode = \"transaction\", size = 1, function_call = \"judge\" }",
        "",
    )
    .await;
    let app = connect(&s.gw, "app", "app-pw").await;
    let read_file: u32 = app
        .query_one("SELECT 'pg_read_file(text)'::regprocedure::oid", &[])
        .await
        .unwrap()
        .get(0);
    let md5: u32 = app
        .query_one("SELECT 'md5(text)'::regprocedure::oid", &[])
        .await
        .unwrap()
        .get(0);
    let mut viewer = raw(&s.gw, "viewer", "viewer-pw").await;
    let mut b = BytesMut::new();
    function_call(&mut b, read_file, &[b"/etc/hostname"]);
    let answers = viewer.exchange(&b, 1).await;
    assert_eq!(summary(&answers), vec!["E 42501", "Z I"]);
    assert!(
        error_message(&answers)
            .unwrap_or_default()
            .contains("sqli.file-access"),
        "{:?}",
        error_message(&answers)
    );
    let mut b = BytesMut::new();
    function_call(&mut b, md5, &[b"abc"]);
    let answers = viewer.exchange(&b, 1).await;
    assert_eq!(summary(&answers), vec!["V", "Z I"]);
    assert!(
        answers[0]
            .body()
            .windows(32)
            .any(|w| w == b"900150983cd24fb0d6963f7d28e17f72"),
        "the function ran"
    );
}

/// A client's DEALLOCATE ALL / DISCARD ALL (psycopg 3 on rollback) is answered for its own
/// statements and never drops the statements the gateway prepared for other clients on the
/// shared server connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deallocate_all_from_one_client_leaves_everyone_elses_statements() {
    let s = setup(TX_POOL_1, "").await;
    let a = connect(&s.gw, "app", "app-pw").await;
    let b = connect(&s.gw, "app", "app-pw").await;
    let by_id = a
        .prepare("SELECT name FROM items WHERE id = $1")
        .await
        .unwrap();
    let mine = b
        .prepare("SELECT id FROM items WHERE id = $1")
        .await
        .unwrap();
    for sql in ["DEALLOCATE ALL", "DISCARD ALL", "DEALLOCATE PREPARE ALL"] {
        b.batch_execute(sql).await.unwrap();
        for k in 1..=5i32 {
            let row = a.query_one(&by_id, &[&k]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), format!("item {k}"), "after {sql}");
        }
        // b's own statement is gone for b, as PostgreSQL would have it.
        let e = b.query_one(&mine, &[&1i32]).await.unwrap_err();
        assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME),
            "{e:?}"
        );
    }
    // Inside a transaction DISCARD ALL fails it, as on PostgreSQL.
    b.batch_execute("BEGIN").await.unwrap();
    let e = b.batch_execute("DISCARD ALL").await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::ACTIVE_SQL_TRANSACTION)
    );
    b.batch_execute("ROLLBACK").await.unwrap();
}

/// LISTEN under transaction pooling is refused with advice; notifications never reach a
/// client that did not ask for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listen_is_refused_under_transaction_pooling() {
    let s = setup(TX_POOL_1, "").await;
    let a = connect(&s.gw, "app", "app-pw").await;
    let e = a.batch_execute("LISTEN jobs").await.unwrap_err();
    let db = e.as_db_error().expect("a server-style error");
    assert_eq!(db.code().code(), "0A000");
    assert!(db.message().contains("session pooling"), "{}", db.message());
    // The connection is usable after it.
    assert_eq!(count_items(&a).await, 100);
}

/// Turning standard_conforming_strings off would make the guard read string literals
/// differently from the server: the session ends, the server connection is not reused, and
/// other clients carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standard_conforming_strings_cannot_be_turned_off() {
    let s = setup(TX_POOL_1, "").await;
    let mut a = raw(&s.gw, "app", "app-pw").await;
    let mut b = BytesMut::new();
    fe::query(&mut b, "SET standard_conforming_strings = off").unwrap();
    a.exchange(&b, 1).await;
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT 'x\\'' OR 1=1 --'").unwrap();
    let answers = a.exchange(&b, 1).await;
    assert_eq!(summary(&answers), vec!["E 0A000"], "FATAL, then the end");
    let other = connect(&s.gw, "app", "app-pw").await;
    let scs: String = other
        .query_one("SHOW standard_conforming_strings", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(scs, "on", "the connection it was turned off on was closed");
}

/// A server message larger than `server.max_server_message_bytes` closes that server
/// connection; the client gets an error, not the bytes, and the next request works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_messages_are_bounded() {
    let s = setup(TX_POOL_1, "max_server_message_bytes = 4096").await;
    let a = connect(&s.gw, "app", "app-pw").await;
    let e = a
        .simple_query("SELECT repeat('x', 100000)")
        .await
        .unwrap_err();
    let db = e.as_db_error().expect("an error response");
    assert_eq!(db.code().code(), "08006", "{}", db.message());
    let rows = a.simple_query("SELECT repeat('y', 10)").await.unwrap();
    assert!(
        matches!(&rows[1], tokio_postgres::SimpleQueryMessage::Row(r)
        if r.get(0) == Some("yyyyyyyyyy"))
    );
}

/// Errors about the backend never show its address to clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backend_addresses_never_reach_clients() {
    let mut s = setup(
        "{ mode = \"transaction\", size = 1, connect_timeout_ms = 2000 }",
        "",
    )
    .await;
    let a = connect(&s.gw, "app", "app-pw").await;
    let port = s.pg.port();
    tokio::task::block_in_place(|| s.pg.stop().unwrap());
    let e = a.simple_query("SELECT 1").await.unwrap_err();
    let text = e
        .as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_default();
    assert!(!text.is_empty(), "an error response: {e:?}");
    assert!(!text.contains(&port.to_string()), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
    // A new client is refused the same way.
    let r = RawClient::connect(s.gw.pg_addr().port(), "app", "app-pw", "shop").await;
    let text = r.err().unwrap_or_default();
    assert!(!text.contains(&port.to_string()), "{text}");
}
