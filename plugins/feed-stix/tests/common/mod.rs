//! Helpers shared by the integration tests: documents built by the STIX 2.1 specification.

#![allow(dead_code)]

use articdbm_feed_sdk::{FeedParser, IndicatorKind, ParseError, ParseOutput};
use articdbm_feed_stix::Parser;
use serde_json::{Value, json};

pub fn parse(document: &[u8]) -> Result<ParseOutput, ParseError> {
    Parser::parse("stix", document)
}

pub fn parse_ok(document: &[u8]) -> ParseOutput {
    match parse(document) {
        Ok(output) => output,
        Err(e) => panic!("unexpected error: {} at {:?}", e.message, e.location),
    }
}

/// The error, as (message, location).
pub fn parse_err(document: &[u8]) -> (String, Option<String>) {
    match parse(document) {
        Ok(output) => panic!("parsed: {} indicators", output.indicators.len()),
        Err(e) => (e.message, e.location),
    }
}

/// A STIX 2.1 indicator object with `pattern`, valid from 2024-01-01.
pub fn indicator(pattern: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--e5b4b6e4-5f4c-4b8e-9d3e-6a7b8c9d0e1f",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z"
    })
}

/// `indicator(pattern)` with `changes` merged in (a null value removes the field).
pub fn indicator_with(pattern: &str, changes: Value) -> Value {
    let mut object = indicator(pattern);
    if let (Some(fields), Some(changes)) = (object.as_object_mut(), changes.as_object()) {
        for (key, value) in changes {
            if value.is_null() {
                fields.remove(key);
            } else {
                fields.insert(key.clone(), value.clone());
            }
        }
    }
    object
}

/// A STIX bundle of `objects`, as bytes.
pub fn bundle(objects: Vec<Value>) -> Vec<u8> {
    let document = json!({
        "type": "bundle",
        "id": "bundle--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "objects": objects
    });
    serde_json::to_vec_pretty(&document).unwrap_or_default()
}

/// The (kind, value) pairs of the output, in order.
pub fn values(output: &ParseOutput) -> Vec<(IndicatorKind, &str)> {
    output
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect()
}

/// The unsupported counts, sorted by kind.
pub fn unsupported(output: &ParseOutput) -> Vec<(&str, u32)> {
    output
        .unsupported
        .iter()
        .map(|u| (u.kind.as_str(), u.count))
        .collect()
}
