//! The packs shipped in the repository (`policies/`, `examples/packs/`) parse, merge, and
//! configure the real first-party plugins as their manifests' `config_schema` demands.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use articdbm_pack::{FailureMode, Hook, Mode, Pack, PackKind, PackSet, PluginManifest};
use serde_json::json;

use crate::{files_with_ext, repo_root};

/// The manifest of plugin `name`: `plugins/<name>/manifest.json` or
/// `plugins/testing/<name>/manifest.json`.
fn real_manifest(name: &str) -> Option<PluginManifest> {
    let root = repo_root();
    [
        root.join("plugins").join(name).join("manifest.json"),
        root.join("plugins/testing")
            .join(name)
            .join("manifest.json"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .map(|p| PluginManifest::load(&p).unwrap_or_else(|e| panic!("{e}")))
}

fn example_files() -> Vec<PathBuf> {
    files_with_ext(&repo_root().join("examples/packs"), "toml")
}

fn check_against_real_plugins(set: &PackSet) {
    let mut manifests: HashMap<String, PluginManifest> = HashMap::new();
    for p in set.packs() {
        for b in &p.bindings {
            if let Some(m) = real_manifest(&b.plugin) {
                manifests.insert(b.plugin.clone(), m);
            }
        }
    }
    set.check_plugins(|n| manifests.get(n))
        .unwrap_or_else(|e| panic!("shipped packs do not fit the real plugins:\n{e}"));
}

#[test]
fn default_policy_is_the_baseline_sqli_guard_and_threat_match_on_connect() {
    let set = PackSet::load(repo_root().join("policies")).unwrap_or_else(|e| panic!("{e}"));
    let base = set.baseline().expect("policies/ has a baseline");
    assert_eq!(base.kind, PackKind::Baseline);
    assert!(Path::new(&base.source).ends_with("policies/default.toml"));
    let eff = set.effective_for("any-tenant");
    let plugins: Vec<&str> = eff.bindings.iter().map(|b| b.plugin.as_str()).collect();
    assert_eq!(
        plugins,
        ["sqli-guard", "threat-match"],
        "the baseline must stay minimal (no acl)"
    );
    let b = &eff.bindings[0];
    assert_eq!((b.mode, b.failure), (Mode::Enforce, FailureMode::Closed));
    assert_eq!(b.config, json!({}));
    // Threat intelligence on connect only: nothing per statement.
    let t = &eff.bindings[1];
    assert_eq!((t.mode, t.failure), (Mode::Enforce, FailureMode::Closed));
    assert_eq!(t.hooks, [Hook::Connect]);
    check_against_real_plugins(&set);
}

#[test]
fn example_packs_parse_and_merge_with_the_default() {
    let examples = example_files();
    assert!(examples.len() >= 2, "{examples:?}");
    for f in &examples {
        let p = Pack::load(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.kind, PackKind::Tenant, "{}", f.display());
    }
    let mut files = vec![repo_root().join("policies/default.toml")];
    files.extend(examples);
    let set = PackSet::load_files(&files).unwrap_or_else(|e| panic!("{e}"));
    check_against_real_plugins(&set);

    let acme = set.effective_for("acme");
    let ids: Vec<&str> = acme.bindings.iter().map(|b| b.plugin.as_str()).collect();
    assert_eq!(ids[0], "sqli-guard");
    for want in ["acl", "network", "rate-limit"] {
        assert!(ids.contains(&want), "acme lacks {want}: {ids:?}");
    }
    assert!(acme.bindings.iter().all(|b| b.mode == Mode::Enforce));

    let globex = set.effective_for("globex");
    assert_eq!(globex.bindings[0].plugin, "sqli-guard");
    assert_eq!(
        globex.bindings[0].mode,
        Mode::Enforce,
        "monitor never reaches the baseline"
    );
    assert!(
        globex.bindings[1..]
            .iter()
            .any(|b| b.plugin == "acl" && b.mode == Mode::Monitor)
    );
}

#[test]
fn shipped_plugin_manifests_are_valid() {
    for name in ["sqli-guard", "acl", "network", "rate-limit"] {
        let m = real_manifest(name).unwrap_or_else(|| panic!("no manifest for {name}"));
        assert_eq!(m.name, name);
        m.validate().unwrap();
    }
}
