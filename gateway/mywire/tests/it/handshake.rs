//! The connection phase: greetings (MySQL and a hand-written MariaDB 10.11 one), client
//! hellos under every optional flag, auth switch, auth-more-data, COM_CHANGE_USER.

use articdbm_mywire::consts::caps::*;
use articdbm_mywire::consts::mariadb_caps::*;
use articdbm_mywire::*;

use crate::util::{cat, enc, mariadb_greeting, mysql8_greeting};

#[test]
fn mariadb_10_11_greeting_decodes() {
    let g = HandshakeV10::decode(&mariadb_greeting()).unwrap();
    assert!(g.is_mariadb());
    assert_eq!(g.version(), "10.11.6-MariaDB-0+deb12u1");
    assert_eq!(g.connection_id, 31);
    assert_eq!(g.auth_data, b"Kp&Q7y!wZx:1r]T%oC^j");
    assert_eq!(g.capabilities, 0x81ff_f7fe);
    assert_eq!(g.capabilities & CLIENT_LONG_PASSWORD, 0);
    assert_ne!(g.capabilities & CLIENT_PLUGIN_AUTH, 0);
    assert_eq!(g.charset, 45);
    assert_eq!(g.status, 2);
    assert_eq!(
        g.mariadb_capabilities,
        MARIADB_CLIENT_PROGRESS
            | MARIADB_CLIENT_STMT_BULK_OPERATIONS
            | MARIADB_CLIENT_EXTENDED_TYPE_INFO
            | MARIADB_CLIENT_CACHE_METADATA
    );
    assert_eq!(g.auth_plugin, "mysql_native_password");
    // Encoding gives the same bytes back.
    assert_eq!(enc(|b| g.encode(b)), mariadb_greeting());
}

#[test]
fn mysql8_greeting_round_trips() {
    let g = HandshakeV10::decode(&mysql8_greeting()).unwrap();
    assert!(!g.is_mariadb());
    assert_eq!(g.version(), "8.0.36");
    assert_eq!(g.auth_data.len(), 20);
    assert_eq!(g.auth_plugin, "caching_sha2_password");
    assert_eq!(g.mariadb_capabilities, 0);
    assert_eq!(enc(|b| g.encode(b)), mysql8_greeting());
    let built = HandshakeV10 {
        server_version: "8.0.36-articdbm".into(),
        connection_id: 9,
        auth_data: (1..=20).collect(),
        capabilities: 0xdfff_ffff,
        charset: 255,
        status: 2,
        auth_plugin: "mysql_native_password".into(),
        mariadb_capabilities: 0,
    };
    assert_eq!(
        HandshakeV10::decode(&enc(|b| built.encode(b))).unwrap(),
        built
    );
}

#[test]
fn greeting_errors() {
    assert!(matches!(
        HandshakeV10::decode(b"\xff\x10\x04Too many connections"),
        Err(ProtocolError::Unsupported { .. })
    ));
    let g = mysql8_greeting();
    for cut in [1, 5, 10, 20, 40] {
        assert!(HandshakeV10::decode(&g[..cut]).is_err(), "cut {cut}");
    }
    // A plugin name without its NUL at the end of the packet is accepted.
    let g2 = &g[..g.len() - 1];
    assert_eq!(
        HandshakeV10::decode(g2).unwrap().auth_plugin,
        "caching_sha2_password"
    );
}

fn response(caps: u32) -> HandshakeResponse {
    HandshakeResponse {
        capabilities: caps,
        max_packet: 16 << 20,
        charset: 45,
        user: "alice".into(),
        auth_response: (1..=20).collect(),
        database: Some("app".into()),
        auth_plugin: Some("mysql_native_password".into()),
        attrs: vec![
            ("_os".into(), "Linux".into()),
            ("program_name".into(), "mysql".into()),
        ],
    }
}

#[test]
fn hello_round_trips_under_every_flag_combination() {
    let optional = [
        CLIENT_CONNECT_WITH_DB,
        CLIENT_PLUGIN_AUTH,
        CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
        CLIENT_CONNECT_ATTRS,
        CLIENT_SECURE_CONNECTION,
    ];
    for mask in 0..(1u32 << optional.len()) {
        let mut caps = CLIENT_PROTOCOL_41;
        for (i, f) in optional.iter().enumerate() {
            if mask & (1 << i) != 0 {
                caps |= f;
            }
        }
        let r = response(caps);
        let wire = enc(|b| r.encode(b));
        let ClientHello::Response(got) = decode_client_hello(&wire).unwrap() else {
            panic!("not a response");
        };
        assert_eq!(got.user, "alice");
        assert_eq!(got.auth_response, r.auth_response, "caps {caps:#x}");
        let has = |f| caps & f != 0;
        assert_eq!(got.database.is_some(), has(CLIENT_CONNECT_WITH_DB));
        assert_eq!(got.auth_plugin.is_some(), has(CLIENT_PLUGIN_AUTH));
        assert_eq!(
            got.attrs.len(),
            if has(CLIENT_CONNECT_ATTRS) { 2 } else { 0 }
        );
        if has(CLIENT_CONNECT_WITH_DB) && has(CLIENT_PLUGIN_AUTH) && has(CLIENT_CONNECT_ATTRS) {
            assert_eq!(got, r);
        }
    }
}

#[test]
fn hello_ssl_request_and_refusals() {
    let ssl = enc(|b| encode_ssl_request(b, CLIENT_PROTOCOL_41, 1 << 24, 255));
    assert_eq!(ssl.len(), 32);
    assert_eq!(
        decode_client_hello(&ssl).unwrap(),
        ClientHello::SslRequest {
            capabilities: CLIENT_PROTOCOL_41 | CLIENT_SSL,
            max_packet: 1 << 24,
            charset: 255
        }
    );
    // A pre-4.1 client (2-byte capabilities without CLIENT_PROTOCOL_41).
    let err = decode_client_hello(&[0x85, 0x24, 0, 0, 0, b'u', 0]).unwrap_err();
    assert!(matches!(err, ProtocolError::Unsupported { .. }));
    assert!(err.to_string_client().contains("4.1"));
    assert!(matches!(
        decode_client_hello(&[0x85]),
        Err(ProtocolError::Truncated { .. })
    ));
    // Over-long user name, attributes over the bound, bad UTF-8, missing NUL.
    let mut r = response(CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION);
    r.user = "u".repeat(257);
    assert!(matches!(
        decode_client_hello(&enc(|b| r.encode(b))),
        Err(ProtocolError::FieldTooLong { field: "user", .. })
    ));
    let mut r = response(
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS,
    );
    r.attrs = vec![("k".into(), "v".repeat(70_000))];
    assert!(matches!(
        decode_client_hello(&enc(|b| r.encode(b))),
        Err(ProtocolError::PacketTooLarge { .. })
    ));
    let head = enc(|b| response(CLIENT_PROTOCOL_41).encode(b))[..32].to_vec();
    assert!(matches!(
        decode_client_hello(&cat(&[&head, b"\xff\xfe\0\0"])),
        Err(ProtocolError::InvalidUtf8 { .. })
    ));
    assert!(matches!(
        decode_client_hello(&cat(&[&head, b"alice"])),
        Err(ProtocolError::MissingNul { .. })
    ));
}

#[test]
fn auth_switch_and_more_data() {
    let sw = AuthSwitchRequest {
        plugin: "mysql_native_password".into(),
        data: b"abcdefghijklmnopqrst".to_vec(),
    };
    let wire = enc(|b| sw.encode(b));
    assert_eq!(wire[0], 0xfe);
    assert_eq!(*wire.last().unwrap(), 0);
    assert_eq!(AuthSwitchRequest::decode(&wire).unwrap(), sw);
    assert_eq!(
        AuthSwitchRequest::decode(b"\xfe").unwrap().plugin,
        "mysql_old_password"
    );
    assert!(AuthSwitchRequest::decode(b"\x00x\0").is_err());
    assert!(AuthSwitchRequest::decode(b"").is_err());
    let more = enc(|b| encode_auth_more_data(b, &[4]));
    assert_eq!(more, [1, 4]);
    assert_eq!(decode_auth_more_data(&more).unwrap(), &[4]);
    assert!(decode_auth_more_data(&[2, 4]).is_err());
    assert!(decode_auth_more_data(&[]).is_err());
}

#[test]
fn change_user_round_trips() {
    let caps =
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS;
    let cu = ChangeUser {
        user: "bob".into(),
        auth_response: vec![3; 20],
        database: Some("shop".into()),
        charset: Some(255),
        auth_plugin: Some("caching_sha2_password".into()),
        attrs: vec![("a".into(), "b".into())],
    };
    let wire = enc(|b| cu.encode(b, caps));
    assert_eq!(wire[0], 0x11);
    assert_eq!(ChangeUser::decode(&wire, caps).unwrap(), cu);
    // An old client: user, auth, database only.
    let old = ChangeUser::decode(
        b"\x11bob\0\x02ab\0",
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
    )
    .unwrap();
    assert_eq!(
        (
            old.user.as_str(),
            &old.auth_response[..],
            old.database,
            old.charset
        ),
        ("bob", &b"ab"[..], None, None)
    );
    assert!(ChangeUser::decode(b"\x11bob", caps).is_err());
    assert!(ChangeUser::decode(b"\x03bob\0", caps).is_err());
}
