//! Differential test of the extended query protocol: the same generated message sequences are
//! sent to PostgreSQL directly and through the gateway (transaction pooling, the default pack
//! judging every statement), and the two must answer message for message.
//!
//! A case is one fresh client session on each side, several batches long; each batch is a
//! sequence of Parse / Bind / Describe / Execute / Close / Flush / Sync / simple Query
//! messages ending in Sync, written in one go. Statements are named `a`, `b`, `c` or unnamed,
//! portals `p` or unnamed, and names may refer to nothing (the gateway must not invent or lose
//! them). Transactions (`BEGIN` … `COMMIT`) span batches.
//!
//! Cases run one after another against one gateway, so a session may meet what earlier ones
//! left on the pooled server connections: a case can fail only after certain others (a session
//! seeing another's statements is a bug in itself). The shrunk case is printed as it ran; the
//! seed and case count reproduce the whole run. `postgres_agrees_with_itself` runs the same
//! cases against PostgreSQL on both sides, so a difference is never the comparison's own.
//!
//! # Running
//!
//! CI runs a fixed seed and `ARTICDBM_DIFF_CASES` cases (64 by default, well under a minute).
//! A longer local run, with another seed:
//!
//! ```text
//! ARTICDBM_DIFF_CASES=2000 ARTICDBM_DIFF_SEED=7 \
//!     cargo test -p articdbm-tests --test pg_differential -- --nocapture
//! ```
//!
//! # What is compared
//!
//! Every backend message of a batch, in order, normalized to one line ([`normalize`]):
//! - ErrorResponse: severity, SQLSTATE and message. File, line, routine and the error
//!   position are left out: they describe PostgreSQL's source and the query text, not the
//!   protocol, and the position would only differ if the gateway rewrote a statement.
//! - RowDescription: every field of every column; DataRow: every value; CommandComplete: the
//!   tag; ReadyForQuery: the transaction status; ParameterDescription: the type OIDs; every
//!   other message: its type and body.
//! - ParameterStatus and NoticeResponse are skipped: the gateway reports its own parameters
//!   (and may re-send them when a session moves to another server connection), and notices
//!   are not part of the request/answer protocol.
//!
//! Startup (BackendKeyData, ParameterStatus) is not compared at all: the gateway hands out
//! its own cancel keys by design.

mod gw_support;
mod wire_support;

use std::fmt;
use std::time::Duration;

use articdbm_pgwire::frontend::Target;
use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::{BackendMessage, BackendTag};
use articdbm_tests::PgServer;
use bytes::BytesMut;
use gw_support::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};
use tokio::time::Instant;
use wire_support::RawClient;

/// How long one batch (or the startup) may take on either side before the session is given
/// up and the timeout becomes part of its answer.
const BATCH_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// The message model
// ---------------------------------------------------------------------------------------------

/// The statements a Parse may carry. All but [`Sql::Invalid`] take one parameter, so a Bind
/// with one value fits whichever of them a name holds; a Bind without values is the odd one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sql {
    AddOne,
    /// `1/$1`: division by zero, mid-batch, when bound to 0.
    Divide,
    Text,
    /// Several rows, so that Execute with a row limit suspends the portal.
    Series,
    /// A syntax error at Parse.
    Invalid,
}

impl Sql {
    fn text(self) -> &'static str {
        match self {
            Sql::AddOne => "SELECT $1::int + 1",
            Sql::Divide => "SELECT 1/$1::int",
            Sql::Text => "SELECT $1::text",
            Sql::Series => "SELECT generate_series(1, $1::int + 2)",
            Sql::Invalid => "SELEC 1",
        }
    }
}

/// One frontend message. Names are `&'static str` from small fixed sets so that generated
/// sequences collide on names often.
#[derive(Clone, PartialEq, Eq)]
enum Msg {
    Parse {
        stmt: &'static str,
        sql: Sql,
    },
    /// `value: None`: no parameter values at all (wrong arity for every valid statement).
    Bind {
        portal: &'static str,
        stmt: &'static str,
        value: Option<&'static str>,
    },
    Describe {
        target: Target,
        name: &'static str,
    },
    Execute {
        portal: &'static str,
        max_rows: i32,
    },
    Close {
        target: Target,
        name: &'static str,
    },
    Flush,
    Sync,
    Query(&'static str),
}

fn target(t: Target) -> char {
    match t {
        Target::Statement => 'S',
        Target::Portal => 'P',
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Parse { stmt, sql } => write!(f, "Parse {stmt:?} {:?}", sql.text()),
            Msg::Bind {
                portal,
                stmt,
                value,
            } => match value {
                Some(v) => write!(f, "Bind {portal:?} <- {stmt:?} [{v}]"),
                None => write!(f, "Bind {portal:?} <- {stmt:?} []"),
            },
            Msg::Describe { target: t, name } => write!(f, "Describe {} {name:?}", target(*t)),
            Msg::Execute { portal, max_rows } => {
                write!(f, "Execute {portal:?} max_rows={max_rows}")
            }
            Msg::Close { target: t, name } => write!(f, "Close {} {name:?}", target(*t)),
            Msg::Flush => write!(f, "Flush"),
            Msg::Sync => write!(f, "Sync"),
            Msg::Query(q) => write!(f, "Query {q:?}"),
        }
    }
}

/// One client session: batches, each sent in one write with a Sync appended.
#[derive(Clone)]
struct Case {
    batches: Vec<Vec<Msg>>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.batches.iter().enumerate() {
            writeln!(f, "batch {i}:")?;
            for m in b {
                writeln!(f, "    {m:?}")?;
            }
            writeln!(f, "    Sync (end of batch)")?;
        }
        Ok(())
    }
}

/// The batch as it is sent: its messages, then Sync.
fn with_sync(batch: &[Msg]) -> Vec<Msg> {
    let mut all = batch.to_vec();
    all.push(Msg::Sync);
    all
}

fn encode(msgs: &[Msg]) -> BytesMut {
    let mut buf = BytesMut::new();
    for m in msgs {
        match m {
            Msg::Parse { stmt, sql } => fe::parse(&mut buf, stmt, sql.text(), &[]),
            Msg::Bind {
                portal,
                stmt,
                value,
            } => fe::bind(
                &mut buf,
                portal,
                stmt,
                &[],
                value.map(str::as_bytes).map(Some),
                &[],
            ),
            Msg::Describe { target, name } => fe::describe(&mut buf, *target, name),
            Msg::Execute { portal, max_rows } => fe::execute(&mut buf, portal, *max_rows),
            Msg::Close { target, name } => fe::close(&mut buf, *target, name),
            Msg::Flush => {
                fe::flush(&mut buf);
                Ok(())
            }
            Msg::Sync => {
                fe::sync(&mut buf);
                Ok(())
            }
            Msg::Query(q) => fe::query(&mut buf, q),
        }
        .expect("test messages encode");
    }
    buf
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

const STATEMENTS: &[&str] = &["a", "", "b", "c"];
const PORTALS: &[&str] = &["", "p"];
const QUERIES: &[&str] = &["BEGIN", "COMMIT", "ROLLBACK", "SELECT 1", "SELECT 1/0"];
const SQLS: &[Sql] = &[
    Sql::AddOne,
    Sql::Divide,
    Sql::Text,
    Sql::Series,
    Sql::Invalid,
];
const TARGETS: &[Target] = &[Target::Statement, Target::Portal];
const VALUES: &[&str] = &["1", "0", "7"];
const MAX_ROWS: &[i32] = &[0, 1];

fn name_for(t: Target) -> BoxedStrategy<&'static str> {
    match t {
        Target::Statement => prop::sample::select(STATEMENTS).boxed(),
        Target::Portal => prop::sample::select(PORTALS).boxed(),
    }
}

fn msg() -> impl Strategy<Value = Msg> {
    let stmt = || prop::sample::select(STATEMENTS);
    let portal = || prop::sample::select(PORTALS);
    let value = prop_oneof![
        8 => prop::sample::select(VALUES).prop_map(Some),
        1 => Just(None),
    ];
    prop_oneof![
        4 => (stmt(), prop::sample::select(SQLS)).prop_map(|(stmt, sql)| Msg::Parse { stmt, sql }),
        5 => (portal(), stmt(), value).prop_map(|(portal, stmt, value)| Msg::Bind {
            portal,
            stmt,
            value
        }),
        5 => (portal(), prop::sample::select(MAX_ROWS))
            .prop_map(|(portal, max_rows)| Msg::Execute { portal, max_rows }),
        2 => prop::sample::select(TARGETS)
            .prop_flat_map(|t| (Just(t), name_for(t)))
            .prop_map(|(target, name)| Msg::Describe { target, name }),
        2 => prop::sample::select(TARGETS)
            .prop_flat_map(|t| (Just(t), name_for(t)))
            .prop_map(|(target, name)| Msg::Close { target, name }),
        1 => Just(Msg::Flush),
        2 => Just(Msg::Sync),
        2 => prop::sample::select(QUERIES).prop_map(Msg::Query),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(prop::collection::vec(msg(), 0..9), 1..5)
        .prop_map(|batches| Case { batches })
}

// ---------------------------------------------------------------------------------------------
// A raw protocol client
// ---------------------------------------------------------------------------------------------

/// One normalized backend message per line; `None` for messages not compared (see the
/// module docs).
fn normalize(m: &BackendMessage) -> Option<String> {
    let bad = |e: articdbm_pgwire::ProtocolError| format!("malformed {:?}: {e}", m.tag() as char);
    let line = match m.tag() {
        // The gateway's own parameters, possibly re-sent after a server switch.
        b'S' => return None,
        // Not part of the answer to a request.
        b'N' => return None,
        b'E' => match m.error_fields() {
            Ok(f) => format!(
                "ErrorResponse {} {}: {}",
                f.severity().unwrap_or_default(),
                f.code().unwrap_or_default(),
                f.message().unwrap_or_default()
            ),
            Err(e) => bad(e),
        },
        b'Z' => match m.ready_for_query() {
            Ok(s) => format!("ReadyForQuery {}", s.as_byte() as char),
            Err(e) => bad(e),
        },
        b'C' => match m.command_complete() {
            Ok(tag) => format!("CommandComplete {tag:?}"),
            Err(e) => bad(e),
        },
        b'T' => match m.row_description() {
            Ok(cols) => {
                let cols: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        format!(
                            "{:?} table={} col={} type={} size={} mod={} fmt={}",
                            c.name,
                            c.table_oid,
                            c.column_id,
                            c.type_oid,
                            c.type_size,
                            c.type_modifier,
                            c.format
                        )
                    })
                    .collect();
                format!("RowDescription [{}]", cols.join(", "))
            }
            Err(e) => bad(e),
        },
        b'D' => match m.data_row() {
            Ok(row) => {
                let vals: Vec<String> = row
                    .iter()
                    .map(|v| match v {
                        Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
                        None => "NULL".into(),
                    })
                    .collect();
                format!("DataRow [{}]", vals.join(", "))
            }
            Err(e) => bad(e),
        },
        b't' => match m.parameter_description() {
            Ok(oids) => format!("ParameterDescription {:?}", oids.collect::<Vec<_>>()),
            Err(e) => bad(e),
        },
        tag => {
            let name = BackendTag::from_byte(tag).map_or("?", BackendTag::name);
            if m.body().is_empty() {
                name.to_string()
            } else {
                format!("{name} {:?}", m.body())
            }
        }
    };
    Some(line)
}

/// The normalized answer to one batch; a failure (timeout, closed connection) is its last
/// line, prefixed `!!`, and ends the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Answer {
    lines: Vec<String>,
    ready: usize,
    failed: bool,
}

impl Answer {
    fn push(&mut self, m: &BackendMessage) {
        if m.tag() == b'Z' {
            self.ready += 1;
        }
        if let Some(l) = normalize(m) {
            self.lines.push(l);
        }
    }

    fn fail(&mut self, why: String) {
        self.lines.push(format!("!! {why}"));
        self.failed = true;
    }
}

/// Reads PostgreSQL's answer to `msgs` knowing how PostgreSQL answers: one terminal message
/// per extended message (none for Flush), nothing between an error and the next Sync (a
/// simple Query in that stretch is skipped too), ReadyForQuery for Sync and Query. This is
/// how the number of ReadyForQuery a batch yields is learnt; the gateway is then read up to
/// that many, so it is never trusted to say where its answer ends.
async fn read_postgres(c: &mut RawClient, msgs: &[Msg], deadline: Instant) -> Answer {
    let mut a = Answer::default();
    let mut skipping = false;
    for m in msgs {
        let ends: &[u8] = match m {
            Msg::Sync => b"Z",
            _ if skipping => continue,
            Msg::Flush => continue,
            Msg::Query(_) => b"Z",
            Msg::Parse { .. } | Msg::Bind { .. } | Msg::Close { .. } => b"123E",
            Msg::Describe { .. } => b"TnE",
            Msg::Execute { .. } => b"CsIE",
        };
        loop {
            match c.recv_by(deadline).await {
                Ok(r) => {
                    a.push(&r);
                    if ends.contains(&r.tag()) {
                        if r.tag() == b'E' {
                            skipping = true;
                        }
                        if r.tag() == b'Z' {
                            skipping = false;
                        }
                        break;
                    }
                }
                Err(e) => {
                    a.fail(e);
                    return a;
                }
            }
        }
    }
    a
}

/// Reads the gateway's answer: messages up to the `ready`-th ReadyForQuery.
async fn read_gateway(c: &mut RawClient, ready: usize, deadline: Instant) -> Answer {
    let mut a = Answer::default();
    while a.ready < ready {
        match c.recv_by(deadline).await {
            Ok(r) => a.push(&r),
            Err(e) => {
                a.fail(e);
                break;
            }
        }
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Running a case on both sides
// ---------------------------------------------------------------------------------------------

/// Where the two sessions of a case connect.
#[derive(Clone, Copy)]
struct Targets {
    pg_port: u16,
    gw_port: u16,
    /// Who the second session logs in as: the gateway's user, or (for the self-check)
    /// PostgreSQL's.
    gw_user: &'static str,
    gw_password: &'static str,
}

/// Both sides' answers to one case: one entry per batch, then one for a lone Sync sent after
/// the last batch (it catches messages the gateway sent past the last expected
/// ReadyForQuery).
struct Outcome {
    case: Case,
    pg: Vec<Answer>,
    gw: Vec<Answer>,
}

impl Outcome {
    fn same(&self) -> bool {
        self.pg.len() == self.gw.len()
            && self
                .pg
                .iter()
                .zip(&self.gw)
                .all(|(p, g)| p.lines == g.lines)
    }

    fn report(&self) -> String {
        let mut s = format!("session:\n{:?}", self.case);
        let n = self.pg.len().max(self.gw.len());
        for i in 0..n {
            let label = if i < self.case.batches.len() {
                format!("batch {i}")
            } else {
                "final lone Sync".to_string()
            };
            let empty = Answer::default();
            let p = self.pg.get(i).unwrap_or(&empty);
            let g = self.gw.get(i).unwrap_or(&empty);
            let mark = if p.lines == g.lines {
                ""
            } else {
                "   <-- differs"
            };
            s.push_str(&format!("{label}:{mark}\n  postgres:\n"));
            for l in &p.lines {
                s.push_str(&format!("    {l}\n"));
            }
            s.push_str("  gateway:\n");
            for l in &g.lines {
                s.push_str(&format!("    {l}\n"));
            }
        }
        s
    }
}

/// One client session on each side, fed the same batches.
struct Pair {
    pg: RawClient,
    gw: RawClient,
}

impl Pair {
    /// Both sessions; `Err` is the gateway's refusal or failure to let the client in.
    async fn open(t: Targets) -> Result<Pair, String> {
        let (pg, gw) = tokio::join!(
            RawClient::connect(t.pg_port, OWNER, OWNER_PASSWORD, "shop"),
            RawClient::connect(t.gw_port, t.gw_user, t.gw_password, "shop"),
        );
        let pg = pg.unwrap_or_else(|e| panic!("direct connection to PostgreSQL: {e}"));
        Ok(Pair {
            pg,
            gw: gw.map_err(|e| format!("connecting: {e}"))?,
        })
    }

    /// Sends `msgs` (which must end in Sync) to PostgreSQL and reads its answer, then the
    /// same to the gateway, read up to as many ReadyForQuery as PostgreSQL sent.
    async fn batch(&mut self, msgs: &[Msg]) -> (Answer, Answer) {
        let wire = encode(msgs);
        let deadline = Instant::now() + BATCH_TIMEOUT;
        self.pg
            .send_by(&wire, deadline)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
        let p = read_postgres(&mut self.pg, msgs, deadline).await;
        assert!(!p.failed, "PostgreSQL itself failed:\n{p:?}");
        let deadline = Instant::now() + BATCH_TIMEOUT;
        let g = match self.gw.send_by(&wire, deadline).await {
            Ok(()) => read_gateway(&mut self.gw, p.ready, deadline).await,
            Err(e) => {
                let mut a = Answer::default();
                a.fail(e);
                a
            }
        };
        (p, g)
    }

    async fn close(self) {
        self.pg.terminate().await;
        self.gw.terminate().await;
    }
}

async fn run_case(t: Targets, case: &Case) -> Outcome {
    let mut out = Outcome {
        case: case.clone(),
        pg: Vec::new(),
        gw: Vec::new(),
    };
    let mut pair = match Pair::open(t).await {
        Ok(pair) => pair,
        Err(e) => {
            let mut a = Answer::default();
            a.fail(e);
            out.gw.push(a);
            return out;
        }
    };
    let mut batches: Vec<Vec<Msg>> = case.batches.iter().map(|b| with_sync(b)).collect();
    batches.push(vec![Msg::Sync]);
    for msgs in &batches {
        let (p, g) = pair.batch(msgs).await;
        let failed = g.failed;
        out.pg.push(p);
        out.gw.push(g);
        if failed {
            break;
        }
    }
    pair.close().await;
    out
}

/// PostgreSQL with the `shop` database, and a gateway in front of it with transaction
/// pooling of `pool_size` server connections and the default pack.
struct Fixture {
    rt: tokio::runtime::Runtime,
    _pg: PgServer,
    /// Dropped inside the runtime (see `Drop`).
    gw: Option<articdbm_gateway::pg::Gateway>,
    _dir: tempfile::TempDir,
    targets: Targets,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // The gateway's pool hands its connections back to tokio on drop: that needs the
        // runtime's context, also when a failed assertion unwinds through here.
        let _in_runtime = self.rt.enter();
        self.gw.take();
    }
}

impl Fixture {
    fn start(pool_size: u32) -> Fixture {
        let pg = PgServer::start().expect("postgres starts");
        create_shop(&pg);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let pool = format!(
            "{{ mode = \"transaction\", size = {pool_size}, connect_timeout_ms = 2000, \
             queue_timeout_ms = 4000 }}"
        );
        let (gw, dir) = rt.block_on(start_gateway(
            "",
            &database(
                "shop",
                &pool,
                "tls = \"disable\"",
                &[Backend::primary(pg.port())],
            ),
        ));
        let targets = Targets {
            pg_port: pg.port(),
            gw_port: gw.pg_addr().port(),
            gw_user: APP_USER,
            gw_password: APP_PASSWORD,
        };
        Fixture {
            rt,
            _pg: pg,
            gw: Some(gw),
            _dir: dir,
            targets,
        }
    }

    fn run(&self, case: &Case) -> Outcome {
        self.rt.block_on(run_case(self.targets, case))
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

/// Runs the generated cases against `t` on `rt`; `Err`: the shrunk failing case's report.
fn check_generated(rt: &tokio::runtime::Runtime, t: Targets) -> Result<(), String> {
    let cases = env_u64("ARTICDBM_DIFF_CASES", 64) as u32;
    let seed = env_u64("ARTICDBM_DIFF_SEED", 0x_a57c_db11);
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        // Shrinking runs real sessions; a hanging gateway costs BATCH_TIMEOUT per step.
        max_shrink_iters: 400,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| {
        let out = rt.block_on(run_case(t, &case));
        if out.same() {
            Ok(())
        } else {
            Err(TestCaseError::fail(out.report()))
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(report, _)) => Err(format!("seed {seed}, shrunk:\n{report}")),
        Err(e) => Err(e.to_string()),
    }
}

/// One server connection: every session of the run lands on it, so what one leaves behind
/// the next meets deterministically, and shrinking stays stable.
#[test]
fn generated_sessions_answer_as_postgres_does_pool_of_one() {
    let fx = Fixture::start(1);
    if let Err(report) = check_generated(&fx.rt, fx.targets) {
        panic!("the gateway answered differently from PostgreSQL ({report}");
    }
}

/// Two server connections: a session's transactions may run on either.
#[test]
fn generated_sessions_answer_as_postgres_does_pool_of_two() {
    let fx = Fixture::start(2);
    if let Err(report) = check_generated(&fx.rt, fx.targets) {
        panic!("the gateway answered differently from PostgreSQL ({report}");
    }
}

/// The comparison itself: two sessions straight to PostgreSQL must always agree, or the
/// property above would report differences that are not the gateway's.
#[test]
fn postgres_agrees_with_itself() {
    let pg = PgServer::start().expect("postgres starts");
    create_shop(&pg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let t = Targets {
        pg_port: pg.port(),
        gw_port: pg.port(),
        gw_user: OWNER,
        gw_password: OWNER_PASSWORD,
    };
    if let Err(report) = check_generated(&rt, t) {
        panic!("PostgreSQL answered differently from itself ({report}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written cases
// ---------------------------------------------------------------------------------------------

fn parse(stmt: &'static str, sql: Sql) -> Msg {
    Msg::Parse { stmt, sql }
}

fn bind(portal: &'static str, stmt: &'static str, value: &'static str) -> Msg {
    Msg::Bind {
        portal,
        stmt,
        value: Some(value),
    }
}

fn execute(portal: &'static str) -> Msg {
    Msg::Execute {
        portal,
        max_rows: 0,
    }
}

/// Runs `case` on both sides, checks PostgreSQL's answer with `check_pg` (so that the case
/// tests what it claims to), then requires the gateway's to be the same.
fn differential(fx: &Fixture, case: Case, check_pg: impl FnOnce(&[Answer])) {
    let out = fx.run(&case);
    check_pg(&out.pg);
    assert!(
        out.same(),
        "the gateway answered differently from PostgreSQL:\n{}",
        out.report()
    );
}

fn has(a: &Answer, needle: &str) -> bool {
    a.lines.iter().any(|l| l.contains(needle))
}

/// The bug report: a statement parsed in a batch whose Execute fails must still exist (it was
/// parsed before the failure), and be usable in the next batch.
#[test]
fn statement_parsed_before_a_failing_execute_survives() {
    let fx = Fixture::start(1);
    let case = Case {
        batches: vec![
            vec![
                parse("a", Sql::Divide),
                parse("b", Sql::AddOne),
                bind("", "a", "0"),
                execute(""),
                bind("", "b", "1"),
                execute(""),
            ],
            vec![bind("", "b", "1"), execute("")],
            vec![bind("", "b", "1"), execute("")],
        ],
    };
    differential(&fx, case, |pg| {
        assert!(has(&pg[0], "22012"), "{pg:?}");
        assert!(has(&pg[1], "DataRow [\"2\"]"), "{pg:?}");
        assert!(has(&pg[2], "DataRow [\"2\"]"), "{pg:?}");
    });
}

/// Bind, Describe and Execute naming statements and portals the session never created get
/// PostgreSQL's own 26000 / 34000, whatever other sessions (or earlier cases on the same
/// server connection) created under those names.
#[test]
fn names_the_session_never_created_are_unknown() {
    let fx = Fixture::start(1);
    // Another session leaves statements and an open portal's name behind on the (only)
    // server connection.
    let other = Case {
        batches: vec![vec![
            parse("a", Sql::AddOne),
            parse("", Sql::AddOne),
            bind("p", "a", "1"),
        ]],
    };
    differential(&fx, other, |_| {});
    let stray = |m: Msg| Case {
        batches: vec![vec![m]],
    };
    let cases = [
        (bind("", "a", "1"), "26000"),
        (bind("", "", "1"), "26000"),
        (bind("p", "c", "1"), "26000"),
        (
            Msg::Describe {
                target: Target::Statement,
                name: "a",
            },
            "26000",
        ),
        (
            Msg::Describe {
                target: Target::Statement,
                name: "",
            },
            "26000",
        ),
        (
            Msg::Describe {
                target: Target::Portal,
                name: "p",
            },
            "34000",
        ),
        (
            Msg::Describe {
                target: Target::Portal,
                name: "",
            },
            "34000",
        ),
        (execute("p"), "34000"),
        (execute(""), "34000"),
    ];
    // Every stray name is tried before failing, so one run lists them all.
    let total = cases.len();
    let mut differing = Vec::new();
    for (m, code) in cases {
        let out = fx.run(&stray(m));
        assert!(has(&out.pg[0], code), "{:?}", out.pg);
        if !out.same() {
            differing.push(out.report());
        }
    }
    assert!(
        differing.is_empty(),
        "the gateway answered differently from PostgreSQL in {} of {} cases:\n{}",
        differing.len(),
        total,
        differing.join("\n")
    );
}

/// The unnamed statement lives until the next Parse of the unnamed statement (or a simple
/// Query): across batches, and so across the transactions transaction pooling may run on
/// different server connections.
#[test]
fn unnamed_statement_outlives_its_batch() {
    let fx = Fixture::start(2);
    let case = Case {
        batches: vec![
            vec![parse("", Sql::AddOne)],
            vec![bind("", "", "1"), execute("")],
            vec![
                Msg::Describe {
                    target: Target::Statement,
                    name: "",
                },
                bind("", "", "41"),
                execute(""),
            ],
        ],
    };
    differential(&fx, case, |pg| {
        assert!(has(&pg[1], "DataRow [\"2\"]"), "{pg:?}");
        assert!(has(&pg[2], "DataRow [\"42\"]"), "{pg:?}");
    });
}

/// A failed Parse creates nothing: the name stays free, and a later Parse under it works.
#[test]
fn failed_parse_leaves_the_name_free() {
    let fx = Fixture::start(1);
    let case = Case {
        batches: vec![
            vec![parse("a", Sql::Invalid)],
            vec![bind("", "a", "1"), execute("")],
            vec![parse("a", Sql::AddOne), bind("", "a", "1"), execute("")],
            vec![parse("a", Sql::AddOne)],
        ],
    };
    differential(&fx, case, |pg| {
        assert!(has(&pg[0], "42601"), "{pg:?}");
        assert!(has(&pg[1], "26000"), "{pg:?}");
        assert!(has(&pg[2], "DataRow [\"2\"]"), "{pg:?}");
        assert!(has(&pg[3], "42P05"), "{pg:?}");
    });
}

/// A portal suspended by a row limit resumes where it stopped, inside a transaction that
/// spans batches.
#[test]
fn suspended_portal_resumes_across_batches_in_a_transaction() {
    let fx = Fixture::start(2);
    let case = Case {
        batches: vec![
            vec![
                Msg::Query("BEGIN"),
                parse("s", Sql::Series),
                bind("p", "s", "1"),
                Msg::Execute {
                    portal: "p",
                    max_rows: 1,
                },
            ],
            vec![Msg::Execute {
                portal: "p",
                max_rows: 1,
            }],
            vec![execute("p"), Msg::Query("COMMIT")],
            vec![execute("p")],
        ],
    };
    differential(&fx, case, |pg| {
        assert!(has(&pg[0], "PortalSuspended"), "{pg:?}");
        assert!(has(&pg[2], "CommandComplete \"SELECT 1\""), "{pg:?}");
        assert!(has(&pg[3], "34000"), "{pg:?}");
    });
}

/// A simple Query after an extended-protocol error is skipped up to the Sync, like every
/// other message there: it gets no answer, and the transaction it would have begun is not.
#[test]
fn query_after_an_error_waits_for_sync() {
    let fx = Fixture::start(1);
    let case = Case {
        batches: vec![
            vec![
                bind("", "a", "1"),
                Msg::Query("BEGIN"),
                Msg::Close {
                    target: Target::Statement,
                    name: "a",
                },
            ],
            vec![Msg::Query("SELECT 1")],
        ],
    };
    differential(&fx, case, |pg| {
        assert_eq!(pg[0].ready, 1, "{pg:?}");
        assert!(has(&pg[0], "26000"), "{pg:?}");
        assert!(!has(&pg[0], "BEGIN"), "{pg:?}");
    });
}

/// An error the gateway answers itself (a Parse under a name the session already uses)
/// fails an open transaction block just as PostgreSQL's own error does.
#[test]
fn duplicate_parse_fails_the_transaction() {
    let fx = Fixture::start(1);
    let case = Case {
        batches: vec![
            vec![parse("c", Sql::AddOne)],
            vec![Msg::Query("BEGIN"), parse("c", Sql::AddOne)],
            vec![Msg::Query("SELECT 1"), Msg::Query("ROLLBACK")],
        ],
    };
    differential(&fx, case, |pg| {
        assert!(has(&pg[1], "42P05"), "{pg:?}");
        assert!(has(&pg[1], "ReadyForQuery E"), "{pg:?}");
        assert!(has(&pg[2], "25P02"), "{pg:?}");
    });
}

/// Statements outlive the server connection they were prepared on: two other clients of a
/// two-connection pool hold one connection each at the right moments, so the session's
/// next transaction runs on the other connection than the one its Parse ran on.
#[test]
fn statements_follow_the_session_to_another_server_connection() {
    let fx = Fixture::start(2);
    fx.rt.block_on(async {
        let gw = fx.gw.as_ref().expect("gateway");
        let holder_b = connect(gw, "shop").await.expect("client b");
        let holder_c = connect(gw, "shop").await.expect("client c");
        let mut pair = Pair::open(fx.targets).await.expect("session");
        let mut answers = Vec::new();
        // b holds one connection: the Parses run on the other one.
        holder_b.simple_query("BEGIN").await.expect("b begins");
        answers.push(
            pair.batch(&with_sync(&[
                parse("", Sql::AddOne),
                parse("a", Sql::AddOne),
            ]))
            .await,
        );
        // c takes the connection the Parses ran on, b gives its own back: the next
        // transaction of the session runs there.
        holder_c.simple_query("BEGIN").await.expect("c begins");
        holder_b.simple_query("COMMIT").await.expect("b commits");
        answers.push(
            pair.batch(&with_sync(&[
                bind("", "", "1"),
                execute(""),
                bind("", "a", "41"),
                execute(""),
            ]))
            .await,
        );
        holder_c.simple_query("COMMIT").await.expect("c commits");
        pair.close().await;
        let out = Outcome {
            case: Case {
                batches: vec![
                    vec![parse("", Sql::AddOne), parse("a", Sql::AddOne)],
                    vec![
                        bind("", "", "1"),
                        execute(""),
                        bind("", "a", "41"),
                        execute(""),
                    ],
                ],
            },
            pg: answers.iter().map(|(p, _)| p.clone()).collect(),
            gw: answers.into_iter().map(|(_, g)| g).collect(),
        };
        assert!(has(&out.pg[1], "DataRow [\"2\"]"), "{:?}", out.pg);
        assert!(has(&out.pg[1], "DataRow [\"42\"]"), "{:?}", out.pg);
        assert!(
            out.same(),
            "the gateway answered differently from PostgreSQL:\n{}",
            out.report()
        );
    });
}
