//! Integration tests of articdbm-pack, one binary: golden files (bad packs → exact error
//! text, good pack directories → exact effective packs), the checked-in JSON Schemas, and
//! the pack files shipped in the repository.

mod golden;
mod schema;
mod shipped;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use articdbm_pack::PluginManifest;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Loads every `*.json` manifest in `dir`, keyed by plugin name.
pub fn manifests_in(dir: &Path) -> HashMap<String, PluginManifest> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            let m = PluginManifest::load(&p).unwrap();
            out.insert(m.name.clone(), m);
        }
    }
    out
}

/// Sorted `*.<ext>` files directly in `dir`.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Compiles a JSON Schema file.
pub fn compile_schema(path: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(path).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{}: not a valid JSON Schema: {e}", path.display()))
}

/// Every schema violation of `instance`, one per line.
pub fn violations(v: &jsonschema::Validator, instance: &serde_json::Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// A TOML file as JSON, as written (no defaults filled in): what the pack schema describes.
pub fn toml_file_as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let table: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Datetimes become strings, as they do in a binding config.
    let json = serde_json::to_value(toml::Value::Table(table)).unwrap();
    fix_datetimes(json)
}

fn fix_datetimes(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            if m.len() == 1
                && let Some(Value::String(s)) = m.get("$__toml_private_datetime")
            {
                return Value::String(s.clone());
            }
            Value::Object(m.into_iter().map(|(k, v)| (k, fix_datetimes(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(fix_datetimes).collect()),
        other => other,
    }
}
