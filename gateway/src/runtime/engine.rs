//! The one wasmtime [`Engine`] of the process, configured for many short synchronous calls:
//! pooling allocator with copy-on-write memory images, epoch interruption for CPU deadlines,
//! and a cache of compiled components keyed by content hash. Only this module knows the
//! pooling configuration.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::Policy;
use super::host::{HostServices, HostState};

/// Sizing of the runtime. Defaults suit one gateway process.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Component instances that may exist at once (warm pools plus in-flight fresh ones).
    pub max_instances: u32,
    /// Upper bound of any plugin's linear memory, in MiB; manifests ask for less.
    pub max_memory_mib: u32,
    /// Where compiled components are cached by content hash; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Granularity of CPU deadlines.
    pub epoch_tick: Duration,
    /// Warm instances kept per (tenant, binding).
    pub warm_per_binding: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_instances: 1000,
            max_memory_mib: 256,
            cache_dir: None,
            epoch_tick: Duration::from_millis(1),
            warm_per_binding: 8,
        }
    }
}

/// Errors building the runtime.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "could not create the plugin engine ({0}); if the address-space reservation was refused, lower runtime.max_instances or runtime.max_memory_mib"
    )]
    Engine(String),
    #[error("could not link host capabilities: {0}")]
    Link(String),
}

/// Increments the engine epoch every tick on a background thread until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("articdbm-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, handle }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Engine, linker and compiled-artifact cache shared by every plugin.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) services: Arc<HostServices>,
    pub(crate) config: RuntimeConfig,
    compiled: Mutex<HashMap<String, Component>>,
    _ticker: EpochTicker,
}

/// Hex SHA-256 of a component's bytes: its identity everywhere (cache, snapshots, logs).
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Runtime {
    pub fn new(config: RuntimeConfig, services: Arc<HostServices>) -> Result<Self, EngineError> {
        let mut pool = PoolingAllocationConfig::default();
        let n = config.max_instances.max(1);
        let max_memory = (config.max_memory_mib as usize).max(1) << 20;
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(8))
            .total_stacks(0)
            .max_core_instances_per_component(64)
            .max_memories_per_component(8)
            .max_tables_per_component(64)
            .max_memory_size(max_memory)
            .max_component_instance_size(1 << 20)
            .max_core_instance_size(1 << 20)
            .table_elements(100_000)
            // Keep the first MiB of each memory resident between instances and reset it with
            // the pagemap scan where the kernel has it: fresh instances cost ~10 µs, not ~50.
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(1 << 16)
            .pagemap_scan(Enabled::Auto);
        let mut cfg = Config::new();
        cfg.wasm_component_model(true)
            .epoch_interruption(true)
            .memory_init_cow(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        // `ARTICDBM_WASM_PERFMAP=1` names plugin functions in `perf` profiles
        // (/tmp/perf-PID.map); see docs/PLUGINS.md.
        if std::env::var_os("ARTICDBM_WASM_PERFMAP").is_some_and(|v| v == "1") {
            cfg.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&cfg).map_err(|e| EngineError::Engine(format!("{e:#}")))?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| EngineError::Link(format!("{e:#}")))?;
        Policy::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| EngineError::Link(format!("{e:#}")))?;
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick);
        Ok(Runtime {
            engine,
            linker,
            services,
            config,
            compiled: Mutex::new(HashMap::new()),
            _ticker: ticker,
        })
    }

    pub fn services(&self) -> &Arc<HostServices> {
        &self.services
    }

    /// Ticks of the epoch clock that make up `ms` milliseconds, plus a margin: a deadline of
    /// N ticks counts from "now", which may be just before a tick.
    pub(crate) fn deadline_ticks(&self, ms: u32) -> u64 {
        let tick_us = self.config.epoch_tick.as_micros().max(1) as u64;
        (u64::from(ms) * 1000).div_ceil(tick_us) + 1
    }

    /// Compiles `bytes` (or reuses the compiled artifact with the same hash, from memory or
    /// the cache directory).
    pub fn compile(&self, hash: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        if let Some(c) = self.compiled.lock().get(hash) {
            return Ok(c.clone());
        }
        let component = match &self.config.cache_dir {
            Some(dir) => self.compile_cached(dir, hash, bytes)?,
            None => Component::new(&self.engine, bytes)?,
        };
        let mut compiled = self.compiled.lock();
        // Bound the in-memory map: old versions are rarely needed again.
        if compiled.len() >= 256 {
            compiled.clear();
        }
        compiled.insert(hash.to_string(), component.clone());
        Ok(component)
    }

    fn compile_cached(&self, dir: &Path, hash: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let mut h = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&self.engine.precompile_compatibility_hash(), &mut h);
        let compat = std::hash::Hasher::finish(&h);
        let path = dir.join(format!("{hash}-{compat:016x}.cwasm"));
        if path.exists() {
            // SAFETY: the file is in our private cache directory, named by the content hash
            // of bytes we compiled ourselves with an engine of the same compatibility hash.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable cached artifact");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let compiled = self.engine.precompile_component(bytes)?;
        // Several processes (or runtimes) may compile the same component at once: each writes
        // its own temporary file and renames it into place, so a reader only ever sees a
        // whole artifact. Failing to cache is not failing to load.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(
            "{hash}-{compat:016x}.{}.{n}.tmp",
            std::process::id()
        ));
        let cached = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, &compiled))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = cached {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(path = %path.display(), error = %e, "could not cache a compiled component");
        }
        // SAFETY: these bytes were produced by `precompile_component` of this engine just now.
        unsafe { Component::deserialize(&self.engine, &compiled) }
    }
}
