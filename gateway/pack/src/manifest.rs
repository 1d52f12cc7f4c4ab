//! Plugin manifests: the `<name>.json` next to `<name>.wasm` in a plugin directory, saying
//! which world the component implements, how it is isolated and limited, and the JSON Schema
//! its binding config must satisfy.
//!
//! ```json
//! { "name": "acl", "version": "0.1.0", "world": "policy", "isolation": "warm",
//!   "limits": { "memory_mib": 32, "deadline_ms": 20 },
//!   "config_schema": { "type": "object" } }
//! ```
//!
//! Everything but `name` and `version` has a default; a component without a manifest file gets
//! [`PluginManifest::default_for`]. The format's JSON Schema is checked in at
//! `docs/schema/plugin-manifest.schema.json`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::dotted_path;

/// Largest `limits.memory_mib` a manifest may ask for.
pub const MAX_MEMORY_MIB: u32 = 1024;
/// Largest `limits.deadline_ms` a manifest may ask for.
pub const MAX_DEADLINE_MS: u32 = 10_000;
/// Longest plugin name (`[a-z0-9][a-z0-9-]{0,62}`).
pub const MAX_NAME_LEN: usize = 63;

/// A plugin manifest. Parse with [`PluginManifest::parse`], which also validates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    /// Plugin name; equals the component's file stem. `[a-z0-9][a-z0-9-]{0,62}`.
    pub name: String,
    /// Plugin version, `MAJOR.MINOR.PATCH` with optional `-pre` / `+build`. Bindings may pin it.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The WIT world the component implements.
    #[serde(default)]
    pub world: World,
    /// Whether instances are reused between calls.
    #[serde(default)]
    pub isolation: Isolation,
    #[serde(default)]
    pub limits: Limits,
    /// JSON Schema of the binding config (`config = {...}` in a pack).
    #[serde(default = "default_config_schema")]
    pub config_schema: Value,
}

/// The world of `articdbm:policy` a component implements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// `policy` or `configurable-policy`: on-connect / on-query hooks.
    #[default]
    Policy,
    /// `feed-parser`: threat-intelligence document parsing.
    FeedParser,
}

impl World {
    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            World::Policy => "policy",
            World::FeedParser => "feed-parser",
        }
    }
}

/// How instances of a plugin are shared between calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// Instances are reused per (tenant, binding) and discarded after a trap.
    #[default]
    Warm,
    /// Every call gets a fresh instance: no state survives between calls.
    Fresh,
}

/// Sandbox limits of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory cap in MiB (1..=1024, default 32).
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u32,
    /// CPU deadline per call in milliseconds (1..=10000, default 20).
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: default_memory_mib(),
            deadline_ms: default_deadline_ms(),
        }
    }
}

fn default_memory_mib() -> u32 {
    32
}

fn default_deadline_ms() -> u32 {
    20
}

fn default_config_schema() -> Value {
    serde_json::json!({ "type": "object" })
}

/// A manifest that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or JSON that does not fit the manifest format (unknown field, wrong type).
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    /// Well-formed but invalid; every problem found is listed.
    #[error("{file}: {}", problems.join("; "))]
    Invalid { file: String, problems: Vec<String> },
}

impl PluginManifest {
    /// Parses and validates a manifest. `source_name` (usually the file path) names the file
    /// in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<PluginManifest, ManifestError> {
        let manifest: PluginManifest =
            serde_json::from_str(text).map_err(|e| ManifestError::Syntax {
                file: source_name.to_string(),
                message: e.to_string(),
            })?;
        manifest
            .problems()
            .map_err(|problems| ManifestError::Invalid {
                file: source_name.to_string(),
                problems,
            })?;
        Ok(manifest)
    }

    /// Reads and parses `path`.
    pub fn load(path: &std::path::Path) -> Result<PluginManifest, ManifestError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError::Syntax {
            file: file.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &file)
    }

    /// The manifest of a component shipped without one: policy world, warm, default limits,
    /// version `0.0.0`, and a config schema accepting any object.
    pub fn default_for(name: &str) -> PluginManifest {
        PluginManifest {
            name: name.to_string(),
            version: "0.0.0".to_string(),
            description: None,
            world: World::Policy,
            isolation: Isolation::Warm,
            limits: Limits::default(),
            config_schema: default_config_schema(),
        }
    }

    /// Checks name, version, limits, and that `config_schema` is a valid JSON Schema.
    pub fn validate(&self) -> Result<(), ManifestError> {
        self.problems().map_err(|problems| ManifestError::Invalid {
            file: format!("manifest of plugin {:?}", self.name),
            problems,
        })
    }

    fn problems(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if !is_plugin_name(&self.name) {
            problems.push(format!(
                "name: {:?} is not a valid plugin name (lowercase letters, digits and '-', starting with a letter or digit, at most {MAX_NAME_LEN} characters)",
                self.name
            ));
        }
        if !is_version(&self.version) {
            problems.push(format!(
                "version: {:?} is not a version like \"1.2.3\"",
                self.version
            ));
        }
        let l = &self.limits;
        if l.memory_mib == 0 || l.memory_mib > MAX_MEMORY_MIB {
            problems.push(format!(
                "limits.memory_mib: {} is outside 1..={MAX_MEMORY_MIB}",
                l.memory_mib
            ));
        }
        if l.deadline_ms == 0 || l.deadline_ms > MAX_DEADLINE_MS {
            problems.push(format!(
                "limits.deadline_ms: {} is outside 1..={MAX_DEADLINE_MS}",
                l.deadline_ms
            ));
        }
        if let Err(e) = self.config_validator_inner() {
            problems.push(e);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Compiles `config_schema`. Do it once per plugin version and reuse the validator.
    pub fn config_validator(&self) -> Result<ConfigValidator, ManifestError> {
        self.config_validator_inner()
            .map_err(|message| ManifestError::Invalid {
                file: format!("manifest of plugin {:?}", self.name),
                problems: vec![message],
            })
    }

    fn config_validator_inner(&self) -> Result<ConfigValidator, String> {
        if !matches!(self.config_schema, Value::Object(_) | Value::Bool(_)) {
            return Err("config_schema: a JSON Schema must be an object or a boolean".to_string());
        }
        jsonschema::validator_for(&self.config_schema)
            .map(|validator| ConfigValidator { validator })
            .map_err(|e| {
                let at = dotted_path(
                    "config_schema",
                    &self.config_schema,
                    e.instance_path().as_str(),
                );
                format!(
                    "{at}: not a valid JSON Schema: {}",
                    truncate(&e.to_string())
                )
            })
    }

    /// Validates a binding config against `config_schema` (compiling it first; prefer
    /// [`PluginManifest::config_validator`] when validating many configs).
    pub fn validate_config(&self, config: &Value) -> Result<(), Vec<ConfigViolation>> {
        match self.config_validator_inner() {
            Ok(v) => v.validate(config),
            Err(message) => Err(vec![ConfigViolation {
                pointer: String::new(),
                path: String::new(),
                message: format!("the plugin's {message}"),
            }]),
        }
    }
}

/// A compiled `config_schema`.
pub struct ConfigValidator {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for ConfigValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigValidator").finish_non_exhaustive()
    }
}

impl ConfigValidator {
    /// Every violation of the schema in `config`, in the order the validator reports them.
    pub fn validate(&self, config: &Value) -> Result<(), Vec<ConfigViolation>> {
        let violations: Vec<ConfigViolation> = self
            .validator
            .iter_errors(config)
            .map(|e| {
                let pointer = e.instance_path().as_str().to_string();
                ConfigViolation {
                    path: dotted_path("", config, &pointer),
                    pointer,
                    message: truncate(&message(&e)),
                }
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// The validator's message, except that `enum` lists every allowed value (jsonschema names
/// three and counts the rest; an operator fixing a config wants to see them all).
fn message(e: &jsonschema::ValidationError<'_>) -> String {
    if let jsonschema::error::ValidationErrorKind::Enum { options } = e.kind()
        && let Value::Array(options) = &**options
        && options.len() <= MAX_LISTED_OPTIONS
    {
        let shown: Vec<String> = options.iter().map(Value::to_string).collect();
        return format!("{} is not one of {}", e.instance(), shown.join(", "));
    }
    e.to_string()
}

/// Enums with more values than this keep jsonschema's shortened message.
const MAX_LISTED_OPTIONS: usize = 16;

/// One way a config breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigViolation {
    /// JSON pointer of the offending value inside the config ("" for the config itself),
    /// e.g. `/grants/0/actions/1`.
    pub pointer: String,
    /// The same location as a dotted path, e.g. `grants[0].actions[1]` ("" for the root).
    pub path: String,
    /// The schema validator's message.
    pub message: String,
}

impl std::fmt::Display for ConfigViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// Longest validator message kept; messages quote the offending value, which can be large.
const MAX_MESSAGE: usize = 300;

fn truncate(s: &str) -> String {
    if s.len() <= MAX_MESSAGE {
        return s.to_string();
    }
    let mut end = MAX_MESSAGE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `[a-z0-9][a-z0-9-]{0,62}`
pub(crate) fn is_plugin_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_LEN
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// `MAJOR.MINOR.PATCH` with an optional `-prerelease` and `+build` of `[0-9A-Za-z.-]`.
pub(crate) fn is_version(s: &str) -> bool {
    let (core, rest) = match s.find(['-', '+']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
        && (s.len() == core.len()
            || (!rest.is_empty()
                && rest
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'+')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_in() {
        let m = PluginManifest::parse(r#"{"name":"acl","version":"0.1.0"}"#, "acl.json").unwrap();
        assert_eq!(m.world, World::Policy);
        assert_eq!(m.isolation, Isolation::Warm);
        assert_eq!(m.limits, Limits::default());
        assert_eq!(m.limits.memory_mib, 32);
        assert_eq!(m.limits.deadline_ms, 20);
        assert_eq!(m.config_schema, json!({"type": "object"}));
        let mut d = PluginManifest::default_for("acl");
        d.version = "0.1.0".into();
        assert_eq!(m, d);
        assert!(PluginManifest::default_for("x").validate().is_ok());
    }

    #[test]
    fn full_manifest() {
        let m = PluginManifest::parse(
            r#"{"name":"feed-stix","version":"1.2.3-rc.1","world":"feed-parser","isolation":"fresh",
                "limits":{"memory_mib":256,"deadline_ms":5000},
                "config_schema":{"type":"object","properties":{"a":{"type":"integer"}}}}"#,
            "feed-stix.json",
        )
        .unwrap();
        assert_eq!(m.world, World::FeedParser);
        assert_eq!(m.isolation, Isolation::Fresh);
        assert_eq!(m.limits.memory_mib, 256);
        assert_eq!(m.limits.deadline_ms, 5000);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = PluginManifest::parse(
            r#"{"name":"a","version":"0.1.0","wrold":"policy"}"#,
            "a.json",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("a.json: unknown field `wrold`"), "{s}");
        assert!(s.contains("line 1 column"), "{s}");
        let e = PluginManifest::parse(
            r#"{"name":"a","version":"0.1.0","limits":{"memory":1}}"#,
            "a.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `memory`"), "{e}");
    }

    #[test]
    fn all_problems_are_listed() {
        let e = PluginManifest::parse(
            r#"{"name":"Bad_Name","version":"1.0","limits":{"memory_mib":4096,"deadline_ms":0},
                "config_schema":{"type":"objekt"}}"#,
            "p.json",
        )
        .unwrap_err();
        let ManifestError::Invalid { file, problems } = &e else {
            panic!("{e}")
        };
        assert_eq!(file, "p.json");
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("name: \"Bad_Name\""));
        assert!(problems[1].starts_with("version: \"1.0\""));
        assert_eq!(problems[2], "limits.memory_mib: 4096 is outside 1..=1024");
        assert_eq!(problems[3], "limits.deadline_ms: 0 is outside 1..=10000");
        assert!(
            problems[4].starts_with("config_schema.type: not a valid JSON Schema: "),
            "{}",
            problems[4]
        );
    }

    #[test]
    fn schema_must_be_object_or_bool() {
        let e = PluginManifest::parse(
            r#"{"name":"a","version":"0.1.0","config_schema":[1]}"#,
            "a.json",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("config_schema: a JSON Schema must be"),
            "{e}"
        );
    }

    #[test]
    fn config_violations_name_the_pointer() {
        let m = PluginManifest {
            config_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "grants": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"actions": {"type": "array", "items": {"enum": ["read", "insert"]}}}
                    }},
                    "qps": {"type": "integer", "minimum": 1}
                }
            }),
            ..PluginManifest::default_for("acl")
        };
        let v = m.config_validator().unwrap();
        assert!(
            v.validate(&json!({"grants": [{"actions": ["read"]}]}))
                .is_ok()
        );
        let errs = v
            .validate(&json!({"grants": [{"actions": ["read", "frobnicate"]}], "qps": 0, "x": 1}))
            .unwrap_err();
        let mut shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        shown.sort();
        assert_eq!(
            shown,
            [
                "/: Additional properties are not allowed ('x' was unexpected)",
                "/grants/0/actions/1: \"frobnicate\" is not one of \"read\", \"insert\"",
                "/qps: 0 is less than the minimum of 1",
            ]
        );
        let e = errs.iter().find(|e| e.pointer.contains("actions")).unwrap();
        assert_eq!(e.path, "grants[0].actions[1]");
        assert_eq!(m.validate_config(&json!({"qps": 2})), Ok(()));
    }

    #[test]
    fn versions() {
        for ok in [
            "0.1.0",
            "10.20.30",
            "1.0.0-rc.1",
            "1.0.0+build.5",
            "1.0.0-a+b",
        ] {
            assert!(is_version(ok), "{ok}");
        }
        for bad in [
            "", "1", "1.0", "1.0.0.0", "v1.0.0", "1.0.0-", "1.0.x", "1.0.0 ",
        ] {
            assert!(!is_version(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(is_plugin_name("sqli-guard"));
        assert!(is_plugin_name("0x"));
        assert!(is_plugin_name(&"a".repeat(63)));
        assert!(!is_plugin_name(&"a".repeat(64)));
        for bad in ["", "-a", "A", "a_b", "a.b", "a b"] {
            assert!(!is_plugin_name(bad), "{bad}");
        }
    }
}
