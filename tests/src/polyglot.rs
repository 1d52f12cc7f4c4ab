//! Policy plugins written in Python, JavaScript/TypeScript and C, built from their sources with
//! the SDKs' toolchains (`articdbm_plugin_build`, the code behind `articdbm-gateway plugin
//! build`) and cached under `target/polyglot/out/` by a hash of everything that goes into them:
//! the plugin's files, its language's SDK, the WIT package and the builder. A second test
//! binary, or a later run, asking for the same component gets the cached file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use articdbm_plugin_build::Lang;
use sha2::{Digest, Sha256};

use crate::tools::{FileLock, target_dir, workspace_dir};

/// A built plugin: its component and manifest, and the plugin name the manifest gives.
#[derive(Debug, Clone)]
pub struct Built {
    pub name: String,
    pub lang: Lang,
    pub wasm: PathBuf,
    pub manifest: PathBuf,
    /// How long the build took; zero when the component came from the cache.
    pub build_time: Duration,
}

impl Built {
    /// The component's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.wasm).unwrap_or_default()
    }
    /// The manifest's bytes.
    pub fn manifest_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.manifest).unwrap_or_default()
    }
}

/// The three languages besides Rust, in the order tests go through them.
pub const LANGS: [Lang; 3] = [Lang::Python, Lang::Js, Lang::C];

/// The directory (relative to the workspace) of a language's test plugin `kind`
/// (`trivial`, `faults`).
pub fn testing_dir(lang: Lang, kind: &str) -> String {
    format!("plugins/testing/polyglot/{}/{kind}", short(lang))
}

/// The directory (relative to the workspace) of a language's example plugin.
pub fn example_dir(lang: Lang) -> &'static str {
    match lang {
        Lang::Python => "examples/plugins/python-business-hours",
        Lang::Js => "examples/plugins/js-daily-budget",
        Lang::C => "examples/plugins/c-where-guard",
        Lang::Rust => "plugins/acl",
    }
}

/// `py`, `js`, `c`: the suffix of the test plugins' names (`trivial-py`).
pub fn short(lang: Lang) -> &'static str {
    match lang {
        Lang::Python => "py",
        Lang::Js => "js",
        Lang::C => "c",
        Lang::Rust => "rust",
    }
}

/// Builds (or takes from the cache) the plugin in `rel_dir` (relative to the workspace).
pub fn component(rel_dir: &str) -> Result<Built> {
    let root = workspace_dir();
    let dir = root.join(rel_dir);
    let lang = Lang::detect(&dir).with_context(|| format!("which language is {rel_dir}?"))?;
    let manifest = dir.join("manifest.json");
    let name = articdbm_plugin_build::manifest_name(&dir)?;
    let hash = input_hash(&root, &dir, lang)?;
    let out_dir = target_dir().join("polyglot").join("out");
    std::fs::create_dir_all(&out_dir)?;
    let wasm = out_dir.join(format!("{name}-{}.wasm", &hash[..16]));
    let _lock = FileLock::acquire(&out_dir.join(format!("{name}.lock")))?;
    let mut build_time = Duration::ZERO;
    if !wasm.is_file() {
        let tmp = out_dir.join(format!("{name}-{}.wasm.tmp", &hash[..16]));
        let started = Instant::now();
        let sdk = articdbm_plugin_build::Sdk::locate(Some(&root.join("plugin-sdk")))?;
        articdbm_plugin_build::build(lang, &dir, &tmp, &sdk)
            .with_context(|| format!("building {rel_dir}"))?;
        build_time = started.elapsed();
        std::fs::rename(&tmp, &wasm)?;
    }
    Ok(Built {
        name,
        lang,
        wasm,
        manifest,
        build_time,
    })
}

/// A plugin directory holding `<name>.wasm` and `<name>.json` of each plugin, plus every
/// component of `extra_dirs` (such as the Rust plugins' `target/plugins`).
pub fn plugin_dir(plugins: &[&Built], extra_dirs: &[&Path]) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for extra in extra_dirs {
        for entry in std::fs::read_dir(extra).with_context(|| extra.display().to_string())? {
            let path = entry?.path();
            if let Some(file) = path.file_name() {
                std::fs::copy(&path, dir.path().join(file))?;
            }
        }
    }
    for p in plugins {
        std::fs::copy(&p.wasm, dir.path().join(format!("{}.wasm", p.name)))?;
        std::fs::copy(&p.manifest, dir.path().join(format!("{}.json", p.name)))?;
    }
    Ok(dir)
}

/// SHA-256 over the files that make the component: the plugin's directory, its language's SDK,
/// the WIT package and the builder's sources.
fn input_hash(root: &Path, dir: &Path, lang: Lang) -> Result<String> {
    let mut h = Sha256::new();
    let sdk = root.join("plugin-sdk").join(match lang {
        Lang::Python => "python",
        Lang::Js => "js",
        Lang::C => "c",
        Lang::Rust => "src",
    });
    for input in [
        dir.to_path_buf(),
        sdk,
        root.join("wit"),
        root.join("plugin-sdk/build/src"),
    ] {
        hash_tree(&input, &mut h)?;
    }
    Ok(hex::encode(h.finalize()))
}

fn hash_tree(path: &Path, h: &mut Sha256) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| path.display().to_string())?;
    if meta.is_file() {
        h.update(path.to_string_lossy().as_bytes());
        h.update(std::fs::read(path)?);
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !matches!(
                name,
                "node_modules" | "__pycache__" | "target" | ".pytest_cache" | "build"
            ) && !name.ends_with(".wasm")
        })
        .collect();
    entries.sort();
    for e in entries {
        hash_tree(&e, h)?;
    }
    Ok(())
}

/// A second version of the plugin in `rel_dir`: its entry file with `from` replaced by `to`,
/// built afresh (not cached). Returns the component's bytes.
pub fn variant(rel_dir: &str, from: &str, to: &str) -> Result<Vec<u8>> {
    let root = workspace_dir();
    let src = root.join(rel_dir);
    let lang = Lang::detect(&src)?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("plugin");
    std::fs::create_dir(&dir)?;
    let mut replaced = false;
    for entry in std::fs::read_dir(&src)? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().unwrap_or_default();
        let mut text = std::fs::read(&path)?;
        if name.to_string_lossy().starts_with("app.") {
            let s = String::from_utf8_lossy(&text).into_owned();
            replaced |= s.contains(from);
            text = s.replace(from, to).into_bytes();
        }
        std::fs::write(dir.join(name), text)?;
    }
    anyhow::ensure!(replaced, "{rel_dir}: no {from:?} in its entry file");
    let out = tmp.path().join("v2.wasm");
    let sdk = articdbm_plugin_build::Sdk::locate(Some(&root.join("plugin-sdk")))?;
    articdbm_plugin_build::build(lang, &dir, &out, &sdk)?;
    Ok(std::fs::read(&out)?)
}
