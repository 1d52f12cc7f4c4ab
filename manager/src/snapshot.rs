//! The configuration snapshot gateways pull: one versioned JSON document with everything a
//! gateway enforces. Plugin components are referenced by content hash and fetched from
//! `/api/v1/artifacts/{sha256}`, so an unchanged plugin is never downloaded twice.
//!
//! ```json
//! {"version": 7,
//!  "plugins": [{"name": "sqli-guard", "version": 2, "sha256": "…", "manifest": {…}}],
//!  "packs": [{"name": "default", "tenant": null, "toml": "…"}],
//!  "config": "[[user]]\n…\n[[database]]\n…",
//!  "threat": {"indicators_seq": 5120, "bypass": {"acme": {"addresses": […], …}}}}
//! ```
//!
//! Indicators are not in the snapshot: `threat.indicators_seq` says how far the indicator
//! change stream (`/api/v1/indicators/changes`) has gone, and a gateway fetches only the
//! changes after the last sequence number it applied.
//!
//! `config` holds `[[user]]` and `[[database]]` tables in the gateway's own config format,
//! which the gateway appends to its file and parses with the same strict parser.
//!
//! Backend passwords (`server_password`) are the one secret a snapshot can carry: [`build`]
//! is the only place that decides whether it does. Users appear with their SCRAM and MySQL
//! verifiers and tokens as SHA-256 hashes, never a password or a token.

use serde_json::{Value, json};

use std::collections::BTreeMap;

use crate::api::PERMISSIONS_BINDING;
use crate::store::{Resource, Result, Store};
use crate::validate::{config_toml, json_to_toml};

/// Each tenant's permissions become one `acl` binding (`default = "deny"`) appended to its
/// tenant pack, or to a pack made for them when the tenant has none.
pub(crate) fn with_permissions(
    mut packs: Vec<Resource>,
    permissions: Vec<Resource>,
) -> Vec<Resource> {
    let mut by_tenant: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in permissions {
        by_tenant.entry(p.tenant).or_default().push(p.body);
    }
    for (tenant, grants) in by_tenant {
        let binding = json!({"binding": [{
            "id": PERMISSIONS_BINDING, "plugin": "acl", "hooks": ["query"],
            "config": {"default": "deny", "grants": grants},
        }]});
        let text = json_to_toml(&binding)
            .and_then(|t| toml::to_string(&t).ok())
            .unwrap_or_default();
        match packs.iter_mut().find(|p| p.tenant == tenant) {
            Some(p) => {
                let base = p.body.get("toml").and_then(Value::as_str).unwrap_or_default();
                p.body["toml"] = Value::String(format!("{base}\n{text}"));
            }
            None => packs.push(Resource {
                kind: "pack".into(),
                name: format!("{tenant}-permissions"),
                body: json!({"toml": format!(
                    "version = 1\nname = \"{tenant}-permissions\"\nkind = \"tenant\"\ntenant = \"{tenant}\"\n\n{text}"
                )}),
                tenant,
                created_at: 0,
                updated_at: 0,
            }),
        }
    }
    packs
}

/// The snapshot at the store's current version. With `include_secrets`, databases carry their
/// backend password (opened from the store) so the gateway can log in to its backends; without,
/// `server_password` is left out: for a gateway reached over a connection that could be read
/// on its way.
pub async fn build(store: &Store, include_secrets: bool) -> Result<Value> {
    // Read the version first: anything changed after it shows up in a later version.
    let version = store.snapshot_version().await?;
    let plugins = store.active_plugins().await?;
    let packs = store.list("pack", None).await?;
    let users = store.list("user", None).await?;
    let dbs = store.list("database", None).await?;
    let tokens = store.list("token", None).await?;
    let now = crate::store::now_ms();
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut v = u.body.clone();
            v["tenant"] = Value::String(u.tenant.clone());
            // Live tokens only, as hashes: the gateway never sees a token itself.
            let mine: Vec<Value> = tokens
                .iter()
                .filter(|t| {
                    t.tenant == u.tenant
                        && t.body.get("user").and_then(Value::as_str) == Some(u.name.as_str())
                        && t.body
                            .get("expires_at")
                            .and_then(Value::as_str)
                            .and_then(articdbm_config::parse_rfc3339_ms)
                            .is_some_and(|e| e as i64 > now)
                })
                .map(|t| {
                    json!({"id": t.body.get("id"), "sha256": t.body.get("sha256"),
                           "expires_at": t.body.get("expires_at"), "max_uses": t.body.get("max_uses")})
                })
                .collect();
            if !mine.is_empty() {
                v["tokens"] = Value::Array(mine);
            }
            v
        })
        .collect();
    let dbs: Vec<Value> = dbs
        .iter()
        .map(|d| {
            let mut body = d.body.clone();
            if !include_secrets && let Some(o) = body.as_object_mut() {
                o.remove("server_password");
            }
            body
        })
        .collect();
    let packs = with_permissions(packs, store.list("permission", None).await?);
    // Feed parsers run in the manager; gateways load policies only.
    let plugins: Vec<_> = plugins
        .into_iter()
        .filter(|p| p.manifest.get("world").and_then(Value::as_str) != Some("feed-parser"))
        .collect();
    let bypass: BTreeMap<String, Value> = store
        .list(crate::feeds::api::BYPASS_KIND, None)
        .await?
        .into_iter()
        .map(|r| (r.tenant, r.body))
        .collect();
    let indicators_seq = store.indicator_seq().await?;
    Ok(json!({
        "version": version,
        "plugins": plugins.iter().map(|p| json!({
            "name": p.name, "version": p.version, "sha256": p.sha256, "manifest": p.manifest,
        })).collect::<Vec<_>>(),
        "packs": packs.iter().map(|p| json!({
            "name": p.name,
            "tenant": if p.tenant.is_empty() { Value::Null } else { Value::String(p.tenant.clone()) },
            "toml": p.body.get("toml"),
        })).collect::<Vec<_>>(),
        "config": config_toml(&users, &dbs),
        "threat": {"indicators_seq": indicators_seq, "bypass": bypass},
    }))
}
