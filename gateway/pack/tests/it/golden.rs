//! Golden files under `tests/golden/`:
//! - `bad/<case>.toml` (one pack) or `bad/<case>/` (a directory loaded as a `PackSet`), checked
//!   against the stand-in manifests of `plugins/`; the full error text must equal
//!   `bad/<case>.err`.
//! - `good/<case>/`: a directory of packs; `expected.json` holds the effective pack of each
//!   tenant with a pack and, under `"*"`, of tenants without one.
//!
//! `UPDATE_GOLDEN=1 cargo test -p articdbm-pack` rewrites the expected files; review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use articdbm_pack::{Pack, PackErrors, PackSet};

fn golden() -> PathBuf {
    // Relative, so the file names inside error messages do not depend on the checkout path.
    PathBuf::from("tests/golden")
}

fn update() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some()
}

/// Compares `actual` with the file at `expected` (or rewrites it), returning a mismatch report.
fn compare(expected: &Path, actual: &str) -> Option<String> {
    if update() {
        std::fs::write(expected, actual).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create)",
            expected.display()
        )
    });
    (want != actual).then(|| {
        format!(
            "== {} differs\n-- expected:\n{want}\n-- actual:\n{actual}\n",
            expected.display()
        )
    })
}

fn check_bad(path: &Path) -> Result<(), PackErrors> {
    let plugins = crate::manifests_in(&golden().join("plugins"));
    let lookup = |n: &str| plugins.get(n);
    if path.is_dir() {
        PackSet::load(path)?.check_plugins(lookup)
    } else {
        Pack::load(path)?.check_plugins(lookup)
    }
}

#[test]
fn bad_packs_fail_with_exact_errors() {
    let dir = golden().join("bad");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "golden cases went missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let expected = case.with_extension("err");
        match check_bad(case) {
            Ok(()) => failures.push(format!("== {} was accepted", case.display())),
            Err(e) => {
                // Every message names the file it is about.
                for err in e.errors() {
                    assert!(
                        err.to_string().starts_with(&format!("{}/", dir.display())),
                        "{err}"
                    );
                }
                if let Some(diff) = compare(&expected, &format!("{e}\n")) {
                    failures.push(diff);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn good_packs_give_expected_effective_packs() {
    let plugins = crate::manifests_in(&golden().join("plugins"));
    let dir = golden().join("good");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 2);
    let mut failures = Vec::new();
    for case in &cases {
        let set = PackSet::load(case).unwrap_or_else(|e| panic!("{}:\n{e}", case.display()));
        set.check_plugins(|n| plugins.get(n))
            .unwrap_or_else(|e| panic!("{}:\n{e}", case.display()));
        let mut out = BTreeMap::new();
        out.insert("*".to_string(), set.effective_for("no-such-tenant"));
        for t in set.tenants() {
            out.insert(t.to_string(), set.effective_for(t));
        }
        for e in out.values() {
            for b in &e.bindings {
                let again: serde_json::Value = serde_json::from_str(&b.config_json).unwrap();
                assert_eq!(again, b.config);
            }
        }
        let text = serde_json::to_string_pretty(&out).unwrap() + "\n";
        if let Some(diff) = compare(&case.join("expected.json"), &text) {
            failures.push(diff);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
