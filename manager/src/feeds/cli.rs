//! `articdbm-manager feed parse`: runs the same sandboxed parser the manager uses on a local
//! file and prints one JSON line per indicator, then a summary line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use super::sandbox::{Limits, Sandbox};
use super::{Format, builtin_parsers, manifest_limits};

pub struct ParseOptions {
    pub format: Format,
    /// A feed-parser component to use instead of the built-in one (its manifest beside it,
    /// `NAME.json`, is read for limits when present).
    pub parser: Option<PathBuf>,
    pub default_confidence: Option<u8>,
    /// A document, or for `misp-feed` a directory with `manifest.json`.
    pub file: PathBuf,
}

/// The documents to parse: the file, or a MISP feed directory's events.
fn documents(format: Format, path: &Path) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    if format != Format::MispFeed {
        let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        return Ok(vec![(path.to_path_buf(), bytes)]);
    }
    let manifest = path.join("manifest.json");
    let body = std::fs::read(&manifest).with_context(|| format!("{}", manifest.display()))?;
    let events = super::fetch::manifest_events(&body)
        .map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
    events
        .into_iter()
        .map(|uuid| {
            let p = path.join(format!("{uuid}.json"));
            let bytes = std::fs::read(&p).with_context(|| format!("{}", p.display()))?;
            Ok((p, bytes))
        })
        .collect()
}

/// Parses and prints; returns an error (nothing printed for that document) when the parser
/// refuses a document.
pub fn parse(opts: ParseOptions, out: &mut impl Write) -> anyhow::Result<()> {
    let (name, component, limits) = match &opts.parser {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("--parser {}", p.display()))?;
            let limits = std::fs::read_to_string(p.with_extension("json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .map(|m| manifest_limits(&m))
                .unwrap_or_default();
            (p.display().to_string(), bytes, limits)
        }
        None => {
            let want = opts.format.default_parser();
            let (name, bytes, manifest) = builtin_parsers()
                .into_iter()
                .find(|(n, _, _)| *n == want)
                .ok_or_else(|| anyhow::anyhow!("no built-in parser {want}"))?;
            let limits: Limits = serde_json::from_str::<serde_json::Value>(manifest)
                .map(|m| manifest_limits(&m))
                .unwrap_or_default();
            (name.to_string(), bytes.to_vec(), limits)
        }
    };
    let sandbox = Sandbox::new()?;
    let component = Arc::new(component);
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut unsupported: BTreeMap<String, u64> = BTreeMap::new();
    let (mut total, mut revoked, mut negated) = (0u64, 0u64, 0u64);
    let docs = documents(opts.format, &opts.file)?;
    let count = docs.len();
    for (path, bytes) in docs {
        let result = sandbox
            .parse(
                &name,
                &component,
                limits,
                opts.format.parser_format(),
                &bytes,
            )
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        for (k, n) in result.unsupported {
            *unsupported.entry(k).or_default() += u64::from(n);
        }
        for i in result.indicators {
            if i.negated {
                negated += 1;
                continue;
            }
            total += 1;
            *by_type.entry(i.kind).or_default() += 1;
            let mut line = json!({
                "type": i.kind,
                "value": i.value,
                "confidence": i.confidence.or(opts.default_confidence),
                "valid_until": i.valid_until.map(|ms| crate::validate::rfc3339(ms.min(i64::MAX as u64) as i64)),
                "source_id": i.source_id,
            });
            if i.revoked {
                revoked += 1;
                line["revoked"] = json!(true);
            }
            writeln!(out, "{line}")?;
        }
    }
    let summary = json!({"summary": {
        "documents": count,
        "indicators": total,
        "by_type": by_type,
        "revoked": revoked,
        "negated": negated,
        "unsupported_total": unsupported.values().sum::<u64>(),
        "unsupported": unsupported,
    }});
    writeln!(out, "{summary}")?;
    Ok(())
}
