//! Threat-intelligence feeds: the feed resource, fetching on schedule and on demand, parsing
//! in the sandbox, and merging indicators into the store.
//!
//! A feed is a URL (a STIX bundle, an OpenIOC document, a MISP event, or a MISP feed
//! directory) or a TAXII 2.1 collection, with a format, a parser plugin (a `feed-parser`
//! component from the registry; the built-in ones are registered at start), an interval, a
//! default confidence for indicators whose document states none, and a scope: global (every
//! tenant) or one tenant. See docs/THREAT-INTELLIGENCE.md.

pub mod api;
pub mod cli;
pub mod fetch;
pub mod sandbox;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{ApiError, App};
use crate::store::now_ms;
use sandbox::{FeedError, Limits, ParseResult, Parsed, Sandbox};
use store::{IngestReport, NewIndicator};

/// What stored secrets are rendered as; sending it back in a PUT keeps the stored secret.
pub const REDACTED: &str = "********";
/// Largest document (or sum of a fetch's documents) by default.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;
/// Largest `max_bytes` a feed may set.
pub const MAX_MAX_BYTES: u64 = 1 << 30;
/// Shortest fetch interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// Scheduler ticks (seconds) between sweeps of expired indicators.
const EXPIRY_SWEEP_TICKS: u64 = 60;

/// Document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// STIX 2.1 bundle (or a TAXII collection's objects).
    Stix,
    /// OpenIOC 1.0 or 1.1.
    Openioc,
    /// A MISP event (JSON export).
    Misp,
    /// A MISP feed directory: `manifest.json` plus one `<uuid>.json` per event.
    MispFeed,
}

impl Format {
    /// The format string the parser component is called with.
    pub fn parser_format(self) -> &'static str {
        match self {
            Format::Stix => "stix",
            Format::Openioc => "openioc",
            Format::Misp => "misp",
            Format::MispFeed => "misp-feed-event",
        }
    }

    /// The built-in parser of this format.
    pub fn default_parser(self) -> &'static str {
        match self {
            Format::Stix => "feed-stix",
            Format::Openioc => "feed-openioc",
            Format::Misp | Format::MispFeed => "feed-misp",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

/// HTTP credentials: a bearer token, or a user name and password (basic).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A TAXII 2.1 collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxiiSpec {
    /// The discovery endpoint (`https://host/taxii2/`) or an API root URL.
    pub url: String,
    /// The API root to use, when the discovery document has no default: a URL or a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_root: Option<String>,
    /// The collection's id or title.
    pub collection: String,
    #[serde(default)]
    pub auth: Auth,
    /// Objects per page asked of the server.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

fn default_page_size() -> u32 {
    1000
}

fn default_interval() -> String {
    "1h".into()
}

fn default_confidence() -> u8 {
    50
}

fn yes() -> bool {
    true
}

/// A threat feed, as created and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    pub name: String,
    /// The tenant whose gateways' lookups see this feed; absent: every tenant (global).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub format: Format,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxii: Option<TaxiiSpec>,
    /// Credentials for `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// The feed-parser plugin; default: the built-in one of the format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parser: Option<String>,
    /// How often to fetch: `30s`, `15m`, `6h`, `1d`, or `manual` (only on demand).
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Confidence (0-100) of indicators whose document states none.
    #[serde(default = "default_confidence")]
    pub default_confidence: u8,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Largest document, or sum of one fetch's documents, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// PEM file on the manager's host with the CA certificate(s) that sign the feed server's
    /// certificate (`https://` URLs). Given, the feed trusts only these CAs; absent, the
    /// platform's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

impl FeedSpec {
    /// The feed's key in the indicator store and on the wire: `name`, or `tenant/name`.
    pub fn key(&self) -> String {
        feed_key(self.tenant.as_deref(), &self.name)
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)
    }

    pub fn parser_name(&self) -> &str {
        self.parser
            .as_deref()
            .unwrap_or_else(|| self.format.default_parser())
    }

    /// The fetch interval; None for `manual`.
    pub fn interval(&self) -> Option<Duration> {
        parse_interval(&self.interval).ok().flatten()
    }

    /// Checks everything that needs no store: the field is named on error.
    pub fn validate(&self) -> Result<(), ApiError> {
        crate::validate::name("name", &self.name)?;
        if let Some(t) = &self.tenant {
            crate::validate::name("tenant", t)?;
        }
        match (&self.url, &self.taxii) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad(
                    "taxii",
                    "give either `url` or `taxii`, not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::bad(
                    "url",
                    "a feed needs `url` (a document or MISP feed directory) or `taxii` (a TAXII 2.1 collection)",
                ));
            }
            (Some(u), None) => http_url("url", u)?,
            (None, Some(t)) => {
                http_url("taxii.url", &t.url)?;
                if self.format != Format::Stix {
                    return Err(ApiError::bad(
                        "format",
                        "a TAXII 2.1 collection serves STIX 2.1: use format `stix`",
                    ));
                }
                if t.collection.trim().is_empty() {
                    return Err(ApiError::bad(
                        "taxii.collection",
                        "name the collection (id or title)",
                    ));
                }
                if t.page_size == 0 || t.page_size > 10_000 {
                    return Err(ApiError::bad("taxii.page_size", "must be 1..=10000"));
                }
                check_auth("taxii.auth", &t.auth)?;
            }
        }
        if let Some(a) = &self.auth {
            if self.taxii.is_some() {
                return Err(ApiError::bad(
                    "auth",
                    "TAXII credentials go in `taxii.auth`",
                ));
            }
            check_auth("auth", a)?;
        }
        if let Some(p) = &self.parser {
            crate::validate::name("parser", p)?;
        }
        parse_interval(&self.interval).map_err(|m| ApiError::bad("interval", m))?;
        if self.default_confidence > 100 {
            return Err(ApiError::bad("default_confidence", "must be 0..=100"));
        }
        if let Some(m) = self.max_bytes
            && (m == 0 || m > MAX_MAX_BYTES)
        {
            return Err(ApiError::bad(
                "max_bytes",
                format!("must be 1..={MAX_MAX_BYTES}"),
            ));
        }
        if let Some(f) = &self.ca_file {
            fetch::read_ca(f).map_err(|m| ApiError::bad("ca_file", m))?;
        }
        Ok(())
    }

    /// The spec with its secrets replaced by [`REDACTED`].
    pub fn redacted(&self) -> FeedSpec {
        let mut s = self.clone();
        let hide = |a: &mut Auth| {
            if a.password.is_some() {
                a.password = Some(REDACTED.into());
            }
            if a.token.is_some() {
                a.token = Some(REDACTED.into());
            }
        };
        if let Some(a) = &mut s.auth {
            hide(a);
        }
        if let Some(t) = &mut s.taxii {
            hide(&mut t.auth);
        }
        s
    }

    /// Puts the stored secrets back where a PUT sent [`REDACTED`].
    pub fn keep_secrets(&mut self, stored: &FeedSpec) {
        let keep = |new: &mut Auth, old: &Auth| {
            if new.password.as_deref() == Some(REDACTED) {
                new.password = old.password.clone();
            }
            if new.token.as_deref() == Some(REDACTED) {
                new.token = old.token.clone();
            }
        };
        if let (Some(n), Some(o)) = (&mut self.auth, &stored.auth) {
            keep(n, o);
        }
        if let (Some(n), Some(o)) = (&mut self.taxii, &stored.taxii) {
            keep(&mut n.auth, &o.auth);
        }
    }
}

pub fn feed_key(tenant: Option<&str>, name: &str) -> String {
    match tenant {
        Some(t) if !t.is_empty() => format!("{t}/{name}"),
        _ => name.to_string(),
    }
}

fn http_url(field: &str, u: &str) -> Result<(), ApiError> {
    match reqwest::Url::parse(u) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(_) => Err(ApiError::bad(field, format!("'{u}' is not an http(s) URL"))),
        Err(e) => Err(ApiError::bad(field, format!("'{u}' is not a URL: {e}"))),
    }
}

fn check_auth(field: &str, a: &Auth) -> Result<(), ApiError> {
    if a.token.is_some() && (a.username.is_some() || a.password.is_some()) {
        return Err(ApiError::bad(
            field,
            "give a `token` or a `username` and `password`, not both",
        ));
    }
    if a.password.is_some() && a.username.is_none() {
        return Err(ApiError::bad(field, "a `password` needs a `username`"));
    }
    Ok(())
}

/// `manual` is None; `30s`, `15m`, `6h`, `1d` (at least 10 s).
pub fn parse_interval(s: &str) -> Result<Option<Duration>, String> {
    let t = s.trim();
    if t == "manual" {
        return Ok(None);
    }
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not an interval: use 30s, 15m, 6h, 1d or manual"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "'{s}' is not an interval: use 30s, 15m, 6h, 1d or manual"
            ));
        }
    };
    let d = Duration::from_secs(secs);
    if d < MIN_INTERVAL {
        return Err(format!("'{s}' is shorter than the minimum interval of 10s"));
    }
    Ok(Some(d))
}

/// The built-in feed parsers: (name, component, manifest).
pub fn builtin_parsers() -> [(&'static str, &'static [u8], &'static str); 3] {
    use articdbm_plugin_artifacts as a;
    [
        ("feed-stix", a::FEED_STIX_WASM, a::FEED_STIX_MANIFEST_JSON),
        (
            "feed-openioc",
            a::FEED_OPENIOC_WASM,
            a::FEED_OPENIOC_MANIFEST_JSON,
        ),
        ("feed-misp", a::FEED_MISP_WASM, a::FEED_MISP_MANIFEST_JSON),
    ]
}

/// The limits a parser's manifest asks for (defaults for what it leaves out).
pub fn manifest_limits(manifest: &Value) -> Limits {
    let l = manifest.get("limits");
    let get = |k: &str| l.and_then(|l| l.get(k)).and_then(Value::as_u64);
    Limits {
        memory_mib: get("memory_mib").unwrap_or(sandbox::DEFAULT_MEMORY_MIB),
        deadline_ms: get("deadline_ms").unwrap_or(sandbox::DEFAULT_DEADLINE_MS),
    }
}

/// Longest one HTTP request of a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// The feed machinery shared by the API and the scheduler.
pub struct Feeds {
    pub sandbox: Sandbox,
    http: reqwest::Client,
    /// One fetch per feed at a time (scheduled and on-demand fetches queue).
    locks: parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The outcome of one fetch or upload.
#[derive(Debug, Clone, Serialize)]
pub struct FetchReport {
    pub documents: usize,
    /// Indicators the parser produced (before merging).
    pub parsed: usize,
    /// Negated indicators, never enforced.
    pub negated: usize,
    pub unsupported: BTreeMap<String, u64>,
    #[serde(flatten)]
    pub ingest: IngestReport,
}

impl Feeds {
    pub fn new() -> anyhow::Result<Feeds> {
        Ok(Feeds {
            sandbox: Sandbox::new().map_err(|e| anyhow::anyhow!("{e}"))?,
            http: fetch::client(FETCH_TIMEOUT).map_err(anyhow::Error::msg)?,
            locks: parking_lot::Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .entry(key.to_string())
            .or_default()
            .clone()
    }
}

/// The parser component and limits of `name` from the registry.
async fn parser(app: &App, name: &str) -> Result<(Vec<u8>, Limits), String> {
    let active = app
        .store
        .active_plugins()
        .await
        .map_err(|e| e.to_string())?;
    let p = active
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| format!("no enabled plugin named '{name}' (the feed's parser)"))?;
    if p.manifest.get("world").and_then(Value::as_str) != Some("feed-parser") {
        return Err(format!("plugin '{name}' is not a feed-parser component"));
    }
    let bytes = app
        .store
        .artifact(&p.sha256)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the component of plugin '{name}' is missing from the store"))?;
    Ok((bytes, manifest_limits(&p.manifest)))
}

/// Parses `document` in the sandbox off the async threads.
pub async fn parse_blocking(
    sandbox: &Sandbox,
    plugin: &str,
    component: Arc<Vec<u8>>,
    limits: Limits,
    format: &'static str,
    document: Vec<u8>,
) -> Result<ParseResult, FeedError> {
    let sandbox = sandbox.clone();
    let plugin = plugin.to_string();
    tokio::task::spawn_blocking(move || {
        sandbox.parse(&plugin, &component, limits, format, &document)
    })
    .await
    .map_err(|e| FeedError::Trap(format!("parser thread: {e}")))?
}

/// Turns parsed indicators into store rows: negated ones are left out (and counted), a
/// missing confidence becomes the feed's default.
pub fn to_new(
    parsed: Vec<Parsed>,
    default_confidence: u8,
    negated: &mut usize,
) -> Vec<NewIndicator> {
    let clamp = |v: Option<u64>| v.map(|v| v.min(i64::MAX as u64) as i64);
    parsed
        .into_iter()
        .filter(|p| {
            if p.negated {
                *negated += 1;
            }
            !p.negated
        })
        .map(|p| NewIndicator {
            kind: p.kind.to_string(),
            value: p.value,
            id: p.source_id,
            confidence: p.confidence.unwrap_or(default_confidence).min(100),
            valid_from: clamp(p.valid_from),
            valid_until: clamp(p.valid_until),
            labels: p.labels,
            revoked: p.revoked,
        })
        .collect()
}

/// Fetches (or, with `upload`, takes the given document), parses and merges one feed, and
/// records its health. Returns the report, or the error also recorded as `last_error`.
pub async fn run(
    app: &App,
    spec: &FeedSpec,
    upload: Option<Vec<u8>>,
) -> Result<FetchReport, String> {
    let key = spec.key();
    let lock = app.feeds.lock(&key);
    let _guard = lock.lock().await;
    let mut status = app
        .store
        .feed_status(&key)
        .await
        .map_err(|e| e.to_string())?;
    let started = now_ms();
    status.last_attempt = Some(started);
    let outcome = run_locked(app, spec, upload, status.cursor.as_deref()).await;
    let live = app
        .store
        .live_count(&key)
        .await
        .unwrap_or(status.indicators);
    status.indicators = live;
    app.metrics
        .feed_indicators
        .with_label_values(&[key.as_str()])
        .set(live);
    match &outcome {
        Ok((report, cursor)) => {
            status.last_success = Some(started);
            status.last_error = None;
            status.unsupported = serde_json::to_value(&report.unsupported).unwrap_or(Value::Null);
            if cursor.is_some() {
                status.cursor = cursor.clone();
            }
            app.metrics
                .feed_fetches
                .with_label_values(&[key.as_str(), "ok"])
                .inc();
            app.metrics
                .feed_last_success
                .with_label_values(&[key.as_str()])
                .set(started / 1000);
            if let Some(v) = report.ingest.version {
                app.published(v);
            }
            tracing::info!(feed = %key, added = report.ingest.added, updated = report.ingest.updated,
                removed = report.ingest.removed, live, "feed ingested");
        }
        Err(e) => {
            status.last_error = Some(e.clone());
            app.metrics
                .feed_fetches
                .with_label_values(&[key.as_str(), "error"])
                .inc();
            tracing::warn!(feed = %key, "feed fetch failed: {e}");
        }
    }
    if let Err(e) = app.store.set_feed_status(&key, &status).await {
        tracing::error!(feed = %key, "feed status not stored: {e}");
    }
    outcome.map(|(r, _)| r)
}

async fn run_locked(
    app: &App,
    spec: &FeedSpec,
    upload: Option<Vec<u8>>,
    cursor: Option<&str>,
) -> Result<(FetchReport, Option<String>), String> {
    let parser_name = spec.parser_name().to_string();
    let (component, limits) = parser(app, &parser_name).await?;
    let component = Arc::new(component);
    let fetched = match upload {
        Some(bytes) => fetch::Fetched {
            documents: vec![fetch::Document {
                format: spec.format.parser_format(),
                bytes,
                origin: "the uploaded document".into(),
            }],
            cursor: None,
            complete: true,
        },
        None => {
            let client = match &spec.ca_file {
                Some(f) => &fetch::client_with_ca(FETCH_TIMEOUT, f)?,
                None => &app.feeds.http,
            };
            fetch::fetch(client, spec, cursor).await?
        }
    };
    let mut report = FetchReport {
        documents: fetched.documents.len(),
        parsed: 0,
        negated: 0,
        unsupported: BTreeMap::new(),
        ingest: IngestReport::default(),
    };
    let mut items = Vec::new();
    for doc in fetched.documents {
        let out = parse_blocking(
            &app.feeds.sandbox,
            &parser_name,
            Arc::clone(&component),
            limits,
            doc.format,
            doc.bytes,
        )
        .await
        .map_err(|e| format!("{}: {e}", doc.origin))?;
        report.parsed += out.indicators.len();
        for (k, n) in out.unsupported {
            *report.unsupported.entry(k).or_default() += u64::from(n);
        }
        items.extend(to_new(
            out.indicators,
            spec.default_confidence,
            &mut report.negated,
        ));
    }
    report.ingest = app
        .store
        .ingest(
            &spec.key(),
            spec.tenant.as_deref().unwrap_or(""),
            items,
            fetched.complete,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok((report, fetched.cursor))
}

/// All stored feeds.
pub async fn all(app: &App) -> Result<Vec<FeedSpec>, String> {
    let rows = app
        .store
        .list("feed", None)
        .await
        .map_err(|e| e.to_string())?;
    rows.into_iter()
        .map(|r| {
            serde_json::from_value::<FeedSpec>(r.body)
                .map_err(|e| format!("stored feed '{}': {e}", r.name))
        })
        .collect()
}

/// Fetches each enabled feed when its interval has passed since its last attempt, and once a
/// minute removes indicators whose validity ended. Runs until the manager stops.
pub fn spawn_scheduler(app: Arc<App>, stopped: Arc<std::sync::atomic::AtomicBool>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let running: Arc<parking_lot::Mutex<std::collections::HashSet<String>>> =
            Default::default();
        let mut ticks: u64 = 0;
        // Feeds whose interval gauge is set.
        let mut scheduled = std::collections::HashSet::<String>::new();
        loop {
            tick.tick().await;
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            ticks += 1;
            if ticks.is_multiple_of(EXPIRY_SWEEP_TICKS) {
                match app.store.expire_indicators(now_ms()).await {
                    Ok(Some(v)) => app.published(v),
                    Ok(None) => {}
                    Err(e) => tracing::warn!("expiring indicators: {e}"),
                }
            }
            let feeds = match all(&app).await {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!("feed scheduler: {e}");
                    continue;
                }
            };
            let now = now_ms();
            let mut scheduled_now = std::collections::HashSet::new();
            for spec in feeds {
                let Some(every) = spec.interval().filter(|_| spec.enabled) else {
                    continue;
                };
                let key = spec.key();
                scheduled_now.insert(key.clone());
                app.metrics
                    .feed_interval
                    .with_label_values(&[key.as_str()])
                    .set(every.as_secs() as i64);
                if running.lock().contains(&key) {
                    continue;
                }
                let last = match app.store.feed_status(&key).await {
                    Ok(s) => {
                        // From the store, so a restarted manager shows the age of the last
                        // success before its own first fetch.
                        if let Some(ok) = s.last_success {
                            app.metrics
                                .feed_last_success
                                .with_label_values(&[key.as_str()])
                                .set(ok / 1000);
                        }
                        s.last_attempt
                    }
                    Err(_) => continue,
                };
                if last.is_some_and(|l| now - l < every.as_millis() as i64) {
                    continue;
                }
                running.lock().insert(key.clone());
                let app = Arc::clone(&app);
                let running = Arc::clone(&running);
                tokio::spawn(async move {
                    let _ = run(&app, &spec, None).await;
                    running.lock().remove(&key);
                });
            }
            // A feed deleted, disabled or made manual-only is no longer stale.
            for gone in scheduled.difference(&scheduled_now) {
                let _ = app
                    .metrics
                    .feed_interval
                    .remove_label_values(&[gone.as_str()]);
                let _ = app
                    .metrics
                    .feed_last_success
                    .remove_label_values(&[gone.as_str()]);
            }
            scheduled = scheduled_now;
        }
    });
}

/// Registers the built-in parsers that are not registered yet.
pub async fn seed_builtin(app: &Arc<App>) -> anyhow::Result<()> {
    let known: Vec<String> = app
        .store
        .plugin_states()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    for (name, bytes, manifest) in builtin_parsers() {
        if known.iter().any(|k| k == name) {
            continue;
        }
        crate::register(
            app,
            name,
            bytes.to_vec(),
            manifest.as_bytes(),
            &format!("built-in {name}"),
        )
        .await?;
        tracing::info!(plugin = name, "built-in feed parser registered");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("manual"), Ok(None));
        assert_eq!(parse_interval("30s"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(parse_interval("15m"), Ok(Some(Duration::from_secs(900))));
        assert_eq!(parse_interval("2d"), Ok(Some(Duration::from_secs(172_800))));
        assert!(parse_interval("5s").is_err());
        assert!(parse_interval("1w").is_err());
        assert!(parse_interval("h").is_err());
    }

    #[test]
    fn secrets_are_redacted_and_kept() {
        let stored: FeedSpec = serde_json::from_value(serde_json::json!({
            "name": "f", "format": "stix",
            "taxii": {"url": "http://127.0.0.1:1/taxii2/", "collection": "c",
                      "auth": {"username": "u", "password": "secret"}}
        }))
        .unwrap();
        let shown = stored.redacted();
        assert_eq!(
            shown.taxii.as_ref().unwrap().auth.password.as_deref(),
            Some(REDACTED)
        );
        let mut back = shown.clone();
        back.keep_secrets(&stored);
        assert_eq!(back, stored);
    }

    #[test]
    fn validation_names_the_field() {
        let bad = |v: Value| -> String {
            let s: FeedSpec = serde_json::from_value(v).unwrap();
            s.validate().unwrap_err().field.unwrap()
        };
        use serde_json::json;
        assert_eq!(bad(json!({"name": "f", "format": "stix"})), "url");
        assert_eq!(
            bad(json!({"name": "f", "format": "stix", "url": "ftp://x/y"})),
            "url"
        );
        assert_eq!(
            bad(
                json!({"name": "f", "format": "misp", "taxii": {"url": "http://h/taxii2/", "collection": "c"}})
            ),
            "format"
        );
        assert_eq!(
            bad(json!({"name": "f", "format": "stix", "url": "http://h/x", "interval": "1s"})),
            "interval"
        );
        assert_eq!(
            bad(
                json!({"name": "f", "format": "stix", "url": "http://h/x", "default_confidence": 101})
            ),
            "default_confidence"
        );
        assert_eq!(
            bad(
                json!({"name": "f", "format": "stix", "url": "http://h/x", "auth": {"password": "p"}})
            ),
            "auth"
        );
    }
}
