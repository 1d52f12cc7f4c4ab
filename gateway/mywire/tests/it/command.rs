//! Command decoding for every command, statement-id rewriting, COM_STMT_EXECUTE layout.

use articdbm_mywire::consts::caps::*;
use articdbm_mywire::*;
use bytes::Bytes;

fn dec(p: &[u8]) -> Result<Command> {
    decode_command(
        &Bytes::copy_from_slice(p),
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
    )
}

#[test]
fn every_command_decodes() {
    assert_eq!(dec(b"\x01").unwrap(), Command::Quit);
    assert_eq!(dec(b"\x02shop").unwrap(), Command::InitDb("shop".into()));
    assert_eq!(
        dec(b"\x03SELECT \xff").unwrap(),
        Command::Query(Bytes::from_static(b"SELECT \xff"))
    );
    assert_eq!(
        dec(b"\x04t1\0a%").unwrap(),
        Command::FieldList {
            table: "t1".into(),
            wildcard: Bytes::from_static(b"a%")
        }
    );
    assert_eq!(dec(b"\x09").unwrap(), Command::Statistics);
    assert_eq!(dec(b"\x0e").unwrap(), Command::Ping);
    assert_eq!(dec(b"\x0c\x2a\0\0\0").unwrap(), Command::ProcessKill(42));
    let Command::ChangeUser(cu) = dec(b"\x11bob\0\x01x\0").unwrap() else {
        panic!()
    };
    assert_eq!(cu.user, "bob");
    assert_eq!(dec(b"\x1f").unwrap(), Command::ResetConnection);
    assert_eq!(
        dec(b"\x16SELECT ?").unwrap(),
        Command::StmtPrepare(Bytes::from_static(b"SELECT ?"))
    );
    assert_eq!(
        dec(b"\x17\x05\0\0\0\x01\x01\0\0\0").unwrap(),
        Command::StmtExecute {
            stmt_id: 5,
            flags: 1
        }
    );
    assert_eq!(
        dec(b"\x18\x05\0\0\0\x02\0data").unwrap(),
        Command::StmtSendLongData {
            stmt_id: 5,
            param: 2
        }
    );
    assert_eq!(dec(b"\x19\x05\0\0\0").unwrap(), Command::StmtClose(5));
    assert_eq!(dec(b"\x1a\x05\0\0\0").unwrap(), Command::StmtReset(5));
    assert_eq!(
        dec(b"\x1c\x05\0\0\0\x0a\0\0\0").unwrap(),
        Command::StmtFetch {
            stmt_id: 5,
            rows: 10
        }
    );
    assert_eq!(dec(b"\x1b\x01\0").unwrap(), Command::SetOption(1));
    assert_eq!(dec(b"\x12xyz").unwrap(), Command::Other(0x12));
    assert!(matches!(dec(b""), Err(ProtocolError::Empty { .. })));
    assert!(matches!(
        dec(b"\x0c\x01"),
        Err(ProtocolError::Truncated {
            packet: "COM_PROCESS_KILL",
            ..
        })
    ));
    assert!(matches!(
        dec(b"\x04t1"),
        Err(ProtocolError::MissingNul { .. })
    ));
    assert!(matches!(
        dec(b"\x02\xff"),
        Err(ProtocolError::InvalidUtf8 { .. })
    ));
    assert_eq!(command::command_name(0x03), "COM_QUERY");
}

#[test]
fn query_attributes_are_skipped() {
    let caps = CLIENT_PROTOCOL_41 | CLIENT_QUERY_ATTRIBUTES;
    // No attributes: count 0, set count 1.
    let p = Bytes::from_static(b"\x03\x00\x01SELECT 1");
    assert_eq!(
        decode_command(&p, caps).unwrap(),
        Command::Query(Bytes::from_static(b"SELECT 1"))
    );
    // Two attributes: a VARCHAR "x" named "a" and a NULL LONGLONG named "b".
    let p = Bytes::from_static(b"\x03\x02\x01\x02\x01\x0f\x00\x01a\x08\x00\x01b\x01xSELECT 2");
    assert_eq!(
        decode_command(&p, caps).unwrap(),
        Command::Query(Bytes::from_static(b"SELECT 2"))
    );
    // An INT attribute whose value is cut short.
    let p = Bytes::from_static(b"\x03\x01\x01\x00\x01\x03\x00\x00\x01\x02");
    assert!(decode_command(&p, caps).is_err());
    // Without the capability, the same bytes are SQL.
    assert_eq!(decode_command(&p, 0).unwrap(), Command::Query(p.slice(1..)));
}

#[test]
fn set_stmt_id_rewrites_in_place() {
    for cmd in [0x17u8, 0x18, 0x19, 0x1a, 0x1c] {
        let mut p = vec![cmd, 1, 0, 0, 0, 9, 9];
        set_stmt_id(&mut p, 0x0403_0201).unwrap();
        assert_eq!(p, [cmd, 1, 2, 3, 4, 9, 9]);
    }
    assert!(set_stmt_id(&mut [0x03, 0, 0, 0, 0], 1).is_err());
    assert!(set_stmt_id(&mut [0x17, 0, 0], 1).is_err());
    assert!(set_stmt_id(&mut [], 1).is_err());
}

/// COM_STMT_EXECUTE for statement 1 with 3 parameters, the second NULL.
fn execute(bound: bool) -> Vec<u8> {
    let mut p = vec![0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0b010];
    if bound {
        p.extend_from_slice(&[1, 0x03, 0x00, 0x06, 0x00, 0xfd, 0x00]);
    } else {
        p.push(0);
    }
    p.extend_from_slice(&[7, 0, 0, 0, 2, b'h', b'i']);
    p
}

#[test]
fn execute_layout_bound_and_unbound() {
    let l = execute_layout(&execute(true), 3).unwrap();
    assert_eq!(l.null_bitmap, 10..11);
    assert!(l.new_params_bound);
    assert_eq!(l.types, Some(12..18));
    assert_eq!(l.values_start, 18);
    let l = execute_layout(&execute(false), 3).unwrap();
    assert!(!l.new_params_bound);
    assert_eq!(l.types, None);
    assert_eq!(l.values_start, 12);
    let l = execute_layout(&execute(false)[..10], 0).unwrap();
    assert_eq!((l.values_start, l.types), (10, None));
    // 9 parameters: a 2-byte bitmap.
    let mut p = vec![0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    p.extend_from_slice(&[0; 18]);
    assert_eq!(execute_layout(&p, 9).unwrap().types, Some(13..31));
    assert!(execute_layout(&p, 10).is_err());
    assert!(execute_layout(&execute(true)[..15], 3).is_err());
    assert!(execute_layout(b"\x03", 0).is_err());
    let mut bad = execute(false);
    bad[11] = 2;
    assert!(execute_layout(&bad, 3).is_err());
}

#[test]
fn execute_with_types_inserts_types() {
    let types = [0x03, 0x00, 0x06, 0x00, 0xfd, 0x00];
    assert_eq!(
        execute_with_types(&execute(false), 3, &types).unwrap(),
        execute(true)
    );
    assert_eq!(
        execute_with_types(&execute(true), 3, &[1, 2, 3, 4, 5, 6]).unwrap(),
        execute(true)
    );
    assert!(execute_with_types(&execute(false), 3, &types[..4]).is_err());
    let none = &execute(false)[..10];
    assert_eq!(execute_with_types(none, 0, &[]).unwrap(), none);
}
