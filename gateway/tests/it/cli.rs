//! `articdbm-gateway policy test` and `policy check`, run as a user would.

use std::process::Command;

use crate::fixture::*;

fn gateway() -> Command {
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
