//! `articdbm-gateway policy test` and `policy check`, run as a user would.

use std::process::Command;

use crate::fixture::*;

pub(crate) fn gateway() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_articdbm-gateway"));
    c.env_remove("ARTICDBM_PLUGIN_DIR");
    c
}

#[test]
fn policy_test_prints_one_verdict_per_line_in_order() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "echo", "echo");
    let pack = write_pack(
        dir.path(),
        "base.toml",
        "version = 1\nname = \"b\"\nkind = \"baseline\"\n[[binding]]\nid = \"g\"\nplugin = \"echo\"\nconfig = { deny_word = \"DROP\" }\n",
    );
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"sql\": \"SELECT 1\"}\n\n{\"sql\": \"DROP TABLE t\", \"user\": \"bob\", \"tenant\": \"acme\", \"protocol\": \"mysql\"}\n",
    )
    .unwrap();
    let out = gateway()
        .args(["policy", "test", "--pack"])
        .arg(&pack)
        .arg("--plugins")
        .arg(plugin_dir(dir.path()))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["verdict"], "audit");
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["verdict"], "deny");
    assert_eq!(lines[1]["plugin"], "echo");
    assert_eq!(lines[1]["rule"], "echo.v1");
    assert_eq!(lines[1]["reason"], "contains DROP");
}

#[test]
fn policy_test_names_the_malformed_line() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "echo", "echo");
    let pack = write_pack(dir.path(), "base.toml", &baseline("echo", ""));
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"sql\": \"SELECT 1\"}\n{\"sql\": 5}\n{\"query\": \"x\"}\n{\"sql\": \"SELECT 2\"}\n",
    )
    .unwrap();
    let out = gateway()
        .args(["policy", "test", "--pack"])
        .arg(&pack)
        .arg("--plugins")
        .arg(plugin_dir(dir.path()))
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("input line 2"), "{stderr}");
    assert!(stderr.contains("input line 3"), "{stderr}");
    assert!(stderr.contains("unknown field `query`"), "{stderr}");
    // The good lines were still evaluated.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn policy_check_reports_a_missing_plugin_directory() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write_pack(dir.path(), "base.toml", &baseline("echo", ""));
    let out = gateway()
        .args(["policy", "check", "--pack"])
        .arg(&pack)
        .arg("--plugins")
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plugin directory"));
}

#[test]
fn shipped_default_pack_checks_against_the_built_plugins() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let out = gateway()
        .args(["policy", "check", "--pack"])
        .arg(root.join("policies"))
        .arg("--plugins")
        .arg(articdbm_plugin_artifacts::PLUGIN_DIR)
        .arg("--cache-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("baseline present"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gateway process started by `run --config`, killed if the test fails before stopping it.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `run` as the README's command starts it: SQLite behind the default pack. A real driver
/// queries and is refused an injection; `/metrics` shows the socket polling of `spin_us`
/// running (`spin_under_quota`, so that it runs in a container with a CPU limit too);
/// SIGTERM stops the process cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_a_driver_and_stops_on_sigterm() {
    use std::io::{Read, Write};

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let (port, admin) = (free_port(), free_port());
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
             packs = [{pack:?}]\nplugin_dir = {plugins:?}\ncache_dir = {cache:?}\n\
             watch = false\nspin_us = 200\nspin_under_quota = true\n\n\
             [[user]]\nname = \"demo\"\npassword = \"demo-password\"\n\n\
             [[database]]\nname = \"demo\"\nsqlite = {db:?}\n",
            pack = root.join("policies/default.toml").display().to_string(),
            plugins = articdbm_plugin_artifacts::PLUGIN_DIR,
            cache = dir.path().join("cache").display().to_string(),
            db = dir.path().join("demo.db").display().to_string(),
        ),
    )
    .unwrap();
    let mut child = gateway()
        .args(["run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut gw = Running(child);
    // The line scripts wait for; the process exits instead if the configuration is refused.
    let rx = listening_line(stdout);
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the gateway did not report listening");
    assert!(
        line.contains(&format!("postgres=127.0.0.1:{port}")),
        "{line}"
    );

    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=demo password=demo-password dbname=demo"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let n: i64 = client.query_one("SELECT 1 + 1", &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
    client
        .batch_execute("CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    let e = client
        .simple_query("SELECT name FROM t WHERE name = '' OR '1'='1'")
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );
    let n: i64 = client
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the connection stays usable after a refusal");

    let mut http = std::net::TcpStream::connect(("127.0.0.1", admin)).unwrap();
    http.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    http.read_to_string(&mut text).unwrap();
    let counter = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    // The spinner looked at the load at least once: it either polled or paused.
    let (polls, pauses) = (
        counter("articdbm_spin_polls_total"),
        counter("articdbm_spin_pauses_total"),
    );
    assert!(polls + pauses > 0, "polls {polls}, pauses {pauses}");

    drop(client);
    let _ = conn.await;
    // SAFETY: kill(2) on the child's pid, which `gw` has not reaped yet.
    assert_eq!(unsafe { libc::kill(gw.0.id() as i32, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = gw.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit 30 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// `run` with `ARTICDBM_LOG_FORMAT=json`: every line on stderr is a JSON object; the admin
/// endpoints with `admin_token_file` answer 401 without the token and 200 with it. An unknown
/// log format stops the binary at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_and_an_admin_token() {
    use std::io::{Read, Write};

    let out = gateway()
        .args(["policy", "check", "--help"])
        .env("ARTICDBM_LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a log format"));

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let (port, admin) = (free_port(), free_port());
    let token = "admin-token-for-the-cli-test";
    std::fs::write(dir.path().join("admin.token"), format!("{token}\n")).unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
             admin_token_file = \"admin.token\"\n\
             packs = [{pack:?}]\nplugin_dir = {plugins:?}\ncache_dir = {cache:?}\nwatch = false\n",
            pack = root.join("policies/default.toml").display().to_string(),
            plugins = articdbm_plugin_artifacts::PLUGIN_DIR,
            cache = dir.path().join("cache").display().to_string(),
        ),
    )
    .unwrap();
    let mut child = gateway()
        .args(["run", "--config"])
        .arg(&config)
        .env("ARTICDBM_LOG", "info")
        .env("ARTICDBM_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut gw = Running(child);
    let rx = listening_line(stdout);
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the gateway did not report listening");

    let get = |auth: Option<&str>| {
        let mut http = std::net::TcpStream::connect(("127.0.0.1", admin)).unwrap();
        let header = auth
            .map(|a| format!("Authorization: Bearer {a}\r\n"))
            .unwrap_or_default();
        http.write_all(format!("GET /metrics HTTP/1.0\r\nHost: x\r\n{header}\r\n").as_bytes())
            .unwrap();
        let mut text = String::new();
        http.read_to_string(&mut text).unwrap();
        text
    };
    assert!(get(None).starts_with("HTTP/1.0 401"), "{}", get(None));
    assert!(get(Some("not-the-admin-token")).starts_with("HTTP/1.0 401"));
    let ok = get(Some(token));
    assert!(ok.starts_with("HTTP/1.0 200"), "{ok}");

    // SAFETY: kill(2) on the child's pid, which `gw` has not reaped yet.
    assert_eq!(unsafe { libc::kill(gw.0.id() as i32, libc::SIGTERM) }, 0);
    let status = gw.0.wait().unwrap();
    assert!(status.success(), "{status}");
    let logged = errors.join().unwrap();
    let lines: Vec<&str> = logged.lines().collect();
    assert!(!lines.is_empty(), "info logs something at start");
    for l in lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{l}"
        );
        assert!(!l.contains(token), "{l}");
    }
}

/// The gateway's `articdbm-gateway listening ...` line, read from its stdout in a thread of
/// its own (the receiver gets nothing if the process exits first).
fn listening_line(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("articdbm-gateway listening") {
                let _ = tx.send(line);
            }
        }
    });
    rx
}
