//! The feed-parser sandbox: untrusted feed documents are parsed by `feed-parser` components
//! (wit/policy.wit) in wasmtime, with a memory cap and a CPU deadline, so a hostile or broken
//! document costs an error, never the manager.
//!
//! The engine is separate from any policy engine: parsers need far more memory than the
//! pooling allocator's policy slots (a 100,000-indicator bundle is ~50 MB before parsing), and
//! they run rarely, so instances are created on demand.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "articdbm:policy/feed-parser",
    });
}

use bindings::articdbm::policy::types::IndicatorKind;
use bindings::articdbm::policy::{clock, log, types};

/// How often the epoch ticks; deadlines are counted in ticks.
const TICK: Duration = Duration::from_millis(10);
/// Default memory cap of a parser instance when its manifest sets none.
pub const DEFAULT_MEMORY_MIB: u64 = 1024;
/// Default CPU deadline of one parse when the manifest sets none.
pub const DEFAULT_DEADLINE_MS: u64 = 120_000;
/// Log lines a parser may write per parse.
const LOG_BUDGET: u32 = 100;

/// One indicator as a parser produced it, with the kind by its wire name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Parsed {
    pub kind: &'static str,
    pub value: String,
    pub confidence: Option<u8>,
    pub valid_from: Option<u64>,
    pub valid_until: Option<u64>,
    pub revoked: bool,
    pub source_id: String,
    pub labels: Vec<String>,
    pub negated: bool,
}

/// What a parse produced.
#[derive(Debug, Default, Clone)]
pub struct ParseResult {
    pub indicators: Vec<Parsed>,
    /// Unsupported pattern kinds and their counts.
    pub unsupported: Vec<(String, u32)>,
}

/// Why a parse failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FeedError {
    /// The parser refused the document.
    #[error("{message}{}", location.as_deref().map(|l| format!(" (at {l})")).unwrap_or_default())]
    Document {
        message: String,
        location: Option<String>,
    },
    #[error(
        "the parser needed more than its {0} MiB of memory (the document is too large or hostile)"
    )]
    Memory(u64),
    #[error("the parser ran past its {0} ms CPU deadline")]
    Deadline(u64),
    #[error("the parser failed: {0}")]
    Trap(String),
    #[error("the parser component is not usable: {0}")]
    Component(String),
}

/// Limits of one parser.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_mib: u64,
    pub deadline_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: DEFAULT_MEMORY_MIB,
            deadline_ms: DEFAULT_DEADLINE_MS,
        }
    }
}

struct ParserState {
    memory_cap: usize,
    memory_exceeded: bool,
    log_budget: u32,
    plugin: String,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for ParserState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for ParserState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

impl types::Host for ParserState {}

impl log::Host for ParserState {
    fn log(&mut self, level: log::Level, message: String) {
        if self.log_budget == 0 {
            return;
        }
        self.log_budget -= 1;
        let msg: String = message.chars().take(4096).collect();
        let plugin = self.plugin.as_str();
        match level {
            log::Level::Trace | log::Level::Debug => tracing::debug!(plugin, "{msg}"),
            log::Level::Info => tracing::info!(plugin, "{msg}"),
            log::Level::Warn => tracing::warn!(plugin, "{msg}"),
            log::Level::Error => tracing::error!(plugin, "{msg}"),
        }
    }
}

impl clock::Host for ParserState {
    fn now_ms(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
    fn monotonic_ns(&mut self) -> u64 {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}

/// Compiles and runs feed-parser components. Cheap to clone; compiled components are cached
/// by content hash.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<ParserState>,
    compiled: Mutex<HashMap<[u8; 32], Component>>,
    stop: Arc<AtomicBool>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.ticker.lock().take() {
            let _ = h.join();
        }
    }
}

impl Sandbox {
    pub fn new() -> Result<Sandbox, FeedError> {
        let mut cfg = Config::new();
        cfg.wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&cfg).map_err(|e| FeedError::Component(format!("{e:#}")))?;
        let mut linker: Linker<ParserState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| FeedError::Component(format!("{e:#}")))?;
        bindings::FeedParser::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| FeedError::Component(format!("{e:#}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let ticking = engine.clone();
        // A weak tie: the ticker stops when the sandbox is dropped.
        let ticker = std::thread::Builder::new()
            .name("articdbm-feed-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| FeedError::Component(format!("epoch thread: {e}")))?;
        Ok(Sandbox {
            inner: Arc::new(Inner {
                engine,
                linker,
                compiled: Mutex::new(HashMap::new()),
                stop,
                ticker: Mutex::new(Some(ticker)),
            }),
        })
    }

    /// Compiles `bytes` (cached by hash) and checks it implements the feed-parser world.
    pub fn check(&self, bytes: &[u8]) -> Result<(), FeedError> {
        let component = self.compile(bytes)?;
        self.inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| FeedError::Component(format!("{e:#}")))?;
        let has_parser = component
            .get_export_index(None, "articdbm:policy/parser@0.1.0")
            .is_some();
        if !has_parser {
            return Err(FeedError::Component(
                "it does not export the `parser` interface of the feed-parser world".into(),
            ));
        }
        Ok(())
    }

    fn compile(&self, bytes: &[u8]) -> Result<Component, FeedError> {
        if !wasmparser::Parser::is_component(bytes) {
            return Err(FeedError::Component(
                "not a WebAssembly component (build with --target wasm32-wasip2)".into(),
            ));
        }
        let hash: [u8; 32] = Sha256::digest(bytes).into();
        if let Some(c) = self.inner.compiled.lock().get(&hash) {
            return Ok(c.clone());
        }
        let c = Component::new(&self.inner.engine, bytes)
            .map_err(|e| FeedError::Component(format!("{e:#}")))?;
        self.inner.compiled.lock().insert(hash, c.clone());
        Ok(c)
    }

    /// Parses `document` of `format` with the component `bytes` under `limits`. Blocking:
    /// call from a blocking thread.
    pub fn parse(
        &self,
        plugin: &str,
        bytes: &[u8],
        limits: Limits,
        format: &str,
        document: &[u8],
    ) -> Result<ParseResult, FeedError> {
        let component = self.compile(bytes)?;
        let memory_cap = usize::try_from(limits.memory_mib.saturating_mul(1 << 20))
            .unwrap_or(usize::MAX)
            .min(4 << 30);
        let wasi = wasmtime_wasi::WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let mut store = Store::new(
            &self.inner.engine,
            ParserState {
                memory_cap,
                memory_exceeded: false,
                log_budget: LOG_BUDGET,
                plugin: plugin.to_string(),
                wasi,
                table: ResourceTable::new(),
            },
        );
        store.limiter(|s| s);
        let ticks = limits.deadline_ms.div_ceil(TICK.as_millis() as u64).max(1);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let trap = |store: &Store<ParserState>, e: wasmtime::Error| -> FeedError {
            if store.data().memory_exceeded {
                FeedError::Memory(limits.memory_mib)
            } else if matches!(
                e.downcast_ref::<wasmtime::Trap>(),
                Some(wasmtime::Trap::Interrupt)
            ) {
                FeedError::Deadline(limits.deadline_ms)
            } else {
                FeedError::Trap(format!("{e:#}"))
            }
        };
        let parser =
            match bindings::FeedParser::instantiate(&mut store, &component, &self.inner.linker) {
                Ok(p) => p,
                Err(e) => return Err(trap(&store, e)),
            };
        let out = match parser
            .articdbm_policy_parser()
            .call_parse(&mut store, format, document)
        {
            Ok(out) => out,
            Err(e) => return Err(trap(&store, e)),
        };
        let out = out.map_err(|e| FeedError::Document {
            message: e.message,
            location: e.location,
        })?;
        Ok(ParseResult {
            indicators: out
                .indicators
                .into_iter()
                .map(|i| Parsed {
                    kind: kind_name(i.kind),
                    value: i.value,
                    confidence: i.confidence,
                    valid_from: i.valid_from,
                    valid_until: i.valid_until,
                    revoked: i.revoked,
                    source_id: i.source_id,
                    labels: i.labels,
                    negated: i.negated,
                })
                .collect(),
            unsupported: out
                .unsupported
                .into_iter()
                .map(|u| (u.kind, u.count))
                .collect(),
        })
    }
}

/// The wire name of an indicator kind.
pub fn kind_name(k: IndicatorKind) -> &'static str {
    match k {
        IndicatorKind::Address => "address",
        IndicatorKind::Domain => "domain",
        IndicatorKind::Url => "url",
        IndicatorKind::User => "user",
        IndicatorKind::Email => "email",
        IndicatorKind::SqlPattern => "sql-pattern",
    }
}
