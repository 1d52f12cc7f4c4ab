//! Malformed documents: each is refused with an error saying what is wrong and where.

mod common;

use common::*;
use serde_json::json;

fn error_of_indicator(changes: serde_json::Value) -> (String, Option<String>) {
    parse_err(&bundle(vec![
        indicator("[ipv4-addr:value = '198.51.100.1']"),
        indicator_with("[ipv4-addr:value = '198.51.100.2']", changes),
    ]))
}

fn at(pointer: &str) -> Option<String> {
    Some(pointer.to_string())
}

#[test]
fn bad_json_is_located_by_line_and_column() {
    let document = b"{\n  \"type\": \"bundle\",\n  \"objects\": [\n    {\"type\": \"indicator\" \"id\": \"indicator--1\"}\n  ]\n}\n";
    assert_eq!(
        parse_err(document),
        (
            "expected `,` or `}` (in /objects/0)".to_string(),
            Some("line 4 column 26".to_string())
        )
    );
    assert_eq!(
        parse_err(
            b"{\"type\": \"bundle\", \"objects\": [{\"type\": \"indicator\", \"pattern\": \"[ipv4"
        ),
        (
            "EOF while parsing a string (in /objects/0/pattern)".to_string(),
            Some("line 1 column 70".to_string())
        )
    );
    assert_eq!(
        parse_err(b""),
        (
            "EOF while parsing a value".to_string(),
            Some("line 1 column 0".to_string())
        )
    );
    assert_eq!(
        parse_err(b"[] []"),
        (
            "trailing characters".to_string(),
            Some("line 1 column 4".to_string())
        )
    );
    assert_eq!(
        parse_err(b"[{\"type\": \"indicator\", \"pattern\": \"\xff\"}]"),
        (
            "invalid unicode code point (in /0/pattern)".to_string(),
            Some("line 1 column 36".to_string())
        )
    );
}

#[test]
fn the_wrong_top_level_shape_names_what_is_expected() {
    let expected = "expected a STIX bundle ({\"type\": \"bundle\", \"objects\": [...]}), a TAXII 2.1 envelope ({\"objects\": [...]}) or a JSON array of STIX objects";
    for (document, found) in [
        ("\"bundle\"", "invalid type: string \"bundle\", "),
        ("42", "invalid type: integer `42`, "),
        ("null", "invalid type: null, "),
    ] {
        let (message, location) = parse_err(document.as_bytes());
        assert_eq!(message, format!("{found}{expected}"), "{document}");
        assert!(
            location.is_some_and(|l| l.starts_with("line 1 column")),
            "{document}"
        );
    }
    for (document, found) in [
        (
            "{}",
            "found an object without \"type\", \"objects\", \"more\" or \"next\"",
        ),
        (
            "{\"id\": \"bundle--1\", \"items\": []}",
            "found an object without \"type\", \"objects\", \"more\" or \"next\"",
        ),
        (
            "{\"type\": \"indicator\", \"id\": \"indicator--1\", \"pattern\": \"[ipv4-addr:value = '198.51.100.1']\"}",
            "found an object with \"type\" \"indicator\"",
        ),
    ] {
        let (message, _) = parse_err(document.as_bytes());
        assert_eq!(message, format!("{expected}, {found}"), "{document}");
    }
    assert_eq!(
        parse_err(b"{\"type\": \"bundle\", \"objects\": {\"type\": \"indicator\"}}").0,
        "invalid type: map, expected \"objects\" to be an array of STIX objects"
    );
    assert_eq!(
        parse_err(b"{\"objects\": [{\"type\": \"identity\"}, 7]}"),
        (
            "invalid type: integer `7`, expected a STIX object (in /objects/1)".to_string(),
            Some("line 1 column 36".to_string())
        )
    );
    assert_eq!(
        parse_err(b"{\"objects\": [], \"objects\": []}").0,
        "duplicate field `objects`"
    );
}

#[test]
fn a_malformed_timestamp_names_its_field() {
    assert_eq!(
        error_of_indicator(json!({"valid_from": "yesterday"})),
        (
            "\"valid_from\" is not an RFC 3339 timestamp after 1970: \"yesterday\"".to_string(),
            at("/objects/1/valid_from")
        )
    );
    assert_eq!(
        error_of_indicator(json!({"valid_until": "2024-02-30T00:00:00Z"})).1,
        at("/objects/1/valid_until")
    );
    assert_eq!(
        error_of_indicator(json!({"valid_from": 1_704_067_200})),
        (
            "\"valid_from\" must be a string, found 1704067200".to_string(),
            at("/objects/1/valid_from")
        )
    );
}

#[test]
fn confidence_must_be_an_integer_from_0_to_100() {
    for (value, found) in [
        (json!(101), "101"),
        (json!(-1), "-1"),
        (json!(50.5), "50.5"),
        (json!("high"), "\"high\""),
        (json!(true), "true"),
        (json!(1e300), "1e300"),
    ] {
        assert_eq!(
            error_of_indicator(json!({"confidence": value})),
            (
                format!("\"confidence\" must be an integer from 0 to 100, found {found}"),
                at("/objects/1/confidence")
            )
        );
    }
}

#[test]
fn other_fields_of_the_wrong_type() {
    for (changes, message, pointer) in [
        (
            json!({"revoked": "yes"}),
            "\"revoked\" must be true or false, found \"yes\"",
            "/objects/1/revoked",
        ),
        (
            json!({"labels": "evil"}),
            "\"labels\" must be an array of strings, found \"evil\"",
            "/objects/1/labels",
        ),
        (
            json!({"indicator_types": {"a": 1}}),
            "\"indicator_types\" must be an array of strings, found an object",
            "/objects/1/indicator_types",
        ),
        (
            json!({"labels": ["ok", 5]}),
            "\"labels\" entries must be strings",
            "/objects/1/labels/1",
        ),
        (
            json!({"pattern": ["[ipv4-addr:value = '198.51.100.1']"]}),
            "\"pattern\" must be a string, found an array",
            "/objects/1/pattern",
        ),
        (
            json!({"pattern_type": 2}),
            "\"pattern_type\" must be a string, found 2",
            "/objects/1/pattern_type",
        ),
        (
            json!({"id": null}),
            "the indicator has no \"id\"",
            "/objects/1",
        ),
        (
            json!({"pattern": null}),
            "the indicator has no \"pattern\"",
            "/objects/1",
        ),
        (
            json!({"type": 1}),
            "\"type\" must be a string, found 1",
            "/objects/1/type",
        ),
        (
            json!({"type": null}),
            "the object has no \"type\"",
            "/objects/1",
        ),
    ] {
        assert_eq!(
            error_of_indicator(changes.clone()),
            (message.to_string(), at(pointer)),
            "{changes}"
        );
    }
}

#[test]
fn a_bare_array_points_at_its_elements() {
    let document = json!([
        indicator("[ipv4-addr:value = '198.51.100.1']"),
        indicator_with(
            "[ipv4-addr:value = '198.51.100.2']",
            json!({"confidence": 200})
        ),
    ]);
    assert_eq!(
        parse_err(document.to_string().as_bytes()).1,
        at("/1/confidence")
    );
}

#[test]
fn a_duplicate_field_is_an_error() {
    let document = br#"[{"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern": "[ipv4-addr:value = '198.51.100.2']"}]"#;
    assert_eq!(
        parse_err(document),
        (
            "duplicate field `pattern` (in /0)".to_string(),
            Some("line 1 column 103".to_string())
        )
    );
}

#[test]
fn strings_beyond_their_limits_are_refused() {
    let long = "a".repeat(8 * 1024 + 1);
    assert_eq!(
        error_of_indicator(json!({"id": long})),
        (
            "\"id\" is 8193 bytes, longer than the limit of 8192 bytes".to_string(),
            at("/objects/1/id")
        )
    );
    assert_eq!(
        error_of_indicator(json!({"labels": ["fine", long]})),
        (
            "a label is 8193 bytes, longer than the limit of 8192 bytes".to_string(),
            at("/objects/1/labels/1")
        )
    );
    let pattern = format!(
        "[ipv4-addr:value = '198.51.100.1' OR domain-name:value = '{}']",
        "a".repeat(64 * 1024)
    );
    assert_eq!(
        error_of_indicator(json!({"pattern": pattern})),
        (
            "\"pattern\" is 65596 bytes, longer than the limit of 65536 bytes".to_string(),
            at("/objects/1/pattern")
        )
    );
    let url = format!("[url:value = 'http://evil.example/{}']", "a".repeat(9000));
    assert_eq!(
        error_of_indicator(json!({"pattern": url})),
        (
            "a value in the pattern is 9020 bytes, longer than the limit of 8192 bytes".to_string(),
            at("/objects/1/pattern")
        )
    );
}

#[test]
fn too_many_labels_are_refused() {
    let labels: Vec<String> = (0..=256).map(|i| format!("label-{i}")).collect();
    assert_eq!(
        error_of_indicator(json!({"labels": labels})),
        (
            "\"labels\" has 257 entries, more than the limit of 256".to_string(),
            at("/objects/1/labels")
        )
    );
    let labels: Vec<String> = (0..256).map(|i| format!("label-{i}")).collect();
    let output = parse_ok(&bundle(vec![indicator_with(
        "[ipv4-addr:value = '198.51.100.1']",
        json!({"labels": labels, "indicator_types": labels}),
    )]));
    assert_eq!(output.indicators[0].labels.len(), 256);
}
