//! Startup-phase packets: fixtures, splits, and malformed or hostile packets.

use articdbm_pgwire::ProtocolError;
use articdbm_pgwire::startup::{DEFAULT_MAX_STARTUP_LEN, StartupDecoder, StartupPacket};

use crate::util::*;

fn startup_fixture() -> Vec<u8> {
    startup(&cat(&[
        &be32(196_608),
        b"user\0alice\0database\0shop\0application_name\0psql\0options\0-c search_path=x\0\0",
    ]))
}

fn decode_one(b: &[u8]) -> Result<Option<StartupPacket>, ProtocolError> {
    StartupDecoder::new().decode(&mut buf(b))
}

#[test]
fn startup_message_fixture() {
    let raw = startup_fixture();
    let mut b = buf(&raw);
    let Some(StartupPacket::Startup(m)) = StartupDecoder::new().decode(&mut b).unwrap() else {
        panic!("expected startup")
    };
    assert!(b.is_empty());
    assert_eq!(m.frame().as_ref(), raw.as_slice());
    assert_eq!(m.protocol_version(), (3, 0));
    assert!(!m.needs_negotiation());
    assert_eq!(m.user(), "alice");
    assert_eq!(m.database(), "shop");
    assert_eq!(m.application_name(), Some("psql"));
    assert_eq!(m.options(), Some("-c search_path=x"));
    assert_eq!(m.replication(), None);
    assert_eq!(m.params().count(), 4);
}

#[test]
fn database_defaults_to_user_and_replication_param() {
    let raw = startup(&cat(&[
        &be32(196_608),
        b"user\0bob\0replication\0database\0\0",
    ]));
    let Some(StartupPacket::Startup(m)) = decode_one(&raw).unwrap() else {
        panic!()
    };
    assert_eq!(m.database(), "bob");
    assert_eq!(m.replication(), Some("database"));
}

#[test]
fn newer_minor_version_and_protocol_options_need_negotiation() {
    let raw = startup(&cat(&[&be32(196_610), b"user\0u\0_pq_.fancy\0on\0\0"]));
    let Some(StartupPacket::Startup(m)) = decode_one(&raw).unwrap() else {
        panic!()
    };
    assert_eq!(m.protocol_version(), (3, 2));
    assert!(m.needs_negotiation());
    assert_eq!(
        m.protocol_options().collect::<Vec<_>>(),
        [("_pq_.fancy", "on")]
    );
}

#[test]
fn ssl_gss_and_cancel_requests() {
    let ssl = [0, 0, 0, 8, 4, 210, 22, 47];
    let gss = [0, 0, 0, 8, 4, 210, 22, 48];
    assert_eq!(decode_one(&ssl).unwrap(), Some(StartupPacket::SslRequest));
    assert_eq!(
        decode_one(&gss).unwrap(),
        Some(StartupPacket::GssEncRequest)
    );
    let cancel = cat(&[&[0, 0, 0, 16, 4, 210, 22, 46], &be32(4242), &[9, 8, 7, 6]]);
    let Some(StartupPacket::Cancel(c)) = decode_one(&cancel).unwrap() else {
        panic!()
    };
    assert_eq!(c.process_id, 4242);
    assert_eq!(c.secret_key.as_ref(), &[9, 8, 7, 6]);
    // Protocol 3.2 longer keys.
    let long = startup(&cat(&[&be32(80_877_102), &be32(1), &[7u8; 32]]));
    let Some(StartupPacket::Cancel(c)) = decode_one(&long).unwrap() else {
        panic!()
    };
    assert_eq!(c.secret_key.len(), 32);
    // Key too short or too long.
    let short = startup(&cat(&[&be32(80_877_102), &be32(1), &[7u8; 3]]));
    assert!(matches!(
        decode_one(&short),
        Err(ProtocolError::InvalidField { .. })
    ));
    let huge = startup(&cat(&[&be32(80_877_102), &be32(1), &[7u8; 257]]));
    assert!(decode_one(&huge).is_err());
    // SSLRequest with extra bytes.
    let fat = startup(&cat(&[&be32(80_877_103), &[0]]));
    assert!(matches!(
        decode_one(&fat),
        Err(ProtocolError::TrailingBytes { .. })
    ));
}

#[test]
fn ssl_request_then_startup_in_one_buffer_and_bytewise() {
    let mut input = vec![0, 0, 0, 8, 4, 210, 22, 47];
    input.extend(startup_fixture());
    let d = StartupDecoder::new();
    let mut b = buf(&input);
    assert_eq!(d.decode(&mut b).unwrap(), Some(StartupPacket::SslRequest));
    assert!(matches!(
        d.decode(&mut b).unwrap(),
        Some(StartupPacket::Startup(_))
    ));
    assert_eq!(d.decode(&mut b).unwrap(), None);

    let got = feed_bytewise(&input, |b| d.decode(b));
    assert_eq!(got.len(), 2);
}

#[test]
fn split_at_every_point() {
    let raw = startup_fixture();
    let d = StartupDecoder::new();
    for cut in 0..raw.len() {
        let mut b = buf(&raw[..cut]);
        assert_eq!(d.decode(&mut b).unwrap(), None, "cut {cut}");
        b.extend_from_slice(&raw[cut..]);
        assert!(matches!(
            d.decode(&mut b).unwrap(),
            Some(StartupPacket::Startup(_))
        ));
    }
}

#[test]
fn length_bounds() {
    // Less than 8.
    for len in [0i32, 4, 7, -1, i32::MIN] {
        let e = decode_one(&be32(len)).unwrap_err();
        assert!(matches!(e, ProtocolError::InvalidLength { .. }), "{len}");
        assert_eq!(e.sqlstate(), "08P01");
    }
    // Huge length refused with only the length buffered.
    let e = decode_one(&be32(i32::MAX)).unwrap_err();
    assert!(matches!(e, ProtocolError::MessageTooLarge { .. }));
    assert_eq!(e.sqlstate(), "54000");
    let e = decode_one(&be32(DEFAULT_MAX_STARTUP_LEN as i32 + 1)).unwrap_err();
    assert!(matches!(e, ProtocolError::MessageTooLarge { .. }));
    assert!(e.to_string_client().contains("too large"));
    // Exactly at the limit is fine if well-formed.
    let filler = "x".repeat(DEFAULT_MAX_STARTUP_LEN - 4 - 4 - b"user\0u\0a\0\0\0".len());
    let body = cat(&[&be32(196_608), b"user\0u\0a\0", filler.as_bytes(), b"\0\0"]);
    let raw = startup(&body);
    assert_eq!(raw.len(), DEFAULT_MAX_STARTUP_LEN);
    assert!(decode_one(&raw).unwrap().is_some());
    // A custom limit.
    assert!(
        StartupDecoder::with_max_len(100)
            .decode(&mut buf(&raw))
            .is_err()
    );
    // Incomplete (fewer than 4 bytes) is just "need more".
    assert_eq!(decode_one(&[0, 0]).unwrap(), None);
}

#[test]
fn malformed_startup_packets() {
    let v3 = be32(196_608);
    type Check = fn(&ProtocolError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        (
            "no terminator",
            startup(&cat(&[&v3, b"user\0alice\0"])),
            |e| matches!(e, ProtocolError::MissingNul { .. }),
        ),
        (
            "value without NUL",
            startup(&cat(&[&v3, b"user\0alice"])),
            |e| matches!(e, ProtocolError::MissingNul { .. }),
        ),
        (
            "odd strings",
            startup(&cat(&[&v3, b"user\0alice\0orphan\0"])),
            |e| matches!(e, ProtocolError::MissingNul { .. }),
        ),
        ("empty params", startup(&v3), |e| {
            matches!(e, ProtocolError::MissingNul { .. })
        }),
        ("only terminator", startup(&cat(&[&v3, b"\0"])), |e| {
            *e == ProtocolError::MissingUser
        }),
        (
            "missing user",
            startup(&cat(&[&v3, b"database\0d\0\0"])),
            |e| *e == ProtocolError::MissingUser,
        ),
        ("empty user", startup(&cat(&[&v3, b"user\0\0\0"])), |e| {
            *e == ProtocolError::MissingUser
        }),
        (
            "duplicate",
            startup(&cat(&[&v3, b"user\0a\0user\0b\0\0"])),
            |e| matches!(e, ProtocolError::DuplicateParameter { name } if name == "user"),
        ),
        ("trailing", startup(&cat(&[&v3, b"user\0a\0\0junk"])), |e| {
            matches!(e, ProtocolError::TrailingBytes { .. })
        }),
        ("bad utf8", startup(&cat(&[&v3, b"user\0\xff\0\0"])), |e| {
            matches!(e, ProtocolError::InvalidUtf8 { .. })
        }),
        (
            "protocol 2",
            startup(&cat(&[&be32(131_072), b"user\0a\0\0"])),
            |e| *e == ProtocolError::UnsupportedProtocolVersion { major: 2, minor: 0 },
        ),
        (
            "protocol 4",
            startup(&cat(&[&be32(262_144), b"user\0a\0\0"])),
            |e| {
                matches!(
                    e,
                    ProtocolError::UnsupportedProtocolVersion { major: 4, .. }
                )
            },
        ),
    ];
    for (what, raw, check) in cases {
        let e = decode_one(&raw).unwrap_err();
        assert!(check(&e), "{what}: {e:?}");
        assert!(!e.to_string_client().is_empty());
    }
    assert_eq!(
        ProtocolError::UnsupportedProtocolVersion { major: 2, minor: 0 }.sqlstate(),
        "0A000"
    );
}
