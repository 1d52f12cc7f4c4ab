//! The embedded SQLite database served over the MySQL protocol, so that MySQL clients of the
//! gateway reach it exactly as they reach a MySQL server (the gateway's MySQL sessions
//! connect to it through an in-process duplex stream).
//!
//! It speaks what the gateway's server side sends: the handshake (any credentials: only the
//! gateway reaches it), COM_QUERY with one statement, COM_STMT_PREPARE / EXECUTE / CLOSE /
//! RESET / SEND_LONG_DATA, COM_PING, COM_INIT_DB, COM_RESET_CONNECTION and COM_QUIT;
//! `SET autocommit` (MySQL's implicit transactions) is followed; other `SET`s (names,
//! sql_mode, time zone, which drivers send when they connect) are accepted without effect. Statements
//! run as SQLite reads them (SQLite accepts backtick identifiers).
//!
//! Result columns are typed by their values (all integers: BIGINT; numbers: DOUBLE; else
//! text or blob), so a result is read whole before it is sent.

use std::collections::HashMap;
use std::sync::Arc;

use articdbm_mywire::consts::{caps, column_type, command, status};
use articdbm_mywire::{
    self as wire, ColumnDef, Command, ErrPacket, HandshakeV10, OkPacket, PacketDecoder, PrepareOk,
};
use bytes::{BufMut, Bytes, BytesMut};
use rusqlite::types::{Value, ValueRef};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::SqliteDb;

const CAPS: u32 = caps::CLIENT_LONG_PASSWORD
    | caps::CLIENT_LONG_FLAG
    | caps::CLIENT_CONNECT_WITH_DB
    | caps::CLIENT_PROTOCOL_41
    | caps::CLIENT_TRANSACTIONS
    | caps::CLIENT_SECURE_CONNECTION
    | caps::CLIENT_MULTI_RESULTS
    | caps::CLIENT_PS_MULTI_RESULTS
    | caps::CLIENT_PLUGIN_AUTH
    | caps::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;

/// The version the gateway's clients are shown for this backend.
pub const VERSION: &str = "8.0.36-SQLite";

/// Serves one connection until COM_QUIT or EOF.
pub async fn serve<S>(stream: S, db: Arc<SqliteDb>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut out = BytesMut::new();
    let mut p = BytesMut::new();
    HandshakeV10 {
        server_version: VERSION.into(),
        connection_id: db.next_pid() as u32,
        auth_data: vec![b'a'; 20],
        capabilities: CAPS,
        charset: 45,
        status: status::SERVER_STATUS_AUTOCOMMIT,
        auth_plugin: "mysql_native_password".into(),
        ..Default::default()
    }
    .encode(&mut p);
    wire::write_packet(&mut out, 0, &p);
    wr.write_all(&out).await?;
    let mut buf = BytesMut::with_capacity(8192);
    let mut dec = PacketDecoder::new(1 << 30);
    let Some(hello) = read(&mut rd, &mut buf, &mut dec).await? else {
        return Ok(());
    };
    out.clear();
    let mut ok = BytesMut::new();
    OkPacket {
        status: status::SERVER_STATUS_AUTOCOMMIT,
        ..Default::default()
    }
    .encode(&mut ok, CAPS, wire::response::OK_HEADER);
    wire::write_packet(&mut out, hello.next_seq, &ok);
    wr.write_all(&out).await?;

    let (in_tx, in_rx) = mpsc::channel::<wire::Packet>(16);
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(16);
    let conn = db.connect().map_err(std::io::Error::other)?;
    std::thread::Builder::new()
        .name("articdbm-sqlite-mysql".into())
        .spawn(move || Server::new(conn).run(in_rx, out_tx))?;
    let reader = async move {
        while let Some(p) = read(&mut rd, &mut buf, &mut dec).await? {
            let quit = p.payload.first() == Some(&command::COM_QUIT);
            if in_tx.send(p).await.is_err() || quit {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let writer = async move {
        while let Some(b) = out_rx.recv().await {
            wr.write_all(&b).await?;
        }
        let _ = wr.shutdown().await;
        Ok::<_, std::io::Error>(())
    };
    let (r, w) = tokio::join!(reader, writer);
    r.and(w)
}

async fn read<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    dec: &mut PacketDecoder,
) -> std::io::Result<Option<wire::Packet>> {
    loop {
        if let Some(p) = dec
            .decode(buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?
        {
            return Ok(Some(p));
        }
        if rd.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

struct Prepared {
    sql: String,
    params: u16,
    /// Parameter types of the last execute that sent them.
    types: Vec<u8>,
    long_data: HashMap<u16, Vec<u8>>,
}

struct Server {
    conn: rusqlite::Connection,
    autocommit: bool,
    stmts: HashMap<u32, Prepared>,
    next: u32,
}

/// A result read whole: column names, their MySQL types, rows.
struct Rows {
    names: Vec<String>,
    types: Vec<u8>,
    rows: Vec<Vec<Value>>,
}

enum Outcome {
    Rows(Rows),
    Done { affected: u64, last_id: u64 },
}

impl Server {
    fn new(conn: rusqlite::Connection) -> Self {
        Server {
            conn,
            autocommit: true,
            stmts: HashMap::new(),
            next: 1,
        }
    }

    fn status(&self) -> u16 {
        let mut s = 0;
        if self.autocommit {
            s |= status::SERVER_STATUS_AUTOCOMMIT;
        }
        if !self.conn.is_autocommit() {
            s |= status::SERVER_STATUS_IN_TRANS;
        }
        s
    }

    fn run(mut self, mut rx: mpsc::Receiver<wire::Packet>, tx: mpsc::Sender<Bytes>) {
        while let Some(p) = rx.blocking_recv() {
            let mut out = BytesMut::new();
            let seq = p.next_seq;
            match wire::decode_command(&p.payload, CAPS) {
                Ok(Command::Quit) => return,
                Ok(Command::Ping | Command::InitDb(_)) => self.ok(&mut out, seq, 0, 0),
                Ok(Command::ResetConnection) => {
                    if !self.conn.is_autocommit() {
                        let _ = self.conn.execute_batch("ROLLBACK");
                    }
                    self.stmts.clear();
                    self.autocommit = true;
                    self.ok(&mut out, seq, 0, 0);
                }
                Ok(Command::Query(sql)) => {
                    let sql = String::from_utf8_lossy(&sql).to_string();
                    match self.query(&sql, &[]) {
                        Ok(o) => self.outcome(&mut out, seq, o, false),
                        Err(e) => error(&mut out, seq, &e),
                    }
                }
                Ok(Command::StmtPrepare(sql)) => {
                    let sql = String::from_utf8_lossy(&sql).to_string();
                    self.prepare(&mut out, seq, sql);
                }
                Ok(Command::StmtExecute { stmt_id, .. }) => {
                    self.execute(&mut out, seq, stmt_id, &p.payload);
                }
                Ok(Command::StmtSendLongData { stmt_id, param }) => {
                    if let Some(s) = self.stmts.get_mut(&stmt_id) {
                        s.long_data
                            .entry(param)
                            .or_default()
                            .extend_from_slice(p.payload.get(7..).unwrap_or_default());
                    }
                    continue; // no answer
                }
                Ok(Command::StmtClose(id)) => {
                    self.stmts.remove(&id);
                    continue; // no answer
                }
                Ok(Command::StmtReset(id)) => {
                    if let Some(s) = self.stmts.get_mut(&id) {
                        s.long_data.clear();
                    }
                    self.ok(&mut out, seq, 0, 0);
                }
                Ok(_) => error(
                    &mut out,
                    seq,
                    &Fail::new(1047, "08S01", "unsupported command"),
                ),
                Err(e) => error(&mut out, seq, &Fail::new(1047, "08S01", &e.to_string())),
            }
            if tx.blocking_send(out.freeze()).is_err() {
                return;
            }
        }
    }

    fn ok(&self, out: &mut BytesMut, seq: u8, affected: u64, last_id: u64) {
        let mut p = BytesMut::new();
        OkPacket {
            affected_rows: affected,
            last_insert_id: last_id,
            status: self.status(),
            ..Default::default()
        }
        .encode(&mut p, CAPS, wire::response::OK_HEADER);
        wire::write_packet(out, seq, &p);
    }

    /// Runs one statement (`SET autocommit` and `SET NAMES` handled here).
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Outcome, Fail> {
        let words: Vec<String> = sql
            .split(|c: char| c.is_whitespace() || c == '=' || c == ';')
            .filter(|w| !w.is_empty())
            .take(4)
            .map(|w| w.to_ascii_uppercase())
            .collect();
        if words.first().map(String::as_str) == Some("SET") {
            let name = words
                .get(1)
                .map(|w| w.trim_start_matches("@@"))
                .unwrap_or("");
            let name = name.strip_prefix("SESSION.").unwrap_or(name);
            if name == "AUTOCOMMIT" {
                let on = matches!(words.get(2).map(String::as_str), Some("1" | "ON" | "TRUE"));
                if on && !self.conn.is_autocommit() {
                    self.conn.execute_batch("COMMIT").map_err(Fail::sqlite)?;
                }
                self.autocommit = on;
                return Ok(Outcome::Done {
                    affected: 0,
                    last_id: 0,
                });
            }
            // Character sets, sql_mode, time zone...: SQLite has none of them; drivers set them
            // when they connect, so they are accepted and have no effect.
            return Ok(Outcome::Done {
                affected: 0,
                last_id: 0,
            });
        }
        let first = words.first().map(String::as_str).unwrap_or("");
        if !self.autocommit
            && self.conn.is_autocommit()
            && !matches!(first, "BEGIN" | "START" | "COMMIT" | "ROLLBACK")
        {
            // autocommit = 0: every statement runs in a transaction the client ends.
            self.conn.execute_batch("BEGIN").map_err(Fail::sqlite)?;
        }
        let sql = if first == "START" {
            "BEGIN".to_string()
        } else {
            sql.to_string()
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(Fail::sqlite)?;
        let n = stmt.column_count();
        if n == 0 {
            let affected = stmt
                .execute(rusqlite::params_from_iter(params.iter()))
                .map_err(Fail::sqlite)?;
            let last_id = self.conn.last_insert_rowid();
            return Ok(Outcome::Done {
                affected: affected as u64,
                last_id: last_id.max(0) as u64,
            });
        }
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = Vec::new();
        let mut q = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(Fail::sqlite)?;
        while let Some(r) = q.next().map_err(Fail::sqlite)? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(Value::from(r.get_ref(i).map_err(Fail::sqlite)?));
            }
            rows.push(row);
        }
        let types = (0..n)
            .map(|i| {
                let mut t = column_type::NULL;
                for row in &rows {
                    t = match (&row[i], t) {
                        (Value::Null, t) => t,
                        (Value::Integer(_), column_type::NULL) => column_type::LONGLONG,
                        (Value::Integer(_), t) => t,
                        (Value::Real(_), column_type::NULL | column_type::LONGLONG) => {
                            column_type::DOUBLE
                        }
                        (Value::Real(_), t) => t,
                        (Value::Blob(_), _) => column_type::BLOB,
                        (Value::Text(_), column_type::BLOB) => column_type::BLOB,
                        (Value::Text(_), _) => column_type::VAR_STRING,
                    };
                }
                if t == column_type::NULL {
                    column_type::VAR_STRING
                } else {
                    t
                }
            })
            .collect();
        Ok(Outcome::Rows(Rows { names, types, rows }))
    }

    fn outcome(&self, out: &mut BytesMut, seq: u8, o: Outcome, binary: bool) {
        match o {
            Outcome::Done { affected, last_id } => self.ok(out, seq, affected, last_id),
            Outcome::Rows(r) => {
                let mut seq = seq;
                let mut p = BytesMut::new();
                wire::lenenc::write_lenenc_int(&mut p, r.names.len() as u64);
                seq = wire::write_packet(out, seq, &p);
                for (name, t) in r.names.iter().zip(&r.types) {
                    seq = column(out, seq, name, *t);
                }
                let mut eof = BytesMut::new();
                wire::encode_eof(&mut eof, 0, self.status());
                seq = wire::write_packet(out, seq, &eof);
                for row in &r.rows {
                    let mut p = BytesMut::new();
                    if binary {
                        binary_row(&mut p, row, &r.types);
                    } else {
                        let vals: Vec<Option<Vec<u8>>> = row.iter().map(text_value).collect();
                        let refs: Vec<Option<&[u8]>> = vals.iter().map(|v| v.as_deref()).collect();
                        wire::encode_text_row(&mut p, &refs);
                    }
                    seq = wire::write_packet(out, seq, &p);
                }
                wire::write_packet(out, seq, &eof);
            }
        }
    }

    fn prepare(&mut self, out: &mut BytesMut, seq: u8, sql: String) {
        let (params, columns) = match self.conn.prepare_cached(&sql) {
            Ok(s) => (s.parameter_count(), s.column_count()),
            Err(e) => return error(out, seq, &Fail::sqlite(e)),
        };
        let id = self.next;
        self.next = self.next.wrapping_add(1).max(1);
        let mut p = BytesMut::new();
        PrepareOk {
            stmt_id: id,
            num_columns: columns as u16,
            num_params: params as u16,
            warnings: 0,
        }
        .encode(&mut p);
        let mut seq = wire::write_packet(out, seq, &p);
        let mut eof = BytesMut::new();
        wire::encode_eof(&mut eof, 0, self.status());
        if params > 0 {
            for _ in 0..params {
                seq = column(out, seq, "?", column_type::VAR_STRING);
            }
            seq = wire::write_packet(out, seq, &eof);
        }
        if columns > 0 {
            let names: Vec<String> = self
                .conn
                .prepare_cached(&sql)
                .map(|s| s.column_names().iter().map(|n| n.to_string()).collect())
                .unwrap_or_default();
            for n in &names {
                seq = column(out, seq, n, column_type::VAR_STRING);
            }
            wire::write_packet(out, seq, &eof);
        }
        self.stmts.insert(
            id,
            Prepared {
                sql,
                params: params as u16,
                types: Vec::new(),
                long_data: HashMap::new(),
            },
        );
    }

    fn execute(&mut self, out: &mut BytesMut, seq: u8, id: u32, payload: &[u8]) {
        let Some(s) = self.stmts.get_mut(&id) else {
            return error(
                out,
                seq,
                &Fail::new(1243, "HY000", "unknown prepared statement"),
            );
        };
        let params = match decode_params(payload, s) {
            Ok(p) => p,
            Err(e) => return error(out, seq, &e),
        };
        s.long_data.clear();
        let sql = s.sql.clone();
        match self.query(&sql, &params) {
            Ok(o) => self.outcome(out, seq, o, true),
            Err(e) => error(out, seq, &e),
        }
    }
}

/// The parameters of a COM_STMT_EXECUTE, as SQLite values.
fn decode_params(payload: &[u8], s: &mut Prepared) -> Result<Vec<Value>, Fail> {
    let n = s.params;
    if n == 0 {
        return Ok(Vec::new());
    }
    let bad = |_| Fail::new(1210, "HY000", "malformed COM_STMT_EXECUTE");
    let layout = wire::execute_layout(payload, n).map_err(bad)?;
    if let Some(t) = &layout.types {
        s.types = payload[t.clone()].to_vec();
    }
    if s.types.len() != 2 * n as usize {
        return Err(Fail::new(
            1210,
            "HY000",
            "parameters sent without their types",
        ));
    }
    let nulls = &payload[layout.null_bitmap.clone()];
    let mut rest = &payload[layout.values_start..];
    let short = || Fail::new(1210, "HY000", "truncated parameter value");
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        if nulls[i / 8] & (1 << (i % 8)) != 0 {
            out.push(Value::Null);
            continue;
        }
        if let Some(d) = s.long_data.get(&(i as u16)) {
            out.push(Value::Text(String::from_utf8_lossy(d).to_string()));
            continue;
        }
        let t = s.types[2 * i];
        let unsigned = s.types[2 * i + 1] & 0x80 != 0;
        let mut take = |k: usize| -> Result<&[u8], Fail> {
            if rest.len() < k {
                return Err(short());
            }
            let (a, b) = rest.split_at(k);
            rest = b;
            Ok(a)
        };
        let v = match t {
            column_type::TINY => {
                let b = take(1)?[0];
                Value::Integer(if unsigned {
                    i64::from(b)
                } else {
                    i64::from(b as i8)
                })
            }
            column_type::SHORT | column_type::YEAR => {
                let b = take(2)?;
                let v = u16::from_le_bytes([b[0], b[1]]);
                Value::Integer(if unsigned {
                    i64::from(v)
                } else {
                    i64::from(v as i16)
                })
            }
            column_type::LONG | column_type::INT24 => {
                let b = take(4)?;
                let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                Value::Integer(if unsigned {
                    i64::from(v)
                } else {
                    i64::from(v as i32)
                })
            }
            column_type::LONGLONG => {
                let b = take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Integer(i64::from_le_bytes(a))
            }
            column_type::FLOAT => {
                let b = take(4)?;
                Value::Real(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            column_type::DOUBLE => {
                let b = take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Real(f64::from_le_bytes(a))
            }
            column_type::NULL => Value::Null,
            _ => {
                let b = wire::lenenc::read_lenenc_bytes(&mut rest).map_err(|_| short())?;
                match std::str::from_utf8(b) {
                    Ok(s) => Value::Text(s.to_string()),
                    Err(_) => Value::Blob(b.to_vec()),
                }
            }
        };
        out.push(v);
    }
    Ok(out)
}

fn column(out: &mut BytesMut, seq: u8, name: &str, t: u8) -> u8 {
    let mut p = BytesMut::new();
    ColumnDef {
        schema: String::new(),
        table: String::new(),
        org_table: String::new(),
        name: name.to_string(),
        org_name: name.to_string(),
        charset: if t == column_type::BLOB { 63 } else { 45 },
        length: 0,
        column_type: t,
        flags: 0,
        decimals: if t == column_type::DOUBLE { 31 } else { 0 },
    }
    .encode(&mut p);
    wire::write_packet(out, seq, &p)
}

fn text_value(v: &Value) -> Option<Vec<u8>> {
    match ValueRef::from(v) {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string().into_bytes()),
        ValueRef::Real(f) => Some(f.to_string().into_bytes()),
        ValueRef::Text(t) => Some(t.to_vec()),
        ValueRef::Blob(b) => Some(b.to_vec()),
    }
}

fn binary_row(p: &mut BytesMut, row: &[Value], types: &[u8]) {
    p.put_u8(0);
    let mut bitmap = vec![0u8; (row.len() + 7 + 2) / 8];
    for (i, v) in row.iter().enumerate() {
        if matches!(v, Value::Null) {
            let bit = i + 2;
            bitmap[bit / 8] |= 1 << (bit % 8);
        }
    }
    p.put_slice(&bitmap);
    for (v, t) in row.iter().zip(types) {
        match (v, *t) {
            (Value::Null, _) => {}
            (Value::Integer(i), column_type::LONGLONG) => p.put_i64_le(*i),
            (Value::Integer(i), column_type::DOUBLE) => p.put_f64_le(*i as f64),
            (Value::Real(f), column_type::DOUBLE) => p.put_f64_le(*f),
            (v, _) => {
                wire::lenenc::write_lenenc_bytes(p, &text_value(v).unwrap_or_default());
            }
        }
    }
}

/// An error for the client: MySQL's code and SQLSTATE, SQLite's message.
struct Fail {
    code: u16,
    state: &'static str,
    message: String,
}

impl Fail {
    fn new(code: u16, state: &'static str, message: &str) -> Self {
        Fail {
            code,
            state,
            message: message.to_string(),
        }
    }

    fn sqlite(e: rusqlite::Error) -> Self {
        let constraint = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::ConstraintViolation)
        );
        let message = e.to_string();
        if constraint {
            Fail {
                code: 1062,
                state: "23000",
                message,
            }
        } else if message.contains("syntax error") {
            Fail {
                code: 1064,
                state: "42000",
                message,
            }
        } else {
            Fail {
                code: 1105,
                state: "HY000",
                message,
            }
        }
    }
}

fn error(out: &mut BytesMut, seq: u8, e: &Fail) {
    let mut p = BytesMut::new();
    ErrPacket::new(e.code, e.state, e.message.clone()).encode(&mut p);
    wire::write_packet(out, seq, &p);
}
