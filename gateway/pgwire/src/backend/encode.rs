//! Encoders for the backend messages a gateway synthesizes for its clients.
//!
//! Plain functions appending to a `BytesMut`. Error and notice encoders never fail (the error
//! path must not itself error): interior NULs in their text become spaces and a malformed
//! SQLSTATE becomes `XX000`. Other encoders taking strings refuse interior NULs and leave
//! `buf` unchanged on error.

use bytes::{BufMut, BytesMut};

use super::TransactionStatus;
use super::fields::field;
use crate::error::Result;
use crate::frame::{count_i16, len_i32, put_cstr, put_cstr_lossy, write_message};

/// Severity of an ErrorResponse or NoticeResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The statement failed; the session continues.
    Error,
    /// The session ends.
    Fatal,
    /// All sessions end.
    Panic,
    /// Notice: warning.
    Warning,
    /// Notice.
    Notice,
    /// Notice: debug.
    Debug,
    /// Notice: info.
    Info,
    /// Notice: log.
    Log,
}

impl Severity {
    /// The non-localized wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Fatal => "FATAL",
            Self::Panic => "PANIC",
            Self::Warning => "WARNING",
            Self::Notice => "NOTICE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Log => "LOG",
        }
    }
}

/// An error or notice to send to a client. Build with [`PgError::new`] and the setters.
///
/// ```
/// use articdbm_pgwire::backend::encode::{error_response, PgError, Severity};
/// let mut buf = bytes::BytesMut::new();
/// let e = PgError::new(Severity::Error, "42501", "permission denied for table accounts")
///     .hint("rule acl.tables denied SELECT");
/// error_response(&mut buf, &e);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    /// Severity.
    pub severity: Severity,
    /// SQLSTATE: five characters of `0-9A-Z`.
    pub code: String,
    /// Primary message.
    pub message: String,
    /// Optional detail.
    pub detail: Option<String>,
    /// Optional hint.
    pub hint: Option<String>,
    /// Optional cursor position in the query (1-based).
    pub position: Option<u32>,
    /// Optional routine name (e.g. the rule or component that raised it).
    pub routine: Option<String>,
}

impl PgError {
    /// A new error with severity, SQLSTATE and message.
    pub fn new(severity: Severity, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity,
            code: code.into(),
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            routine: None,
        }
    }

    /// Set the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Set the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Set the cursor position.
    pub fn position(mut self, position: u32) -> Self {
        self.position = Some(position);
        self
    }

    /// Set the routine.
    pub fn routine(mut self, routine: impl Into<String>) -> Self {
        self.routine = Some(routine.into());
        self
    }

    /// An ERROR-severity error built from a protocol error, with its client-safe text.
    pub fn from_protocol(e: &crate::ProtocolError, severity: Severity) -> Self {
        Self::new(severity, e.sqlstate(), e.to_string_client())
    }
}

fn valid_sqlstate(code: &str) -> bool {
    code.len() == 5
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn notice_or_error(buf: &mut BytesMut, tag: u8, e: &PgError) {
    let start = buf.len();
    buf.put_u8(tag);
    buf.put_i32(0);
    let mut put = |code: u8, value: &str| {
        buf.put_u8(code);
        put_cstr_lossy(buf, value);
    };
    put(field::SEVERITY, e.severity.as_str());
    put(field::SEVERITY_NONLOCALIZED, e.severity.as_str());
    put(
        field::CODE,
        if valid_sqlstate(&e.code) {
            &e.code
        } else {
            "XX000"
        },
    );
    put(field::MESSAGE, &e.message);
    if let Some(d) = &e.detail {
        put(field::DETAIL, d);
    }
    if let Some(h) = &e.hint {
        put(field::HINT, h);
    }
    if let Some(p) = e.position {
        put(field::POSITION, &p.to_string());
    }
    if let Some(r) = &e.routine {
        put(field::ROUTINE, r);
    }
    buf.put_u8(0);
    // Message text is gateway-controlled and small; clamp anyway rather than panic.
    let len = i32::try_from(buf.len() - start - 1).unwrap_or(i32::MAX);
    if let Some(slot) = buf.get_mut(start + 1..start + 5) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
}

/// ErrorResponse.
pub fn error_response(buf: &mut BytesMut, e: &PgError) {
    notice_or_error(buf, b'E', e);
}

/// NoticeResponse.
pub fn notice_response(buf: &mut BytesMut, e: &PgError) {
    notice_or_error(buf, b'N', e);
}

fn auth(buf: &mut BytesMut, code: i32, extra: &[u8]) {
    buf.put_u8(b'R');
    // Callers pass bounded payloads (SCRAM messages, mechanism lists).
    buf.put_i32(i32::try_from(8 + extra.len()).unwrap_or(i32::MAX));
    buf.put_i32(code);
    buf.put_slice(extra);
}

/// AuthenticationOk.
pub fn authentication_ok(buf: &mut BytesMut) {
    auth(buf, 0, &[]);
}

/// AuthenticationCleartextPassword.
pub fn authentication_cleartext_password(buf: &mut BytesMut) {
    auth(buf, 3, &[]);
}

/// AuthenticationMD5Password with its 4-byte salt.
pub fn authentication_md5_password(buf: &mut BytesMut, salt: [u8; 4]) {
    auth(buf, 5, &salt);
}

/// AuthenticationSASL listing mechanisms (e.g. `["SCRAM-SHA-256"]`).
pub fn authentication_sasl(buf: &mut BytesMut, mechanisms: &[&str]) -> Result<()> {
    const M: &str = "AuthenticationSASL";
    write_message(buf, Some(b'R'), M, |buf| {
        buf.put_i32(10);
        for m in mechanisms {
            put_cstr(buf, m.as_bytes(), M, "mechanism")?;
        }
        buf.put_u8(0);
        Ok(())
    })
}

/// AuthenticationSASLContinue carrying the SCRAM server-first message.
pub fn authentication_sasl_continue(buf: &mut BytesMut, data: &[u8]) {
    auth(buf, 11, data);
}

/// AuthenticationSASLFinal carrying the SCRAM server-final message.
pub fn authentication_sasl_final(buf: &mut BytesMut, data: &[u8]) {
    auth(buf, 12, data);
}

/// ParameterStatus.
pub fn parameter_status(buf: &mut BytesMut, name: &str, value: &str) -> Result<()> {
    const M: &str = "ParameterStatus";
    write_message(buf, Some(b'S'), M, |buf| {
        put_cstr(buf, name.as_bytes(), M, "name")?;
        put_cstr(buf, value.as_bytes(), M, "value")
    })
}

/// BackendKeyData (the gateway's own cancel key for this client).
pub fn backend_key_data(buf: &mut BytesMut, process_id: i32, secret_key: &[u8]) -> Result<()> {
    const M: &str = "BackendKeyData";
    if !(4..=crate::startup::MAX_CANCEL_KEY_LEN).contains(&secret_key.len()) {
        return Err(crate::ProtocolError::InvalidField {
            message: M,
            field: "secret key",
            reason: "must be 4 to 256 bytes",
        });
    }
    write_message(buf, Some(b'K'), M, |buf| {
        buf.put_i32(process_id);
        buf.put_slice(secret_key);
        Ok(())
    })
}

/// ReadyForQuery.
pub fn ready_for_query(buf: &mut BytesMut, status: TransactionStatus) {
    buf.put_u8(b'Z');
    buf.put_i32(5);
    buf.put_u8(status.as_byte());
}

/// CommandComplete with a command tag such as `SELECT 1`.
pub fn command_complete(buf: &mut BytesMut, tag: &str) -> Result<()> {
    write_message(buf, Some(b'C'), "CommandComplete", |buf| {
        put_cstr(buf, tag.as_bytes(), "CommandComplete", "command tag")
    })
}

/// A column for [`row_description`], text format, no source table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<'a> {
    /// Column name.
    pub name: &'a str,
    /// Type OID (25 = text).
    pub type_oid: u32,
    /// Type size (-1 = variable).
    pub type_size: i16,
}

impl<'a> Column<'a> {
    /// A `text` column.
    pub fn text(name: &'a str) -> Self {
        Self {
            name,
            type_oid: 25,
            type_size: -1,
        }
    }
}

/// RowDescription for text-format columns.
pub fn row_description(buf: &mut BytesMut, columns: &[Column<'_>]) -> Result<()> {
    row_description_with_formats(buf, columns, &[])
}

/// RowDescription with a format code per column: `formats[i]` for column `i`, text (0) where
/// `formats` is shorter. This is the answer to Describe of a portal, whose result formats Bind
/// has chosen; Describe of a statement uses [`row_description`] (formats not yet known).
pub fn row_description_with_formats(
    buf: &mut BytesMut,
    columns: &[Column<'_>],
    formats: &[i16],
) -> Result<()> {
    const M: &str = "RowDescription";
    write_message(buf, Some(b'T'), M, |buf| {
        buf.put_i16(count_i16(columns.len(), M, "columns")?);
        for (i, c) in columns.iter().enumerate() {
            put_cstr(buf, c.name.as_bytes(), M, "column name")?;
            buf.put_u32(0);
            buf.put_i16(0);
            buf.put_u32(c.type_oid);
            buf.put_i16(c.type_size);
            buf.put_i32(-1);
            buf.put_i16(formats.get(i).copied().unwrap_or(0));
        }
        Ok(())
    })
}

/// DataRow (`None` = NULL).
pub fn data_row<'a>(
    buf: &mut BytesMut,
    values: impl IntoIterator<Item = Option<&'a [u8]>>,
) -> Result<()> {
    const M: &str = "DataRow";
    write_message(buf, Some(b'D'), M, |buf| {
        let count_at = buf.len();
        buf.put_i16(0);
        let mut n = 0usize;
        for v in values {
            match v {
                None => buf.put_i32(-1),
                Some(v) => {
                    buf.put_i32(len_i32(v.len(), M, "value")?);
                    buf.put_slice(v);
                }
            }
            n += 1;
        }
        let n16 = count_i16(n, M, "columns")?;
        if let Some(slot) = buf.get_mut(count_at..count_at + 2) {
            slot.copy_from_slice(&n16.to_be_bytes());
        }
        Ok(())
    })
}

fn empty(buf: &mut BytesMut, tag: u8) {
    buf.put_u8(tag);
    buf.put_i32(4);
}

/// EmptyQueryResponse.
pub fn empty_query_response(buf: &mut BytesMut) {
    empty(buf, b'I');
}

/// ParseComplete.
pub fn parse_complete(buf: &mut BytesMut) {
    empty(buf, b'1');
}

/// BindComplete.
pub fn bind_complete(buf: &mut BytesMut) {
    empty(buf, b'2');
}

/// CloseComplete.
pub fn close_complete(buf: &mut BytesMut) {
    empty(buf, b'3');
}

/// NoData.
pub fn no_data(buf: &mut BytesMut) {
    empty(buf, b'n');
}

/// PortalSuspended.
pub fn portal_suspended(buf: &mut BytesMut) {
    empty(buf, b's');
}

/// ParameterDescription.
pub fn parameter_description(buf: &mut BytesMut, type_oids: &[u32]) -> Result<()> {
    const M: &str = "ParameterDescription";
    write_message(buf, Some(b't'), M, |buf| {
        buf.put_i16(count_i16(type_oids.len(), M, "parameters")?);
        for &o in type_oids {
            buf.put_u32(o);
        }
        Ok(())
    })
}

fn copy_response(buf: &mut BytesMut, tag: u8, format: i8, column_formats: &[i16]) -> Result<()> {
    const M: &str = "CopyResponse";
    write_message(buf, Some(tag), M, |buf| {
        buf.put_i8(format);
        buf.put_i16(count_i16(column_formats.len(), M, "column formats")?);
        for &f in column_formats {
            buf.put_i16(f);
        }
        Ok(())
    })
}

/// CopyInResponse (format 0 text / 1 binary, per-column formats).
pub fn copy_in_response(buf: &mut BytesMut, format: i8, column_formats: &[i16]) -> Result<()> {
    copy_response(buf, b'G', format, column_formats)
}

/// CopyOutResponse.
pub fn copy_out_response(buf: &mut BytesMut, format: i8, column_formats: &[i16]) -> Result<()> {
    copy_response(buf, b'H', format, column_formats)
}

/// NegotiateProtocolVersion: the newest minor version supported and unrecognized options.
pub fn negotiate_protocol_version(
    buf: &mut BytesMut,
    newest_minor: i32,
    unrecognized: &[&str],
) -> Result<()> {
    const M: &str = "NegotiateProtocolVersion";
    write_message(buf, Some(b'v'), M, |buf| {
        buf.put_i32(newest_minor);
        buf.put_i32(len_i32(unrecognized.len(), M, "options")?);
        for o in unrecognized {
            put_cstr(buf, o.as_bytes(), M, "option name")?;
        }
        Ok(())
    })
}

/// NotificationResponse.
pub fn notification_response(
    buf: &mut BytesMut,
    process_id: i32,
    channel: &str,
    payload: &str,
) -> Result<()> {
    const M: &str = "NotificationResponse";
    write_message(buf, Some(b'A'), M, |buf| {
        buf.put_i32(process_id);
        put_cstr(buf, channel.as_bytes(), M, "channel")?;
        put_cstr(buf, payload.as_bytes(), M, "payload")
    })
}

/// The single-byte answer to SSLRequest: `S` to start TLS, `N` to refuse.
pub fn ssl_response(buf: &mut BytesMut, accept: bool) {
    buf.put_u8(if accept { b'S' } else { b'N' });
}

pub use crate::frontend::encode::{copy_data, copy_done};
