//! `articdbm-manager feed parse`, the real binary on real files: one JSON line per indicator,
//! then a summary with unsupported patterns; a hostile file is an error naming the problem.

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> (bool, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_articdbm-manager"))
        .args(["feed", "parse"])
        .args(args)
        .output()
        .expect("the binary runs");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn parses_each_format_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let stix = dir.path().join("bundle.json");
    std::fs::write(
        &stix,
        r#"{"type":"bundle","id":"bundle--1","objects":[
          {"type":"indicator","spec_version":"2.1","id":"indicator--1","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z",
           "pattern":"[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'Bad.Example']","pattern_type":"stix",
           "valid_from":"2024-01-01T00:00:00Z","valid_until":"2030-01-01T00:00:00Z","confidence":85},
          {"type":"indicator","spec_version":"2.1","id":"indicator--2","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z",
           "pattern":"[file:hashes.'SHA-256' = 'aa']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"},
          {"type":"indicator","spec_version":"2.1","id":"indicator--3","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z",
           "pattern":"alert tcp any any -> any any","pattern_type":"snort","valid_from":"2024-01-01T00:00:00Z"}]}"#,
    )
    .unwrap();
    let (ok, lines, err) = run(&["--format", "stix", stix.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    let addr = lines.iter().find(|l| l["type"] == "address").unwrap();
    assert_eq!(addr["value"], "198.51.100.7");
    assert_eq!(addr["confidence"], 85);
    assert_eq!(addr["source_id"], "indicator--1");
    assert_eq!(addr["valid_until"], "2030-01-01T00:00:00Z");
    let dom = lines.iter().find(|l| l["type"] == "domain").unwrap();
    assert_eq!(dom["value"], "bad.example");
    let s = &lines[2]["summary"];
    assert_eq!(s["indicators"], 2, "{s}");
    assert_eq!(s["unsupported"]["file:hashes"], 1, "{s}");
    assert_eq!(s["unsupported"]["pattern_type:snort"], 1, "{s}");
    assert_eq!(s["unsupported_total"], 2, "{s}");

    // A MISP feed directory.
    let feed = dir.path().join("misp");
    std::fs::create_dir(&feed).unwrap();
    let uuid = "5f1e7c2a-0000-4000-8000-000000000001";
    std::fs::write(
        feed.join("manifest.json"),
        format!(r#"{{"{uuid}": {{"timestamp": "1700000000"}}}}"#),
    )
    .unwrap();
    std::fs::write(
        feed.join(format!("{uuid}.json")),
        r#"{"Event":{"uuid":"5f1e7c2a-0000-4000-8000-000000000001","info":"x","threat_level_id":"1",
            "Attribute":[{"uuid":"a-1","type":"ip-src","value":"192.0.2.9","to_ids":true},
                         {"uuid":"a-2","type":"sha256","value":"ab","to_ids":true}]}}"#,
    )
    .unwrap();
    let (ok, lines, err) = run(&["--format", "misp-feed", feed.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(lines[0]["value"], "192.0.2.9", "{lines:?}");
    assert_eq!(lines.last().unwrap()["summary"]["documents"], 1);

    // Hostile and wrong input: an error on stderr naming the problem, exit status 1.
    let laughs = dir.path().join("laughs.xml");
    std::fs::write(
        &laughs,
        "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><ioc>&b;</ioc>",
    )
    .unwrap();
    let (ok, _, err) = run(&["--format", "openioc", laughs.to_str().unwrap()]);
    assert!(!ok && err.contains("DOCTYPE"), "{err}");
    let (ok, _, err) = run(&["--format", "yaml", laughs.to_str().unwrap()]);
    assert!(!ok && err.contains("not a format"), "{err}");
    let (ok, _, err) = run(&["--format", "stix", "/nonexistent/file.json"]);
    assert!(!ok && err.contains("/nonexistent/file.json"), "{err}");
}
