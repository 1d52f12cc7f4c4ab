//! Loading plugins and packs from disk into a [`Snapshot`], and hot reload: a watched plugin
//! directory and pack files, rebuilt off the hot path and swapped atomically.
//!
//! Rules: a plugin file that fails to load never replaces a working version (the previous one
//! keeps serving, the error is logged and reported); a removed plugin is dropped, and packs
//! that bind it fail closed naming it; a pack change that does not validate (syntax, schema,
//! unknown fields, a plugin refusing its config) is refused whole and the previous packs stay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use articdbm_pack::PackSet;
use notify::{RecursiveMode, Watcher};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::engine::Runtime;
use super::plugin::LoadedPlugin;
use super::policy::{PolicyEngine, Snapshot, build_tenant};

/// Where policy comes from in standalone mode.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Directory of `<name>.wasm` components with optional `<name>.json` manifests.
    pub plugin_dir: PathBuf,
    /// Pack files, or directories of `*.toml` pack files.
    pub packs: Vec<PathBuf>,
}

/// What a (re)load did.
#[derive(Debug, Clone, Default)]
pub struct ReloadReport {
    pub generation: u64,
    pub plugins: Vec<String>,
    /// Plugin files that failed to load (message names the file).
    pub plugin_errors: Vec<String>,
    /// Set when the packs were refused; the previous packs stay in force.
    pub pack_error: Option<String>,
}

/// Errors that stop a gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Packs(String),
    #[error("plugin directory {path}: {source}")]
    PluginDir {
        path: String,
        source: std::io::Error,
    },
}

struct Loaded {
    identity: [u8; 32],
    plugin: Arc<LoadedPlugin>,
}

/// Builds snapshots from [`Sources`] and swaps them into a [`PolicyEngine`].
pub struct Reloader {
    engine: Arc<PolicyEngine>,
    sources: Sources,
    generation: AtomicU64,
    loaded: Mutex<HashMap<String, Loaded>>,
    /// Serialises reloads; evaluations never take it.
    reload_lock: Mutex<()>,
}

impl Reloader {
    /// Loads everything once and returns the engine and its reloader. Invalid packs stop the
    /// start; plugins that fail to load are reported and their bindings fail closed.
    pub fn start(
        runtime: Arc<Runtime>,
        sources: Sources,
        facts_capacity: usize,
    ) -> Result<(Arc<Reloader>, ReloadReport), StartError> {
        let mut loaded = HashMap::new();
        let mut report = ReloadReport::default();
        load_plugins(&runtime, &sources.plugin_dir, &mut loaded, &mut report).map_err(
            |source| StartError::PluginDir {
                path: sources.plugin_dir.display().to_string(),
                source,
            },
        )?;
        let plugins = plugin_map(&loaded);
        // A pack binding a plugin whose file did not load says "not found": name why it did
        // not load beside it.
        let with_plugin_errors = |e: String| {
            if report.plugin_errors.is_empty() {
                StartError::Packs(e)
            } else {
                StartError::Packs(format!(
                    "{e}\nplugins that did not load:\n  {}",
                    report.plugin_errors.join("\n  ")
                ))
            }
        };
        let packs = load_packs(&runtime, &sources, &plugins).map_err(with_plugin_errors)?;
        let snapshot = activate(&runtime, 1, plugins, packs).map_err(with_plugin_errors)?;
        report.generation = 1;
        report.plugins = snapshot.plugins.keys().cloned().collect();
        report.plugins.sort();
        let engine = Arc::new(PolicyEngine::new(runtime, snapshot, facts_capacity));
        Ok((
            Arc::new(Reloader {
                engine,
                sources,
                generation: AtomicU64::new(1),
                loaded: Mutex::new(loaded),
                reload_lock: Mutex::new(()),
            }),
            report,
        ))
    }

    pub fn engine(&self) -> &Arc<PolicyEngine> {
        &self.engine
    }

    /// Rescans plugins and packs and swaps in a new snapshot. Never fails: problems are in the
    /// report and logged, and whatever could not be loaded keeps its previous version.
    pub fn reload(&self) -> ReloadReport {
        let _serial = self.reload_lock.lock();
        let runtime = self.engine.runtime().clone();
        let mut report = ReloadReport::default();
        let mut loaded = self.loaded.lock();
        if let Err(e) = load_plugins(&runtime, &self.sources.plugin_dir, &mut loaded, &mut report) {
            report.plugin_errors.push(format!(
                "plugin directory {}: {e}",
                self.sources.plugin_dir.display()
            ));
        }
        let plugins = plugin_map(&loaded);
        drop(loaded);
        let current = self.engine.snapshot();
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let packs = match load_packs(&runtime, &self.sources, &plugins) {
            Ok(p) => p,
            Err(e) => {
                report.pack_error = Some(e);
                current.packs.clone()
            }
        };
        let snapshot = match activate(&runtime, generation, plugins.clone(), packs) {
            Ok(s) => s,
            Err(e) => {
                report.pack_error = Some(e);
                // The new packs were refused at activation: keep the old ones with the new
                // plugins; if even those fail to activate, the bindings fail closed per call.
                activate(&runtime, generation, plugins.clone(), current.packs.clone())
                    .unwrap_or_else(|_| Snapshot::new(generation, plugins, current.packs.clone()))
            }
        };
        report.generation = generation;
        report.plugins = snapshot.plugins.keys().cloned().collect();
        report.plugins.sort();
        self.engine.swap(snapshot);
        let metrics = &runtime.services.metrics;
        metrics.plugins_loaded.set(report.plugins.len() as i64);
        let ok = report.plugin_errors.is_empty() && report.pack_error.is_none();
        metrics
            .plugin_reloads
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .inc();
        for e in &report.plugin_errors {
            tracing::error!("plugin not (re)loaded, previous version kept if any: {e}");
        }
        if let Some(e) = &report.pack_error {
            tracing::error!("packs refused, previous packs kept: {e}");
        }
        tracing::info!(generation, plugins = ?report.plugins, "policy snapshot swapped");
        report
    }

    /// Watches the plugin directory and pack paths; each burst of changes triggers one
    /// reload on a background thread. Dropping the handle stops watching.
    pub fn watch(self: &Arc<Self>) -> Result<WatchHandle, notify::Error> {
        let (tx, rx) = mpsc::channel::<()>();
        let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if let Ok(ev) = ev {
                let relevant = ev.paths.iter().any(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("wasm" | "json" | "toml")
                    )
                });
                if relevant && !ev.kind.is_access() {
                    let _ = tx.send(());
                }
            }
        })?;
        watcher.watch(&self.sources.plugin_dir, RecursiveMode::NonRecursive)?;
        for p in &self.sources.packs {
            let dir = if p.is_dir() {
                p.as_path()
            } else {
                p.parent().unwrap_or(Path::new("."))
            };
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
        }
        let me = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("articdbm-reload".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Debounce: editors and copies produce bursts of events.
                    while rx.recv_timeout(Duration::from_millis(50)).is_ok() {}
                    match me.upgrade() {
                        Some(r) => {
                            r.reload();
                        }
                        None => break,
                    }
                }
            })
            .map_err(|e| notify::Error::generic(&e.to_string()))?;
        Ok(WatchHandle { _watcher: watcher })
    }
}

/// Keeps a directory watch alive.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
}

fn identity(wasm: &[u8], manifest: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((wasm.len() as u64).to_le_bytes());
    h.update(wasm);
    h.update(manifest);
    h.finalize().into()
}

/// Loads every `*.wasm` in `dir` whose bytes or manifest changed; drops removed ones.
fn load_plugins(
    runtime: &Runtime,
    dir: &Path,
    loaded: &mut HashMap<String, Loaded>,
    report: &mut ReloadReport,
) -> std::io::Result<()> {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
            continue;
        }
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        seen.push(name.clone());
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                report
                    .plugin_errors
                    .push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let manifest = std::fs::read(path.with_extension("json")).unwrap_or_default();
        let id = identity(&bytes, &manifest);
        if loaded.get(&name).is_some_and(|l| l.identity == id) {
            continue;
        }
        match LoadedPlugin::load_file(runtime, &path) {
            Ok(plugin) => {
                tracing::info!(plugin = %name, version = %plugin.manifest.version, hash = %plugin.hash, "plugin loaded");
                loaded.insert(
                    name,
                    Loaded {
                        identity: id,
                        plugin,
                    },
                );
            }
            Err(e) => report.plugin_errors.push(e.to_string()),
        }
    }
    loaded.retain(|name, _| {
        let keep = seen.contains(name);
        if !keep {
            tracing::warn!(plugin = %name, "plugin removed from the plugin directory; packs binding it fail closed");
        }
        keep
    });
    Ok(())
}

fn plugin_map(loaded: &HashMap<String, Loaded>) -> HashMap<String, Arc<LoadedPlugin>> {
    loaded
        .iter()
        .map(|(k, v)| (k.clone(), v.plugin.clone()))
        .collect()
}

/// Parses and validates the packs, checking configs against the manifests of loaded plugins.
fn load_packs(
    _runtime: &Runtime,
    sources: &Sources,
    plugins: &HashMap<String, Arc<LoadedPlugin>>,
) -> Result<Arc<PackSet>, String> {
    let mut files = Vec::new();
    for p in &sources.packs {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut in_dir: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.extension().is_some_and(|x| x == "toml")
                        && f.is_file()
                        && !f
                            .file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(p.clone());
        }
    }
    let set = PackSet::load_files(&files).map_err(|e| e.to_string())?;
    set.check_plugins(|name| plugins.get(name).map(|p| &p.manifest))
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(set))
}

/// Builds the snapshot and configures one instance of every binding of every pack, so a
/// plugin refusing its config refuses the pack now rather than failing queries later. The
/// instances stay warm in the new snapshot.
fn activate(
    runtime: &Runtime,
    generation: u64,
    plugins: HashMap<String, Arc<LoadedPlugin>>,
    packs: Arc<PackSet>,
) -> Result<Snapshot, String> {
    let snapshot = Snapshot::new(generation, plugins, packs.clone());
    let mut errors = Vec::new();
    for tenant in std::iter::once(String::new()).chain(packs.tenants().map(str::to_string)) {
        let policy = build_tenant(runtime, &snapshot, &tenant);
        for b in &policy.bindings {
            if let Ok(p) = &b.plugin
                && let Err(e) = b.prewarm(runtime, p)
                && e.kind == super::FailureKind::Configure
            {
                errors.push(format!(
                    "{}: binding '{}': {}",
                    b.binding.source, b.binding.id, e.message
                ));
            }
        }
        snapshot.insert_tenant(&tenant, policy);
    }
    if errors.is_empty() {
        Ok(snapshot)
    } else {
        Err(errors.join("\n"))
    }
}
