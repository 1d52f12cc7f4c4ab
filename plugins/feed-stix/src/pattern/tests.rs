//! The grammar against the example patterns of STIX 2.1 (sections 9.9 and 7.1.x) and against
//! malformed ones.

use std::borrow::Cow;

use super::*;

/// Patterns from the STIX 2.1 specification and its indicator examples.
const SPEC_EXAMPLES: &[&str] = &[
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']",
    "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']",
    "[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:mime_type = 'application/x-pdf' AND file:name = 'Final Report.pdf']",
    "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar'] WITHIN 5 SECONDS",
    "([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 5 SECONDS",
    "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']",
    "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
    "[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']",
    "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
    "[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']",
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
    "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
    "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
    "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
    "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
    "[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\CryptoLocker\\\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\Microsoft\\\\CurrentVersion\\\\Run\\\\CryptoLocker_0388']",
    "[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']",
    "[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']",
    "[x-usb-device:usbdrive.serial_number = '575833344E30314A4C35353831']",
    "[process:command_line MATCHES '^.+>-add GlobalSettings.lnk$' AND process:parent_ref.name = 'cmd.exe']",
    "[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']",
    "([file:name = 'foo.dll'] AND [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']",
    "[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
    "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
    "[file:name = 'Wallpaper.bmp' AND file:size > 1024 AND file:size <= 4096]",
    "[network-traffic:src_port IN (80, 443, 8080) AND network-traffic:protocols[0] = 'tcp']",
    "[file:name LIKE 'report%.doc']",
    "[windows-registry-key:values[*].name NOT = 'Run']",
    "[EXISTS windows-registry-key:values]",
    "[domain-name:value ISSUPERSET 'example.com']",
    "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']",
    "[file:x_flag = true AND file:x_count != -3 AND file:x_ratio >= -0.5]",
    "[network-traffic:dst_ref.value = '198.51.100.9'] WITHIN 1.5 SECONDS",
];

fn s(text: &str) -> Cow<'_, str> {
    Cow::Borrowed(text)
}

fn path<'p>(object_type: &'p str, property: &'p str, steps: Vec<Step<'p>>) -> ObjectPath<'p> {
    ObjectPath {
        object_type,
        property: s(property),
        steps,
    }
}

fn eq<'p>(path: ObjectPath<'p>, value: &'p str) -> Comparison<'p> {
    Comparison::Test(Test {
        path,
        negated: false,
        predicate: Predicate::Compare(CompareOp::Eq, Constant::Str(s(value))),
    })
}

fn ipv4(value: &str) -> Comparison<'_> {
    eq(path("ipv4-addr", "value", vec![]), value)
}

fn error_of(pattern: &str) -> String {
    match parse(pattern) {
        Ok(tree) => panic!("{pattern} parsed as {tree:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_spec_example_parses_and_renders_back() {
    for pattern in SPEC_EXAMPLES {
        let tree = parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let rendered = tree.to_string();
        let again = parse(&rendered).unwrap_or_else(|e| panic!("{rendered}: {e}"));
        assert_eq!(again, tree, "{pattern} rendered as {rendered}");
    }
}

#[test]
fn a_simple_comparison() {
    assert_eq!(
        parse("[ipv4-addr:value = '198.51.100.1']"),
        Ok(Observation::Match(ipv4("198.51.100.1")))
    );
}

#[test]
fn and_binds_tighter_than_or_in_comparisons() {
    let tree = parse("[ipv4-addr:value = 'a' OR ipv4-addr:value = 'b' AND ipv4-addr:value = 'c']");
    assert_eq!(
        tree,
        Ok(Observation::Match(Comparison::Or(vec![
            ipv4("a"),
            Comparison::And(vec![ipv4("b"), ipv4("c")]),
        ])))
    );
    let grouped =
        parse("[(ipv4-addr:value = 'a' OR ipv4-addr:value = 'b') AND ipv4-addr:value = 'c']");
    assert_eq!(
        grouped,
        Ok(Observation::Match(Comparison::And(vec![
            Comparison::Or(vec![ipv4("a"), ipv4("b")]),
            ipv4("c"),
        ])))
    );
}

#[test]
fn observation_precedence_is_and_then_or_then_followedby() {
    let m = |v| Observation::Match(ipv4(v));
    let tree = parse(
        "[ipv4-addr:value = 'a'] FOLLOWEDBY [ipv4-addr:value = 'b'] OR [ipv4-addr:value = 'c'] AND [ipv4-addr:value = 'd']",
    );
    assert_eq!(
        tree,
        Ok(Observation::FollowedBy(vec![
            m("a"),
            Observation::Or(vec![m("b"), Observation::And(vec![m("c"), m("d")])]),
        ]))
    );
}

#[test]
fn chains_stay_flat() {
    let pattern = (0..1000)
        .map(|i| format!("[ipv4-addr:value = '{i}']"))
        .collect::<Vec<_>>()
        .join(" OR ");
    match parse(&pattern) {
        Ok(Observation::Or(items)) => assert_eq!(items.len(), 1000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn qualifiers_are_kept_in_order() {
    let tree = parse(
        "[ipv4-addr:value = 'a'] REPEATS 5 TIMES WITHIN +1800 SECONDS START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.5Z'",
    );
    assert_eq!(
        tree,
        Ok(Observation::Qualified(
            Box::new(Observation::Match(ipv4("a"))),
            vec![
                Qualifier::Repeats(5),
                Qualifier::Within("1800"),
                Qualifier::StartStop {
                    start: "2016-06-01T00:00:00Z",
                    stop: "2016-07-01T00:00:00.5Z",
                    start_ms: 1_464_739_200_000,
                    stop_ms: 1_467_331_200_500,
                },
            ],
        ))
    );
}

#[test]
fn a_qualifier_binds_to_the_observation_before_it() {
    let tree = parse("[ipv4-addr:value = 'a'] AND [ipv4-addr:value = 'b'] WITHIN 10 SECONDS");
    assert_eq!(
        tree,
        Ok(Observation::And(vec![
            Observation::Match(ipv4("a")),
            Observation::Qualified(
                Box::new(Observation::Match(ipv4("b"))),
                vec![Qualifier::Within("10")]
            ),
        ]))
    );
}

#[test]
fn object_paths() {
    let tree = parse("[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]");
    let expected = Test {
        path: path(
            "file",
            "extensions",
            vec![
                Step::Key(s("windows-pebinary-ext")),
                Step::Key(s("sections")),
                Step::Any,
                Step::Key(s("entropy")),
            ],
        ),
        negated: false,
        predicate: Predicate::Compare(CompareOp::Gt, Constant::Float("7.0")),
    };
    assert_eq!(tree, Ok(Observation::Match(Comparison::Test(expected))));
    let indexed = parse("[network-traffic:protocols[-1] = 'tcp']");
    assert_eq!(
        indexed,
        Ok(Observation::Match(eq(
            path("network-traffic", "protocols", vec![Step::Index(-1)]),
            "tcp"
        )))
    );
    let quoted_first = parse("[x-thing:'odd name' = 'v']");
    assert_eq!(
        quoted_first,
        Ok(Observation::Match(eq(
            path("x-thing", "odd name", vec![]),
            "v"
        )))
    );
}

#[test]
fn constants_of_every_kind() {
    let tree = parse(
        "[x:a IN ('it''s', 'a\\'b\\\\c', 42, +7, -3, 1.5, -.25, true, false, t'2020-01-01T00:00:00Z', h'00ff', b'AAE=')]",
    );
    assert!(
        tree.is_err(),
        "two quotes in a row are two strings, not an escape"
    );
    let tree = parse(
        "[x:a IN ('a\\'b\\\\c', 42, +7, -3, 1.5, -.25, true, false, t'2020-01-01T00:00:00Z', h'00ff', b'AAE=')]",
    );
    let Ok(Observation::Match(Comparison::Test(Test {
        predicate: Predicate::In(items),
        ..
    }))) = tree
    else {
        panic!("{tree:?}");
    };
    assert_eq!(
        items,
        vec![
            Constant::Str(Cow::Owned("a'b\\c".to_string())),
            Constant::Int(42),
            Constant::Int(7),
            Constant::Int(-3),
            Constant::Float("1.5"),
            Constant::Float("-.25"),
            Constant::Bool(true),
            Constant::Bool(false),
            Constant::Timestamp("2020-01-01T00:00:00Z"),
            Constant::Hex("00ff"),
            Constant::Binary("AAE="),
        ]
    );
}

#[test]
fn escapes_render_back() {
    let pattern = "[file:name = 'it\\'s a \\\\ path']";
    let tree = parse(pattern).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tree.to_string(), pattern);
}

#[test]
fn operators_and_negation() {
    for (pattern, operator) in [
        ("[x:a = 'v']", "="),
        ("[x:a == 'v']", "="),
        ("[x:a != 'v']", "!="),
        ("[x:a <> 'v']", "!="),
        ("[x:a NOT = 'v']", "NOT ="),
        ("[x:a < 1]", "<"),
        ("[x:a <= 1]", "<="),
        ("[x:a > 1]", ">"),
        ("[x:a >= 1]", ">="),
        ("[x:a IN ()]", "IN"),
        ("[x:a NOT IN ('v')]", "NOT IN"),
        ("[x:a LIKE 'v%']", "LIKE"),
        ("[x:a MATCHES '^v$']", "MATCHES"),
        ("[x:a ISSUBSET '10.0.0.0/8']", "ISSUBSET"),
        ("[x:a NOT ISSUPERSET '10.0.0.0/8']", "NOT ISSUPERSET"),
        ("[EXISTS x:a]", "EXISTS"),
    ] {
        match parse(pattern) {
            Ok(Observation::Match(Comparison::Test(test))) => {
                assert_eq!(test.operator(), operator, "{pattern}")
            }
            other => panic!("{pattern}: {other:?}"),
        }
    }
}

#[test]
fn whitespace_and_comments_are_skipped() {
    let tree =
        parse("  /* lead */ [\n\tipv4-addr:value // to the end of the line\n = '198.51.100.1' ]  ");
    assert_eq!(tree, Ok(Observation::Match(ipv4("198.51.100.1"))));
}

#[test]
fn malformed_patterns_are_errors_with_offsets() {
    for (pattern, message) in [
        (
            "",
            "expected '[' or '(', found the end of the pattern at offset 0",
        ),
        (
            "ipv4-addr:value = '1.2.3.4'",
            "expected '[' or '(', found 'ipv4-addr' at offset 0",
        ),
        (
            "[ipv4-addr:value = '1.2.3.4'",
            "expected ']', found the end of the pattern at offset 28",
        ),
        (
            "[ipv4-addr:value = '1.2.3.4]",
            "string is never closed at offset 19",
        ),
        (
            "[ipv4-addr:value = 'a\\b']",
            "invalid escape '\\b' (only \\' and \\\\ are allowed) at offset 22",
        ),
        (
            "[ipv4-addr:value = '1.2.3.4'] and [x:y = 'z']",
            "expected the end of the pattern, found 'and' at offset 30",
        ),
        (
            "[ipv4-addr:value '1.2.3.4']",
            "expected a comparison operator, found a string at offset 17",
        ),
        (
            "[ipv4-addr = '1.2.3.4']",
            "expected ':', found '=' at offset 11",
        ),
        ("[x:a IN 'v']", "expected '(', found a string at offset 8"),
        (
            "[x:a IN ('v' 'w')]",
            "expected ',' or ')', found a string at offset 13",
        ),
        (
            "[x:a LIKE 5]",
            "expected a string, found a number at offset 10",
        ),
        ("[x:a > true]", "'>' cannot compare booleans at offset 7"),
        (
            "[x:a = t'2020-01-01']",
            "t'2020-01-01' is not a timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z) at offset 7",
        ),
        (
            "[x:a = h'abc']",
            "h'abc' is not pairs of hex digits at offset 7",
        ),
        ("[x:a = b'abc']", "b'abc' is not base64 at offset 7"),
        (
            "[x:a = 99999999999999999999]",
            "integer 99999999999999999999 is out of range at offset 7",
        ),
        (
            "[x:a = 'v'] WITHIN -5 SECONDS",
            "expected a positive number of seconds, found a number at offset 19",
        ),
        (
            "[x:a = 'v'] WITHIN 5",
            "expected 'SECONDS', found the end of the pattern at offset 20",
        ),
        (
            "[x:a = 'v'] REPEATS 1.5 TIMES",
            "expected a positive integer, found a number at offset 20",
        ),
        (
            "[x:a = 'v'] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'",
            "STOP must be later than START at offset 47",
        ),
        (
            "[x:a = 'v'] START t'1960-01-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'",
            "t'1960-01-01T00:00:00Z' is not a valid time after 1970 at offset 18",
        ),
        (
            "[x:a = 'v'] /* open",
            "comment '/*' is never closed at offset 12",
        ),
        ("[x:a = 'v'] # x", "unexpected character '#' at offset 12"),
        (
            "[x:a = - 5]",
            "a sign must be followed by a number at offset 7",
        ),
        (
            "[x:a[x] = 'v']",
            "expected a list index or '*', found 'x' at offset 5",
        ),
    ] {
        assert_eq!(error_of(pattern), message, "{pattern}");
    }
}

#[test]
fn nesting_is_limited_to_max_depth() {
    let nested = |depth: usize| {
        format!(
            "{}[x:a = 'v']{}",
            "(".repeat(depth - 1),
            ")".repeat(depth - 1)
        )
    };
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    assert_eq!(
        error_of(&nested(MAX_DEPTH + 1)),
        format!(
            "brackets and parentheses nest deeper than {MAX_DEPTH} levels at offset {MAX_DEPTH}"
        )
    );
    let comparisons = format!("[{}x:a = 'v'{}]", "(".repeat(100_000), ")".repeat(100_000));
    assert!(error_of(&comparisons).contains("nest deeper than"));
}
