//! The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`. [`ROUTES`] is the
//! one list of routes; a test requests every entry from a running manager, so the document
//! and the router cannot drift apart silently.

use serde_json::{Map, Value, json};

/// A documented route.
pub struct Route {
    pub method: &'static str,
    /// OpenAPI path template (`{name}` parameters), without the `/api/v1` prefix when `api`.
    pub path: &'static str,
    pub summary: &'static str,
    /// Roles allowed (`cluster` is the gateway key).
    pub roles: &'static str,
    /// Request body: "json", "toml", "multipart" or "".
    pub body: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    roles: &'static str,
    body: &'static str,
) -> Route {
    Route {
        method,
        path,
        summary,
        roles,
        body,
    }
}

pub const ROUTES: &[Route] = &[
    r(
        "get",
        "/healthz",
        "Liveness and store reachability",
        "none",
        "",
    ),
    r("get", "/metrics", "Prometheus metrics", "none", ""),
    r("get", "/api/v1/openapi.json", "This document", "none", ""),
    r(
        "get",
        "/api/v1/keys",
        "List API keys (never the keys themselves)",
        "admin",
        "",
    ),
    r(
        "post",
        "/api/v1/keys",
        "Create an API key; the key is shown once",
        "admin",
        "json",
    ),
    r(
        "delete",
        "/api/v1/keys/{id}",
        "Revoke an API key",
        "admin",
        "",
    ),
    r(
        "get",
        "/api/v1/tenants",
        "List tenants (a tenant-admin sees its own)",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/tenants",
        "Create a tenant",
        "admin",
        "json",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}",
        "Get a tenant",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "delete",
        "/api/v1/tenants/{tenant}",
        "Delete a tenant and everything it owns",
        "admin",
        "",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/users",
        "List gateway users",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/tenants/{tenant}/users",
        "Create a gateway user (password turned into a SCRAM verifier and the MySQL verifiers, mysql_native and mysql_sha2; or give those verifiers)",
        "admin, tenant-admin (own)",
        "json",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/users/{name}",
        "Get a gateway user",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "put",
        "/api/v1/tenants/{tenant}/users/{name}",
        "Create or replace a gateway user",
        "admin, tenant-admin (own)",
        "json",
    ),
    r(
        "delete",
        "/api/v1/tenants/{tenant}/users/{name}",
        "Delete a gateway user",
        "admin, tenant-admin (own)",
        "",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/usage",
        "Connections, statements run and refusals of the tenant, summed over gateways",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/users/{name}/tokens",
        "List a user's temporary access tokens (never the tokens)",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/tenants/{tenant}/users/{name}/tokens",
        "Create a temporary access token (`expires_at`, `max_uses`); shown once, usable as the password over TLS",
        "admin, tenant-admin (own)",
        "json",
    ),
    r(
        "delete",
        "/api/v1/tenants/{tenant}/users/{name}/tokens/{id}",
        "Revoke a temporary access token",
        "admin, tenant-admin (own)",
        "",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/permissions",
        "List the tenant's permissions (acl grants)",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/tenants/{tenant}/permissions",
        "Add a permission: an acl grant (users or roles, databases, tables, actions, expires_at); a tenant's permissions are enforced with default deny",
        "admin, tenant-admin (own)",
        "json",
    ),
    r(
        "delete",
        "/api/v1/tenants/{tenant}/permissions/{id}",
        "Remove a permission",
        "admin, tenant-admin (own)",
        "",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/databases",
        "List databases",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/tenants/{tenant}/databases",
        "Create a database (the gateway config's [[database]] table as JSON)",
        "admin, tenant-admin (own)",
        "json",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/databases/{name}",
        "Get a database (server password masked)",
        "admin, tenant-admin (own), auditor",
        "",
    ),
    r(
        "put",
        "/api/v1/tenants/{tenant}/databases/{name}",
        "Create or replace a database",
        "admin, tenant-admin (own)",
        "json",
    ),
    r(
        "delete",
        "/api/v1/tenants/{tenant}/databases/{name}",
        "Delete a database",
        "admin, tenant-admin (own)",
        "",
    ),
    r(
        "get",
        "/api/v1/packs",
        "List rule packs (baseline and readable tenant packs)",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "get",
        "/api/v1/packs/{name}",
        "Get a rule pack",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "put",
        "/api/v1/packs/{name}",
        "Create or replace a rule pack (TOML, or JSON with Content-Type application/json); validated against plugin schemas",
        "admin; tenant-admin for its own tenant pack",
        "toml",
    ),
    r(
        "delete",
        "/api/v1/packs/{name}",
        "Delete a rule pack",
        "admin; tenant-admin for its own tenant pack",
        "",
    ),
    r(
        "get",
        "/api/v1/plugins",
        "List plugins with their active version",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/plugins",
        "Upload a plugin version (multipart: manifest, component); validated against the WIT world",
        "admin",
        "multipart",
    ),
    r(
        "get",
        "/api/v1/plugins/{name}",
        "Get a plugin and its versions",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/plugins/{name}/enable",
        "Enable a plugin",
        "admin",
        "",
    ),
    r(
        "post",
        "/api/v1/plugins/{name}/disable",
        "Disable a plugin (its bindings fail as configured)",
        "admin",
        "",
    ),
    r(
        "post",
        "/api/v1/plugins/{name}/rollback",
        "Make an earlier version active (`{\"version\": N}`, or the previous one)",
        "admin",
        "json",
    ),
    r(
        "get",
        "/api/v1/gateways",
        "Registered gateways and the snapshot each applied",
        "admin, auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/gateways/heartbeat",
        "A gateway reports itself",
        "cluster",
        "json",
    ),
    r(
        "get",
        "/api/v1/snapshot",
        "The configuration snapshot; `?after=N&wait=S` long-polls for a newer one (304 on timeout)",
        "cluster, admin",
        "",
    ),
    r(
        "get",
        "/api/v1/artifacts/{sha256}",
        "A plugin component by content hash",
        "cluster, admin",
        "",
    ),
    r(
        "get",
        "/api/v1/audit",
        "Audit events, newest first (filters: tenant, actor or user, verdict, rule, action, since, until; `cursor` pages; `format=csv` answers a CSV file with the next cursor in `X-Next-Cursor`)",
        "admin, auditor, tenant-admin (own)",
        "",
    ),
    r(
        "post",
        "/api/v1/audit",
        "A batch of gateway audit events; ids make resends harmless",
        "cluster",
        "json",
    ),
    r(
        "get",
        "/api/v1/feeds",
        "Threat feeds with their health (a tenant-admin sees global feeds and its own)",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "post",
        "/api/v1/feeds",
        "Create a threat feed: a URL or a TAXII 2.1 collection, format, parser, interval, default confidence, scope",
        "admin, tenant-admin (own tenant's feeds)",
        "json",
    ),
    r(
        "get",
        "/api/v1/feeds/{name}",
        "A threat feed and its health (secrets redacted)",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "put",
        "/api/v1/feeds/{name}",
        "Replace a threat feed (a redacted secret sent back keeps the stored one)",
        "admin, tenant-admin (own tenant's feeds)",
        "json",
    ),
    r(
        "delete",
        "/api/v1/feeds/{name}",
        "Delete a threat feed and its indicators",
        "admin, tenant-admin (own tenant's feeds)",
        "",
    ),
    r(
        "post",
        "/api/v1/feeds/{name}/fetch",
        "Fetch, parse and merge the feed now; returns what changed",
        "admin, tenant-admin (own tenant's feeds)",
        "",
    ),
    r(
        "post",
        "/api/v1/feeds/{name}/document",
        "Parse and merge an uploaded document as the feed's whole list",
        "admin, tenant-admin (own tenant's feeds)",
        "document",
    ),
    r(
        "get",
        "/api/v1/indicators",
        "Live indicators with provenance (filters: feed, kind, value, id, tenant; `after` pages)",
        "admin, auditor, tenant-admin (global and own)",
        "",
    ),
    r(
        "get",
        "/api/v1/indicators/changes",
        "Indicator changes after a sequence number, for gateways (`after`, `limit`)",
        "cluster, admin",
        "",
    ),
    r(
        "get",
        "/api/v1/tenants/{tenant}/threat-bypass",
        "A tenant's threat-intelligence bypass rules (addresses, users, indicator ids)",
        "admin, tenant-admin, auditor",
        "",
    ),
    r(
        "put",
        "/api/v1/tenants/{tenant}/threat-bypass",
        "Replace a tenant's bypass rules",
        "admin, tenant-admin",
        "json",
    ),
    r(
        "delete",
        "/api/v1/tenants/{tenant}/threat-bypass",
        "Remove a tenant's bypass rules",
        "admin, tenant-admin",
        "",
    ),
    r(
        "get",
        "/api/v1/whoami",
        "The caller's role, tenant and key name",
        "any key",
        "",
    ),
    r(
        "get",
        "/api/v1/stats",
        "Statements and refusals per bucket over a window (`window`, `step` seconds; `tenant`), and refusals per rule",
        "admin, auditor, tenant-admin (own)",
        "",
    ),
    r(
        "get",
        "/api/v1/events",
        "Server-Sent Events: gateway decisions as they arrive (`audit` events; `lagged` when a slow reader missed some); filters tenant, user, rule, verdict (comma-separated)",
        "admin, auditor, tenant-admin (own)",
        "",
    ),
    r(
        "get",
        "/api/v1/schemas/pack",
        "The JSON Schema of a pack (its JSON form)",
        "admin, auditor, tenant-admin",
        "",
    ),
    r(
        "get",
        "/api/v1/schemas/plugins",
        "The config JSON Schema of each enabled policy plugin",
        "admin, auditor, tenant-admin",
        "",
    ),
    r(
        "post",
        "/api/v1/packs/{name}/check",
        "Check a pack as PUT would (parse, schema, merge, plugin configs); nothing is stored",
        "admin, auditor, tenant-admin (own)",
        "toml",
    ),
    r(
        "post",
        "/api/v1/packs/{name}/try",
        "Judge statements (`policy test` input lines) with the draft pack (`toml`, default the stored one) in place, by the real runtime; nothing is stored",
        "admin, auditor, tenant-admin (own)",
        "json",
    ),
];

pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": route.summary,
            "description": format!("Roles: {}.", route.roles),
            "responses": {
                "200": {"description": "OK"},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
            },
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if route.roles == "none" {
            op["security"] = json!([]);
        } else {
            // Too many wrong API keys from the caller's address (see `auth::FailureLimiter`).
            op["responses"]["429"] = json!({"$ref": "#/components/responses/Error"});
        }
        let content = match route.body {
            "json" => Some(json!({"application/json": {"schema": {"type": "object"}}})),
            "toml" => Some(json!({
                "application/toml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            })),
            "multipart" => Some(json!({"multipart/form-data": {"schema": {
                "type": "object",
                "required": ["manifest", "component"],
                "properties": {
                    "manifest": {"type": "string", "format": "binary"},
                    "component": {"type": "string", "format": "binary"},
                },
            }}})),
            "document" => Some(json!({"application/octet-stream": {"schema": {
                "type": "string", "format": "binary",
                "description": "The feed document (STIX JSON, OpenIOC XML, MISP JSON), at most 64 MiB",
            }}})),
            _ => None,
        };
        if let Some(c) = content {
            op["requestBody"] = json!({"required": true, "content": c});
        }
        entry[route.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ArticDBM manager",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tenants, gateway users, databases, plugins, rule packs, threat feeds and indicators, snapshots for gateways, audit. See docs/USAGE.md and docs/THREAT-INTELLIGENCE.md.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {
                "description": "An error",
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": "string"},
                    }}},
                }}},
            }},
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every `.route(...)` of the router, with its methods, is in [`super::ROUTES`] and the
    /// other way round. (A test against a running manager checks that each entry is served.)
    #[test]
    fn route_table_lists_every_route_of_the_router() {
        // The main router, and the routes it merges in.
        let mut body = String::new();
        for (src, f) in [
            (include_str!("api.rs"), "pub fn router("),
            (include_str!("feeds/api.rs"), "pub fn routes("),
            (include_str!("console.rs"), "pub fn routes("),
        ] {
            let start = src.find(f).expect("router function");
            let end = src[start..].find("\n}\n").expect("end of router function") + start;
            body.push_str(&src[start..end]);
        }
        let mut routed = BTreeSet::new();
        for chunk in body.split(".route(").skip(1) {
            let path = chunk.split('"').nth(1).expect("a path literal");
            let full = if path.starts_with("/healthz") || path.starts_with("/metrics") {
                path.to_string()
            } else {
                format!("/api/v1{path}")
            };
            // The handler expression ends at the route's closing parenthesis.
            let mut depth = 1;
            let mut handlers = String::new();
            for c in chunk.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                handlers.push(c);
            }
            for m in ["get", "post", "put", "delete"] {
                if handlers.contains(&format!("{m}(")) {
                    routed.insert((m.to_string(), full.clone()));
                }
            }
        }
        let documented: BTreeSet<(String, String)> = super::ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(
            routed.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routed but not documented"
        );
        assert_eq!(
            documented.difference(&routed).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented but not routed"
        );
    }
}
