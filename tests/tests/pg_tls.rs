//! TLS on both sides of the gateway, with certificates made at test time by the `openssl`
//! CLI (on Debian it comes with the postgresql packages: postgresql-common → ssl-cert →
//! openssl).
//!
//! - Clients: `[server] tls = { cert, key }` — psql with `sslmode=require` gets an encrypted
//!   session, `verify-full` against the right CA (by name and by IP) succeeds and against
//!   another CA fails; with `required = true` a plaintext client is refused with a message
//!   that says TLS is needed.
//! - Backends: PostgreSQL with `ssl = on`; the gateway with `tls = "verify-full"` + `tls_ca`
//!   and with `tls = "require"` runs queries over TLS (the server's `pg_stat_ssl` says so);
//!   `verify-full` with the wrong CA, or a certificate for another name, fails with an error
//!   to the client that names TLS and the certificate problem.

mod gw_support;

use std::path::Path;

use articdbm_tests::pki::Pki;
use articdbm_tests::privilege::{give, server_tempdir};
use articdbm_tests::{PgOptions, PgServer};
use gw_support::*;

/// PostgreSQL without TLS, with the `shop` database.
async fn setup_plain_pg() -> PgServer {
    tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().expect("postgres starts");
        create_shop(&pg);
        pg
    })
    .await
    .unwrap()
}

fn tls_line(cert: &Path, key: &Path, required: bool) -> String {
    format!(
        "tls = {{ cert = \"{}\", key = \"{}\", required = {required} }}",
        cert.display(),
        key.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_get_tls_and_can_verify_the_gateway() {
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::new(certs.path(), "ca").unwrap();
    Pki::new(certs.path(), "other-ca").unwrap();
    let (cert, key) = pki
        .issue("ca", "gateway", "DNS:localhost,IP:127.0.0.1")
        .unwrap();
    let pg = setup_plain_pg().await;
    let (gw, _dir) = start_gateway(
        &tls_line(&cert, &key, false),
        &database(
            "shop",
            "{ mode = \"transaction\", size = 2 }",
            "tls = \"disable\"",
            &[Backend::primary(pg.port())],
        ),
    )
    .await;
    let port = gw.pg_addr().port();
    let ca = pki.ca_cert("ca");
    let other = pki.ca_cert("other-ca");
    tokio::task::block_in_place(|| {
        let base = format!("port={port} user={APP_USER} dbname=shop connect_timeout=10");
        // sslmode=require: encrypted, no verification. psql's \conninfo shows the session.
        let (ok, out, err) = psql_conn(
            &format!("host=127.0.0.1 {base} sslmode=require"),
            APP_PASSWORD,
            "\\conninfo",
        );
        assert!(ok, "sslmode=require: {err}");
        assert!(out.contains("SSL connection (protocol: TLSv1."), "{out}");
        let (ok, out, err) = psql_conn(
            &format!("host=127.0.0.1 {base} sslmode=require"),
            APP_PASSWORD,
            "SELECT name FROM items WHERE id = 5",
        );
        assert!(ok, "{err}");
        assert_eq!(out, "item 5");

        // verify-full by host name (hostaddr avoids trying ::1) and by IP address.
        for host in ["host=localhost hostaddr=127.0.0.1", "host=127.0.0.1"] {
            let (ok, out, err) = psql_conn(
                &format!(
                    "{host} {base} sslmode=verify-full sslrootcert={}",
                    ca.display()
                ),
                APP_PASSWORD,
                "\\conninfo",
            );
            assert!(ok, "verify-full ({host}): {err}");
            assert!(out.contains("SSL connection"), "{out}");
        }
        // The wrong CA: the client refuses the gateway.
        let (ok, _, err) = psql_conn(
            &format!(
                "host=localhost hostaddr=127.0.0.1 {base} sslmode=verify-full sslrootcert={}",
                other.display()
            ),
            APP_PASSWORD,
            "SELECT 1",
        );
        assert!(!ok, "verify-full against another CA must fail");
        assert!(err.contains("certificate verify failed"), "{err}");
        // A name the certificate does not carry.
        let (ok, _, err) = psql_conn(
            &format!(
                "host=gateway.invalid hostaddr=127.0.0.1 {base} sslmode=verify-full sslrootcert={}",
                ca.display()
            ),
            APP_PASSWORD,
            "SELECT 1",
        );
        assert!(
            !ok,
            "verify-full with a name not in the certificate must fail"
        );
        assert!(err.contains("does not match host name"), "{err}");

        // TLS is offered, not required: plaintext clients still work.
        let (ok, out, err) = psql_conn(
            &format!("host=127.0.0.1 {base} sslmode=disable"),
            APP_PASSWORD,
            "SELECT 1",
        );
        assert!(ok, "{err}");
        assert_eq!(out, "1");
        // The policy runs on TLS sessions too.
        let (ok, _, err) = psql_conn(
            &format!("host=127.0.0.1 {base} sslmode=require"),
            APP_PASSWORD,
            "SELECT * FROM items WHERE id = 1 OR 'a'='a'",
        );
        assert!(!ok);
        assert!(err.contains("refused by policy rule sqli."), "{err}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn required_tls_refuses_plaintext_clients() {
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::new(certs.path(), "ca").unwrap();
    let (cert, key) = pki
        .issue("ca", "gateway", "DNS:localhost,IP:127.0.0.1")
        .unwrap();
    let pg = setup_plain_pg().await;
    let (gw, _dir) = start_gateway(
        &tls_line(&cert, &key, true),
        &database(
            "shop",
            "{ mode = \"transaction\", size = 2 }",
            "tls = \"disable\"",
            &[Backend::primary(pg.port())],
        ),
    )
    .await;
    let port = gw.pg_addr().port();
    tokio::task::block_in_place(|| {
        let base =
            format!("host=127.0.0.1 port={port} user={APP_USER} dbname=shop connect_timeout=10");
        let (ok, _, err) = psql_conn(&format!("{base} sslmode=disable"), APP_PASSWORD, "SELECT 1");
        assert!(!ok, "a plaintext client must be refused");
        assert!(err.contains("requires TLS"), "{err}");
        // sslmode=prefer (libpq's default) negotiates TLS and gets in.
        let (ok, out, err) = psql_conn(
            &format!("{base} sslmode=prefer"),
            APP_PASSWORD,
            "\\conninfo",
        );
        assert!(ok, "{err}");
        assert!(out.contains("SSL connection"), "{out}");
        let (ok, out, err) = psql_conn(
            &format!(
                "{base} sslmode=verify-ca sslrootcert={}",
                pki.ca_cert("ca").display()
            ),
            APP_PASSWORD,
            "SELECT count(*) FROM items",
        );
        assert!(ok, "{err}");
        assert_eq!(out, "100");
    });
    // tokio-postgres without TLS support: refused with the same message (an error, not a
    // dropped connection).
    let Err(e) = connect(&gw, "shop").await else {
        panic!("a client without TLS was let in");
    };
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("a server error: {e:?}"));
    assert_eq!(db.code().code(), "28000", "{db:?}");
    assert!(db.message().contains("TLS"), "{db:?}");
    let m = gw.shared.metrics.render();
    assert!(
        metric(&m, "articdbm_auth_failures_total").unwrap_or(0.0) >= 2.0,
        "{m}"
    );
}

/// PostgreSQL with `ssl = on` and the given certificate; the files are copied into a
/// directory the server user owns (the key mode 0600, as PostgreSQL demands).
async fn tls_pg(cert: &Path, key: &Path) -> (PgServer, tempfile::TempDir) {
    let files = server_tempdir("articdbm-pg-tls-").unwrap();
    let c = files.path().join("server.crt");
    let k = files.path().join("server.key");
    std::fs::copy(cert, &c).unwrap();
    std::fs::copy(key, &k).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    give(&c).unwrap();
    give(&k).unwrap();
    let pg = tokio::task::spawn_blocking(move || {
        let pg = PgServer::start_with(PgOptions {
            settings: vec![
                ("ssl".into(), "on".into()),
                ("ssl_cert_file".into(), format!("'{}'", c.display())),
                ("ssl_key_file".into(), format!("'{}'", k.display())),
            ],
            ..PgOptions::default()
        })
        .expect("postgres with ssl = on starts");
        create_shop(&pg);
        pg
    })
    .await
    .unwrap();
    (pg, files)
}

/// Server connections of shop_owner as the server sees them: (with TLS, without).
fn server_side_tls(pg: &PgServer) -> (u32, u32) {
    let out = pg
        .psql(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.usename = 'shop_owner'",
        )
        .unwrap();
    let (a, b) = out.split_once('|').unwrap();
    (a.parse().unwrap(), b.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backend_tls_verify_full_and_require() {
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::new(certs.path(), "ca").unwrap();
    Pki::new(certs.path(), "other-ca").unwrap();
    let (cert, key) = pki.issue("ca", "pg", "DNS:localhost,IP:127.0.0.1").unwrap();
    let (pg, _files) = tls_pg(&cert, &key).await;
    assert_eq!(pg.psql("SHOW ssl").unwrap(), "on");

    let ca = pki.ca_cert("ca");
    let other = pki.ca_cert("other-ca");
    let port = pg.port();
    let dbs = [
        database(
            "verified",
            "{ mode = \"transaction\", size = 2 }",
            &format!("tls = \"verify-full\"\ntls_ca = \"{}\"", ca.display()),
            &[Backend::primary(port)],
        ),
        database(
            "verified_by_name",
            "{ mode = \"session\", size = 2 }",
            &format!("tls = \"verify-full\"\ntls_ca = \"{}\"", ca.display()),
            &[Backend {
                host: "localhost",
                ..Backend::primary(port)
            }],
        ),
        database(
            "encrypted",
            "{ mode = \"transaction\", size = 2 }",
            "tls = \"require\"",
            &[Backend::primary(port)],
        ),
        database(
            "wrong_ca",
            "{ mode = \"transaction\", size = 2 }",
            &format!("tls = \"verify-full\"\ntls_ca = \"{}\"", other.display()),
            &[Backend::primary(port)],
        ),
        database(
            "wrong_ca_session",
            "{ mode = \"session\", size = 2 }",
            &format!("tls = \"verify-full\"\ntls_ca = \"{}\"", other.display()),
            &[Backend::primary(port)],
        ),
    ]
    .concat();
    let (gw, _dir) = start_gateway("", &dbs).await;

    for db in ["verified", "verified_by_name", "encrypted"] {
        let c = connect(&gw, db)
            .await
            .unwrap_or_else(|e| panic!("{db}: {e:?}"));
        let row = c
            .query_one("SELECT name FROM items WHERE id = $1", &[&9i32])
            .await
            .unwrap_or_else(|e| panic!("{db}: {e:?}"));
        assert_eq!(row.get::<_, String>(0), "item 9", "{db}");
        // The server connection serving this client is encrypted, seen from the server.
        let ssl = simple_value(
            &c,
            "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        )
        .await
        .unwrap_or_else(|e| panic!("{db}: {e:?}"));
        assert_eq!(ssl.as_deref(), Some("true"), "{db}");
    }
    let (with, without) = tokio::task::block_in_place(|| server_side_tls(&pg));
    assert!(with >= 3, "server connections with TLS: {with}");
    assert_eq!(without, 0, "no gateway connection went without TLS");

    // The wrong CA: the handshake fails, and the client is told why.
    for db in ["wrong_ca", "wrong_ca_session"] {
        let err = match connect(&gw, db).await {
            Err(e) => e,
            Ok(c) => c
                .simple_query("SELECT 1")
                .await
                .err()
                .unwrap_or_else(|| panic!("{db}: a backend with an unknown CA was accepted")),
        };
        let dbe = err
            .as_db_error()
            .unwrap_or_else(|| panic!("{db}: the client gets a server error, got {err:?}"));
        assert_eq!(dbe.code().code(), "08006", "{db}: {dbe:?}");
        let msg = dbe.message();
        assert!(msg.contains("TLS"), "{db}: {msg}");
        assert!(
            msg.contains("certificate") || msg.contains("UnknownIssuer"),
            "{db}: the message names the certificate problem: {msg}"
        );
        // The backend's address is for the gateway's log, never for clients.
        assert!(
            !msg.contains(&format!("127.0.0.1:{port}")) && !msg.contains(&port.to_string()),
            "{db}: names the backend: {msg}"
        );
    }
    let m = gw.shared.metrics.render();
    assert!(
        metric(
            &m,
            &format!("articdbm_backend_connect_failures_total{{backend=\"127.0.0.1:{port}\",database=\"wrong_ca\"}}")
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backend_verify_full_checks_the_name() {
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::new(certs.path(), "ca").unwrap();
    // Valid for localhost only: connecting to 127.0.0.1 must fail the name check.
    let (cert, key) = pki.issue("ca", "pg", "DNS:localhost").unwrap();
    let (pg, _files) = tls_pg(&cert, &key).await;
    let ca = pki.ca_cert("ca");
    let dbs = [
        database(
            "by_ip",
            "{ mode = \"transaction\", size = 2 }",
            &format!("tls = \"verify-full\"\ntls_ca = \"{}\"", ca.display()),
            &[Backend::primary(pg.port())],
        ),
        database(
            "by_name",
            "{ mode = \"transaction\", size = 2 }",
            &format!("tls = \"verify-full\"\ntls_ca = \"{}\"", ca.display()),
            &[Backend {
                host: "localhost",
                ..Backend::primary(pg.port())
            }],
        ),
        // require: encryption without verification, so the name does not matter.
        database(
            "unverified",
            "{ mode = \"transaction\", size = 2 }",
            "tls = \"require\"",
            &[Backend::primary(pg.port())],
        ),
    ]
    .concat();
    let (gw, _dir) = start_gateway("", &dbs).await;
    for db in ["by_name", "unverified"] {
        let c = connect(&gw, db)
            .await
            .unwrap_or_else(|e| panic!("{db}: {e:?}"));
        assert_eq!(
            simple_value(&c, "SELECT count(*) FROM items")
                .await
                .unwrap()
                .as_deref(),
            Some("100"),
            "{db}"
        );
    }
    let err = match connect(&gw, "by_ip").await {
        Err(e) => e,
        Ok(c) => c
            .simple_query("SELECT 1")
            .await
            .expect_err("name mismatch refused"),
    };
    let msg = err
        .as_db_error()
        .unwrap_or_else(|| panic!("a server error: {err:?}"))
        .message()
        .to_string();
    assert!(msg.contains("TLS") && msg.contains("certificate"), "{msg}");
}
