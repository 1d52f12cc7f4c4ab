//! Encoders round-trip through the decoders.

use articdbm_pgwire::backend::encode::{self as be, Column, PgError, Severity};
use articdbm_pgwire::backend::{Authentication, BackendDecoder, BackendMessage, TransactionStatus};
use articdbm_pgwire::frontend::{FrontendDecoder, FrontendMessage, Target, encode as fe};
use articdbm_pgwire::{ProtocolError, StartupDecoder, StartupPacket};
use bytes::BytesMut;

fn backend(buf: &mut BytesMut) -> BackendMessage {
    let m = BackendDecoder::new().decode(buf).unwrap().unwrap();
    m.validate().unwrap();
    m
}

fn frontend(buf: &mut BytesMut) -> FrontendMessage {
    let m = FrontendDecoder::new().decode(buf).unwrap().unwrap();
    m.validate().unwrap();
    m
}

#[test]
fn backend_auth_roundtrip() {
    let mut b = BytesMut::new();
    be::authentication_ok(&mut b);
    be::authentication_cleartext_password(&mut b);
    be::authentication_md5_password(&mut b, [9, 8, 7, 6]);
    be::authentication_sasl(&mut b, &["SCRAM-SHA-256"]).unwrap();
    be::authentication_sasl_continue(&mut b, b"r=x,s=y,i=1");
    be::authentication_sasl_final(&mut b, b"v=z");
    let want = [
        Authentication::Ok,
        Authentication::CleartextPassword,
        Authentication::Md5Password { salt: [9, 8, 7, 6] },
        Authentication::Sasl(vec!["SCRAM-SHA-256"]),
        Authentication::SaslContinue(b"r=x,s=y,i=1"),
        Authentication::SaslFinal(b"v=z"),
    ];
    for w in want {
        assert_eq!(backend(&mut b).authentication().unwrap(), w);
    }
    assert!(b.is_empty());
}

#[test]
fn backend_session_roundtrip() {
    let mut b = BytesMut::new();
    be::parameter_status(&mut b, "server_version", "15.0 (ArticDBM)").unwrap();
    be::backend_key_data(&mut b, 7, &[1, 2, 3, 4]).unwrap();
    be::ready_for_query(&mut b, TransactionStatus::InTransaction);
    be::command_complete(&mut b, "SELECT 2").unwrap();
    be::row_description(&mut b, &[Column::text("a"), Column::text("b")]).unwrap();
    be::data_row(&mut b, [Some(&b"x"[..]), None]).unwrap();
    be::empty_query_response(&mut b);
    be::parse_complete(&mut b);
    be::bind_complete(&mut b);
    be::close_complete(&mut b);
    be::no_data(&mut b);
    be::portal_suspended(&mut b);
    be::parameter_description(&mut b, &[23, 25]).unwrap();
    be::copy_in_response(&mut b, 0, &[0, 0]).unwrap();
    be::copy_out_response(&mut b, 1, &[1]).unwrap();
    be::copy_data(&mut b, b"data").unwrap();
    be::copy_done(&mut b);
    be::notification_response(&mut b, 5, "ch", "payload").unwrap();
    be::negotiate_protocol_version(&mut b, 0, &["_pq_.x"]).unwrap();

    assert_eq!(
        backend(&mut b).parameter_status().unwrap(),
        ("server_version", "15.0 (ArticDBM)")
    );
    let k = backend(&mut b);
    assert_eq!(k.backend_key_data().unwrap().process_id, 7);
    assert_eq!(
        backend(&mut b).ready_for_query().unwrap(),
        TransactionStatus::InTransaction
    );
    assert_eq!(backend(&mut b).command_complete().unwrap(), "SELECT 2");
    let rd = backend(&mut b);
    let names: Vec<_> = rd
        .row_description()
        .unwrap()
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
    let dr = backend(&mut b);
    assert_eq!(
        dr.data_row().unwrap().iter().collect::<Vec<_>>(),
        [Some(&b"x"[..]), None]
    );
    for tag in [b'I', b'1', b'2', b'3', b'n', b's'] {
        assert_eq!(backend(&mut b).tag(), tag);
    }
    assert_eq!(
        backend(&mut b)
            .parameter_description()
            .unwrap()
            .collect::<Vec<_>>(),
        [23, 25]
    );
    assert_eq!(backend(&mut b).copy_response().unwrap().format, 0);
    assert_eq!(backend(&mut b).copy_response().unwrap().format, 1);
    assert_eq!(backend(&mut b).copy_data().unwrap(), b"data");
    assert_eq!(backend(&mut b).tag(), b'c');
    assert_eq!(backend(&mut b).notification().unwrap().payload, "payload");
    assert_eq!(
        backend(&mut b)
            .negotiate_protocol_version()
            .unwrap()
            .unrecognized,
        ["_pq_.x"]
    );
    assert!(b.is_empty());
}

#[test]
fn error_response_builder_roundtrip() {
    let mut b = BytesMut::new();
    let e = PgError::new(Severity::Error, "42501", "permission denied for table t")
        .detail("rule acl.deny-writes")
        .hint("ask an admin")
        .position(3)
        .routine("acl");
    be::error_response(&mut b, &e);
    be::notice_response(&mut b, &PgError::new(Severity::Warning, "01000", "careful"));
    // Interior NUL and a bad SQLSTATE are sanitized, not an error.
    be::error_response(&mut b, &PgError::new(Severity::Fatal, "nope", "a\0b"));

    let m = backend(&mut b);
    assert_eq!(m.tag(), b'E');
    let f = m.error_fields().unwrap();
    assert_eq!(f.severity().as_deref(), Some("ERROR"));
    assert_eq!(f.code().as_deref(), Some("42501"));
    assert_eq!(
        f.message().as_deref(),
        Some("permission denied for table t")
    );
    assert_eq!(f.detail().as_deref(), Some("rule acl.deny-writes"));
    assert_eq!(f.hint().as_deref(), Some("ask an admin"));
    assert_eq!(f.position(), Some(3));
    assert_eq!(f.get(b'R').as_deref(), Some("acl"));
    let n = backend(&mut b);
    assert_eq!(n.tag(), b'N');
    assert_eq!(
        n.error_fields().unwrap().severity().as_deref(),
        Some("WARNING")
    );
    let s = backend(&mut b);
    let f = s.error_fields().unwrap();
    assert_eq!(f.code().as_deref(), Some("XX000"));
    assert_eq!(f.message().as_deref(), Some("a b"));
    assert!(f.is_fatal());

    // From a protocol error: the client-safe text and SQLSTATE.
    let pe = ProtocolError::MessageTooLarge {
        message: "Query",
        len: 1 << 30,
        max: 1 << 26,
    };
    let pg = PgError::from_protocol(&pe, Severity::Fatal);
    assert_eq!(pg.code, "54000");
    assert_eq!(pg.message, pe.to_string_client());
}

#[test]
fn frontend_roundtrip() {
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT 1").unwrap();
    fe::parse(&mut b, "s1", "SELECT $1", &[23]).unwrap();
    fe::bind(
        &mut b,
        "p1",
        "s1",
        &[1],
        [Some(&[0u8, 0, 0, 1][..]), None],
        &[0],
    )
    .unwrap();
    fe::describe(&mut b, Target::Portal, "p1").unwrap();
    fe::execute(&mut b, "p1", 0).unwrap();
    fe::close(&mut b, Target::Statement, "s1").unwrap();
    fe::sync(&mut b);
    fe::flush(&mut b);
    fe::copy_data(&mut b, b"1\n").unwrap();
    fe::copy_done(&mut b);
    fe::copy_fail(&mut b, "stop").unwrap();
    fe::password_message(&mut b, b"md5abc").unwrap();
    fe::sasl_initial_response(&mut b, "SCRAM-SHA-256", b"n,,n=,r=abc").unwrap();
    fe::sasl_response(&mut b, b"c=biws").unwrap();
    fe::terminate(&mut b);

    let FrontendMessage::Query(q) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(q.sql().unwrap(), "SELECT 1");
    let FrontendMessage::Parse(p) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(
        (p.statement_name().unwrap(), p.query().unwrap()),
        ("s1", "SELECT $1")
    );
    assert_eq!(p.param_types().unwrap().collect::<Vec<_>>(), [23]);
    let FrontendMessage::Bind(bi) = frontend(&mut b) else {
        panic!()
    };
    let f = bi.fields().unwrap();
    assert_eq!((f.portal, f.statement), ("p1", "s1"));
    assert_eq!(
        f.params.collect::<Vec<_>>(),
        [Some(&[0u8, 0, 0, 1][..]), None]
    );
    let FrontendMessage::Describe(d) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(d.target().unwrap(), (Target::Portal, "p1"));
    let FrontendMessage::Execute(e) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(e.max_rows().unwrap(), 0);
    let FrontendMessage::Close(c) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(c.target().unwrap(), (Target::Statement, "s1"));
    assert!(matches!(frontend(&mut b), FrontendMessage::Sync(_)));
    assert!(matches!(frontend(&mut b), FrontendMessage::Flush(_)));
    let FrontendMessage::CopyData(cd) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(cd.data(), b"1\n");
    assert!(matches!(frontend(&mut b), FrontendMessage::CopyDone(_)));
    let FrontendMessage::CopyFail(cf) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(cf.message().unwrap(), "stop");
    let FrontendMessage::AuthResponse(pw) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(pw.password().unwrap(), b"md5abc");
    let FrontendMessage::AuthResponse(si) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(si.sasl_initial().unwrap().data, Some(&b"n,,n=,r=abc"[..]));
    let FrontendMessage::AuthResponse(sr) = frontend(&mut b) else {
        panic!()
    };
    assert_eq!(sr.sasl_response(), b"c=biws");
    assert!(matches!(frontend(&mut b), FrontendMessage::Terminate(_)));
    assert!(b.is_empty());
}

#[test]
fn startup_encoders_roundtrip() {
    let d = StartupDecoder::new();
    let mut b = BytesMut::new();
    fe::ssl_request(&mut b);
    fe::gssenc_request(&mut b);
    fe::cancel_request(&mut b, 42, &[1, 2, 3, 4]).unwrap();
    fe::startup_message(
        &mut b,
        [("user", "u"), ("database", "d"), ("application_name", "x")],
    )
    .unwrap();
    assert_eq!(d.decode(&mut b).unwrap(), Some(StartupPacket::SslRequest));
    assert_eq!(
        d.decode(&mut b).unwrap(),
        Some(StartupPacket::GssEncRequest)
    );
    let Some(StartupPacket::Cancel(c)) = d.decode(&mut b).unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.process_id, c.secret_key.as_ref()),
        (42, &[1u8, 2, 3, 4][..])
    );
    let Some(StartupPacket::Startup(s)) = d.decode(&mut b).unwrap() else {
        panic!()
    };
    assert_eq!(
        (s.user(), s.database(), s.application_name()),
        ("u", "d", Some("x"))
    );
    assert!(b.is_empty());
}

#[test]
fn encoders_refuse_nul_and_leave_buffer_unchanged() {
    let mut b = BytesMut::new();
    fe::sync(&mut b);
    let before = b.clone();
    assert!(fe::query(&mut b, "SELECT 1\0; DROP TABLE x").is_err());
    assert!(fe::parse(&mut b, "s\0", "q", &[]).is_err());
    assert!(fe::startup_message(&mut b, [("user", "a\0b")]).is_err());
    assert!(fe::startup_message(&mut b, [("", "x")]).is_err());
    assert!(fe::cancel_request(&mut b, 1, &[1]).is_err());
    assert!(be::command_complete(&mut b, "x\0").is_err());
    assert!(be::backend_key_data(&mut b, 1, &[]).is_err());
    let too_many: Vec<u32> = vec![0; 40_000];
    assert!(fe::parse(&mut b, "s", "q", &too_many).is_err());
    assert_eq!(b, before);
}

#[test]
fn forwarding_is_a_clone_of_the_frame() {
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT now()").unwrap();
    let wire = b.clone().freeze();
    let m = FrontendDecoder::new().decode(&mut b).unwrap().unwrap();
    let forwarded = m.frame().clone();
    assert_eq!(forwarded, wire);
}

#[test]
fn scram_over_the_wire_messages() {
    use articdbm_pgwire::auth::scram::{SCRAM_SHA_256, ScramClient, ScramServer, ScramVerifier};
    let verifier = ScramVerifier::generate_with_iterations(b"s3cret", 32).unwrap();
    let client = ScramClient::new(b"s3cret").unwrap();
    let mut wire = BytesMut::new();

    // Client → server: SASLInitialResponse.
    fe::sasl_initial_response(&mut wire, client.mechanism(), client.client_first()).unwrap();
    let FrontendMessage::AuthResponse(init) = frontend(&mut wire) else {
        panic!()
    };
    let initial = init.sasl_initial().unwrap();
    let challenge = ScramServer::new(verifier)
        .handle_initial_response(&initial)
        .unwrap();
    // Server → client: AuthenticationSASLContinue.
    be::authentication_sasl_continue(&mut wire, challenge.server_first());
    let cont = backend(&mut wire);
    let Authentication::SaslContinue(sf) = cont.authentication().unwrap() else {
        panic!()
    };
    let fin = client.handle_server_first(sf).unwrap();
    fe::sasl_response(&mut wire, fin.client_final()).unwrap();
    let FrontendMessage::AuthResponse(resp) = frontend(&mut wire) else {
        panic!()
    };
    let server_final = challenge.handle_client_final(resp.sasl_response()).unwrap();
    be::authentication_sasl_final(&mut wire, &server_final);
    let m = backend(&mut wire);
    let Authentication::SaslFinal(sfin) = m.authentication().unwrap() else {
        panic!()
    };
    fin.verify_server_final(sfin).unwrap();
    assert_eq!(SCRAM_SHA_256, "SCRAM-SHA-256");
}

#[test]
fn frame_new_checks_header() {
    use articdbm_pgwire::Frame;
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT 1").unwrap();
    let bytes = b.freeze();
    let f = Frame::new(bytes.clone()).unwrap();
    assert_eq!(f.tag(), b'Q');
    assert_eq!(f.body(), b"SELECT 1\0");
    let m = FrontendMessage::from_frame(f).unwrap();
    assert_eq!(m.frame(), &bytes);
    assert!(Frame::new(bytes.slice(..bytes.len() - 1)).is_err());
    assert!(Frame::new(bytes::Bytes::from_static(b"Q\0\0")).is_err());
    assert!(Frame::new(bytes::Bytes::from_static(b"Q\0\0\0\x02\0")).is_err());
}

#[test]
fn row_description_with_formats_fixture() {
    let mut b = BytesMut::new();
    let cols = [
        Column {
            name: "n",
            type_oid: 20,
            type_size: 8,
        },
        Column::text("t"),
    ];
    be::row_description_with_formats(&mut b, &cols, &[1]).unwrap();
    let field = |name: &[u8], oid: u32, size: i16, format: i16| {
        let mut f = name.to_vec();
        f.push(0);
        f.extend_from_slice(&0u32.to_be_bytes()); // table oid
        f.extend_from_slice(&0i16.to_be_bytes()); // column number
        f.extend_from_slice(&oid.to_be_bytes());
        f.extend_from_slice(&size.to_be_bytes());
        f.extend_from_slice(&(-1i32).to_be_bytes()); // type modifier
        f.extend_from_slice(&format.to_be_bytes());
        f
    };
    let mut body = 2i16.to_be_bytes().to_vec();
    body.extend(field(b"n", 20, 8, 1));
    body.extend(field(b"t", 25, -1, 0));
    let mut want = vec![b'T'];
    want.extend_from_slice(&(i32::try_from(body.len()).unwrap() + 4).to_be_bytes());
    want.extend(body);
    assert_eq!(&b[..], &want[..]);

    let rd = backend(&mut b);
    let formats: Vec<i16> = rd
        .row_description()
        .unwrap()
        .iter()
        .map(|c| c.format)
        .collect();
    assert_eq!(formats, [1, 0]);

    // Without formats it is the text-only encoding.
    let mut a = BytesMut::new();
    let mut c = BytesMut::new();
    be::row_description(&mut a, &cols).unwrap();
    be::row_description_with_formats(&mut c, &cols, &[]).unwrap();
    assert_eq!(a, c);
}
