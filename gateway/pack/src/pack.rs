//! The rule pack format: a TOML file holding an ordered list of plugin bindings, each with
//! its config, mode and failure mode. A `baseline` pack is the provider's and applies to every
//! tenant; a `tenant` pack adds bindings for one tenant and may tighten baseline ones.
//!
//! ```toml
//! version = 1
//! name = "default"
//! kind = "baseline"
//!
//! [[binding]]
//! plugin = "sqli-guard"
//! config = { deny_unparsable = true }
//! ```
//!
//! Parsing is strict (`deny_unknown_fields`) and followed by [`Pack::validate`]; the format's
//! JSON Schema is checked in at `docs/schema/pack.schema.json`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::PACK_FORMAT_VERSION;
use crate::error::{BindingRef, PackError, PackErrors, Where};
use crate::json::table_to_json;
use crate::manifest::{ConfigValidator, PluginManifest, World, is_plugin_name, is_version};

/// Longest binding id.
pub const MAX_ID_LEN: usize = 64;

/// A rule pack. Values returned by [`Pack::parse`] and [`Pack::load`] are valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// Format version; must be [`PACK_FORMAT_VERSION`].
    pub version: u32,
    pub name: String,
    pub kind: PackKind,
    /// The tenant a `tenant` pack applies to; absent in a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Default mode of this pack's bindings.
    #[serde(default)]
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fraction (0..=1) of allowed queries to audit.
    #[serde(default)]
    pub audit_sample: f64,
    /// MySQL `LOAD DATA LOCAL INFILE` (a client sending a file of its own through the
    /// gateway): off unless a pack allows it. A baseline's `deny` cannot be lifted by a tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_infile: Option<LocalInfile>,
    /// `[[binding]]` entries, in evaluation order.
    #[serde(default, rename = "binding", skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<Binding>,
    /// `[[tighten]]` entries (tenant packs only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tighten: Vec<Tighten>,
    /// Where the pack came from (the path, or the name given to [`Pack::parse`]); named in
    /// errors and in [`crate::EffectiveBinding::source`].
    #[serde(skip)]
    pub source: String,
}

/// Baseline or tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackKind {
    /// The provider's pack, applied to every tenant.
    Baseline,
    /// One tenant's additions.
    Tenant,
}

impl PackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackKind::Baseline => "baseline",
            PackKind::Tenant => "tenant",
        }
    }
}

/// A pack's word on MySQL `LOAD DATA LOCAL INFILE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalInfile {
    Allow,
    Deny,
}

/// Whether a binding's denials are enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A deny refuses the connection or statement.
    #[default]
    Enforce,
    /// A deny is logged and audited as "would deny"; nothing is refused.
    Monitor,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// What a plugin failure (trap, timeout, memory blow-up) means for the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// The failure denies.
    #[default]
    Closed,
    /// The failure allows, and is logged.
    Open,
}

impl FailureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureMode::Closed => "closed",
            FailureMode::Open => "open",
        }
    }
}

/// A plugin hook a binding runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// `on-connect`, once per client connection.
    Connect,
    /// `on-query`, once per statement.
    Query,
}

/// The hooks a binding runs on when it does not say.
pub const DEFAULT_HOOKS: [Hook; 2] = [Hook::Connect, Hook::Query];

/// One `[[binding]]`: a plugin, its config, and how its verdicts count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawBinding")]
pub struct Binding {
    /// Unique within the pack, `[a-z0-9][a-z0-9-_.]*`; the plugin name when not written.
    pub id: String,
    /// Plugin name (the component's file stem).
    pub plugin: String,
    /// Version pin: the binding only runs against exactly this plugin version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Overrides the pack's mode for this binding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub failure: FailureMode,
    /// Hooks to run on; both when not written.
    pub hooks: Vec<Hook>,
    /// The plugin config (a TOML table turned into a JSON object).
    pub config: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    id: Option<String>,
    plugin: String,
    version: Option<String>,
    mode: Option<Mode>,
    #[serde(default)]
    failure: FailureMode,
    hooks: Option<Vec<Hook>>,
    #[serde(default = "empty_object", deserialize_with = "deserialize_config")]
    config: Value,
}

impl From<RawBinding> for Binding {
    fn from(r: RawBinding) -> Binding {
        Binding {
            id: r.id.unwrap_or_else(|| r.plugin.clone()),
            plugin: r.plugin,
            version: r.version,
            mode: r.mode,
            failure: r.failure,
            hooks: r.hooks.unwrap_or_else(|| DEFAULT_HOOKS.to_vec()),
            config: r.config,
        }
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

fn deserialize_config<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    let table = toml::Table::deserialize(d)?;
    table_to_json(table, &mut "config".to_string())
        .map(Value::Object)
        .map_err(serde::de::Error::custom)
}

/// One `[[tighten]]`: makes a baseline binding stricter for this tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tighten {
    /// Id of the baseline binding.
    pub binding: String,
    /// Only `enforce` is allowed (monitor → enforce).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Only `closed` is allowed (open → closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureMode>,
}

impl Pack {
    /// Parses and validates a pack. `source_name` (usually the path) names the file in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Pack, PackErrors> {
        let mut pack: Pack = toml::from_str(text).map_err(|e| PackError::Syntax {
            file: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        pack.source = source_name.to_string();
        pack.validate()?;
        Ok(pack)
    }

    /// Reads, parses and validates the pack at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Pack, PackErrors> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PackError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// The pack as JSON, the form `docs/schema/pack.schema.json` describes.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The reference to binding number `index` (0-based) used in errors.
    pub fn binding_ref(&self, index: usize) -> BindingRef {
        BindingRef {
            id: self
                .bindings
                .get(index)
                .map(|b| b.id.clone())
                .unwrap_or_default(),
            index: index + 1,
        }
    }

    /// Checks the rules serde cannot: format version, tenant iff `kind = "tenant"`, unique
    /// well-formed ids, `audit_sample` in 0..=1, hooks, version pins, and that `[[tighten]]`
    /// only appears in tenant packs and only tightens.
    pub fn validate(&self) -> Result<(), PackErrors> {
        let file = self.source.as_str();
        let mut errs = PackErrors::default();
        let mut bad = |at: Where, msg: String| errs.0.push(PackError::invalid(file, at, msg));

        if self.version != PACK_FORMAT_VERSION {
            bad(
                Where::field("version"),
                format!(
                    "format version {} is not supported; this gateway reads version {PACK_FORMAT_VERSION}",
                    self.version
                ),
            );
        }
        if self.name.trim().is_empty() {
            bad(Where::field("name"), "must not be empty".into());
        }
        match (self.kind, &self.tenant) {
            (PackKind::Tenant, None) => bad(
                Where::field("tenant"),
                "a pack with kind = \"tenant\" must name its tenant (tenant = \"...\")".into(),
            ),
            (PackKind::Tenant, Some(t)) if !is_tenant_name(t) => bad(
                Where::field("tenant"),
                format!("{t:?} is not a tenant name (non-empty, no spaces or control characters)"),
            ),
            (PackKind::Baseline, Some(_)) => bad(
                Where::field("tenant"),
                "a baseline pack applies to every tenant and must not name one; use kind = \"tenant\" for a tenant's pack".into(),
            ),
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.audit_sample) {
            bad(
                Where::field("audit_sample"),
                format!(
                    "{} is outside 0..=1 (a fraction of allowed queries)",
                    self.audit_sample
                ),
            );
        }

        let mut first_at: HashMap<&str, usize> = HashMap::new();
        for (i, b) in self.bindings.iter().enumerate() {
            let r = self.binding_ref(i);
            if !is_binding_id(&b.id) {
                bad(
                    Where::binding(r.clone(), "id"),
                    format!(
                        "{:?} is not a valid binding id (lowercase letters, digits, '-', '_' and '.', starting with a letter or digit, at most {MAX_ID_LEN} characters)",
                        b.id
                    ),
                );
            }
            if let Some(&prev) = first_at.get(b.id.as_str()) {
                bad(
                    Where::binding(r.clone(), "id"),
                    format!(
                        "duplicate id: binding #{} already has id {:?}; give one of them a distinct `id`",
                        prev + 1,
                        b.id
                    ),
                );
            } else {
                first_at.insert(&b.id, i);
            }
            if !is_plugin_name(&b.plugin) {
                bad(
                    Where::binding(r.clone(), "plugin"),
                    format!("{:?} is not a valid plugin name", b.plugin),
                );
            }
            if let Some(v) = &b.version
                && !is_version(v)
            {
                bad(
                    Where::binding(r.clone(), "version"),
                    format!("{v:?} is not a version like \"1.2.3\""),
                );
            }
            if b.hooks.is_empty() {
                bad(
                    Where::binding(r.clone(), "hooks"),
                    "an empty list would never run the binding; remove the binding or list \"connect\" and/or \"query\"".into(),
                );
            }
            let mut seen = HashSet::new();
            for h in &b.hooks {
                if !seen.insert(h) {
                    bad(
                        Where::binding(r.clone(), "hooks"),
                        format!("{:?} is listed twice", hook_name(*h)),
                    );
                }
            }
            if !b.config.is_object() {
                bad(
                    Where::binding(r.clone(), "config"),
                    "must be a table".into(),
                );
            }
        }

        let mut tightened: HashMap<&str, usize> = HashMap::new();
        for (i, t) in self.tighten.iter().enumerate() {
            let n = i + 1;
            if self.kind == PackKind::Baseline {
                bad(
                    Where::tighten(n, &t.binding, "binding"),
                    "[[tighten]] is only for tenant packs; a baseline pack sets mode and failure on its bindings directly".into(),
                );
            }
            if let Some(&prev) = tightened.get(t.binding.as_str()) {
                bad(
                    Where::tighten(n, &t.binding, "binding"),
                    format!("tighten #{prev} already tightens this binding; merge the two entries"),
                );
            } else {
                tightened.insert(&t.binding, n);
            }
            if let Some(&own) = first_at.get(t.binding.as_str())
                && self.kind == PackKind::Tenant
            {
                bad(
                    Where::tighten(n, &t.binding, "binding"),
                    format!(
                        "names binding #{} of this same pack; [[tighten]] targets baseline bindings, set mode/failure on your own binding directly",
                        own + 1
                    ),
                );
            }
            if t.mode.is_none() && t.failure.is_none() {
                bad(
                    Where::tighten(n, &t.binding, "mode"),
                    "a [[tighten]] entry must set mode = \"enforce\" and/or failure = \"closed\""
                        .into(),
                );
            }
            if t.mode == Some(Mode::Monitor) {
                bad(
                    Where::tighten(n, &t.binding, "mode"),
                    "\"monitor\" would loosen a baseline rule; [[tighten]] can only set mode = \"enforce\"".into(),
                );
            }
            if t.failure == Some(FailureMode::Open) {
                bad(
                    Where::tighten(n, &t.binding, "failure"),
                    "\"open\" would loosen a baseline rule; [[tighten]] can only set failure = \"closed\"".into(),
                );
            }
        }
        errs.into_result(())
    }

    /// Checks every binding against the plugins available: the plugin exists, matches the
    /// version pin, implements the policy world, and the binding config satisfies its
    /// `config_schema` (one error per violation, naming the JSON path).
    pub fn check_plugins<'m>(
        &self,
        lookup: impl Fn(&str) -> Option<&'m PluginManifest>,
    ) -> Result<(), PackErrors> {
        let mut errs = PackErrors::default();
        let mut validators: HashMap<&str, Result<ConfigValidator, String>> = HashMap::new();
        for (i, b) in self.bindings.iter().enumerate() {
            self.check_binding(i, b, &lookup, &mut validators, &mut errs);
        }
        errs.into_result(())
    }

    fn check_binding<'m, 'p>(
        &'p self,
        index: usize,
        b: &'p Binding,
        lookup: &impl Fn(&str) -> Option<&'m PluginManifest>,
        validators: &mut HashMap<&'p str, Result<ConfigValidator, String>>,
        errs: &mut PackErrors,
    ) {
        let file = self.source.as_str();
        let r = self.binding_ref(index);
        let Some(m) = lookup(&b.plugin) else {
            errs.0.push(PackError::UnknownPlugin {
                file: file.to_string(),
                binding: r,
                plugin: b.plugin.clone(),
            });
            return;
        };
        if let Some(pin) = &b.version
            && *pin != m.version
        {
            errs.0.push(PackError::invalid(
                file,
                Where::binding(r.clone(), "version"),
                format!(
                    "pins {pin:?} but plugin {:?} in the plugin directory is version {:?}",
                    b.plugin, m.version
                ),
            ));
        }
        if m.world != World::Policy {
            errs.0.push(PackError::invalid(
                file,
                Where::binding(r.clone(), "plugin"),
                format!(
                    "{:?} implements the {} world; only policy plugins can be bound in a pack",
                    b.plugin,
                    m.world.as_str()
                ),
            ));
            return;
        }
        let validator = validators.entry(b.plugin.as_str()).or_insert_with(|| {
            m.config_validator().map_err(|e| match e {
                crate::ManifestError::Invalid { problems, .. } => problems.join("; "),
                other => other.to_string(),
            })
        });
        match validator {
            Err(message) => errs.0.push(PackError::invalid(
                file,
                Where::binding(r, "config"),
                format!("cannot be checked: the plugin's {message}"),
            )),
            Ok(v) => {
                if let Err(violations) = v.validate(&b.config) {
                    for v in violations {
                        let path = if v.path.is_empty() {
                            "config".to_string()
                        } else if v.path.starts_with('[') {
                            format!("config{}", v.path)
                        } else {
                            format!("config.{}", v.path)
                        };
                        errs.0.push(PackError::Config {
                            file: file.to_string(),
                            binding: r.clone(),
                            pointer: v.pointer,
                            path,
                            message: v.message,
                        });
                    }
                }
            }
        }
    }
}

fn hook_name(h: Hook) -> &'static str {
    match h {
        Hook::Connect => "connect",
        Hook::Query => "query",
    }
}

/// `[a-z0-9][a-z0-9-_.]*`, at most [`MAX_ID_LEN`] characters.
fn is_binding_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ID_LEN
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.')
        })
}

fn is_tenant_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Pack, String> {
        Pack::parse(text, "p.toml").map_err(|e| e.to_string())
    }

    const HEAD_TENANT: &str = "version = 1\nname = \"t\"\nkind = \"tenant\"\ntenant = \"acme\"\n";

    #[test]
    fn minimal_baseline_and_defaults() {
        let p = parse(
            "version = 1\nname = \"default\"\nkind = \"baseline\"\n[[binding]]\nplugin = \"sqli-guard\"\n",
        )
        .unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.audit_sample, 0.0);
        assert_eq!(p.source, "p.toml");
        let b = &p.bindings[0];
        assert_eq!(b.id, "sqli-guard");
        assert_eq!(b.failure, FailureMode::Closed);
        assert_eq!(b.hooks, DEFAULT_HOOKS);
        assert_eq!(b.mode, None);
        assert_eq!(b.config, json!({}));
    }

    #[test]
    fn config_table_becomes_json() {
        let p = parse(&format!(
            "{HEAD_TENANT}[[binding]]\nid = \"a\"\nplugin = \"acl\"\nhooks = [\"query\"]\n\
             [binding.config]\nn = 3\nf = 0.5\nat = 2030-01-02T03:04:05Z\nlist = [{{ x = true }}]\n"
        ))
        .unwrap();
        assert_eq!(
            p.bindings[0].config,
            json!({"n": 3, "f": 0.5, "at": "2030-01-02T03:04:05Z", "list": [{"x": true}]})
        );
        assert_eq!(p.bindings[0].hooks, [Hook::Query]);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = parse("version = 1\nname = \n").unwrap_err();
        assert!(
            e.starts_with("p.toml: TOML parse error at line 2, column 8"),
            "{e}"
        );
        let e = parse(&format!(
            "{HEAD_TENANT}[[binding]]\nplugin = \"a\"\nmod = \"x\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 7"), "{e}");
        assert!(e.contains("unknown field `mod`"), "{e}");
        let e = parse(&format!(
            "{HEAD_TENANT}[[binding]]\nplugin = \"a\"\nconfig = 3\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 7"), "{e}");
        let e = parse(&format!(
            "{HEAD_TENANT}[[binding]]\nplugin = \"a\"\nconfig = {{ x = inf }}\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("config.x: inf cannot be represented in JSON"),
            "{e}"
        );
        let e =
            parse("version = 1\nname = \"a\"\nkind = \"tenant\"\nmode = \"audit\"\n").unwrap_err();
        assert!(e.contains("unknown variant `audit`"), "{e}");
    }

    #[test]
    fn validate_collects_everything() {
        let e = parse(
            "version = 2\nname = \"\"\nkind = \"baseline\"\ntenant = \"x\"\naudit_sample = 1.5\n\
             [[binding]]\nplugin = \"acl\"\n\
             [[binding]]\nplugin = \"acl\"\nhooks = []\nversion = \"1\"\n\
             [[binding]]\nid = \"Bad\"\nplugin = \"Bad\"\nhooks = [\"query\", \"query\"]\n\
             [[tighten]]\nbinding = \"zz\"\nmode = \"enforce\"\n",
        )
        .unwrap_err();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines,
            [
                "p.toml: version: format version 2 is not supported; this gateway reads version 1",
                "p.toml: name: must not be empty",
                "p.toml: tenant: a baseline pack applies to every tenant and must not name one; use kind = \"tenant\" for a tenant's pack",
                "p.toml: audit_sample: 1.5 is outside 0..=1 (a fraction of allowed queries)",
                "p.toml: binding \"acl\" (#2): id: duplicate id: binding #1 already has id \"acl\"; give one of them a distinct `id`",
                "p.toml: binding \"acl\" (#2): version: \"1\" is not a version like \"1.2.3\"",
                "p.toml: binding \"acl\" (#2): hooks: an empty list would never run the binding; remove the binding or list \"connect\" and/or \"query\"",
                "p.toml: binding \"Bad\" (#3): id: \"Bad\" is not a valid binding id (lowercase letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64 characters)",
                "p.toml: binding \"Bad\" (#3): plugin: \"Bad\" is not a valid plugin name",
                "p.toml: binding \"Bad\" (#3): hooks: \"query\" is listed twice",
                "p.toml: tighten #1 (binding \"zz\"): binding: [[tighten]] is only for tenant packs; a baseline pack sets mode and failure on its bindings directly",
            ]
        );
    }

    #[test]
    fn tenant_needs_tenant() {
        let e = parse("version = 1\nname = \"t\"\nkind = \"tenant\"\n").unwrap_err();
        assert_eq!(
            e,
            "p.toml: tenant: a pack with kind = \"tenant\" must name its tenant (tenant = \"...\")"
        );
        let e =
            parse("version = 1\nname = \"t\"\nkind = \"tenant\"\ntenant = \"a b\"\n").unwrap_err();
        assert!(e.contains("is not a tenant name"), "{e}");
    }

    #[test]
    fn tighten_rules() {
        let e = parse(&format!(
            "{HEAD_TENANT}[[binding]]\nid = \"mine\"\nplugin = \"acl\"\n\
             [[tighten]]\nbinding = \"sqli\"\nmode = \"monitor\"\nfailure = \"open\"\n\
             [[tighten]]\nbinding = \"sqli\"\nfailure = \"closed\"\n\
             [[tighten]]\nbinding = \"mine\"\n"
        ))
        .unwrap_err();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines,
            [
                "p.toml: tighten #1 (binding \"sqli\"): mode: \"monitor\" would loosen a baseline rule; [[tighten]] can only set mode = \"enforce\"",
                "p.toml: tighten #1 (binding \"sqli\"): failure: \"open\" would loosen a baseline rule; [[tighten]] can only set failure = \"closed\"",
                "p.toml: tighten #2 (binding \"sqli\"): binding: tighten #1 already tightens this binding; merge the two entries",
                "p.toml: tighten #3 (binding \"mine\"): binding: names binding #1 of this same pack; [[tighten]] targets baseline bindings, set mode/failure on your own binding directly",
                "p.toml: tighten #3 (binding \"mine\"): mode: a [[tighten]] entry must set mode = \"enforce\" and/or failure = \"closed\"",
            ]
        );
    }

    fn manifest(name: &str, schema: Value) -> PluginManifest {
        PluginManifest {
            config_schema: schema,
            ..PluginManifest::default_for(name)
        }
    }

    #[test]
    fn check_plugins_reports_all_bindings() {
        let p = parse(&format!(
            "{HEAD_TENANT}\
             [[binding]]\nplugin = \"nope\"\n\
             [[binding]]\nplugin = \"acl\"\nversion = \"9.9.9\"\nconfig = {{ users = [\"a\", 3] }}\n\
             [[binding]]\nplugin = \"stix\"\n\
             [[binding]]\nid = \"acl2\"\nplugin = \"acl\"\nversion = \"0.0.0\"\nconfig = {{ users = [] }}\n"
        ))
        .unwrap();
        let acl = manifest(
            "acl",
            json!({"type": "object", "properties": {"users": {"type": "array", "items": {"type": "string"}}}, "required": ["users"]}),
        );
        let stix = PluginManifest {
            world: World::FeedParser,
            ..PluginManifest::default_for("stix")
        };
        let e = p
            .check_plugins(|name| match name {
                "acl" => Some(&acl),
                "stix" => Some(&stix),
                _ => None,
            })
            .unwrap_err()
            .to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(
            lines,
            [
                "p.toml: binding \"nope\" (#1): plugin: \"nope\" not found in the plugin directory",
                "p.toml: binding \"acl\" (#2): version: pins \"9.9.9\" but plugin \"acl\" in the plugin directory is version \"0.0.0\"",
                "p.toml: binding \"acl\" (#2): config.users[1]: 3 is not of type \"string\"",
                "p.toml: binding \"stix\" (#3): plugin: \"stix\" implements the feed-parser world; only policy plugins can be bound in a pack",
            ]
        );
    }

    #[test]
    fn check_plugins_broken_schema() {
        let p = parse(&format!("{HEAD_TENANT}[[binding]]\nplugin = \"acl\"\n")).unwrap();
        let acl = manifest("acl", json!({"type": 5}));
        let e = p.check_plugins(|_| Some(&acl)).unwrap_err().to_string();
        assert!(
            e.starts_with("p.toml: binding \"acl\" (#1): config: cannot be checked: the plugin's config_schema.type: not a valid JSON Schema"),
            "{e}"
        );
    }

    #[test]
    fn serializes_back_to_toml_and_json() {
        let p = parse(&format!(
            "{HEAD_TENANT}mode = \"monitor\"\n[[binding]]\nplugin = \"acl\"\nconfig = {{ a = 1 }}\n\
             [[tighten]]\nbinding = \"sqli\"\nmode = \"enforce\"\n"
        ))
        .unwrap();
        let again = parse(&toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(p, again);
        assert_eq!(p.to_json()["binding"][0]["config"], json!({"a": 1}));
    }
}
