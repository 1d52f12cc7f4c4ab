//! The threat-intelligence part of the REST API: feeds, indicators, the gateways' change
//! stream, and per-tenant bypass rules.
//!
//! Feed names are unique across the manager. A global feed (no `tenant`) is read by every
//! role but the cluster key and written by admins; a tenant's feed is read and written like the
//! tenant's other resources.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use articdbm_config::threat::Bypass;

use super::store::IndicatorFilter;
use super::{FeedSpec, all};
use crate::api::{ApiError, ApiResult, App, Body, ok, tenant_exists};
use crate::auth::{Caller, Role};

/// Largest feed document uploaded through the API.
pub const MAX_DOCUMENT: usize = 64 << 20;
/// The resource kind and name of a tenant's bypass rules.
pub const BYPASS_KIND: &str = "threat-bypass";
const BYPASS_NAME: &str = "bypass";
/// Entries per bypass list at most.
const MAX_BYPASS: usize = 10_000;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/feeds", get(list_feeds).post(create_feed))
        .route(
            "/feeds/{name}",
            get(get_feed).put(put_feed).delete(delete_feed),
        )
        .route("/feeds/{name}/fetch", post(fetch_feed))
        .route(
            "/feeds/{name}/document",
            post(upload_document).layer(DefaultBodyLimit::max(MAX_DOCUMENT)),
        )
        .route("/indicators", get(list_indicators))
        .route("/indicators/changes", get(indicator_changes))
        .route(
            "/tenants/{tenant}/threat-bypass",
            get(get_bypass).put(put_bypass).delete(delete_bypass),
        )
}

fn internal(e: String) -> ApiError {
    ApiError::internal(e)
}

/// Whether the caller may see a feed of `tenant` (None: global).
fn can_read(caller: &Caller, tenant: Option<&str>) -> bool {
    match tenant {
        None => caller.role != Role::Gateway,
        Some(t) => caller.can_read_tenant(t),
    }
}

fn check_write(caller: &Caller, tenant: Option<&str>) -> Result<(), ApiError> {
    match tenant {
        None => caller.require(&[Role::Admin]),
        Some(t) => caller.write_tenant(t),
    }
}

async fn feed_json(app: &App, spec: &FeedSpec) -> Result<Value, ApiError> {
    let key = spec.key();
    let status = app.store.feed_status(&key).await.map_err(ApiError::store)?;
    let mut v = serde_json::to_value(spec.redacted()).map_err(|e| internal(e.to_string()))?;
    v["key"] = Value::String(key);
    v["parser"] = Value::String(spec.parser_name().to_string());
    v["status"] = serde_json::to_value(status).map_err(|e| internal(e.to_string()))?;
    Ok(v)
}

/// The feed named `name` if the caller may see it (else 404, so names do not leak).
async fn find(app: &App, caller: &Caller, name: &str) -> Result<FeedSpec, ApiError> {
    if caller.role == Role::Gateway {
        return Err(ApiError::forbidden("the cluster key only reads snapshots"));
    }
    all(app)
        .await
        .map_err(internal)?
        .into_iter()
        .find(|f| f.name == name && can_read(caller, f.tenant.as_deref()))
        .ok_or_else(|| ApiError::not_found(format!("feed '{name}' not found")))
}

async fn list_feeds(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    if caller.role == Role::Gateway {
        return Err(ApiError::forbidden("the cluster key only reads snapshots"));
    }
    let mut items = Vec::new();
    for f in all(&app).await.map_err(internal)? {
        if can_read(&caller, f.tenant.as_deref()) {
            items.push(feed_json(&app, &f).await?);
        }
    }
    ok(StatusCode::OK, json!({ "items": items }))
}

async fn get_feed(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    let f = find(&app, &caller, &name).await?;
    ok(StatusCode::OK, feed_json(&app, &f).await?)
}

/// Validates a feed against the store: its tenant exists and its parser is a registered
/// feed-parser component.
async fn validate(app: &App, caller: &Caller, spec: &FeedSpec) -> Result<(), ApiError> {
    spec.validate()?;
    if let Some(t) = &spec.tenant {
        tenant_exists(app, caller, t).await?;
    }
    check_write(caller, spec.tenant.as_deref())?;
    let parser = spec.parser_name();
    let active = app.store.active_plugins().await.map_err(ApiError::store)?;
    match active.iter().find(|p| p.name == parser) {
        Some(p) if p.manifest.get("world").and_then(Value::as_str) == Some("feed-parser") => Ok(()),
        Some(_) => Err(ApiError::bad(
            "parser",
            format!("plugin '{parser}' is not a feed-parser component"),
        )),
        None => Err(ApiError::bad(
            "parser",
            format!("no enabled feed-parser plugin named '{parser}'"),
        )),
    }
}

async fn save(app: &App, caller: &Caller, spec: &FeedSpec) -> Result<(bool, i64), ApiError> {
    let tenant = spec.tenant.clone().unwrap_or_default();
    let body = serde_json::to_value(spec).map_err(|e| internal(e.to_string()))?;
    let (created, v) = app
        .store
        .put("feed", &tenant, &spec.name, &body)
        .await
        .map_err(ApiError::store)?;
    app.published(v);
    let action = if created {
        "feed.create"
    } else {
        "feed.update"
    };
    app.record(caller, &tenant, action, &spec.name).await;
    Ok((created, v))
}

async fn create_feed(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(mut spec): Body<FeedSpec>,
) -> ApiResult {
    caller.require(&[Role::Admin, Role::TenantAdmin])?;
    if caller.role == Role::TenantAdmin && spec.tenant.is_none() {
        // A tenant-admin's feeds are its tenant's.
        spec.tenant = caller.tenant.clone();
    }
    validate(&app, &caller, &spec).await?;
    if all(&app)
        .await
        .map_err(internal)?
        .iter()
        .any(|f| f.name == spec.name)
    {
        return Err(ApiError::conflict(format!(
            "feed '{}' exists; PUT /api/v1/feeds/{} replaces it",
            spec.name, spec.name
        )));
    }
    save(&app, &caller, &spec).await?;
    ok(StatusCode::CREATED, feed_json(&app, &spec).await?)
}

async fn put_feed(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    Body(mut spec): Body<FeedSpec>,
) -> ApiResult {
    caller.require(&[Role::Admin, Role::TenantAdmin])?;
    if spec.name != name {
        return Err(ApiError::bad(
            "name",
            format!("the body names feed '{}' but the path '{name}'", spec.name),
        ));
    }
    let existing = all(&app)
        .await
        .map_err(internal)?
        .into_iter()
        .find(|f| f.name == name);
    if let Some(old) = &existing {
        if !can_read(&caller, old.tenant.as_deref()) {
            return Err(ApiError::conflict(format!(
                "the feed name '{name}' is taken"
            )));
        }
        if caller.role == Role::TenantAdmin && spec.tenant.is_none() {
            spec.tenant = caller.tenant.clone();
        }
        if old.tenant != spec.tenant {
            return Err(ApiError::bad(
                "tenant",
                "a feed's tenant cannot change: delete it and create it again",
            ));
        }
        check_write(&caller, old.tenant.as_deref())?;
        spec.keep_secrets(old);
    } else if caller.role == Role::TenantAdmin && spec.tenant.is_none() {
        spec.tenant = caller.tenant.clone();
    }
    validate(&app, &caller, &spec).await?;
    let (created, _) = save(&app, &caller, &spec).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    ok(status, feed_json(&app, &spec).await?)
}

async fn delete_feed(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    let f = find(&app, &caller, &name).await?;
    check_write(&caller, f.tenant.as_deref())?;
    let tenant = f.tenant.clone().unwrap_or_default();
    if let Some(v) = app
        .store
        .delete("feed", &tenant, &name)
        .await
        .map_err(ApiError::store)?
    {
        app.published(v);
    }
    if let Some(v) = app
        .store
        .drop_feed_indicators(&f.key())
        .await
        .map_err(ApiError::store)?
    {
        app.published(v);
    }
    app.record(&caller, &tenant, "feed.delete", &name).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn run_and_report(
    app: &App,
    caller: &Caller,
    spec: &FeedSpec,
    upload: Option<Vec<u8>>,
) -> ApiResult {
    let action = if upload.is_some() {
        "feed.upload"
    } else {
        "feed.fetch"
    };
    let tenant = spec.tenant.clone().unwrap_or_default();
    match super::run(app, spec, upload).await {
        Ok(report) => {
            app.record(caller, &tenant, action, &spec.name).await;
            ok(
                StatusCode::OK,
                json!({ "feed": spec.key(), "report": report }),
            )
        }
        Err(e) => Err(ApiError::new(StatusCode::BAD_GATEWAY, "feed_failed", e)),
    }
}

async fn fetch_feed(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    let f = find(&app, &caller, &name).await?;
    check_write(&caller, f.tenant.as_deref())?;
    run_and_report(&app, &caller, &f, None).await
}

async fn upload_document(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult {
    let f = find(&app, &caller, &name).await?;
    check_write(&caller, f.tenant.as_deref())?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("document larger than {MAX_DOCUMENT} bytes"),
            )
        } else {
            ApiError::bad("body", e.body_text())
        }
    })?;
    if f.format == super::Format::MispFeed {
        return Err(ApiError::bad(
            "format",
            "a MISP feed directory cannot be uploaded as one document; upload events to a `misp` feed",
        ));
    }
    run_and_report(&app, &caller, &f, Some(body.to_vec())).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorQuery {
    feed: Option<String>,
    kind: Option<String>,
    value: Option<String>,
    id: Option<String>,
    tenant: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

async fn list_indicators(
    State(app): State<Arc<App>>,
    caller: Caller,
    q: Result<Query<IndicatorQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let tenant = caller.read_scope(q.tenant, "the cluster key reads /api/v1/indicators/changes")?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit", "limit is 1 to 1000"));
    }
    if let Some(k) = &q.kind
        && !articdbm_config::threat::KINDS.contains(&k.as_str())
    {
        return Err(ApiError::bad(
            "kind",
            format!(
                "'{k}' is not an indicator kind: {}",
                articdbm_config::threat::KINDS.join(", ")
            ),
        ));
    }
    let rows = app
        .store
        .indicators(&IndicatorFilter {
            feed: q.feed,
            kind: q.kind,
            value: q.value,
            id: q.id,
            tenant,
            after: q.after,
            limit,
        })
        .await
        .map_err(ApiError::store)?;
    let next = if rows.len() as i64 == limit {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    ok(StatusCode::OK, json!({ "items": rows, "next": next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn indicator_changes(
    State(app): State<Arc<App>>,
    caller: Caller,
    q: Result<Query<ChangesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    caller.require(&[Role::Gateway, Role::Admin])?;
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad(
            "after",
            "after is a sequence number, 0 or more",
        ));
    }
    let limit = q.limit.unwrap_or(20_000);
    if !(1..=100_000).contains(&limit) {
        return Err(ApiError::bad("limit", "limit is 1 to 100000"));
    }
    let page = app
        .store
        .indicator_changes(after, limit)
        .await
        .map_err(ApiError::store)?;
    ok(
        StatusCode::OK,
        serde_json::to_value(page).map_err(|e| internal(e.to_string()))?,
    )
}

/// Checks bypass rules: addresses are IPs or CIDRs, names and ids non-empty, lists bounded.
pub fn validate_bypass(b: &Bypass) -> Result<(), ApiError> {
    for (field, list) in [
        ("addresses", &b.addresses),
        ("users", &b.users),
        ("indicators", &b.indicators),
    ] {
        if list.len() > MAX_BYPASS {
            return Err(ApiError::bad(
                field,
                format!("at most {MAX_BYPASS} entries"),
            ));
        }
        for (i, v) in list.iter().enumerate() {
            let at = format!("{field}[{i}]");
            if v.trim().is_empty() || v.len() > 1024 {
                return Err(ApiError::bad(&at, "entries are 1 to 1024 bytes"));
            }
            if field == "addresses"
                && v.parse::<std::net::IpAddr>().is_err()
                && v.parse::<ipnet::IpNet>().is_err()
            {
                return Err(ApiError::bad(
                    &at,
                    format!("'{v}' is not an IP address or CIDR block"),
                ));
            }
        }
    }
    Ok(())
}

async fn get_bypass(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    tenant_exists(&app, &caller, &tenant).await?;
    let r = app
        .store
        .get(BYPASS_KIND, &tenant, BYPASS_NAME)
        .await
        .map_err(ApiError::store)?;
    ok(
        StatusCode::OK,
        r.map(|r| r.body)
            .unwrap_or_else(|| json!({"addresses": [], "users": [], "indicators": []})),
    )
}

async fn put_bypass(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Body(b): Body<Bypass>,
) -> ApiResult {
    tenant_exists(&app, &caller, &tenant).await?;
    caller.write_tenant(&tenant)?;
    validate_bypass(&b)?;
    let body = serde_json::to_value(&b).map_err(|e| internal(e.to_string()))?;
    let (_, v) = app
        .store
        .put(BYPASS_KIND, &tenant, BYPASS_NAME, &body)
        .await
        .map_err(ApiError::store)?;
    app.published(v);
    app.record(&caller, &tenant, "threat-bypass.update", BYPASS_NAME)
        .await;
    ok(StatusCode::OK, body)
}

async fn delete_bypass(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    tenant_exists(&app, &caller, &tenant).await?;
    caller.write_tenant(&tenant)?;
    if let Some(v) = app
        .store
        .delete(BYPASS_KIND, &tenant, BYPASS_NAME)
        .await
        .map_err(ApiError::store)?
    {
        app.published(v);
        app.record(&caller, &tenant, "threat-bypass.delete", BYPASS_NAME)
            .await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
