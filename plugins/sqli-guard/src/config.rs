//! The guard's configuration: strict JSON (unknown fields refused), validated after parsing.
//! `manifest.json` carries the same shape as a JSON Schema.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Every rule the guard can report, in evaluation order.
pub const RULES: &[&str] = &[
    "sqli.stacked",
    "sqli.time-delay",
    "sqli.file-access",
    "sqli.remote",
    "sqli.error-probe",
    "sqli.inline-query",
    "sqli.union",
    "sqli.catalog-probe",
    "sqli.server-probe",
    "sqli.tautology",
    "sqli.blind-extraction",
    "sqli.encoded-string",
    "sqli.comment-obfuscation",
    "sqli.comment-truncation",
    "sqli.unparsable",
];

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse the statement.
    Deny,
    /// Let it through, record the finding.
    Audit,
    /// Ignore the rule.
    Off,
}

/// The configuration as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    mode_per_rule: BTreeMap<String, Mode>,
    #[serde(default)]
    disabled_rules: Vec<String>,
    #[serde(default)]
    deny_unparsable: bool,
    #[serde(default = "yes")]
    allow_stacked_ddl: bool,
    #[serde(default = "default_min_score")]
    min_score: f32,
}

fn yes() -> bool {
    true
}

fn default_min_score() -> f32 {
    0.7
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mode of each rule, indexed like [`RULES`].
    modes: [Mode; RULES.len()],
    /// Refuse every statement the host could not parse, not only those with other signals.
    pub deny_unparsable: bool,
    /// Allow multi-statement strings that start with DDL, transaction control or session
    /// settings (migrations).
    pub allow_stacked_ddl: bool,
    /// Weak signals are summed; a sum at or above this fires.
    pub min_score: f32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            modes: [Mode::Deny; RULES.len()],
            deny_unparsable: false,
            allow_stacked_ddl: true,
            min_score: default_min_score(),
        }
    }
}

fn index(rule: &str) -> Option<usize> {
    RULES.iter().position(|r| *r == rule)
}

impl Config {
    /// Parses and validates the binding's JSON config.
    pub fn parse(json: &str) -> Result<Config, String> {
        let raw: Raw = articdbm_plugin_sdk::config::parse(json)?;
        let mut c = Config {
            deny_unparsable: raw.deny_unparsable,
            allow_stacked_ddl: raw.allow_stacked_ddl,
            min_score: raw.min_score,
            ..Config::default()
        };
        if !(c.min_score.is_finite() && c.min_score > 0.0 && c.min_score <= 1.0) {
            return Err(format!(
                "invalid config: min_score must be in (0, 1], got {}",
                raw.min_score
            ));
        }
        for (rule, mode) in &raw.mode_per_rule {
            let i = index(rule).ok_or_else(|| unknown(rule, "mode_per_rule"))?;
            c.modes[i] = *mode;
        }
        for rule in &raw.disabled_rules {
            let i = index(rule).ok_or_else(|| unknown(rule, "disabled_rules"))?;
            c.modes[i] = Mode::Off;
        }
        Ok(c)
    }

    /// The mode of `rule` (an entry of [`RULES`]; anything else is off).
    pub fn mode(&self, rule: &str) -> Mode {
        index(rule).map_or(Mode::Off, |i| self.modes[i])
    }
}

fn unknown(rule: &str, field: &str) -> String {
    let shown: String = rule.chars().take(64).collect();
    format!(
        "invalid config: {field} names unknown rule {shown:?}; known rules: {}",
        RULES.join(", ")
    )
}
