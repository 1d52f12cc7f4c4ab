//! Byte-fixture tests of the session core: client messages in, bytes for the server and the
//! client out, server answers fed back by hand. No sockets.

use super::*;
use crate::session::TestJudge;
use articdbm_pgwire::backend::encode as be;
use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::{BackendDecoder, FrontendDecoder};

fn core(mode: PoolMode) -> PgCore {
    PgCore::new(
        CoreSettings {
            mode,
            max_prepared: 100,
            function_call: FunctionCallMode::Refuse,
            deny_marker: "articdbm_denied_test".into(),
        },
        Arc::new(StatementIds::default()),
    )
}

/// Decodes every frontend message in `bytes`.
fn frontend(bytes: &[u8]) -> Vec<FrontendMessage> {
    let mut b = BytesMut::from(bytes);
    let d = FrontendDecoder::new();
    let mut out = Vec::new();
    while let Some(m) = d.decode(&mut b).expect("valid frontend bytes") {
        out.push(m);
    }
    assert!(b.is_empty(), "trailing bytes");
    out
}

/// Decodes every backend message in `bytes`.
fn backend(bytes: &[u8]) -> Vec<BackendMessage> {
    let mut b = BytesMut::from(bytes);
    let d = BackendDecoder::new();
    let mut out = Vec::new();
    while let Some(m) = d.decode(&mut b).expect("valid backend bytes") {
        out.push(m);
    }
    assert!(b.is_empty(), "trailing bytes");
    out
}

/// Feeds client bytes to the core; returns the steps.
fn client(c: &mut PgCore, j: &mut TestJudge, bytes: &[u8]) -> Vec<Step> {
    frontend(bytes)
        .into_iter()
        .map(|m| {
            let mut s = c.handle(m, j).expect("handled");
            if let Step::NeedServer(_) = s {
                c.attach(Attached::default());
                s = c.resume(j).expect("resumed");
            }
            s
        })
        .collect()
}

/// Takes what the core wrote for the server, decoded.
fn to_server(c: &mut PgCore) -> Vec<FrontendMessage> {
    let n = c.server_out_len();
    let out = frontend(c.server_out());
    c.server_written(n);
    out
}

/// Takes what the core wrote for the client, as (tag, detail) pairs: SQLSTATE for errors.
fn to_client(c: &mut PgCore) -> Vec<(char, String)> {
    let bytes = std::mem::take(c.client_out());
    backend(&bytes)
        .into_iter()
        .map(|m| {
            let detail = match m.tag() {
                b'E' => m
                    .error_fields()
                    .ok()
                    .and_then(|f| f.code().map(|c| c.into_owned()))
                    .unwrap_or_default(),
                b'Z' => format!("{:?}", m.ready_for_query().expect("status")),
                b'C' => m.command_complete().expect("tag").to_string(),
                _ => String::new(),
            };
            (m.tag() as char, detail)
        })
        .collect()
}

fn server(c: &mut PgCore, f: impl FnOnce(&mut BytesMut)) {
    let mut b = BytesMut::new();
    f(&mut b);
    for m in backend(&b) {
        c.on_server(m).expect("server message accepted");
    }
}

fn tags(ms: &[FrontendMessage]) -> String {
    ms.iter().map(|m| m.tag() as char).collect()
}

#[test]
fn bind_of_a_statement_the_client_never_prepared_is_refused_and_not_forwarded() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::bind(&mut b, "", "articdbm_s1", &[], [Some(&b"5"[..])], &[]).unwrap();
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert!(to_server(&mut c).is_empty(), "nothing reaches a server");
    assert_eq!(
        to_client(&mut c),
        vec![('E', "26000".into()), ('Z', "Idle".into())]
    );
}

fn bind(b: &mut BytesMut, portal: &str, stmt: &str, v: &[u8]) {
    fe::bind(b, portal, stmt, &[], [Some(v)], &[]).unwrap();
}

/// Answers the server gives to what it was sent, for the common messages: ParseComplete,
/// BindComplete, a row and CommandComplete per Execute, ReadyForQuery per Sync.
fn answer_all(c: &mut PgCore, sent: &[FrontendMessage]) {
    server(c, |b| {
        for m in sent {
            match m.tag() {
                b'P' => be::parse_complete(b),
                b'B' => be::bind_complete(b),
                b'E' => {
                    be::data_row(b, [Some(&b"1"[..])]).unwrap();
                    be::command_complete(b, "SELECT 1").unwrap();
                }
                b'S' => be::ready_for_query(b, TransactionStatus::Idle),
                b'C' => be::close_complete(b),
                _ => {}
            }
        }
    });
}

/// The statement name a Parse or Bind frame carries.
fn stmt_name(m: &FrontendMessage) -> String {
    match m {
        FrontendMessage::Parse(p) => p.statement_name().unwrap().to_string(),
        FrontendMessage::Bind(b) => b.statement().unwrap().to_string(),
        _ => panic!("not a Parse or Bind"),
    }
}

/// Releases the held connection and attaches a different one that has nothing prepared.
fn move_to_fresh_connection(c: &mut PgCore) {
    assert!(c.at_idle_point(), "released only at an idle point");
    c.detach();
    c.attach(Attached::default());
}

#[test]
fn a_named_statement_is_prepared_again_on_another_connection() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "q", "SELECT $1::int", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    assert_eq!(tags(&sent), "PS");
    assert!(stmt_name(&sent[0]).starts_with("articdbm_s"));
    answer_all(&mut c, &sent);
    assert_eq!(
        to_client(&mut c),
        vec![('1', "".into()), ('Z', "Idle".into())]
    );
    move_to_fresh_connection(&mut c);

    let mut b = BytesMut::new();
    bind(&mut b, "", "q", b"7");
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    assert_eq!(tags(&sent), "PBES", "the statement is prepared first");
    assert_eq!(stmt_name(&sent[0]), stmt_name(&sent[1]));
    answer_all(&mut c, &sent);
    // The injected ParseComplete is the gateway's, not the client's.
    assert_eq!(
        to_client(&mut c),
        vec![
            ('2', "".into()),
            ('D', "".into()),
            ('C', "SELECT 1".into()),
            ('Z', "Idle".into())
        ]
    );
    assert_eq!(
        j.judged,
        vec!["SELECT $1::int".to_string()],
        "judged once, at Parse"
    );
}

#[test]
fn the_unnamed_statement_follows_the_client_across_syncs_and_connections() {
    // pg8000: Parse+Sync, then Bind+Sync on whichever connection, then Execute+Sync.
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "", "SELECT $1::text", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    assert_eq!(tags(&sent), "PS");
    answer_all(&mut c, &sent);
    to_client(&mut c);
    move_to_fresh_connection(&mut c);

    let mut b = BytesMut::new();
    bind(&mut b, "", "", b"mine");
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    assert_eq!(
        tags(&sent),
        "PBES",
        "the client's own unnamed statement is parsed here first"
    );
    assert_eq!(stmt_name(&sent[0]), "");
    match &sent[0] {
        FrontendMessage::Parse(p) => assert_eq!(p.query().unwrap(), "SELECT $1::text"),
        _ => unreachable!(),
    }
    answer_all(&mut c, &sent);
    assert_eq!(to_client(&mut c)[0], ('2', "".into()));

    // On the same connection again: no second Parse.
    let mut b = BytesMut::new();
    bind(&mut b, "", "", b"again");
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "BES");
}

#[test]
fn another_clients_unnamed_statement_is_never_reached() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    bind(&mut b, "", "", b"1");
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert!(to_server(&mut c).is_empty());
    assert_eq!(
        to_client(&mut c),
        vec![('E', "26000".into()), ('Z', "Idle".into())]
    );
}

#[test]
fn statements_are_marked_on_parse_complete_and_survive_an_error_later_in_the_batch() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "a", "SELECT 1/$1::int", &[]).unwrap();
    fe::parse(&mut b, "b", "SELECT $1::int+1", &[]).unwrap();
    bind(&mut b, "", "a", b"0");
    fe::execute(&mut b, "", 0).unwrap();
    bind(&mut b, "", "b", b"1");
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "PPBEBES", "nothing deferred");
    server(&mut c, |b| {
        be::parse_complete(b);
        be::parse_complete(b);
        be::bind_complete(b);
        be::error_response(
            b,
            &PgError::new(Severity::Error, "22012", "division by zero"),
        );
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    assert_eq!(
        to_client(&mut c),
        vec![
            ('1', "".into()),
            ('1', "".into()),
            ('2', "".into()),
            ('E', "22012".into()),
            ('Z', "Idle".into())
        ]
    );
    // b was prepared: binding it again needs no Parse, on this connection.
    let mut b = BytesMut::new();
    bind(&mut b, "", "b", b"1");
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "BES");
}

#[test]
fn a_parse_the_server_skipped_or_refused_leaves_no_statement() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "bad", "SELEC 1", &[]).unwrap();
    fe::parse(&mut b, "later", "SELECT 2", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "PPS");
    server(&mut c, |b| {
        be::error_response(b, &PgError::new(Severity::Error, "42601", "syntax error"));
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    assert_eq!(
        to_client(&mut c),
        vec![('E', "42601".into()), ('Z', "Idle".into())]
    );
    for name in ["bad", "later"] {
        let mut b = BytesMut::new();
        bind(&mut b, "", name, b"1");
        fe::sync(&mut b);
        client(&mut c, &mut j, &b);
        assert_eq!(
            tags(&to_server(&mut c)),
            "S",
            "{name}: the Bind is not forwarded"
        );
        answer_all(
            &mut c,
            &frontend(&{
                let mut s = BytesMut::new();
                fe::sync(&mut s);
                s
            }),
        );
        assert_eq!(
            to_client(&mut c),
            vec![('E', "26000".into()), ('Z', "Idle".into())],
            "{name}"
        );
    }
}

#[test]
fn deallocate_all_and_discard_all_are_answered_for_the_clients_own_statements() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "q", "SELECT 1", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    answer_all(&mut c, &sent);
    to_client(&mut c);
    for sql in ["DEALLOCATE ALL", "discard all"] {
        let mut b = BytesMut::new();
        fe::query(&mut b, sql).unwrap();
        client(&mut c, &mut j, &b);
        assert!(to_server(&mut c).is_empty(), "{sql} is not forwarded");
        let want = sql.to_ascii_uppercase();
        assert_eq!(to_client(&mut c), vec![('C', want), ('Z', "Idle".into())]);
    }
    // The client's statement is gone for the client...
    let mut b = BytesMut::new();
    bind(&mut b, "", "q", b"1");
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "S");
    // ...and the server's statements stayed: preparing it again needs no server Parse.
    let mut c2_sent = BytesMut::new();
    fe::sync(&mut c2_sent);
    answer_all(&mut c, &frontend(&c2_sent));
    to_client(&mut c);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "q", "SELECT 1", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "S");
}

#[test]
fn deallocate_of_a_name_the_client_does_not_have_is_refused_in_transaction_mode() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::query(&mut b, "DEALLOCATE articdbm_s1").unwrap();
    fe::query(&mut b, "EXECUTE articdbm_s1(5)").unwrap();
    fe::query(&mut b, "PREPARE x AS SELECT 1").unwrap();
    fe::query(&mut b, "LISTEN ch").unwrap();
    client(&mut c, &mut j, &b);
    assert!(to_server(&mut c).is_empty());
    assert_eq!(
        to_client(&mut c),
        vec![
            ('E', "26000".into()),
            ('Z', "Idle".into()),
            ('E', "0A000".into()),
            ('Z', "Idle".into()),
            ('E', "0A000".into()),
            ('Z', "Idle".into()),
            ('E', "0A000".into()),
            ('Z', "Idle".into())
        ]
    );
}

#[test]
fn function_calls_are_refused_by_default() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    // FunctionCall: oid 2624 (pg_read_file), one text argument.
    let mut b = BytesMut::new();
    let body: Vec<u8> = {
        let mut v = Vec::new();
        v.extend_from_slice(&2624u32.to_be_bytes());
        v.extend_from_slice(&0i16.to_be_bytes());
        v.extend_from_slice(&1i16.to_be_bytes());
        v.extend_from_slice(&13i32.to_be_bytes());
        v.extend_from_slice(b"/etc/hostname");
        v.extend_from_slice(&0i16.to_be_bytes());
        v
    };
    b.put_u8(b'F');
    b.put_u32(4 + body.len() as u32);
    b.put_slice(&body);
    client(&mut c, &mut j, &b);
    assert!(to_server(&mut c).is_empty());
    assert_eq!(
        to_client(&mut c),
        vec![('E', "0A000".into()), ('Z', "Idle".into())]
    );
}

#[test]
fn a_refusal_inside_a_transaction_fails_it_on_the_server_too() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&["secret"]);
    let mut b = BytesMut::new();
    fe::query(&mut b, "BEGIN").unwrap();
    client(&mut c, &mut j, &b);
    to_server(&mut c);
    server(&mut c, |b| {
        be::command_complete(b, "BEGIN").unwrap();
        be::ready_for_query(b, TransactionStatus::InTransaction);
    });
    to_client(&mut c);
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT secret FROM t").unwrap();
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    match &sent[..] {
        [FrontendMessage::Query(q)] => {
            let sql = q.sql().unwrap();
            assert!(
                sql.contains("articdbm_denied_test") && !sql.contains("secret"),
                "{sql}"
            );
        }
        other => panic!("{}", tags(other)),
    }
    server(&mut c, |b| {
        be::error_response(
            b,
            &PgError::new(
                Severity::Error,
                "42883",
                "function articdbm_denied_test() does not exist",
            ),
        );
        be::ready_for_query(b, TransactionStatus::Failed);
    });
    assert_eq!(
        to_client(&mut c),
        vec![('E', "42501".into()), ('Z', "Failed".into())]
    );
}

#[test]
fn execute_and_describe_of_a_portal_the_client_did_not_bind_are_refused() {
    let mut c = core(PoolMode::Session);
    c.attach(Attached::default());
    let mut j = TestJudge::new(&[]);
    for which in ["execute", "describe"] {
        let mut b = BytesMut::new();
        if which == "execute" {
            fe::execute(&mut b, "someone_elses", 0).unwrap();
        } else {
            fe::describe(&mut b, Target::Portal, "").unwrap();
        }
        fe::sync(&mut b);
        client(&mut c, &mut j, &b);
        let sent = to_server(&mut c);
        assert_eq!(tags(&sent), "S", "{which}: only the Sync");
        answer_all(&mut c, &sent);
        assert_eq!(
            to_client(&mut c),
            vec![('E', "34000".into()), ('Z', "Idle".into())]
        );
    }
}

#[test]
fn a_bind_that_finds_the_statement_gone_heals_the_connection() {
    let mut c = core(PoolMode::Session);
    c.attach(Attached::default());
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "q", "SELECT 1", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    answer_all(&mut c, &sent);
    to_client(&mut c);
    // Something dropped it on the server behind the gateway's back.
    let mut b = BytesMut::new();
    bind(&mut b, "", "q", b"1");
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "BS");
    server(&mut c, |b| {
        be::error_response(b, &PgError::new(Severity::Error, "26000", "gone"));
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    to_client(&mut c);
    let mut b = BytesMut::new();
    bind(&mut b, "", "q", b"1");
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "PBS", "prepared again");
}

#[test]
fn turning_standard_conforming_strings_off_ends_the_session() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::query(&mut b, "SET standard_conforming_strings = off").unwrap();
    client(&mut c, &mut j, &b);
    to_server(&mut c);
    server(&mut c, |b| {
        be::command_complete(b, "SET").unwrap();
        be::parameter_status(b, "standard_conforming_strings", "off").unwrap();
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    to_client(&mut c);
    let a = c.detach().expect("attached");
    assert!(a.broken, "the connection is not reused");
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT '\\' OR 1=1 --'").unwrap();
    let steps = client(&mut c, &mut j, &b);
    assert_eq!(steps, vec![Step::End(End::Fatal)]);
    assert!(to_server(&mut c).is_empty());
    assert_eq!(to_client(&mut c), vec![('E', "0A000".into())]);
}

#[test]
fn notifications_are_dropped_under_transaction_pooling() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::query(&mut b, "SELECT 1").unwrap();
    client(&mut c, &mut j, &b);
    to_server(&mut c);
    server(&mut c, |b| {
        be::notification_response(b, 1, "ch", "someone else's").unwrap();
        be::command_complete(b, "SELECT 1").unwrap();
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    assert_eq!(
        to_client(&mut c),
        vec![('C', "SELECT 1".into()), ('Z', "Idle".into())]
    );
}

#[test]
fn a_bind_waits_for_the_answer_to_a_parse_in_an_earlier_batch() {
    let mut c = core(PoolMode::Transaction);
    let mut j = TestJudge::new(&[]);
    let mut b = BytesMut::new();
    fe::parse(&mut b, "a", "SELEC 1", &[]).unwrap();
    fe::sync(&mut b);
    bind(&mut b, "", "a", b"1");
    // (The driver stops handing messages over at a Wait: the Sync follows later.)
    let steps = client(&mut c, &mut j, &b);
    assert_eq!(steps[2], Step::Wait, "the Bind waits");
    assert!(c.is_waiting());
    assert_eq!(tags(&to_server(&mut c)), "PS");
    server(&mut c, |b| {
        be::error_response(b, &PgError::new(Severity::Error, "42601", "syntax error"));
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    assert!(c.can_resume());
    assert_eq!(c.resume(&mut j).unwrap(), Step::Continue);
    // The Sync after the Bind was not handled yet (the driver stops at Wait): feed it.
    let mut b = BytesMut::new();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "S", "the Bind is not forwarded");
    answer_all(&mut c, &frontend(&b));
    assert_eq!(
        to_client(&mut c),
        vec![
            ('E', "42601".into()),
            ('Z', "Idle".into()),
            ('E', "26000".into()),
            ('Z', "Idle".into())
        ]
    );
}

#[test]
fn a_parse_the_gateway_answered_itself_is_undone_when_the_batch_is_skipped() {
    let mut c = core(PoolMode::Session);
    c.attach(Attached::default());
    let mut j = TestJudge::new(&[]);
    // The connection has "SELECT 2" prepared already (another client's, or an earlier one).
    let mut b = BytesMut::new();
    fe::parse(&mut b, "other", "SELECT 2", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    let sent = to_server(&mut c);
    answer_all(&mut c, &sent);
    to_client(&mut c);
    let mut b = BytesMut::new();
    fe::query(&mut b, "DEALLOCATE other").unwrap();
    client(&mut c, &mut j, &b);
    to_client(&mut c);
    // A failing Parse, then one the gateway would answer itself: both skipped.
    let mut b = BytesMut::new();
    fe::parse(&mut b, "bad", "SELEC 1", &[]).unwrap();
    fe::parse(&mut b, "c", "SELECT 2", &[]).unwrap();
    fe::sync(&mut b);
    client(&mut c, &mut j, &b);
    assert_eq!(tags(&to_server(&mut c)), "PS");
    server(&mut c, |b| {
        be::error_response(b, &PgError::new(Severity::Error, "42601", "syntax error"));
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    assert_eq!(
        to_client(&mut c),
        vec![('E', "42601".into()), ('Z', "Idle".into())]
    );
    // "c" is free: preparing it again is answered at once, not parked forever.
    let mut b = BytesMut::new();
    fe::parse(&mut b, "c", "SELECT 2", &[]).unwrap();
    fe::sync(&mut b);
    let steps = client(&mut c, &mut j, &b);
    assert_eq!(steps, vec![Step::Continue, Step::Continue]);
    assert!(!c.is_waiting());
}
