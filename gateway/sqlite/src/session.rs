//! One served connection: the protocol state machine over one SQLite connection.
//!
//! Synchronous by design — it runs on the connection's own thread (see [`super::serve`]) and
//! never touches a socket: it takes decoded frontend messages and appends backend messages to
//! an [`Output`], which hands full buffers to the writer task.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use articdbm_pgwire::backend::encode::{self as enc, Column, PgError, Severity};
use articdbm_pgwire::frontend::{Bind, Close, Describe, Execute, Parse, Target};
use articdbm_pgwire::{FrontendMessage, ProtocolError, StartupMessage, TransactionStatus};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};

use super::errors::from_sqlite;
use super::infer::{self, Resolver};
use super::settings::Settings;
use super::sql::{self, Command, Discard, ParamHint, SqlCommand, TableRef, Verb};
use super::types::{PgType, decode_param, encode_value};
use super::{PgResult, SqliteDb, fail, functions};

/// Output is handed to the writer once this much is buffered, even mid-result.
const FLUSH_AT: usize = 64 * 1024;

/// Where backend messages go: a buffer, handed in chunks to the connection's writer task.
pub(crate) struct Output {
    pub buf: BytesMut,
    sink: Option<tokio::sync::mpsc::Sender<Bytes>>,
    /// The writer is gone (client disconnected): stop producing.
    pub closed: bool,
}

impl Output {
    /// An output that sends its chunks to `sink` (blocking when the writer is behind).
    pub fn new(sink: tokio::sync::mpsc::Sender<Bytes>) -> Self {
        Self {
            buf: BytesMut::with_capacity(8192),
            sink: Some(sink),
            closed: false,
        }
    }

    /// An output that only accumulates (tests).
    #[cfg(test)]
    pub fn buffer() -> Self {
        Self {
            buf: BytesMut::new(),
            sink: None,
            closed: false,
        }
    }

    /// Hand everything buffered to the writer.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if let Some(sink) = &self.sink {
            let chunk = self.buf.split().freeze();
            if sink.blocking_send(chunk).is_err() {
                self.closed = true;
            }
        }
    }

    fn maybe_flush(&mut self) {
        if self.sink.is_some() && self.buf.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn error(&mut self, e: &PgError) {
        enc::error_response(&mut self.buf, e);
    }

    fn complete(&mut self, tag: &str) {
        // Tags are ours and never contain NUL.
        let _ = enc::command_complete(&mut self.buf, tag);
    }

    fn parameter_status(&mut self, name: &str, value: &str) {
        // A value with a NUL cannot be reported; it is still set.
        let _ = enc::parameter_status(&mut self.buf, name, value);
    }
}

/// Whether the session continues after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tx {
    Idle,
    Block,
    Failed,
}

/// A result column as described to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Col {
    name: String,
    ty: PgType,
    /// Chosen from the declaration or the expression (not a guess): the simple protocol may
    /// replace unfixed types with the first row's value types.
    fixed: bool,
}

/// A prepared statement.
#[derive(Debug)]
struct Prepared {
    command: Command,
    /// `None`: unknown (described as text, bound as text).
    param_types: Vec<Option<PgType>>,
    columns: Vec<Col>,
}

#[derive(Debug)]
enum PortalState {
    Ready,
    /// Rows left after an Execute with a row limit, and the tag to send at the end.
    Suspended {
        rows: VecDeque<Vec<Value>>,
        sent: u64,
        tag: TagKind,
    },
    Done,
}

#[derive(Debug)]
struct Portal {
    statement: Arc<Prepared>,
    params: Vec<Value>,
    binary: Vec<bool>,
    state: PortalState,
}

/// How a finished statement's command tag is formed.
#[derive(Debug, Clone)]
enum TagKind {
    /// `SELECT n`, `INSERT 0 n`, ... with `n` = rows returned (or changed, when none returned).
    Counted {
        verb: Verb,
        changes: u64,
    },
    Fixed(String),
}

impl TagKind {
    fn render(&self, rows: u64) -> String {
        match self {
            Self::Fixed(t) => t.clone(),
            Self::Counted { verb, changes } => {
                let n = if rows > 0 { rows } else { *changes };
                match verb {
                    Verb::Select => format!("SELECT {rows}"),
                    Verb::Insert => format!("INSERT 0 {n}"),
                    Verb::Update => format!("UPDATE {n}"),
                    Verb::Delete => format!("DELETE {n}"),
                    Verb::Other(t) if t == "EXPLAIN" => t.clone(),
                    Verb::Other(_) => format!("SELECT {rows}"),
                }
            }
        }
    }
}

/// How an execution ended.
enum Outcome {
    Complete(String),
    Suspended {
        rows: VecDeque<Vec<Value>>,
        sent: u64,
        tag: TagKind,
    },
    Empty,
}

/// Rows go to the client in one of two ways.
enum Mode<'a> {
    /// Simple query: RowDescription first (from the first row where types are unfixed), text.
    Simple,
    /// Extended: described by Describe already; formats from Bind; optional row limit.
    Extended {
        columns: &'a [Col],
        binary: &'a [bool],
        limit: usize,
    },
}

/// Resolves column and parameter types against the live schema.
struct Schema<'a> {
    conn: &'a Connection,
    tables: &'a [TableRef],
    params: &'a [Option<PgType>],
    cache: RefCell<HashMap<String, Vec<(String, String)>>>,
}

impl<'a> Schema<'a> {
    fn new(conn: &'a Connection, tables: &'a [TableRef], params: &'a [Option<PgType>]) -> Self {
        Self {
            conn,
            tables,
            params,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// `(column name, declared type)` of a table or view; empty if unknown.
    fn table_columns(&self, table: &str) -> Vec<(String, String)> {
        if let Some(c) = self.cache.borrow().get(table) {
            return c.clone();
        }
        // Prepared, never stepped: reading the declarations this way starts no read
        // transaction, so a later write in the same transaction cannot fail on a stale
        // snapshot because of a lookup the client never asked for.
        let cols: Vec<(String, String)> = self
            .conn
            .prepare_cached(&format!("SELECT * FROM {}", sql::ident(table)))
            .map(|st| {
                st.columns()
                    .iter()
                    .map(|c| {
                        (
                            c.name().to_owned(),
                            c.decl_type().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.cache
            .borrow_mut()
            .insert(table.to_owned(), cols.clone());
        cols
    }

    fn column_in(&self, table: &str, name: &str) -> Option<PgType> {
        self.table_columns(table)
            .into_iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(name))
            .and_then(|(_, decl)| (!decl.is_empty()).then(|| PgType::from_decltype(&decl)))
    }

    fn hint(&self, h: &ParamHint) -> Option<PgType> {
        match h {
            ParamHint::Type(t) => Some(*t),
            ParamHint::Column { qualifier, name } => self.column(qualifier.as_deref(), name),
            ParamHint::ColumnAt { table, index } => self
                .table_columns(table)
                .get(*index)
                .and_then(|(_, decl)| (!decl.is_empty()).then(|| PgType::from_decltype(decl))),
        }
    }
}

impl Resolver for Schema<'_> {
    fn column(&self, qualifier: Option<&str>, name: &str) -> Option<PgType> {
        let candidates = self.tables.iter().filter(|t| match qualifier {
            Some(q) => t.name.eq_ignore_ascii_case(q) || t.alias.as_deref() == Some(q),
            None => true,
        });
        let mut any = false;
        for t in candidates {
            any = true;
            if let Some(ty) = self.column_in(&t.name, name) {
                return Some(ty);
            }
        }
        // INSERT INTO t ... RETURNING x, or a qualifier naming a table not seen in FROM.
        if !any && let Some(q) = qualifier {
            return self.column_in(q, name);
        }
        None
    }

    fn param(&self, n: u32) -> Option<PgType> {
        self.params
            .get(usize::try_from(n).ok()?.checked_sub(1)?)
            .copied()
            .flatten()
    }
}

/// Describe a SQLite statement's result columns: declared type first, then the type inferred
/// from the select-list expression, else text (unfixed).
fn describe_columns(
    stmt: &rusqlite::Statement<'_>,
    cmd: &SqlCommand,
    schema: &Schema<'_>,
) -> Vec<Col> {
    let n = stmt.column_count();
    let decl: Vec<(String, Option<String>)> = stmt
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.decl_type().map(str::to_owned)))
        .collect();
    let items: Vec<infer::Item> = cmd.items.iter().map(|t| infer::item(t, schema)).collect();
    // Map items to columns: one column each, except a star, which expands; items after the
    // star are aligned from the end.
    let star = items.iter().position(|i| i.star);
    let item_for = |col: usize| -> Option<&infer::Item> {
        match star {
            None if items.len() == n => items.get(col),
            None => None,
            Some(s) => {
                let after = items.len() - s - 1;
                if col < s {
                    items.get(col)
                } else if col >= n.saturating_sub(after) && n >= items.len() - 1 {
                    items.get(col + items.len() - n)
                } else {
                    None
                }
            }
        }
    };
    (0..n)
        .map(|i| {
            let (sqlite_name, decltype) = decl.get(i).cloned().unwrap_or_default();
            let item = item_for(i);
            let name = item
                .filter(|_| !cmd.values)
                .and_then(infer::Item::name)
                .map_or(sqlite_name, str::to_owned);
            let (ty, fixed) = match (decltype, item.and_then(|it| it.ty)) {
                (Some(d), _) => (PgType::from_decltype(&d), true),
                (None, Some(t)) => (t, true),
                (None, None) => (PgType::Text, false),
            };
            Col { name, ty, fixed }
        })
        .collect()
}

fn row_description(buf: &mut BytesMut, cols: &[Col], binary: &[bool]) {
    let columns: Vec<Column<'_>> = cols
        .iter()
        .map(|c| Column {
            name: &c.name,
            type_oid: c.ty.oid(),
            type_size: c.ty.size(),
        })
        .collect();
    let formats: Vec<i16> = binary.iter().map(|&b| i16::from(b)).collect();
    if let Err(e) = enc::row_description_with_formats(buf, &columns, &formats) {
        // Only a column name with a NUL byte can fail; say so rather than send a bad frame.
        enc::error_response(buf, &PgError::from_protocol(&e, Severity::Error));
    }
}

fn not_supported(what: &str) -> PgError {
    PgError::new(
        Severity::Error,
        "0A000",
        format!("{what} is not supported by the SQLite backend"),
    )
}

fn aborted() -> PgError {
    PgError::new(
        Severity::Error,
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

fn is_exit(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Commit | Command::Rollback | Command::RollbackTo(_)
    )
}

fn protocol(e: &ProtocolError) -> PgError {
    PgError::from_protocol(e, Severity::Error)
}

/// The state of one served connection.
pub(crate) struct Session {
    conn: Connection,
    settings: Arc<Mutex<Settings>>,
    statements: HashMap<String, Arc<Prepared>>,
    portals: HashMap<String, Portal>,
    /// Bumped whenever all portals are dropped, so an Execute does not put back a portal
    /// that its own statement (COMMIT, DISCARD ALL) closed.
    portal_generation: u64,
    tx: Tx,
    /// A SQLite transaction opened by us around a multi-statement simple query.
    implicit: bool,
    /// After an error in the extended protocol: ignore messages until Sync.
    skipping: bool,
    pub out: Output,
}

impl Session {
    /// Start a session: open the SQLite connection and answer the StartupMessage. On error
    /// the FATAL ErrorResponse is already in `out`.
    pub fn start(db: &SqliteDb, startup: &StartupMessage, mut out: Output) -> Result<Self, Output> {
        let fatal = |out: &mut Output, e: PgError| {
            let mut e = e;
            e.severity = Severity::Fatal;
            out.error(&e);
        };
        if startup.needs_negotiation() {
            let unrecognized: Vec<&str> = startup.protocol_options().map(|(k, _)| k).collect();
            let _ = enc::negotiate_protocol_version(&mut out.buf, 0, &unrecognized);
        }
        let settings = match Settings::from_startup(startup) {
            Ok(s) => s,
            Err(e) => {
                fatal(&mut out, *e);
                return Err(out);
            }
        };
        let pid = db.next_pid();
        let settings = Arc::new(Mutex::new(settings));
        let conn = match db
            .connect()
            .and_then(|c| functions::register(&c, settings.clone(), pid).map(|()| c))
        {
            Ok(c) => c,
            Err(e) => {
                fatal(&mut out, from_sqlite(&e));
                return Err(out);
            }
        };
        enc::authentication_ok(&mut out.buf);
        for (k, v) in settings.lock().reported() {
            out.parameter_status(&k, &v);
        }
        let mut secret = [0u8; 4];
        // A predictable cancel key only matters for CancelRequest, which is not served.
        let _ = getrandom::fill(&mut secret);
        let _ = enc::backend_key_data(&mut out.buf, pid, &secret);
        enc::ready_for_query(&mut out.buf, TransactionStatus::Idle);
        out.flush();
        Ok(Self {
            conn,
            settings,
            statements: HashMap::new(),
            portals: HashMap::new(),
            portal_generation: 0,
            tx: Tx::Idle,
            implicit: false,
            skipping: false,
            out,
        })
    }

    /// The SQLite connection's interrupt handle (to stop a running statement when the
    /// client goes away).
    pub fn interrupt_handle(&self) -> rusqlite::InterruptHandle {
        self.conn.get_interrupt_handle()
    }

    fn status(&self) -> TransactionStatus {
        match self.tx {
            Tx::Idle => TransactionStatus::Idle,
            Tx::Block => TransactionStatus::InTransaction,
            Tx::Failed => TransactionStatus::Failed,
        }
    }

    fn ready(&mut self) {
        let status = self.status();
        enc::ready_for_query(&mut self.out.buf, status);
        // Like PostgreSQL, output goes out at ReadyForQuery and Flush (or when the buffer is
        // full), never piecemeal in the middle of a batch: one write per answered batch.
        self.out.flush();
    }

    /// A protocol violation: FATAL 08P01 and the connection closes.
    pub fn fatal_protocol(&mut self, e: &ProtocolError) -> Flow {
        self.out.error(&PgError::from_protocol(e, Severity::Fatal));
        Flow::Close
    }

    /// Handle one frontend message.
    pub fn handle(&mut self, msg: FrontendMessage) -> Flow {
        if let Err(e) = msg.validate() {
            return self.fatal_protocol(&e);
        }
        if self.skipping
            && !matches!(
                msg,
                FrontendMessage::Sync(_) | FrontendMessage::Terminate(_)
            )
        {
            return Flow::Continue;
        }
        match msg {
            FrontendMessage::Query(q) => {
                match q.sql() {
                    Ok(sql) => {
                        let sql = sql.to_owned();
                        self.simple_query(&sql);
                    }
                    Err(e) => return self.fatal_protocol(&e),
                }
                self.ready();
            }
            FrontendMessage::Parse(m) => self.extended(|s| s.parse(&m)),
            FrontendMessage::Bind(m) => self.extended(|s| s.bind(&m)),
            FrontendMessage::Describe(m) => self.extended(|s| s.describe(&m)),
            FrontendMessage::Execute(m) => self.extended(|s| s.execute(&m)),
            FrontendMessage::Close(m) => self.extended(|s| s.close(&m)),
            FrontendMessage::Sync(_) => {
                self.skipping = false;
                if self.tx == Tx::Idle {
                    self.drop_portals();
                }
                self.ready();
            }
            FrontendMessage::Flush(_) => self.out.flush(),
            FrontendMessage::Terminate(_) => return Flow::Close,
            // Outside COPY these are ignored, as PostgreSQL does.
            FrontendMessage::CopyData(_)
            | FrontendMessage::CopyDone(_)
            | FrontendMessage::CopyFail(_) => {}
            FrontendMessage::FunctionCall(_) => {
                self.out
                    .error(&not_supported("the fast-path function call interface"));
                self.ready();
            }
            FrontendMessage::AuthResponse(_) => {
                return self.fatal_protocol(&ProtocolError::UnknownMessageType {
                    direction: "frontend",
                    tag: b'p',
                });
            }
        }
        Flow::Continue
    }

    fn extended(&mut self, f: impl FnOnce(&mut Self) -> PgResult<()>) {
        if let Err(e) = f(self) {
            self.out.error(&e);
            self.skipping = true;
            if self.tx == Tx::Block {
                self.tx = Tx::Failed;
            }
        }
    }

    fn drop_portals(&mut self) {
        if !self.portals.is_empty() {
            self.portals.clear();
            self.portal_generation += 1;
        }
    }

    // ---- transactions ---------------------------------------------------------------

    fn sqlite_exec(&self, sql: &str) -> PgResult<()> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| Box::new(from_sqlite(&e)))
    }

    /// Roll back whatever SQLite has open (it may already have rolled back by itself).
    fn sqlite_rollback(&self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    fn commit_implicit(&mut self) -> PgResult<()> {
        if !self.implicit {
            return Ok(());
        }
        self.implicit = false;
        if self.conn.is_autocommit() {
            return Ok(());
        }
        if let Err(e) = self.sqlite_exec("COMMIT") {
            self.sqlite_rollback();
            return Err(e);
        }
        Ok(())
    }

    /// Before a statement of a multi-statement simple query: open the implicit transaction,
    /// or close it first for statements that cannot run inside one.
    fn prepare_implicit(&mut self, multi: bool, outside: bool) -> PgResult<()> {
        if outside {
            return self.commit_implicit();
        }
        if multi && self.tx == Tx::Idle && !self.implicit && self.conn.is_autocommit() {
            self.sqlite_exec("BEGIN")?;
            self.implicit = true;
        }
        Ok(())
    }

    fn warning(&mut self, code: &str, msg: &str) {
        enc::notice_response(
            &mut self.out.buf,
            &PgError::new(Severity::Warning, code, msg),
        );
    }

    fn in_block_only(&self, what: &str) -> PgResult<()> {
        if self.tx == Tx::Idle {
            return fail(PgError::new(
                Severity::Error,
                "25P01",
                format!("{what} can only be used in transaction blocks"),
            ));
        }
        Ok(())
    }

    // ---- simple query ----------------------------------------------------------------

    fn simple_query(&mut self, sql: &str) {
        let stmts = sql::split(sql);
        if stmts.is_empty() {
            enc::empty_query_response(&mut self.out.buf);
            return;
        }
        let multi = stmts.len() > 1;
        for text in stmts {
            let cmd = sql::analyze(text);
            let result = self.run_simple(&cmd, multi);
            if let Err(e) = result {
                self.fail(&e);
                return;
            }
            if self.out.closed {
                return;
            }
        }
        if let Err(e) = self.commit_implicit() {
            self.fail(&e);
        }
    }

    /// Report an error of a simple query and update the transaction state.
    fn fail(&mut self, e: &PgError) {
        self.out.error(e);
        if self.implicit {
            self.implicit = false;
            self.sqlite_rollback();
        }
        if self.tx == Tx::Block {
            self.tx = Tx::Failed;
        }
    }

    fn run_simple(&mut self, cmd: &Command, multi: bool) -> PgResult<()> {
        if self.tx == Tx::Failed && !is_exit(cmd) {
            return fail(aborted());
        }
        let outcome = match cmd {
            Command::Sql(c) => {
                if c.max_param > 0 {
                    return fail(PgError::new(
                        Severity::Error,
                        "42P02",
                        "there is no parameter $1",
                    ));
                }
                self.prepare_implicit(multi, c.outside_transaction)?;
                let stmt = self
                    .conn
                    .prepare_cached(&c.sql)
                    .map_err(|e| from_sqlite(&e))?;
                let schema = Schema::new(&self.conn, &c.tables, &[]);
                let columns = describe_columns(&stmt, c, &schema);
                drop(stmt);
                run_sql(&self.conn, &mut self.out, c, &[], &columns, Mode::Simple)?
            }
            other => {
                let outside = matches!(other, Command::Discard(_) | Command::Begin { .. });
                if matches!(other, Command::Truncate(_)) {
                    self.prepare_implicit(multi, false)?;
                } else if outside && self.implicit {
                    // BEGIN inside a multi-statement query turns the implicit transaction into
                    // the explicit block (handled by `command`); DISCARD ends it.
                    if matches!(other, Command::Discard(_)) {
                        self.commit_implicit()?;
                    }
                }
                let columns = command_columns(other);
                self.command(other, &columns, None)?
            }
        };
        match outcome {
            Outcome::Complete(tag) => self.out.complete(&tag),
            Outcome::Empty => enc::empty_query_response(&mut self.out.buf),
            Outcome::Suspended { .. } => {} // no limit in simple mode
        }
        self.out.maybe_flush();
        Ok(())
    }

    /// Commands answered without SQLite (or with fixed SQLite statements). `extended` holds
    /// the output formats when run from a portal; `None` sends a RowDescription first.
    fn command(
        &mut self,
        cmd: &Command,
        columns: &[Col],
        extended: Option<&[bool]>,
    ) -> PgResult<Outcome> {
        Ok(Outcome::Complete(match cmd {
            Command::Empty => return Ok(Outcome::Empty),
            Command::Sql(_) => {
                // Callers route SQL to `run_sql`; refuse rather than guess if that changes.
                return fail(PgError::new(
                    Severity::Error,
                    "XX000",
                    "internal error in the SQLite backend",
                ));
            }
            Command::Unsupported(what) => return fail(not_supported(what)),
            Command::Begin { mode } => {
                match self.tx {
                    Tx::Idle if self.implicit => {
                        self.implicit = false;
                        self.tx = Tx::Block;
                    }
                    Tx::Idle => {
                        self.sqlite_exec(&format!("BEGIN {mode}"))?;
                        self.tx = Tx::Block;
                    }
                    _ => self.warning("25001", "there is already a transaction in progress"),
                }
                "BEGIN".into()
            }
            Command::Commit => {
                let tag = match self.tx {
                    Tx::Idle => {
                        if self.implicit {
                            self.commit_implicit()?;
                        }
                        self.warning("25P01", "there is no transaction in progress");
                        "COMMIT"
                    }
                    Tx::Block => {
                        self.tx = Tx::Idle;
                        self.drop_portals();
                        if !self.conn.is_autocommit()
                            && let Err(e) = self.sqlite_exec("COMMIT")
                        {
                            self.sqlite_rollback();
                            return Err(e);
                        }
                        "COMMIT"
                    }
                    Tx::Failed => {
                        self.sqlite_rollback();
                        self.tx = Tx::Idle;
                        self.drop_portals();
                        "ROLLBACK"
                    }
                };
                tag.into()
            }
            Command::Rollback => {
                match self.tx {
                    Tx::Idle => {
                        if self.implicit {
                            self.implicit = false;
                            self.sqlite_rollback();
                        }
                        self.warning("25P01", "there is no transaction in progress");
                    }
                    Tx::Block | Tx::Failed => {
                        self.sqlite_rollback();
                        self.tx = Tx::Idle;
                        self.drop_portals();
                    }
                }
                "ROLLBACK".into()
            }
            Command::Savepoint(name) => {
                self.in_block_only("SAVEPOINT")?;
                self.sqlite_exec(&format!("SAVEPOINT {}", sql::ident(name)))?;
                "SAVEPOINT".into()
            }
            Command::Release(name) => {
                self.in_block_only("RELEASE SAVEPOINT")?;
                self.sqlite_exec(&format!("RELEASE SAVEPOINT {}", sql::ident(name)))?;
                "RELEASE".into()
            }
            Command::RollbackTo(name) => {
                self.in_block_only("ROLLBACK TO SAVEPOINT")?;
                self.sqlite_exec(&format!("ROLLBACK TO SAVEPOINT {}", sql::ident(name)))?;
                self.tx = Tx::Block;
                "ROLLBACK".into()
            }
            Command::Set { name, value } => {
                if !name.is_empty() {
                    let report = self.settings.lock().set(name, value.as_deref())?;
                    if let Some((k, v)) = report {
                        self.out.parameter_status(&k, &v);
                    }
                }
                "SET".into()
            }
            Command::Reset(name) => {
                let reports = match name {
                    Some(n) => self.settings.lock().set(n, None)?.into_iter().collect(),
                    None => self.settings.lock().reset_all(),
                };
                for (k, v) in reports {
                    self.out.parameter_status(&k, &v);
                }
                "RESET".into()
            }
            Command::Show(name) => {
                let rows: Vec<Vec<Value>> = {
                    let s = self.settings.lock();
                    if name == "all" {
                        s.all()
                            .into_iter()
                            .map(|(k, v)| vec![Value::Text(k), Value::Text(v), Value::Null])
                            .collect()
                    } else {
                        let v = s.get(name).ok_or_else(|| {
                            PgError::new(
                                Severity::Error,
                                "42704",
                                format!("unrecognized configuration parameter \"{name}\""),
                            )
                        })?;
                        vec![vec![Value::Text(v.to_owned())]]
                    }
                };
                let text = vec![false; columns.len()];
                if extended.is_none() {
                    row_description(&mut self.out.buf, columns, &text);
                }
                let binary = extended.unwrap_or(&text);
                for row in &rows {
                    write_row(&mut self.out.buf, columns, binary, |i| {
                        row.get(i).map_or(ValueRef::Null, ValueRef::from)
                    })?;
                }
                "SHOW".into()
            }
            Command::Discard(what) => {
                if *what == Discard::All && self.tx != Tx::Idle {
                    return fail(PgError::new(
                        Severity::Error,
                        "25001",
                        "DISCARD ALL cannot run inside a transaction block",
                    ));
                }
                if matches!(what, Discard::All | Discard::Plans) {
                    self.statements.clear();
                    self.drop_portals();
                    self.conn.flush_prepared_statement_cache();
                }
                if matches!(what, Discard::All | Discard::Temp) {
                    self.drop_temp_objects()?;
                }
                if *what == Discard::All {
                    let reports = self.settings.lock().reset_all();
                    for (k, v) in reports {
                        self.out.parameter_status(&k, &v);
                    }
                }
                what.tag().into()
            }
            Command::Deallocate(name) => match name {
                Some(n) => {
                    if self.statements.remove(n).is_none() {
                        return fail(statement_missing(n));
                    }
                    "DEALLOCATE".into()
                }
                None => {
                    self.statements.clear();
                    "DEALLOCATE ALL".into()
                }
            },
            Command::Truncate(tables) => {
                for t in tables {
                    self.sqlite_exec(&format!("DELETE FROM {}", sql::ident(t)))?;
                }
                "TRUNCATE TABLE".into()
            }
        }))
    }

    fn drop_temp_objects(&self) -> PgResult<()> {
        let objects: Vec<(String, String)> = self
            .conn
            .prepare("SELECT type, name FROM temp.sqlite_master WHERE type IN ('table', 'view')")
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|e| from_sqlite(&e))?;
        for (kind, name) in objects {
            let kind = if kind == "view" { "VIEW" } else { "TABLE" };
            self.sqlite_exec(&format!("DROP {kind} IF EXISTS temp.{}", sql::ident(&name)))?;
        }
        Ok(())
    }

    // ---- extended protocol ----------------------------------------------------------

    fn parse(&mut self, m: &Parse) -> PgResult<()> {
        let name = m.statement_name().map_err(|e| protocol(&e))?.to_owned();
        let query = m.query().map_err(|e| protocol(&e))?;
        let oids: Vec<u32> = m.param_types().map_err(|e| protocol(&e))?.collect();
        if !name.is_empty() && self.statements.contains_key(&name) {
            return fail(PgError::new(
                Severity::Error,
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            ));
        }
        let stmts = sql::split(query);
        if stmts.len() > 1 {
            return fail(PgError::new(
                Severity::Error,
                "42601",
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let command = stmts.first().map_or(Command::Empty, |s| sql::analyze(s));
        if self.tx == Tx::Failed && !is_exit(&command) {
            return fail(aborted());
        }
        if let Command::Unsupported(what) = &command {
            return fail(not_supported(what));
        }
        let prepared = self.prepare(command, &oids)?;
        self.statements.insert(name, Arc::new(prepared));
        enc::parse_complete(&mut self.out.buf);
        Ok(())
    }

    fn prepare(&self, command: Command, oids: &[u32]) -> PgResult<Prepared> {
        let Command::Sql(c) = &command else {
            let columns = command_columns(&command);
            let param_types = oids.iter().map(|&o| PgType::from_param_oid(o)).collect();
            return Ok(Prepared {
                command,
                param_types,
                columns,
            });
        };
        let stmt = self
            .conn
            .prepare_cached(&c.sql)
            .map_err(|e| from_sqlite(&e))?;
        let n = c.max_param.max(oids.len()).max(stmt.parameter_count());
        let no_params: Vec<Option<PgType>> = Vec::new();
        let hints = Schema::new(&self.conn, &c.tables, &no_params);
        let param_types: Vec<Option<PgType>> = (0..n)
            .map(|i| {
                let given = oids.get(i).copied().and_then(PgType::from_param_oid);
                given.or_else(|| {
                    let n = u32::try_from(i + 1).ok()?;
                    c.param_hints.get(&n).and_then(|h| hints.hint(h))
                })
            })
            .collect();
        let schema = Schema::new(&self.conn, &c.tables, &param_types);
        let columns = describe_columns(&stmt, c, &schema);
        drop(stmt);
        Ok(Prepared {
            command,
            param_types,
            columns,
        })
    }

    fn bind(&mut self, m: &Bind) -> PgResult<()> {
        let f = m.fields().map_err(|e| protocol(&e))?;
        let statement = self
            .statements
            .get(f.statement)
            .cloned()
            .ok_or_else(|| statement_missing(f.statement))?;
        if self.tx == Tx::Failed && !is_exit(&statement.command) {
            return fail(aborted());
        }
        if !f.portal.is_empty() && self.portals.contains_key(f.portal) {
            return fail(PgError::new(
                Severity::Error,
                "42P03",
                format!("portal \"{}\" already exists", f.portal),
            ));
        }
        let want = statement.param_types.len();
        if f.params.len() != want {
            return fail(PgError::new(
                Severity::Error,
                "08P01",
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{}\" requires {want}",
                    f.params.len(),
                    f.statement
                ),
            ));
        }
        let params = f
            .params
            .clone()
            .enumerate()
            .map(|(i, raw)| {
                let ty = statement.param_types.get(i).copied().flatten();
                decode_param(ty, f.param_formats.for_index(i) == 1, raw, i)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ncols = statement.columns.len();
        let nformats = f.result_formats.len();
        if nformats > 1 && nformats != ncols {
            return fail(PgError::new(
                Severity::Error,
                "08P01",
                format!("bind message has {nformats} result formats but query has {ncols} columns"),
            ));
        }
        let binary = statement
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| f.result_formats.for_index(i) == 1 && c.ty.binary_results())
            .collect();
        let portal = f.portal.to_owned();
        self.portals.insert(
            portal,
            Portal {
                statement,
                params,
                binary,
                state: PortalState::Ready,
            },
        );
        enc::bind_complete(&mut self.out.buf);
        Ok(())
    }

    fn describe(&mut self, m: &Describe) -> PgResult<()> {
        let (target, name) = m.target().map_err(|e| protocol(&e))?;
        match target {
            Target::Statement => {
                let st = self
                    .statements
                    .get(name)
                    .ok_or_else(|| statement_missing(name))?;
                let oids: Vec<u32> = st
                    .param_types
                    .iter()
                    .map(|t| t.unwrap_or(PgType::Text).oid())
                    .collect();
                let _ = enc::parameter_description(&mut self.out.buf, &oids);
                if st.columns.is_empty() {
                    enc::no_data(&mut self.out.buf);
                } else {
                    row_description(&mut self.out.buf, &st.columns, &[]);
                }
            }
            Target::Portal => {
                let p = self.portals.get(name).ok_or_else(|| portal_missing(name))?;
                if p.statement.columns.is_empty() {
                    enc::no_data(&mut self.out.buf);
                } else {
                    row_description(&mut self.out.buf, &p.statement.columns, &p.binary);
                }
            }
        }
        Ok(())
    }

    fn close(&mut self, m: &Close) -> PgResult<()> {
        let (target, name) = m.target().map_err(|e| protocol(&e))?;
        match target {
            Target::Statement => {
                self.statements.remove(name);
            }
            Target::Portal => {
                self.portals.remove(name);
            }
        }
        enc::close_complete(&mut self.out.buf);
        Ok(())
    }

    fn execute(&mut self, m: &Execute) -> PgResult<()> {
        let name = m.portal().map_err(|e| protocol(&e))?.to_owned();
        let max = m.max_rows().map_err(|e| protocol(&e))?;
        let limit = usize::try_from(max).unwrap_or(0);
        let mut portal = self
            .portals
            .remove(&name)
            .ok_or_else(|| portal_missing(&name))?;
        let generation = self.portal_generation;
        let result = self.execute_portal(&mut portal, limit);
        if self.portal_generation == generation {
            self.portals.insert(name, portal);
        }
        result
    }

    fn execute_portal(&mut self, portal: &mut Portal, limit: usize) -> PgResult<()> {
        let state = std::mem::replace(&mut portal.state, PortalState::Done);
        let statement = portal.statement.clone();
        match state {
            PortalState::Done => {
                // PostgreSQL answers a re-executed, finished portal with an empty completion.
                let tag = match &statement.command {
                    Command::Sql(c) => TagKind::Counted {
                        verb: c.verb.clone(),
                        changes: 0,
                    }
                    .render(0),
                    _ => "SELECT 0".into(),
                };
                self.out.complete(&tag);
                Ok(())
            }
            PortalState::Suspended {
                mut rows,
                sent,
                tag,
            } => {
                let mut n = 0usize;
                while limit == 0 || n < limit {
                    let Some(row) = rows.pop_front() else { break };
                    write_row(&mut self.out.buf, &statement.columns, &portal.binary, |i| {
                        row.get(i).map_or(ValueRef::Null, ValueRef::from)
                    })?;
                    n += 1;
                    self.out.maybe_flush();
                }
                let sent = sent + n as u64;
                if rows.is_empty() {
                    self.out.complete(&tag.render(sent));
                } else {
                    enc::portal_suspended(&mut self.out.buf);
                    portal.state = PortalState::Suspended { rows, sent, tag };
                }
                Ok(())
            }
            PortalState::Ready => {
                if self.tx == Tx::Failed && !is_exit(&statement.command) {
                    return fail(aborted());
                }
                let outcome = match &statement.command {
                    Command::Sql(c) => {
                        // No implicit transaction in the extended protocol: outside a
                        // block each Execute commits on its own (see docs/SQLITE.md).
                        run_sql(
                            &self.conn,
                            &mut self.out,
                            c,
                            &portal.params,
                            &statement.columns,
                            Mode::Extended {
                                columns: &statement.columns,
                                binary: &portal.binary,
                                limit,
                            },
                        )?
                    }
                    other => {
                        let binary = portal.binary.clone();
                        self.command(other, &statement.columns, Some(&binary))?
                    }
                };
                match outcome {
                    Outcome::Complete(tag) => self.out.complete(&tag),
                    Outcome::Empty => enc::empty_query_response(&mut self.out.buf),
                    Outcome::Suspended { rows, sent, tag } => {
                        enc::portal_suspended(&mut self.out.buf);
                        portal.state = PortalState::Suspended { rows, sent, tag };
                    }
                }
                Ok(())
            }
        }
    }
}

fn statement_missing(name: &str) -> PgError {
    PgError::new(
        Severity::Error,
        "26000",
        format!("prepared statement \"{name}\" does not exist"),
    )
}

fn portal_missing(name: &str) -> PgError {
    PgError::new(
        Severity::Error,
        "34000",
        format!("portal \"{name}\" does not exist"),
    )
}

/// Result columns of the commands answered without SQLite.
fn command_columns(cmd: &Command) -> Vec<Col> {
    let text = |name: &str| Col {
        name: name.to_owned(),
        ty: PgType::Text,
        fixed: true,
    };
    match cmd {
        Command::Show(n) if n == "all" => vec![text("name"), text("setting"), text("description")],
        Command::Show(n) => vec![text(n)],
        _ => Vec::new(),
    }
}

/// Encode one row. `get(i)` gives column `i`'s value.
fn write_row<'v>(
    buf: &mut BytesMut,
    cols: &[Col],
    binary: &[bool],
    get: impl Fn(usize) -> ValueRef<'v>,
) -> PgResult<()> {
    let mut scratch: Vec<u8> = Vec::new();
    let mut ranges: Vec<Option<(usize, usize)>> = Vec::with_capacity(cols.len());
    for (i, c) in cols.iter().enumerate() {
        let v = get(i);
        if matches!(v, ValueRef::Null) {
            ranges.push(None);
            continue;
        }
        let start = scratch.len();
        encode_value(
            v,
            c.ty,
            binary.get(i).copied().unwrap_or(false),
            &mut scratch,
        )
        .map_err(|m| m.into_error(&c.name))?;
        ranges.push(Some((start, scratch.len())));
    }
    enc::data_row(
        buf,
        ranges
            .iter()
            .map(|r| r.and_then(|(a, b)| scratch.get(a..b))),
    )
    .map_err(|e| Box::new(protocol(&e)))
}

/// Run a SQLite statement and send its rows and completion.
fn run_sql(
    conn: &Connection,
    out: &mut Output,
    cmd: &SqlCommand,
    params: &[Value],
    described: &[Col],
    mode: Mode<'_>,
) -> PgResult<Outcome> {
    let mut stmt = conn.prepare_cached(&cmd.sql).map_err(|e| from_sqlite(&e))?;
    for (i, v) in params.iter().enumerate() {
        if i < stmt.parameter_count() {
            stmt.raw_bind_parameter(i + 1, v)
                .map_err(|e| from_sqlite(&e))?;
        }
    }
    let ncols = stmt.column_count();
    if let Mode::Extended { columns, .. } = &mode
        && columns.len() != ncols
    {
        return fail(PgError::new(
            Severity::Error,
            "0A000",
            "cached plan must not change result type",
        ));
    }
    if ncols == 0 {
        let changes = stmt.raw_execute().map_err(|e| from_sqlite(&e))? as u64;
        let tag = TagKind::Counted {
            verb: cmd.verb.clone(),
            changes,
        };
        let tag = match &cmd.verb {
            Verb::Other(t) => TagKind::Fixed(t.clone()),
            _ => tag,
        };
        return Ok(Outcome::Complete(tag.render(0)));
    }
    let mut rows = stmt.raw_query();
    let mut sent: u64 = 0;
    let simple_cols: Vec<Col>;
    let text_formats = vec![false; ncols];
    let (cols, binary, limit): (&[Col], &[bool], usize) = match &mode {
        Mode::Extended {
            columns,
            binary,
            limit,
        } => (columns, binary, *limit),
        Mode::Simple => {
            // The first row settles the types still unknown.
            let first = rows.next().map_err(|e| from_sqlite(&e))?;
            let mut described = described.to_vec();
            if let Some(row) = first {
                for (i, c) in described.iter_mut().enumerate() {
                    if !c.fixed
                        && let Some(t) = row.get_ref(i).ok().and_then(PgType::from_value)
                    {
                        c.ty = t;
                    }
                }
                row_description(&mut out.buf, &described, &text_formats);
                write_row(&mut out.buf, &described, &text_formats, |i| {
                    row.get_ref(i).unwrap_or(ValueRef::Null)
                })?;
                sent = 1;
            } else {
                row_description(&mut out.buf, &described, &text_formats);
            }
            simple_cols = described;
            (&simple_cols, &text_formats, 0)
        }
    };
    let mut suspended: Option<VecDeque<Vec<Value>>> = None;
    if !(matches!(mode, Mode::Simple) && sent == 0) {
        while let Some(row) = rows.next().map_err(|e| from_sqlite(&e))? {
            if limit > 0 && sent as usize >= limit {
                // Keep the rest for the next Execute.
                let mut rest = VecDeque::new();
                let mut cur = Some(row);
                while let Some(r) = cur {
                    rest.push_back(
                        (0..ncols)
                            .map(|i| r.get_ref(i).map_or(Value::Null, Value::from))
                            .collect(),
                    );
                    cur = rows.next().map_err(|e| from_sqlite(&e))?;
                }
                suspended = Some(rest);
                break;
            }
            write_row(&mut out.buf, cols, binary, |i| {
                row.get_ref(i).unwrap_or(ValueRef::Null)
            })?;
            sent += 1;
            out.maybe_flush();
            if out.closed {
                break;
            }
        }
    }
    drop(rows);
    let changes = match cmd.verb {
        Verb::Insert | Verb::Update | Verb::Delete => conn.changes(),
        _ => 0,
    };
    let tag = TagKind::Counted {
        verb: cmd.verb.clone(),
        changes,
    };
    Ok(match suspended {
        Some(rows) => Outcome::Suspended { rows, sent, tag },
        None => Outcome::Complete(tag.render(sent)),
    })
}

#[cfg(test)]
mod tests;
