//! Session tests: frontend messages in, backend messages out, no sockets.

use articdbm_pgwire::backend::{BackendDecoder, BackendMessage};
use articdbm_pgwire::frontend::{FrontendDecoder, encode as fe};
use articdbm_pgwire::{FrontendMessage, StartupDecoder, StartupPacket};
use bytes::BytesMut;

use super::*;

fn startup(params: &[(&str, &str)]) -> StartupMessage {
    let mut b = BytesMut::new();
    fe::startup_message(&mut b, params.iter().copied()).unwrap();
    match StartupDecoder::new().decode(&mut b).unwrap() {
        Some(StartupPacket::Startup(s)) => s,
        other => panic!("{other:?}"),
    }
}

fn session(db: &SqliteDb) -> Session {
    let s = Session::start(
        db,
        &startup(&[("user", "u"), ("database", "d")]),
        Output::buffer(),
    )
    .unwrap_or_else(|out| panic!("startup failed: {:?}", decode(out.buf)));
    let mut s = s;
    s.out.buf.clear();
    s
}

fn memory() -> Arc<SqliteDb> {
    SqliteDb::open(std::path::Path::new(":memory:")).unwrap()
}

/// A compact rendering of backend messages: `T[a:20,b:25] D[1,NULL] C[SELECT 1] Z[I]`.
fn render(m: &BackendMessage) -> String {
    match m.tag() {
        b'T' => {
            let cols: Vec<String> = m
                .row_description()
                .unwrap()
                .iter()
                .map(|c| {
                    if c.format == 1 {
                        format!("{}:{}b", c.name, c.type_oid)
                    } else {
                        format!("{}:{}", c.name, c.type_oid)
                    }
                })
                .collect();
            format!("T[{}]", cols.join(","))
        }
        b'D' => {
            let vals: Vec<String> = m
                .data_row()
                .unwrap()
                .iter()
                .map(|v| match v {
                    None => "NULL".into(),
                    Some(b) => match std::str::from_utf8(b) {
                        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
                        _ => format!("0x{}", hex::encode(b)),
                    },
                })
                .collect();
            format!("D[{}]", vals.join(","))
        }
        b'C' => format!("C[{}]", m.command_complete().unwrap()),
        b'Z' => format!("Z[{}]", char::from(m.ready_for_query().unwrap().as_byte())),
        b'E' | b'N' => {
            let f = m.error_fields().unwrap();
            format!("{}[{}]", char::from(m.tag()), f.code().unwrap_or_default())
        }
        b't' => format!(
            "t[{}]",
            m.parameter_description()
                .unwrap()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        b'S' => {
            let (k, v) = m.parameter_status().unwrap();
            format!("S[{k}={v}]")
        }
        other => char::from(other).to_string(),
    }
}

fn decode(mut buf: BytesMut) -> Vec<String> {
    let d = BackendDecoder::new();
    let mut out = Vec::new();
    while let Some(m) = d.decode(&mut buf).unwrap() {
        out.push(render(&m));
    }
    assert!(buf.is_empty());
    out
}

/// Feed encoded frontend messages; return the rendered answer.
fn feed(s: &mut Session, wire: BytesMut) -> Vec<String> {
    let mut wire = wire;
    let d = FrontendDecoder::new();
    while let Some(m) = d.decode(&mut wire).unwrap() {
        if s.handle(m) == Flow::Close {
            break;
        }
    }
    decode(s.out.buf.split())
}

fn query(s: &mut Session, sql: &str) -> Vec<String> {
    let mut b = BytesMut::new();
    fe::query(&mut b, sql).unwrap();
    feed(s, b)
}

fn q(s: &mut Session, sql: &str) -> String {
    query(s, sql).join(" ")
}

#[test]
fn startup_answers() {
    let db = memory();
    let s = Session::start(
        &db,
        &startup(&[("user", "alice"), ("application_name", "app")]),
        Output::buffer(),
    )
    .ok()
    .unwrap();
    let msgs = decode(s.out.buf.clone());
    assert_eq!(msgs.first().map(String::as_str), Some("R"));
    for want in [
        "S[server_version=15.0]",
        "S[server_encoding=UTF8]",
        "S[client_encoding=UTF8]",
        "S[DateStyle=ISO, MDY]",
        "S[integer_datetimes=on]",
        "S[standard_conforming_strings=on]",
        "S[TimeZone=UTC]",
        "S[application_name=app]",
        "S[is_superuser=off]",
        "S[session_authorization=alice]",
        "K",
    ] {
        assert!(
            msgs.iter().any(|m| m == want),
            "{want} missing from {msgs:?}"
        );
    }
    assert_eq!(msgs.last().map(String::as_str), Some("Z[I]"));
}

#[test]
fn startup_refuses_unsupported_encoding() {
    let db = memory();
    let out = Session::start(
        &db,
        &startup(&[("user", "a"), ("client_encoding", "LATIN1")]),
        Output::buffer(),
    )
    .err()
    .unwrap();
    assert_eq!(decode(out.buf), ["E[0A000]"]);
}

#[test]
fn simple_query_statements_and_tags() {
    let db = memory();
    let mut s = session(&db);
    assert_eq!(
        q(
            &mut s,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, flag BOOLEAN, \
             data BLOB, amount NUMERIC); \
             INSERT INTO t (name, score, flag, data, amount) VALUES ('a;b', 1.5, true, x'00ff', 2), ('c', NULL, false, NULL, 2.5); \
             SELECT * FROM t ORDER BY id;"
        ),
        "C[CREATE TABLE] C[INSERT 0 2] \
         T[id:20,name:25,score:701,flag:16,data:17,amount:1700] \
         D[1,a;b,1.5,t,\\x00ff,2] D[2,c,NULL,f,NULL,2.5] C[SELECT 2] Z[I]"
    );
    assert_eq!(
        q(
            &mut s,
            "UPDATE t SET score = score + 1 WHERE id = 1; DELETE FROM t WHERE id > 5"
        ),
        "C[UPDATE 1] C[DELETE 0] Z[I]"
    );
    assert_eq!(q(&mut s, ""), "I Z[I]");
    assert_eq!(q(&mut s, " ; -- nothing"), "I Z[I]");
    assert_eq!(
        q(&mut s, "SELECT 1, 2.5, 'x', NULL, 1 = 1, count(*) FROM t"),
        "T[?column?:20,?column?:701,?column?:25,?column?:25,?column?:16,count:20] \
         D[1,2.5,x,NULL,t,2] C[SELECT 1] Z[I]"
    );
    // Unknown expression types fall back to the first row's value types.
    assert_eq!(
        q(
            &mut s,
            "SELECT max(id) AS m, unknown_t FROM (SELECT id, 'z' AS unknown_t FROM t)"
        ),
        "T[m:20,unknown_t:25] D[2,z] C[SELECT 1] Z[I]"
    );
    assert_eq!(
        q(
            &mut s,
            "VALUES (1, 'a'); SELECT sum(value) FROM generate_series(1, 4)"
        ),
        "T[column1:20,column2:25] D[1,a] C[SELECT 1] T[sum:20] D[10] C[SELECT 1] Z[I]"
    );
    assert_eq!(
        q(
            &mut s,
            "INSERT INTO t (name) VALUES ('r') RETURNING id, name"
        ),
        "T[id:20,name:25] D[3,r] C[INSERT 0 1] Z[I]"
    );
    assert_eq!(
        q(
            &mut s,
            "SELECT id::text, '5'::int8 + 1 AS six, 'yes'::bool, version() LIKE 'PostgreSQL 15%' FROM t WHERE id = 1"
        ),
        "T[id:25,six:20,bool:16,?column?:16] D[1,6,t,t] C[SELECT 1] Z[I]"
    );
}

#[test]
fn errors_and_sqlstates() {
    let db = memory();
    let mut s = session(&db);
    q(
        &mut s,
        "CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE CHECK (v <> 'bad'))",
    );
    q(&mut s, "CREATE TABLE c (pid INTEGER REFERENCES p(id))");
    q(&mut s, "INSERT INTO p VALUES (1, 'a')");
    for (sql, code) in [
        ("SELEC 1", "42601"),
        ("SELECT * FROM missing", "42P01"),
        ("SELECT nope FROM p", "42703"),
        ("INSERT INTO p VALUES (2, 'a')", "23505"),
        ("INSERT INTO p VALUES (1, 'z')", "23505"),
        ("INSERT INTO p (id) VALUES (3)", "23502"),
        ("INSERT INTO c VALUES (99)", "23503"),
        ("INSERT INTO p VALUES (4, 'bad')", "23514"),
        ("COPY p FROM STDIN", "0A000"),
        ("LISTEN x", "0A000"),
        ("SELECT $1", "42P02"),
    ] {
        assert_eq!(q(&mut s, sql), format!("E[{code}] Z[I]"), "{sql}");
    }
}

#[test]
fn multi_statement_query_is_one_implicit_transaction() {
    let db = memory();
    let mut s = session(&db);
    q(&mut s, "CREATE TABLE t (a INTEGER UNIQUE)");
    assert_eq!(
        q(
            &mut s,
            "INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"
        ),
        "C[INSERT 0 1] E[23505] Z[I]"
    );
    assert_eq!(
        q(&mut s, "SELECT count(*) FROM t"),
        "T[count:20] D[0] C[SELECT 1] Z[I]"
    );
    // BEGIN inside the string makes it an explicit block that stays open.
    assert_eq!(
        q(
            &mut s,
            "INSERT INTO t VALUES (5); BEGIN; INSERT INTO t VALUES (6)"
        ),
        "C[INSERT 0 1] C[BEGIN] C[INSERT 0 1] Z[T]"
    );
    assert_eq!(q(&mut s, "ROLLBACK"), "C[ROLLBACK] Z[I]");
    assert_eq!(
        q(&mut s, "SELECT count(*) FROM t"),
        "T[count:20] D[0] C[SELECT 1] Z[I]"
    );
}

#[test]
fn failed_transaction_state() {
    let db = memory();
    let mut s = session(&db);
    q(&mut s, "CREATE TABLE t (a INTEGER)");
    assert_eq!(q(&mut s, "BEGIN"), "C[BEGIN] Z[T]");
    assert_eq!(q(&mut s, "INSERT INTO t VALUES (1)"), "C[INSERT 0 1] Z[T]");
    assert_eq!(q(&mut s, "SELECT * FROM nope"), "E[42P01] Z[E]");
    assert_eq!(q(&mut s, "SELECT 1"), "E[25P02] Z[E]");
    assert_eq!(q(&mut s, "COMMIT"), "C[ROLLBACK] Z[I]");
    assert_eq!(
        q(&mut s, "SELECT count(*) FROM t"),
        "T[count:20] D[0] C[SELECT 1] Z[I]"
    );
    // Savepoints recover from a failed state.
    assert_eq!(
        q(
            &mut s,
            "BEGIN; INSERT INTO t VALUES (1); SAVEPOINT s1; SELECT * FROM nope"
        ),
        "C[BEGIN] C[INSERT 0 1] C[SAVEPOINT] E[42P01] Z[E]"
    );
    assert_eq!(q(&mut s, "ROLLBACK TO SAVEPOINT s1"), "C[ROLLBACK] Z[T]");
    assert_eq!(q(&mut s, "COMMIT"), "C[COMMIT] Z[I]");
    assert_eq!(
        q(&mut s, "SELECT count(*) FROM t"),
        "T[count:20] D[1] C[SELECT 1] Z[I]"
    );
    // Warnings for misplaced transaction control.
    assert_eq!(q(&mut s, "COMMIT"), "N[25P01] C[COMMIT] Z[I]");
    assert_eq!(q(&mut s, "BEGIN; BEGIN"), "C[BEGIN] N[25001] C[BEGIN] Z[T]");
    assert_eq!(q(&mut s, "END"), "C[COMMIT] Z[I]");
    assert_eq!(q(&mut s, "SAVEPOINT x"), "E[25P01] Z[I]");
}

#[test]
fn set_show_reset_discard() {
    let db = memory();
    let mut s = session(&db);
    assert_eq!(
        q(&mut s, "SET application_name = 'x'"),
        "S[application_name=x] C[SET] Z[I]"
    );
    assert_eq!(q(&mut s, "SET extra_float_digits TO 3"), "C[SET] Z[I]");
    assert_eq!(
        q(&mut s, "SHOW application_name"),
        "T[application_name:25] D[x] C[SHOW] Z[I]"
    );
    assert_eq!(
        q(&mut s, "SHOW TIME ZONE"),
        "T[timezone:25] D[UTC] C[SHOW] Z[I]"
    );
    assert_eq!(q(&mut s, "SHOW nope"), "E[42704] Z[I]");
    assert_eq!(q(&mut s, "SET server_version = '9'"), "E[55P02] Z[I]");
    assert_eq!(
        q(
            &mut s,
            "SELECT current_setting('application_name'), current_user, current_database()"
        ),
        "T[current_setting:25,current_user:25,current_database:25] D[x,u,d] C[SELECT 1] Z[I]"
    );
    assert_eq!(
        q(&mut s, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
        "C[SET] Z[I]"
    );
    q(&mut s, "CREATE TEMP TABLE tmp (a)");
    assert_eq!(
        q(&mut s, "DISCARD ALL"),
        "S[application_name=] C[DISCARD ALL] Z[I]"
    );
    assert_eq!(q(&mut s, "SELECT * FROM tmp"), "E[42P01] Z[I]");
    assert_eq!(
        q(&mut s, "SHOW extra_float_digits"),
        "T[extra_float_digits:25] D[1] C[SHOW] Z[I]"
    );
    assert_eq!(q(&mut s, "BEGIN; DISCARD ALL"), "C[BEGIN] E[25001] Z[E]");
    q(&mut s, "ROLLBACK");
    assert_eq!(q(&mut s, "RESET ALL"), "C[RESET] Z[I]");
}

fn parse(b: &mut BytesMut, name: &str, sql: &str, types: &[u32]) {
    fe::parse(b, name, sql, types).unwrap();
}

fn bind(
    b: &mut BytesMut,
    portal: &str,
    stmt: &str,
    params: &[Option<&[u8]>],
    pf: &[i16],
    rf: &[i16],
) {
    fe::bind(b, portal, stmt, pf, params.iter().copied(), rf).unwrap();
}

#[test]
fn extended_protocol_roundtrip() {
    let db = memory();
    let mut s = session(&db);
    q(
        &mut s,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, ok BOOLEAN)",
    );
    let mut b = BytesMut::new();
    parse(
        &mut b,
        "ins",
        "INSERT INTO t (name, ok) VALUES ($1, $2) RETURNING id",
        &[],
    );
    fe::describe(&mut b, Target::Statement, "ins").unwrap();
    bind(
        &mut b,
        "",
        "ins",
        &[Some(b"alice"), Some(&[1])],
        &[0, 1],
        &[1],
    );
    fe::describe(&mut b, Target::Portal, "").unwrap();
    fe::execute(&mut b, "", 0).unwrap();
    bind(
        &mut b,
        "",
        "ins",
        &[Some(b"bob"), Some(b"false")],
        &[0],
        &[],
    );
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    assert_eq!(
        feed(&mut s, b).join(" "),
        "1 t[25,16] T[id:20] 2 T[id:20b] D[0x0000000000000001] C[INSERT 0 1] 2 D[2] C[INSERT 0 1] Z[I]"
    );

    // Casts type parameters; row limits suspend the portal. The Execute that returns the
    // last row completes it (the backend knows no rows remain), and a finished portal
    // executes as empty.
    let mut b = BytesMut::new();
    parse(
        &mut b,
        "",
        "SELECT id, name, $1::int8 + 1 AS n FROM t WHERE id >= $2 ORDER BY id",
        &[],
    );
    fe::describe(&mut b, Target::Statement, "").unwrap();
    bind(&mut b, "p", "", &[Some(b"41"), Some(b"1")], &[], &[]);
    fe::execute(&mut b, "p", 1).unwrap();
    fe::execute(&mut b, "p", 1).unwrap();
    fe::execute(&mut b, "p", 1).unwrap();
    fe::sync(&mut b);
    assert_eq!(
        feed(&mut s, b).join(" "),
        "1 t[20,20] T[id:20,name:25,n:20] 2 D[1,alice,42] s D[2,bob,42] C[SELECT 2] C[SELECT 0] Z[I]"
    );
    // The portal is gone after Sync outside a transaction.
    let mut b = BytesMut::new();
    fe::execute(&mut b, "p", 0).unwrap();
    fe::sync(&mut b);
    assert_eq!(feed(&mut s, b).join(" "), "E[34000] Z[I]");
}

#[test]
fn extended_errors_skip_to_sync() {
    let db = memory();
    let mut s = session(&db);
    let mut b = BytesMut::new();
    parse(&mut b, "", "SELEC 1", &[]);
    bind(&mut b, "", "", &[], &[], &[]);
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    parse(&mut b, "", "SELECT 1", &[]);
    bind(&mut b, "", "", &[], &[], &[]);
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    assert_eq!(
        feed(&mut s, b).join(" "),
        "E[42601] Z[I] 1 2 D[1] C[SELECT 1] Z[I]"
    );
    // Wrong parameter count, bad binary value, unknown statement.
    let mut b = BytesMut::new();
    parse(&mut b, "two", "SELECT $1::int4, $2::text", &[]);
    fe::sync(&mut b);
    bind(&mut b, "", "two", &[Some(b"1")], &[], &[]);
    fe::sync(&mut b);
    bind(&mut b, "", "two", &[Some(&[1, 2]), Some(b"x")], &[1], &[]);
    fe::sync(&mut b);
    bind(&mut b, "", "nope", &[], &[], &[]);
    fe::sync(&mut b);
    parse(&mut b, "two", "SELECT 1", &[]);
    fe::sync(&mut b);
    assert_eq!(
        feed(&mut s, b).join(" "),
        "1 Z[I] E[08P01] Z[I] E[22P03] Z[I] E[26000] Z[I] E[42P05] Z[I]"
    );
    // Multiple statements cannot be prepared.
    let mut b = BytesMut::new();
    parse(&mut b, "", "SELECT 1; SELECT 2", &[]);
    fe::sync(&mut b);
    assert_eq!(feed(&mut s, b).join(" "), "E[42601] Z[I]");
}

#[test]
fn extended_in_failed_transaction() {
    let db = memory();
    let mut s = session(&db);
    q(&mut s, "BEGIN");
    let mut b = BytesMut::new();
    parse(&mut b, "", "SELECT * FROM nope", &[]);
    fe::sync(&mut b);
    parse(&mut b, "", "SELECT 1", &[]);
    fe::sync(&mut b);
    parse(&mut b, "", "ROLLBACK", &[]);
    bind(&mut b, "", "", &[], &[], &[]);
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    assert_eq!(
        feed(&mut s, b).join(" "),
        "E[42P01] Z[E] E[25P02] Z[E] 1 2 C[ROLLBACK] Z[I]"
    );
}

#[test]
fn binary_results_for_each_type() {
    let db = memory();
    let mut s = session(&db);
    let mut b = BytesMut::new();
    parse(
        &mut b,
        "",
        "SELECT $1::int2, $2::int4, $3::int8, $4::float4, $5::float8, $6::bool, $7::text, $8::bytea",
        &[],
    );
    fe::describe(&mut b, Target::Statement, "").unwrap();
    let params: Vec<Vec<u8>> = vec![
        (-2i16).to_be_bytes().to_vec(),
        70000i32.to_be_bytes().to_vec(),
        (1i64 << 40).to_be_bytes().to_vec(),
        1.5f32.to_be_bytes().to_vec(),
        (-0.25f64).to_be_bytes().to_vec(),
        vec![1],
        b"h\xc3\xa9".to_vec(),
        vec![0, 1, 255],
    ];
    let refs: Vec<Option<&[u8]>> = params.iter().map(|p| Some(p.as_slice())).collect();
    bind(&mut b, "", "", &refs, &[1], &[1]);
    fe::execute(&mut b, "", 0).unwrap();
    fe::sync(&mut b);
    let out = feed(&mut s, b);
    assert_eq!(out[1], "t[21,23,20,700,701,16,25,17]");
    let expected_row = format!(
        "D[0x{},0x{},0x{},0x{},0x{},0x01,hé,0x0001ff]",
        hex::encode((-2i16).to_be_bytes()),
        hex::encode(70000i32.to_be_bytes()),
        hex::encode((1i64 << 40).to_be_bytes()),
        hex::encode(1.5f32.to_be_bytes()),
        hex::encode((-0.25f64).to_be_bytes()),
    );
    assert_eq!(out[4], expected_row, "{out:?}");
}

#[test]
fn param_types_from_columns() {
    let db = memory();
    let mut s = session(&db);
    q(
        &mut s,
        "CREATE TABLE t (id INTEGER, name VARCHAR(10), price REAL, ok BOOL, raw BYTEA)",
    );
    for (sql, want) in [
        ("SELECT * FROM t WHERE id = $1 AND name = $2", "t[20,25]"),
        (
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5)",
            "t[20,25,701,16,17]",
        ),
        ("UPDATE t SET price = $1 WHERE ok = $2", "t[701,16]"),
        (
            "SELECT * FROM t x WHERE x.id IN ($1, $2) LIMIT $3",
            "t[20,20,20]",
        ),
        ("SELECT $1", "t[25]"),
    ] {
        let mut b = BytesMut::new();
        parse(&mut b, "", sql, &[]);
        fe::describe(&mut b, Target::Statement, "").unwrap();
        fe::sync(&mut b);
        let out = feed(&mut s, b);
        assert_eq!(out[1], want, "{sql}: {out:?}");
    }
    // Types given in Parse win.
    let mut b = BytesMut::new();
    parse(&mut b, "", "SELECT * FROM t WHERE id = $1", &[23]);
    fe::describe(&mut b, Target::Statement, "").unwrap();
    fe::sync(&mut b);
    assert_eq!(feed(&mut s, b)[1], "t[23]");
}

#[test]
fn malformed_frame_is_fatal() {
    let db = memory();
    let mut s = session(&db);
    // A Bind whose parameter length runs past the end of the message.
    let mut b = BytesMut::new();
    let body: &[u8] = b"\0\0\0\0\0\x01\0\0\0\x09ab\0\0";
    b.extend_from_slice(b"B");
    b.extend_from_slice(&(i32::try_from(body.len()).unwrap() + 4).to_be_bytes());
    b.extend_from_slice(body);
    let m = FrontendDecoder::new().decode(&mut b).unwrap().unwrap();
    assert!(matches!(m, FrontendMessage::Bind(_)));
    assert_eq!(s.handle(m), Flow::Close);
    assert_eq!(decode(s.out.buf.split()), ["E[08P01]"]);
}

#[test]
fn truncate_and_deallocate() {
    let db = memory();
    let mut s = session(&db);
    q(
        &mut s,
        "CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)",
    );
    assert_eq!(q(&mut s, "TRUNCATE a, b"), "C[TRUNCATE TABLE] Z[I]");
    assert_eq!(
        q(
            &mut s,
            "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) AS n"
        ),
        "T[n:20] D[0] C[SELECT 1] Z[I]"
    );
    let mut b = BytesMut::new();
    parse(&mut b, "s1", "SELECT 1", &[]);
    fe::sync(&mut b);
    feed(&mut s, b);
    assert_eq!(q(&mut s, "DEALLOCATE s1"), "C[DEALLOCATE] Z[I]");
    assert_eq!(q(&mut s, "DEALLOCATE s1"), "E[26000] Z[I]");
}

#[test]
fn two_sessions_share_a_memory_database() {
    let db = memory();
    let mut a = session(&db);
    let mut b = session(&db);
    q(
        &mut a,
        "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7)",
    );
    assert_eq!(
        q(&mut b, "SELECT x FROM t"),
        "T[x:20] D[7] C[SELECT 1] Z[I]"
    );
    // Another SqliteDb is another database.
    let other = memory();
    let mut c = session(&other);
    assert_eq!(q(&mut c, "SELECT x FROM t"), "E[42P01] Z[I]");
}
