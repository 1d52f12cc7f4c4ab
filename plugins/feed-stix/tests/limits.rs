//! Hostile and large documents: deep nesting, huge strings, many indicators, and output that
//! would outgrow the sandbox.

mod common;

use std::time::Instant;

use articdbm_feed_sdk::IndicatorKind::Address;
use common::*;
use serde_json::json;

const HUGE: usize = 200 * 1024 * 1024;
const DEEP: usize = 10_000;

/// `prefix`, then `len` bytes of `a`, then `suffix`.
fn with_huge_string(prefix: &str, len: usize, suffix: &str) -> Vec<u8> {
    // `vec![byte; n]` is a memset even in debug builds.
    let mut document = vec![b'a'; prefix.len() + len + suffix.len()];
    document[..prefix.len()].copy_from_slice(prefix.as_bytes());
    document[prefix.len() + len..].copy_from_slice(suffix.as_bytes());
    document
}

fn nested(open: &str, close: &str, depth: usize) -> String {
    format!("{}{}", open.repeat(depth), close.repeat(depth))
}

const INDICATOR_HEAD: &str = r#"{"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator", "id": "indicator--1", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "#;

#[test]
fn deep_nesting_at_the_top_is_a_clean_error() {
    let (message, location) = parse_err(nested("[", "]", DEEP).as_bytes());
    assert_eq!(
        message,
        "invalid type: sequence, expected a STIX object (in /0)"
    );
    assert_eq!(location.as_deref(), Some("line 1 column 1"));
    let (message, _) = parse_err(format!("{{\"objects\": {}}}", nested("[", "]", DEEP)).as_bytes());
    assert_eq!(
        message,
        "invalid type: sequence, expected a STIX object (in /objects/0)"
    );
    let (message, _) = parse_err(
        nested("{\"a\": ", "}", DEEP)
            .replace("\"a\": }", "\"a\": 1}")
            .as_bytes(),
    );
    assert!(
        message.ends_with("found an object without \"type\", \"objects\", \"more\" or \"next\""),
        "{message}"
    );
}

#[test]
fn deep_nesting_in_a_field_that_is_read_is_a_clean_error() {
    let labels = format!(
        "{INDICATOR_HEAD}\"pattern\": \"[ipv4-addr:value = '198.51.100.1']\", \"labels\": {}}}]}}",
        nested("[", "]", DEEP)
    );
    assert_eq!(
        parse_err(labels.as_bytes()),
        (
            "\"labels\" entries must be strings".to_string(),
            Some("/objects/0/labels/0".to_string())
        )
    );
    let pattern = format!(
        "{INDICATOR_HEAD}\"pattern\": {}}}]}}",
        nested("{\"a\": [", "]}", DEEP)
    );
    assert_eq!(
        parse_err(pattern.as_bytes()),
        (
            "\"pattern\" must be a string, found an object".to_string(),
            Some("/objects/0/pattern".to_string())
        )
    );
}

#[test]
fn deep_nesting_in_a_skipped_field_is_skipped_without_recursion() {
    let document = format!(
        "{INDICATOR_HEAD}\"pattern\": \"[ipv4-addr:value = '198.51.100.1']\", \"x_deep\": {}}}, {{\"type\": \"note\", \"object_refs\": {}}}]}}",
        nested("[", "]", 100 * DEEP),
        nested("{\"a\": [", "]}", DEEP),
    );
    assert_eq!(
        values(&parse_ok(document.as_bytes())),
        [(Address, "198.51.100.1")]
    );
}

#[test]
fn deep_nesting_in_a_pattern_is_a_syntax_error() {
    let pattern = format!(
        "{}[ipv4-addr:value = '198.51.100.1']{}",
        "(".repeat(DEEP),
        ")".repeat(DEEP)
    );
    let output = parse_ok(&bundle(vec![indicator(&pattern)]));
    assert_eq!(unsupported(&output), [("pattern:syntax-error", 1)]);
}

#[test]
fn a_huge_pattern_is_refused_by_name() {
    let document = with_huge_string(
        &format!("{INDICATOR_HEAD}\"pattern\": \"[domain-name:value = '"),
        HUGE,
        "']\"}]}",
    );
    let started = Instant::now();
    let (message, location) = parse_err(&document);
    assert_eq!(
        message,
        format!(
            "\"pattern\" is {} bytes, longer than the limit of 65536 bytes",
            HUGE + 24
        )
    );
    assert_eq!(location.as_deref(), Some("/objects/0/pattern"));
    eprintln!("200 MB pattern refused in {:?}", started.elapsed());
}

#[test]
fn a_huge_string_in_an_unknown_field_is_skipped() {
    let document = with_huge_string(
        &format!(
            "{INDICATOR_HEAD}\"pattern\": \"[ipv4-addr:value = '198.51.100.1']\", \"description\": \""
        ),
        HUGE,
        "\"}]}",
    );
    let started = Instant::now();
    assert_eq!(values(&parse_ok(&document)), [(Address, "198.51.100.1")]);
    eprintln!("200 MB description skipped in {:?}", started.elapsed());
}

#[test]
fn a_huge_label_of_a_skipped_object_is_never_read() {
    let document = with_huge_string(
        r#"[{"type": "malware", "id": "malware--1", "labels": [""#,
        HUGE / 4,
        r#""]}]"#,
    );
    assert!(parse_ok(&document).indicators.is_empty());
}

#[test]
fn a_large_bundle_parses_every_indicator() {
    const COUNT: usize = 100_000;
    let mut document = String::with_capacity(COUNT * 420);
    document.push_str(
        r#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": ["#,
    );
    for i in 0..COUNT {
        if i > 0 {
            document.push(',');
        }
        let (a, b, c) = (i >> 16, (i >> 8) & 255, i & 255);
        document.push_str(&format!(
            r#"{{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-{i:012}", "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "name": "Scanner", "description": "An address seen scanning database ports.", "indicator_types": ["malicious-activity"], "pattern": "[ipv4-addr:value = '10.{a}.{b}.{c}']", "pattern_type": "stix", "pattern_version": "2.1", "valid_from": "2024-01-01T00:00:00Z", "confidence": 75}}"#
        ));
    }
    document.push_str("]}");
    let started = Instant::now();
    let output = parse_ok(document.as_bytes());
    let elapsed = started.elapsed();
    eprintln!(
        "{COUNT} indicators ({} MB) parsed in {elapsed:?}",
        document.len() >> 20
    );
    assert_eq!(output.indicators.len(), COUNT);
    assert!(output.unsupported.is_empty());
    assert_eq!(output.indicators[COUNT - 1].value, "10.1.134.159");
    assert_eq!(
        output.indicators[COUNT - 1].source_id,
        "indicator--00000000-0000-4000-8000-000000099999"
    );
}

#[test]
fn output_that_would_outgrow_the_sandbox_is_refused() {
    // 256 labels of 8 KiB each are 2 MiB per indicator; 200 values make 400 MiB.
    let labels: Vec<String> = (0..256).map(|i| format!("{i:08}").repeat(1024)).collect();
    let addresses: Vec<String> = (0..200).map(|i| format!("'198.51.100.{i}'")).collect();
    let pattern = format!("[ipv4-addr:value IN ({})]", addresses.join(", "));
    let (message, location) = parse_err(&bundle(vec![indicator_with(
        &pattern,
        json!({"labels": labels}),
    )]));
    assert_eq!(
        message,
        "the document yields more indicators than fit in 256 MiB"
    );
    assert_eq!(location.as_deref(), Some("/objects/0"));
}
