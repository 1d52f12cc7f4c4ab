//! Server answers: OK / ERR / EOF / PrepareOk codecs, and the ResponseTracker over hand-built
//! answers for every Expect kind in both EOF modes.

use articdbm_mywire::consts::caps::*;
use articdbm_mywire::consts::status::*;
use articdbm_mywire::*;

use crate::util::enc;

const CLASSIC: u32 = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;
const DEPRECATE: u32 = CLASSIC | CLIENT_DEPRECATE_EOF;
const AC: u16 = SERVER_STATUS_AUTOCOMMIT;
const MORE: u16 = SERVER_MORE_RESULTS_EXISTS;

fn ok(status: u16, header: u8, caps: u32) -> Vec<u8> {
    enc(|b| {
        OkPacket {
            affected_rows: 1,
            status,
            ..OkPacket::default()
        }
        .encode(b, caps, header)
    })
}

fn eof(status: u16) -> Vec<u8> {
    enc(|b| encode_eof(b, 0, status))
}

/// The terminator of rows in either mode.
fn end(status: u16, caps: u32) -> Vec<u8> {
    if caps & CLIENT_DEPRECATE_EOF != 0 {
        ok(status, 0xfe, caps)
    } else {
        eof(status)
    }
}

fn col(name: &str) -> Vec<u8> {
    enc(|b| {
        ColumnDef {
            schema: "s".into(),
            table: "t".into(),
            org_table: "t".into(),
            name: name.into(),
            org_name: name.into(),
            charset: 45,
            length: 11,
            column_type: 3,
            flags: 0,
            decimals: 0,
        }
        .encode(b)
    })
}

fn err() -> Vec<u8> {
    enc(|b| ErrPacket::new(1317, "70100", "Query execution was interrupted").encode(b))
}

fn row(v: &[Option<&[u8]>]) -> Vec<u8> {
    enc(|b| encode_text_row(b, v))
}

/// A result set: column count, definitions, (EOF), rows, terminator.
fn result_set(caps: u32, rows: &[Vec<u8>], status: u16) -> Vec<Vec<u8>> {
    let mut out = vec![vec![2], col("a"), col("b")];
    if caps & CLIENT_DEPRECATE_EOF == 0 {
        out.push(eof(AC));
    }
    out.extend(rows.iter().cloned());
    out.push(end(status, caps));
    out
}

/// Feeds everything; all but the last must be Continue; returns the last event.
fn run(expect: Expect, caps: u32, packets: &[Vec<u8>]) -> Event {
    let mut t = ResponseTracker::new(expect, caps);
    let (last, init) = packets.split_last().unwrap();
    for (i, p) in init.iter().enumerate() {
        assert_eq!(
            t.feed(p).unwrap(),
            Event::Continue,
            "packet {i} of {expect:?}"
        );
        assert!(!t.done());
    }
    let e = t.feed(last).unwrap();
    if matches!(e, Event::Done { .. }) {
        assert!(t.done());
        assert!(t.feed(last).is_err(), "nothing after Done");
    }
    e
}

fn done(status: u16) -> Event {
    Event::Done {
        status: Some(status),
        error: None,
    }
}

#[test]
fn codecs_round_trip() {
    for caps in [CLASSIC, DEPRECATE, CLASSIC | CLIENT_SESSION_TRACK] {
        let o = OkPacket {
            affected_rows: 300,
            last_insert_id: 1 << 40,
            status: AC | SERVER_SESSION_STATE_CHANGED,
            warnings: 2,
            info: "Rows matched: 1".into(),
            session_state: if caps & CLIENT_SESSION_TRACK != 0 {
                vec![1, 2, 3]
            } else {
                vec![]
            },
        };
        let wire = enc(|b| o.encode(b, caps, 0));
        assert_eq!(OkPacket::decode(&wire, caps).unwrap(), o);
    }
    let e = ErrPacket::new(1045, "28000", "Access denied");
    assert_eq!(ErrPacket::decode(&enc(|b| e.encode(b))).unwrap(), e);
    let no_state = ErrPacket::decode(b"\xff\x15\x04Access denied").unwrap();
    assert_eq!(
        (
            no_state.code,
            &no_state.sql_state,
            no_state.message.as_str()
        ),
        (1045, b"HY000", "Access denied")
    );
    let p = PrepareOk {
        stmt_id: 7,
        num_columns: 2,
        num_params: 3,
        warnings: 1,
    };
    let mut wire = enc(|b| p.encode(b));
    assert_eq!(wire.len(), 12);
    assert_eq!(PrepareOk::decode(&wire).unwrap(), p);
    set_prepare_ok_stmt_id(&mut wire, 99).unwrap();
    assert_eq!(PrepareOk::decode(&wire).unwrap().stmt_id, 99);
    assert!(set_prepare_ok_stmt_id(&mut [0xff, 0, 0, 0, 0], 1).is_err());
    let c = ColumnDef::decode(&col("id")).unwrap();
    assert_eq!((c.name.as_str(), c.charset, c.column_type), ("id", 45, 3));
    assert_eq!(row(&[Some(b"ab"), None]), [2, b'a', b'b', 0xfb]);
    let pe = ProtocolError::Truncated {
        packet: "OK packet",
        field: "status",
    };
    let ep = ErrPacket::from_protocol_error(&pe);
    assert_eq!((ep.code, &ep.sql_state), (1835, b"HY000"));
}

#[test]
fn eof_detection_is_precise() {
    assert!(is_eof_packet(&eof(0)));
    assert!(is_eof_packet(&ok(0, 0xfe, DEPRECATE)));
    assert!(!is_eof_packet(&ok(0, 0x00, DEPRECATE)));
    assert!(!is_eof_packet(&[]));
    // A text row whose first value needs the 8-byte length prefix: 0xfe-leading, >= 0xffffff.
    let big = vec![b'x'; 1 << 24];
    let r = row(&[Some(&big)]);
    assert_eq!(r[0], 0xfe);
    assert!(!is_eof_packet(&r));
    for caps in [CLASSIC, DEPRECATE] {
        let packets = result_set(caps, &[r.clone(), row(&[Some(b"1"), None])], AC);
        assert_eq!(run(Expect::Query, caps, &packets), done(AC));
    }
}

#[test]
fn query_answers_in_both_modes() {
    for caps in [CLASSIC, DEPRECATE] {
        assert_eq!(
            run(Expect::Query, caps, &[ok(AC | 1, 0, caps)]),
            done(AC | 1)
        );
        let rows = [row(&[Some(b"1"), Some(b"x")]), row(&[None, Some(b"")])];
        assert_eq!(
            run(Expect::Query, caps, &result_set(caps, &rows, AC)),
            done(AC)
        );
        assert_eq!(
            run(Expect::Query, caps, &result_set(caps, &[], AC)),
            done(AC)
        );
        // ERR instead of an answer, and mid rows.
        let e = run(Expect::Query, caps, &[err()]);
        assert!(matches!(e, Event::Done { status: None, error: Some(ref x) } if x.code == 1317));
        let mut rs = result_set(caps, &rows, AC);
        let n = rs.len();
        rs[n - 1] = err();
        assert!(matches!(
            run(Expect::Query, caps, &rs),
            Event::Done { error: Some(_), .. }
        ));
    }
}

#[test]
fn multi_results_continue_until_the_last() {
    for caps in [CLASSIC, DEPRECATE] {
        let mut packets = vec![ok(AC | MORE, 0, caps)];
        packets.extend(result_set(caps, &[row(&[Some(b"1"), None])], AC | MORE));
        packets.extend(result_set(caps, &[], AC | MORE));
        packets.push(ok(AC | 1, 0, caps));
        assert_eq!(run(Expect::Query, caps, &packets), done(AC | 1));
        // An ERR in the second statement ends everything.
        let packets = [ok(AC | MORE, 0, caps), err()];
        assert!(matches!(
            run(Expect::Query, caps, &packets),
            Event::Done { error: Some(_), .. }
        ));
    }
}

#[test]
fn local_infile() {
    let mut t = ResponseTracker::new(Expect::Query, CLASSIC);
    assert_eq!(t.feed(b"\xfb/etc/passwd").unwrap(), Event::LocalInfile);
    assert!(!t.done());
    assert!(
        t.feed(&ok(AC, 0, CLASSIC)).is_err(),
        "the client's data must come first"
    );
    t.after_local_infile();
    assert_eq!(t.feed(&ok(AC, 0, CLASSIC)).unwrap(), done(AC));
    // Not a LOCAL INFILE answer for EXECUTE.
    assert!(
        ResponseTracker::new(Expect::Execute, CLASSIC)
            .feed(b"\xfbx")
            .is_err()
    );
}

#[test]
fn execute_binary_rows_and_cursors() {
    for caps in [CLASSIC, DEPRECATE] {
        let brow = vec![0x00, 0x00, 0x01, 0x00, 0x00, 0x00];
        let packets = result_set(caps, &[brow.clone(), brow.clone()], AC);
        assert_eq!(run(Expect::Execute, caps, &packets), done(AC));
        assert_eq!(run(Expect::Execute, caps, &[ok(AC, 0, caps)]), done(AC));
        // CALL with CLIENT_PS_MULTI_RESULTS: a result set, then the final OK.
        let mut packets = result_set(caps, std::slice::from_ref(&brow), AC | MORE);
        packets.push(ok(AC, 0, caps));
        assert_eq!(run(Expect::Execute, caps, &packets), done(AC));
        // A text-looking row is refused in the binary protocol.
        let mut t = ResponseTracker::new(Expect::Execute, caps);
        for p in &result_set(caps, &[], AC)[..result_set(caps, &[], AC).len() - 1] {
            t.feed(p).unwrap();
        }
        assert!(t.feed(b"\x01a").is_err());
    }
    // A cursor: column definitions, then EOF with CURSOR_EXISTS ends the answer.
    let cursor = AC | SERVER_STATUS_CURSOR_EXISTS;
    let packets = [vec![1], col("a"), eof(cursor)];
    assert_eq!(run(Expect::Execute, CLASSIC, &packets), done(cursor));
    let packets = [vec![1], col("a"), ok(cursor, 0xfe, DEPRECATE)];
    assert_eq!(run(Expect::Execute, DEPRECATE, &packets), done(cursor));
}

#[test]
fn prepare_answers() {
    let prep = |params, cols| {
        enc(|b| {
            PrepareOk {
                stmt_id: 1,
                num_columns: cols,
                num_params: params,
                warnings: 0,
            }
            .encode(b)
        })
    };
    // Classic: params + EOF, columns + EOF.
    let mut t = ResponseTracker::new(Expect::Prepare, CLASSIC);
    assert!(matches!(t.feed(&prep(2, 1)).unwrap(), Event::PrepareOk(p) if p.num_params == 2));
    for p in [col("?"), col("?"), eof(AC), col("a")] {
        assert_eq!(t.feed(&p).unwrap(), Event::Continue);
    }
    assert_eq!(t.feed(&eof(AC)).unwrap(), done(AC));
    // DEPRECATE_EOF: no EOFs, and no final status.
    let mut t = ResponseTracker::new(Expect::Prepare, DEPRECATE);
    t.feed(&prep(1, 2)).unwrap();
    assert_eq!(t.feed(&col("?")).unwrap(), Event::Continue);
    assert_eq!(t.feed(&col("a")).unwrap(), Event::Continue);
    assert_eq!(
        t.feed(&col("b")).unwrap(),
        Event::Done {
            status: None,
            error: None
        }
    );
    // Params only, columns only.
    for caps in [CLASSIC, DEPRECATE] {
        let mut t = ResponseTracker::new(Expect::Prepare, caps);
        t.feed(&prep(1, 0)).unwrap();
        let e = t.feed(&col("?")).unwrap();
        if caps == CLASSIC {
            assert_eq!(e, Event::Continue);
            assert_eq!(t.feed(&eof(AC)).unwrap(), done(AC));
        } else {
            assert_eq!(
                e,
                Event::Done {
                    status: None,
                    error: None
                }
            );
        }
        let mut t = ResponseTracker::new(Expect::Prepare, caps);
        t.feed(&prep(0, 1)).unwrap();
        t.feed(&col("a")).unwrap();
        assert!(t.done() == (caps == DEPRECATE));
        // 0 params, 0 columns: done right after PrepareOk.
        let mut t = ResponseTracker::new(Expect::Prepare, caps);
        assert!(matches!(t.feed(&prep(0, 0)).unwrap(), Event::PrepareOk(_)));
        assert!(t.done());
        // ERR.
        let mut t = ResponseTracker::new(Expect::Prepare, caps);
        assert!(matches!(
            t.feed(&err()).unwrap(),
            Event::Done { error: Some(_), .. }
        ));
    }
}

#[test]
fn simple_statistics_field_list_fetch() {
    for caps in [CLASSIC, DEPRECATE] {
        assert_eq!(run(Expect::Simple, caps, &[ok(AC, 0, caps)]), done(AC));
        // COM_SET_OPTION answers with an EOF (or OK-as-EOF).
        assert_eq!(run(Expect::Simple, caps, &[end(AC, caps)]), done(AC));
        assert_eq!(run(Expect::Simple, caps, &[eof(AC)]), done(AC));
        assert!(matches!(
            run(Expect::Simple, caps, &[err()]),
            Event::Done { error: Some(_), .. }
        ));
        assert!(
            ResponseTracker::new(Expect::Simple, caps)
                .feed(b"\x01x")
                .is_err()
        );
        assert_eq!(
            run(
                Expect::Statistics,
                caps,
                &[b"Uptime: 10  Threads: 1".to_vec()]
            ),
            Event::Done {
                status: None,
                error: None
            }
        );
        assert_eq!(
            run(
                Expect::FieldList,
                caps,
                &[col("a"), col("b"), end(AC, caps)]
            ),
            done(AC)
        );
        assert_eq!(run(Expect::FieldList, caps, &[end(AC, caps)]), done(AC));
        let last = AC | SERVER_STATUS_LAST_ROW_SENT;
        let brow = vec![0, 0, 5, 0, 0, 0];
        assert_eq!(
            run(Expect::Fetch, caps, &[brow.clone(), brow, end(last, caps)]),
            done(last)
        );
        assert!(matches!(
            run(Expect::Fetch, caps, &[err()]),
            Event::Done { error: Some(_), .. }
        ));
    }
}

#[test]
fn protocol_violations_are_errors() {
    let mut t = ResponseTracker::new(Expect::Query, CLASSIC);
    assert!(t.feed(&[]).is_err());
    // An EOF where column definitions are due.
    let mut t = ResponseTracker::new(Expect::Query, CLASSIC);
    t.feed(&[2]).unwrap();
    t.feed(&col("a")).unwrap();
    assert!(t.feed(&eof(AC)).is_err());
    // A result set header that is not a column count.
    assert!(
        ResponseTracker::new(Expect::Query, CLASSIC)
            .feed(&[0xfb + 3, 1])
            .is_err()
    );
    // A missing EOF after column definitions in classic mode.
    let mut t = ResponseTracker::new(Expect::Query, CLASSIC);
    t.feed(&[1]).unwrap();
    t.feed(&col("a")).unwrap();
    assert!(t.feed(&row(&[Some(b"1")])).is_err());
}

#[test]
fn patch_status_in_place() {
    for caps in [CLASSIC, DEPRECATE, CLASSIC | CLIENT_SESSION_TRACK] {
        for mut p in [ok(AC, 0, caps), ok(AC, 0xfe, caps), eof(AC)] {
            patch_status(&mut p, caps, MORE | SERVER_STATUS_IN_TRANS, AC).unwrap();
            let mut t = ResponseTracker::new(Expect::Simple, caps);
            assert_eq!(t.feed(&p).unwrap(), done(MORE | SERVER_STATUS_IN_TRANS));
        }
    }
    assert!(patch_status(&mut [0xfe], CLASSIC, MORE, 0).is_err());
    assert!(patch_status(&mut [0xff, 1, 2], CLASSIC, MORE, 0).is_err());
    assert!(patch_status(&mut [0x00, 0, 0, 1], CLASSIC, MORE, 0).is_err());
}
