//! The state each plugin instance's store carries, and the host side of the WIT imports:
//! log, clock, kv, indicators, metrics, reuse. Everything is scoped to the (tenant, plugin) the
//! instance was created for, so one tenant's plugin can never reach another tenant's keys or
//! counters.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::IndicatorKind;
use super::bindings::articdbm::policy::{clock, indicators, kv, log, metrics, reuse, types};
use super::indicators::IndicatorStore;
use super::kv::{KvBackend, KvFailure};
use crate::metrics::Metrics;

/// Capabilities shared by every instance of the process.
pub struct HostServices {
    pub kv: Arc<dyn KvBackend>,
    pub indicators: arc_swap::ArcSwap<Box<dyn IndicatorStore>>,
    pub metrics: Arc<Metrics>,
    started: Instant,
}

impl HostServices {
    pub fn new(
        kv: Arc<dyn KvBackend>,
        indicators: Box<dyn IndicatorStore>,
        metrics: Arc<Metrics>,
    ) -> Self {
        HostServices {
            kv,
            indicators: arc_swap::ArcSwap::from_pointee(indicators),
            metrics,
            started: Instant::now(),
        }
    }
}

const MAX_KEY: usize = 512;
const MAX_VALUE: usize = 64 * 1024;
const MAX_LOG: usize = 4096;
/// Log lines one instance may write between two hook calls.
const LOG_BUDGET: u32 = 16;
const MAX_COUNTER_NAMES: usize = 64;

/// Per-instance store data.
pub struct HostState {
    tenant: Arc<str>,
    plugin: Arc<str>,
    services: Arc<HostServices>,
    pub(crate) memory_cap: usize,
    /// Set when the instance tried to grow memory past its cap: the trap that follows is
    /// reported as a memory blow-up, not a bug.
    pub(crate) memory_exceeded: bool,
    /// Bytes of linear memory the instance holds (all its memories, as grown so far).
    pub(crate) linear_memory: usize,
    log_budget: u32,
    pub(crate) deadline: Deadline,
    counter_names: Vec<String>,
    /// The current call is an `on-query`: the only hook whose verdict may be reused.
    in_query: bool,
    /// The reuse the current `on-query` call declared, if any.
    reuse: Option<(reuse::Scope, reuse::Basis)>,
    /// The current call used the clock, the key-value store or the indicators: whatever it
    /// declares, its verdict is not reused.
    stateful: bool,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    pub fn new(
        tenant: Arc<str>,
        plugin: Arc<str>,
        services: Arc<HostServices>,
        memory_cap: usize,
    ) -> Self {
        // No preopened directories, no environment, no arguments, no sockets: the sandbox
        // sees clocks and randomness only.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            tenant,
            plugin,
            services,
            memory_cap,
            memory_exceeded: false,
            linear_memory: 0,
            log_budget: LOG_BUDGET,
            deadline: Deadline::default(),
            counter_names: Vec::new(),
            in_query: false,
            reuse: None,
            stateful: false,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Called before each hook invocation with its deadline in epoch ticks.
    pub(crate) fn begin_call(&mut self, ticks: u64) {
        self.log_budget = LOG_BUDGET;
        self.in_query = false;
        self.reuse = None;
        self.stateful = false;
        self.deadline = Deadline {
            ticks,
            ..Deadline::default()
        };
    }

    /// Marks the call about to start as an `on-query`.
    pub(crate) fn begin_query(&mut self) {
        self.in_query = true;
    }

    /// The reuse the finished `on-query` call declared, unless it used state the declaration
    /// cannot account for.
    pub(crate) fn take_reuse(&mut self) -> Option<(reuse::Scope, reuse::Basis)> {
        let r = self.reuse.take();
        self.in_query = false;
        if self.stateful { None } else { r }
    }

    fn scoped(&self, key: &str) -> Result<String, kv::KvError> {
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(kv::KvError::Invalid(format!(
                "key must be 1..={MAX_KEY} bytes, got {}",
                key.len()
            )));
        }
        // Unit separators cannot appear in tenant or plugin names, so scopes never collide.
        Ok(format!("{}\u{1f}{}\u{1f}{}", self.tenant, self.plugin, key))
    }
}

/// CPU-deadline bookkeeping of the current call.
///
/// Epoch ticks measure wall time, and a thread that is merely descheduled (a busy machine, a
/// compile on another thread) must not be taken for a runaway plugin. So reaching the
/// deadline only opens a measurement window: the thread's CPU clock is read, the deadline is
/// extended by the same amount, and when it fires again the call is interrupted only if the
/// thread spent most of that window running. A runaway plugin is therefore stopped after one
/// to two deadlines of CPU time; a starved but well-behaved one after at most
/// [`MAX_WINDOWS`] deadlines of wall time. The CPU clock is read only when a deadline fires,
/// never on the fast path.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Deadline {
    ticks: u64,
    windows: u32,
    cpu_mark: Option<std::time::Duration>,
}

/// Deadline windows after which a call is interrupted whatever its CPU use.
pub(crate) const MAX_WINDOWS: u32 = 10;

impl Deadline {
    /// Called by the epoch callback when the deadline is reached.
    pub(crate) fn on_deadline(&mut self, tick: std::time::Duration) -> wasmtime::UpdateDeadline {
        let now = thread_cpu_time();
        self.windows += 1;
        let window = tick * (self.ticks as u32).max(1);
        let spent_most = match (self.cpu_mark, now) {
            (Some(mark), Some(now)) => now.saturating_sub(mark) * 10 >= window * 8,
            // No CPU clock: fall back to wall time.
            (_, None) => true,
            (None, Some(_)) => false,
        };
        if spent_most || self.windows >= MAX_WINDOWS {
            return wasmtime::UpdateDeadline::Interrupt;
        }
        self.cpu_mark = now;
        wasmtime::UpdateDeadline::Continue(self.ticks.max(1))
    }
}

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Option<std::time::Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID needs nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

fn kv_error(e: KvFailure) -> kv::KvError {
    match e {
        KvFailure::Unavailable(m) => kv::KvError::Unavailable(m),
        KvFailure::NotAnInteger => kv::KvError::NotAnInteger,
    }
}

impl HostState {
    /// The WASI resource table (streams, pollables) of this instance.
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_exceeded = true;
            return Ok(false);
        }
        self.linear_memory += desired.saturating_sub(current);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for HostState {}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        if self.log_budget == 0 {
            return;
        }
        self.log_budget -= 1;
        let mut end = message.len().min(MAX_LOG);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let msg = &message[..end];
        let (tenant, plugin) = (&*self.tenant, &*self.plugin);
        match level {
            log::Level::Trace => tracing::trace!(tenant, plugin, "{msg}"),
            log::Level::Debug => tracing::debug!(tenant, plugin, "{msg}"),
            log::Level::Info => tracing::info!(tenant, plugin, "{msg}"),
            log::Level::Warn => tracing::warn!(tenant, plugin, "{msg}"),
            log::Level::Error => tracing::error!(tenant, plugin, "{msg}"),
        }
    }
}

impl clock::Host for HostState {
    fn now_ms(&mut self) -> u64 {
        self.stateful = true;
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn monotonic_ns(&mut self) -> u64 {
        self.stateful = true;
        self.services.started.elapsed().as_nanos() as u64
    }
}

impl kv::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, kv::KvError> {
        self.stateful = true;
        let k = self.scoped(&key)?;
        self.services.kv.get(&k).map_err(kv_error)
    }

    fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<(), kv::KvError> {
        self.stateful = true;
        if value.len() > MAX_VALUE {
            return Err(kv::KvError::Invalid(format!(
                "value must be at most {MAX_VALUE} bytes, got {}",
                value.len()
            )));
        }
        let k = self.scoped(&key)?;
        self.services
            .kv
            .set(&k, &value, ttl_ms.map(Duration::from_millis))
            .map_err(kv_error)
    }

    fn incr(&mut self, key: String, delta: i64, ttl_ms: Option<u64>) -> Result<i64, kv::KvError> {
        self.stateful = true;
        let k = self.scoped(&key)?;
        self.services
            .kv
            .incr(&k, delta, ttl_ms.map(Duration::from_millis))
            .map_err(kv_error)
    }

    fn delete(&mut self, key: String) -> Result<(), kv::KvError> {
        self.stateful = true;
        let k = self.scoped(&key)?;
        self.services.kv.delete(&k).map_err(kv_error)
    }
}

impl indicators::Host for HostState {
    fn address_listed(&mut self, addr: String) -> Option<indicators::IndicatorMatch> {
        self.stateful = true;
        // Tolerate `[v6]` brackets and a `%zone` suffix, as client addresses may carry them.
        let a = addr.trim();
        let a = a
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(a);
        let a = a.split_once('%').map_or(a, |(x, _)| x);
        let ip: IpAddr = a.parse().ok()?;
        self.services
            .indicators
            .load()
            .address_listed(&self.tenant, ip)
    }

    fn name_listed(
        &mut self,
        kind: IndicatorKind,
        name: String,
    ) -> Option<indicators::IndicatorMatch> {
        self.stateful = true;
        self.services
            .indicators
            .load()
            .name_listed(&self.tenant, kind, &name)
    }

    fn sql_pattern_match(&mut self, sql: String) -> Option<indicators::IndicatorMatch> {
        self.stateful = true;
        self.services
            .indicators
            .load()
            .sql_pattern_match(&self.tenant, &sql)
    }
}

impl metrics::Host for HostState {
    fn counter_add(&mut self, name: String, value: u64) {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
        if !valid {
            return;
        }
        if !self.counter_names.contains(&name) {
            if self.counter_names.len() >= MAX_COUNTER_NAMES {
                return;
            }
            self.counter_names.push(name.clone());
        }
        self.services
            .metrics
            .plugin_counters
            .with_label_values(&[&*self.plugin, &*self.tenant, &name])
            .inc_by(value);
    }
}

impl reuse::Host for HostState {
    fn reuse_verdict(&mut self, scope: reuse::Scope) {
        self.reuse_verdict_for(scope, reuse::Basis::Shape);
    }

    fn reuse_verdict_for(&mut self, scope: reuse::Scope, basis: reuse::Basis) {
        if self.in_query {
            self.reuse = Some((scope, basis));
        }
    }
}
