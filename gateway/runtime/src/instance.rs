//! Running one binding of a plugin for one tenant: warm instances reused across calls and
//! discarded on any trap, fresh instances for plugins whose manifest asks for isolation, the
//! memory cap and CPU deadline of every call, and the quarantine of bindings that keep
//! failing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use articdbm_pack::{EffectiveBinding, Isolation};
use parking_lot::Mutex;
use prometheus::{Histogram, IntCounter, IntGauge};
use wasmtime::Store;

use super::bindings::{Connection, Policy, Query, Verdict};
use super::engine::Runtime;
use super::host::HostState;
use super::plugin::LoadedPlugin;
use super::policy::{Statement, StatementContext};
use super::reuse::{Probe, ReuseCache};

/// How a plugin call failed. The kind is also the `kind` label of the failure metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Trap,
    Timeout,
    Memory,
    Instantiate,
    Configure,
    Quarantined,
    NotLoaded,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Timeout => "timeout",
            FailureKind::Memory => "memory",
            FailureKind::Instantiate => "instantiate",
            FailureKind::Configure => "configure",
            FailureKind::Quarantined => "quarantined",
            FailureKind::NotLoaded => "not_loaded",
        }
    }
}

/// A failed plugin call, with a message fit for operators and clients (no host internals).
#[derive(Debug, Clone)]
pub struct PluginFailure {
    pub kind: FailureKind,
    pub message: String,
}

pub(crate) struct Warm {
    store: Store<HostState>,
    policy: Policy,
}

/// Consecutive failures before a binding is quarantined.
const QUARANTINE_AFTER: u32 = 5;
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Failure tracking with exponential backoff. The fast path (not quarantined) is one relaxed
/// atomic load.
#[derive(Default)]
struct Health {
    consecutive: AtomicU32,
    quarantined: AtomicBool,
    state: Mutex<(Option<Instant>, u32)>,
}

impl Health {
    fn check(&self) -> Result<(), Duration> {
        if !self.quarantined.load(Ordering::Relaxed) {
            return Ok(());
        }
        let mut st = self.state.lock();
        match st.0 {
            Some(until) if Instant::now() < until => Err(until - Instant::now()),
            _ => {
                // Backoff over: let calls probe. One more failure re-quarantines, longer.
                st.0 = None;
                self.consecutive
                    .store(QUARANTINE_AFTER - 1, Ordering::Relaxed);
                self.quarantined.store(false, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    fn success(&self) {
        if self.consecutive.load(Ordering::Relaxed) != 0 {
            self.consecutive.store(0, Ordering::Relaxed);
            self.state.lock().1 = 0;
        }
    }

    /// Records a failure; returns the backoff when this failure started a quarantine.
    fn failure(&self) -> Option<Duration> {
        let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n < QUARANTINE_AFTER {
            return None;
        }
        let mut st = self.state.lock();
        if self.quarantined.load(Ordering::Relaxed) {
            return None;
        }
        st.1 = st.1.saturating_add(1);
        let backoff = Duration::from_secs(1u64 << (st.1 - 1).min(16)).min(MAX_BACKOFF);
        st.0 = Some(Instant::now() + backoff);
        self.quarantined.store(true, Ordering::Relaxed);
        Some(backoff)
    }
}

/// One binding of an effective pack, for one tenant.
pub struct BindingRuntime {
    pub binding: EffectiveBinding,
    pub tenant: Arc<str>,
    /// The loaded plugin, or why it is not available (calls then fail with `NotLoaded`).
    pub plugin: Result<Arc<LoadedPlugin>, String>,
    warm: Mutex<Vec<Warm>>,
    health: Health,
    duration: Histogram,
    quarantined_gauge: IntGauge,
    failures: [IntCounter; 7],
    /// Verdicts the plugin declared reusable for their statement's shape.
    reused: ReuseCache,
    reused_counter: IntCounter,
    recycled: IntCounter,
}

fn kind_index(kind: FailureKind) -> usize {
    match kind {
        FailureKind::Trap => 0,
        FailureKind::Timeout => 1,
        FailureKind::Memory => 2,
        FailureKind::Instantiate => 3,
        FailureKind::Configure => 4,
        FailureKind::Quarantined => 5,
        FailureKind::NotLoaded => 6,
    }
}

impl BindingRuntime {
    pub fn new(
        runtime: &Runtime,
        tenant: Arc<str>,
        binding: EffectiveBinding,
        plugin: Result<Arc<LoadedPlugin>, String>,
    ) -> Self {
        let m = &runtime.services.metrics;
        let name = binding.plugin.as_str();
        let failures = [
            FailureKind::Trap,
            FailureKind::Timeout,
            FailureKind::Memory,
            FailureKind::Instantiate,
            FailureKind::Configure,
            FailureKind::Quarantined,
            FailureKind::NotLoaded,
        ]
        .map(|k| m.plugin_failures.with_label_values(&[name, k.label()]));
        BindingRuntime {
            duration: m.plugin_duration.with_label_values(&[name]),
            reused_counter: m.plugin_reused.with_label_values(&[name]),
            recycled: m.plugin_recycled.with_label_values(&[name]),
            reused: ReuseCache::default(),
            quarantined_gauge: m.plugin_quarantined.with_label_values(&[name, &*tenant]),
            failures,
            binding,
            tenant,
            plugin,
            warm: Mutex::new(Vec::new()),
            health: Health::default(),
        }
    }

    fn fail(&self, kind: FailureKind, message: String) -> PluginFailure {
        self.failures[kind_index(kind)].inc();
        PluginFailure { kind, message }
    }

    /// Creates and configures a new instance.
    pub(crate) fn instantiate(
        &self,
        runtime: &Runtime,
        plugin: &LoadedPlugin,
    ) -> Result<Warm, PluginFailure> {
        let limits = &plugin.manifest.limits;
        let cap = (limits.memory_mib as usize).min(runtime.config.max_memory_mib as usize) << 20;
        let mut store = Store::new(
            &runtime.engine,
            HostState::new(
                self.tenant.clone(),
                Arc::from(plugin.name.as_str()),
                runtime.services.clone(),
                cap,
            ),
        );
        store.limiter(|s| s);
        let tick = runtime.config.epoch_tick;
        store.epoch_deadline_callback(move |mut ctx| Ok(ctx.data_mut().deadline.on_deadline(tick)));
        // Instantiation and configuration get a wider budget than a hook call.
        let ticks = runtime.deadline_ticks(limits.deadline_ms.max(100) * 5);
        let _running = runtime.guest_running();
        store.data_mut().begin_call(ticks);
        store.set_epoch_deadline(ticks);
        let instance = plugin
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .map_err(|e| self.classify(&store, e, FailureKind::Instantiate))?;
        let policy = Policy::new(&mut store, &instance)
            .map_err(|e| self.classify(&store, e, FailureKind::Instantiate))?;
        if let Some(idx) = &plugin.configure {
            let func = instance
                .get_typed_func::<(&str,), (Result<(), String>,)>(&mut store, idx)
                .map_err(|e| {
                    self.fail(
                        FailureKind::Configure,
                        format!(
                            "plugin '{}' has a malformed configure export: {e}",
                            plugin.name
                        ),
                    )
                })?;
            let (result,) = func
                .call(&mut store, (self.binding.config_json.as_str(),))
                .map_err(|e| self.classify(&store, e, FailureKind::Configure))?;
            if let Err(msg) = result {
                return Err(self.fail(
                    FailureKind::Configure,
                    format!(
                        "plugin '{}' refused the config of binding '{}': {msg}",
                        plugin.name, self.binding.id
                    ),
                ));
            }
        }
        Ok(Warm { store, policy })
    }

    fn classify(
        &self,
        store: &Store<HostState>,
        e: wasmtime::Error,
        otherwise: FailureKind,
    ) -> PluginFailure {
        let plugin = &self.binding.plugin;
        let limits = self
            .plugin
            .as_ref()
            .map(|p| p.manifest.limits.clone())
            .unwrap_or_default();
        if store.data().memory_exceeded {
            return self.fail(
                FailureKind::Memory,
                format!(
                    "plugin '{plugin}' exceeded its memory cap of {} MiB",
                    limits.memory_mib
                ),
            );
        }
        match e.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => self.fail(
                FailureKind::Timeout,
                format!(
                    "plugin '{plugin}' exceeded its CPU deadline of {} ms",
                    effective_deadline_ms(&limits)
                ),
            ),
            Some(trap) => self.fail(
                FailureKind::Trap,
                format!("plugin '{plugin}' trapped: {trap}"),
            ),
            None => {
                tracing::debug!(plugin = %plugin, error = %format!("{e:#}"), "plugin call failed");
                self.fail(
                    otherwise,
                    format!("plugin '{plugin}' failed: {}", root_message(&e)),
                )
            }
        }
    }

    /// Runs `on-query` for one statement: the verdict the plugin declared reusable for this
    /// statement's shape when there is one, else a call. `query` is the record plugins receive,
    /// built on the first call an evaluation makes and shared by its later bindings.
    pub(crate) fn on_query(
        &self,
        runtime: &Runtime,
        conn: &Connection,
        sql: &str,
        stmt: &Statement,
        ctx: &StatementContext,
        query: &mut Option<Query>,
    ) -> Result<Verdict, PluginFailure> {
        let probe = Probe {
            identity: &stmt.identity,
            residue: &stmt.residue,
            protocol: stmt.protocol,
            in_transaction: ctx.in_transaction,
            prepared_name: ctx.prepared_name.as_deref(),
            conn,
        };
        if let Some(v) = self.reused.get(&probe) {
            self.reused_counter.inc();
            return Ok(v);
        }
        let q = query.get_or_insert_with(|| Query {
            sql: sql.to_string(),
            facts: (*stmt.facts).clone(),
            prepared_name: ctx.prepared_name.clone(),
            in_transaction: ctx.in_transaction,
        });
        let (verdict, reuse) = self.call(runtime, |p, store| {
            store.data_mut().begin_query();
            let v = p
                .articdbm_policy_hooks()
                .call_on_query(&mut *store, conn, q)?;
            Ok((v, store.data_mut().take_reuse()))
        })?;
        if let Some((scope, basis)) = reuse {
            self.reused.insert(&probe, scope, basis, &verdict);
        }
        Ok(verdict)
    }

    /// Verdicts held for reuse (for tests and metrics).
    pub fn reused_verdicts(&self) -> usize {
        self.reused.len()
    }

    /// Calls `f` on an instance of this binding under the plugin's deadline; the time it takes
    /// is the binding's `articdbm_plugin_duration_seconds`.
    pub(crate) fn call<R>(
        &self,
        runtime: &Runtime,
        f: impl FnOnce(&Policy, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginFailure> {
        let started = Instant::now();
        let r = self.call_inner(runtime, f);
        self.duration.observe(started.elapsed().as_secs_f64());
        r
    }

    fn call_inner<R>(
        &self,
        runtime: &Runtime,
        f: impl FnOnce(&Policy, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginFailure> {
        let plugin = match &self.plugin {
            Ok(p) => p,
            Err(why) => return Err(self.fail(FailureKind::NotLoaded, why.clone())),
        };
        if let Err(left) = self.health.check() {
            return Err(self.fail(
                FailureKind::Quarantined,
                format!(
                    "plugin '{}' is quarantined after repeated failures (retry in {:.1} s)",
                    plugin.name,
                    left.as_secs_f64()
                ),
            ));
        }
        let fresh = plugin.manifest.isolation == Isolation::Fresh;
        let pooled = if fresh { None } else { self.warm.lock().pop() };
        let mut w = match pooled {
            Some(w) => w,
            None => match self.instantiate(runtime, plugin) {
                Ok(w) => w,
                Err(e) => {
                    self.record_failure(&e);
                    return Err(e);
                }
            },
        };
        let ticks = runtime.deadline_ticks(effective_deadline_ms(&plugin.manifest.limits));
        let running = runtime.guest_running();
        w.store.data_mut().begin_call(ticks);
        w.store.set_epoch_deadline(ticks);
        let result = f(&w.policy, &mut w.store);
        drop(running);
        match result {
            Ok(r) => {
                self.health.success();
                if !fresh {
                    // An instance whose memory only grows (a guest heap that never shrinks:
                    // componentize-js grows by some hundred bytes a call) is retired before it
                    // reaches the cap, so a leak costs an instantiation now and then, never a
                    // statement refused for memory.
                    let data = w.store.data();
                    if data.linear_memory + recycle_headroom(data.memory_cap) > data.memory_cap {
                        self.recycled.inc();
                        drop(w);
                    } else {
                        let mut pool = self.warm.lock();
                        if pool.len() < runtime.config.warm_per_binding {
                            pool.push(w);
                        }
                    }
                }
                Ok(r)
            }
            Err(e) => {
                // Whatever state the instance is in after a trap is not to be trusted: it is
                // dropped here, and the pool slot returns to the allocator.
                let failure = self.classify(&w.store, e, FailureKind::Trap);
                drop(w);
                self.record_failure(&failure);
                Err(failure)
            }
        }
    }

    fn record_failure(&self, failure: &PluginFailure) {
        if let Some(backoff) = self.health.failure() {
            self.quarantined_gauge.set(1);
            tracing::warn!(
                plugin = %self.binding.plugin,
                binding = %self.binding.id,
                tenant = %self.tenant,
                backoff_s = backoff.as_secs(),
                last_error = %failure.message,
                "plugin binding quarantined after {QUARANTINE_AFTER} consecutive failures"
            );
        } else if self.health.consecutive.load(Ordering::Relaxed) == 0 {
            self.quarantined_gauge.set(0);
        }
    }

    /// Creates and configures one instance and pools it, so the first call finds it warm and a
    /// plugin refusing its config is noticed at activation.
    pub(crate) fn prewarm(
        &self,
        runtime: &Runtime,
        plugin: &LoadedPlugin,
    ) -> Result<(), PluginFailure> {
        let w = self.instantiate(runtime, plugin)?;
        if plugin.manifest.isolation != Isolation::Fresh {
            self.warm.lock().push(w);
        }
        Ok(())
    }

    /// Warm instances currently pooled (for tests and metrics).
    pub fn warm_instances(&self) -> usize {
        self.warm.lock().len()
    }

    /// The linear memory (bytes, all memories) of each warm instance pooled now: what sizing
    /// the pool from a measurement reads (benches/polyglot.rs, docs/PLUGINS.md "Limits").
    pub fn warm_linear_memory(&self) -> Vec<usize> {
        self.warm
            .lock()
            .iter()
            .map(|w| w.store.data().linear_memory)
            .collect()
    }
}

/// How close to its memory cap a warm instance may get before it is retired after a call: an
/// eighth of the cap, at least 1 MiB.
pub fn recycle_headroom(cap: usize) -> usize {
    (cap / 8).max(1 << 20)
}

/// The longest a hook call (on-connect, on-query) may run, whatever a manifest asks: every
/// statement waits for the query hook, so a plugin asking for seconds would let one plugin
/// hold every client of a tenant. Manifests may ask up to 10 s; that budget still applies
/// to instantiation and configuration, which are off the query path.
pub const MAX_HOOK_DEADLINE_MS: u32 = 100;

/// The CPU deadline a hook call gets: the manifest's, capped at [`MAX_HOOK_DEADLINE_MS`].
pub fn effective_deadline_ms(limits: &articdbm_pack::Limits) -> u32 {
    limits.deadline_ms.min(MAX_HOOK_DEADLINE_MS)
}

/// The innermost cause of an error, without wasmtime's backtrace and context chain.
fn root_message(e: &wasmtime::Error) -> String {
    e.chain()
        .last()
        .map(|c| c.to_string())
        .unwrap_or_else(|| e.to_string())
}
