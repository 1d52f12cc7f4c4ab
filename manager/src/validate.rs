//! Validation of everything the API stores, with errors that name the field. The same parsers
//! the gateway uses do the checking (gateway config, packs, manifests, the component loader),
//! so what the manager accepts a gateway accepts.

use std::path::Path;
use std::sync::Arc;

use articdbm_pack::{Pack, PackSet, PluginManifest};
use articdbm_pgwire::auth::scram::ScramVerifier;
use articdbm_runtime::indicators::NoIndicators;
use articdbm_runtime::kv::MemoryKv;
use articdbm_runtime::metrics::Metrics;
use articdbm_runtime::{HostServices, LoadedPlugin, Runtime, RuntimeConfig};
use serde_json::Value;

use crate::api::ApiError;
use crate::store::{PluginVersion, Resource};

fn name_ok(s: &str, upper: bool) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase()
            || b[0].is_ascii_digit()
            || (upper && (b[0].is_ascii_uppercase() || b[0] == b'_')))
        && b.iter().all(|c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'-' | b'_')
                || (upper && (c.is_ascii_uppercase() || matches!(c, b'.' | b'@')))
        })
}

/// Tenant, database, pack and plugin names: `[a-z0-9][a-z0-9_-]*`, at most 63 characters.
pub fn name(field: &str, s: &str) -> Result<(), ApiError> {
    if name_ok(s, false) {
        Ok(())
    } else {
        Err(ApiError::bad(
            field,
            format!(
                "'{s}' is not a valid name: 1 to 63 of a-z, 0-9, '-' and '_', starting with a letter or digit"
            ),
        ))
    }
}

/// Gateway user and role names: also upper case, '.', '@'.
pub fn user_name(field: &str, s: &str) -> Result<(), ApiError> {
    if name_ok(s, true) {
        Ok(())
    } else {
        Err(ApiError::bad(
            field,
            format!("'{s}' is not a valid name: 1 to 63 of A-Z, a-z, 0-9, '-', '_', '.', '@'"),
        ))
    }
}

/// A SCRAM-SHA-256 verifier for a password; the password itself is dropped here.
pub fn scram_from_password(p: &str) -> Result<String, ApiError> {
    if p.chars().count() < 8 {
        return Err(ApiError::bad(
            "password",
            "a password has at least 8 characters",
        ));
    }
    ScramVerifier::generate_with_iterations(p.as_bytes(), 4096)
        .map(|v| v.to_string())
        .map_err(|e| ApiError::bad("password", e.to_string()))
}

pub fn scram_verifier(s: &str) -> Result<String, ApiError> {
    ScramVerifier::parse(s)
        .map(|v| v.to_string())
        .map_err(|e| ApiError::bad("scram", format!("not a SCRAM-SHA-256 verifier: {e}")))
}

pub fn timestamp(field: &str, s: &str) -> Result<(), ApiError> {
    articdbm_config::parse_rfc3339_ms(s)
        .map(|_| ())
        .ok_or_else(|| {
            ApiError::bad(
                field,
                format!("'{s}' is not an RFC 3339 time such as 2026-12-31T23:59:59Z"),
            )
        })
}

/// Unix milliseconds as RFC 3339 UTC (`2026-12-31T23:59:59Z`).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// JSON to TOML; nulls are dropped (TOML has none: an absent key means the default).
pub fn json_to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().filter_map(json_to_toml).collect()),
        Value::Object(o) => toml::Value::Table(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), json_to_toml(v)?)))
                .collect(),
        ),
    })
}

/// The `[[user]]` and `[[database]]` tables of a gateway config, as TOML text.
pub fn config_toml(users: &[Value], databases: &[Value]) -> String {
    let mut doc = toml::Table::new();
    let arr = |items: &[Value]| {
        toml::Value::Array(items.iter().filter_map(json_to_toml).collect::<Vec<_>>())
    };
    if !users.is_empty() {
        doc.insert("user".into(), arr(users));
    }
    if !databases.is_empty() {
        doc.insert("database".into(), arr(databases));
    }
    toml::to_string(&doc).unwrap_or_default()
}

/// A database as the gateway config's `[[database]]` table, checked by the gateway's parser.
pub fn database(d: &Value) -> Result<(), ApiError> {
    let text = config_toml(&[], std::slice::from_ref(d));
    articdbm_config::Config::parse(&text, Path::new("database"))
        .map(|_| ())
        .map_err(|e| {
            let msg = e.to_string();
            let field = field_of(&text, &msg).unwrap_or_else(|| "body".into());
            // The generated TOML's line numbers mean nothing to the caller.
            let msg = match msg.find(": line ") {
                Some(i) => {
                    let rest = &msg[i + 7..];
                    let after = rest.find(": ").map(|j| &rest[j + 2..]).unwrap_or(rest);
                    format!("{field}: {after}")
                }
                None => msg.replacen("database: ", "", 1),
            };
            ApiError::bad(&field, msg)
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_round_trips_through_the_gateway_parser() {
        for ms in [0i64, 951_782_400_000, 1_767_225_599_000, 4_102_444_800_000] {
            let s = super::rfc3339(ms);
            assert_eq!(
                articdbm_config::parse_rfc3339_ms(&s),
                Some(ms as u64),
                "{s}"
            );
        }
        assert_eq!(super::rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}

/// A gateway user as the gateway config's `[[user]]` table, checked by the gateway's parser.
pub fn user(u: &Value) -> Result<(), ApiError> {
    let text = config_toml(std::slice::from_ref(u), &[]);
    articdbm_config::Config::parse(&text, Path::new("user"))
        .map(|_| ())
        .map_err(|e| {
            let msg = e.to_string();
            let field = [
                "allowed_networks",
                "expires_at",
                "require_tls",
                "roles",
                "databases",
            ]
            .into_iter()
            .find(|f| msg.contains(f))
            .unwrap_or("body");
            let msg = match msg.find("]: ") {
                Some(i) => msg[i + 3..].to_string(),
                None => msg.replacen("user: ", "", 1),
            };
            ApiError::bad(field, msg)
        })
}

/// The dotted field an error at "line N column M" of the generated `text` is about.
fn field_of(text: &str, msg: &str) -> Option<String> {
    let i = msg.find("line ")? + 5;
    let n: usize = msg[i..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let line = lines.get(n.checked_sub(1)?)?;
    let key = line.split('=').next()?.trim().to_string();
    let header = lines[..n - 1]
        .iter()
        .rev()
        .find(|l| l.starts_with('['))
        .map(|h| h.trim_matches(|c| c == '[' || c == ']').to_string())
        .unwrap_or_default();
    let section = header
        .strip_prefix("database")
        .map(|s| s.trim_start_matches('.'))
        .unwrap_or(&header);
    Some(if section.is_empty() {
        key
    } else {
        format!("{section}.{key}")
    })
}

/// A pack body as TOML text (JSON bodies are converted).
pub fn pack_text(body: &[u8], is_json: bool) -> Result<String, ApiError> {
    if is_json {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad("body", format!("invalid JSON pack: {e}")))?;
        let t = json_to_toml(&v)
            .filter(toml::Value::is_table)
            .ok_or_else(|| ApiError::bad("body", "a pack is a JSON object"))?;
        toml::to_string(&t).map_err(|e| ApiError::bad("body", e.to_string()))
    } else {
        String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::bad("body", "a TOML pack is UTF-8 text"))
    }
}

/// How a pack is stored: its text, kind and mode.
pub fn pack_body(text: &str, pack: &Pack) -> Value {
    let kind = match pack.kind {
        articdbm_pack::PackKind::Baseline => "baseline",
        articdbm_pack::PackKind::Tenant => "tenant",
    };
    serde_json::json!({"toml": text, "kind": kind, "mode": format!("{:?}", pack.mode).to_lowercase()})
}

pub fn parse_pack(text: &str, name: &str) -> Result<Pack, ApiError> {
    Pack::parse(text, name).map_err(|e| ApiError::bad("pack", e.to_string()))
}

fn manifests(plugins: &[PluginVersion]) -> Vec<PluginManifest> {
    plugins
        .iter()
        .filter_map(|p| PluginManifest::parse(&p.manifest.to_string(), &p.name).ok())
        .collect()
}

/// The pack together with every other stored pack: the set must merge (a tenant pack never
/// loosens the baseline), and every binding must name an enabled plugin whose schema accepts
/// its config.
pub fn pack_set(pack: &Pack, others: &[String], plugins: &[PluginVersion]) -> Result<(), ApiError> {
    let mut all = vec![pack.clone()];
    for (i, t) in others.iter().enumerate() {
        if let Ok(p) = Pack::parse(t, &format!("stored pack {i}")) {
            all.push(p);
        }
    }
    PackSet::from_packs(all).map_err(|e| ApiError::bad("pack", e.to_string()))?;
    let ms = manifests(plugins);
    let only =
        PackSet::from_packs([pack.clone()]).map_err(|e| ApiError::bad("pack", e.to_string()))?;
    only.check_plugins(|n| ms.iter().find(|m| m.name == n))
        .map_err(|e| ApiError::bad("pack", e.to_string()))
}

/// Every stored pack's bindings of this plugin must be accepted by the manifest's schema.
pub fn packs_accept(m: &PluginManifest, packs: &[Resource]) -> Result<(), ApiError> {
    for r in packs {
        let Some(text) = r.body.get("toml").and_then(Value::as_str) else {
            continue;
        };
        let Ok(p) = Pack::parse(text, &r.name) else {
            continue;
        };
        for b in p.bindings.iter().filter(|b| b.plugin == m.name) {
            if let Err(v) = m.validate_config(&b.config) {
                let first = v
                    .first()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "invalid".into());
                return Err(ApiError::conflict(format!(
                    "pack '{}' binding '{}' has a config this version of '{}' refuses: {first}",
                    r.name, b.id, m.name
                )));
            }
        }
    }
    Ok(())
}

/// A manifest part: parsed and validated, and its JSON.
pub fn manifest(bytes: &[u8]) -> Result<(PluginManifest, Value), ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad("manifest", "the manifest is UTF-8 JSON"))?;
    let m = PluginManifest::parse(text, "manifest")
        .map_err(|e| ApiError::bad("manifest", e.to_string()))?;
    name("manifest.name", &m.name)?;
    let v: Value =
        serde_json::from_str(text).map_err(|e| ApiError::bad("manifest", e.to_string()))?;
    Ok((m, v))
}

/// Compiles uploaded components with the gateway's own loader: a file that is not a
/// component, or does not implement the policy world, is refused before it is stored.
#[derive(Clone)]
pub struct ComponentValidator {
    runtime: Arc<Runtime>,
    /// Feed-parser components are checked in the feed sandbox.
    feeds: crate::feeds::sandbox::Sandbox,
}

impl ComponentValidator {
    pub fn new(feeds: crate::feeds::sandbox::Sandbox) -> anyhow::Result<ComponentValidator> {
        let services = Arc::new(HostServices::new(
            Arc::new(MemoryKv::default()),
            Box::new(NoIndicators),
            Arc::new(Metrics::new()),
        ));
        let runtime = Runtime::new(
            RuntimeConfig {
                max_instances: 4,
                ..RuntimeConfig::default()
            },
            services,
        )?;
        Ok(ComponentValidator {
            runtime: Arc::new(runtime),
            feeds,
        })
    }

    /// Returns the content hash of a valid component.
    pub fn check(&self, bytes: &[u8], manifest: PluginManifest) -> Result<String, ApiError> {
        if manifest.world == articdbm_pack::manifest::World::FeedParser {
            self.feeds
                .check(bytes)
                .map_err(|e| ApiError::bad("component", e.to_string()))?;
            return Ok(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)));
        }
        let name = manifest.name.clone();
        LoadedPlugin::load_bytes(&self.runtime, bytes, manifest, Path::new(&name))
            .map(|p| p.hash.clone())
            .map_err(|e| ApiError::bad("component", e.to_string()))
    }
}
