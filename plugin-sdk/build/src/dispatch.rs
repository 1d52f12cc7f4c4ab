//! One entry point for every plugin language: find the SDK, tell the language from the files,
//! build, and lay the result out as a plugin directory (`<name>.wasm` + `<name>.json`).
//!
//! C is built in-process (`crate::build_c`). Python and JavaScript/TypeScript run their SDK's
//! `build.sh`, which installs the pinned toolchain (componentize-py; componentize-js, jco and
//! TypeScript) under `target/polyglot/` when missing. Rust runs `cargo build --target
//! wasm32-wasip2 --release` in the plugin's directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A plugin source language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Rust,
    Python,
    /// JavaScript, or TypeScript compiled by `tsc` first.
    Js,
    C,
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        })
    }
}

/// Why a plugin could not be scaffolded or built. Every message names the file or command.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error(
        "{0}: cannot tell the plugin's language: expected app.py, app.js, app.ts, app.c or Cargo.toml (or pass --lang)"
    )]
    UnknownLang(String),
    #[error(
        "cannot find the ArticDBM plugin-sdk directory{0}; pass --sdk DIR (or set ARTICDBM_SDK_DIR) to the plugin-sdk directory of an ArticDBM checkout"
    )]
    NoSdk(String),
    #[error("{path}: {message}")]
    Manifest { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "invalid plugin name {0:?}: use lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters"
    )]
    BadName(String),
    #[error("{0} already exists: choose another --dir or remove it")]
    Exists(String),
    #[error("`{command}` failed{status}:\n{output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error("`{command}` could not be started: {source} ({hint})")]
    Spawn {
        command: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error(transparent)]
    C(#[from] crate::BuildError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PluginError + '_ {
    move |source| PluginError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The ArticDBM `plugin-sdk` directory: the WIT package beside it, and each language's SDK.
#[derive(Debug, Clone)]
pub struct Sdk {
    root: PathBuf,
}

impl Sdk {
    /// `dir` when given, else the `plugin-sdk` of the checkout this crate was built from.
    pub fn locate(dir: Option<&Path>) -> Result<Sdk, PluginError> {
        let candidate = match dir {
            Some(d) => d.to_path_buf(),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        };
        let root = candidate.canonicalize().unwrap_or(candidate);
        if !root.join("../wit/v0.1.2/policy.wit").is_file() {
            return Err(PluginError::NoSdk(format!(
                " ({} has no ../wit/v0.1.2/policy.wit beside it)",
                root.display()
            )));
        }
        Ok(Sdk { root })
    }

    /// The `plugin-sdk` directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The WIT package plugins are built against (`articdbm:policy@0.1.2`).
    pub fn wit_dir(&self) -> PathBuf {
        self.root.join("../wit/v0.1.2")
    }

    /// A language's SDK directory (the Rust SDK is the `plugin-sdk` crate itself).
    pub fn lang_dir(&self, lang: Lang) -> PathBuf {
        match lang {
            Lang::Rust => self.root.clone(),
            Lang::Python => self.root.join("python"),
            Lang::Js => self.root.join("js"),
            Lang::C => self.root.join("c"),
        }
    }
}

impl Lang {
    /// Tells the language from the plugin directory's entry file.
    pub fn detect(dir: &Path) -> Result<Lang, PluginError> {
        let has = |f: &str| dir.join(f).is_file();
        if has("app.py") {
            Ok(Lang::Python)
        } else if has("app.ts") || has("app.js") {
            Ok(Lang::Js)
        } else if has("app.c") {
            Ok(Lang::C)
        } else if has("Cargo.toml") {
            Ok(Lang::Rust)
        } else {
            Err(PluginError::UnknownLang(dir.display().to_string()))
        }
    }
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The component.
    pub wasm: PathBuf,
    /// The manifest beside it (`<name>.json`), when built with [`build_into`].
    pub manifest: PathBuf,
    pub size: u64,
    pub elapsed: Duration,
}

/// Reads the plugin name from `dir/manifest.json`.
pub fn manifest_name(dir: &Path) -> Result<String, PluginError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let bad = |message: String| PluginError::Manifest {
        path: path.display().to_string(),
        message,
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let name = v["name"]
        .as_str()
        .ok_or_else(|| bad("no \"name\" string".into()))?;
    check_name(name)?;
    Ok(name.to_string())
}

/// Plugin names are file stems and pack references: `[a-z0-9][a-z0-9-]{0,62}`.
pub fn check_name(name: &str) -> Result<(), PluginError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(PluginError::BadName(name.to_string()))
    }
}

/// Builds the plugin in `dir` into the component `out`.
pub fn build(lang: Lang, dir: &Path, out: &Path, sdk: &Sdk) -> Result<Built, PluginError> {
    let started = Instant::now();
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match lang {
        Lang::C => {
            let opts = crate::BuildOptions {
                wit_dir: Some(sdk.wit_dir()),
                sdk_dir: Some(sdk.lang_dir(Lang::C)),
                ..crate::BuildOptions::default()
            };
            crate::build_c_with(dir, out, &opts)?;
        }
        Lang::Python | Lang::Js => {
            let script = sdk.lang_dir(lang).join("build.sh");
            run(Command::new(&script).arg(dir).arg(out), "bash is needed")?;
        }
        Lang::Rust => build_rust(dir, out)?,
    }
    let size = std::fs::metadata(out).map_err(io(out))?.len();
    Ok(Built {
        wasm: out.to_path_buf(),
        manifest: dir.join("manifest.json"),
        size,
        elapsed: started.elapsed(),
    })
}

/// Builds the plugin in `dir` and writes `<name>.wasm` and `<name>.json` into `out_dir`.
pub fn build_into(lang: Lang, dir: &Path, out_dir: &Path, sdk: &Sdk) -> Result<Built, PluginError> {
    let name = manifest_name(dir)?;
    let wasm = out_dir.join(format!("{name}.wasm"));
    let mut built = build(lang, dir, &wasm, sdk)?;
    let manifest = out_dir.join(format!("{name}.json"));
    let src = dir.join("manifest.json");
    std::fs::copy(&src, &manifest).map_err(io(&src))?;
    built.manifest = manifest;
    Ok(built)
}

fn build_rust(dir: &Path, out: &Path) -> Result<(), PluginError> {
    let cargo_toml = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo_toml).map_err(io(&cargo_toml))?;
    // The [package] name, as cargo names the artifact (dashes become underscores).
    let package = text
        .lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "name").then(|| v.trim().trim_matches('"').replace('-', "_"))
        })
        .ok_or_else(|| PluginError::Manifest {
            path: cargo_toml.display().to_string(),
            message: "no [package] name".into(),
        })?;
    // `ARTICDBM_PLUGIN_CARGO_TARGET_DIR` shares one target directory between plugins (the
    // tests point it at the workspace's wasm build); each plugin's own `target/` otherwise.
    let target = std::env::var_os("ARTICDBM_PLUGIN_CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("target"));
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
            .arg("--manifest-path")
            .arg(&cargo_toml)
            .env("CARGO_TARGET_DIR", &target),
        "install Rust with rustup, then `rustup target add wasm32-wasip2`",
    )?;
    let artifact = target.join(format!("wasm32-wasip2/release/{package}.wasm"));
    std::fs::copy(&artifact, out).map_err(io(&artifact))?;
    Ok(())
}

fn run(cmd: &mut Command, hint: &'static str) -> Result<(), PluginError> {
    let command = format!("{cmd:?}").replace('"', "");
    let out = cmd.output().map_err(|source| PluginError::Spawn {
        command: command.clone(),
        source,
        hint,
    })?;
    if out.status.success() {
        return Ok(());
    }
    let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stdout));
    Err(PluginError::Command {
        command,
        status: match out.status.code() {
            Some(c) => format!(" (exit {c})"),
            None => " (killed)".into(),
        },
        output: output.trim_end().to_string(),
    })
}
