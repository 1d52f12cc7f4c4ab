//! `articdbm-manager secrets new-key` and `secrets rotate`, the real binary on a real store, as
//! docs/SECURITY.md tells an operator to run them; and its logs as JSON lines.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use articdbm_manager::secrets::{KeySource, Keyring};
use articdbm_manager::store::Store;
use serde_json::{Value, json};

fn manager(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_articdbm-manager"));
    c.args(args)
        .env_remove("ARTICDBM_SECRET_KEY")
        .env_remove("ARTICDBM_SECRET_KEY_FILE")
        .env_remove("DATABASE_URL")
        .env_remove("ARTICDBM_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn store(data: &Path, key: KeySource) -> Result<Store, String> {
    let keys = Arc::new(Keyring::load(&key, data, true).map_err(|e| e.to_string())?);
    let url = format!("sqlite:{}?mode=rwc", data.join("manager.db").display());
    let s = Store::open(&url, Arc::clone(&keys))
        .await
        .map_err(|e| e.to_string())?;
    // What `serve` does at start: every value must open with the keys given.
    s.reseal_secrets(&keys, false)
        .await
        .map_err(|e| e.to_string())?;
    Ok(s)
}

#[tokio::test]
async fn new_key_then_rotate_then_only_the_new_key_opens_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let data_arg = data.display().to_string();

    // A store sealed with the key generated beside it, as a first `serve` leaves it.
    let s = store(&data, KeySource::default()).await.unwrap();
    s.put(
        "database",
        "acme",
        "orders",
        &json!({"name": "orders", "server_password": "rotate-me-secret"}),
    )
    .await
    .unwrap();
    drop(s);

    // new-key: an owner-only file; never over an existing one.
    let new = dir.path().join("new.key");
    let out = manager(&["secrets", "new-key", &new.display().to_string()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout)
        .split_whitespace()
        .nth(2)
        .unwrap()
        .to_string();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = manager(&["secrets", "new-key", &new.display().to_string()], &[]);
    assert!(!out.status.success());

    // An unknown log format is refused before anything runs.
    let out = manager(
        &[
            "secrets",
            "rotate",
            "--data-dir",
            &data_arg,
            "--new-key-file",
            &new.display().to_string(),
        ],
        &[("ARTICDBM_LOG_FORMAT", "xml")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a log format"),
        "{}",
        text(&out.stderr)
    );

    // rotate, logging JSON lines.
    let out = manager(
        &[
            "secrets",
            "rotate",
            "--data-dir",
            &data_arg,
            "--new-key-file",
            &new.display().to_string(),
        ],
        &[("ARTICDBM_LOG_FORMAT", "json")],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("1 secrets in 1 resources sealed with key {id}")),
        "{stdout}"
    );
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("key kept beside the store"))),
        "{stderr}"
    );
    assert!(!stderr.contains("rotate-me-secret") && !stdout.contains("rotate-me-secret"));

    // The key beside the store no longer opens it; the new one does.
    let e = store(&data, KeySource::default()).await.err().unwrap();
    assert!(e.contains(&format!("sealed with secret key {id}")), "{e}");
    let out = manager(
        &[
            "secrets",
            "rotate",
            "--data-dir",
            &data_arg,
            "--new-key-file",
            &new.display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not the key given"),
        "{}",
        text(&out.stderr)
    );
    let new_key = KeySource {
        file: Some(new.clone()),
        ..Default::default()
    };
    let s = store(&data, new_key).await.unwrap();
    let r = s.get("database", "acme", "orders").await.unwrap().unwrap();
    assert_eq!(r.body["server_password"], "rotate-me-secret");
    drop(s);

    // Rotating to the key already in use is refused; so is a store that is not there.
    let out = manager(
        &[
            "secrets",
            "rotate",
            "--data-dir",
            &data_arg,
            "--secret-key-file",
            &new.display().to_string(),
            "--new-key-file",
            &new.display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already"),
        "{}",
        text(&out.stderr)
    );
    let out = manager(
        &[
            "secrets",
            "rotate",
            "--data-dir",
            &dir.path().join("nothing").display().to_string(),
            "--new-key-file",
            &new.display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no store"),
        "{}",
        text(&out.stderr)
    );
}
