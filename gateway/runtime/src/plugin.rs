//! A loaded plugin version: its manifest, content hash and the pre-instantiated component,
//! checked against the `policy` world once, off the hot path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use articdbm_pack::{PluginManifest, World};
use wasmtime::component::ComponentExportIndex;

use super::bindings::PolicyPre;
use super::engine::{Runtime, content_hash};
use super::host::HostState;

/// Why a plugin file could not be loaded. The previous version, if any, keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a WebAssembly component{hint}")]
    NotAComponent { path: String, hint: &'static str },
    #[error("{path}: invalid manifest: {message}")]
    Manifest { path: String, message: String },
    #[error("{path}: does not compile: {message}")]
    Compile { path: String, message: String },
    #[error("{path}: is not a valid articdbm:policy@0.1.0 policy component: {message}")]
    WrongWorld { path: String, message: String },
    /// The component imports interfaces the sandbox does not give (`wasi:http`, sockets of
    /// another WASI version...): it could never be instantiated.
    #[error("{path}: imports {}, which the gateway does not provide: plugins get only articdbm:policy and WASI 0.2 cli, clocks, io, random and filesystem (no preopened directories) and sockets (all refused){hint}", imports.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", "))]
    Unprovided {
        path: String,
        imports: Vec<String>,
        hint: &'static str,
    },
    #[error("{path}: manifest names plugin {manifest:?} but the file is {file:?}")]
    NameMismatch {
        path: String,
        manifest: String,
        file: String,
    },
}

/// One version of a policy plugin, ready to instantiate.
pub struct LoadedPlugin {
    pub name: String,
    pub manifest: PluginManifest,
    pub hash: String,
    pub source: PathBuf,
    pub(crate) pre: PolicyPre<HostState>,
    /// The `articdbm:policy/config.configure` export, when the component has one.
    pub(crate) configure: Option<ComponentExportIndex>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("version", &self.manifest.version)
            .field("hash", &self.hash)
            .finish()
    }
}

const CONFIG_INTERFACE: &str = "articdbm:policy/config@0.1.0";

impl LoadedPlugin {
    /// Loads `<dir>/<name>.wasm` with its optional `<name>.json` manifest.
    pub fn load_file(runtime: &Runtime, wasm: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        let path = wasm.display().to_string();
        let name = wasm
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let bytes = std::fs::read(wasm).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        let manifest_path = wasm.with_extension("json");
        let manifest = match std::fs::read_to_string(&manifest_path) {
            Ok(text) => PluginManifest::parse(&text, &manifest_path.display().to_string())
                .map_err(|e| LoadError::Manifest {
                    path: path.clone(),
                    message: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                PluginManifest::default_for(&name)
            }
            Err(source) => {
                return Err(LoadError::Io {
                    path: manifest_path.display().to_string(),
                    source,
                });
            }
        };
        if manifest.name != name {
            return Err(LoadError::NameMismatch {
                path,
                manifest: manifest.name.clone(),
                file: name,
            });
        }
        Self::load_bytes(runtime, &bytes, manifest, wasm).map(Arc::new)
    }

    /// Compiles and pre-instantiates a component. Slow (compilation); never call on the
    /// query path.
    pub fn load_bytes(
        runtime: &Runtime,
        bytes: &[u8],
        manifest: PluginManifest,
        source: &Path,
    ) -> Result<LoadedPlugin, LoadError> {
        let path = source.display().to_string();
        if !wasmparser::Parser::is_component(bytes) {
            let hint = if wasmparser::Parser::is_core_wasm(bytes) {
                " (it is a core module: build with `--target wasm32-wasip2`, which produces components)"
            } else {
                " (bad magic number)"
            };
            return Err(LoadError::NotAComponent { path, hint });
        }
        if manifest.world != World::Policy {
            return Err(LoadError::WrongWorld {
                path,
                message: "its manifest declares the feed-parser world".into(),
            });
        }
        let hash = content_hash(bytes);
        let component = runtime
            .compile(&hash, bytes)
            .map_err(|e| LoadError::Compile {
                path: path.clone(),
                message: format!("{e:#}"),
            })?;
        let imports = unprovided_imports(runtime, &component);
        if !imports.is_empty() {
            let hint = unprovided_hint(&imports);
            return Err(LoadError::Unprovided {
                path,
                imports,
                hint,
            });
        }
        let instance_pre =
            runtime
                .linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::WrongWorld {
                    path: path.clone(),
                    message: format!("{e:#}"),
                })?;
        let pre = PolicyPre::new(instance_pre).map_err(|e| LoadError::WrongWorld {
            path: path.clone(),
            message: format!("{e:#}"),
        })?;
        let configure = component
            .get_export_index(None, CONFIG_INTERFACE)
            .and_then(|iface| component.get_export_index(Some(&iface), "configure"));
        Ok(LoadedPlugin {
            name: manifest.name.clone(),
            manifest,
            hash,
            source: source.to_path_buf(),
            pre,
            configure,
        })
    }
}

/// Interface packages the gateway's linker gives a policy component (the `wasi:` ones are
/// WASI 0.2, linked by `wasmtime_wasi::p2`).
const PROVIDED_PACKAGES: &[&str] = &[
    "articdbm:policy/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:io/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

/// The component's imports that no provided package covers, sorted and deduplicated.
pub(crate) fn unprovided_imports(
    runtime: &Runtime,
    component: &wasmtime::component::Component,
) -> Vec<String> {
    let mut out: Vec<String> = component
        .component_type()
        .imports(&runtime.engine)
        .map(|(name, _)| name.to_string())
        .filter(|name| !PROVIDED_PACKAGES.iter().any(|p| name.starts_with(p)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// How to build without the imports a toolchain adds by default.
fn unprovided_hint(imports: &[String]) -> &'static str {
    if imports.iter().any(|i| i.starts_with("wasi:http/")) {
        "; `wasi:http` is what componentize-js and jco add unless told not to: build with \
         `articdbm-gateway plugin build` (plugin-sdk/js/build.sh), which disables it, or pass \
         `disableFeatures: ['http', 'fetch-event']` to componentize-js (`jco componentize -d http \
         -d fetch-event`); in other languages drop the HTTP client (the sandbox has no network)"
    } else {
        "; rebuild without the dependency that imports it (docs/PLUGINS.md, \"Imports\")"
    }
}
