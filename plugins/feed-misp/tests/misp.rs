//! MISP event documents and the feed layout: mapping, fields, confidence, malformed input.

use articdbm_feed_misp::{Parser, manifest_events};
use articdbm_feed_sdk::{FeedParser, Indicator, IndicatorKind, ParseError, ParseOutput};
use serde_json::{Value, json};

fn parse_as(format: &str, doc: &[u8]) -> Result<ParseOutput, ParseError> {
    Parser::parse(format, doc)
}

fn ok(doc: &str) -> ParseOutput {
    match parse_as("misp", doc.as_bytes()) {
        Ok(out) => out,
        Err(e) => panic!("parse failed: {} at {:?}", e.message, e.location),
    }
}

fn err(doc: &str) -> ParseError {
    match parse_as("misp", doc.as_bytes()) {
        Ok(out) => panic!("expected an error, got {} indicators", out.indicators.len()),
        Err(e) => e,
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn count(out: &ParseOutput, kind: &str) -> u32 {
    out.unsupported
        .iter()
        .find(|u| u.kind == kind)
        .map_or(0, |u| u.count)
}

fn find<'a>(out: &'a ParseOutput, value: &str) -> &'a Indicator {
    out.indicators
        .iter()
        .find(|i| i.value == value)
        .unwrap_or_else(|| panic!("no indicator {value}; have {:?}", values(out)))
}

fn values(out: &ParseOutput) -> Vec<(IndicatorKind, String)> {
    out.indicators
        .iter()
        .map(|i| (i.kind, i.value.clone()))
        .collect()
}

/// `{"Event": {... "Attribute": attrs ...}}` with `extra` merged into the event.
fn event(attrs: Value, extra: Value) -> String {
    let mut ev = json!({
        "id": "1",
        "uuid": "11111111-2222-4333-8444-555555555555",
        "info": "test",
        "Attribute": attrs,
    });
    if let (Some(ev), Some(extra)) = (ev.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            ev.insert(k.clone(), v.clone());
        }
    }
    json!({ "Event": ev }).to_string()
}

fn attr(ty: &str, value: &str) -> Value {
    json!({"id": "9", "uuid": format!("uuid-{ty}-{value}"), "type": ty, "category": "Network activity", "to_ids": true, "value": value})
}

#[test]
fn core_format_event() {
    use IndicatorKind::*;
    let out = parse_as("misp", &fixture("event-core.json")).expect("parses");
    let want: Vec<(IndicatorKind, &str)> = vec![
        (Address, "198.51.100.7"),
        (Address, "203.0.113.0/24"),
        (Address, "192.0.2.44"),
        (Domain, "evil.example.com"),
        (Domain, "c2.evil.example"),
        (Domain, "dropper.evil.example"),
        (Address, "192.0.2.45"),
        (Url, "http://evil.example/Gate.php?id=1"),
        (User, "dbadmin"),
        (Email, "phisher@evil.example"),
        (Address, "198.51.100.9"),
        (Email, "victim@corp.example"),
        (Email, "registrant@evil.example"),
        (Domain, "relay.evil.example"),
        (Url, "https://cdn.evil.example/payload.bin"),
        (Email, "replies@evil.example"),
        (Email, "cfo@corp.example"),
        (Email, "ops@evil.example"),
        (Domain, "obj.evil.example"),
        (Address, "192.0.2.99"),
        (Url, "https://old.evil.example/x"),
    ];
    let got = values(&out);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((gk, gv), (wk, wv)) in got.iter().zip(&want) {
        assert_eq!((gk, gv.as_str()), (wk, *wv));
    }

    let first = find(&out, "198.51.100.7");
    assert_eq!(first.source_id, "5f1d7a0e-0000-4000-8000-000000000001");
    assert_eq!(first.confidence, Some(100), "attribute tag wins");
    assert_eq!(
        first.labels,
        vec![
            "misp:confidence-level=\"completely-confident\"",
            "kill-chain:command-and-control",
            "tlp:amber",
            "admiralty-scale:source-reliability=\"b\"",
            "admiralty-scale:information-credibility=\"3\"",
        ]
    );
    assert!(!first.revoked && !first.negated);
    assert_eq!((first.valid_from, first.valid_until), (None, None));
    // Event tags: credibility 3 (60) ranks above reliability b (80) and threat level 2 (65).
    assert_eq!(find(&out, "203.0.113.0/24").confidence, Some(60));
    assert_eq!(find(&out, "203.0.113.0/24").labels.len(), 3);
    let dropper = find(&out, "dropper.evil.example");
    assert_eq!(dropper.source_id, find(&out, "192.0.2.45").source_id);
    assert!(find(&out, "198.51.100.9").revoked, "deleted attribute");
    assert_eq!(
        find(&out, "obj.evil.example").confidence,
        Some(85),
        "object attribute tag"
    );
    assert_eq!(
        find(&out, "obj.evil.example").source_id,
        "5f1d7a0e-0000-4000-8000-000000000031"
    );
    assert_eq!(find(&out, "192.0.2.99").confidence, Some(60));
    assert!(!find(&out, "192.0.2.99").revoked);
    assert!(
        find(&out, "https://old.evil.example/x").revoked,
        "deleted object"
    );

    assert_eq!(count(&out, "misp:uri"), 1);
    assert_eq!(count(&out, "misp:md5"), 1);
    assert_eq!(count(&out, "misp:sha256"), 1);
    assert_eq!(count(&out, "misp:text"), 1);
    assert_eq!(count(&out, "misp:ip-dst:not-for-detection"), 1);
    assert_eq!(count(&out, "misp:domain:invalid-value"), 1);
    assert_eq!(
        out.unsupported.len(),
        6,
        "link is skipped silently: {:?}",
        out.unsupported
    );
}

#[test]
fn rest_response() {
    let out = parse_as("misp", &fixture("response.json")).expect("parses");
    assert_eq!(out.indicators.len(), 4);
    let a = find(&out, "192.0.2.1");
    assert_eq!(
        (a.confidence, a.source_id.as_str()),
        (Some(85), "5f1d7a0e-aaaa-4000-8000-000000005001")
    );
    let b = find(&out, "no-uuid.evil.example");
    assert_eq!(b.confidence, Some(40), "threat level 3 given as a number");
    assert_eq!(b.source_id, "5f1d7a0e-aaaa-4000-8000-000000000102/5002");
    assert_eq!(b.labels, vec!["tlp:green"]);
    assert_eq!(
        find(&out, "no-id.evil.example").source_id,
        "5f1d7a0e-aaaa-4000-8000-000000000102/#1"
    );
    assert_eq!(
        find(&out, "192.0.2.4").confidence,
        None,
        "threat level 4 is undefined"
    );
    assert_eq!(count(&out, "misp:url:not-for-detection"), 1);
}

#[test]
fn feed_layout() {
    let manifest = manifest_events(&fixture("feed/manifest.json")).expect("manifest");
    assert_eq!(
        manifest,
        vec![
            (
                "1b4e7f0c-2f61-4d59-9b8a-6d1c9a1e0a01".to_string(),
                Some(1_704_067_200)
            ),
            (
                "1b4e7f0c-2f61-4d59-9b8a-6d1c9a1e0a02".to_string(),
                Some(1_704_067_201)
            ),
        ]
    );
    let mut all = Vec::new();
    for (uuid, _) in &manifest {
        let out =
            parse_as("misp-feed-event", &fixture(&format!("feed/{uuid}.json"))).expect("event");
        all.extend(values(&out));
    }
    assert_eq!(
        all,
        vec![
            (IndicatorKind::Address, "2001:db8::10".to_string()),
            (
                IndicatorKind::Url,
                "https://feed.evil.example/login".to_string()
            ),
        ]
    );
}

#[test]
fn manifest_errors_and_leniency() {
    let m = manifest_events(br#"{"5F1D7A0E-6B0C-4E8A-9A3C-1B2C3D4E5F60": {"info": "x"}, "5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f61": {"timestamp": null}}"#)
        .expect("manifest");
    assert_eq!(
        m,
        vec![
            ("5F1D7A0E-6B0C-4E8A-9A3C-1B2C3D4E5F60".to_string(), None),
            ("5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f61".to_string(), None),
        ]
    );
    assert_eq!(manifest_events(b"{}").expect("empty"), vec![]);

    let e = manifest_events(br#"{"../../etc/passwd": {"timestamp": "1"}}"#).expect_err("error");
    assert!(e.message.contains("not an event UUID"), "{}", e.message);
    assert_eq!(e.location.as_deref(), Some("/..~1..~1etc~1passwd"));

    let e =
        manifest_events(br#"{"5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f60": {"timestamp": "yesterday"}}"#)
            .expect_err("error");
    assert!(e.message.contains("yesterday"), "{}", e.message);
    assert_eq!(
        e.location.as_deref(),
        Some("/5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f60/timestamp")
    );

    let e = manifest_events(br#"{"5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f60": 7}"#).expect_err("error");
    assert_eq!(
        e.location.as_deref(),
        Some("line 1 column 42"),
        "{}",
        e.message
    );
    let e = manifest_events(b"[]").expect_err("error");
    assert!(e.message.contains("manifest"), "{}", e.message);
    let e = manifest_events(b"{\"5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f60\": {\n").expect_err("error");
    assert_eq!(
        e.location.as_deref(),
        Some("line 2 column 0"),
        "{}",
        e.message
    );
}

#[test]
fn document_shapes() {
    let a = json!([attr("ip-dst", "192.0.2.1")]);
    let bare = json!({"uuid": "e1", "Attribute": a}).to_string();
    assert_eq!(ok(&bare).indicators.len(), 1);
    let wrapped = json!({"Event": {"uuid": "e1", "Attribute": a}}).to_string();
    assert_eq!(ok(&wrapped).indicators.len(), 1);
    let array = json!([{"Event": {"uuid": "e1", "Attribute": a}}, {"Event": {"uuid": "e2", "Attribute": a}}]).to_string();
    assert_eq!(ok(&array).indicators.len(), 2);
    let response = json!({"response": [{"Event": {"uuid": "e1", "Attribute": a}}]}).to_string();
    assert_eq!(ok(&response).indicators.len(), 1);
    assert!(ok(r#"{"response": []}"#).indicators.is_empty());
    assert!(ok("[]").indicators.is_empty());
    assert!(
        ok(
            &json!({"Event": {"uuid": "e", "Attribute": null, "Object": null, "Tag": null}})
                .to_string()
        )
        .indicators
        .is_empty()
    );
    // A UTF-8 byte-order mark is fine.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(wrapped.as_bytes());
    assert_eq!(
        parse_as("misp-feed-event", &bom)
            .expect("bom")
            .indicators
            .len(),
        1
    );

    let e = err(r#"{"foo": 1}"#);
    assert!(
        e.message.starts_with("no MISP event found"),
        "{}",
        e.message
    );
    let e = err(r#""an event""#);
    assert!(
        e.message.contains("expected a MISP event object"),
        "{}",
        e.message
    );
    assert_eq!(e.location.as_deref(), Some("line 1 column 10"));
    let e = err("[1]");
    assert!(e.message.contains("invalid type: integer"), "{}", e.message);

    let e = parse_as("stix", b"{}").expect_err("error");
    assert!(
        e.message.contains("\"misp\" and \"misp-feed-event\""),
        "{}",
        e.message
    );
}

#[test]
fn every_mapped_type() {
    use IndicatorKind::*;
    type Case<'a> = (&'a str, &'a str, &'a [(IndicatorKind, &'a str)]);
    let cases: &[Case] = &[
        ("ip-src", "192.0.2.1", &[(Address, "192.0.2.1")]),
        ("ip-dst", "2001:DB8::1", &[(Address, "2001:db8::1")]),
        ("ip-src|port", "192.0.2.2|1234", &[(Address, "192.0.2.2")]),
        (
            "ip-dst|port",
            "2001:db8::2|443",
            &[(Address, "2001:db8::2")],
        ),
        ("domain", "Bad.Example.", &[(Domain, "bad.example")]),
        (
            "hostname",
            "www.bad.example",
            &[(Domain, "www.bad.example")],
        ),
        (
            "hostname|port",
            "smtp.bad.example|25",
            &[(Domain, "smtp.bad.example")],
        ),
        (
            "domain|ip",
            "d.bad.example|192.0.2.3",
            &[(Domain, "d.bad.example"), (Address, "192.0.2.3")],
        ),
        (
            "url",
            "https://Bad.Example/x",
            &[(Url, "https://bad.example/x")],
        ),
        (
            "uri",
            "ftp://files.bad.example/y",
            &[(Url, "ftp://files.bad.example/y")],
        ),
        ("target-user", " sa ", &[(User, "sa")]),
        ("email", "a@bad.example", &[(Email, "a@bad.example")]),
        ("email-src", "B@Bad.Example", &[(Email, "b@bad.example")]),
        ("email-dst", "c@corp.example", &[(Email, "c@corp.example")]),
        (
            "target-email",
            "d@corp.example",
            &[(Email, "d@corp.example")],
        ),
        (
            "email-reply-to",
            "e@bad.example",
            &[(Email, "e@bad.example")],
        ),
        (
            "whois-registrant-email",
            "f@bad.example",
            &[(Email, "f@bad.example")],
        ),
        ("IP-DST", "192.0.2.4", &[(Address, "192.0.2.4")]),
    ];
    for (ty, value, want) in cases {
        let out = ok(&event(json!([attr(ty, value)]), json!({})));
        let got = values(&out);
        let want: Vec<(IndicatorKind, String)> =
            want.iter().map(|(k, v)| (*k, v.to_string())).collect();
        assert_eq!(got, want, "{ty}");
        assert!(out.unsupported.is_empty(), "{ty}: {:?}", out.unsupported);
    }
    // Not indicators, or not values of their type.
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("link", "https://report.example/", None),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e", Some("misp:md5")),
        ("filename", "evil.exe", Some("misp:filename")),
        ("regkey", "HKLM\\Software\\Run", Some("misp:regkey")),
        ("mutex", "Global\\x", Some("misp:mutex")),
        ("uri", "/path/only", Some("misp:uri")),
        ("ip-dst", "999.0.0.1", Some("misp:ip-dst:invalid-value")),
        (
            "ip-dst|port",
            "nope|80",
            Some("misp:ip-dst|port:invalid-value"),
        ),
        (
            "url",
            "bad.example/no-scheme",
            Some("misp:url:invalid-value"),
        ),
        (
            "email-src",
            "no-at-sign",
            Some("misp:email-src:invalid-value"),
        ),
        ("target-user", "  ", Some("misp:target-user:invalid-value")),
    ];
    for (ty, value, kind) in cases {
        let out = ok(&event(json!([attr(ty, value)]), json!({})));
        assert!(out.indicators.is_empty(), "{ty}");
        match kind {
            Some(k) => assert_eq!(
                (out.unsupported.len(), count(&out, k)),
                (1, 1),
                "{ty}: {:?}",
                out.unsupported
            ),
            None => assert!(out.unsupported.is_empty(), "{ty}"),
        }
    }
    // domain|ip with one bad half: the good half is emitted and the attribute counted.
    let out = ok(&event(
        json!([attr("domain|ip", "ok.example|not-an-ip")]),
        json!({}),
    ));
    assert_eq!(values(&out), vec![(Domain, "ok.example".to_string())]);
    assert_eq!(count(&out, "misp:domain|ip:invalid-value"), 1);
}

#[test]
fn to_ids_and_deleted() {
    let cases = [
        (json!(true), true),
        (json!(false), false),
        (json!("1"), true),
        (json!("0"), false),
        (json!(1), true),
        (json!(0), false),
        (json!("true"), true),
        (json!("false"), false),
        (json!(null), true),
    ];
    for (v, emitted) in cases {
        let mut a = attr("ip-dst", "192.0.2.1");
        a["to_ids"] = v.clone();
        let out = ok(&event(json!([a]), json!({})));
        assert_eq!(out.indicators.len(), usize::from(emitted), "{v}");
        assert_eq!(
            count(&out, "misp:ip-dst:not-for-detection"),
            u32::from(!emitted),
            "{v}"
        );
    }
    let mut a = attr("ip-dst", "192.0.2.1");
    a.as_object_mut().map(|o| o.remove("to_ids"));
    assert_eq!(
        ok(&event(json!([a]), json!({}))).indicators.len(),
        1,
        "missing to_ids"
    );

    let mut a = attr("ip-dst", "192.0.2.1");
    a["to_ids"] = json!("maybe");
    let e = err(&event(json!([attr("md5", "x"), a]), json!({})));
    assert!(e.message.contains("expected a boolean"), "{}", e.message);
    assert_eq!(e.location.as_deref(), Some("/Event/Attribute/1/to_ids"));

    for (v, revoked) in [
        (json!(true), true),
        (json!("1"), true),
        (json!(false), false),
        (json!(0), false),
    ] {
        let mut a = attr("domain", "gone.example");
        a["deleted"] = v.clone();
        let out = ok(&event(json!([a]), json!({})));
        assert_eq!(out.indicators[0].revoked, revoked, "{v}");
    }
}

#[test]
fn confidence_sources() {
    let tagged = |tags: Value| {
        let mut a = attr("ip-dst", "192.0.2.1");
        a["Tag"] = tags;
        a
    };
    let conf = |attrs: Value, extra: Value| ok(&event(attrs, extra)).indicators[0].confidence;
    let t = |name: &str| json!({"id": "1", "name": name, "colour": "#fff"});

    for (name, want) in [
        ("misp:confidence-level=\"completely-confident\"", Some(100)),
        ("misp:confidence-level=\"usually-confident\"", Some(75)),
        ("misp:confidence-level=\"fairly-confident\"", Some(50)),
        ("misp:confidence-level=\"rarely-confident\"", Some(25)),
        ("misp:confidence-level=\"unconfident\"", Some(0)),
        (
            "misp:confidence-level=\"confidence-cannot-be-evaluated\"",
            None,
        ),
        ("admiralty-scale:source-reliability=\"a\"", Some(100)),
        ("admiralty-scale:source-reliability=\"c\"", Some(60)),
        ("admiralty-scale:source-reliability=\"e\"", Some(20)),
        ("admiralty-scale:source-reliability=\"f\"", None),
        ("admiralty-scale:information-credibility=\"1\"", Some(100)),
        ("admiralty-scale:information-credibility=\"4\"", Some(40)),
        ("admiralty-scale:information-credibility=\"6\"", None),
        (
            "estimative-language:likelihood-probability=\"almost-certain\"",
            Some(95),
        ),
        (
            "estimative-language:likelihood-probability=\"very-likely\"",
            Some(85),
        ),
        (
            "estimative-language:likelihood-probability=\"likely\"",
            Some(70),
        ),
        (
            "estimative-language:likelihood-probability=\"roughly-even-chance\"",
            Some(50),
        ),
        (
            "estimative-language:likelihood-probability=\"unlikely\"",
            Some(30),
        ),
        (
            "estimative-language:likelihood-probability=\"very-unlikely\"",
            Some(10),
        ),
        (
            "estimative-language:likelihood-probability=\"almost-no-chance\"",
            Some(5),
        ),
        ("tlp:white", None),
    ] {
        assert_eq!(
            conf(json!([tagged(json!([t(name)]))]), json!({})),
            want,
            "{name}"
        );
    }
    // Ranking within one list: confidence-level, credibility, reliability, estimative.
    let both = json!([
        t("estimative-language:likelihood-probability=\"likely\""),
        t("admiralty-scale:source-reliability=\"b\""),
        t("admiralty-scale:information-credibility=\"5\""),
    ]);
    assert_eq!(conf(json!([tagged(both)]), json!({})), Some(20));
    // Attribute tags, then event tags, then threat level.
    let ev_tags =
        json!({"Tag": [t("misp:confidence-level=\"rarely-confident\"")], "threat_level_id": "1"});
    assert_eq!(
        conf(
            json!([tagged(json!([t(
                "admiralty-scale:source-reliability=\"a\""
            )]))]),
            ev_tags.clone()
        ),
        Some(100)
    );
    assert_eq!(
        conf(json!([tagged(json!([t("tlp:red")]))]), ev_tags.clone()),
        Some(25)
    );
    for (level, want) in [
        (json!("1"), Some(85)),
        (json!(2), Some(65)),
        (json!("3"), Some(40)),
        (json!("4"), None),
        (json!(null), None),
    ] {
        assert_eq!(
            conf(
                json!([attr("ip-dst", "192.0.2.1")]),
                json!({"threat_level_id": level})
            ),
            want,
            "{level}"
        );
    }
    // Event tags after the attributes (MISP's own order), EventTag wrappers, string tags and
    // AttributeTag wrappers all count.
    let doc = json!({"Event": {
        "uuid": "e",
        "Attribute": [attr("ip-dst", "192.0.2.1")],
        "EventTag": [{"id": "3", "Tag": {"name": "admiralty-scale:information-credibility=\"2\""}}],
    }})
    .to_string();
    assert_eq!(ok(&doc).indicators[0].confidence, Some(80));
    let mut a = attr("ip-dst", "192.0.2.1");
    a["AttributeTag"] = json!([{"Tag": {"name": "misp:confidence-level=\"usually-confident\""}}]);
    assert_eq!(conf(json!([a]), json!({})), Some(75));
    assert_eq!(
        conf(
            json!([tagged(json!([
                "misp:confidence-level=\"fairly-confident\""
            ]))]),
            json!({})
        ),
        Some(50)
    );
}

#[test]
fn labels_are_bounded() {
    let tags: Vec<Value> = (0..100)
        .map(|n| json!({"name": format!("tag:{n}")}))
        .collect();
    let long = "x".repeat(1000);
    let mut a = attr("domain", "bad.example");
    a["Tag"] = json!([{"name": long}]);
    let out = ok(&event(json!([a]), json!({"Tag": tags})));
    let labels = &out.indicators[0].labels;
    assert_eq!(labels.len(), articdbm_feed_misp::MAX_LABELS);
    assert_eq!(labels[0].len(), articdbm_feed_misp::MAX_LABEL_LEN);
    assert_eq!(labels[1], "tag:0");
}

#[test]
fn malformed_input_names_where() {
    let e = err(r#"{"Event": {"Attribute": [{"type": "ip-dst", "value": "192.0.2.1""#);
    assert!(
        e.message.starts_with("malformed MISP JSON: EOF"),
        "{}",
        e.message
    );
    assert_eq!(e.location.as_deref(), Some("line 1 column 64"));

    let e = err("{\"Event\": {\n  \"Attribute\": \"oops\"\n}}");
    assert_eq!(
        e.message,
        "malformed MISP JSON: invalid type: string \"oops\", expected a list of MISP attributes"
    );
    assert_eq!(e.location.as_deref(), Some("line 2 column 21"));

    let e = err(r#"{"Event": {"uuid": "e"}} trailing"#);
    assert!(e.message.contains("trailing characters"), "{}", e.message);

    let e = err(&event(
        json!([attr("ip-dst", "192.0.2.1"), {"value": "192.0.2.2"}]),
        json!({}),
    ));
    assert_eq!(e.message, "attribute without a type");
    assert_eq!(e.location.as_deref(), Some("/Event/Attribute/1"));

    let e = err(&event(
        json!([{"type": "domain", "to_ids": true}]),
        json!({}),
    ));
    assert_eq!(e.message, "attribute without a value");
    assert_eq!(e.location.as_deref(), Some("/Event/Attribute/0/value"));

    let e = err(&event(
        json!([{"type": "domain", "value": {"x": 1}}]),
        json!({}),
    ));
    assert_eq!(e.message, "expected a string");
    assert_eq!(e.location.as_deref(), Some("/Event/Attribute/0/value"));

    let doc = json!({"response": [{"Event": {"uuid": "e", "Object": [{"Attribute": []}, {"Attribute": [{"type": ["x"]}]}]}}]}).to_string();
    let e = err(&doc);
    assert_eq!(
        e.location.as_deref(),
        Some("/response/0/Event/Object/1/Attribute/0/type")
    );

    let e = err(&event(
        json!([]),
        json!({"Tag": [{"name": 5}, {"name": {}}]}),
    ));
    assert_eq!(e.location.as_deref(), Some("/Event/Tag/1/name"));

    let e = parse_as(
        "misp",
        b"{\"Event\": {\"Attribute\": [{\"type\": \"domain\", \"value\": \"\xff\"}]}}",
    )
    .expect_err("error");
    assert!(
        e.location
            .as_deref()
            .is_some_and(|l| l.starts_with("line 1")),
        "{:?}",
        e.location
    );
}

#[test]
fn escaped_strings_are_unescaped() {
    let doc = r#"{"Event": {"uuid": "e", "Attribute": [{"type": "url", "uuid": "u\u0031", "value": "http:\/\/bad.example\/\u0041"}]}}"#;
    let out = ok(doc);
    assert_eq!(out.indicators[0].value, "http://bad.example/A");
    assert_eq!(out.indicators[0].source_id, "u1");
}

#[test]
fn large_document() {
    let n = 100_000;
    let mut doc = String::with_capacity(n * 160);
    doc.push_str(r#"{"Event": {"uuid": "big", "threat_level_id": "2", "Attribute": ["#);
    for i in 0..n {
        if i > 0 {
            doc.push(',');
        }
        let (ty, value) = match i % 5 {
            0 => (
                "ip-dst",
                format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            ),
            1 => ("domain", format!("h{i}.bad.example")),
            2 => ("url", format!("http://bad.example/{i}")),
            3 => ("email-src", format!("u{i}@bad.example")),
            _ => ("sha256", format!("{i:064x}")),
        };
        doc.push_str(&format!(
            r#"{{"id":"{i}","uuid":"a-{i}","type":"{ty}","category":"Network activity","to_ids":true,"value":"{value}","comment":""}}"#
        ));
    }
    doc.push_str("]}}");
    let started = std::time::Instant::now();
    let out = ok(&doc);
    eprintln!(
        "{n} attributes, {} bytes: {:?}",
        doc.len(),
        started.elapsed()
    );
    assert_eq!(out.indicators.len(), n / 5 * 4);
    assert_eq!(count(&out, "misp:sha256"), (n / 5) as u32);
    assert!(out.indicators.iter().all(|i| i.confidence == Some(65)));
}

#[test]
fn mutated_documents_never_panic() {
    let doc = fixture("response.json");
    for end in 0..doc.len() {
        let _ = parse_as("misp", &doc[..end]);
        let _ = manifest_events(&doc[..end]);
    }
    let mut copy = doc.clone();
    for i in 0..doc.len() {
        for b in *b"{}[]\",:\\0tn \xff" {
            copy[i] = b;
            let _ = parse_as("misp", &copy);
        }
        copy[i] = doc[i];
    }
    let manifest = fixture("feed/manifest.json");
    let mut copy = manifest.clone();
    for i in 0..manifest.len() {
        for b in *b"{}[]\",:\\0 " {
            copy[i] = b;
            let _ = manifest_events(&copy);
        }
        copy[i] = manifest[i];
    }
}
