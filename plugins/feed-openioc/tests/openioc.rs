//! OpenIOC 1.0 / 1.1 parsing: mapping, conditions, nesting, metadata, malformed input.

use articdbm_feed_openioc::{NS_1_0, NS_1_1, Parser};
use articdbm_feed_sdk::{FeedParser, Indicator, IndicatorKind, ParseError, ParseOutput};

fn parse(doc: &str) -> Result<ParseOutput, ParseError> {
    Parser::parse("openioc", doc.as_bytes())
}

fn ok(doc: &str) -> ParseOutput {
    match parse(doc) {
        Ok(out) => out,
        Err(e) => panic!("parse failed: {} at {:?}", e.message, e.location),
    }
}

fn err(doc: &str) -> ParseError {
    match parse(doc) {
        Ok(out) => panic!("expected an error, got {} indicators", out.indicators.len()),
        Err(e) => e,
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
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

/// A 1.1 document with `body` inside `<criteria>`.
fn v11(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="{NS_1_1}" id="doc-1">
  <metadata><short_description>test</short_description></metadata>
  <criteria>{body}</criteria>
</OpenIOC>"#
    )
}

/// An IndicatorItem.
fn item(id: &str, condition: &str, search: &str, value: &str) -> String {
    let document = search.split('/').next().unwrap_or("");
    format!(
        r#"<IndicatorItem id="{id}" condition="{condition}"><Context document="{document}" search="{search}" type="mir"/><Content type="string">{value}</Content></IndicatorItem>"#
    )
}

fn group(op: &str, children: &[String]) -> String {
    format!(
        r#"<Indicator operator="{op}">{}</Indicator>"#,
        children.concat()
    )
}

#[test]
fn mandiant_1_0_sample() {
    let out = ok(&fixture("mandiant-1.0-backdoor.ioc"));
    assert_eq!(
        values(&out),
        vec![
            (IndicatorKind::Address, "198.51.100.23".into()),
            (IndicatorKind::Domain, "evil-c2.example.com".into()),
            (IndicatorKind::Address, "10.0.0.1".into()),
            (IndicatorKind::Domain, "update.bad.example".into()),
        ]
    );
    let c2 = find(&out, "198.51.100.23");
    assert_eq!(c2.source_id, "8f1a1b8e-1b0c-4b4e-9e6f-000000000004");
    assert!(!c2.negated && !c2.revoked);
    assert_eq!(c2.confidence, None);
    assert_eq!((c2.valid_from, c2.valid_until), (None, None));
    assert_eq!(
        c2.labels,
        vec!["EXAMPLE BACKDOOR (C2 BEACON)", "backdoor", "beacon", "apt"]
    );
    assert!(find(&out, "10.0.0.1").negated, "isnot is a negation");
    assert!(!find(&out, "update.bad.example").negated);
    assert_eq!(count(&out, "FileItem/Md5sum"), 1);
    assert_eq!(count(&out, "FileItem/FileName"), 1);
    assert_eq!(count(&out, "and:PortItem/remoteIP"), 1);
    assert_eq!(count(&out, "Network/DNS contains"), 1);
    assert_eq!(count(&out, "ProcessItem/name"), 1);
    assert_eq!(count(&out, "ProcessItem/Username"), 1);
    assert_eq!(count(&out, "Network/URI:invalid-value"), 1);
    let total: u32 = out.unsupported.iter().map(|u| u.count).sum();
    assert_eq!(total, 7);
}

#[test]
fn openioc_1_1_sample() {
    let out = ok(&fixture("openioc-1.1-apt.ioc"));
    assert_eq!(
        values(&out),
        vec![
            (IndicatorKind::Address, "192.0.2.10".into()),
            (IndicatorKind::Domain, "safe.example.org".into()),
            (IndicatorKind::Url, "http://bad.example/Path?x=1&y=2".into()),
            (IndicatorKind::User, "backdoor_admin".into()),
            (IndicatorKind::Email, "mallory@evil.example".into()),
        ]
    );
    let labels = vec![
        "APT C2 infrastructure",
        "c2",
        "phishing",
        "threatcategory:APT",
        "threatgroup:APT-EXAMPLE",
    ];
    for i in &out.indicators {
        assert_eq!(i.labels, labels);
    }
    let remote = find(&out, "192.0.2.10");
    assert_eq!(remote.source_id, "item-remote");
    assert_eq!(
        remote.confidence,
        Some(90),
        "param confidence=high on the item"
    );
    assert!(find(&out, "safe.example.org").negated, "negate=\"true\"");
    assert_eq!(
        find(&out, "http://bad.example/Path?x=1&y=2").confidence,
        None
    );
    assert_eq!(
        find(&out, "backdoor_admin").confidence,
        Some(40),
        "from the group's param"
    );
    assert_eq!(
        find(&out, "mallory@evil.example").confidence,
        Some(75),
        "the item's param wins"
    );
    assert_eq!(count(&out, "Network/URI starts-with"), 1);
    assert_eq!(count(&out, "DnsEntryItem/Host ends-with"), 1);
    assert_eq!(count(&out, "Network/DNS matches"), 1);
    assert_eq!(out.unsupported.len(), 3);
}

#[test]
fn every_mapped_context() {
    use IndicatorKind::*;
    let out = ok(&fixture("contexts-1.1.ioc"));
    let want: Vec<(IndicatorKind, &str)> = vec![
        (Address, "198.51.100.1"),
        (Address, "198.51.100.2"),
        (Address, "198.51.100.0/24"),
        (Address, "198.51.100.4"),
        (Address, "2001:db8::5"),
        (Address, "198.51.100.6"),
        (Address, "2001:db8::7"),
        (Address, "198.51.100.8"),
        (Address, "198.51.100.9"),
        (Address, "198.51.100.10"),
        (Domain, "dns.bad.example"),
        (Address, "198.51.100.12"),
        (Domain, "host.bad.example"),
        (Domain, "dnshost.bad.example"),
        (Domain, "record.bad.example"),
        (Domain, "cname.bad.example"),
        (Domain, "history.bad.example"),
        (Url, "http://uri.bad.example/a"),
        (Url, "https://url.bad.example/b"),
        (Url, "http://history.bad.example/c"),
        (User, "evil_user"),
        (Email, "from@bad.example"),
        (Email, "reply@bad.example"),
    ];
    let got = values(&out);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((gk, gv), (wk, wv)) in got.iter().zip(&want) {
        assert_eq!((gk, gv.as_str()), (wk, *wv));
    }
    for (n, i) in out.indicators.iter().enumerate() {
        assert_eq!(i.source_id, format!("ctx-{:02}", n + 1));
        assert_eq!(i.labels, vec!["Every mapped context"]);
    }
    assert_eq!(count(&out, "Email/To"), 1);
    assert_eq!(
        count(&out, "Network/IP"),
        1,
        "a guessed address context whose value is not one"
    );
    assert_eq!(count(&out, "PortItem/remoteIP:invalid-value"), 1);
    assert_eq!(count(&out, "UserItem/SecurityID"), 1);
    assert_eq!(out.unsupported.len(), 4);
}

#[test]
fn each_condition() {
    let conditions = [
        "is",
        "isnot",
        "contains",
        "containsnot",
        "starts-with",
        "ends-with",
        "matches",
        "greater-than",
        "less-than",
    ];
    let items: Vec<String> = conditions
        .iter()
        .enumerate()
        .map(|(n, c)| {
            item(
                &format!("c{n}"),
                c,
                "PortItem/remoteIP",
                &format!("192.0.2.{n}"),
            )
        })
        .collect();
    let out = ok(&v11(&group("OR", &items)));
    assert_eq!(out.indicators.len(), 2);
    assert_eq!(
        (out.indicators[0].value.as_str(), out.indicators[0].negated),
        ("192.0.2.0", false)
    );
    assert_eq!(
        (out.indicators[1].value.as_str(), out.indicators[1].negated),
        ("192.0.2.1", true)
    );
    for c in &conditions[2..] {
        assert_eq!(count(&out, &format!("PortItem/remoteIP {c}")), 1, "{c}");
    }
    // Condition names are case-insensitive; unmapped contexts count only the search term.
    let out = ok(&v11(&group(
        "OR",
        &[
            item("a", "IS", "Network/DNS", "upper.example"),
            item("b", "contains", "FileItem/FileName", "x.exe"),
        ],
    )));
    assert_eq!(
        values(&out),
        vec![(IndicatorKind::Domain, "upper.example".into())]
    );
    assert_eq!(count(&out, "FileItem/FileName"), 1);
}

#[test]
fn negation_1_1() {
    let doc = v11(&group(
        "OR",
        &[
            r#"<IndicatorItem id="n1" condition="is" negate="true"><Context document="PortItem" search="PortItem/remoteIP"/><Content>192.0.2.1</Content></IndicatorItem>"#.to_string(),
            r#"<IndicatorItem id="n2" condition="isnot" negate="true"><Context document="PortItem" search="PortItem/remoteIP"/><Content>192.0.2.2</Content></IndicatorItem>"#.to_string(),
            r#"<IndicatorItem id="n3" condition="contains" negate="true"><Context document="PortItem" search="PortItem/remoteIP"/><Content>192.0.2.</Content></IndicatorItem>"#.to_string(),
        ],
    ));
    let out = ok(&doc);
    assert_eq!(out.indicators.len(), 2);
    assert!(find(&out, "192.0.2.1").negated);
    assert!(!find(&out, "192.0.2.2").negated, "negated isnot is is");
    assert_eq!(count(&out, "PortItem/remoteIP contains"), 1);
    assert_eq!(
        out.unsupported.len(),
        1,
        "negated exact items are emitted, not counted"
    );

    let bad = v11(
        r#"<Indicator operator="OR"><IndicatorItem id="x" condition="is" negate="maybe"><Context search="Network/DNS"/><Content>a.example</Content></IndicatorItem></Indicator>"#,
    );
    let e = err(&bad);
    assert!(e.message.contains("negate"), "{}", e.message);
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/criteria[1]/Indicator[1]/IndicatorItem[1]")
    );
}

#[test]
fn or_and_nesting() {
    let a = item("a", "is", "PortItem/remoteIP", "192.0.2.1");
    let b = item("b", "is", "Network/DNS", "b.example");
    let c = item("c", "is", "UserItem/Username", "mallory");
    let h = item(
        "h",
        "is",
        "FileItem/Md5sum",
        "00000000000000000000000000000000",
    );
    let k = item("k", "contains", "Network/DNS", "k.example");

    // OR of ORs: a union.
    let out = ok(&v11(&group(
        "OR",
        &[group("OR", &[a.clone(), b.clone()]), c.clone()],
    )));
    assert_eq!(out.indicators.len(), 3);
    assert!(out.unsupported.is_empty());

    // AND of an address and a hash: nothing enforceable.
    let out = ok(&v11(&group(
        "OR",
        &[group("AND", &[a.clone(), h.clone()]), c.clone()],
    )));
    assert_eq!(values(&out), vec![(IndicatorKind::User, "mallory".into())]);
    assert_eq!(count(&out, "and:PortItem/remoteIP"), 1);
    assert_eq!(count(&out, "FileItem/Md5sum"), 1);

    // AND of (OR of two) and a non-exact item: everything beneath is counted, own kinds kept.
    let out = ok(&v11(&group(
        "AND",
        &[group("OR", &[a.clone(), b.clone()]), k.clone()],
    )));
    assert!(out.indicators.is_empty());
    assert_eq!(count(&out, "and:PortItem/remoteIP"), 1);
    assert_eq!(count(&out, "and:Network/DNS"), 1);
    assert_eq!(count(&out, "Network/DNS contains"), 1);

    // A single-child AND is its child, even around an OR.
    let out = ok(&v11(&group("AND", &[group("OR", &[a.clone(), b.clone()])])));
    assert_eq!(out.indicators.len(), 2);
    let out = ok(&v11(&group(
        "OR",
        &[group("AND", std::slice::from_ref(&c))],
    )));
    assert_eq!(values(&out), vec![(IndicatorKind::User, "mallory".into())]);

    // AND deep inside: only that branch is held back.
    let deep = group(
        "OR",
        &[
            group("OR", &[group("AND", &[a.clone(), b.clone()]), c.clone()]),
            item("d", "is", "Network/DNS", "d.example"),
        ],
    );
    let out = ok(&v11(&deep));
    assert_eq!(out.indicators.len(), 2);
    assert_eq!(
        count(&out, "and:PortItem/remoteIP") + count(&out, "and:Network/DNS"),
        2
    );

    // Negated items beneath a multi-child AND are counted like the others.
    let neg = item("n", "isnot", "PortItem/remoteIP", "192.0.2.9");
    let out = ok(&v11(&group("AND", &[neg, b.clone()])));
    assert!(out.indicators.is_empty());
    assert_eq!(count(&out, "and:PortItem/remoteIP"), 1);

    // Operators are case-insensitive; anything else is an error naming where.
    let out = ok(&v11(&group("or", std::slice::from_ref(&a))));
    assert_eq!(out.indicators.len(), 1);
    let e = err(&v11(&group("XOR", std::slice::from_ref(&a))));
    assert!(e.message.contains("XOR"), "{}", e.message);
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/criteria[1]/Indicator[1]")
    );
    let e = err(&v11(&format!("<Indicator>{a}</Indicator>")));
    assert!(e.message.contains("operator"), "{}", e.message);
}

#[test]
fn source_ids_fall_back_to_the_ioc_id() {
    let doc = v11(&group(
        "OR",
        &[
            item("first", "is", "Network/DNS", "a.example"),
            r#"<IndicatorItem condition="is"><Context search="Network/DNS"/><Content>b.example</Content></IndicatorItem>"#.to_string(),
        ],
    ));
    let out = ok(&doc);
    assert_eq!(out.indicators[0].source_id, "first");
    assert_eq!(out.indicators[1].source_id, "doc-1/2");
}

#[test]
fn metadata_1_0_and_labels_are_bounded() {
    let keywords: Vec<String> = (0..100).map(|n| format!("kw{n}")).collect();
    let long = "d".repeat(1000);
    let doc = format!(
        r#"<ioc xmlns="{NS_1_0}" id="x"><short_description>{long}</short_description><keywords>{}</keywords>
<links><link rel="threatgroup" href="https://x.example">GROUP</link></links>
<definition><Indicator operator="OR" id="g">{}</Indicator></definition></ioc>"#,
        keywords.join(", "),
        item("a", "is", "Network/DNS", "a.example"),
    );
    let out = ok(&doc);
    let labels = &out.indicators[0].labels;
    assert_eq!(labels.len(), articdbm_feed_openioc::MAX_LABELS);
    assert_eq!(labels[0].len(), articdbm_feed_openioc::MAX_LABEL_LEN);
    assert_eq!(labels[1], "kw0");
}

#[test]
fn confidence_parameters() {
    let doc = format!(
        r#"<OpenIOC xmlns="{NS_1_1}" id="doc">
<criteria><Indicator id="top" operator="OR">{}{}<Indicator id="inner" operator="OR">{}</Indicator></Indicator></criteria>
<parameters>
  <param id="p0" ref-id="top" name="confidence"><value type="string">medium</value></param>
  <param id="p1" ref-id="a" name="confidence"><value type="string">low</value></param>
  <param id="p2" ref-id="b" name="confidence"><value type="string">not a number</value></param>
  <param id="p3" ref-id="inner" name="confidence"><value type="int">100</value></param>
  <param id="p4" ref-id="c" name="comment"><value type="string">99</value></param>
</parameters></OpenIOC>"#,
        item("a", "is", "Network/DNS", "a.example"),
        item("b", "is", "Network/DNS", "b.example"),
        item("c", "is", "Network/DNS", "c.example"),
    );
    let out = ok(&doc);
    assert_eq!(find(&out, "a.example").confidence, Some(30));
    assert_eq!(
        find(&out, "b.example").confidence,
        Some(60),
        "unreadable value: the group's"
    );
    assert_eq!(
        find(&out, "c.example").confidence,
        Some(100),
        "the nearest group wins"
    );
}

#[test]
fn wrong_format_and_root() {
    let e = Parser::parse("stix", b"<x/>").expect_err("error");
    assert!(e.message.contains("\"openioc\""), "{}", e.message);

    for (doc, what, at) in [
        (
            r#"<ioc id="x"><definition/></ioc>"#.to_string(),
            "no namespace",
            "/ioc",
        ),
        (
            r#"<ioc xmlns="http://example.com/ns"/>"#.to_string(),
            "other namespace",
            "/ioc",
        ),
        (
            format!(r#"<OpenIOC xmlns="{NS_1_0}"/>"#),
            "1.1 name in 1.0 namespace",
            "/OpenIOC",
        ),
        (
            format!(r#"<ioc xmlns="{NS_1_1}"/>"#),
            "1.0 name in 1.1 namespace",
            "/ioc",
        ),
        (
            format!(r#"<stix xmlns="{NS_1_1}"/>"#),
            "other name",
            "/stix",
        ),
    ] {
        let e = err(&doc);
        assert!(
            e.message.contains("root element is not OpenIOC"),
            "{what}: {}",
            e.message
        );
        assert!(
            e.message.contains(NS_1_0) && e.message.contains(NS_1_1),
            "{what}"
        );
        assert_eq!(e.location.as_deref(), Some(at), "{what}");
    }
    // A prefixed root in the right namespace is fine.
    let out = ok(&format!(
        r#"<x:OpenIOC xmlns:x="{NS_1_1}" id="p"><x:criteria><x:Indicator operator="OR">{}</x:Indicator></x:criteria></x:OpenIOC>"#,
        item("a", "is", "Network/DNS", "a.example")
            .replace("<", "<x:")
            .replace("<x:/", "</x:")
    ));
    assert_eq!(out.indicators.len(), 1);
    // Elements of other namespaces are ignored.
    let out = ok(&v11(
        r#"<Indicator operator="OR"><IndicatorItem xmlns="http://example.com/other" condition="is"><Context search="Network/DNS"/><Content>a.example</Content></IndicatorItem></Indicator>"#,
    ));
    assert!(out.indicators.is_empty() && out.unsupported.is_empty());
}

#[test]
fn malformed_input_names_where() {
    // Syntax errors: byte offsets.
    let e = err(&v11("<Indicator operator=\"OR\"></Indikator>"));
    assert!(
        e.message
            .starts_with("malformed XML inside /OpenIOC/criteria[1]/Indicator[1]"),
        "{}",
        e.message
    );
    assert!(
        e.location
            .as_deref()
            .is_some_and(|l| l.starts_with("byte ")),
        "{:?}",
        e.location
    );

    let e = err(r#"<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1"><criteria>"#);
    assert!(e.message.contains("ends before"), "{}", e.message);
    assert_eq!(e.location.as_deref(), Some("/OpenIOC/criteria[1]"));

    let e = err("");
    assert!(e.message.contains("no root element"), "{}", e.message);
    let e = err("not xml at all");
    assert!(e.message.contains("outside the root"), "{}", e.message);
    let e = err(&format!("{}<second/>", v11("")));
    assert!(e.message.contains("second root"), "{}", e.message);

    let e = Parser::parse("openioc", b"<OpenIOC>\xff\xfe</OpenIOC>").expect_err("error");
    assert!(e.message.contains("UTF-8"));
    assert_eq!(e.location.as_deref(), Some("byte 9"));

    // A UTF-8 byte-order mark is fine, and counted in byte offsets.
    let out = ok(&format!(
        "\u{feff}{}",
        v11(&item("a", "is", "Network/DNS", "a.example"))
    ));
    assert_eq!(out.indicators.len(), 1);
    let e = err("\u{feff}<!DOCTYPE x><x/>");
    assert_eq!(e.location.as_deref(), Some("byte 3"));

    // Structural errors: XML paths.
    let e = err(&v11(
        r#"<Indicator operator="OR"><IndicatorItem id="z" condition="is"><Content>a.example</Content></IndicatorItem></Indicator>"#,
    ));
    assert!(e.message.contains("without a Context"), "{}", e.message);
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/criteria[1]/Indicator[1]/IndicatorItem[1]")
    );
    let e = err(&v11(
        r#"<Indicator operator="OR"><IndicatorItem id="z"><Context search="Network/DNS"/><Content>a.example</Content></IndicatorItem></Indicator>"#,
    ));
    assert!(e.message.contains("condition"), "{}", e.message);
    let e = err(&v11(&group(
        "OR",
        &[
            item("a", "is", "Network/DNS", "a.example"),
            item("b", "is", "Network/DNS", "b&bogus;.example"),
        ],
    )));
    assert!(
        e.message.contains("unknown entity reference &bogus;"),
        "{}",
        e.message
    );
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/criteria[1]/Indicator[1]/IndicatorItem[2]/Content[1]")
    );
    let e = err(&v11(r#"<Indicator operator="O&bogus;R"/>"#));
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/criteria[1]/Indicator[1]/@operator")
    );

    // Predefined entities, character references and CDATA are fine.
    let out = ok(&v11(&group(
        "OR",
        &[
            item("a", "is", "Network/DNS", "&#x61;&#98;.example"),
            item("b", "is", "Email/From", "Eve &lt;eve@bad.example&gt;"),
            item("c", "is", "Network/DNS", "<![CDATA[cdata.example]]>"),
        ],
    )));
    assert_eq!(
        values(&out).into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        vec!["ab.example", "eve@bad.example", "cdata.example"]
    );
}

#[test]
fn large_document() {
    let n = 20_000;
    let mut items = String::with_capacity(n * 200);
    for i in 0..n {
        let (search, value) = match i % 4 {
            0 => (
                "PortItem/remoteIP",
                format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
            ),
            1 => ("Network/DNS", format!("host{i}.bad.example")),
            2 => ("UrlHistoryItem/URL", format!("http://bad.example/{i}")),
            _ => ("FileItem/Md5sum", format!("{i:032x}")),
        };
        items.push_str(&item(&format!("item-{i}"), "is", search, &value));
    }
    let doc = v11(&format!(r#"<Indicator operator="OR">{items}</Indicator>"#));
    let started = std::time::Instant::now();
    let out = ok(&doc);
    eprintln!("{n} items, {} bytes: {:?}", doc.len(), started.elapsed());
    assert_eq!(out.indicators.len(), n / 4 * 3);
    assert_eq!(count(&out, "FileItem/Md5sum"), (n / 4) as u32);
}

#[test]
fn mutated_documents_never_panic() {
    let doc = fixture("openioc-1.1-apt.ioc").into_bytes();
    for end in 0..doc.len() {
        let _ = Parser::parse("openioc", &doc[..end]);
    }
    let mut copy = doc.clone();
    for i in (0..doc.len()).step_by(5) {
        for b in *b"<>&\"'/=!?;#x\xff" {
            copy[i] = b;
            let _ = Parser::parse("openioc", &copy);
        }
        copy[i] = doc[i];
    }
}
