//! Backend messages: byte fixtures for each typed accessor, framing and limits.

use articdbm_pgwire::ProtocolError;
use articdbm_pgwire::backend::{
    Authentication, BackendDecoder, BackendMessage, EncryptionResponse, TransactionStatus,
    decode_encryption_response, field,
};

use crate::util::*;

fn msg(raw: &[u8]) -> BackendMessage {
    let mut b = buf(raw);
    let m = BackendDecoder::new().decode(&mut b).unwrap().unwrap();
    assert!(b.is_empty());
    assert_eq!(m.frame().as_ref(), raw);
    m
}

/// One fixture per backend message type.
pub fn all_fixtures() -> Vec<Vec<u8>> {
    vec![
        frame(b'R', &be32(0)),
        frame(b'R', &be32(3)),
        frame(b'R', &cat(&[&be32(5), &[1, 2, 3, 4]])),
        frame(
            b'R',
            &cat(&[&be32(10), b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"]),
        ),
        frame(b'R', &cat(&[&be32(11), b"r=abc,s=QQ==,i=4096"])),
        frame(b'R', &cat(&[&be32(12), b"v=xyz"])),
        frame(b'S', b"server_version\x0015.4\0"),
        frame(b'K', &cat(&[&be32(77), &be32(0x1234_5678)])),
        frame(b'Z', b"I"),
        frame(
            b'E',
            b"SERROR\0VERROR\0C42501\0Mpermission denied\0Dmore\0Hdo this\0P7\0\0",
        ),
        frame(b'N', b"SWARNING\0C01000\0Mcareful\0\0"),
        frame(b'C', b"INSERT 0 5\0"),
        frame(
            b'T',
            &cat(&[
                &be16(2),
                b"id\0",
                &be32(16384),
                &be16(1),
                &be32(23),
                &be16(4),
                &be32(-1),
                &be16(0),
                b"name\0",
                &be32(0),
                &be16(0),
                &be32(25),
                &be16(-1),
                &be32(-1),
                &be16(0),
            ]),
        ),
        frame(b'D', &cat(&[&be16(2), &be32(1), b"1", &be32(-1)])),
        frame(b'1', b""),
        frame(b'2', b""),
        frame(b'3', b""),
        frame(b'n', b""),
        frame(b't', &cat(&[&be16(2), &be32(23), &be32(25)])),
        frame(b's', b""),
        frame(b'I', b""),
        frame(b'G', &cat(&[&[0], &be16(2), &be16(0), &be16(0)])),
        frame(b'H', &cat(&[&[1], &be16(1), &be16(1)])),
        frame(b'W', &cat(&[&[0], &be16(0)])),
        frame(b'd', b"row\n"),
        frame(b'c', b""),
        frame(b'A', &cat(&[&be32(99), b"jobs\0{\"id\":1}\0"])),
        frame(b'v', &cat(&[&be32(0), &be32(1), b"_pq_.fancy\0"])),
        frame(b'V', &cat(&[&be32(1), b"x"])),
    ]
}

#[test]
fn every_fixture_validates_and_pipelines_bytewise() {
    let fixtures = all_fixtures();
    for f in &fixtures {
        msg(f).validate().unwrap();
    }
    let d = BackendDecoder::new();
    let got = feed_bytewise(&fixtures.concat(), |b| d.decode(b));
    assert_eq!(got.len(), fixtures.len());
}

#[test]
fn authentication_subtypes() {
    assert_eq!(
        msg(&frame(b'R', &be32(0))).authentication().unwrap(),
        Authentication::Ok
    );
    assert_eq!(
        msg(&frame(b'R', &be32(3))).authentication().unwrap(),
        Authentication::CleartextPassword
    );
    assert_eq!(
        msg(&frame(b'R', &cat(&[&be32(5), &[1, 2, 3, 4]])))
            .authentication()
            .unwrap(),
        Authentication::Md5Password { salt: [1, 2, 3, 4] }
    );
    let sasl = msg(&frame(
        b'R',
        &cat(&[&be32(10), b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"]),
    ));
    assert_eq!(
        sasl.authentication().unwrap(),
        Authentication::Sasl(vec!["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])
    );
    assert_eq!(
        msg(&frame(b'R', &cat(&[&be32(11), b"r=1"])))
            .authentication()
            .unwrap(),
        Authentication::SaslContinue(b"r=1")
    );
    assert_eq!(
        msg(&frame(b'R', &cat(&[&be32(12), b"v=1"])))
            .authentication()
            .unwrap(),
        Authentication::SaslFinal(b"v=1")
    );
    for bad in [
        frame(b'R', b""),
        frame(b'R', &be32(99)),
        frame(b'R', &cat(&[&be32(5), &[1, 2]])),
        frame(b'R', &cat(&[&be32(0), b"x"])),
        frame(b'R', &cat(&[&be32(10), b"\0"])),
        frame(b'R', &cat(&[&be32(10), b"SCRAM"])),
    ] {
        assert!(msg(&bad).authentication().is_err());
    }
}

#[test]
fn ready_for_query_status() {
    for (b, s) in [
        (b'I', TransactionStatus::Idle),
        (b'T', TransactionStatus::InTransaction),
        (b'E', TransactionStatus::Failed),
    ] {
        assert_eq!(msg(&frame(b'Z', &[b])).ready_for_query().unwrap(), s);
    }
    assert!(msg(&frame(b'Z', b"X")).ready_for_query().is_err());
    assert!(msg(&frame(b'Z', b"")).ready_for_query().is_err());
    assert!(msg(&frame(b'Z', b"II")).ready_for_query().is_err());
    // Wrong accessor for the type.
    assert_eq!(
        msg(&frame(b'Z', b"I")).command_complete().unwrap_err(),
        ProtocolError::WrongMessageType {
            expected: "CommandComplete",
            tag: b'Z'
        }
    );
}

#[test]
fn error_and_notice_fields() {
    let e = msg(&frame(
        b'E',
        b"SERREUR\0VERROR\0C42501\0Mpermission denied\0Dmore\0Hdo this\0P7\0Rfn\0\0",
    ));
    let f = e.error_fields().unwrap();
    assert_eq!(
        f.severity().as_deref(),
        Some("ERROR"),
        "non-localized preferred"
    );
    assert_eq!(f.get(field::SEVERITY).as_deref(), Some("ERREUR"));
    assert_eq!(f.code().as_deref(), Some("42501"));
    assert_eq!(f.message().as_deref(), Some("permission denied"));
    assert_eq!(f.detail().as_deref(), Some("more"));
    assert_eq!(f.hint().as_deref(), Some("do this"));
    assert_eq!(f.position(), Some(7));
    assert_eq!(f.get(field::ROUTINE).as_deref(), Some("fn"));
    assert_eq!(f.iter().count(), 8);
    assert!(!f.is_fatal());
    let n = msg(&frame(b'N', b"SFATAL\0Mbye\0\0"));
    assert!(n.error_fields().unwrap().is_fatal());
    // Latin-1 bytes are kept raw and decoded lossily.
    let l = msg(&frame(b'E', b"Mcaf\xe9\0\0"));
    assert_eq!(
        l.error_fields().unwrap().get_bytes(b'M'),
        Some(&b"caf\xe9"[..])
    );
    for bad in [b"".as_slice(), b"Mno nul", b"Mx\0", b"Mx\0\0extra"] {
        assert!(msg(&frame(b'E', bad)).error_fields().is_err());
    }
}

#[test]
fn key_data_status_notification_command() {
    let k = msg(&frame(b'K', &cat(&[&be32(77), &be32(0x1234_5678)])));
    let kd = k.backend_key_data().unwrap();
    assert_eq!(kd.process_id, 77);
    assert_eq!(kd.secret_key, &[0x12, 0x34, 0x56, 0x78]);
    assert!(msg(&frame(b'K', &be32(1))).backend_key_data().is_err());
    assert_eq!(
        msg(&frame(b'S', b"TimeZone\0UTC\0"))
            .parameter_status()
            .unwrap(),
        ("TimeZone", "UTC")
    );
    assert!(
        msg(&frame(b'S', b"TimeZone\0UTC"))
            .parameter_status()
            .is_err()
    );
    let a = msg(&frame(b'A', &cat(&[&be32(99), b"jobs\0hello\0"])));
    let n = a.notification().unwrap();
    assert_eq!((n.process_id, n.channel, n.payload), (99, "jobs", "hello"));
    assert_eq!(
        msg(&frame(b'C', b"SELECT 3\0")).command_complete().unwrap(),
        "SELECT 3"
    );
}

#[test]
fn rows_and_descriptions() {
    let fixtures = all_fixtures();
    let t = fixtures.iter().find(|f| f[0] == b'T').unwrap();
    let rd = msg(t);
    let cols: Vec<_> = rd.row_description().unwrap().iter().collect();
    assert_eq!(cols.len(), 2);
    assert_eq!(cols[0].name, "id");
    assert_eq!(cols[0].table_oid, 16384);
    assert_eq!(cols[0].type_oid, 23);
    assert_eq!(cols[1].name, "name");
    assert_eq!(cols[1].type_size, -1);
    let d = msg(&frame(b'D', &cat(&[&be16(2), &be32(1), b"1", &be32(-1)])));
    let row = d.data_row().unwrap();
    assert_eq!(row.len(), 2);
    assert_eq!(row.iter().collect::<Vec<_>>(), [Some(&b"1"[..]), None]);
    let p = msg(&frame(b't', &cat(&[&be16(2), &be32(23), &be32(25)])));
    assert_eq!(
        p.parameter_description().unwrap().collect::<Vec<_>>(),
        [23, 25]
    );
    let g = msg(&frame(b'G', &cat(&[&[0], &be16(2), &be16(0), &be16(1)])));
    let c = g.copy_response().unwrap();
    assert_eq!(c.format, 0);
    assert_eq!(c.column_formats.collect::<Vec<_>>(), [0, 1]);
    let v = msg(&frame(b'v', &cat(&[&be32(0), &be32(1), b"_pq_.fancy\0"])));
    let npv = v.negotiate_protocol_version().unwrap();
    assert_eq!(npv.newest_minor, 0);
    assert_eq!(npv.unrecognized, ["_pq_.fancy"]);

    for bad in [
        frame(b'T', &be16(1)),
        frame(b'T', &cat(&[&be16(1), b"id\0", &be32(0)])),
        frame(b'T', &be16(-1)),
        frame(b'D', &cat(&[&be16(1), &be32(5), b"ab"])),
        frame(b'D', &cat(&[&be16(1), &be32(-7)])),
        frame(b'D', &cat(&[&be16(0), b"x"])),
        frame(b't', &cat(&[&be16(2), &be32(23)])),
        frame(b'v', &cat(&[&be32(0), &be32(i32::MAX)])),
        frame(b'v', &cat(&[&be32(0), &be32(-1)])),
        frame(b'G', &[0xff]),
        frame(b'1', b"x"),
    ] {
        assert!(msg(&bad).validate().is_err(), "{bad:?}");
    }
}

#[test]
fn limits_and_unknown_types() {
    let d = BackendDecoder::with_max_message_len(100);
    let e = d.decode(&mut buf(&cat(&[b"D", &be32(101)]))).unwrap_err();
    assert!(matches!(
        e,
        ProtocolError::MessageTooLarge {
            message: "DataRow",
            ..
        }
    ));
    let e = BackendDecoder::new()
        .decode(&mut buf(&cat(&[b"D", &be32(i32::MAX)])))
        .unwrap_err();
    assert!(matches!(e, ProtocolError::MessageTooLarge { .. }));
    assert!(matches!(
        BackendDecoder::new().decode(&mut buf(b"?")),
        Err(ProtocolError::UnknownMessageType {
            direction: "backend",
            tag: b'?'
        })
    ));
    assert!(matches!(
        BackendDecoder::new().decode(&mut buf(&cat(&[b"Z", &be32(2)]))),
        Err(ProtocolError::InvalidLength { .. })
    ));
}

#[test]
fn encryption_response_byte() {
    let mut b = buf(b"S");
    assert_eq!(
        decode_encryption_response(&mut b).unwrap(),
        Some(EncryptionResponse::Accepted)
    );
    assert!(b.is_empty());
    assert_eq!(
        decode_encryption_response(&mut buf(b"N")).unwrap(),
        Some(EncryptionResponse::Refused)
    );
    assert_eq!(decode_encryption_response(&mut buf(b"")).unwrap(), None);
    let mut e = buf(b"E\0\0\0\x08");
    assert!(decode_encryption_response(&mut e).is_err());
    assert_eq!(
        e.len(),
        5,
        "an ErrorResponse is left for the backend decoder"
    );
}
