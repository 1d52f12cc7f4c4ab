//! Server answers: OK, ERR, EOF, PrepareOk, column definitions, text rows, and the
//! [`ResponseTracker`] that follows an answer packet by packet.
//!
//! # Telling rows from terminators
//!
//! A result set's rows end with an EOF packet (`0xfe`, warnings, status: 5 bytes) or, with
//! `CLIENT_DEPRECATE_EOF`, an OK packet whose header is `0xfe` (at least 7 bytes). A text row
//! can also start with `0xfe`: the 8-byte length prefix of its first value. That prefix is used
//! only for values of 2^24 bytes or more, so such a row's joined payload is at least
//! `1 + 8 + 0x1000000` bytes. Hence the rule used here (and by libmysqlclient): a payload is a
//! terminator iff its first byte is `0xfe` **and** its joined length is below `0xffffff`
//! ([`is_eof_packet`]). It must be applied to joined logical payloads (see
//! [`PacketDecoder`](crate::PacketDecoder)), never to physical packets. Binary rows always
//! start with `0x00`; an ERR packet (`0xff`) can replace any row.

use bytes::{BufMut, BytesMut};

use crate::consts::caps::*;
use crate::consts::status::*;
use crate::error::{ProtocolError, Result};
use crate::lenenc::{Reader, write_lenenc_bytes, write_lenenc_int};
use crate::packet::MAX_PAYLOAD;

/// Header of an OK packet.
pub const OK_HEADER: u8 = 0x00;
/// Header of an EOF packet (and of OK packets replacing EOF).
pub const EOF_HEADER: u8 = 0xfe;
/// Header of an ERR packet.
pub const ERR_HEADER: u8 = 0xff;
/// Header of a LOCAL INFILE request.
pub const LOCAL_INFILE_HEADER: u8 = 0xfb;

/// An OK packet (header `0x00`, or `0xfe` when it replaces an EOF).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkPacket {
    /// Affected rows.
    pub affected_rows: u64,
    /// Last insert id.
    pub last_insert_id: u64,
    /// Server status flags.
    pub status: u16,
    /// Warning count.
    pub warnings: u16,
    /// Human-readable info (lossy UTF-8).
    pub info: String,
    /// Raw session-state-change data (with `CLIENT_SESSION_TRACK` and
    /// `SERVER_SESSION_STATE_CHANGED`).
    pub session_state: Vec<u8>,
}

impl OkPacket {
    /// Decodes an OK payload (header `0x00` or `0xfe`) under the negotiated capabilities.
    pub fn decode(payload: &[u8], caps: u32) -> Result<Self> {
        let mut r = Reader::new(payload, "OK packet");
        match r.u8("header")? {
            OK_HEADER | EOF_HEADER => {}
            _ => return Err(r.invalid("header", "not 0x00 or 0xfe")),
        }
        let mut ok = Self {
            affected_rows: r.lenenc_int("affected rows")?,
            last_insert_id: r.lenenc_int("last insert id")?,
            ..Self::default()
        };
        if caps & CLIENT_PROTOCOL_41 != 0 {
            ok.status = r.u16("status")?;
            ok.warnings = r.u16("warnings")?;
        } else if caps & CLIENT_TRANSACTIONS != 0 {
            ok.status = r.u16("status")?;
        }
        if caps & CLIENT_SESSION_TRACK != 0 {
            if !r.is_empty() {
                ok.info = String::from_utf8_lossy(r.lenenc_bytes("info")?).into_owned();
            }
            if ok.status & SERVER_SESSION_STATE_CHANGED != 0 && !r.is_empty() {
                ok.session_state = r.lenenc_bytes("session state")?.to_vec();
            }
        } else {
            ok.info = String::from_utf8_lossy(r.take_rest()).into_owned();
        }
        Ok(ok)
    }

    /// Appends the payload with `header` (`0x00`, or `0xfe` for an OK replacing an EOF under
    /// `CLIENT_DEPRECATE_EOF`).
    pub fn encode(&self, out: &mut BytesMut, caps: u32, header: u8) {
        out.put_u8(header);
        write_lenenc_int(out, self.affected_rows);
        write_lenenc_int(out, self.last_insert_id);
        if caps & CLIENT_PROTOCOL_41 != 0 {
            out.put_u16_le(self.status);
            out.put_u16_le(self.warnings);
        } else if caps & CLIENT_TRANSACTIONS != 0 {
            out.put_u16_le(self.status);
        }
        if caps & CLIENT_SESSION_TRACK != 0 {
            let changed = self.status & SERVER_SESSION_STATE_CHANGED != 0;
            if !self.info.is_empty() || changed {
                write_lenenc_bytes(out, self.info.as_bytes());
            }
            if changed {
                write_lenenc_bytes(out, &self.session_state);
            }
        } else {
            out.put_slice(self.info.as_bytes());
        }
    }
}

/// An ERR packet (header `0xff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrPacket {
    /// MySQL error code.
    pub code: u16,
    /// SQLSTATE (`HY000` when the server sent none).
    pub sql_state: [u8; 5],
    /// Message (lossy UTF-8).
    pub message: String,
}

impl ErrPacket {
    /// An ERR packet.
    pub fn new(code: u16, sql_state: &str, message: impl Into<String>) -> Self {
        let mut state = *b"HY000";
        if let Ok(s) = <[u8; 5]>::try_from(sql_state.as_bytes()) {
            state = s;
        }
        Self {
            code,
            sql_state: state,
            message: message.into(),
        }
    }

    /// The ERR packet a server would send for a protocol error (its text is safe to send).
    pub fn from_protocol_error(e: &ProtocolError) -> Self {
        Self::new(e.error_code(), e.sqlstate(), e.to_string_client())
    }

    /// Decodes an ERR payload (with or without the `#` + SQLSTATE marker).
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = Reader::new(payload, "ERR packet");
        if r.u8("header")? != ERR_HEADER {
            return Err(r.invalid("header", "not 0xff"));
        }
        let code = r.u16("error code")?;
        let mut sql_state = *b"HY000";
        if r.peek() == Some(b'#') {
            r.u8("sqlstate marker")?;
            sql_state = r.array("sqlstate")?;
        }
        let message = String::from_utf8_lossy(r.take_rest()).into_owned();
        Ok(Self {
            code,
            sql_state,
            message,
        })
    }

    /// Appends the payload in the protocol-4.1 form (`#` + SQLSTATE).
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(ERR_HEADER);
        out.put_u16_le(self.code);
        out.put_u8(b'#');
        out.put_slice(&self.sql_state);
        out.put_slice(self.message.as_bytes());
    }
}

/// Appends a classic EOF payload (`0xfe`, warnings, status).
pub fn encode_eof(out: &mut BytesMut, warnings: u16, status: u16) {
    out.put_u8(EOF_HEADER);
    out.put_u16_le(warnings);
    out.put_u16_le(status);
}

/// Whether a joined payload is an EOF packet or an OK packet replacing one: header `0xfe` and
/// length below `0xffffff` (a classic EOF is 5 bytes, an OK-as-EOF at least 7). A text row
/// starting with `0xfe` (8-byte length prefix) is always at least `0xffffff` bytes long; see
/// the [module docs](self).
pub fn is_eof_packet(payload: &[u8]) -> bool {
    payload.first() == Some(&EOF_HEADER) && payload.len() < MAX_PAYLOAD
}

/// The status flags of a terminator (EOF, or OK with header `0x00`/`0xfe`), and the offset of
/// its status field.
fn terminator_status(payload: &[u8], caps: u32) -> Result<(u16, Option<usize>)> {
    match payload {
        [EOF_HEADER] => Ok((0, None)),
        [EOF_HEADER, _, _, s0, s1] => Ok((u16::from_le_bytes([*s0, *s1]), Some(3))),
        _ => {
            let mut r = Reader::new(payload, "OK packet");
            match r.u8("header")? {
                OK_HEADER | EOF_HEADER => {}
                _ => return Err(r.invalid("header", "not 0x00 or 0xfe")),
            }
            r.lenenc_int("affected rows")?;
            r.lenenc_int("last insert id")?;
            if caps & (CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS) == 0 {
                return Ok((0, None));
            }
            let at = payload.len() - r.remaining();
            Ok((r.u16("status")?, Some(at)))
        }
    }
}

/// Sets or clears flags in the status field of a final OK or EOF payload in place (e.g. to
/// mark `SERVER_MORE_RESULTS_EXISTS` when stitching answers together).
pub fn patch_status(payload: &mut [u8], caps: u32, set: u16, clear: u16) -> Result<()> {
    let (status, at) = terminator_status(payload, caps)?;
    let Some(at) = at else {
        return Err(ProtocolError::InvalidField {
            packet: "OK packet",
            field: "status",
            reason: "the packet carries no status flags",
        });
    };
    let new = (status | set) & !clear;
    match payload.get_mut(at..at + 2) {
        Some(slot) => {
            slot.copy_from_slice(&new.to_le_bytes());
            Ok(())
        }
        None => Err(ProtocolError::Truncated {
            packet: "OK packet",
            field: "status",
        }),
    }
}

/// The first packet of a successful COM_STMT_PREPARE answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrepareOk {
    /// Statement id.
    pub stmt_id: u32,
    /// Result columns.
    pub num_columns: u16,
    /// Parameters.
    pub num_params: u16,
    /// Warnings.
    pub warnings: u16,
}

impl PrepareOk {
    /// Decodes the payload (the warning count is optional, as in old servers).
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = Reader::new(payload, "PrepareOk");
        if r.u8("header")? != OK_HEADER {
            return Err(r.invalid("header", "not 0x00"));
        }
        let stmt_id = r.u32("statement id")?;
        let num_columns = r.u16("column count")?;
        let num_params = r.u16("parameter count")?;
        let mut warnings = 0;
        if !r.is_empty() {
            r.u8("reserved")?;
            warnings = r.u16("warnings")?;
        }
        Ok(Self {
            stmt_id,
            num_columns,
            num_params,
            warnings,
        })
    }

    /// Appends the 12-byte payload.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(OK_HEADER);
        out.put_u32_le(self.stmt_id);
        out.put_u16_le(self.num_columns);
        out.put_u16_le(self.num_params);
        out.put_u8(0);
        out.put_u16_le(self.warnings);
    }
}

/// Rewrites the statement id of a PrepareOk payload in place.
pub fn set_prepare_ok_stmt_id(payload: &mut [u8], id: u32) -> Result<()> {
    if payload.first() != Some(&OK_HEADER) {
        return Err(ProtocolError::InvalidField {
            packet: "PrepareOk",
            field: "header",
            reason: "not 0x00",
        });
    }
    match payload.get_mut(1..5) {
        Some(slot) => {
            slot.copy_from_slice(&id.to_le_bytes());
            Ok(())
        }
        None => Err(ProtocolError::Truncated {
            packet: "PrepareOk",
            field: "statement id",
        }),
    }
}

/// A protocol-4.1 column definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnDef {
    /// Schema.
    pub schema: String,
    /// Table alias.
    pub table: String,
    /// Physical table.
    pub org_table: String,
    /// Column alias.
    pub name: String,
    /// Physical column.
    pub org_name: String,
    /// Collation id.
    pub charset: u16,
    /// Maximum display length.
    pub length: u32,
    /// Column type ([`column_type`](crate::consts::column_type)).
    pub column_type: u8,
    /// Flags ([`column_flags`](crate::consts::column_flags)).
    pub flags: u16,
    /// Decimals.
    pub decimals: u8,
}

impl ColumnDef {
    /// Appends the payload (catalog `def`).
    pub fn encode(&self, out: &mut BytesMut) {
        write_lenenc_bytes(out, b"def");
        write_lenenc_bytes(out, self.schema.as_bytes());
        write_lenenc_bytes(out, self.table.as_bytes());
        write_lenenc_bytes(out, self.org_table.as_bytes());
        write_lenenc_bytes(out, self.name.as_bytes());
        write_lenenc_bytes(out, self.org_name.as_bytes());
        write_lenenc_int(out, 0x0c);
        out.put_u16_le(self.charset);
        out.put_u32_le(self.length);
        out.put_u8(self.column_type);
        out.put_u16_le(self.flags);
        out.put_u8(self.decimals);
        out.put_u16_le(0);
    }

    /// Decodes a payload (names are lossy UTF-8; the catalog is ignored).
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = Reader::new(payload, "column definition");
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        r.lenenc_bytes("catalog")?;
        let schema = s(r.lenenc_bytes("schema")?);
        let table = s(r.lenenc_bytes("table")?);
        let org_table = s(r.lenenc_bytes("org_table")?);
        let name = s(r.lenenc_bytes("name")?);
        let org_name = s(r.lenenc_bytes("org_name")?);
        let fixed = r.lenenc_int("fixed length")?;
        if fixed < 0x0a {
            return Err(r.invalid("fixed length", "below 10"));
        }
        Ok(Self {
            schema,
            table,
            org_table,
            name,
            org_name,
            charset: r.u16("charset")?,
            length: r.u32("length")?,
            column_type: r.u8("type")?,
            flags: r.u16("flags")?,
            decimals: r.u8("decimals")?,
        })
    }
}

/// Appends a text-protocol row payload: each value length-encoded, `0xfb` for NULL.
pub fn encode_text_row(out: &mut BytesMut, values: &[Option<&[u8]>]) {
    for v in values {
        match v {
            Some(b) => write_lenenc_bytes(out, b),
            None => out.put_u8(LOCAL_INFILE_HEADER),
        }
    }
}

/// What answer a command expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// COM_QUERY: OK | ERR | LOCAL INFILE request (`0xfb`) | result set(s) with text rows.
    Query,
    /// COM_STMT_EXECUTE: OK | ERR | binary result set(s) (several for CALL with
    /// `CLIENT_PS_MULTI_RESULTS`); a result set that opens a cursor ends after its column
    /// definitions.
    Execute,
    /// COM_STMT_PREPARE: PrepareOk, then `num_params` parameter definitions (+ EOF unless
    /// `CLIENT_DEPRECATE_EOF`), then `num_columns` column definitions (+ EOF likewise), or ERR.
    Prepare,
    /// One OK (or EOF-shaped OK) or ERR: PING, INIT_DB, RESET_CONNECTION, STMT_RESET,
    /// SET_OPTION, CHANGE_USER's final answer.
    Simple,
    /// COM_STATISTICS: one string packet (or ERR).
    Statistics,
    /// COM_FIELD_LIST: column definitions then EOF (or OK-as-EOF), or ERR.
    FieldList,
    /// COM_STMT_FETCH: binary rows then EOF / OK-as-EOF, or ERR.
    Fetch,
}

/// What one packet of an answer was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Part of the answer; more packets follow.
    Continue,
    /// `0xfb`: the server asks for a local file. The proxy refuses by sending an empty packet,
    /// then calls [`ResponseTracker::after_local_infile`].
    LocalInfile,
    /// The first packet of a successful prepare. More follow unless it has 0 parameters and 0
    /// columns, in which case [`ResponseTracker::done`] is already true.
    PrepareOk(PrepareOk),
    /// The answer is complete (no `SERVER_MORE_RESULTS_EXISTS` pending).
    Done {
        /// The final OK/EOF status flags; `None` after ERR and for answers without a final
        /// status (COM_STATISTICS, a prepare under `CLIENT_DEPRECATE_EOF`).
        status: Option<u16>,
        /// The ERR packet that ended the answer.
        error: Option<ErrPacket>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The first packet of an answer (or of the next result set).
    Start,
    /// Column definitions of a result set.
    Columns(u32),
    /// The EOF after the column definitions.
    ColumnsEof,
    /// Rows.
    Rows,
    /// Waiting for the client's file data.
    LocalInfile,
    /// Parameter definitions of a prepare, then its column count.
    PrepareParams(u16, u16),
    /// The EOF after the parameters, then the column count.
    PrepareParamsEof(u16),
    /// Column definitions of a prepare.
    PrepareColumns(u16),
    /// The EOF after a prepare's columns.
    PrepareColumnsEof,
    /// The answer is complete.
    Done,
}

/// Follows a server's answer to one command, packet by packet, so a proxy knows where the
/// answer ends, whether another result set follows, the final status flags (transaction
/// state) and any ERR. Needs only the current (joined) payload.
///
/// `CLIENT_OPTIONAL_RESULTSET_METADATA` is not supported: do not negotiate it.
#[derive(Debug, Clone)]
pub struct ResponseTracker {
    expect: Expect,
    caps: u32,
    state: State,
}

impl ResponseTracker {
    /// A tracker for the answer to a command, under the negotiated capabilities
    /// (`CLIENT_DEPRECATE_EOF` and `CLIENT_PROTOCOL_41` matter).
    pub fn new(expect: Expect, caps: u32) -> Self {
        Self {
            expect,
            caps,
            state: State::Start,
        }
    }

    /// Whether the answer is complete.
    pub fn done(&self) -> bool {
        self.state == State::Done
    }

    /// After [`Event::LocalInfile`] and the client's file data (or the proxy's empty packet),
    /// the server answers with OK or ERR (and, for multi-statements, possibly more results):
    /// switch to expecting it.
    pub fn after_local_infile(&mut self) {
        if self.state == State::LocalInfile {
            self.state = State::Start;
        }
    }

    fn deprecate_eof(&self) -> bool {
        self.caps & CLIENT_DEPRECATE_EOF != 0
    }

    fn unexpected(&self, payload: &[u8], state: &'static str) -> ProtocolError {
        ProtocolError::UnexpectedPacket {
            state,
            header: payload.first().copied().unwrap_or(0),
        }
    }

    fn error(&mut self, payload: &[u8]) -> Result<Event> {
        let err = ErrPacket::decode(payload)?;
        self.state = State::Done;
        Ok(Event::Done {
            status: None,
            error: Some(err),
        })
    }

    /// The end of a result set or OK: done unless more results follow.
    fn end_of_result(&mut self, status: u16) -> Event {
        let more = status & SERVER_MORE_RESULTS_EXISTS != 0
            && matches!(self.expect, Expect::Query | Expect::Execute);
        if more {
            self.state = State::Start;
            Event::Continue
        } else {
            self.state = State::Done;
            Event::Done {
                status: Some(status),
                error: None,
            }
        }
    }

    fn finish(&mut self, status: Option<u16>) -> Event {
        self.state = State::Done;
        Event::Done {
            status,
            error: None,
        }
    }

    /// Feeds the next joined payload of the answer.
    ///
    /// A result set ended with `SERVER_MORE_RESULTS_EXISTS` continues with the next one
    /// ([`Event::Continue`]). Feeding after the answer is complete, or a packet that cannot
    /// appear at this point, is an error.
    pub fn feed(&mut self, payload: &[u8]) -> Result<Event> {
        let Some(&header) = payload.first() else {
            return Err(ProtocolError::Empty {
                packet: "server answer",
            });
        };
        match self.state {
            State::Done => Err(self.unexpected(payload, "after the end of the answer")),
            State::LocalInfile => Err(self.unexpected(payload, "a LOCAL INFILE exchange")),
            State::Start => self.start(payload, header),
            State::Columns(n) => {
                if header == ERR_HEADER {
                    return self.error(payload);
                }
                if is_eof_packet(payload) {
                    return Err(self.unexpected(payload, "column definitions"));
                }
                self.state = match (n.saturating_sub(1), self.deprecate_eof()) {
                    (0, true) => State::Rows,
                    (0, false) => State::ColumnsEof,
                    (left, _) => State::Columns(left),
                };
                Ok(Event::Continue)
            }
            State::ColumnsEof => {
                if header == ERR_HEADER {
                    return self.error(payload);
                }
                if !is_eof_packet(payload) {
                    return Err(self.unexpected(payload, "the EOF after column definitions"));
                }
                let (status, _) = terminator_status(payload, self.caps)?;
                if self.expect == Expect::Execute && status & SERVER_STATUS_CURSOR_EXISTS != 0 {
                    // A cursor was opened: rows come with COM_STMT_FETCH.
                    return Ok(self.end_of_result(status));
                }
                self.state = State::Rows;
                Ok(Event::Continue)
            }
            State::Rows => {
                if header == ERR_HEADER {
                    return self.error(payload);
                }
                if is_eof_packet(payload) {
                    let (status, _) = terminator_status(payload, self.caps)?;
                    return Ok(self.end_of_result(status));
                }
                if matches!(self.expect, Expect::Execute | Expect::Fetch) && header != 0x00 {
                    return Err(self.unexpected(payload, "binary rows"));
                }
                Ok(Event::Continue)
            }
            State::PrepareParams(left, cols) => {
                if header == ERR_HEADER {
                    return self.error(payload);
                }
                if is_eof_packet(payload) {
                    return Err(self.unexpected(payload, "parameter definitions"));
                }
                self.state = if left > 1 {
                    State::PrepareParams(left - 1, cols)
                } else if !self.deprecate_eof() {
                    State::PrepareParamsEof(cols)
                } else if cols > 0 {
                    State::PrepareColumns(cols)
                } else {
                    return Ok(self.finish(None));
                };
                Ok(Event::Continue)
            }
            State::PrepareParamsEof(cols) => {
                if !is_eof_packet(payload) {
                    return Err(self.unexpected(payload, "the EOF after parameter definitions"));
                }
                let (status, _) = terminator_status(payload, self.caps)?;
                if cols == 0 {
                    return Ok(self.finish(Some(status)));
                }
                self.state = State::PrepareColumns(cols);
                Ok(Event::Continue)
            }
            State::PrepareColumns(left) => {
                if header == ERR_HEADER {
                    return self.error(payload);
                }
                if is_eof_packet(payload) {
                    return Err(self.unexpected(payload, "column definitions"));
                }
                self.state = if left > 1 {
                    State::PrepareColumns(left - 1)
                } else if !self.deprecate_eof() {
                    State::PrepareColumnsEof
                } else {
                    return Ok(self.finish(None));
                };
                Ok(Event::Continue)
            }
            State::PrepareColumnsEof => {
                if !is_eof_packet(payload) {
                    return Err(self.unexpected(payload, "the EOF after column definitions"));
                }
                let (status, _) = terminator_status(payload, self.caps)?;
                Ok(self.finish(Some(status)))
            }
        }
    }

    fn start(&mut self, payload: &[u8], header: u8) -> Result<Event> {
        if header == ERR_HEADER {
            return self.error(payload);
        }
        match self.expect {
            Expect::Query | Expect::Execute => match header {
                OK_HEADER => {
                    let (status, _) = terminator_status(payload, self.caps)?;
                    Ok(self.end_of_result(status))
                }
                LOCAL_INFILE_HEADER if self.expect == Expect::Query => {
                    self.state = State::LocalInfile;
                    Ok(Event::LocalInfile)
                }
                _ => {
                    let mut r = Reader::new(payload, "result set header");
                    let n = r.lenenc_int("column count")?;
                    if n == 0 || n > u64::from(u16::MAX) || is_eof_packet(payload) {
                        return Err(self.unexpected(payload, "a result set header"));
                    }
                    if !r.is_empty() {
                        return Err(r.invalid("column count", "trailing bytes"));
                    }
                    self.state = State::Columns(n as u32);
                    Ok(Event::Continue)
                }
            },
            Expect::Prepare => {
                let ok = PrepareOk::decode(payload)?;
                self.state = if ok.num_params > 0 {
                    State::PrepareParams(ok.num_params, ok.num_columns)
                } else if ok.num_columns > 0 {
                    State::PrepareColumns(ok.num_columns)
                } else {
                    State::Done
                };
                Ok(Event::PrepareOk(ok))
            }
            Expect::Simple => match header {
                OK_HEADER | EOF_HEADER if payload.len() < MAX_PAYLOAD => {
                    let (status, _) = terminator_status(payload, self.caps)?;
                    Ok(self.finish(Some(status)))
                }
                _ => Err(self.unexpected(payload, "an OK packet")),
            },
            Expect::Statistics => Ok(self.finish(None)),
            Expect::FieldList | Expect::Fetch => {
                self.state = State::Rows;
                self.feed(payload)
            }
        }
    }
}
