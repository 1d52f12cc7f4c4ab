//! Whole documents: the fixture bundle, the accepted top-level shapes, and what each
//! indicator field becomes.

mod common;

use articdbm_feed_sdk::IndicatorKind::{Address, Domain, Email, Url, User};
use articdbm_feed_sdk::{FeedParser, Indicator};
use articdbm_feed_stix::Parser;
use common::*;
use serde_json::json;

const JAN_2017: u64 = 1_483_228_800_000;
const JAN_2024: u64 = 1_704_067_200_000;
const FEB_2024: u64 = 1_706_745_600_000;
const MAR_2024: u64 = 1_709_251_200_000;
const JUN_2024: u64 = 1_717_200_000_000;
const JAN_2025: u64 = 1_735_689_600_000;

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bundle.json"
    ))
    .unwrap_or_default()
}

fn find<'o>(indicators: &'o [Indicator], value: &str) -> &'o Indicator {
    indicators
        .iter()
        .find(|i| i.value == value)
        .unwrap_or_else(|| panic!("no indicator {value}"))
}

#[test]
fn the_fixture_bundle_yields_its_enforceable_indicators() {
    let output = parse_ok(&fixture());
    assert_eq!(
        values(&output),
        [
            (Address, "198.51.100.7"),
            (Address, "203.0.113.0/24"),
            (Domain, "login-example.test"),
            (Domain, "secure-update.example"),
            (Url, "http://malware.example/payload?id=1"),
            (User, "svc_backup"),
            (User, "mallory"),
            (Email, "attacker@evil.example"),
            (Email, "ceo@evil.example"),
            (Address, "2001:db8:dead:beef::/64"),
            (Address, "192.0.2.66"),
        ]
    );
    assert_eq!(
        unsupported(&output),
        [
            ("domain-name:value LIKE", 1),
            ("file:hashes", 1),
            ("ipv4-addr:value:invalid-value", 1),
            ("pattern:and", 1),
            ("pattern:followedby", 1),
            ("pattern:syntax-error", 1),
            ("pattern_type:sigma", 1),
            ("pattern_type:snort", 1),
        ]
    );
}

#[test]
fn the_fixture_metadata_is_kept() {
    let output = parse_ok(&fixture());
    let c2 = find(&output.indicators, "198.51.100.7");
    assert_eq!(
        c2.source_id,
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    );
    assert_eq!(c2.confidence, Some(80));
    assert_eq!(
        (c2.valid_from, c2.valid_until),
        (Some(JAN_2024), Some(JAN_2025))
    );
    assert!(!c2.revoked && !c2.negated);
    assert_eq!(
        c2.labels,
        ["malicious-activity", "campaign-x", "attribution"]
    );

    let phishing = find(&output.indicators, "secure-update.example");
    assert!(phishing.revoked);
    assert_eq!(phishing.confidence, None);
    assert_eq!(
        (phishing.valid_from, phishing.valid_until),
        (Some(JAN_2024), None)
    );

    let url = find(&output.indicators, "http://malware.example/payload?id=1");
    assert_eq!(url.labels, ["qualifier:WITHIN 600 SECONDS"]);

    assert_eq!(find(&output.indicators, "mallory").confidence, Some(0));

    let block = find(&output.indicators, "2001:db8:dead:beef::/64");
    assert_eq!(
        (block.valid_from, block.valid_until),
        (Some(MAR_2024), Some(JUN_2024))
    );
    assert_eq!(
        block.labels,
        ["qualifier:START t'2024-03-01T00:00:00Z' STOP t'2025-06-01T00:00:00Z'"]
    );

    let stix20 = find(&output.indicators, "192.0.2.66");
    assert_eq!(stix20.valid_from, Some(JAN_2017));
    assert_eq!(stix20.labels, ["malicious-activity"]);
}

#[test]
fn a_taxii_envelope_and_a_bare_array_are_read_too() {
    let objects = json!([indicator("[ipv4-addr:value = '198.51.100.1']")]);
    let envelope = json!({"more": true, "next": "token-2", "objects": objects});
    let output = parse_ok(envelope.to_string().as_bytes());
    assert_eq!(values(&output), [(Address, "198.51.100.1")]);
    let output = parse_ok(objects.to_string().as_bytes());
    assert_eq!(values(&output), [(Address, "198.51.100.1")]);
}

#[test]
fn empty_collections_are_valid() {
    for document in [
        r#"{"type": "bundle", "id": "bundle--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}"#,
        r#"{"type": "bundle", "id": "bundle--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "objects": []}"#,
        r#"{"more": false}"#,
        "[]",
    ] {
        let output = parse_ok(document.as_bytes());
        assert!(
            output.indicators.is_empty() && output.unsupported.is_empty(),
            "{document}"
        );
    }
}

#[test]
fn only_the_stix_format_is_accepted() {
    let Err(e) = Parser::parse("misp", b"[]") else {
        panic!("misp accepted");
    };
    assert_eq!(
        e.message,
        r#"format "misp" is not supported: this parser reads "stix""#
    );
    assert_eq!(e.location, None);
}

#[test]
fn each_enforceable_kind() {
    let output = parse_ok(&bundle(vec![
        indicator("[ipv4-addr:value = '198.51.100.1']"),
        indicator("[ipv6-addr:value = '2001:db8::1']"),
        indicator("[network-traffic:dst_ref.value = '198.51.100.2']"),
        indicator("[domain-name:value = 'evil.example']"),
        indicator("[url:value = 'https://evil.example/login']"),
        indicator("[user-account:user_id = 'eve']"),
        indicator("[user-account:account_login = 'mallory']"),
        indicator("[email-addr:value = 'eve@evil.example']"),
        indicator("[email-message:sender_ref.value = 'boss@evil.example']"),
    ]));
    assert_eq!(
        values(&output),
        [
            (Address, "198.51.100.1"),
            (Address, "2001:db8::1"),
            (Address, "198.51.100.2"),
            (Domain, "evil.example"),
            (Url, "https://evil.example/login"),
            (User, "eve"),
            (User, "mallory"),
            (Email, "eve@evil.example"),
            (Email, "boss@evil.example"),
        ]
    );
    assert!(output.unsupported.is_empty());
}

#[test]
fn cidr_blocks_in_lists_and_boolean_structure() {
    let output = parse_ok(&bundle(vec![
        indicator("[ipv4-addr:value ISSUBSET '10.20.30.40/16']"),
        indicator("[ipv4-addr:value = '192.0.2.0/24']"),
        indicator("[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2', '198.51.100.1')]"),
        indicator("[domain-name:value = 'a.example' OR url:value = 'http://b.example/']"),
        indicator("[domain-name:value = 'c.example'] OR [domain-name:value = 'd.example']"),
        indicator("[domain-name:value = 'e.example' AND url:value = 'http://e.example/']"),
        indicator("[domain-name:value = 'f.example'] AND [domain-name:value = 'g.example']"),
    ]));
    assert_eq!(
        values(&output),
        [
            (Address, "10.20.0.0/16"),
            (Address, "192.0.2.0/24"),
            (Address, "198.51.100.1"),
            (Address, "198.51.100.2"),
            (Domain, "a.example"),
            (Url, "http://b.example/"),
            (Domain, "c.example"),
            (Domain, "d.example"),
        ]
    );
    assert_eq!(unsupported(&output), [("pattern:and", 2)]);
}

#[test]
fn every_unsupported_kind_is_counted() {
    let output = parse_ok(&bundle(vec![
        indicator("[ipv4-addr:value != '198.51.100.1']"),
        indicator("[ipv4-addr:value NOT = '198.51.100.1']"),
        indicator("[domain-name:value LIKE 'evil%']"),
        indicator("[domain-name:value LIKE 'bad%']"),
        indicator("[url:value MATCHES '^https?://evil']"),
        indicator("[ipv4-addr:value ISSUPERSET '198.51.100.1']"),
        indicator("[ipv4-addr:value >= '198.51.100.1']"),
        indicator("[EXISTS email-addr:value]"),
        indicator(
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        ),
        indicator("[process:name = 'psql']"),
        indicator("[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software']"),
        indicator("[ipv4-addr:value = 'not-an-address']"),
        indicator(
            "[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.2']",
        ),
        indicator("[ipv4-addr:value = '198.51.100.1' AND file:name = 'x']"),
        indicator("[ipv4-addr:value IN ()]"),
        indicator("[ipv4-addr:value = '198.51.100.1'"),
        indicator_with(
            "rule evil { condition: true }",
            json!({"pattern_type": "yara"}),
        ),
        indicator_with(
            "alert tcp any any -> any 5432",
            json!({"pattern_type": "suricata"}),
        ),
        indicator_with("pg_dump", json!({"pattern_type": "pcre"})),
    ]));
    assert!(output.indicators.is_empty());
    assert_eq!(
        unsupported(&output),
        [
            ("domain-name:value LIKE", 2),
            ("email-addr:value EXISTS", 1),
            ("file:hashes", 1),
            ("ipv4-addr:value !=", 1),
            ("ipv4-addr:value >=", 1),
            ("ipv4-addr:value ISSUPERSET", 1),
            ("ipv4-addr:value NOT =", 1),
            ("ipv4-addr:value:invalid-value", 1),
            ("pattern:and", 1),
            ("pattern:empty", 1),
            ("pattern:followedby", 1),
            ("pattern:syntax-error", 1),
            ("pattern_type:pcre", 1),
            ("pattern_type:suricata", 1),
            ("pattern_type:yara", 1),
            ("process:name", 1),
            ("url:value MATCHES", 1),
            ("windows-registry-key:key", 1),
        ]
    );
}

#[test]
fn qualifiers_are_labels_and_start_stop_narrows_the_window() {
    let output = parse_ok(&bundle(vec![
        indicator_with(
            "[ipv4-addr:value = '198.51.100.1'] REPEATS 3 TIMES WITHIN 60 SECONDS",
            json!({"labels": ["scanner"]}),
        ),
        indicator_with(
            "[ipv4-addr:value = '198.51.100.2'] START t'2023-01-01T00:00:00Z' STOP t'2024-03-01T00:00:00Z'",
            json!({"valid_from": "2024-02-01T00:00:00Z", "valid_until": "2025-01-01T00:00:00Z"}),
        ),
    ]));
    let repeated = &output.indicators[0];
    assert_eq!(
        repeated.labels,
        [
            "scanner",
            "qualifier:REPEATS 3 TIMES",
            "qualifier:WITHIN 60 SECONDS"
        ]
    );
    assert_eq!(
        (repeated.valid_from, repeated.valid_until),
        (Some(JAN_2024), None)
    );
    let windowed = &output.indicators[1];
    assert_eq!(
        (windowed.valid_from, windowed.valid_until),
        (Some(FEB_2024), Some(MAR_2024))
    );
}

#[test]
fn indicator_fields_become_metadata() {
    let output = parse_ok(&bundle(vec![indicator_with(
        "[domain-name:value = 'evil.example']",
        json!({
            "id": "indicator--11111111-2222-4333-8444-555555555555",
            "valid_from": "2024-02-01T01:00:00+01:00",
            "valid_until": "2024-03-01T00:00:00.000Z",
            "revoked": true,
            "confidence": 100,
            "labels": ["a", "b", "a"],
            "indicator_types": ["b", "c"],
        }),
    )]));
    let [item] = output.indicators.as_slice() else {
        panic!("{} indicators", output.indicators.len());
    };
    assert_eq!(
        item.source_id,
        "indicator--11111111-2222-4333-8444-555555555555"
    );
    assert_eq!(
        (item.valid_from, item.valid_until),
        (Some(FEB_2024), Some(MAR_2024))
    );
    assert!(item.revoked);
    assert_eq!(item.confidence, Some(100));
    assert_eq!(item.labels, ["a", "b", "c"]);
}

#[test]
fn optional_fields_may_be_missing_or_null() {
    let output = parse_ok(&bundle(vec![indicator_with(
        "[domain-name:value = 'evil.example']",
        json!({"valid_from": null, "pattern_type": null, "confidence": null}),
    )]));
    let item = &output.indicators[0];
    assert_eq!(
        (item.valid_from, item.valid_until, item.confidence),
        (None, None, None)
    );
    assert!(!item.revoked && item.labels.is_empty());
    let explicit_null = br#"[{"type": "indicator", "id": "indicator--1", "pattern": "[user-account:user_id = 'eve']", "revoked": null, "labels": null}]"#;
    assert_eq!(values(&parse_ok(explicit_null)), [(User, "eve")]);
}

#[test]
fn json_escapes_are_decoded() {
    let document = br#"[{"type": "indic\u0061tor", "id": "indicator--1", "p\u0061ttern": "[url:value = 'http://evil.example/a\\'b'] OR [user-account:user_id = '\u00e9ve']"}]"#;
    let output = parse_ok(document);
    assert_eq!(
        values(&output),
        [(Url, "http://evil.example/a'b"), (User, "\u{e9}ve")]
    );
}

#[test]
fn values_are_kept_once_per_object() {
    let output = parse_ok(&bundle(vec![
        indicator(
            "[domain-name:value = 'a.example' OR domain-name:value = 'A.EXAMPLE.'] OR [domain-name:value = 'a.example']",
        ),
        indicator("[domain-name:value = 'a.example']"),
    ]));
    assert_eq!(
        values(&output),
        [(Domain, "a.example"), (Domain, "a.example")]
    );
}

#[test]
fn other_object_types_are_skipped_whatever_their_fields() {
    let output = parse_ok(&bundle(vec![
        json!({"type": "malware", "id": "malware--1", "confidence": "high", "labels": [1, 2], "pattern": 5}),
        json!({"type": "x-acme-sensor", "id": "x-acme-sensor--1", "revoked": "maybe"}),
        json!({"labels": {"nested": true}, "type": "note", "confidence": 1000}),
        indicator("[ipv4-addr:value = '198.51.100.1']"),
    ]));
    assert_eq!(values(&output), [(Address, "198.51.100.1")]);
    assert!(output.unsupported.is_empty());
}
