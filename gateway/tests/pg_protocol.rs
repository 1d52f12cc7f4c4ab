//! The gateway's client side against hostile and broken input, and the README's main job:
//! the gateway with the default pack in front of an embedded SQLite database. No external
//! server needed: the SQLite backend is in-process.

use std::path::Path;
use std::time::Duration;

use articdbm_gateway::config::Config;
use articdbm_gateway::pg::Gateway;
use articdbm_pgwire::auth::scram::ScramClient;
use articdbm_pgwire::backend::Authentication;
use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::{BackendDecoder, BackendMessage};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

fn config_text(extra_server: &str, extra: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
packs = ["{packs}"]
plugin_dir = "{plugins}"
cache_dir = "{cache}"
{extra_server}

[[user]]
name = "demo"
password = "demo"

[[database]]
name = "demo"
sqlite = "demo.db"
{extra}
"#,
        packs = root.join("policies/default.toml").display(),
        plugins = articdbm_plugin_artifacts::PLUGIN_DIR,
        cache = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("component-cache")
            .display(),
    )
}

async fn gateway(extra_server: &str) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config_text(extra_server, "")).unwrap();
    let gw = Gateway::start(Config::load(&path).unwrap()).await.unwrap();
    (gw, dir)
}

async fn client(gw: &Gateway) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=demo password=demo dbname=demo",
            gw.pg_addr().port()
        ),
        NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    c
}

/// Reads until the server closes the connection; returns everything it sent.
async fn drain(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    out
}

async fn recv(s: &mut TcpStream, buf: &mut BytesMut) -> BackendMessage {
    loop {
        if let Some(m) = BackendDecoder::new().decode(buf).unwrap() {
            return m;
        }
        let n = s.read_buf(buf).await.unwrap();
        assert!(n > 0, "gateway closed the connection during authentication");
    }
}

/// A raw, authenticated connection (SCRAM by hand), ready for a query.
async fn raw(gw: &Gateway) -> TcpStream {
    let mut s = TcpStream::connect(gw.pg_addr()).await.unwrap();
    let mut out = BytesMut::new();
    fe::startup_message(&mut out, [("user", "demo"), ("database", "demo")]).unwrap();
    s.write_all(&out).await.unwrap();
    let mut buf = BytesMut::new();
    let mut scram = None;
    let mut fin = None;
    loop {
        let m = recv(&mut s, &mut buf).await;
        out.clear();
        match m.tag() {
            b'R' => match m.authentication().unwrap() {
                Authentication::Sasl(_) => {
                    let c = ScramClient::new(b"demo").unwrap();
                    fe::sasl_initial_response(&mut out, c.mechanism(), c.client_first()).unwrap();
                    scram = Some(c);
                }
                Authentication::SaslContinue(d) => {
                    let f = scram.take().unwrap().handle_server_first(d).unwrap();
                    fe::sasl_response(&mut out, f.client_final()).unwrap();
                    fin = Some(f);
                }
                Authentication::SaslFinal(d) => {
                    fin.as_ref().unwrap().verify_server_final(d).unwrap()
                }
                Authentication::Ok => {}
                other => panic!("unexpected {other:?}"),
            },
            b'Z' => return s,
            b'E' => panic!("authentication failed"),
            _ => {}
        }
        if !out.is_empty() {
            s.write_all(&out).await.unwrap();
        }
    }
}

fn error_code(bytes: &[u8]) -> Option<String> {
    let mut buf = BytesMut::from(bytes);
    while let Ok(Some(m)) = BackendDecoder::new().decode(&mut buf) {
        if m.tag() == b'E' {
            return m.error_fields().ok()?.code().map(|c| c.into_owned());
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_job_sqlite_answers_and_refuses_injection() {
    let (gw, _dir) = gateway("watch = false").await;
    let c = client(&gw).await;
    c.batch_execute(
        "CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL, price real);
         INSERT INTO products VALUES (1, 'tea', 3.5), (2, 'coffee', 4.25);",
    )
    .await
    .unwrap();
    let rows = c
        .query("SELECT name FROM products WHERE id = $1", &[&2i64])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "coffee");
    let e = c
        .simple_query("SELECT * FROM products WHERE name = 'x' OR '1'='1'")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e:?}");
    let e = c
        .query(
            "SELECT * FROM products WHERE id = 1; DROP TABLE products",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e:?}");
    let n: i64 = c
        .query_one("SELECT count(*) FROM products", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_startup_packet_is_refused() {
    let (gw, _dir) = gateway("watch = false\nmax_startup_bytes = 1000").await;
    let mut s = TcpStream::connect(gw.pg_addr()).await.unwrap();
    let mut pkt = Vec::new();
    pkt.extend_from_slice(&100_000u32.to_be_bytes());
    pkt.extend_from_slice(&196_608u32.to_be_bytes());
    s.write_all(&pkt).await.unwrap();
    let answer = drain(&mut s).await;
    let code = error_code(&answer);
    assert!(
        matches!(code.as_deref(), Some("08P01") | Some("54000")),
        "{code:?} {answer:?}"
    );
    // The gateway still serves.
    client(&gw).await.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_close_the_connection_with_a_protocol_error() {
    let (gw, _dir) = gateway("watch = false\nmax_message_bytes = 4096").await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("oversized query", {
            let mut m = vec![b'Q'];
            m.extend_from_slice(&1_000_000u32.to_be_bytes());
            m
        }),
        ("unknown type", vec![b'~', 0, 0, 0, 4]),
        ("length below 4", vec![b'Q', 0, 0, 0, 2]),
        ("query without NUL", {
            let mut m = vec![b'Q', 0, 0, 0, 8];
            m.extend_from_slice(b"SELE");
            m
        }),
        ("bind with a bad count", {
            let mut m = vec![b'B', 0, 0, 0, 10, 0, 0];
            m.extend_from_slice(&[0x7f, 0xff, 0, 0]);
            m
        }),
        ("password after auth", {
            let mut m = vec![b'p', 0, 0, 0, 6];
            m.extend_from_slice(b"x\0");
            m
        }),
    ];
    for (what, bytes) in cases {
        let mut s = raw(&gw).await;
        s.write_all(&bytes).await.unwrap();
        let answer = drain(&mut s).await;
        let code = error_code(&answer);
        assert!(
            matches!(code.as_deref(), Some("08P01") | Some("54000")),
            "{what}: {code:?} {answer:?}"
        );
    }
    // Truncated message, then the client vanishes.
    let mut s = raw(&gw).await;
    s.write_all(&[b'Q', 0, 0, 0, 100, b'S']).await.unwrap();
    drop(s);
    client(&gw).await.simple_query("SELECT 1").await.unwrap();
}

/// A bounded property test: random frames after authentication never crash the gateway or
/// hang a connection; afterwards a well-behaved client is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_frames_never_take_the_gateway_down() {
    let (gw, _dir) = gateway("watch = false\nmax_message_bytes = 65536").await;
    // xorshift: deterministic, no dependency.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let tags = b"QPBDECSHXdcfF~p";
    for _ in 0..60 {
        let mut s = raw(&gw).await;
        let mut wire = Vec::new();
        for _ in 0..(rnd() % 6 + 1) {
            let tag = tags[(rnd() % tags.len() as u64) as usize];
            let len = (rnd() % 40) as usize;
            let body: Vec<u8> = (0..len).map(|_| (rnd() % 256) as u8).collect();
            let declared = if rnd() % 8 == 0 {
                (rnd() % 100_000) as u32
            } else {
                (len + 4) as u32
            };
            wire.push(tag);
            wire.extend_from_slice(&declared.to_be_bytes());
            wire.extend_from_slice(&body);
        }
        let _ = s.write_all(&wire).await;
        let _ = s.shutdown().await;
        let mut sink = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut sink)).await;
        assert!(
            r.is_ok(),
            "the gateway kept a broken connection open: {wire:?}"
        );
    }
    let c = client(&gw).await;
    c.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_look_the_same() {
    let (gw, _dir) = gateway("watch = false").await;
    let port = gw.pg_addr().port();
    let mut messages = Vec::new();
    for (user, pw) in [("demo", "nope"), ("ghost", "demo")] {
        let e = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user={user} password={pw} dbname=demo"),
            NoTls,
        )
        .await
        .err()
        .expect("refused");
        assert_eq!(e.code(), Some(&SqlState::INVALID_PASSWORD), "{e:?}");
        messages.push(e.as_db_error().unwrap().message().replace(user, "U"));
    }
    assert_eq!(messages[0], messages[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_user_tls_requirement_and_allowed_networks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        config_text(
            "watch = false",
            "[[user]]\nname = \"tlsonly\"\npassword = \"pw\"\nrequire_tls = true\n\n\
             [[user]]\nname = \"elsewhere\"\npassword = \"pw\"\nallowed_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n\n\
             [[user]]\nname = \"here\"\npassword = \"pw\"\nallowed_networks = [\"10.0.0.0/8\", \"127.0.0.1\"]\n",
        ),
    )
    .unwrap();
    let gw = Gateway::start(Config::load(&path).unwrap()).await.unwrap();
    let port = gw.pg_addr().port();
    let login = |user: &'static str| async move {
        tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user={user} password=pw dbname=demo"),
            NoTls,
        )
        .await
    };
    for (user, why) in [
        ("tlsonly", "only connect over TLS"),
        ("elsewhere", "may not connect from 127.0.0.1"),
    ] {
        let e = login(user).await.err().expect("refused");
        assert_eq!(
            e.code(),
            Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
            "{e:?}"
        );
        assert!(e.as_db_error().unwrap().message().contains(why), "{e:?}");
    }
    let (c, conn) = login("here").await.expect("127.0.0.1 is allowed");
    tokio::spawn(conn);
    c.simple_query("SELECT 1").await.unwrap();
    // A bad network is a config error naming the field.
    let e = Config::parse(
        "[[user]]\nname = \"x\"\npassword = \"pw\"\nallowed_networks = [\"10.0.0.0/33\"]\n",
        &path,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("allowed_networks[0]"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_apply_without_restart_or_dropped_connections() {
    let (gw, dir) = gateway("watch = true").await;
    let before = client(&gw).await;
    before.simple_query("SELECT 1").await.unwrap();
    let port = gw.pg_addr().port();
    let login = |user: &'static str, pw: &'static str| async move {
        tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user={user} password={pw} dbname=demo"),
            NoTls,
        )
        .await
    };
    assert!(login("second", "pw2").await.is_err());
    // A file with one more user applies without a restart.
    let path = dir.path().join("gateway.toml");
    let text = config_text(
        "watch = true",
        "[[user]]\nname = \"second\"\npassword = \"pw2\"\n",
    );
    // A [[user]] after [[database]] is still a top-level table array in TOML.
    std::fs::write(&path, text).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match login("second", "pw2").await {
            Ok((c, conn)) => {
                tokio::spawn(conn);
                c.simple_query("SELECT 1").await.unwrap();
                break;
            }
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the new user never worked: {e}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // The connection opened before the change was not dropped.
    before.simple_query("SELECT 2").await.unwrap();
    assert!(login("demo", "demo").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_mode_forwards_and_counts_would_be_denials() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("monitor.toml");
    std::fs::write(
        &pack,
        "version = 1\nname = \"trial\"\nkind = \"baseline\"\nmode = \"monitor\"\n\n\
         [[binding]]\nid = \"sqli\"\nplugin = \"sqli-guard\"\nhooks = [\"query\"]\n",
    )
    .unwrap();
    let text = config_text("watch = false", "").replace(
        &format!(
            "{}",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../policies/default.toml")
                .display()
        ),
        &pack.display().to_string(),
    );
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let gw = Gateway::start(Config::load(&path).unwrap()).await.unwrap();
    let c = client(&gw).await;
    c.batch_execute("CREATE TABLE t (id integer, name text); INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    // Would be refused in enforce mode; monitor mode lets it through and records it.
    let rows = c
        .query("SELECT * FROM t WHERE name = '' OR '1'='1'", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let m = gw.shared.metrics.render();
    assert!(m.contains("articdbm_sql_injection_attempts_total 1"), "{m}");
    assert!(!m.contains("articdbm_denied_statements_total{"), "{m}");
}
