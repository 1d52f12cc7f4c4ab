//! Frontend typed messages: byte fixtures, lazy accessors, splits, limits and malformed bodies.

use articdbm_pgwire::ProtocolError;
use articdbm_pgwire::frontend::{
    AUTH_MESSAGE_LIMIT, DEFAULT_MAX_MESSAGE_LEN, FrontendDecoder, FrontendMessage,
    SMALL_MESSAGE_LIMIT, Target,
};

use crate::util::*;

fn decode(raw: &[u8]) -> Result<Option<FrontendMessage>, ProtocolError> {
    FrontendDecoder::new().decode(&mut buf(raw))
}

fn one(raw: &[u8]) -> FrontendMessage {
    let m = decode(raw).unwrap().unwrap();
    assert_eq!(m.frame().as_ref(), raw, "frame must be the raw bytes");
    m
}

pub fn parse_fixture() -> Vec<u8> {
    frame(
        b'P',
        &cat(&[b"s1\0SELECT $1::int, $2\0", &be16(2), &be32(23), &be32(25)]),
    )
}

pub fn bind_fixture() -> Vec<u8> {
    frame(
        b'B',
        &cat(&[
            b"p1\0s1\0",
            &be16(2),
            &be16(0),
            &be16(1),
            &be16(2),
            &be32(2),
            b"42",
            &be32(-1),
            &be16(1),
            &be16(1),
        ]),
    )
}

/// One fixture per frontend message type.
pub fn all_fixtures() -> Vec<Vec<u8>> {
    vec![
        frame(b'Q', b"SELECT 1;\0"),
        parse_fixture(),
        bind_fixture(),
        frame(b'D', b"Ss1\0"),
        frame(b'E', &cat(&[b"p1\0", &be32(100)])),
        frame(b'C', b"Pp1\0"),
        frame(b'S', b""),
        frame(b'H', b""),
        frame(b'X', b""),
        frame(b'd', b"1\tfoo\n"),
        frame(b'c', b""),
        frame(b'f', b"client gave up\0"),
        frame(b'p', b"hunter2\0"),
        frame(b'p', &cat(&[b"SCRAM-SHA-256\0", &be32(9), b"n,,n=,r=x"])),
        frame(
            b'F',
            &cat(&[
                &be32(1598),
                &be16(1),
                &be16(0),
                &be16(1),
                &be32(1),
                b"7",
                &be16(0),
            ]),
        ),
    ]
}

#[test]
fn query_fixture() {
    let FrontendMessage::Query(q) = one(&frame(b'Q', b"SELECT 1;\0")) else {
        panic!()
    };
    assert_eq!(q.sql().unwrap(), "SELECT 1;");
}

#[test]
fn parse_fixture_accessors() {
    let FrontendMessage::Parse(p) = one(&parse_fixture()) else {
        panic!()
    };
    assert_eq!(p.statement_name().unwrap(), "s1");
    assert_eq!(p.query().unwrap(), "SELECT $1::int, $2");
    assert_eq!(p.param_types().unwrap().collect::<Vec<_>>(), [23, 25]);
    p.validate().unwrap();
}

#[test]
fn bind_fixture_accessors_zero_copy() {
    let raw = bind_fixture();
    let FrontendMessage::Bind(b) = one(&raw) else {
        panic!()
    };
    assert_eq!(b.portal().unwrap(), "p1");
    assert_eq!(b.statement().unwrap(), "s1");
    let formats: Vec<i16> = b.param_formats().unwrap().collect();
    assert_eq!(formats, [0, 1]);
    let params: Vec<Option<&[u8]>> = b.params().unwrap().collect();
    assert_eq!(params, [Some(&b"42"[..]), None]);
    // The parameter slice points into the frame: no copy.
    let p0 = params[0].unwrap();
    let range = b.frame().as_ptr_range();
    assert!(range.contains(&p0.as_ptr()));
    let rf = b.result_formats().unwrap();
    assert_eq!(rf.for_index(5), 1, "one code applies to all columns");
    b.validate().unwrap();
}

#[test]
fn describe_execute_close() {
    let FrontendMessage::Describe(d) = one(&frame(b'D', b"Ss1\0")) else {
        panic!()
    };
    assert_eq!(d.target().unwrap(), (Target::Statement, "s1"));
    let FrontendMessage::Execute(e) = one(&frame(b'E', &cat(&[b"p1\0", &be32(100)]))) else {
        panic!()
    };
    assert_eq!(e.portal().unwrap(), "p1");
    assert_eq!(e.max_rows().unwrap(), 100);
    let FrontendMessage::Close(c) = one(&frame(b'C', b"P\0")) else {
        panic!()
    };
    assert_eq!(c.target().unwrap(), (Target::Portal, ""));
}

#[test]
fn empty_body_messages() {
    assert!(matches!(one(&frame(b'S', b"")), FrontendMessage::Sync(_)));
    assert!(matches!(one(&frame(b'H', b"")), FrontendMessage::Flush(_)));
    assert!(matches!(
        one(&frame(b'X', b"")),
        FrontendMessage::Terminate(_)
    ));
    assert!(matches!(
        one(&frame(b'c', b"")),
        FrontendMessage::CopyDone(_)
    ));
    for tag in [b'S', b'H', b'X', b'c'] {
        assert!(
            matches!(
                decode(&frame(tag, b"x")),
                Err(ProtocolError::TrailingBytes { .. })
            ),
            "{}",
            tag as char
        );
    }
}

#[test]
fn copy_messages() {
    let FrontendMessage::CopyData(d) = one(&frame(b'd', b"1\tfoo\n")) else {
        panic!()
    };
    assert_eq!(d.data(), b"1\tfoo\n");
    assert_eq!(d.data_bytes().as_ref(), b"1\tfoo\n");
    let FrontendMessage::CopyFail(f) = one(&frame(b'f', b"nope\0")) else {
        panic!()
    };
    assert_eq!(f.message().unwrap(), "nope");
}

#[test]
fn auth_response_forms() {
    let FrontendMessage::AuthResponse(p) = one(&frame(b'p', b"hunter2\0")) else {
        panic!()
    };
    assert_eq!(p.password().unwrap(), b"hunter2");
    let raw = frame(b'p', &cat(&[b"SCRAM-SHA-256\0", &be32(9), b"n,,n=,r=x"]));
    let FrontendMessage::AuthResponse(s) = one(&raw) else {
        panic!()
    };
    let init = s.sasl_initial().unwrap();
    assert_eq!(init.mechanism, "SCRAM-SHA-256");
    assert_eq!(init.data, Some(&b"n,,n=,r=x"[..]));
    assert!(s.password().is_err(), "not a password message");
    let none = frame(b'p', &cat(&[b"SCRAM-SHA-256\0", &be32(-1)]));
    let FrontendMessage::AuthResponse(n) = one(&none) else {
        panic!()
    };
    assert_eq!(n.sasl_initial().unwrap().data, None);
    let FrontendMessage::AuthResponse(r) = one(&frame(b'p', b"c=biws,r=x,p=y")) else {
        panic!()
    };
    assert_eq!(r.sasl_response(), b"c=biws,r=x,p=y");
    // Declared initial-response length longer than the message.
    let bad = frame(b'p', &cat(&[b"SCRAM-SHA-256\0", &be32(100), b"n,,"]));
    let FrontendMessage::AuthResponse(b) = one(&bad) else {
        panic!()
    };
    assert!(matches!(
        b.sasl_initial(),
        Err(ProtocolError::Truncated { .. })
    ));
    // Password with bytes after the NUL (PostgreSQL: "invalid password packet size").
    let FrontendMessage::AuthResponse(t) = one(&frame(b'p', b"pw\0x")) else {
        panic!()
    };
    assert!(matches!(
        t.password(),
        Err(ProtocolError::TrailingBytes { .. })
    ));
}

#[test]
fn function_call_fixture() {
    let raw = frame(
        b'F',
        &cat(&[
            &be32(1598),
            &be16(1),
            &be16(0),
            &be16(1),
            &be32(1),
            b"7",
            &be16(0),
        ]),
    );
    let FrontendMessage::FunctionCall(f) = one(&raw) else {
        panic!()
    };
    let fields = f.fields().unwrap();
    assert_eq!(fields.function_oid, 1598);
    assert_eq!(fields.args.collect::<Vec<_>>(), [Some(&b"7"[..])]);
    assert_eq!(fields.result_format, 0);
}

#[test]
fn every_fixture_validates_and_pipelines_bytewise() {
    let fixtures = all_fixtures();
    for f in &fixtures {
        one(f).validate().unwrap();
    }
    let stream: Vec<u8> = fixtures.concat();
    let d = FrontendDecoder::new();
    let got = feed_bytewise(&stream, |b| d.decode(b));
    assert_eq!(got.len(), fixtures.len());
    for (m, f) in got.iter().zip(&fixtures) {
        assert_eq!(m.frame().as_ref(), f.as_slice());
    }
}

#[test]
fn split_across_two_reads_at_every_point() {
    let raw = bind_fixture();
    let d = FrontendDecoder::new();
    for cut in 0..raw.len() {
        let mut b = buf(&raw[..cut]);
        assert_eq!(d.decode(&mut b).unwrap(), None, "cut {cut}");
        assert_eq!(b.len(), cut);
        b.extend_from_slice(&raw[cut..]);
        let m = d.decode(&mut b).unwrap().unwrap();
        assert_eq!(m.frame().as_ref(), raw.as_slice());
        assert!(b.is_empty());
    }
}

#[test]
fn oversized_refused_before_buffering() {
    let d = FrontendDecoder::new();
    // Only the 5-byte header is present: the decision needs no body.
    let header = |tag: u8, len: usize| cat(&[&[tag], &be32(len as i32)]);
    let e = d
        .decode(&mut buf(&header(b'Q', DEFAULT_MAX_MESSAGE_LEN + 1)))
        .unwrap_err();
    assert!(matches!(
        e,
        ProtocolError::MessageTooLarge {
            message: "Query",
            ..
        }
    ));
    assert_eq!(e.sqlstate(), "54000");
    // At the limit: just "need more bytes".
    assert_eq!(
        d.decode(&mut buf(&header(b'Q', DEFAULT_MAX_MESSAGE_LEN)))
            .unwrap(),
        None
    );
    let e = d
        .decode(&mut buf(&header(b'S', SMALL_MESSAGE_LIMIT + 1)))
        .unwrap_err();
    assert!(matches!(
        e,
        ProtocolError::MessageTooLarge {
            message: "Sync",
            ..
        }
    ));
    let e = d
        .decode(&mut buf(&header(b'p', AUTH_MESSAGE_LIMIT + 1)))
        .unwrap_err();
    assert!(matches!(e, ProtocolError::MessageTooLarge { .. }));
    let e = d
        .decode(&mut buf(&header(b'd', i32::MAX as usize)))
        .unwrap_err();
    assert!(matches!(e, ProtocolError::MessageTooLarge { .. }));
    // Custom limit.
    let small = FrontendDecoder::with_max_message_len(16);
    assert!(
        small
            .decode(&mut buf(&frame(b'Q', b"SELECT 1234567890\0")))
            .is_err()
    );
    assert!(small.decode(&mut buf(&frame(b'Q', b"SELECT 1\0"))).is_ok());
}

#[test]
fn invalid_lengths_and_types() {
    for len in [0i32, 3, -1, i32::MIN] {
        let e = decode(&cat(&[b"Q", &be32(len)])).unwrap_err();
        assert!(matches!(e, ProtocolError::InvalidLength { .. }), "{len}");
    }
    // Unknown tag refused at the first byte.
    let e = decode(b"Z").unwrap_err();
    assert_eq!(
        e,
        ProtocolError::UnknownMessageType {
            direction: "frontend",
            tag: b'Z'
        }
    );
    assert_eq!(e.sqlstate(), "08P01");
    // A startup packet sent in the normal phase (length high byte 0).
    assert!(decode(&[0, 0, 0, 8, 4, 210, 22, 47]).is_err());
    assert_eq!(decode(b"").unwrap(), None);
    assert_eq!(decode(b"Q\0\0").unwrap(), None);
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    let FrontendMessage::Query(q) = one(&frame(b'Q', b"SELECT 1")) else {
        panic!()
    };
    assert!(matches!(q.sql(), Err(ProtocolError::MissingNul { .. })));
    let FrontendMessage::Query(q) = one(&frame(b'Q', b"SELECT \xff\0")) else {
        panic!()
    };
    assert!(matches!(q.sql(), Err(ProtocolError::InvalidUtf8 { .. })));
    let FrontendMessage::Query(q) = one(&frame(b'Q', b"a\0b\0")) else {
        panic!()
    };
    assert!(matches!(q.sql(), Err(ProtocolError::TrailingBytes { .. })));

    // Parse: declares 3 types, carries 1.
    let raw = frame(b'P', &cat(&[b"s\0q\0", &be16(3), &be32(23)]));
    let FrontendMessage::Parse(p) = one(&raw) else {
        panic!()
    };
    assert_eq!(
        p.statement_name().unwrap(),
        "s",
        "lazy: earlier fields still readable"
    );
    assert!(matches!(
        p.param_types(),
        Err(ProtocolError::Truncated { .. })
    ));
    let raw = frame(b'P', &cat(&[b"s\0q\0", &be16(-1)]));
    let FrontendMessage::Parse(p) = one(&raw) else {
        panic!()
    };
    assert!(matches!(
        p.param_types(),
        Err(ProtocolError::InvalidField { .. })
    ));

    let bind = |body: Vec<u8>| match one(&frame(b'B', &body)) {
        FrontendMessage::Bind(b) => b,
        _ => panic!(),
    };
    // Negative parameter count.
    let b = bind(cat(&[b"\0\0", &be16(0), &be16(-5)]));
    assert!(b.params().is_err());
    // Parameter length beyond the message.
    let b = bind(cat(&[
        b"\0\0",
        &be16(0),
        &be16(1),
        &be32(1000),
        b"x",
        &be16(0),
    ]));
    assert!(matches!(b.params(), Err(ProtocolError::Truncated { .. })));
    // Negative parameter length other than -1.
    let b = bind(cat(&[b"\0\0", &be16(0), &be16(1), &be32(-2), &be16(0)]));
    assert!(matches!(
        b.params(),
        Err(ProtocolError::InvalidField { .. })
    ));
    // Two format codes for three parameters.
    let b = bind(cat(&[
        b"\0\0",
        &be16(2),
        &be16(0),
        &be16(0),
        &be16(3),
        &be32(-1),
        &be32(-1),
        &be32(-1),
        &be16(0),
    ]));
    assert!(matches!(
        b.fields(),
        Err(ProtocolError::InvalidField { .. })
    ));
    // Format code 7.
    let b = bind(cat(&[b"\0\0", &be16(1), &be16(7), &be16(0), &be16(0)]));
    assert!(b.fields().is_ok());
    assert!(b.validate().is_err());
    // Missing result-format count.
    let b = bind(cat(&[b"\0\0", &be16(0), &be16(0)]));
    assert!(matches!(b.fields(), Err(ProtocolError::Truncated { .. })));

    let FrontendMessage::Describe(d) = one(&frame(b'D', b"Xname\0")) else {
        panic!()
    };
    assert!(matches!(
        d.target(),
        Err(ProtocolError::InvalidField { .. })
    ));
    let FrontendMessage::Describe(d) = one(&frame(b'D', b"")) else {
        panic!()
    };
    assert!(d.target().is_err());
    let FrontendMessage::Execute(e) = one(&frame(b'E', b"p\0\0\0")) else {
        panic!()
    };
    assert!(matches!(e.max_rows(), Err(ProtocolError::Truncated { .. })));

    for f in all_fixtures() {
        // Every proper prefix of a body, re-framed, must fail cleanly or parse.
        let body = &f[5..];
        for cut in 0..body.len() {
            if let Ok(Some(m)) = decode(&frame(f[0], &body[..cut])) {
                let _ = m.validate();
            }
        }
    }
}

#[test]
fn client_error_text_is_safe() {
    let e = decode(&frame(b'Q', &[b'a'; 10])).unwrap().unwrap();
    let FrontendMessage::Query(q) = e else {
        panic!()
    };
    let err = q.sql().unwrap_err();
    let text = err.to_string_client();
    assert!(!text.contains("aaaa"));
    assert_eq!(err.kind(), "missing_nul");
}
