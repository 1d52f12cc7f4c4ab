//! The REST API under `/api/v1/` (see [`crate::openapi::ROUTES`] for the list), plus
//! `/healthz` and `/metrics`.
//!
//! Every error is JSON: `{"error": {"code": "...", "message": "...", "field": "..."}}` with a
//! 4xx status for bad input (the field named when there is one) and 5xx only for the
//! manager's own failures. Writes are validated completely before anything is stored.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth::{Caller, Role, generate_key, hash_key, random_id};
use crate::metrics::ManagerMetrics;
use crate::store::{ApiKeyRow, AuditEvent, AuditFilter, GatewayRow, Store, StoreError, now_ms};
use crate::validate;

/// Largest JSON or pack body.
pub const MAX_BODY: usize = 1 << 20;
/// Largest plugin upload (component plus manifest).
pub const MAX_UPLOAD: usize = 32 << 20;
/// Longest a snapshot long-poll waits.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Shared state of the service.
pub struct App {
    pub store: Store,
    pub metrics: ManagerMetrics,
    /// The latest snapshot version; long-polls wait on it.
    pub version: tokio::sync::watch::Sender<i64>,
    /// Compiles uploaded components to check them against the WIT world.
    pub validator: validate::ComponentValidator,
    /// Tells other replicas (through Redis) of this one's changes.
    pub publisher: Option<crate::notify::Publisher>,
    /// Threat feeds: the parser sandbox, the HTTP client, per-feed fetch locks.
    pub feeds: crate::feeds::Feeds,
    /// Wrong API keys per source address.
    pub auth_limiter: crate::auth::FailureLimiter,
    /// `--allow-plaintext-secrets`: snapshots carry backend passwords over plain HTTP from
    /// other hosts too (a private network the operator vouches for).
    pub plaintext_secrets: bool,
    /// Gateway decisions as they arrive, for `GET /api/v1/events`.
    pub live: crate::console::Live,
    /// Runs `POST /api/v1/packs/{name}/try`.
    pub trial: crate::console::Trial,
}

impl App {
    pub(crate) fn published(&self, v: i64) {
        crate::notify::raise(&self.version, v);
        self.metrics.snapshot_version.set(v);
        if let Some(p) = &self.publisher {
            p.publish(v);
        }
    }

    pub(crate) async fn record(&self, caller: &Caller, tenant: &str, action: &str, target: &str) {
        let e = AuditEvent {
            id: random_id(16),
            at: now_ms(),
            tenant: tenant.to_string(),
            actor: caller.actor(),
            action: action.to_string(),
            target: target.to_string(),
            verdict: "ok".into(),
            detail: Value::Null,
        };
        if let Err(e) = self.store.insert_audit(&[e]).await {
            tracing::error!("audit event not stored: {e}");
        }
    }
}

// ---------------------------------------------------------------- errors

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }
    pub fn bad(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.to_string()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid", message)
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
    pub fn store(e: StoreError) -> Self {
        tracing::error!("{e}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            e.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({"code": self.code, "message": self.message});
        if let Some(f) = self.field {
            err["field"] = Value::String(f);
        }
        let mut resp = (self.status, Json(json!({ "error": err }))).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(s));
        }
        resp
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn ok(status: StatusCode, v: Value) -> ApiResult {
    Ok((status, Json(v)).into_response())
}

/// A JSON body whose errors are JSON and name the field.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("request body larger than {MAX_BODY} bytes"),
                )
            } else {
                ApiError::bad("body", e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes).map(Body).map_err(json_error)
    }
}

fn json_error(e: serde_json::Error) -> ApiError {
    let msg = e.to_string();
    let field = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| {
            let i = msg.find(p)? + p.len();
            let j = msg[i..].find('`')?;
            Some(msg[i..i + j].to_string())
        })
        .unwrap_or_else(|| "body".into());
    ApiError::bad(&field, format!("invalid JSON body: {msg}"))
}

// ---------------------------------------------------------------- router

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", axum::routing::delete(revoke_key))
        .route("/tenants", get(list_tenants).post(create_tenant))
        .route("/tenants/{tenant}", get(get_tenant).delete(delete_tenant))
        .route("/tenants/{tenant}/usage", get(tenant_usage))
        .route("/tenants/{tenant}/users", get(list_users).post(create_user))
        .route(
            "/tenants/{tenant}/users/{name}",
            get(get_user).put(put_user).delete(delete_user),
        )
        .route(
            "/tenants/{tenant}/users/{name}/tokens",
            get(list_tokens).post(create_token),
        )
        .route(
            "/tenants/{tenant}/users/{name}/tokens/{id}",
            axum::routing::delete(revoke_token),
        )
        .route(
            "/tenants/{tenant}/permissions",
            get(list_permissions).post(create_permission),
        )
        .route(
            "/tenants/{tenant}/permissions/{id}",
            axum::routing::delete(delete_permission),
        )
        .route(
            "/tenants/{tenant}/databases",
            get(list_databases).post(create_database),
        )
        .route(
            "/tenants/{tenant}/databases/{name}",
            get(get_database).put(put_database).delete(delete_database),
        )
        .route("/packs", get(list_packs))
        .route(
            "/packs/{name}",
            get(get_pack).put(put_pack).delete(delete_pack),
        )
        .route(
            "/plugins",
            get(list_plugins)
                .post(upload_plugin)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/plugins/{name}", get(get_plugin))
        .route("/plugins/{name}/enable", post(enable_plugin))
        .route("/plugins/{name}/disable", post(disable_plugin))
        .route("/plugins/{name}/rollback", post(rollback_plugin))
        .route("/gateways", get(list_gateways))
        .route("/gateways/heartbeat", post(heartbeat))
        .route("/snapshot", get(snapshot))
        .route("/artifacts/{sha256}", get(artifact))
        .route("/audit", get(query_audit).post(upload_audit))
        .route("/openapi.json", get(openapi))
        .merge(crate::feeds::api::routes())
        .merge(crate::console::routes());
    Router::new()
        .nest("/api/v1", api)
        .merge(crate::console::ui_routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::metrics::count_requests,
        ))
        .with_state(app)
}

/// Headers on every response: nothing the manager answers is to be sniffed into another type,
/// framed, cached, or followed by a Referer, and no document it serves may load anything.
async fn security_headers(mut resp: Response) -> Response {
    use axum::http::HeaderValue;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
        (
            axum::http::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    resp
}

async fn no_route() -> ApiError {
    ApiError::not_found("no such route; see /api/v1/openapi.json")
}

async fn healthz(State(app): State<Arc<App>>) -> ApiResult {
    match app.store.ping().await {
        Ok(()) => ok(
            StatusCode::OK,
            json!({"status": "ok", "snapshot_version": *app.version.borrow()}),
        ),
        Err(e) => Err(ApiError::store(e)),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

// ---------------------------------------------------------------- keys

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    role: String,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn key_json(k: &ApiKeyRow) -> Value {
    json!({"id": k.id, "role": k.role, "tenant": k.tenant, "name": k.name,
           "created_at": k.created_at, "revoked_at": k.revoked_at})
}

async fn list_keys(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    caller.require(&[Role::Admin])?;
    let keys = app.store.keys().await.map_err(ApiError::store)?;
    ok(
        StatusCode::OK,
        json!({"items": keys.iter().map(key_json).collect::<Vec<_>>()}),
    )
}

async fn create_key(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(k): Body<NewKey>,
) -> ApiResult {
    caller.require(&[Role::Admin])?;
    let role = Role::parse(&k.role).ok_or_else(|| {
        ApiError::bad(
            "role",
            format!(
                "unknown role '{}': admin, tenant-admin, auditor or gateway",
                k.role
            ),
        )
    })?;
    match (role, &k.tenant) {
        (Role::TenantAdmin, None) => {
            return Err(ApiError::bad("tenant", "a tenant-admin key needs a tenant"));
        }
        (Role::TenantAdmin, Some(t))
            if app
                .store
                .get("tenant", "", t)
                .await
                .map_err(ApiError::store)?
                .is_none() =>
        {
            return Err(ApiError::bad(
                "tenant",
                format!("tenant '{t}' does not exist"),
            ));
        }
        (Role::TenantAdmin, Some(_)) => {}
        (_, Some(_)) => {
            return Err(ApiError::bad(
                "tenant",
                "only tenant-admin keys belong to a tenant",
            ));
        }
        _ => {}
    }
    let key = generate_key();
    let row = ApiKeyRow {
        id: random_id(8),
        role: role.as_str().into(),
        tenant: k.tenant.clone(),
        name: k.name.unwrap_or_default(),
        created_at: now_ms(),
        revoked_at: None,
    };
    app.store
        .insert_key(&row, &hash_key(&key))
        .await
        .map_err(ApiError::store)?;
    app.record(
        &caller,
        k.tenant.as_deref().unwrap_or(""),
        "key.create",
        &row.id,
    )
    .await;
    let mut v = key_json(&row);
    v["key"] = Value::String(key);
    ok(StatusCode::CREATED, v)
}

async fn revoke_key(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    caller.require(&[Role::Admin])?;
    if !app.store.revoke_key(&id).await.map_err(ApiError::store)? {
        return Err(ApiError::not_found(format!("no live key with id '{id}'")));
    }
    app.record(&caller, "", "key.revoke", &id).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- tenants

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenant {
    name: String,
    #[serde(default)]
    description: String,
}

fn tenant_json(r: &crate::store::Resource) -> Value {
    json!({"name": r.name, "description": r.body.get("description").cloned().unwrap_or(Value::Null),
           "created_at": r.created_at})
}

async fn list_tenants(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    let all = app
        .store
        .list("tenant", Some(""))
        .await
        .map_err(ApiError::store)?;
    let items: Vec<Value> = all
        .iter()
        .filter(|t| caller.can_read_tenant(&t.name))
        .map(tenant_json)
        .collect();
    if caller.role == Role::Gateway {
        return Err(ApiError::forbidden("the cluster key only reads snapshots"));
    }
    ok(StatusCode::OK, json!({ "items": items }))
}

async fn create_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(t): Body<NewTenant>,
) -> ApiResult {
    caller.require(&[Role::Admin])?;
    validate::name("name", &t.name)?;
    if app
        .store
        .get("tenant", "", &t.name)
        .await
        .map_err(ApiError::store)?
        .is_some()
    {
        return Err(ApiError::conflict(format!("tenant '{}' exists", t.name)));
    }
    let (_, v) = app
        .store
        .put(
            "tenant",
            "",
            &t.name,
            &json!({"description": t.description}),
        )
        .await
        .map_err(ApiError::store)?;
    app.published(v);
    app.record(&caller, &t.name, "tenant.create", &t.name).await;
    let r = app
        .store
        .get("tenant", "", &t.name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::internal("tenant vanished"))?;
    ok(StatusCode::CREATED, tenant_json(&r))
}

pub(crate) async fn tenant_exists(
    app: &App,
    caller: &Caller,
    tenant: &str,
) -> Result<(), ApiError> {
    caller.read_tenant(tenant)?;
    match app
        .store
        .get("tenant", "", tenant)
        .await
        .map_err(ApiError::store)?
    {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!("tenant '{tenant}' not found"))),
    }
}

async fn get_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    caller.read_tenant(&tenant)?;
    let r = app
        .store
        .get("tenant", "", &tenant)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("tenant '{tenant}' not found")))?;
    ok(StatusCode::OK, tenant_json(&r))
}

async fn delete_tenant(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    caller.read_tenant(&tenant)?;
    caller.require(&[Role::Admin])?;
    // The tenant's feeds go with it, and so do their indicators.
    let feeds = app
        .store
        .list("feed", Some(&tenant))
        .await
        .map_err(ApiError::store)?;
    let v = app
        .store
        .delete("tenant", "", &tenant)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("tenant '{tenant}' not found")))?;
    app.published(v);
    for f in feeds {
        let key = crate::feeds::feed_key(Some(&tenant), &f.name);
        if let Some(v) = app
            .store
            .drop_feed_indicators(&key)
            .await
            .map_err(ApiError::store)?
        {
            app.published(v);
        }
    }
    app.record(&caller, &tenant, "tenant.delete", &tenant).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A tenant's connections, statements and refusals, summed over every gateway.
async fn tenant_usage(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    tenant_exists(&app, &caller, &tenant).await?;
    let [connections, queries, denials] =
        app.store.usage(&tenant).await.map_err(ApiError::store)?;
    ok(
        StatusCode::OK,
        json!({"tenant": tenant, "connections": connections, "queries": queries, "denials": denials}),
    )
}

// ---------------------------------------------------------------- gateway users

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    scram: Option<String>,
    /// MySQL verifiers given instead of a password (made from the password otherwise).
    #[serde(default)]
    mysql_native: Option<String>,
    #[serde(default)]
    mysql_sha2: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    databases: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
    /// Only over TLS.
    #[serde(default)]
    require_tls: bool,
    /// Client addresses or CIDRs the user may connect from; absent: any.
    #[serde(default)]
    allowed_networks: Option<Vec<String>>,
}

fn user_json(r: &crate::store::Resource) -> Value {
    let mut v = r.body.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("scram");
        o.remove("mysql_native");
        o.remove("mysql_sha2");
        o.insert("tenant".into(), Value::String(r.tenant.clone()));
        o.insert("created_at".into(), json!(r.created_at));
        o.insert("updated_at".into(), json!(r.updated_at));
    }
    v
}

async fn list_users(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    list_owned(&app, &caller, "user", &tenant, user_json).await
}

async fn get_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> ApiResult {
    get_owned(&app, &caller, "user", &tenant, &name, user_json).await
}

async fn create_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Body(u): Body<NewUser>,
) -> ApiResult {
    save_user(&app, &caller, &tenant, None, u).await
}

async fn put_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    Body(u): Body<NewUser>,
) -> ApiResult {
    save_user(&app, &caller, &tenant, Some(name), u).await
}

async fn save_user(
    app: &App,
    caller: &Caller,
    tenant: &str,
    path_name: Option<String>,
    u: NewUser,
) -> ApiResult {
    tenant_exists(app, caller, tenant).await?;
    caller.write_tenant(tenant)?;
    validate::user_name("name", &u.name)?;
    if let Some(p) = &path_name
        && p != &u.name
    {
        return Err(ApiError::bad(
            "name",
            format!("the body names '{}' but the path names '{p}'", u.name),
        ));
    }
    // Gateway users log in by name alone: a name belongs to one tenant.
    let existing = claim_name(app, "user", tenant, &u.name, path_name.is_some()).await?;
    let scram = match (&u.password, &u.scram) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "password",
                "give password or scram, not both",
            ));
        }
        (Some(p), None) => match existing
            .as_ref()
            .and_then(|e| e.body.get("scram").and_then(Value::as_str))
            .and_then(|s| articdbm_pgwire::auth::scram::ScramVerifier::parse(s).ok())
        {
            // The same password again keeps its verifier: re-applying changes nothing.
            Some(v) if v.verify_password(p.as_bytes()) => v.to_string(),
            _ => validate::scram_from_password(p)?,
        },
        (None, Some(s)) => validate::scram_verifier(s)?,
        (None, None) => match &existing {
            Some(e) if path_name.is_some() => e
                .body
                .get("scram")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            _ => return Err(ApiError::bad("password", "a new user needs a password")),
        },
    };
    // MySQL verifiers sit next to the SCRAM one: made from the password, given as they are,
    // or kept from the stored user when neither changes.
    let mysql = match (&u.password, &u.mysql_native, &u.mysql_sha2) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::bad(
                "password",
                "give password or MySQL verifiers (mysql_native, mysql_sha2), not both",
            ));
        }
        (Some(p), None, None) => Some(articdbm_config::MysqlVerifiers::from_password(p.as_bytes())),
        (None, None, None) => match &existing {
            Some(e) if path_name.is_some() && u.scram.is_none() => {
                articdbm_config::MysqlVerifiers::parse(
                    e.body.get("mysql_native").and_then(Value::as_str),
                    e.body.get("mysql_sha2").and_then(Value::as_str),
                )
                .ok()
                .filter(|v| v.native.is_some() || v.sha2.is_some())
            }
            _ => None,
        },
        (None, n, s) => Some(
            articdbm_config::MysqlVerifiers::parse(n.as_deref(), s.as_deref()).map_err(|e| {
                let field = e.split(':').next().unwrap_or("mysql_native").to_string();
                ApiError::bad(&field, e)
            })?,
        ),
    };
    if let Some(e) = &u.expires_at {
        validate::timestamp("expires_at", e)?;
    }
    for (i, r) in u.roles.iter().enumerate() {
        validate::user_name(&format!("roles[{i}]"), r)?;
    }
    let mut body = json!({"name": u.name, "scram": scram, "roles": u.roles,
                      "databases": u.databases, "expires_at": u.expires_at,
                      "require_tls": u.require_tls, "allowed_networks": u.allowed_networks});
    if let Some(m) = &mysql {
        if let Some(h) = m.native_hex() {
            body["mysql_native"] = Value::String(h);
        }
        if let Some(h) = m.sha2_hex() {
            body["mysql_sha2"] = Value::String(h);
        }
    }
    validate::user(&body)?;
    let (created, _) = commit_owned(app, caller, "user", tenant, &u.name, &body).await?;
    let r = app
        .store
        .get("user", tenant, &u.name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::internal("user vanished"))?;
    ok(saved_status(created), user_json(&r))
}

async fn delete_user(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> ApiResult {
    delete_owned(&app, &caller, "user", &tenant, &name).await
}

/// Checks that `name` of `kind` is free for `tenant` (names are unique across tenants) and,
/// for a POST (`replacing` false), not taken yet; returns the tenant's current one, if any.
async fn claim_name(
    app: &App,
    kind: &str,
    tenant: &str,
    name: &str,
    replacing: bool,
) -> Result<Option<crate::store::Resource>, ApiError> {
    let all = app.store.list(kind, None).await.map_err(ApiError::store)?;
    if all.iter().any(|o| o.name == name && o.tenant != tenant) {
        return Err(ApiError::conflict(format!(
            "the {kind} name '{name}' is taken"
        )));
    }
    let existing = all.into_iter().find(|o| o.name == name);
    if !replacing && existing.is_some() {
        return Err(ApiError::conflict(format!(
            "{kind} '{name}' exists; PUT /api/v1/tenants/{tenant}/{kind}s/{name} replaces it"
        )));
    }
    Ok(existing)
}

/// Stores a validated resource, wakes the long polls and audits the change; returns whether it
/// was created and the new snapshot version.
async fn commit_owned(
    app: &App,
    caller: &Caller,
    kind: &str,
    tenant: &str,
    name: &str,
    body: &Value,
) -> Result<(bool, i64), ApiError> {
    let (created, v) = app
        .store
        .put(kind, tenant, name, body)
        .await
        .map_err(ApiError::store)?;
    app.published(v);
    let action = format!("{kind}.{}", if created { "create" } else { "update" });
    app.record(caller, tenant, &action, name).await;
    Ok((created, v))
}

fn saved_status(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// A tenant's resources of one kind, rendered for the caller.
async fn list_owned(
    app: &App,
    caller: &Caller,
    kind: &str,
    tenant: &str,
    render: fn(&crate::store::Resource) -> Value,
) -> ApiResult {
    tenant_exists(app, caller, tenant).await?;
    let items = app
        .store
        .list(kind, Some(tenant))
        .await
        .map_err(ApiError::store)?;
    ok(
        StatusCode::OK,
        json!({"items": items.iter().map(render).collect::<Vec<_>>()}),
    )
}

async fn get_owned(
    app: &App,
    caller: &Caller,
    kind: &str,
    tenant: &str,
    name: &str,
    render: fn(&crate::store::Resource) -> Value,
) -> ApiResult {
    tenant_exists(app, caller, tenant).await?;
    let r = app
        .store
        .get(kind, tenant, name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("{kind} '{name}' not found")))?;
    ok(StatusCode::OK, render(&r))
}

async fn delete_owned(
    app: &App,
    caller: &Caller,
    kind: &str,
    tenant: &str,
    name: &str,
) -> ApiResult {
    tenant_exists(app, caller, tenant).await?;
    caller.write_tenant(tenant)?;
    let v = app
        .store
        .delete(kind, tenant, name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("{kind} '{name}' not found")))?;
    app.published(v);
    app.record(caller, tenant, &format!("{kind}.delete"), name)
        .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- permissions

/// The binding id under which a tenant's permissions reach gateways (reserved in packs).
pub const PERMISSIONS_BINDING: &str = "manager-permissions";

fn permission_json(r: &crate::store::Resource) -> Value {
    let mut v = r.body.clone();
    v["id"] = Value::String(r.name.clone());
    v["created_at"] = json!(r.created_at);
    v
}

async fn list_permissions(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    list_owned(&app, &caller, "permission", &tenant, permission_json).await
}

/// `POST .../permissions`: a grant of the `acl` plugin (users or roles, databases, tables,
/// actions, optional expiry or `effect = "deny"`). A tenant's permissions reach its gateways as
/// one `acl` binding with `default = "deny"`: once a tenant has permissions, what none of them
/// grants is refused.
async fn create_permission(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Body(grant): Body<Value>,
) -> ApiResult {
    tenant_exists(&app, &caller, &tenant).await?;
    caller.write_tenant(&tenant)?;
    if !grant.is_object() {
        return Err(ApiError::bad("body", "a permission is a JSON object"));
    }
    let plugins = app.store.active_plugins().await.map_err(ApiError::store)?;
    let acl = plugins.iter().find(|p| p.name == "acl").ok_or_else(|| {
        ApiError::conflict(
            "permissions need the acl plugin, which is not registered or is disabled",
        )
    })?;
    let m = articdbm_pack::PluginManifest::parse(&acl.manifest.to_string(), "acl")
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if let Err(v) = m.validate_config(&json!({"default": "deny", "grants": [grant]})) {
        let first = v.first().map(|v| v.to_string()).unwrap_or_default();
        return Err(ApiError::bad(
            "body",
            format!("not a valid acl grant: {first}"),
        ));
    }
    let id = random_id(8);
    let (_, v) = app
        .store
        .put("permission", &tenant, &id, &grant)
        .await
        .map_err(ApiError::store)?;
    app.published(v);
    app.record(&caller, &tenant, "permission.create", &id).await;
    let mut out = grant;
    out["id"] = Value::String(id);
    out["snapshot_version"] = json!(v);
    ok(StatusCode::CREATED, out)
}

async fn delete_permission(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult {
    delete_owned(&app, &caller, "permission", &tenant, &id).await
}

// ---------------------------------------------------------------- temporary access tokens

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// RFC 3339; default: one hour from now; at most 30 days ahead.
    #[serde(default)]
    expires_at: Option<String>,
    /// Logins allowed; default 1; `0` would be useless and is refused.
    #[serde(default)]
    max_uses: Option<u64>,
}

fn token_json(r: &crate::store::Resource) -> Value {
    json!({"id": r.body.get("id"), "user": r.body.get("user"), "expires_at": r.body.get("expires_at"),
           "max_uses": r.body.get("max_uses"), "created_at": r.created_at})
}

/// Tokens are stored under the key `USER/ID` so that a user's are listed together.
fn token_key(user: &str, id: &str) -> String {
    format!("{user}/{id}")
}

async fn list_tokens(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> ApiResult {
    tenant_exists(&app, &caller, &tenant).await?;
    let items: Vec<Value> = app
        .store
        .list("token", Some(&tenant))
        .await
        .map_err(ApiError::store)?
        .iter()
        .filter(|t| t.body.get("user").and_then(Value::as_str) == Some(name.as_str()))
        .map(token_json)
        .collect();
    ok(StatusCode::OK, json!({ "items": items }))
}

/// `POST .../users/{name}/tokens`: a temporary access token, usable as the user's password
/// over TLS (the gateway's `cleartext_password`) until it expires or is used up. Shown once;
/// only its SHA-256 is stored and distributed.
async fn create_token(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    Body(t): Body<NewToken>,
) -> ApiResult {
    tenant_exists(&app, &caller, &tenant).await?;
    caller.write_tenant(&tenant)?;
    if app
        .store
        .get("user", &tenant, &name)
        .await
        .map_err(ApiError::store)?
        .is_none()
    {
        return Err(ApiError::not_found(format!("user '{name}' not found")));
    }
    let now = now_ms();
    let expires_ms = match &t.expires_at {
        None => now + 3_600_000,
        Some(e) => {
            validate::timestamp("expires_at", e)?;
            articdbm_config::parse_rfc3339_ms(e).unwrap_or(0) as i64
        }
    };
    if expires_ms <= now {
        return Err(ApiError::bad("expires_at", "the expiry is in the past"));
    }
    if expires_ms > now + 30 * 86_400_000 {
        return Err(ApiError::bad(
            "expires_at",
            "a temporary token lives at most 30 days",
        ));
    }
    let max_uses = t.max_uses.unwrap_or(1);
    if max_uses == 0 {
        return Err(ApiError::bad("max_uses", "at least 1"));
    }
    let token = generate_key().replacen("adbm_", "adbt_", 1);
    let id = random_id(8);
    let expires_at = validate::rfc3339(expires_ms);
    let body = json!({"id": id, "user": name, "sha256": hash_key(&token),
                      "expires_at": expires_at, "max_uses": max_uses});
    let (_, v) = app
        .store
        .put("token", &tenant, &token_key(&name, &id), &body)
        .await
        .map_err(ApiError::store)?;
    app.published(v);
    app.record(&caller, &tenant, "token.create", &format!("{name}/{id}"))
        .await;
    ok(
        StatusCode::CREATED,
        json!({"id": id, "user": name, "token": token, "expires_at": expires_at,
               "max_uses": max_uses, "snapshot_version": v}),
    )
}

async fn revoke_token(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name, id)): Path<(String, String, String)>,
) -> ApiResult {
    delete_owned(&app, &caller, "token", &tenant, &token_key(&name, &id)).await
}

// ---------------------------------------------------------------- databases

async fn list_databases(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult {
    list_owned(&app, &caller, "database", &tenant, database_json).await
}

fn database_json(r: &crate::store::Resource) -> Value {
    let mut v = r.body.clone();
    if let Some(o) = v.as_object_mut()
        && o.contains_key("server_password")
    {
        o.insert("server_password".into(), Value::String("***".into()));
    }
    v
}

async fn get_database(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> ApiResult {
    get_owned(&app, &caller, "database", &tenant, &name, database_json).await
}

async fn create_database(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Body(d): Body<Value>,
) -> ApiResult {
    save_database(&app, &caller, &tenant, None, d).await
}

async fn put_database(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    Body(d): Body<Value>,
) -> ApiResult {
    save_database(&app, &caller, &tenant, Some(name), d).await
}

async fn save_database(
    app: &App,
    caller: &Caller,
    tenant: &str,
    path_name: Option<String>,
    mut d: Value,
) -> ApiResult {
    tenant_exists(app, caller, tenant).await?;
    caller.write_tenant(tenant)?;
    let Some(obj) = d.as_object_mut() else {
        return Err(ApiError::bad("body", "a database is a JSON object"));
    };
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad("name", "missing field `name`"))?
        .to_string();
    validate::name("name", &name)?;
    if let Some(p) = &path_name
        && p != &name
    {
        return Err(ApiError::bad(
            "name",
            format!("the body names '{name}' but the path names '{p}'"),
        ));
    }
    match obj.get("tenant") {
        None => {
            obj.insert("tenant".into(), Value::String(tenant.to_string()));
        }
        Some(Value::String(t)) if t == tenant => {}
        Some(_) => {
            return Err(ApiError::bad(
                "tenant",
                format!("the database belongs to the tenant in the path, '{tenant}'"),
            ));
        }
    }
    validate::database(&d)?;
    // Clients connect by database name alone: a name belongs to one tenant.
    claim_name(app, "database", tenant, &name, path_name.is_some()).await?;
    let (created, _) = commit_owned(app, caller, "database", tenant, &name, &d).await?;
    ok(
        saved_status(created),
        database_json(&crate::store::Resource {
            kind: "database".into(),
            tenant: tenant.into(),
            name,
            body: d,
            created_at: 0,
            updated_at: 0,
        }),
    )
}

async fn delete_database(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> ApiResult {
    delete_owned(&app, &caller, "database", &tenant, &name).await
}

// ---------------------------------------------------------------- packs

fn pack_json(r: &crate::store::Resource) -> Value {
    json!({"name": r.name, "tenant": if r.tenant.is_empty() { Value::Null } else { Value::String(r.tenant.clone()) },
           "kind": r.body.get("kind"), "mode": r.body.get("mode"),
           "toml": r.body.get("toml"), "updated_at": r.updated_at})
}

async fn all_packs(app: &App) -> Result<Vec<crate::store::Resource>, ApiError> {
    app.store.list("pack", None).await.map_err(ApiError::store)
}

async fn list_packs(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    if caller.role == Role::Gateway {
        return Err(ApiError::forbidden("the cluster key only reads snapshots"));
    }
    let items: Vec<Value> = all_packs(&app)
        .await?
        .iter()
        .filter(|p| p.tenant.is_empty() || caller.can_read_tenant(&p.tenant))
        .map(pack_json)
        .collect();
    ok(StatusCode::OK, json!({ "items": items }))
}

async fn find_pack(
    app: &App,
    caller: &Caller,
    name: &str,
) -> Result<crate::store::Resource, ApiError> {
    if caller.role == Role::Gateway {
        return Err(ApiError::forbidden("the cluster key only reads snapshots"));
    }
    all_packs(app)
        .await?
        .into_iter()
        .find(|p| p.name == name && (p.tenant.is_empty() || caller.can_read_tenant(&p.tenant)))
        .ok_or_else(|| ApiError::not_found(format!("pack '{name}' not found")))
}

async fn get_pack(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    let p = find_pack(&app, &caller, &name).await?;
    ok(StatusCode::OK, pack_json(&p))
}

/// A pack body checked completely, as `PUT` stores it: its text, the pack and its tenant
/// (empty for the baseline). With `write`, the caller must be allowed to store it; without
/// (a dry run or a trial, which store nothing), to read what it belongs to.
pub(crate) async fn checked_pack(
    app: &App,
    caller: &Caller,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
    write: bool,
) -> Result<(String, articdbm_pack::Pack, String), ApiError> {
    if caller.role == Role::Gateway || (write && caller.role == Role::Auditor) {
        return Err(ApiError::forbidden(format!(
            "the role {} cannot change anything",
            caller.role.as_str()
        )));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text = validate::pack_text(body, is_json)?;
    let pack = validate::parse_pack(&text, name)?;
    if pack.name != name {
        return Err(ApiError::bad(
            "name",
            format!(
                "the pack is named '{}' but the path names '{name}'",
                pack.name
            ),
        ));
    }
    let tenant = pack.tenant.clone().unwrap_or_default();
    match pack.kind {
        articdbm_pack::PackKind::Baseline if write => caller.require(&[Role::Admin])?,
        articdbm_pack::PackKind::Baseline => caller.require(&[Role::Admin, Role::Auditor])?,
        articdbm_pack::PackKind::Tenant => {
            tenant_exists(app, caller, &tenant).await?;
            if write {
                caller.write_tenant(&tenant)?;
            } else {
                caller.read_tenant(&tenant)?;
            }
        }
    }
    let packs = all_packs(app).await?;
    if let Some(other) = packs.iter().find(|p| p.name == name && p.tenant != tenant) {
        if other.tenant.is_empty() || caller.can_read_tenant(&other.tenant) {
            return Err(ApiError::conflict(format!(
                "pack '{name}' belongs to {}",
                if other.tenant.is_empty() {
                    "the baseline".to_string()
                } else {
                    format!("tenant '{}'", other.tenant)
                }
            )));
        }
        return Err(ApiError::conflict(format!(
            "the pack name '{name}' is taken"
        )));
    }
    if pack.bindings.iter().any(|b| b.id == PERMISSIONS_BINDING) {
        return Err(ApiError::bad(
            "binding.id",
            format!(
                "the binding id '{PERMISSIONS_BINDING}' is reserved for the tenant's permissions"
            ),
        ));
    }
    let plugins = app.store.active_plugins().await.map_err(ApiError::store)?;
    let others: Vec<String> = packs
        .iter()
        .filter(|p| p.name != name)
        .filter_map(|p| p.body.get("toml").and_then(Value::as_str).map(String::from))
        .collect();
    validate::pack_set(&pack, &others, &plugins)?;
    Ok((text, pack, tenant))
}

/// `PUT /api/v1/packs/{name}`: the body is the pack, TOML (any content type but JSON) or JSON.
async fn put_pack(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (text, pack, tenant) = checked_pack(&app, &caller, &name, &headers, &body, true).await?;
    let body = validate::pack_body(&text, &pack);
    let (created, v) = commit_owned(&app, &caller, "pack", &tenant, &name, &body).await?;
    let r = app
        .store
        .get("pack", &tenant, &name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::internal("pack vanished"))?;
    let mut out = pack_json(&r);
    out["snapshot_version"] = json!(v);
    ok(saved_status(created), out)
}

async fn delete_pack(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    let p = find_pack(&app, &caller, &name).await?;
    if p.tenant.is_empty() {
        caller.require(&[Role::Admin])?;
    } else {
        caller.write_tenant(&p.tenant)?;
    }
    let v = app
        .store
        .delete("pack", &p.tenant, &name)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("pack '{name}' not found")))?;
    app.published(v);
    app.record(&caller, &p.tenant, "pack.delete", &name).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- plugins

async fn list_plugins(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    caller.require(&[Role::Admin, Role::TenantAdmin, Role::Auditor])?;
    let states = app.store.plugin_states().await.map_err(ApiError::store)?;
    let active = app.store.active_plugins().await.map_err(ApiError::store)?;
    let mut stats = crate::console::plugin_stats(&app).await?;
    let items: Vec<Value> = states
        .iter()
        .map(|s| {
            let a = active.iter().find(|a| a.name == s.name);
            let mut st = stats.remove(&s.name).unwrap_or_else(
                || json!({"calls": 0, "mean_us": 0.0, "failures": {}, "quarantined": []}),
            );
            // Other tenants' names are not the caller's to see.
            if let Some(q) = st["quarantined"].as_array_mut() {
                q.retain(|t| t.as_str().is_some_and(|t| caller.can_read_tenant(t)));
            }
            json!({"name": s.name, "enabled": s.enabled, "active_version": s.active_version,
                   "sha256": a.map(|a| a.sha256.clone()),
                   "description": a.and_then(|a| a.manifest.get("description").cloned()),
                   "world": a.and_then(|a| a.manifest.get("world").cloned()),
                   "stats": st})
        })
        .collect();
    ok(StatusCode::OK, json!({ "items": items }))
}

async fn get_plugin(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    caller.require(&[Role::Admin, Role::TenantAdmin, Role::Auditor])?;
    let states = app.store.plugin_states().await.map_err(ApiError::store)?;
    let s = states
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ApiError::not_found(format!("plugin '{name}' not found")))?;
    let versions = app
        .store
        .plugin_versions(&name)
        .await
        .map_err(ApiError::store)?;
    ok(
        StatusCode::OK,
        json!({"name": s.name, "enabled": s.enabled, "active_version": s.active_version,
               "versions": versions.iter().map(|v| json!({
                   "version": v.version, "sha256": v.sha256, "size": v.size,
                   "created_at": v.created_at,
                   "manifest_version": v.manifest.get("version"),
                   "config_schema": v.manifest.get("config_schema"),
               })).collect::<Vec<_>>()}),
    )
}

/// `POST /api/v1/plugins`, multipart: `manifest` (the plugin's JSON manifest) and `component`
/// (the `.wasm` component). Validated against the WIT world before anything is stored.
async fn upload_plugin(
    State(app): State<Arc<App>>,
    caller: Caller,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    caller.require(&[Role::Admin])?;
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad(
            "body",
            format!("expected multipart/form-data with `manifest` and `component`: {e}"),
        )
    })?;
    let mut manifest = None;
    let mut component = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
                return Err(if too_large {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        format!("upload larger than {MAX_UPLOAD} bytes"),
                    )
                } else {
                    ApiError::bad("body", format!("malformed multipart body: {e}"))
                });
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("upload larger than {MAX_UPLOAD} bytes"),
                )
            } else {
                ApiError::bad(&name, format!("cannot read the part: {e}"))
            }
        })?;
        match name.as_str() {
            "manifest" => manifest = Some(bytes),
            "component" => component = Some(bytes),
            other => {
                return Err(ApiError::bad(
                    other,
                    format!("unknown part '{other}': send `manifest` and `component`"),
                ));
            }
        }
    }
    let manifest = manifest.ok_or_else(|| ApiError::bad("manifest", "missing part `manifest`"))?;
    let component =
        component.ok_or_else(|| ApiError::bad("component", "missing part `component`"))?;
    let (parsed, manifest_json) = validate::manifest(&manifest)?;
    let validator = app.validator.clone();
    let bytes = component.clone();
    let m = parsed.clone();
    let sha = tokio::task::spawn_blocking(move || validator.check(&bytes, m))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    // The new schema must accept the configs packs already give this plugin.
    let packs = all_packs(&app).await?;
    validate::packs_accept(&parsed, &packs)?;
    let (version, v) = app
        .store
        .add_plugin_version(&parsed.name, &sha, &component, &manifest_json)
        .await
        .map_err(ApiError::store)?;
    app.published(v);
    app.record(
        &caller,
        "",
        "plugin.upload",
        &format!("{}@{version}", parsed.name),
    )
    .await;
    ok(
        StatusCode::CREATED,
        json!({"name": parsed.name, "version": version, "sha256": sha, "size": component.len(),
               "snapshot_version": v}),
    )
}

async fn set_plugin(
    app: &App,
    caller: &Caller,
    name: &str,
    version: Option<i64>,
    enabled: Option<bool>,
    action: &str,
) -> ApiResult {
    caller.require(&[Role::Admin])?;
    if let Some(ver) = version {
        let versions = app
            .store
            .plugin_versions(name)
            .await
            .map_err(ApiError::store)?;
        let Some(pv) = versions.iter().find(|v| v.version == ver) else {
            return Err(ApiError::bad(
                "version",
                format!("plugin '{name}' has no version {ver}"),
            ));
        };
        let m = articdbm_pack::PluginManifest::parse(&pv.manifest.to_string(), name)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        validate::packs_accept(&m, &all_packs(app).await?)?;
    }
    let v = app
        .store
        .set_plugin(name, version, enabled)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("plugin '{name}' not found")))?;
    app.published(v);
    app.record(caller, "", action, name).await;
    ok(StatusCode::OK, json!({"name": name, "snapshot_version": v}))
}

async fn enable_plugin(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    set_plugin(&app, &caller, &name, None, Some(true), "plugin.enable").await
}

async fn disable_plugin(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult {
    set_plugin(&app, &caller, &name, None, Some(false), "plugin.disable").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rollback {
    #[serde(default)]
    version: Option<i64>,
}

/// Makes an earlier version active: the one given, or the one before the active one.
async fn rollback_plugin(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    Body(r): Body<Rollback>,
) -> ApiResult {
    caller.require(&[Role::Admin])?;
    let version = match r.version {
        Some(v) => v,
        None => {
            let states = app.store.plugin_states().await.map_err(ApiError::store)?;
            let s = states
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| ApiError::not_found(format!("plugin '{name}' not found")))?;
            let versions = app
                .store
                .plugin_versions(&name)
                .await
                .map_err(ApiError::store)?;
            versions
                .iter()
                .rev()
                .map(|v| v.version)
                .find(|v| *v < s.active_version)
                .ok_or_else(|| {
                    ApiError::bad(
                        "version",
                        format!("plugin '{name}' has no version before {}", s.active_version),
                    )
                })?
        }
    };
    set_plugin(&app, &caller, &name, Some(version), None, "plugin.rollback").await
}

// ---------------------------------------------------------------- gateways and snapshots

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Heartbeat {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    snapshot_version: i64,
    /// The gateway process's run id; usage totals are per run.
    #[serde(default)]
    run: Option<String>,
    /// `{"tenant": {"connections": n, "queries": n, "denials": n}}`: totals of this run.
    #[serde(default)]
    usage: Option<std::collections::BTreeMap<String, UsageTotals>>,
    /// `{"plugin": {"calls": n, "seconds": s, "failures": {"trap": n}, "quarantined":
    /// ["tenant"]}}`: this run's per-plugin totals.
    #[serde(default)]
    plugins: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageTotals {
    connections: i64,
    queries: i64,
    denials: i64,
}

async fn heartbeat(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(h): Body<Heartbeat>,
) -> ApiResult {
    caller.require(&[Role::Gateway, Role::Admin])?;
    validate::user_name("id", &h.id)?;
    if let (Some(run), Some(usage)) = (&h.run, &h.usage) {
        validate::user_name("run", run)?;
        let totals: Vec<(String, [i64; 3])> = usage
            .iter()
            .map(|(t, u)| (t.clone(), [u.connections, u.queries, u.denials]))
            .collect();
        app.store
            .report_usage(&h.id, run, &totals)
            .await
            .map_err(ApiError::store)?;
    }
    if let Some(p) = &h.plugins {
        if p.len() > 1000 {
            return Err(ApiError::bad("plugins", "at most 1000 plugins"));
        }
        app.store
            .set_gateway_plugins(&h.id, &Value::Object(p.clone()))
            .await
            .map_err(ApiError::store)?;
    }
    app.store
        .heartbeat(&GatewayRow {
            id: h.id,
            name: h.name,
            version: h.version,
            snapshot_version: h.snapshot_version,
            last_seen: now_ms(),
        })
        .await
        .map_err(ApiError::store)?;
    ok(
        StatusCode::OK,
        json!({"snapshot_version": *app.version.borrow()}),
    )
}

async fn list_gateways(State(app): State<Arc<App>>, caller: Caller) -> ApiResult {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let gws = app.store.gateways().await.map_err(ApiError::store)?;
    let current = *app.version.borrow();
    let now = now_ms();
    ok(
        StatusCode::OK,
        json!({"snapshot_version": current,
               "items": gws.iter().map(|g| json!({"id": g.id, "name": g.name, "version": g.version,
            "snapshot_version": g.snapshot_version, "last_seen": g.last_seen,
            "age_ms": (now - g.last_seen).max(0), "current": g.snapshot_version == current}))
            .collect::<Vec<_>>()}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotQuery {
    /// Answer only once the version is above this (long poll)...
    #[serde(default)]
    after: Option<i64>,
    /// ...waiting at most this long (seconds, ≤ 60); then 304.
    #[serde(default)]
    wait: Option<u64>,
}

/// `GET /api/v1/snapshot`: everything a gateway enforces, as one versioned document.
async fn snapshot(
    State(app): State<Arc<App>>,
    caller: Caller,
    peer: Option<axum::Extension<crate::tls::Peer>>,
    q: Result<Query<SnapshotQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    caller.require(&[Role::Gateway, Role::Admin])?;
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    if let Some(after) = q.after {
        let wait = Duration::from_secs(q.wait.unwrap_or(30)).min(MAX_WAIT);
        let mut rx = app.version.subscribe();
        let reached = tokio::time::timeout(wait, rx.wait_for(|v| *v > after)).await;
        if !matches!(reached, Ok(Ok(_))) {
            return Ok(StatusCode::NOT_MODIFIED.into_response());
        }
    }
    // Gateways log in to backends with the passwords the snapshot carries: they travel over
    // TLS or within this host only. A request that did not come through the listener (no
    // peer) gets none either.
    let confidential = app.plaintext_secrets || peer.as_ref().is_some_and(|p| p.confidential());
    let mut doc = crate::snapshot::build(&app.store, confidential)
        .await
        .map_err(ApiError::store)?;
    if !confidential {
        tracing::warn!(
            peer = ?peer.map(|p| p.addr),
            "snapshot sent without backend passwords: the connection is neither TLS nor \
             from this host (serve with --tls-cert, or --allow-plaintext-secrets on a private \
             network)"
        );
        doc["secrets_withheld"] = serde_json::Value::Bool(true);
    }
    ok(StatusCode::OK, doc)
}

async fn artifact(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(sha): Path<String>,
) -> ApiResult {
    caller.require(&[Role::Gateway, Role::Admin])?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad("sha256", "expected 64 hex digits"));
    }
    let bytes = app
        .store
        .artifact(&sha.to_ascii_lowercase())
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no artifact {sha}")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/wasm")],
        Bytes::from(bytes),
    )
        .into_response())
}

// ---------------------------------------------------------------- audit

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditUpload {
    events: Vec<AuditEvent>,
}

/// `POST /api/v1/audit`: a batch of gateway events; ids make a resend harmless.
async fn upload_audit(
    State(app): State<Arc<App>>,
    caller: Caller,
    Body(b): Body<AuditUpload>,
) -> ApiResult {
    caller.require(&[Role::Gateway])?;
    let received = b.events.len();
    if b.events.len() > 10_000 {
        return Err(ApiError::bad("events", "at most 10000 events per batch"));
    }
    for (i, e) in b.events.iter().enumerate() {
        if e.id.is_empty() || e.id.len() > 128 {
            return Err(ApiError::bad(
                &format!("events[{i}].id"),
                "an event id is 1 to 128 characters",
            ));
        }
    }
    let fresh = app
        .store
        .insert_audit_fresh(&b.events)
        .await
        .map_err(ApiError::store)?;
    let fresh: Vec<AuditEvent> = b
        .events
        .into_iter()
        .zip(fresh)
        .filter_map(|(e, is_new)| is_new.then_some(e))
        .collect();
    let new = fresh.len();
    if let Some(p) = &app.publisher {
        p.publish_audit(&fresh);
    }
    for e in fresh {
        app.live.publish(e);
    }
    ok(StatusCode::OK, json!({"received": received, "stored": new}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    tenant: Option<String>,
    actor: Option<String>,
    /// The gateway user of query events (the same as `actor`).
    user: Option<String>,
    verdict: Option<String>,
    /// The rule of the hit, e.g. `sqli.tautology`.
    rule: Option<String>,
    /// `connect`, `query`, or a manager action such as `pack.put`.
    action: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    limit: Option<i64>,
    /// The `next` cursor of the previous page.
    cursor: Option<String>,
    /// `json` (default) or `csv`: the page as a CSV file (up to 10,000 rows; default 1,000).
    format: Option<String>,
}

async fn query_audit(
    State(app): State<Arc<App>>,
    caller: Caller,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let tenant = caller.read_scope(q.tenant, "the cluster key only writes audit")?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(f) => {
            return Err(ApiError::bad(
                "format",
                format!("format is json or csv, not '{f}'"),
            ));
        }
    };
    let (default, max) = if csv { (1000, 10_000) } else { (100, 1000) };
    let limit = q.limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad("limit", format!("limit is 1 to {max}")));
    }
    let before = match &q.cursor {
        None => None,
        Some(c) => {
            let (at, id) = c
                .split_once('.')
                .and_then(|(a, i)| Some((a.parse::<i64>().ok()?, i.to_string())))
                .ok_or_else(|| ApiError::bad("cursor", "not a cursor from a previous page"))?;
            Some((at, id))
        }
    };
    let events = app
        .store
        .audit(&AuditFilter {
            tenant,
            actor: match (q.actor, q.user) {
                (Some(a), Some(u)) if a != u => {
                    return Err(ApiError::bad("user", "give actor or user, not both"));
                }
                (a, u) => a.or(u),
            },
            verdict: q.verdict,
            rule: q.rule,
            action: q.action,
            since: q.since,
            until: q.until,
            before,
            limit,
        })
        .await
        .map_err(ApiError::store)?;
    let next = if events.len() as i64 == limit {
        events.last().map(|e| format!("{}.{}", e.at, e.id))
    } else {
        None
    };
    if csv {
        let mut resp = audit_csv(&events).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_DISPOSITION,
            axum::http::HeaderValue::from_static("attachment; filename=\"audit.csv\""),
        );
        if let Some(n) = next.and_then(|n| axum::http::HeaderValue::from_str(&n).ok()) {
            h.insert("x-next-cursor", n);
        }
        return Ok(resp);
    }
    ok(StatusCode::OK, json!({"items": events, "next": next}))
}

/// Audit events as CSV (RFC 4180): every field quoted. A field that a spreadsheet would read as
/// a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`:
/// the statements in refusals are an attacker's text.
pub(crate) fn audit_csv(events: &[AuditEvent]) -> String {
    fn field(out: &mut String, v: &str) {
        out.push('"');
        if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            out.push('\'');
        }
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    }
    let mut out = String::from(
        "id,at,tenant,actor,action,target,verdict,rule,plugin,binding,reason,client_addr,sql\r\n",
    );
    for e in events {
        let d = |k: &str| e.detail[k].as_str().unwrap_or("").to_string();
        let at = validate::rfc3339(e.at);
        let cols = [
            e.id.clone(),
            at,
            e.tenant.clone(),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone(),
            e.verdict.clone(),
            d("rule"),
            d("plugin"),
            d("binding"),
            d("reason"),
            d("client_addr"),
            d("sql"),
        ];
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, c);
        }
        out.push_str("\r\n");
    }
    out
}
