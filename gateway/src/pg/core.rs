//! The PostgreSQL session core: one client session's protocol state, with no I/O.
//!
//! The driver (`client.rs`) decodes client and server messages and hands them to
//! [`PgCore::handle`] and [`PgCore::on_server`]; the core writes what goes to the client and
//! to the server into its two output buffers and returns a [`Step`] when the driver has to do
//! something first (lease a server connection, resolve a function, end the session).
//!
//! # Invariants
//!
//! - **No permit, no bytes.** Client-originated bytes reach [`PgCore::sout`] only through
//!   [`PgCore::send`] and its siblings, which take a [`Permit`]. Only the policy makes one. A
//!   message kind without a judgment path is refused or dropped, never forwarded.
//! - **Names are the session's own.** A client refers to statements and portals by its own
//!   names; the core maps them to the server's (`articdbm_s<id>` for named statements, the
//!   unnamed statement re-parsed on whichever connection a Bind lands on). A name the client
//!   did not create gets 26000 / 34000 from the gateway and nothing is forwarded.
//! - **The server is the source of truth.** A statement is marked prepared on ParseComplete,
//!   a portal on BindComplete, the transaction status on ReadyForQuery. Work the server
//!   skipped after an error is undone in the core's records as the server undid it.
//!
//! # The response queue
//!
//! Every message sent to the server that the server answers pushes an [`Expect`]; server
//! messages complete them in order. Answers the gateway gives itself (a ParseComplete for a
//! statement the connection already has, a Close of a client statement, an error for a name
//! the client does not have) are entries too, emitted when they reach the front, so the
//! client sees them exactly where PostgreSQL would have put them. A refused message inside a
//! batch is sent to the server as a statement that fails (a call of a function that does not
//! exist, named with a per-process marker), so the server aborts the batch and the
//! transaction exactly as if it had refused the message itself; that one error is replaced by
//! the gateway's.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use articdbm_pgwire::backend::encode::{self as be, PgError, Severity};
use articdbm_pgwire::frontend::{Target, encode as fe};
use articdbm_pgwire::{BackendMessage, FrontendMessage, TransactionStatus};
use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::Mutex;

use super::split::{is_blank, split};
use super::words::{SessionCommand, session_command};
use crate::config::{FunctionCallMode, PoolMode};
use crate::runtime::StatementContext;
use crate::session::{Judge, Judgment, Permit, Route};

/// Server-side ids of named statements: equal text and parameter types share one id (and so
/// one server-side statement per connection), different ones never do.
#[derive(Default)]
pub struct StatementIds {
    ids: Mutex<HashMap<Bytes, u64>>,
    next: AtomicU64,
}

impl StatementIds {
    pub fn id(&self, parse_rest: &[u8]) -> u64 {
        let mut m = self.ids.lock();
        if let Some(id) = m.get(parse_rest) {
            return *id;
        }
        // Ids are never reused, so forgetting the registry when it grows large only costs
        // re-preparing statements under new names.
        if m.len() >= 100_000 {
            m.clear();
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        m.insert(Bytes::copy_from_slice(parse_rest), id);
        id
    }
}

/// The statements a server connection has prepared (or has a Parse in flight for), by id,
/// oldest first for eviction.
#[derive(Default)]
pub struct PreparedSet {
    set: std::collections::HashSet<u64, foldhash::fast::RandomState>,
    order: VecDeque<u64>,
}

impl PreparedSet {
    pub fn contains(&self, id: u64) -> bool {
        self.set.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    pub fn clear(&mut self) {
        self.set.clear();
        self.order.clear();
    }

    fn insert(&mut self, id: u64) {
        if self.set.insert(id) {
            self.order.push_back(id);
        }
    }

    fn remove(&mut self, id: u64) {
        if self.set.remove(&id) {
            self.order.retain(|h| *h != id);
        }
    }

    /// Ids to close so that one more fits under `cap`.
    fn evict_for_one(&mut self, cap: usize) -> Vec<u64> {
        let mut out = Vec::new();
        while self.set.len() >= cap.max(1) {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if self.set.remove(&old) {
                out.push(old);
            }
        }
        out
    }
}

/// The server-side name of statement `id`.
pub fn server_name(id: u64) -> String {
    format!("articdbm_s{id}")
}

/// A statement a client prepared: judged once, kept with its permit so that it can be
/// prepared again on any server connection.
pub struct Stmt {
    /// The Parse body after the statement name: query text and parameter types.
    rest: Bytes,
    /// Server-side id (named statements; 0 for the unnamed statement).
    id: u64,
    /// `server_name(id)`, made once (empty for the unnamed statement).
    server: String,
    permit: Permit,
}

/// A client's named (or, under "", unnamed) statement.
struct ClientStmt {
    stmt: Arc<Stmt>,
    /// ParseComplete seen (or the server already had it).
    ready: bool,
    /// The batch (count of Syncs and queries sent before) its Parse went in.
    batch: u64,
}

/// What the core knows of the server connection it holds.
#[derive(Default)]
pub struct Attached {
    pub prepared: PreparedSet,
    /// The connection must not be reused.
    pub broken: bool,
    /// ParameterStatus values the server reported while attached.
    pub params: Vec<(String, String)>,
    /// Which client statement the server's unnamed statement is (in flight or prepared).
    unnamed: Option<Arc<Stmt>>,
}

impl Attached {
    pub fn new(prepared: PreparedSet) -> Self {
        Attached {
            prepared,
            ..Attached::default()
        }
    }
}

/// What a message sent to the server (or an answer the gateway gives itself) waits for.
enum Expect {
    /// ParseComplete or an error.
    Parse { target: ParseTarget, swallow: bool },
    /// The gateway answers ParseComplete when this is reached (the connection already has
    /// the statement).
    ParseLocal { name: String },
    /// BindComplete or an error. `portal`: the client portal created. `id`: the server
    /// statement bound (forgotten if the server says it does not exist).
    Bind {
        portal: String,
        id: Option<u64>,
        name: String,
    },
    /// ParameterDescription + RowDescription/NoData, or RowDescription/NoData, or an error.
    Describe { id: Option<u64>, name: String },
    /// CommandComplete, EmptyQueryResponse, PortalSuspended or an error.
    Execute,
    /// CloseComplete: `swallow` when the gateway sent the Close (an eviction).
    Close { swallow: bool },
    /// The gateway answers CloseComplete when reached; a client statement is forgotten then.
    CloseLocal { statement: Option<String> },
    /// ReadyForQuery. `swallow`: the gateway's own Sync.
    Sync { swallow: bool },
    /// A simple query or function call: ends with ReadyForQuery. `deny`: the error to show
    /// in place of the marker's. `effect`: what its CommandComplete does to the records.
    Query { deny: Option<Bytes>, effect: Effect },
    /// A failing Parse the gateway sent in place of a refused extended-protocol message:
    /// its error is replaced by `err`.
    Marker { err: Bytes },
    /// Bytes the gateway sends the client when this is reached (skipped with the batch).
    Synth(Bytes),
    /// A query the gateway answers itself: `answer`, then ReadyForQuery with the status of
    /// that moment. `effect` applies when it is reached.
    LocalQuery { answer: Bytes, effect: Effect },
    /// ReadyForQuery with the status of that moment (a Sync with no server).
    LocalReady,
}

enum ParseTarget {
    /// A client's named statement, confirmed in `stmts` by ParseComplete.
    Named { name: String, id: u64 },
    /// The client's unnamed statement.
    Unnamed(Arc<Stmt>),
    /// Statement `id` prepared again for a client that already has it.
    Again { id: u64 },
}

/// What a statement's success changes in the core's records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    None,
    /// The client's named statements are gone (and, `server`, all of the connection's).
    ForgetStatements {
        server: bool,
    },
}

/// What the driver must do before the core can go on.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// Lease a server connection for this route, then [`PgCore::attach`] and
    /// [`PgCore::resume`] (or [`PgCore::acquire_failed`]).
    NeedServer(Route),
    /// Find the name of function `oid` ([`PgCore::functions`]), then [`PgCore::resume`].
    ResolveFunction(u32),
    /// The message names a statement whose Parse went in an earlier batch and is not
    /// answered yet: read server answers until [`PgCore::can_resume`], then resume.
    Wait,
    /// The session ends (after the client output is written).
    End(End),
}

/// Why a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Terminate,
    ClientGone,
    Fatal,
}

/// The server sent something that ends this server connection's use.
#[derive(Debug)]
pub struct Lost(pub String);

/// Settings of a session core.
#[derive(Clone)]
pub struct CoreSettings {
    pub mode: PoolMode,
    pub max_prepared: usize,
    pub function_call: FunctionCallMode,
    /// Name of a function that does not exist, called in place of a refused statement.
    pub deny_marker: String,
}

/// A message that waits for a server connection or a function name.
struct Parked {
    msg: FrontendMessage,
    judged: Option<Judged>,
}

/// The policy's answer for a message, computed once even when the message waits.
enum Judged {
    Query(QueryPlan),
    Parse(Result<Permit, Bytes>),
    Function(Result<Permit, Bytes>),
}

enum QueryPlan {
    /// Send the query.
    Forward { permit: Permit, effect: Effect },
    /// Refused: run the permitted text before `at` (if any), then fail with `err`.
    Refuse {
        at: usize,
        prefix: Option<Permit>,
        err: Bytes,
    },
    /// Answered by the gateway; `forget`: a client statement deallocated.
    Local {
        answer: Bytes,
        effect: Effect,
        forget: Option<String>,
    },
}

pub struct PgCore {
    settings: CoreSettings,
    ids: Arc<StatementIds>,
    /// Function names by OID (fast-path calls in `judge` mode), shared per database.
    pub functions: Arc<Mutex<HashMap<u32, String>>>,
    /// Bytes for the client.
    cout: BytesMut,
    /// Bytes for the server (written only through the permit-taking functions).
    sout: BytesMut,
    expect: VecDeque<Expect>,
    /// Transaction status the server last reported.
    tx: u8,
    stmts: HashMap<String, ClientStmt, foldhash::fast::RandomState>,
    /// The client's portals on the held connection, with the permit of their statement.
    portals: HashMap<String, Permit, foldhash::fast::RandomState>,
    server: Option<Attached>,
    /// Extended-protocol messages went to the server since the last Sync.
    batch_sent: bool,
    /// Syncs and simple queries sent so far: batches of the server's error recovery.
    batch_seq: u64,
    /// An error was given for an extended-protocol message: drop messages until Sync.
    skip_until_sync: bool,
    /// The permit of the statement whose COPY data the client may be sending.
    copy_permit: Option<Permit>,
    parked: Option<Parked>,
    /// The server connection was lost while nothing was in flight: the next request gets it.
    pending_error: Option<Bytes>,
    /// The session must end (FATAL) at the next client message.
    fatal: Option<Bytes>,
}

fn error_bytes(code: &str, message: impl Into<String>) -> Bytes {
    let mut b = BytesMut::new();
    be::error_response(&mut b, &PgError::new(Severity::Error, code, message));
    b.freeze()
}

/// A FATAL ErrorResponse.
pub fn fatal(code: &str, message: impl Into<String>) -> BytesMut {
    let mut b = BytesMut::new();
    be::error_response(&mut b, &PgError::new(Severity::Fatal, code, message));
    b
}

fn status(b: u8) -> TransactionStatus {
    match b {
        b'T' => TransactionStatus::InTransaction,
        b'E' => TransactionStatus::Failed,
        _ => TransactionStatus::Idle,
    }
}

fn denial_bytes(d: &crate::session::Denial) -> Bytes {
    let mut b = BytesMut::new();
    be::error_response(
        &mut b,
        &PgError::new(
            Severity::Error,
            "42501",
            format!("statement refused by policy rule {}: {}", d.rule, d.reason),
        )
        .detail(format!("plugin {}, binding {}", d.plugin, d.binding)),
    );
    b.freeze()
}

fn no_statement(name: &str) -> Bytes {
    if name.is_empty() {
        error_bytes("26000", "unnamed prepared statement does not exist")
    } else {
        error_bytes(
            "26000",
            format!("prepared statement \"{name}\" does not exist"),
        )
    }
}

fn no_portal(name: &str) -> Bytes {
    error_bytes("34000", format!("portal \"{name}\" does not exist"))
}

const TRANSACTION_POOLING_ADVICE: &str = "under transaction pooling each transaction may run on a different server connection; \
     use a database in session pooling mode for this";

impl PgCore {
    pub fn new(settings: CoreSettings, ids: Arc<StatementIds>) -> Self {
        PgCore {
            settings,
            ids,
            functions: Arc::default(),
            cout: BytesMut::new(),
            sout: BytesMut::new(),
            expect: VecDeque::new(),
            tx: b'I',
            stmts: HashMap::default(),
            portals: HashMap::default(),
            server: None,
            batch_sent: false,
            batch_seq: 0,
            skip_until_sync: false,
            copy_permit: None,
            parked: None,
            pending_error: None,
            fatal: None,
        }
    }

    // ---- output buffers -------------------------------------------------------------

    /// Bytes waiting for the client.
    /// Gives back the memory of the output buffers that are empty: an idle session holds none.
    /// They grow again with the next message.
    pub fn release_idle_buffers(&mut self) {
        if self.cout.is_empty() && self.cout.capacity() > 0 {
            self.cout = BytesMut::new();
        }
        if self.sout.is_empty() && self.sout.capacity() > 0 {
            self.sout = BytesMut::new();
        }
    }

    pub fn client_out(&mut self) -> &mut BytesMut {
        &mut self.cout
    }

    /// Bytes waiting for the server (the driver writes and advances them; it never adds).
    pub fn server_out(&self) -> &[u8] {
        &self.sout
    }

    pub fn server_written(&mut self, n: usize) {
        let n = n.min(self.sout.len());
        bytes::Buf::advance(&mut self.sout, n);
    }

    pub fn server_out_len(&self) -> usize {
        self.sout.len()
    }

    /// Sends client bytes judged by the policy.
    fn send(&mut self, _permit: &Permit, frame: &[u8]) {
        self.sout.extend_from_slice(frame);
    }

    /// Sends client bytes judged by the policy, written in place by `write`.
    fn send_with(&mut self, _permit: &Permit, write: impl FnOnce(&mut BytesMut)) {
        write(&mut self.sout);
    }

    /// Sends a client's statement under its server-side name.
    fn send_parse(&mut self, stmt: &Stmt, name: &str) {
        let rest = &stmt.rest;
        self.send_with(&stmt.permit, |out| {
            out.put_u8(b'P');
            out.put_u32((4 + name.len() + 1 + rest.len()) as u32);
            out.put_slice(name.as_bytes());
            out.put_u8(0);
            out.put_slice(rest);
        });
    }

    /// Protocol messages the gateway writes itself (no client content): Sync, Flush, the
    /// Close of an evicted statement, the failing statement standing in for a refusal.
    fn send_control(&mut self, c: Control<'_>) {
        match c {
            Control::Sync => {
                fe::sync(&mut self.sout);
                self.batch_seq += 1;
            }
            Control::Flush => fe::flush(&mut self.sout),
            Control::CloseStatement(id) => {
                let _ = fe::close(&mut self.sout, Target::Statement, &server_name(id));
            }
            Control::MarkerParse => {
                let sql = format!("SELECT {}()", self.settings.deny_marker);
                let _ = fe::parse(&mut self.sout, "articdbm_refused", &sql, &[]);
            }
            Control::MarkerQuery(prefix) => {
                let sql = format!("{prefix}SELECT {}()", self.settings.deny_marker);
                let _ = fe::query(&mut self.sout, &sql);
                self.batch_seq += 1;
            }
        }
    }

    // ---- state the driver asks about -----------------------------------------------------

    pub fn is_attached(&self) -> bool {
        self.server.is_some()
    }

    /// Transaction status as the server last reported it.
    pub fn transaction_status(&self) -> u8 {
        self.tx
    }

    /// Nothing in flight and no transaction open: the server connection may be given back
    /// (transaction pooling) once the server output is written.
    pub fn at_idle_point(&self) -> bool {
        self.server.is_some()
            && self.expect.is_empty()
            && !self.batch_sent
            && self.tx == b'I'
            && self.parked.is_none()
            && self.sout.is_empty()
    }

    /// Whether the held connection is in a state another client may be given.
    pub fn clean(&self) -> bool {
        self.expect.is_empty() && self.sout.is_empty() && self.tx == b'I' && !self.batch_sent
    }

    pub fn attach(&mut self, a: Attached) {
        self.server = Some(a);
    }

    /// Gives the server connection's record back (the driver releases the connection).
    pub fn detach(&mut self) -> Option<Attached> {
        self.portals.clear();
        self.copy_permit = None;
        let mut a = self.server.take()?;
        a.unnamed = None;
        Some(a)
    }

    // ---- client messages ----------------------------------------------------------------

    /// Handles one client message.
    pub fn handle(
        &mut self,
        msg: FrontendMessage,
        judge: &mut dyn Judge,
    ) -> articdbm_pgwire::Result<Step> {
        if let Some(f) = self.fatal.take() {
            self.cout.extend_from_slice(&f);
            return Ok(Step::End(End::Fatal));
        }
        if self.skip_until_sync
            && !matches!(
                msg,
                FrontendMessage::Sync(_) | FrontendMessage::Terminate(_)
            )
        {
            return Ok(Step::Continue);
        }
        if let Some(err) = self.pending_error.take() {
            match &msg {
                FrontendMessage::Query(_) | FrontendMessage::FunctionCall(_) => {
                    self.push(Expect::Synth(err));
                    self.push(Expect::LocalReady);
                    return Ok(Step::Continue);
                }
                FrontendMessage::Parse(_)
                | FrontendMessage::Bind(_)
                | FrontendMessage::Describe(_)
                | FrontendMessage::Execute(_)
                | FrontendMessage::Close(_) => {
                    self.push(Expect::Synth(err));
                    self.skip_until_sync = true;
                    return Ok(Step::Continue);
                }
                _ => self.pending_error = Some(err),
            }
        }
        if matches!(
            msg,
            FrontendMessage::Bind(_)
                | FrontendMessage::Describe(_)
                | FrontendMessage::Execute(_)
                | FrontendMessage::Close(_)
        ) {
            // A malformed message is a protocol error, whatever it names.
            msg.validate()?;
        }
        let judged = match &msg {
            FrontendMessage::Query(q) => Some(Judged::Query(self.plan_query(q.sql()?, judge))),
            FrontendMessage::Parse(p) => {
                p.validate()?;
                if self.pending_in_earlier_batch(&msg) {
                    // Whether the name is taken depends on that Parse's answer.
                    self.parked = Some(Parked { msg, judged: None });
                    return Ok(Step::Wait);
                }
                let name = p.statement_name()?;
                if !name.is_empty() && self.stmts.contains_key(name) {
                    Some(Judged::Parse(Err(error_bytes(
                        "42P05",
                        format!("prepared statement \"{name}\" already exists"),
                    ))))
                } else {
                    let ctx = StatementContext {
                        in_transaction: self.tx != b'I',
                        prepared_name: (!name.is_empty()).then(|| name.to_string()),
                    };
                    Some(Judged::Parse(match judge.judge(p.query()?, &ctx) {
                        Judgment::Allowed(permit) => Ok(permit),
                        Judgment::Denied(d) => Err(denial_bytes(&d)),
                    }))
                }
            }
            FrontendMessage::FunctionCall(f) => match self.settings.function_call {
                FunctionCallMode::Refuse => Some(Judged::Function(Err(error_bytes(
                    "0A000",
                    "fast-path function calls are refused by the gateway \
                     (database setting pool.function_call = \"refuse\"; set it to \"judge\" \
                     to have them judged as SELECT calls of the function)",
                )))),
                FunctionCallMode::Judge => {
                    f.validate()?;
                    let oid = f.function_oid()?;
                    let name = self.functions.lock().get(&oid).cloned();
                    match name {
                        None => {
                            self.parked = Some(Parked { msg, judged: None });
                            return Ok(Step::ResolveFunction(oid));
                        }
                        Some(name) => Some(Judged::Function(self.judge_function(
                            &name,
                            f.fields()?.args.len(),
                            judge,
                        ))),
                    }
                }
            },
            _ => None,
        };
        self.dispatch(msg, judged, judge)
    }

    /// A message is parked (only [`Step::Wait`] leaves one parked across driver calls).
    pub fn has_parked(&self) -> bool {
        self.parked.is_some()
    }

    /// A message waits for a statement's Parse to be answered ([`Step::Wait`]).
    pub fn is_waiting(&self) -> bool {
        self.parked
            .as_ref()
            .is_some_and(|p| self.pending_in_earlier_batch(&p.msg))
    }

    /// A message is parked for [`Step::Wait`] and its statement is now settled.
    pub fn can_resume(&self) -> bool {
        self.parked.is_some() && !self.is_waiting()
    }

    /// `msg` names a client statement whose Parse is unanswered and went before a Sync: the
    /// server will not skip this message if that Parse fails, so the answer must be known
    /// before the message is sent on.
    fn pending_in_earlier_batch(&self, msg: &FrontendMessage) -> bool {
        let name = match msg {
            FrontendMessage::Bind(b) => b.statement().ok(),
            FrontendMessage::Parse(p) => p.statement_name().ok().filter(|n| !n.is_empty()),
            FrontendMessage::Describe(d) => match d.target() {
                Ok((Target::Statement, n)) => Some(n),
                _ => None,
            },
            _ => None,
        };
        name.and_then(|n| self.stmts.get(n))
            .is_some_and(|s| !s.ready && s.batch < self.batch_seq)
    }

    /// Goes on with the parked message once a server is attached or a function resolved.
    pub fn resume(&mut self, judge: &mut dyn Judge) -> articdbm_pgwire::Result<Step> {
        let Some(p) = self.parked.take() else {
            return Ok(Step::Continue);
        };
        if p.judged.is_none()
            && matches!(
                &p.msg,
                FrontendMessage::FunctionCall(_) | FrontendMessage::Parse(_)
            )
        {
            // The function's name, or the fate of the earlier Parse, is known now.
            return self.handle(p.msg, judge);
        }
        self.dispatch(p.msg, p.judged, judge)
    }

    /// The server connection for the parked message could not be had: the client gets
    /// `code` / `message` in its place.
    pub fn acquire_failed(&mut self, code: &str, message: &str) {
        let Some(p) = self.parked.take() else {
            return;
        };
        self.push(Expect::Synth(error_bytes(code, message)));
        match p.msg {
            FrontendMessage::Query(_) | FrontendMessage::FunctionCall(_) => {
                self.push(Expect::LocalReady);
            }
            _ => self.skip_until_sync = true,
        }
    }

    /// A function OID the server does not know: the call is refused.
    pub fn function_unknown(&mut self, oid: u32) {
        if self.parked.take().is_some() {
            self.refuse_simple(error_bytes(
                "42883",
                format!("function with OID {oid} does not exist"),
            ));
        }
    }

    fn judge_function(
        &mut self,
        name: &str,
        args: usize,
        judge: &mut dyn Judge,
    ) -> Result<Permit, Bytes> {
        let params: Vec<String> = (1..=args).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT {name}({})", params.join(", "));
        let ctx = StatementContext {
            in_transaction: self.tx != b'I',
            prepared_name: None,
        };
        match judge.judge(&sql, &ctx) {
            Judgment::Allowed(p) => Ok(p),
            Judgment::Denied(d) => Err(denial_bytes(&d)),
        }
    }

    /// Parks `msg` until a server connection is attached.
    fn need_server(&mut self, msg: FrontendMessage, judged: Option<Judged>, route: Route) -> Step {
        // Inside a transaction every statement goes where the transaction is.
        let route = if self.tx == b'I' {
            route
        } else {
            Route::Primary
        };
        self.parked = Some(Parked { msg, judged });
        Step::NeedServer(route)
    }

    fn dispatch(
        &mut self,
        msg: FrontendMessage,
        judged: Option<Judged>,
        judge: &mut dyn Judge,
    ) -> articdbm_pgwire::Result<Step> {
        match (&msg, judged) {
            (FrontendMessage::Query(_), Some(Judged::Query(plan))) => self.on_query(msg, plan),
            (FrontendMessage::Parse(_), Some(Judged::Parse(j))) => self.on_parse(msg, j),
            (FrontendMessage::FunctionCall(_), Some(Judged::Function(j))) => {
                self.on_function_call(msg, j)
            }
            (FrontendMessage::Bind(_), None) => self.on_bind(msg),
            (FrontendMessage::Describe(_), None) => self.on_describe(msg),
            (FrontendMessage::Execute(_), None) => self.on_execute(msg, judge),
            (FrontendMessage::Close(_), None) => self.on_close(msg),
            (FrontendMessage::Sync(_), None) => {
                self.skip_until_sync = false;
                self.batch_sent = false;
                if self.server.is_some() {
                    self.send_control(Control::Sync);
                    self.push(Expect::Sync { swallow: false });
                } else {
                    self.push(Expect::LocalReady);
                }
                Ok(Step::Continue)
            }
            (FrontendMessage::Flush(_), None) => {
                if self.server.is_some() {
                    self.send_control(Control::Flush);
                }
                Ok(Step::Continue)
            }
            (
                FrontendMessage::CopyData(_)
                | FrontendMessage::CopyDone(_)
                | FrontendMessage::CopyFail(_),
                None,
            ) => {
                // COPY data belongs to the statement in flight and is sent under its permit.
                // Outside a COPY, PostgreSQL ignores these messages: so does the gateway.
                if self.server.is_some()
                    && let Some(p) = self.copy_permit.clone()
                {
                    self.send(&p, msg.frame());
                }
                Ok(Step::Continue)
            }
            (FrontendMessage::Terminate(_), None) => Ok(Step::End(End::Terminate)),
            (FrontendMessage::AuthResponse(_), _) => {
                Err(articdbm_pgwire::ProtocolError::WrongMessageType {
                    expected: "a query or extended-protocol message (authentication is over)",
                    tag: b'p',
                })
            }
            // Every message kind above has its judgment; anything else is refused.
            (_, _) => Err(articdbm_pgwire::ProtocolError::WrongMessageType {
                expected: "a message the gateway can judge",
                tag: msg.tag(),
            }),
        }
    }

    // ---- simple query ---------------------------------------------------------------------

    fn plan_query(&mut self, sql: &str, judge: &mut dyn Judge) -> QueryPlan {
        let ctx = StatementContext {
            in_transaction: self.tx != b'I',
            prepared_name: None,
        };
        // One statement with or without its `;` (what drivers and psql send) needs no split.
        let body = sql.trim_end();
        let body = body.strip_suffix(';').unwrap_or(body);
        let pieces: Vec<(usize, usize)> = if body.contains(';') {
            split(sql)
                .into_iter()
                .filter(|p| !is_blank(&sql[p.start..p.end]))
                .map(|p| (p.start, p.end))
                .collect()
        } else if is_blank(sql) {
            Vec::new()
        } else {
            vec![(0, sql.len())]
        };
        judge.count_queries(pieces.len().max(1) as u64);
        let transaction_mode = self.settings.mode == PoolMode::Transaction;

        // Session-level commands the gateway answers or refuses itself.
        let mut effect = Effect::None;
        for &(start, end) in &pieces {
            let Some(cmd) = session_command(&sql[start..end]) else {
                continue;
            };
            let alone = pieces.len() == 1;
            match (cmd, transaction_mode) {
                (SessionCommand::DeallocateAll, true) | (SessionCommand::DiscardAll, true)
                    if !alone =>
                {
                    return self.refusal(
                        start,
                        None,
                        error_bytes(
                            "0A000",
                            "DEALLOCATE ALL and DISCARD ALL must be sent as a query of their own through the gateway",
                        ),
                    );
                }
                (SessionCommand::DeallocateAll, true) => {
                    return self.local_command("DEALLOCATE ALL", None);
                }
                (SessionCommand::DiscardAll, true) => {
                    if self.tx != b'I' {
                        return self.refusal(
                            start,
                            None,
                            error_bytes(
                                "25001",
                                "DISCARD ALL cannot run inside a transaction block",
                            ),
                        );
                    }
                    return self.local_command("DISCARD ALL", None);
                }
                (SessionCommand::Deallocate(name), _) if self.stmts.contains_key(&name) => {
                    if !alone {
                        return self.refusal(
                            start,
                            None,
                            error_bytes(
                                "0A000",
                                "DEALLOCATE of a protocol-level prepared statement must be sent as a query of its own through the gateway",
                            ),
                        );
                    }
                    return self.local_command("DEALLOCATE", Some(name));
                }
                (SessionCommand::Deallocate(name), true) => {
                    return self.refusal(start, None, no_statement(&name));
                }
                (SessionCommand::Prepare(_) | SessionCommand::Execute(_), true) => {
                    return self.refusal(
                        start,
                        None,
                        error_bytes(
                            "0A000",
                            "SQL-level PREPARE and EXECUTE are not supported under transaction pooling: \
                             use your driver's protocol-level prepared statements, or a database in \
                             session pooling mode",
                        ),
                    );
                }
                (SessionCommand::Listen, true) => {
                    return self.refusal(
                        start,
                        None,
                        error_bytes(
                            "0A000",
                            format!("LISTEN is not supported under transaction pooling: {TRANSACTION_POOLING_ADVICE}"),
                        ),
                    );
                }
                (SessionCommand::DeclareWithHold, true) => {
                    return self.refusal(
                        start,
                        None,
                        error_bytes(
                            "0A000",
                            format!(
                                "cursors WITH HOLD are not supported under transaction pooling: {TRANSACTION_POOLING_ADVICE}"
                            ),
                        ),
                    );
                }
                (
                    SessionCommand::Prepare(name)
                    | SessionCommand::Execute(name)
                    | SessionCommand::Deallocate(name),
                    false,
                ) if name.starts_with("articdbm_") => {
                    return self.refusal(
                        start,
                        None,
                        error_bytes(
                            "42501",
                            format!("prepared statement names starting with \"articdbm_\" are reserved by the gateway (\"{name}\")"),
                        ),
                    );
                }
                (SessionCommand::DeallocateAll | SessionCommand::DiscardAll, false) => {
                    effect = Effect::ForgetStatements { server: true };
                }
                _ => {}
            }
        }

        // The whole string first when it holds several statements: stacking itself is
        // evidence (`...; DROP TABLE`), and a plugin sees every statement together. Then each
        // statement, to refuse exactly the one a rule objects to.
        if pieces.len() > 1
            && let Judgment::Denied(d) = judge.judge(sql, &ctx)
        {
            return self.refusal(0, None, denial_bytes(&d));
        }
        if pieces.len() <= 1 {
            return match judge.judge(sql, &ctx) {
                Judgment::Allowed(permit) => QueryPlan::Forward { permit, effect },
                Judgment::Denied(d) => self.refusal(0, None, denial_bytes(&d)),
            };
        }
        let mut permit: Option<Permit> = None;
        for &(start, end) in &pieces {
            match judge.judge(&sql[start..end], &ctx) {
                Judgment::Allowed(p) => {
                    permit = Some(match &permit {
                        Some(q) => q.join(&p),
                        None => p,
                    });
                }
                Judgment::Denied(d) => return self.refusal(start, permit, denial_bytes(&d)),
            }
        }
        match permit {
            Some(permit) => QueryPlan::Forward { permit, effect },
            // Unreachable with at least two pieces; refuse rather than allow.
            None => self.refusal(0, None, error_bytes("42501", "statement not judged")),
        }
    }

    fn refusal(&self, at: usize, prefix: Option<Permit>, err: Bytes) -> QueryPlan {
        QueryPlan::Refuse {
            at,
            prefix: if at == 0 { None } else { prefix },
            err,
        }
    }

    /// DEALLOCATE / DISCARD answered by the gateway for the client's own statements.
    /// `forget`: the one statement DEALLOCATE names (else all of them).
    fn local_command(&self, tag: &str, forget: Option<String>) -> QueryPlan {
        if self.tx == b'E' {
            return QueryPlan::Local {
                answer: error_bytes(
                    "25P02",
                    "current transaction is aborted, commands ignored until end of transaction block",
                ),
                effect: Effect::None,
                forget: None,
            };
        }
        let mut b = BytesMut::new();
        let _ = be::command_complete(&mut b, tag);
        QueryPlan::Local {
            answer: b.freeze(),
            effect: if forget.is_none() {
                Effect::ForgetStatements { server: false }
            } else {
                Effect::None
            },
            forget,
        }
    }

    fn on_query(&mut self, msg: FrontendMessage, plan: QueryPlan) -> articdbm_pgwire::Result<Step> {
        let FrontendMessage::Query(q) = &msg else {
            return Ok(Step::Continue);
        };
        match plan {
            QueryPlan::Local {
                answer,
                effect,
                forget,
            } => {
                // Forgotten now: nothing the client queued before it can create the name
                // (its Parse would have failed with 42P05).
                if let Some(name) = forget {
                    self.stmts.remove(&name);
                }
                self.push(Expect::LocalQuery { answer, effect });
                Ok(Step::Continue)
            }
            QueryPlan::Forward { permit, effect } => {
                if self.server.is_none() {
                    let route = permit.route();
                    return Ok(self.need_server(
                        msg,
                        Some(Judged::Query(QueryPlan::Forward { permit, effect })),
                        route,
                    ));
                }
                self.send(&permit, q.frame());
                self.batch_seq += 1;
                // A simple query replaces the unnamed statement and portal.
                self.forget_unnamed();
                self.copy_permit = Some(permit);
                self.push(Expect::Query { deny: None, effect });
                Ok(Step::Continue)
            }
            QueryPlan::Refuse { at, prefix, err } => {
                let sql = q.sql()?;
                if prefix.is_none() && self.tx == b'I' && self.expect.is_empty() {
                    // Nothing runs, no transaction to abort: answer here.
                    self.push(Expect::Synth(err));
                    self.push(Expect::LocalReady);
                    return Ok(Step::Continue);
                }
                if self.server.is_none() {
                    return Ok(self.need_server(
                        msg,
                        Some(Judged::Query(QueryPlan::Refuse { at, prefix, err })),
                        Route::Primary,
                    ));
                }
                let text = &sql[..at];
                match &prefix {
                    Some(p) => {
                        let p = p.clone();
                        let mut b = BytesMut::new();
                        fe::query(
                            &mut b,
                            &format!("{text}SELECT {}()", self.settings.deny_marker),
                        )?;
                        self.send(&p, &b);
                    }
                    None => self.send_control(Control::MarkerQuery("")),
                }
                self.forget_unnamed();
                self.push(Expect::Query {
                    deny: Some(err),
                    effect: Effect::None,
                });
                Ok(Step::Continue)
            }
        }
    }

    fn forget_unnamed(&mut self) {
        self.stmts.remove("");
        self.portals.remove("");
        if let Some(a) = &mut self.server {
            a.unnamed = None;
        }
    }

    /// Refuses a simple-query-like message (Query, FunctionCall): the error, then
    /// ReadyForQuery, failing the transaction on the server when one is open.
    fn refuse_simple(&mut self, err: Bytes) {
        if self.tx == b'I' && self.expect.is_empty() || self.server.is_none() {
            self.push(Expect::Synth(err));
            self.push(Expect::LocalReady);
            return;
        }
        self.send_control(Control::MarkerQuery(""));
        self.push(Expect::Query {
            deny: Some(err),
            effect: Effect::None,
        });
    }

    fn on_function_call(
        &mut self,
        msg: FrontendMessage,
        j: Result<Permit, Bytes>,
    ) -> articdbm_pgwire::Result<Step> {
        match j {
            Err(err) => {
                self.refuse_simple(err);
                Ok(Step::Continue)
            }
            Ok(permit) => {
                if self.server.is_none() {
                    return Ok(self.need_server(
                        msg,
                        Some(Judged::Function(Ok(permit))),
                        Route::Primary,
                    ));
                }
                self.send(&permit, msg.frame());
                self.batch_seq += 1;
                self.push(Expect::Query {
                    deny: None,
                    effect: Effect::None,
                });
                Ok(Step::Continue)
            }
        }
    }

    // ---- extended protocol ----------------------------------------------------------------

    /// Refuses an extended-protocol message with `err`: the batch is skipped to Sync, and
    /// when the server has work of this batch (or a transaction), it fails it too.
    fn refuse_extended(&mut self, err: Bytes) -> Step {
        // Without a server connection there is no server work to fail (session pooling
        // always holds one; transaction pooling holds one inside a transaction).
        let local = self.server.is_none()
            || (self.expect.is_empty() && !self.batch_sent && self.tx == b'I');
        if local {
            self.push(Expect::Synth(err));
        } else {
            self.send_control(Control::MarkerParse);
            self.batch_sent = true;
            self.push(Expect::Marker { err });
        }
        self.skip_until_sync = true;
        Step::Continue
    }

    fn on_parse(
        &mut self,
        msg: FrontendMessage,
        j: Result<Permit, Bytes>,
    ) -> articdbm_pgwire::Result<Step> {
        let permit = match j {
            Ok(p) => p,
            Err(err) => return Ok(self.refuse_extended(err)),
        };
        if self.server.is_none() {
            let route = permit.route();
            return Ok(self.need_server(msg, Some(Judged::Parse(Ok(permit))), route));
        }
        let FrontendMessage::Parse(p) = &msg else {
            return Ok(Step::Continue);
        };
        let name = p.statement_name()?.to_string();
        let rest = Bytes::copy_from_slice(&p.body()[name.len() + 1..]);
        self.batch_sent = true;
        if name.is_empty() {
            let stmt = Arc::new(Stmt {
                rest,
                id: 0,
                server: String::new(),
                permit: permit.clone(),
            });
            // PostgreSQL drops the unnamed statement before parsing the new one.
            self.stmts.insert(
                String::new(),
                ClientStmt {
                    stmt: Arc::clone(&stmt),
                    ready: false,
                    batch: self.batch_seq,
                },
            );
            self.send(&permit, p.frame());
            if let Some(a) = &mut self.server {
                a.unnamed = Some(Arc::clone(&stmt));
            }
            self.push(Expect::Parse {
                target: ParseTarget::Unnamed(stmt),
                swallow: false,
            });
            return Ok(Step::Continue);
        }
        let id = self.ids.id(&rest);
        let stmt = Arc::new(Stmt {
            rest,
            id,
            server: server_name(id),
            permit,
        });
        self.stmts.insert(
            name.clone(),
            ClientStmt {
                stmt: Arc::clone(&stmt),
                ready: false,
                batch: self.batch_seq,
            },
        );
        self.prepare_on_server(&stmt, Some(name));
        Ok(Step::Continue)
    }

    /// Makes sure the held connection has `stmt` (named). `client`: the client's Parse of it
    /// (answered with ParseComplete); `None`: the gateway's own (answer swallowed).
    fn prepare_on_server(&mut self, stmt: &Arc<Stmt>, client: Option<String>) {
        let cap = self.settings.max_prepared;
        let Some(a) = self.server.as_mut() else {
            return;
        };
        if a.prepared.contains(stmt.id) {
            if let Some(name) = client {
                self.push(Expect::ParseLocal { name });
            }
            return;
        }
        let evict = a.prepared.evict_for_one(cap);
        a.prepared.insert(stmt.id);
        for old in evict {
            // In stream order: a later use of the evicted statement prepares it again.
            self.send_control(Control::CloseStatement(old));
            self.push(Expect::Close { swallow: true });
        }
        self.send_parse(stmt, &stmt.server);
        let (target, swallow) = match client {
            Some(name) => (ParseTarget::Named { name, id: stmt.id }, false),
            None => (ParseTarget::Again { id: stmt.id }, true),
        };
        self.push(Expect::Parse { target, swallow });
    }

    /// The client statement `name`, re-prepared on the held connection if needed. `None`
    /// when the client has no such statement.
    fn statement_on_server(&mut self, name: &str) -> Option<Arc<Stmt>> {
        let stmt = Arc::clone(&self.stmts.get(name)?.stmt);
        if name.is_empty() {
            let here = self
                .server
                .as_ref()
                .and_then(|a| a.unnamed.as_ref())
                .is_some_and(|u| Arc::ptr_eq(u, &stmt));
            if !here {
                // This connection's unnamed statement is not the client's (another client's,
                // or none): parse the client's there first. It was judged at its Parse.
                self.send_parse(&stmt, "");
                if let Some(a) = &mut self.server {
                    a.unnamed = Some(Arc::clone(&stmt));
                }
                self.push(Expect::Parse {
                    target: ParseTarget::Again { id: 0 },
                    swallow: true,
                });
            }
        } else {
            self.prepare_on_server(&stmt, None);
        }
        Some(stmt)
    }

    /// The client statement `name` that a Bind or Describe (`msg`) uses, ready on the held
    /// connection; `Err`: what to do instead (wait for its Parse, refuse the name, lease a
    /// connection first).
    fn use_statement(
        &mut self,
        msg: FrontendMessage,
        name: &str,
    ) -> Result<(FrontendMessage, Arc<Stmt>), Step> {
        if self.pending_in_earlier_batch(&msg) {
            self.parked = Some(Parked { msg, judged: None });
            return Err(Step::Wait);
        }
        let Some(route) = self.stmts.get(name).map(|s| s.stmt.permit.route()) else {
            return Err(self.refuse_extended(no_statement(name)));
        };
        if self.server.is_none() {
            return Err(self.need_server(msg, None, route));
        }
        self.batch_sent = true;
        match self.statement_on_server(name) {
            Some(stmt) => Ok((msg, stmt)),
            None => Err(Step::Continue),
        }
    }

    fn on_bind(&mut self, msg: FrontendMessage) -> articdbm_pgwire::Result<Step> {
        let FrontendMessage::Bind(b) = &msg else {
            return Ok(Step::Continue);
        };
        let portal = b.portal()?.to_string();
        let name = b.statement()?.to_string();
        let (msg, stmt) = match self.use_statement(msg, &name) {
            Ok(found) => found,
            Err(step) => return Ok(step),
        };
        let FrontendMessage::Bind(b) = &msg else {
            return Ok(Step::Continue);
        };
        let permit = stmt.permit.clone();
        if name.is_empty() {
            self.send(&permit, b.frame());
        } else {
            let server = &stmt.server;
            let rest = &b.body()[portal.len() + 1 + name.len() + 1..];
            let len = 4 + portal.len() + 1 + server.len() + 1 + rest.len();
            self.send_with(&permit, |out| {
                out.put_u8(b'B');
                out.put_u32(len as u32);
                out.put_slice(portal.as_bytes());
                out.put_u8(0);
                out.put_slice(server.as_bytes());
                out.put_u8(0);
                out.put_slice(rest);
            });
        }
        self.portals.insert(portal.clone(), permit);
        self.push(Expect::Bind {
            portal,
            id: (!name.is_empty()).then_some(stmt.id),
            name,
        });
        Ok(Step::Continue)
    }

    fn on_describe(&mut self, msg: FrontendMessage) -> articdbm_pgwire::Result<Step> {
        let FrontendMessage::Describe(d) = &msg else {
            return Ok(Step::Continue);
        };
        let (target, name) = d.target()?;
        let name = name.to_string();
        if target == Target::Portal {
            let Some(permit) = self.portals.get(&name).cloned() else {
                return Ok(self.refuse_extended(no_portal(&name)));
            };
            // A portal exists only on the held connection.
            self.batch_sent = true;
            self.send(&permit, d.frame());
            self.push(Expect::Describe {
                id: None,
                name: String::new(),
            });
            return Ok(Step::Continue);
        }
        let (msg, stmt) = match self.use_statement(msg, &name) {
            Ok(found) => found,
            Err(step) => return Ok(step),
        };
        let FrontendMessage::Describe(d) = &msg else {
            return Ok(Step::Continue);
        };
        let permit = stmt.permit.clone();
        if name.is_empty() {
            self.send(&permit, d.frame());
        } else {
            let mut f = BytesMut::new();
            fe::describe(&mut f, Target::Statement, &stmt.server)?;
            self.send(&permit, &f);
        }
        self.push(Expect::Describe {
            id: (!name.is_empty()).then_some(stmt.id),
            name,
        });
        Ok(Step::Continue)
    }

    fn on_execute(
        &mut self,
        msg: FrontendMessage,
        judge: &mut dyn Judge,
    ) -> articdbm_pgwire::Result<Step> {
        let FrontendMessage::Execute(e) = &msg else {
            return Ok(Step::Continue);
        };
        let portal = e.portal()?.to_string();
        let Some(permit) = self.portals.get(&portal).cloned() else {
            return Ok(self.refuse_extended(no_portal(&portal)));
        };
        // Usage counts executions; the statement was judged at its Parse.
        judge.count_queries(1);
        self.batch_sent = true;
        self.send(&permit, e.frame());
        self.copy_permit = Some(permit);
        self.push(Expect::Execute);
        Ok(Step::Continue)
    }

    fn on_close(&mut self, msg: FrontendMessage) -> articdbm_pgwire::Result<Step> {
        let FrontendMessage::Close(c) = &msg else {
            return Ok(Step::Continue);
        };
        let (target, name) = c.target()?;
        let name = name.to_string();
        if target == Target::Statement {
            // Server-side statements are shared and stay; the client's name goes when this
            // answer is reached (PostgreSQL closes in order, and skips it after an error).
            self.push(Expect::CloseLocal {
                statement: Some(name),
            });
            return Ok(Step::Continue);
        }
        match self.portals.get(&name).cloned() {
            Some(permit) if self.server.is_some() => {
                self.batch_sent = true;
                self.send(&permit, c.frame());
                self.portals.remove(&name);
                self.push(Expect::Close { swallow: false });
            }
            // Closing a portal that does not exist is not an error.
            _ => self.push(Expect::CloseLocal { statement: None }),
        }
        Ok(Step::Continue)
    }

    // ---- server messages --------------------------------------------------------------------

    /// Handles one server message. `Err`: the connection is unusable (the driver releases
    /// it broken and calls [`PgCore::server_lost`]).
    pub fn on_server(&mut self, msg: BackendMessage) -> Result<(), Lost> {
        let tag = msg.tag();
        let mut pass = true;
        match tag {
            b'D' | b'd' | b'c' | b'G' | b'H' | b'W' | b'N' | b'V' | b't' => {}
            b'A' => {
                // Under transaction pooling nobody may LISTEN (refused): a notification is
                // for a listener that is gone, not for whoever holds the connection now.
                pass = self.settings.mode == PoolMode::Session;
            }
            b'S' => {
                if let Ok((k, v)) = msg.parameter_status() {
                    if k == "standard_conforming_strings" && v != "on" {
                        // The policy lexes string literals as standard strings; with them off
                        // a backslash would mean something else to the server than to the
                        // guard. This connection is closed and the session ends.
                        if let Some(a) = &mut self.server {
                            a.broken = true;
                        }
                        self.fatal = Some(
                            fatal(
                                "0A000",
                                "standard_conforming_strings = off is not supported through the gateway \
                                 (statements are judged with standard strings); the session is closed",
                            )
                            .freeze(),
                        );
                    }
                    if let Some(a) = &mut self.server {
                        a.params.push((k.to_string(), v.to_string()));
                    }
                }
            }
            b'T' | b'n' => {
                if matches!(self.expect.front(), Some(Expect::Describe { .. })) {
                    self.expect.pop_front();
                }
            }
            b'1' => match self.expect.pop_front() {
                Some(Expect::Parse { target, swallow }) => {
                    pass = !swallow;
                    self.confirm_parse(target);
                }
                other => return self.desync(tag, other),
            },
            b'2' => match self.expect.pop_front() {
                Some(Expect::Bind { .. }) => {}
                other => return self.desync(tag, other),
            },
            b'3' => match self.expect.pop_front() {
                Some(Expect::Close { swallow }) => pass = !swallow,
                other => return self.desync(tag, other),
            },
            b'C' | b'I' | b's' => match self.expect.front() {
                Some(Expect::Execute) => {
                    self.expect.pop_front();
                }
                Some(Expect::Query { effect, .. }) if tag == b'C' => {
                    if *effect != Effect::None
                        && let Ok(t) = msg.command_complete()
                        && (t == "DEALLOCATE ALL" || t == "DISCARD ALL")
                    {
                        self.apply(*effect);
                    }
                }
                _ => {}
            },
            b'E' => {
                if self.expect.is_empty() {
                    // Unasked: the server is ending this connection (admin command,
                    // postmaster death, idle timeout).
                    let why = msg
                        .error_fields()
                        .ok()
                        .and_then(|f| f.message().map(|m| m.into_owned()))
                        .unwrap_or_else(|| "the server ended the connection".into());
                    if let Some(a) = &mut self.server {
                        a.broken = true;
                    }
                    return Err(Lost(why));
                }
                let fields = msg.error_fields().ok();
                let severity = fields.as_ref().and_then(|f| f.severity());
                if matches!(severity.as_deref(), Some("FATAL" | "PANIC"))
                    && let Some(a) = &mut self.server
                {
                    a.broken = true;
                }
                let code = fields.as_ref().and_then(|f| f.code()).unwrap_or_default();
                let marker = msg
                    .body()
                    .windows(self.settings.deny_marker.len())
                    .any(|w| w == self.settings.deny_marker.as_bytes());
                match self.expect.front_mut() {
                    Some(Expect::Query { deny, .. }) => {
                        if marker && let Some(d) = deny.take() {
                            self.cout.extend_from_slice(&d);
                            pass = false;
                        }
                    }
                    Some(Expect::Marker { err }) => {
                        let err = err.clone();
                        self.expect.pop_front();
                        self.cout.extend_from_slice(&err);
                        pass = false;
                        self.skip_to_sync();
                    }
                    Some(Expect::Sync { .. }) | None => {}
                    Some(e) => {
                        // The server names the statement by its server-side name: the client
                        // is shown its own.
                        if let Expect::Bind {
                            id: Some(id), name, ..
                        }
                        | Expect::Describe { id: Some(id), name } = e
                            && let Some(renamed) = rename_statement(&msg, *id, name)
                        {
                            self.cout.extend_from_slice(&renamed);
                            pass = false;
                        }
                        if let Some(e) = self.expect.pop_front() {
                            self.failed(e, &code);
                        }
                        self.skip_to_sync();
                    }
                }
            }
            b'Z' => {
                let s = msg.ready_for_query().map_err(|e| Lost(e.to_string()))?;
                self.tx = s.as_byte();
                loop {
                    match self.expect.pop_front() {
                        Some(Expect::Sync { swallow }) => {
                            pass = !swallow;
                            break;
                        }
                        Some(Expect::Query { .. }) => break,
                        Some(e) => self.failed(e, ""),
                        None => {
                            if let Some(a) = &mut self.server {
                                a.broken = true;
                            }
                            return Err(Lost("unexpected ReadyForQuery from the server".into()));
                        }
                    }
                }
                self.copy_permit = None;
                if self.tx == b'I' {
                    // Portals end with their transaction.
                    self.portals.clear();
                }
            }
            _ => return self.desync(tag, None),
        }
        if pass {
            self.cout.extend_from_slice(msg.frame());
        }
        self.emit_local();
        Ok(())
    }

    fn desync(&mut self, tag: u8, _got: Option<Expect>) -> Result<(), Lost> {
        if let Some(a) = &mut self.server {
            a.broken = true;
        }
        Err(Lost(format!(
            "unexpected message '{}' from the server",
            tag as char
        )))
    }

    fn confirm_parse(&mut self, target: ParseTarget) {
        match target {
            ParseTarget::Named { name, id } => {
                if let Some(s) = self.stmts.get_mut(&name)
                    && s.stmt.id == id
                {
                    s.ready = true;
                }
            }
            ParseTarget::Unnamed(stmt) => {
                if let Some(s) = self.stmts.get_mut("")
                    && Arc::ptr_eq(&s.stmt, &stmt)
                {
                    s.ready = true;
                }
            }
            ParseTarget::Again { .. } => {}
        }
    }

    /// Entry `e` failed, or was skipped by the server after an error: undo what it assumed.
    fn failed(&mut self, e: Expect, code: &str) {
        match e {
            Expect::Parse { target, .. } => match target {
                ParseTarget::Named { name, id } => {
                    if self
                        .stmts
                        .get(&name)
                        .is_some_and(|s| s.stmt.id == id && !s.ready)
                    {
                        self.stmts.remove(&name);
                    }
                    if let Some(a) = &mut self.server {
                        a.prepared.remove(id);
                    }
                }
                ParseTarget::Unnamed(stmt) => {
                    if self
                        .stmts
                        .get("")
                        .is_some_and(|s| Arc::ptr_eq(&s.stmt, &stmt))
                    {
                        self.stmts.remove("");
                    }
                    if let Some(a) = &mut self.server {
                        a.unnamed = None;
                    }
                }
                ParseTarget::Again { id } => {
                    if let Some(a) = &mut self.server {
                        if id == 0 {
                            a.unnamed = None;
                        } else {
                            a.prepared.remove(id);
                        }
                    }
                }
            },
            Expect::Bind { portal, id, .. } => {
                self.portals.remove(&portal);
                // The connection lost the statement (a DEALLOCATE the gateway did not see):
                // forget it so that the next use prepares it again.
                if code == "26000"
                    && let (Some(id), Some(a)) = (id, &mut self.server)
                {
                    a.prepared.remove(id);
                }
            }
            // The gateway's own ParseComplete, skipped with the batch: as if the server had
            // skipped the Parse, the name stays free.
            Expect::ParseLocal { name } if self.stmts.get(&name).is_some_and(|s| !s.ready) => {
                self.stmts.remove(&name);
            }
            Expect::Describe { id: Some(id), .. } if code == "26000" => {
                if let Some(a) = &mut self.server {
                    a.prepared.remove(id);
                }
            }
            _ => {}
        }
    }

    /// After an extended-protocol error the server skips to the next Sync: so do the entries.
    fn skip_to_sync(&mut self) {
        while let Some(e) = self.expect.front() {
            if matches!(
                e,
                Expect::Sync { .. } | Expect::Query { .. } | Expect::LocalQuery { .. }
            ) {
                break;
            }
            if let Some(e) = self.expect.pop_front() {
                self.failed(e, "");
            }
        }
    }

    fn apply(&mut self, effect: Effect) {
        if let Effect::ForgetStatements { server } = effect {
            self.stmts.retain(|name, _| name.is_empty());
            if server && let Some(a) = &mut self.server {
                a.prepared.clear();
            }
        }
    }

    fn push(&mut self, e: Expect) {
        self.expect.push_back(e);
        if self.expect.len() == 1 {
            self.emit_local();
        }
    }

    /// Emits the gateway's own answers that have reached the front.
    fn emit_local(&mut self) {
        loop {
            match self.expect.front() {
                Some(
                    Expect::Synth(_)
                    | Expect::ParseLocal { .. }
                    | Expect::CloseLocal { .. }
                    | Expect::LocalQuery { .. }
                    | Expect::LocalReady,
                ) => {}
                _ => return,
            }
            match self.expect.pop_front() {
                Some(Expect::Synth(b)) => self.cout.extend_from_slice(&b),
                Some(Expect::ParseLocal { name }) => {
                    if let Some(s) = self.stmts.get_mut(&name) {
                        s.ready = true;
                    }
                    be::parse_complete(&mut self.cout);
                }
                Some(Expect::CloseLocal { statement }) => {
                    if let Some(name) = statement {
                        self.stmts.remove(&name);
                        if name.is_empty()
                            && let Some(a) = &mut self.server
                        {
                            a.unnamed = None;
                        }
                    }
                    be::close_complete(&mut self.cout);
                }
                Some(Expect::LocalQuery { answer, effect }) => {
                    self.cout.extend_from_slice(&answer);
                    self.apply(effect);
                    be::ready_for_query(&mut self.cout, status(self.tx));
                }
                Some(Expect::LocalReady) => {
                    be::ready_for_query(&mut self.cout, status(self.tx));
                }
                _ => return,
            }
        }
    }

    // ---- the server connection failing ------------------------------------------------------

    /// The server connection failed under this client (already released by the driver).
    /// `Some`: the session ends.
    pub fn server_lost(&mut self, why: &str) -> Option<End> {
        self.server = None;
        self.portals.clear();
        self.copy_permit = None;
        self.sout.clear();
        let in_flight = !self.expect.is_empty() || self.batch_sent || self.parked.is_some();
        for name in self
            .stmts
            .iter()
            .filter(|(_, s)| !s.ready)
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>()
        {
            self.stmts.remove(&name);
        }
        if self.settings.mode == PoolMode::Session {
            self.cout
                .extend_from_slice(&fatal("08006", format!("server connection lost: {why}")));
            return Some(End::Fatal);
        }
        let err = error_bytes(
            "08006",
            format!("server connection lost: {why}; the transaction (if any) was rolled back"),
        );
        self.tx = b'I';
        if !in_flight {
            self.pending_error = Some(err);
            return None;
        }
        // Everything in flight fails, in order: gateway answers before the first server
        // answer still go out, then the error and one ReadyForQuery per Sync or query.
        self.emit_local();
        self.cout.extend_from_slice(&err);
        let mut readies = 0;
        for e in self.expect.drain(..) {
            if matches!(
                e,
                Expect::Sync { swallow: false }
                    | Expect::Query { .. }
                    | Expect::LocalQuery { .. }
                    | Expect::LocalReady
            ) {
                readies += 1;
            }
        }
        for _ in 0..readies {
            be::ready_for_query(&mut self.cout, TransactionStatus::Idle);
        }
        // A message parked for a Parse's answer is resumed by the driver: the statement is
        // gone now, so it gets 26000.
        if self.batch_sent {
            self.skip_until_sync = true;
            self.batch_sent = false;
        }
        None
    }
}

/// An ErrorResponse naming server statement `id`, with the client's name `name` in its
/// place (`None`: it does not name it).
fn rename_statement(msg: &BackendMessage, id: u64, name: &str) -> Option<BytesMut> {
    let server = format!("\"{}\"", server_name(id));
    let fields = msg.error_fields().ok()?;
    if !fields
        .iter()
        .any(|(_, v)| v.windows(server.len()).any(|w| w == server.as_bytes()))
    {
        return None;
    }
    let client = format!("\"{name}\"");
    let mut body = Vec::with_capacity(msg.body().len() + name.len());
    for (code, value) in fields.iter() {
        body.push(code);
        let text = String::from_utf8_lossy(value).replace(&server, &client);
        body.extend_from_slice(text.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = BytesMut::with_capacity(body.len() + 5);
    out.put_u8(b'E');
    out.put_u32((body.len() + 4) as u32);
    out.put_slice(&body);
    Some(out)
}

/// Protocol messages the gateway writes itself.
enum Control<'a> {
    Sync,
    Flush,
    CloseStatement(u64),
    MarkerParse,
    MarkerQuery(&'a str),
}

#[cfg(test)]
mod tests;
