//! What the web console (docs/UI.md) needs beyond the resource API, all of it public API under
//! `/api/v1` like the rest: who the caller is, rates over the last hour, a live stream of
//! gateway decisions, the schemas packs are checked against, a dry-run check and a "try it"
//! evaluation of a draft pack by the real policy runtime. And the console itself: its built
//! files, embedded in the binary, served under `/ui/` with a strict Content-Security-Policy.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::api::{ApiError, ApiResult, App, Body, checked_pack, ok};
use crate::auth::{Caller, Role};
use crate::store::{AuditEvent, now_ms};
use articdbm_runtime::trial::{TestInput, evaluate_line};

/// Events a slow live-stream reader may fall behind before it is told how many it missed.
pub const LIVE_BUFFER: usize = 4096;

/// The live stream of gateway decisions: every audit event a gateway uploads that the store
/// had not seen, as it arrives (gateways send theirs every second).
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Arc<AuditEvent>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::Sender::new(LIVE_BUFFER),
        }
    }
}

impl Live {
    pub fn publish(&self, e: AuditEvent) {
        // No subscriber is not an error.
        let _ = self.tx.send(Arc::new(e));
    }
}

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/stats", get(stats))
        .route("/events", get(events))
        .route("/schemas/pack", get(pack_schema))
        .route("/schemas/plugins", get(plugin_schemas))
        .route("/packs/{name}/check", post(check_pack))
        .route("/packs/{name}/try", post(try_pack))
}

// ---------------------------------------------------------------- whoami

async fn whoami(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    let name = if caller.key_id.starts_with("cert:") {
        caller.key_id.clone()
    } else {
        app.store
            .keys()
            .await
            .map_err(ApiError::store)?
            .into_iter()
            .find(|k| k.id == caller.key_id)
            .map(|k| k.name)
            .unwrap_or_default()
    };
    ok(
        StatusCode::OK,
        json!({"role": caller.role.as_str(), "tenant": caller.tenant, "name": name,
               "key_id": caller.key_id}),
    )
}

// ---------------------------------------------------------------- stats

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    /// Seconds back from now (60 to 7200; default 3600).
    window: Option<i64>,
    /// Seconds per bucket (default 60; at most 720 buckets).
    step: Option<i64>,
    tenant: Option<String>,
}

/// `GET /api/v1/stats`: statements and refusals per bucket (from the usage gateways report
/// with their heartbeats, every 10 s) and refusals per rule (from the audit events).
async fn stats(
    State(app): State<Arc<App>>,
    caller: Caller,
    q: Result<Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let tenant = caller.read_scope(q.tenant, "the cluster key only writes usage")?;
    let window = q.window.unwrap_or(3600);
    if !(60..=crate::store::USAGE_SAMPLES_KEPT_MS / 1000).contains(&window) {
        return Err(ApiError::bad("window", "window is 60 to 7200 seconds"));
    }
    let step = q.step.unwrap_or(60);
    if step < 1 || step > window || window / step > 720 {
        return Err(ApiError::bad(
            "step",
            "step is 1 second to the window, at most 720 buckets",
        ));
    }
    let n = (window / step) as usize;
    let step_ms = step * 1000;
    let end = now_ms();
    let start = end - n as i64 * step_ms;
    let samples = app
        .store
        .usage_samples(start, tenant.as_deref())
        .await
        .map_err(ApiError::store)?;
    let mut buckets: Vec<(i64, i64)> = vec![(0, 0); n];
    for (at, q, d) in samples {
        let i = ((at - start) / step_ms).clamp(0, n as i64 - 1) as usize;
        buckets[i].0 += q;
        buckets[i].1 += d;
    }
    let rules = app
        .store
        .denials_by_rule(start, tenant.as_deref())
        .await
        .map_err(ApiError::store)?;
    let (tq, td) = buckets.iter().fold((0, 0), |(a, b), (q, d)| (a + q, b + d));
    ok(
        StatusCode::OK,
        json!({
            "window": window, "step": step,
            "buckets": buckets.iter().enumerate().map(|(i, (q, d))| json!({
                "at": start + i as i64 * step_ms, "queries": q, "denials": d,
            })).collect::<Vec<_>>(),
            "denials_by_rule": rules.iter().map(|(r, c)| json!({"rule": r, "count": c}))
                .collect::<Vec<_>>(),
            "totals": {"queries": tq, "denials": td},
        }),
    )
}

// ---------------------------------------------------------------- live events

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    tenant: Option<String>,
    user: Option<String>,
    rule: Option<String>,
    /// One verdict, or several separated by commas (`deny,would-deny`).
    verdict: Option<String>,
}

struct EventFilter {
    tenant: Option<String>,
    user: Option<String>,
    rule: Option<String>,
    verdicts: Option<Vec<String>>,
}

impl EventFilter {
    fn matches(&self, e: &AuditEvent) -> bool {
        self.tenant.as_ref().is_none_or(|t| *t == e.tenant)
            && self.user.as_ref().is_none_or(|u| *u == e.actor)
            && self
                .rule
                .as_ref()
                .is_none_or(|r| e.detail["rule"].as_str() == Some(r.as_str()))
            && self
                .verdicts
                .as_ref()
                .is_none_or(|v| v.contains(&e.verdict))
    }
}

/// `GET /api/v1/events`: Server-Sent Events, one `audit` event per decision a gateway reports
/// (refusals, would-denies, audits, sampled allows), filtered; a `lagged` event says how many
/// a reader too slow to keep up missed; a comment every 15 s keeps idle connections open.
async fn events(
    State(app): State<Arc<App>>,
    caller: Caller,
    q: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    not_gateway(&caller)?;
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let tenant = caller.read_scope(q.tenant, "the cluster key only writes audit")?;
    let filter = EventFilter {
        tenant,
        user: q.user.filter(|s| !s.is_empty()),
        rule: q.rule.filter(|s| !s.is_empty()),
        verdicts: q
            .verdict
            .filter(|s| !s.is_empty())
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect()),
    };
    let rx = app.live.tx.subscribe();
    let stream = futures_util::stream::unfold((rx, filter), |(mut rx, f)| async move {
        loop {
            match rx.recv().await {
                Ok(e) if f.matches(&e) => {
                    let ev = Event::default()
                        .event("audit")
                        .id(e.id.clone())
                        .data(serde_json::to_string(&*e).unwrap_or_default());
                    return Some((Ok::<_, Infallible>(ev), (rx, f)));
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let ev = Event::default()
                        .event("lagged")
                        .data(json!({ "missed": n }).to_string());
                    return Some((Ok(ev), (rx, f)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let mut resp = Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("ping"),
        )
        .into_response();
    // Proxies must not buffer the stream.
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

// ---------------------------------------------------------------- schemas

const PACK_SCHEMA: &str = include_str!("../../docs/schema/pack.schema.json");

async fn pack_schema(caller: Caller) -> ApiResult {
    not_gateway(&caller)?;
    let v: Value = serde_json::from_str(PACK_SCHEMA)
        .map_err(|e| ApiError::internal(format!("pack schema: {e}")))?;
    ok(StatusCode::OK, v)
}

/// `GET /api/v1/schemas/plugins`: each enabled policy plugin's config schema (`{}` when its
/// manifest has none: any config).
async fn plugin_schemas(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    not_gateway(&caller)?;
    let states = app.store.plugin_states().await.map_err(ApiError::store)?;
    let active = app.store.active_plugins().await.map_err(ApiError::store)?;
    let mut out = serde_json::Map::new();
    for p in active {
        let enabled = states.iter().any(|s| s.name == p.name && s.enabled);
        if !enabled || p.manifest.get("world").and_then(Value::as_str) == Some("feed-parser") {
            continue;
        }
        let schema = p
            .manifest
            .get("config_schema")
            .cloned()
            .unwrap_or_else(|| json!({}));
        out.insert(p.name, schema);
    }
    ok(StatusCode::OK, Value::Object(out))
}

fn not_gateway(caller: &Caller) -> Result<(), ApiError> {
    if caller.role == Role::Gateway {
        return Err(ApiError::forbidden("the cluster key only reads snapshots"));
    }
    Ok(())
}

// ---------------------------------------------------------------- check and try

/// `POST /api/v1/packs/{name}/check`: everything `PUT` checks (parse, schema, merge with the
/// stored packs, plugin configs), nothing stored.
async fn check_pack(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (_, pack, tenant) = checked_pack(&app, &caller, &name, &headers, &body, false).await?;
    ok(
        StatusCode::OK,
        json!({"ok": true, "name": pack.name, "tenant": if tenant.is_empty() { Value::Null } else { Value::String(tenant) },
               "bindings": pack.bindings.len()}),
    )
}

/// Statements one trial evaluates at most.
pub const MAX_TRIAL_STATEMENTS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TryBody {
    /// The draft pack (TOML); the stored one when absent.
    #[serde(default)]
    toml: Option<String>,
    statements: Vec<TestInput>,
}

/// `POST /api/v1/packs/{name}/try`: `policy test` semantics for statements pasted in, judged by
/// the real runtime with the enabled plugins, the stored packs and the draft in place of the
/// stored pack of that name. Threat indicators are not loaded and the key-value store starts
/// empty, so rate limits and budgets see only the trial's own statements.
async fn try_pack(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    Body(b): Body<TryBody>,
) -> ApiResult {
    not_gateway(&caller)?;
    let text = match b.toml {
        Some(t) => t,
        None => app
            .store
            .list("pack", None)
            .await
            .map_err(ApiError::store)?
            .into_iter()
            .find(|p| p.name == name && (p.tenant.is_empty() || caller.can_read_tenant(&p.tenant)))
            .and_then(|p| p.body.get("toml").and_then(Value::as_str).map(String::from))
            .ok_or_else(|| ApiError::not_found(format!("pack '{name}' not found")))?,
    };
    let headers = HeaderMap::new();
    let (text, _pack, tenant) =
        checked_pack(&app, &caller, &name, &headers, text.as_bytes(), false).await?;
    if b.statements.is_empty() || b.statements.len() > MAX_TRIAL_STATEMENTS {
        return Err(ApiError::bad(
            "statements",
            format!("give 1 to {MAX_TRIAL_STATEMENTS} statements"),
        ));
    }
    for (i, s) in b.statements.iter().enumerate() {
        if let Some(t) = &s.tenant
            && !caller.can_read_tenant(t)
        {
            return Err(ApiError::bad(
                &format!("statements[{i}].tenant"),
                format!("this key cannot act as tenant '{t}'"),
            ));
        }
        if s.sql.len() > 64 * 1024 {
            return Err(ApiError::bad(
                &format!("statements[{i}].sql"),
                "a statement is at most 64 KiB",
            ));
        }
    }
    let default_tenant = if tenant.is_empty() {
        caller.tenant.clone().unwrap_or_else(|| "default".into())
    } else {
        tenant.clone()
    };
    let sources = trial_sources(&app, &name, &tenant, &text).await?;
    let results = app.trial.run(sources, b.statements, default_tenant).await?;
    ok(StatusCode::OK, json!({ "results": results }))
}

/// What a trial loads: the enabled policy plugins' components and manifests, and the packs
/// as a snapshot carries them (permissions appended), the draft in place of `name`.
pub struct TrialSources {
    plugins: Vec<(String, Vec<u8>, Value)>,
    packs: Vec<(String, String)>,
}

async fn trial_sources(
    app: &App,
    name: &str,
    tenant: &str,
    draft: &str,
) -> Result<TrialSources, ApiError> {
    let store = &app.store;
    let states = store.plugin_states().await.map_err(ApiError::store)?;
    let mut plugins = Vec::new();
    for p in store.active_plugins().await.map_err(ApiError::store)? {
        let enabled = states.iter().any(|s| s.name == p.name && s.enabled);
        if !enabled || p.manifest.get("world").and_then(Value::as_str) == Some("feed-parser") {
            continue;
        }
        let bytes = store
            .artifact(&p.sha256)
            .await
            .map_err(ApiError::store)?
            .ok_or_else(|| ApiError::internal(format!("artifact of plugin {} missing", p.name)))?;
        plugins.push((p.name, bytes, p.manifest));
    }
    let mut packs = store.list("pack", None).await.map_err(ApiError::store)?;
    packs.retain(|p| p.name != name);
    packs.push(crate::store::Resource {
        kind: "pack".into(),
        tenant: tenant.to_string(),
        name: name.to_string(),
        body: json!({ "toml": draft }),
        created_at: 0,
        updated_at: 0,
    });
    let packs = crate::snapshot::with_permissions(
        packs,
        store
            .list("permission", None)
            .await
            .map_err(ApiError::store)?,
    );
    Ok(TrialSources {
        plugins,
        packs: packs
            .into_iter()
            .map(|p| {
                let t = p
                    .body
                    .get("toml")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (p.name, t)
            })
            .collect(),
    })
}

/// Runs trials: one policy runtime, made on first use, whose compiled components are cached on
/// disk by content hash (so only a new plugin version is compiled), and one trial at a time.
pub struct Trial {
    dir: PathBuf,
    runtime: tokio::sync::Mutex<Option<Arc<articdbm_runtime::Runtime>>>,
}

impl Trial {
    pub fn new(data_dir: &std::path::Path) -> Self {
        Trial {
            dir: data_dir.join("trial"),
            runtime: tokio::sync::Mutex::new(None),
        }
    }

    async fn run(
        &self,
        sources: TrialSources,
        statements: Vec<TestInput>,
        default_tenant: String,
    ) -> Result<Vec<Value>, ApiError> {
        // Held for the whole trial: trials are rare, and one at a time bounds their memory.
        let mut guard = self.runtime.lock().await;
        let runtime = match &*guard {
            Some(r) => Arc::clone(r),
            None => {
                let r = Arc::new(new_runtime(&self.dir)?);
                *guard = Some(Arc::clone(&r));
                r
            }
        };
        let work = self.dir.join(format!("run-{}", crate::auth::random_id(8)));
        let run = {
            let work = work.clone();
            tokio::task::spawn_blocking(move || {
                evaluate(&runtime, &work, sources, &statements, &default_tenant)
            })
        };
        let out = run
            .await
            .map_err(|e| ApiError::internal(format!("trial: {e}")))?;
        let _ = std::fs::remove_dir_all(&work);
        out
    }
}

fn new_runtime(dir: &std::path::Path) -> Result<articdbm_runtime::Runtime, ApiError> {
    use articdbm_runtime::indicators::ThreatStore;
    use articdbm_runtime::kv::MemoryKv;
    use articdbm_runtime::metrics::Metrics;
    let metrics = Arc::new(Metrics::new());
    let threats = ThreatStore::with_metrics(&metrics);
    let services = Arc::new(articdbm_runtime::HostServices::new(
        Arc::new(MemoryKv::default()),
        Box::new(threats),
        metrics,
    ));
    articdbm_runtime::Runtime::new(
        articdbm_runtime::RuntimeConfig {
            max_instances: 64,
            cache_dir: Some(dir.join("cache")),
            warm_per_binding: 1,
            ..Default::default()
        },
        services,
    )
    .map_err(|e| ApiError::internal(format!("trial runtime: {e}")))
}

fn evaluate(
    runtime: &Arc<articdbm_runtime::Runtime>,
    work: &std::path::Path,
    sources: TrialSources,
    statements: &[TestInput],
    default_tenant: &str,
) -> Result<Vec<Value>, ApiError> {
    let io = |e: std::io::Error| ApiError::internal(format!("trial files: {e}"));
    let plugin_dir = work.join("plugins");
    let pack_dir = work.join("packs");
    std::fs::create_dir_all(&plugin_dir).map_err(io)?;
    std::fs::create_dir_all(&pack_dir).map_err(io)?;
    for (name, bytes, manifest) in &sources.plugins {
        std::fs::write(plugin_dir.join(format!("{name}.wasm")), bytes).map_err(io)?;
        std::fs::write(
            plugin_dir.join(format!("{name}.json")),
            serde_json::to_vec(manifest).unwrap_or_default(),
        )
        .map_err(io)?;
    }
    let mut files = Vec::new();
    for (i, (_, text)) in sources.packs.iter().enumerate() {
        let f = pack_dir.join(format!("{i}.toml"));
        std::fs::write(&f, text).map_err(io)?;
        files.push(f);
    }
    let (reloader, _) = articdbm_runtime::reload::Reloader::start(
        Arc::clone(runtime),
        articdbm_runtime::reload::Sources {
            plugin_dir,
            packs: files,
        },
        1000,
    )
    .map_err(|e| ApiError::bad("toml", e.to_string()))?;
    let engine = reloader.engine();
    Ok(statements
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::to_value(evaluate_line(engine, i + 1, s, default_tenant))
                .unwrap_or(Value::Null)
        })
        .collect())
}

// ---------------------------------------------------------------- the console's files

mod assets {
    include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));
}

/// The Content-Security-Policy of the console: its own scripts only, never inline; its own
/// styles, plus the `<style>` elements the component library injects, which carry the nonce of
/// this response; requests to its own origin only.
fn console_csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn asset(path: &str) -> Option<&'static [u8]> {
    assets::UI_ASSETS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| *b)
}

/// `index.html` with a fresh nonce.
fn index() -> Response {
    let Some(html) = asset("index.html") else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "the web console was not built into this manager: build manager/ui (see docs/UI.md)",
        )
            .into_response();
    };
    let nonce = crate::auth::random_id(16);
    let body = String::from_utf8_lossy(html).replace("__CSP_NONCE__", &nonce);
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&console_csp(&nonce)) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// `/ui/…`: a built file, or `index.html` for the console's own routes (paths without an
/// extension), so that reloading a page works.
async fn ui_file(path: Option<Path<String>>) -> Response {
    let path = path.map(|Path(p)| p).unwrap_or_default();
    if path.is_empty() || path == "index.html" {
        return index();
    }
    match asset(&path) {
        Some(bytes) => {
            let mut resp = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type(&path))],
                bytes,
            )
                .into_response();
            if path.starts_with("assets/") {
                // Vite names these by content hash: they never change under one name.
                resp.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            }
            resp
        }
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => index(),
        None => ApiError::not_found(format!("no console file '{path}'")).into_response(),
    }
}

pub fn ui_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/ui/") }))
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| ui_file(None)))
        .route("/ui/{*path}", get(|p: Path<String>| ui_file(Some(p))))
}

/// Per-plugin totals over the gateways that reported in the last minute:
/// `{"plugin": {"calls", "mean_us", "failures": {kind: n}, "quarantined": [tenant]}}`.
pub(crate) async fn plugin_stats(app: &App) -> Result<BTreeMap<String, Value>, ApiError> {
    let bodies = app
        .store
        .gateway_plugins(now_ms() - 60_000)
        .await
        .map_err(ApiError::store)?;
    #[derive(Default)]
    struct Sum {
        calls: u64,
        seconds: f64,
        failures: BTreeMap<String, u64>,
        quarantined: Vec<String>,
    }
    let mut sums: BTreeMap<String, Sum> = BTreeMap::new();
    for b in bodies {
        let Some(o) = b.as_object() else { continue };
        for (name, v) in o {
            let e = sums.entry(name.clone()).or_default();
            e.calls += v["calls"].as_u64().unwrap_or(0);
            e.seconds += v["seconds"].as_f64().unwrap_or(0.0);
            if let Some(f) = v["failures"].as_object() {
                for (k, n) in f {
                    *e.failures.entry(k.clone()).or_default() += n.as_u64().unwrap_or(0);
                }
            }
            if let Some(q) = v["quarantined"].as_array() {
                for t in q.iter().filter_map(Value::as_str) {
                    if !e.quarantined.iter().any(|x| x == t) {
                        e.quarantined.push(t.to_string());
                    }
                }
            }
        }
    }
    Ok(sums
        .into_iter()
        .map(|(name, s)| {
            let mean_us = if s.calls > 0 {
                s.seconds / s.calls as f64 * 1e6
            } else {
                0.0
            };
            (
                name,
                json!({"calls": s.calls, "mean_us": mean_us, "failures": s.failures,
                       "quarantined": s.quarantined}),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(verdict: &str, tenant: &str, actor: &str, detail: Value) -> AuditEvent {
        AuditEvent {
            id: "e1".into(),
            at: 0,
            tenant: tenant.into(),
            actor: actor.into(),
            action: "query".into(),
            target: "db".into(),
            verdict: verdict.into(),
            detail,
        }
    }

    #[test]
    fn live_filters_match_each_field_and_any_of_several_verdicts() {
        let e = event(
            "would-deny",
            "acme",
            "app",
            json!({"rule": "sqli.tautology"}),
        );
        let f = |tenant: Option<&str>, user: Option<&str>, rule: Option<&str>, v: Option<&str>| {
            EventFilter {
                tenant: tenant.map(String::from),
                user: user.map(String::from),
                rule: rule.map(String::from),
                verdicts: v.map(|v| v.split(',').map(String::from).collect()),
            }
        };
        assert!(f(None, None, None, None).matches(&e));
        assert!(
            f(
                Some("acme"),
                Some("app"),
                Some("sqli.tautology"),
                Some("deny,would-deny")
            )
            .matches(&e)
        );
        assert!(!f(Some("other"), None, None, None).matches(&e));
        assert!(!f(None, Some("bob"), None, None).matches(&e));
        assert!(!f(None, None, Some("acl.table"), None).matches(&e));
        assert!(!f(None, None, None, Some("deny")).matches(&e));
        // An event without a rule never matches a rule filter.
        let bare = event("deny", "acme", "app", Value::Null);
        assert!(!f(None, None, Some("sqli.tautology"), None).matches(&bare));
    }

    #[test]
    fn csv_quotes_every_field_and_defuses_formulas() {
        let e = event(
            "deny",
            "acme",
            "app",
            json!({"rule": "sqli.x", "sql": "=HYPERLINK(\"http://x\")", "reason": "a, \"b\"\nc"}),
        );
        let csv = crate::api::audit_csv(&[e]);
        let mut lines = csv.split("\r\n");
        assert!(lines.next().unwrap().starts_with("id,at,tenant"));
        let row = lines.next().unwrap();
        assert!(row.starts_with("\"e1\",\"1970-01-01T00:00:00"), "{row}");
        assert!(row.ends_with(",\"'=HYPERLINK(\"\"http://x\"\")\""), "{row}");
        assert!(row.contains("\"a, \"\"b\"\"\nc\""), "{row}");
        // A statement starting with a comment is also defused.
        let e = event("deny", "acme", "app", json!({"sql": "-- x\nSELECT 1"}));
        assert!(crate::api::audit_csv(&[e]).contains("\"'-- x\nSELECT 1\""));
    }

    #[test]
    fn content_types_and_csp() {
        assert_eq!(
            content_type("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("assets/index-abc.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("x"), "application/octet-stream");
        let csp = console_csp("abc");
        assert!(csp.contains("script-src 'self';"));
        assert!(csp.contains("style-src 'self' 'nonce-abc';"));
        assert!(!csp.contains("unsafe"));
    }
}
