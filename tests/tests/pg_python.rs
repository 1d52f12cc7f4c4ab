//! The Python driver (psycopg 3, from the shared venv) through the gateway: COPY in both
//! directions, LISTEN/NOTIFY under session pooling, server-side prepared statements
//! (`prepare=True`), pipeline mode, and a refused injection's SQLSTATE.
//!
//! Each script prints what it saw, one fact per line; the test compares the lines.

mod gw_support;

use std::process::Command;
use std::time::Duration;

use articdbm_gateway::pg::Gateway;
use articdbm_tests::PgServer;
use gw_support::*;

struct Setup {
    pg: PgServer,
    gw: Gateway,
    _dir: tempfile::TempDir,
}

async fn setup(pool: &str) -> Setup {
    let pg = tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().expect("postgres starts");
        create_shop(&pg);
        pg
    })
    .await
    .unwrap();
    let (gw, dir) = start_gateway(
        "",
        &database(
            "shop",
            pool,
            "tls = \"disable\"",
            &[Backend::primary(pg.port())],
        ),
    )
    .await;
    Setup { pg, gw, _dir: dir }
}

/// Runs `script` with the venv's python, the gateway's connection string as argv[1]; returns
/// stdout's lines. A failing script fails the test with its stderr.
fn python(gw: &Gateway, script: &str) -> Vec<String> {
    let py = articdbm_tests::tools::python_venv().expect("python venv with psycopg");
    let out = articdbm_tests::process::output(
        Command::new(py)
            .args(["-c", script, &gw_connstr(gw, "shop")])
            .env("PYTHONUNBUFFERED", "1"),
        Duration::from_secs(60),
    )
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

const COPY_SCRIPT: &str = r#"
import sys, psycopg
N = 5000
with psycopg.connect(sys.argv[1]) as conn:
    conn.execute("CREATE TABLE copied (id int PRIMARY KEY, name text NOT NULL, note text)")
    conn.commit()
    # COPY FROM STDIN inside a transaction (psycopg's default), several write calls.
    with conn.cursor() as cur:
        with cur.copy("COPY copied (id, name, note) FROM STDIN") as copy:
            for i in range(1, N + 1):
                note = None if i % 7 == 0 else "tab\there, quote ' and backslash \\ " + "x" * (i % 50)
                copy.write_row((i, f"name {i}", note))
        print("copy in rowcount", cur.rowcount)
    conn.commit()
    row = conn.execute("SELECT count(*), sum(id), count(note) FROM copied").fetchone()
    print("server has", row[0], row[1], row[2])
    conn.commit()
    # COPY TO STDOUT, outside a transaction block.
    conn.autocommit = True
    got = []
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT id, name, note FROM copied ORDER BY id) TO STDOUT") as copy:
            for r in copy.rows():
                got.append(r)
    ok = len(got) == N and all(
        int(r[0]) == i + 1 and r[1] == f"name {i + 1}"
        and r[2] == (None if (i + 1) % 7 == 0 else "tab\there, quote ' and backslash \\ " + "x" * ((i + 1) % 50))
        for i, r in enumerate(got))
    print("copy out rows", len(got), "match", ok)
    # Raw COPY TO in CSV, read as blocks.
    data = bytearray()
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT id FROM copied WHERE id <= 1000 ORDER BY id) TO STDOUT (FORMAT csv)") as copy:
            for block in copy:
                data += block
    print("csv lines", len(bytes(data).splitlines()))
    # A COPY the client abandons (CopyFail): the server reports it, nothing is kept, and the
    # connection goes on.
    try:
        with conn.cursor() as cur:
            with cur.copy("COPY copied (id, name) FROM STDIN") as copy:
                copy.write_row((N + 1, "never"))
                raise RuntimeError("client gave up")
    except RuntimeError as e:
        print("abandoned", e)
    except psycopg.Error as e:
        print("abandoned sqlstate", e.sqlstate)
    # A COPY the server refuses half-way (duplicate key): an error, then the connection works.
    try:
        with conn.cursor() as cur:
            with cur.copy("COPY copied (id, name) FROM STDIN") as copy:
                copy.write_row((N + 2, "new"))
                copy.write_row((1, "duplicate"))
    except psycopg.Error as e:
        print("duplicate sqlstate", e.sqlstate)
    print("after errors", conn.execute("SELECT count(*) FROM copied").fetchone()[0])
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_in_and_out_through_the_gateway() {
    let s = setup("{ mode = \"transaction\", size = 2 }").await;
    let lines = tokio::task::block_in_place(|| python(&s.gw, COPY_SCRIPT));
    assert_eq!(
        lines,
        [
            "copy in rowcount 5000",
            "server has 5000 12502500 4286",
            "copy out rows 5000 match True",
            "csv lines 1000",
            "abandoned client gave up",
            "duplicate sqlstate 23505",
            "after errors 5000",
        ],
    );
    // The server itself has the rows.
    let n = tokio::task::block_in_place(|| s.pg.psql_in("shop", "SELECT count(*) FROM copied"))
        .unwrap();
    assert_eq!(n, "5000");
}

const LISTEN_SCRIPT: &str = r#"
import sys, psycopg
listener = psycopg.connect(sys.argv[1], autocommit=True)
notifier = psycopg.connect(sys.argv[1], autocommit=True)
listener.execute("LISTEN articdbm_events")
print("listener pid differs", listener.info.backend_pid != notifier.info.backend_pid)
notifier.execute("NOTIFY articdbm_events, 'hello from the notifier'")
got = list(listener.notifies(timeout=10, stop_after=1))
for n in got:
    print("got", n.channel, n.payload)
# Notifications sent inside a transaction arrive at its commit, in order.
with notifier.transaction():
    notifier.execute("SELECT pg_notify('articdbm_events', 'first')")
    notifier.execute("NOTIFY articdbm_events, 'second'")
got = list(listener.notifies(timeout=10, stop_after=2))
print("in order", [n.payload for n in got])
# A notification that arrived while the listener was busy with a query is kept.
notifier.execute("NOTIFY articdbm_events, 'while busy'")
listener.execute("SELECT pg_sleep(0.2)")
got = list(listener.notifies(timeout=10, stop_after=1))
print("while busy", [n.payload for n in got])
listener.execute("UNLISTEN articdbm_events")
notifier.execute("NOTIFY articdbm_events, 'after unlisten'")
print("after unlisten", [n.payload for n in listener.notifies(timeout=0.5)])
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listen_notify_in_session_mode() {
    let s = setup("{ mode = \"session\", size = 2 }").await;
    let lines = tokio::task::block_in_place(|| python(&s.gw, LISTEN_SCRIPT));
    assert_eq!(
        lines,
        [
            "listener pid differs True",
            "got articdbm_events hello from the notifier",
            "in order ['first', 'second']",
            "while busy ['while busy']",
            "after unlisten []",
        ],
    );
}

const PREPARE_SCRIPT: &str = r#"
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    names = []
    for i in (1, 2, 3, 50, 100):
        row = conn.execute("SELECT name, price FROM items WHERE id = %s", (i,), prepare=True).fetchone()
        names.append(row[0])
    print("prepared results", names)
    # The server really has a prepared statement for it on the connection that ran it.
    row = conn.execute(
        "SELECT count(*) > 0 FROM pg_prepared_statements WHERE statement LIKE %s",
        ("SELECT name, price FROM items WHERE id = $1%",), prepare=False).fetchone()
    print("server-side statement", row[0])
    # Auto-preparation after prepare_threshold executions, different types and a NULL.
    conn.prepare_threshold = 2
    vals = [conn.execute("SELECT %s::int * 2, %s::text", (k, None if k == 3 else str(k))).fetchone()
            for k in range(1, 6)]
    print("auto prepared", vals)
    # Preparing an erroneous statement: an error, and the connection goes on.
    try:
        conn.execute("SELECT no_such_column FROM items WHERE id = %s", (1,), prepare=True)
    except psycopg.Error as e:
        print("bad statement", e.sqlstate)
    print("still works", conn.execute("SELECT count(*) FROM items", prepare=True).fetchone()[0])
    # Pipeline mode: many statements in flight at once, one of them prepared.
    with conn.pipeline():
        curs = [conn.execute("SELECT name FROM items WHERE id = %s", (i,), prepare=True) for i in range(1, 21)]
    print("pipeline", [c.fetchone()[0] for c in curs][::5])
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prepared_statements_with_prepare_true() {
    let expected = [
        "prepared results ['item 1', 'item 2', 'item 3', 'item 50', 'item 100']",
        "server-side statement True",
        "auto prepared [(2, '1'), (4, '2'), (6, None), (8, '4'), (10, '5')]",
        "bad statement 42703",
        "still works 100",
        "pipeline ['item 1', 'item 6', 'item 11', 'item 16']",
    ];
    for pool in [
        "{ mode = \"session\", size = 2 }",
        "{ mode = \"transaction\", size = 1 }",
    ] {
        let s = setup(pool).await;
        let lines = tokio::task::block_in_place(|| python(&s.gw, PREPARE_SCRIPT));
        assert_eq!(lines, expected, "{pool}");
    }
}

const INJECTION_SCRIPT: &str = r#"
import sys, psycopg
from psycopg import sql
with psycopg.connect(sys.argv[1]) as conn:
    # Extended protocol (psycopg's default).
    try:
        conn.execute("SELECT * FROM items WHERE name = '' OR '1'='1'")
        print("extended: not refused")
    except psycopg.Error as e:
        print("extended", e.sqlstate, type(e).__name__, "sqli." in str(e))
    conn.rollback()
    # Client-side binding (simple protocol): the same.
    cur = psycopg.ClientCursor(conn)
    try:
        cur.execute("SELECT * FROM items WHERE id = %s UNION SELECT NULL, usename, NULL FROM pg_user", (1,))
        print("simple: not refused")
    except psycopg.Error as e:
        print("simple", e.sqlstate, type(e).__name__)
    conn.rollback()
    # Inside a transaction: refused, and the transaction is failed as the server would fail it.
    conn.execute("SELECT 1")
    try:
        conn.execute("SELECT * FROM items WHERE id = 1 OR 1=1")
    except psycopg.Error as e:
        print("in transaction", e.sqlstate)
    try:
        conn.execute("SELECT 1")
    except psycopg.Error as e:
        print("then", e.sqlstate)
    conn.rollback()
    # Parameters are not injections.
    row = conn.execute("SELECT name FROM items WHERE name = %s", ("item 4' OR '1'='1",)).fetchone()
    print("parameter", row)
    print("ok", conn.execute("SELECT name FROM items WHERE id = %s", (4,)).fetchone()[0])
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn injection_is_refused_with_42501() {
    let s = setup("{ mode = \"transaction\", size = 2 }").await;
    let lines = tokio::task::block_in_place(|| python(&s.gw, INJECTION_SCRIPT));
    assert_eq!(
        lines,
        [
            "extended 42501 InsufficientPrivilege True",
            "simple 42501 InsufficientPrivilege",
            "in transaction 42501",
            "then 25P02",
            "parameter None",
            "ok item 4",
        ],
    );
}

const NOTIFY_PID_SCRIPT: &str = r#"
import sys, psycopg
listener = psycopg.connect(sys.argv[1], autocommit=True)
notifier = psycopg.connect(sys.argv[1], autocommit=True)
listener.execute("LISTEN articdbm_pids")
notifier.execute("NOTIFY articdbm_pids, 'other'")
n = next(listener.notifies(timeout=10, stop_after=1))
print("notifier pid matches", n.pid == notifier.info.backend_pid)
# The usual way to skip one's own notifications.
listener.execute("NOTIFY articdbm_pids, 'self'")
n = next(listener.notifies(timeout=10, stop_after=1))
print("own pid matches", n.pid == listener.info.backend_pid)
pid = listener.execute("SELECT pg_backend_pid()").fetchone()[0]
print("pg_backend_pid matches", pid == listener.info.backend_pid)
"#;

/// With a session pool each client has one server backend for its whole session, so what a
/// PostgreSQL client can rely on should hold: the pid in a NotificationResponse is the
/// notifying session's pid from BackendKeyData (`conn.info.backend_pid`), which is how
/// applications recognise (and skip) their own notifications, and what `pg_backend_pid()`
/// returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_mode_notification_pids_match_backend_key_data() {
    let s = setup("{ mode = \"session\", size = 2 }").await;
    let lines = tokio::task::block_in_place(|| python(&s.gw, NOTIFY_PID_SCRIPT));
    assert_eq!(
        lines,
        [
            "notifier pid matches True",
            "own pid matches True",
            "pg_backend_pid matches True",
        ],
    );
}
