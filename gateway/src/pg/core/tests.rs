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

mod random {
    //! A bounded fuzz of the core on stable Rust: random client messages (every kind, names
    //! the client has and has not created) against random server answers. Whatever comes,
    //! the core must not panic, must write only well-formed messages on both sides, and
    //! must never name a statement to the server other than its own server-side names.
    //! `ARTICDBM_CORE_FUZZ_CASES` runs more cases locally.

    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    #[derive(Debug, Clone)]
    enum C {
        Parse(&'static str, &'static str),
        Bind(&'static str, &'static str),
        Describe(bool, &'static str),
        Execute(&'static str),
        Close(bool, &'static str),
        Sync,
        Flush,
        Query(&'static str),
        Copy,
        Function,
    }

    #[derive(Debug, Clone)]
    enum S {
        Tag(u8),
        Error(&'static str),
        Ready(u8),
        Param(&'static str, &'static str),
    }

    const NAMES: &[&str] = &["", "a", "b", "articdbm_s1"];
    const SQL: &[&str] = &["SELECT 1", "SELECT $1::int", "SELEC", "DELETE FROM t"];
    const QUERIES: &[&str] = &[
        "SELECT 1",
        "BEGIN",
        "COMMIT",
        "DEALLOCATE ALL",
        "DISCARD ALL",
        "DEALLOCATE a",
        "EXECUTE articdbm_s1",
        "LISTEN x",
        "SELECT 1; SELECT 2",
        "DELETE FROM t",
    ];

    fn client_msg() -> impl Strategy<Value = C> {
        let name = proptest::sample::select(NAMES);
        prop_oneof![
            (name.clone(), proptest::sample::select(SQL)).prop_map(|(n, q)| C::Parse(n, q)),
            (name.clone(), name.clone()).prop_map(|(p, s)| C::Bind(p, s)),
            (any::<bool>(), name.clone()).prop_map(|(p, n)| C::Describe(p, n)),
            name.clone().prop_map(C::Execute),
            (any::<bool>(), name).prop_map(|(p, n)| C::Close(p, n)),
            Just(C::Sync),
            Just(C::Flush),
            proptest::sample::select(QUERIES).prop_map(C::Query),
            Just(C::Copy),
            Just(C::Function),
        ]
    }

    fn server_msg() -> impl Strategy<Value = S> {
        prop_oneof![
            proptest::sample::select(b"123tnTDCIsGHdcAVN".as_slice()).prop_map(S::Tag),
            proptest::sample::select(&["26000", "42601", "22012", "08P01"][..]).prop_map(S::Error),
            proptest::sample::select(b"ITE".as_slice()).prop_map(S::Ready),
            Just(S::Param("standard_conforming_strings", "off")),
            Just(S::Param("TimeZone", "UTC")),
        ]
    }

    fn encode_client(c: &C, b: &mut BytesMut) {
        match c {
            C::Parse(n, q) => fe::parse(b, n, q, &[]).unwrap(),
            C::Bind(p, s) => fe::bind(b, p, s, &[], [Some(&b"1"[..])], &[]).unwrap(),
            C::Describe(portal, n) => {
                let t = if *portal {
                    Target::Portal
                } else {
                    Target::Statement
                };
                fe::describe(b, t, n).unwrap()
            }
            C::Execute(p) => fe::execute(b, p, 0).unwrap(),
            C::Close(portal, n) => {
                let t = if *portal {
                    Target::Portal
                } else {
                    Target::Statement
                };
                fe::close(b, t, n).unwrap()
            }
            C::Sync => fe::sync(b),
            C::Flush => fe::flush(b),
            C::Query(q) => fe::query(b, q).unwrap(),
            C::Copy => fe::copy_data(b, b"1\t2\n").unwrap(),
            C::Function => {
                let body = [0u8, 0, 0, 7, 0, 0, 0, 0, 0, 0];
                b.put_u8(b'F');
                b.put_u32(4 + body.len() as u32);
                b.put_slice(&body);
            }
        }
    }

    fn encode_server(s: &S, b: &mut BytesMut) {
        match s {
            S::Tag(b'C') => be::command_complete(b, "SELECT 1").unwrap(),
            S::Tag(b'D') => be::data_row(b, [Some(&b"1"[..])]).unwrap(),
            S::Tag(b'T') => be::row_description(b, &[be::Column::text("x")]).unwrap(),
            S::Tag(b't') => be::parameter_description(b, &[23]).unwrap(),
            S::Tag(b'A') => be::notification_response(b, 1, "x", "y").unwrap(),
            S::Tag(b'N') => be::notice_response(b, &PgError::new(Severity::Notice, "00000", "n")),
            S::Tag(b'G') => be::copy_in_response(b, 0, &[0]).unwrap(),
            S::Tag(b'H') => be::copy_out_response(b, 0, &[0]).unwrap(),
            S::Tag(t @ (b'd' | b'V')) => {
                b.put_u8(*t);
                b.put_u32(5);
                b.put_u8(b'x');
            }
            S::Tag(t) => {
                b.put_u8(*t);
                b.put_u32(4);
            }
            S::Error(code) => be::error_response(b, &PgError::new(Severity::Error, *code, "e")),
            S::Ready(st) => be::ready_for_query(
                b,
                match st {
                    b'T' => TransactionStatus::InTransaction,
                    b'E' => TransactionStatus::Failed,
                    _ => TransactionStatus::Idle,
                },
            ),
            S::Param(k, v) => be::parameter_status(b, k, v).unwrap(),
        }
    }

    /// Runs one case; panics (with the case) on a broken invariant.
    fn run(mode: PoolMode, steps: &[(Vec<C>, Vec<S>)]) {
        let mut c = core(mode);
        let mut j = TestJudge::new(&["DELETE"]);
        if mode == PoolMode::Session {
            c.attach(Attached::default());
        }
        for (clients, servers) in steps {
            for m in clients {
                if c.has_parked() {
                    if c.is_waiting() {
                        break;
                    }
                    let _ = c.resume(&mut j);
                }
                let mut b = BytesMut::new();
                encode_client(m, &mut b);
                let msg = FrontendDecoder::new().decode(&mut b).unwrap().unwrap();
                let mut step = c.handle(msg, &mut j);
                // A bounded number of driver turns: attach, resolve (unknown), resume.
                for _ in 0..3 {
                    match step {
                        Ok(Step::NeedServer(_)) => {
                            c.attach(Attached::default());
                            step = c.resume(&mut j);
                        }
                        Ok(Step::ResolveFunction(oid)) => {
                            c.function_unknown(oid);
                            step = Ok(Step::Continue);
                        }
                        _ => break,
                    }
                }
                if let Ok(Step::End(_)) = step {
                    return;
                }
            }
            // Everything the core wrote for the server is well-formed and names only
            // server-side statements.
            for m in frontend(c.server_out()) {
                let named = match &m {
                    FrontendMessage::Bind(b) => Some(b.statement().unwrap().to_string()),
                    FrontendMessage::Parse(p) => Some(p.statement_name().unwrap().to_string()),
                    _ => None,
                };
                if let Some(n) = named {
                    assert!(
                        n.is_empty() || n.starts_with("articdbm_s") || n == "articdbm_refused",
                        "the server was sent a client's name: {n}"
                    );
                }
            }
            let n = c.server_out_len();
            c.server_written(n);
            for s in servers {
                let mut b = BytesMut::new();
                encode_server(s, &mut b);
                let msg = BackendDecoder::new().decode(&mut b).unwrap().unwrap();
                if c.on_server(msg).is_err() {
                    if c.server_lost("lost").is_some() {
                        return;
                    }
                    if mode == PoolMode::Session {
                        return;
                    }
                }
            }
            backend(&std::mem::take(c.client_out()));
            if mode == PoolMode::Transaction && c.at_idle_point() {
                c.detach();
            }
        }
    }

    #[test]
    fn random_conversations_keep_the_core_sound() {
        let cases = std::env::var("ARTICDBM_CORE_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases,
                failure_persistence: None,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
        );
        let step = (
            proptest::collection::vec(client_msg(), 0..8),
            proptest::collection::vec(server_msg(), 0..8),
        );
        let strategy = (any::<bool>(), proptest::collection::vec(step, 1..6));
        runner
            .run(&strategy, |(session, steps)| {
                let mode = if session {
                    PoolMode::Session
                } else {
                    PoolMode::Transaction
                };
                run(mode, &steps);
                Ok(())
            })
            .unwrap();
    }
}
