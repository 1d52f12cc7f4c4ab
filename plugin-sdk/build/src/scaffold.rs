//! `articdbm-gateway plugin new`: a working skeleton in each language. Every skeleton is the
//! same small policy (refuse `DROP` except for the users its config lists) with a manifest, a
//! pack binding it, captured traffic and a gateway config in front of SQLite, so `plugin
//! build`, `policy test` and `run` work at once.

use std::path::{Path, PathBuf};

use crate::dispatch::{Lang, PluginError, Sdk, check_name};

/// (path in the skeleton, template text)
type Template = (&'static str, &'static str);

const COMMON: &[Template] = &[
    (
        "manifest.json",
        include_str!("../templates/common/manifest.json"),
    ),
    ("pack.toml", include_str!("../templates/common/pack.toml")),
    (
        "traffic.jsonl",
        include_str!("../templates/common/traffic.jsonl"),
    ),
    ("README.md", include_str!("../templates/common/README.md")),
    (
        "gateway.toml",
        include_str!("../templates/common/gateway.toml"),
    ),
];

const RUST: &[Template] = &[
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
    ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
];
const PYTHON: &[Template] = &[("app.py", include_str!("../templates/python/app.py"))];
const JS: &[Template] = &[("app.js", include_str!("../templates/js/app.js"))];
const C: &[Template] = &[("app.c", include_str!("../templates/c/app.c"))];

/// Per language: its files, its entry file, a title, the SDK's docs, and the memory cap its
/// skeleton's manifest asks for (CPython and the JS engine need megabytes more than Rust or C;
/// docs/PLUGINS.md, "Limits", has the measurements).
fn language(
    lang: Lang,
) -> (
    &'static [Template],
    &'static str,
    &'static str,
    &'static str,
    u32,
) {
    match lang {
        Lang::Rust => (RUST, "src/lib.rs", "Rust", "plugin-sdk/src/lib.rs", 16),
        Lang::Python => (
            PYTHON,
            "app.py",
            "Python",
            "plugin-sdk/python/README.md",
            32,
        ),
        Lang::Js => (JS, "app.js", "JavaScript", "plugin-sdk/js/README.md", 32),
        Lang::C => (C, "app.c", "C", "plugin-sdk/c/README.md", 16),
    }
}

/// Writes the skeleton of plugin `name` in `lang` into `dir` (which must not exist); returns
/// the files written.
pub fn scaffold(
    lang: Lang,
    name: &str,
    dir: &Path,
    sdk: &Sdk,
) -> Result<Vec<PathBuf>, PluginError> {
    check_name(name)?;
    if dir.exists() {
        return Err(PluginError::Exists(dir.display().to_string()));
    }
    let (files, entry, title, doc, memory_mib) = language(lang);
    let sdk_path = sdk.lang_dir(lang).display().to_string();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{ident}}", &name.replace('-', "_"))
            .replace("{{lang_title}}", title)
            .replace("{{entry}}", entry)
            .replace("{{sdk_doc}}", doc)
            .replace("{{sdk}}", &sdk_path)
            .replace("{{memory_mib}}", &memory_mib.to_string())
    };
    let mut written = Vec::new();
    for (rel, text) in COMMON.iter().chain(files) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| PluginError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        }
        std::fs::write(&path, fill(text)).map_err(|source| PluginError::Io {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
