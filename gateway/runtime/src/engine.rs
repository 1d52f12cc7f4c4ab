//! The one wasmtime [`Engine`] of the process, configured for many short synchronous calls:
//! pooling allocator with copy-on-write memory images, epoch interruption for CPU deadlines,
//! and a cache of compiled components keyed by content hash. Only this module knows the
//! pooling configuration.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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

/// Consecutive ticks with no guest call before the ticker parks: long enough that a steady
/// stream of calls never parks it (each wake-up would cost a syscall on the query path).
const IDLE_TICKS_BEFORE_PARK: u32 = 100;

/// What the ticker thread and the callers share.
struct TickerState {
    stop: AtomicBool,
    /// Guest calls (instantiation included) running now.
    active: AtomicUsize,
    /// Guest calls begun so far: the ticker parks only after it stayed still a while.
    begun: AtomicU64,
    /// The ticker is parked (or about to park) and must be unparked by the next call.
    parked: AtomicBool,
    thread: std::sync::OnceLock<std::thread::Thread>,
}

/// Increments the engine epoch every tick on a background thread until dropped, but only
/// while guests run or ran recently: with no call for [`IDLE_TICKS_BEFORE_PARK`] ticks and
/// none running, it parks until the next call begins (an idle gateway, or one whose verdicts
/// are all reused, costs no wake-ups). A running call always has the ticker ticking, so every
/// deadline holds.
struct EpochTicker {
    state: Arc<TickerState>,
    handle: Option<JoinHandle<()>>,
}

/// Marks a guest call as running for the ticker; dropped when the call ends.
pub(crate) struct GuestRunning<'a>(&'a TickerState);

impl Drop for GuestRunning<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> Self {
        let state = Arc::new(TickerState {
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            begun: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            thread: std::sync::OnceLock::new(),
        });
        let shared = state.clone();
        let handle = std::thread::Builder::new()
            .name("articdbm-epoch".into())
            .spawn(move || ticker_loop(&engine, tick, &shared))
            .ok();
        if let Some(h) = &handle {
            let _ = state.thread.set(h.thread().clone());
        }
        EpochTicker { state, handle }
    }

    /// Called as a guest call begins: counts it and wakes a parked ticker. The counter is
    /// raised before `parked` is read and the ticker sets `parked` before it re-reads the
    /// counters (all sequentially consistent), so either the ticker sees this call and does
    /// not park, or this call sees `parked` and unparks it.
    fn running(&self) -> GuestRunning<'_> {
        let s = &*self.state;
        s.active.fetch_add(1, Ordering::SeqCst);
        s.begun.fetch_add(1, Ordering::SeqCst);
        if s.parked.load(Ordering::SeqCst)
            && s.parked.swap(false, Ordering::SeqCst)
            && let Some(t) = s.thread.get()
        {
            t.unpark();
        }
        GuestRunning(s)
    }
}

fn ticker_loop(engine: &Engine, tick: Duration, s: &TickerState) {
    let mut seen = s.begun.load(Ordering::SeqCst);
    let mut idle = 0u32;
    while !s.stop.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        engine.increment_epoch();
        let begun = s.begun.load(Ordering::SeqCst);
        if begun != seen || s.active.load(Ordering::SeqCst) > 0 {
            seen = begun;
            idle = 0;
            continue;
        }
        idle += 1;
        if idle < IDLE_TICKS_BEFORE_PARK {
            continue;
        }
        s.parked.store(true, Ordering::SeqCst);
        if s.begun.load(Ordering::SeqCst) != seen || s.active.load(Ordering::SeqCst) > 0 {
            // A call began meanwhile; whoever clears `parked` first owns the wake-up.
            s.parked.store(false, Ordering::SeqCst);
            continue;
        }
        // `park` may return spuriously: sleep on until a call clears `parked` (or stop).
        while s.parked.load(Ordering::SeqCst) && !s.stop.load(Ordering::SeqCst) {
            std::thread::park();
        }
        idle = 0;
        seen = s.begun.load(Ordering::SeqCst);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
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
    ticker: EpochTicker,
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
        // Guests run on the gateway's tokio workers: no wasi:io call may block on tokio there.
        super::sync_io::shadow_blocking_io(&mut linker)
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
            ticker,
        })
    }

    pub fn services(&self) -> &Arc<HostServices> {
        &self.services
    }

    /// Marks a guest call (instantiation, configuration or hook) as running until the guard
    /// is dropped, so the epoch ticker ticks for it. Take it before setting the deadline.
    pub(crate) fn guest_running(&self) -> GuestRunning<'_> {
        self.ticker.running()
    }

    /// Whether the epoch ticker is parked: no guest call running and none begun for a while.
    pub fn epoch_ticker_parked(&self) -> bool {
        self.ticker.state.parked.load(Ordering::SeqCst)
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
