//! The checked-in JSON Schemas (`docs/schema/`) must agree with the parser: every pack and
//! manifest the crate accepts validates against them, and the golden bad files whose fault a
//! schema can express are rejected by them too.

use std::path::PathBuf;

use articdbm_pack::{Pack, PluginManifest};
use serde_json::json;

use crate::{compile_schema, files_with_ext, repo_root, toml_file_as_json, violations};

fn pack_schema() -> jsonschema::Validator {
    compile_schema(&repo_root().join("docs/schema/pack.schema.json"))
}

fn manifest_schema() -> jsonschema::Validator {
    compile_schema(&repo_root().join("docs/schema/plugin-manifest.schema.json"))
}

/// Every pack file the crate must accept: shipped packs and golden good packs.
fn good_pack_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = files_with_ext(&root.join("policies"), "toml");
    files.extend(files_with_ext(&root.join("examples/packs"), "toml"));
    let good = root.join("gateway/pack/tests/golden/good");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        files.extend(files_with_ext(&d, "toml"));
    }
    files
}

#[test]
fn accepted_packs_match_the_pack_schema() {
    let schema = pack_schema();
    let files = good_pack_files();
    assert!(files.len() >= 7, "{files:?}");
    for f in files {
        let pack = Pack::load(&f).unwrap_or_else(|e| panic!("{e}"));
        // As written, and as the crate serializes it back (defaults filled in).
        for (form, json) in [
            ("as written", toml_file_as_json(&f)),
            ("serialized", pack.to_json()),
        ] {
            let v = violations(&schema, &json);
            assert!(
                v.is_empty(),
                "{} ({form}) breaks pack.schema.json:\n{}",
                f.display(),
                v.join("\n")
            );
        }
    }
}

#[test]
fn schema_rejects_what_the_parser_rejects() {
    let schema = pack_schema();
    let bad = repo_root().join("gateway/pack/tests/golden/bad");
    // Faults a JSON Schema can express. (Duplicate ids, unknown plugins, config violations and
    // merge conflicts need the other packs or the plugins, so only the crate catches them.)
    for case in [
        "unknown-field",
        "unknown-top-field",
        "tenant-missing",
        "tighten-loosening",
        "tighten-in-baseline",
        "bad-values",
        "wrong-type",
    ] {
        let f = bad.join(format!("{case}.toml"));
        assert!(Pack::load(&f).is_err(), "{case}: the parser accepts it");
        let v = violations(&schema, &toml_file_as_json(&f));
        assert!(!v.is_empty(), "{case}: pack.schema.json accepts it");
    }
}

/// Every manifest in the repository: first-party, test plugins, golden stand-ins.
fn manifest_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["plugins", "plugins/testing"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let m = e.unwrap().path().join("manifest.json");
            if m.is_file() {
                files.push(m);
            }
        }
    }
    files.sort();
    files.extend(files_with_ext(
        &root.join("gateway/pack/tests/golden/plugins"),
        "json",
    ));
    files
}

#[test]
fn manifests_match_the_manifest_schema() {
    let schema = manifest_schema();
    let files = manifest_files();
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        let m = PluginManifest::load(&f).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&f).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let v = violations(&schema, &json);
        assert!(v.is_empty(), "{}: {}", f.display(), v.join("\n"));
        let v = violations(&schema, &serde_json::to_value(&m).unwrap());
        assert!(
            v.is_empty(),
            "{} (serialized): {}",
            f.display(),
            v.join("\n")
        );
    }
}

#[test]
fn manifest_schema_rejects_what_the_parser_rejects() {
    let schema = manifest_schema();
    for bad in [
        json!({"name": "a"}),
        json!({"name": "A", "version": "0.1.0"}),
        json!({"name": "a", "version": "1.0"}),
        json!({"name": "a", "version": "0.1.0", "wrold": "policy"}),
        json!({"name": "a", "version": "0.1.0", "world": "configurable"}),
        json!({"name": "a", "version": "0.1.0", "isolation": "cold"}),
        json!({"name": "a", "version": "0.1.0", "limits": {"memory_mib": 2048}}),
        json!({"name": "a", "version": "0.1.0", "limits": {"deadline_ms": 0}}),
        json!({"name": "a", "version": "0.1.0", "limits": {"fuel": 1000}}),
        json!({"name": "a", "version": "0.1.0", "limits": {"cpu": 1}}),
        json!({"name": "a", "version": "0.1.0", "config_schema": 3}),
    ] {
        assert!(
            PluginManifest::parse(&bad.to_string(), "m.json").is_err(),
            "parser accepts {bad}"
        );
        assert!(
            !violations(&schema, &bad).is_empty(),
            "schema accepts {bad}"
        );
    }
}
