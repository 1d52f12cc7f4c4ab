//! ErrorResponse / NoticeResponse fields: a list of (code byte, string) pairs ending in a NUL.

use std::borrow::Cow;

use crate::error::Result;
use crate::reader::Reader;

/// Field codes of ErrorResponse and NoticeResponse.
pub mod field {
    /// Severity, possibly localized.
    pub const SEVERITY: u8 = b'S';
    /// Severity, never localized (9.6+).
    pub const SEVERITY_NONLOCALIZED: u8 = b'V';
    /// SQLSTATE code.
    pub const CODE: u8 = b'C';
    /// Primary message.
    pub const MESSAGE: u8 = b'M';
    /// Detail.
    pub const DETAIL: u8 = b'D';
    /// Hint.
    pub const HINT: u8 = b'H';
    /// Cursor position in the query string (1-based, characters).
    pub const POSITION: u8 = b'P';
    /// Position in an internally generated query.
    pub const INTERNAL_POSITION: u8 = b'p';
    /// Internally generated query.
    pub const INTERNAL_QUERY: u8 = b'q';
    /// Context (call stack).
    pub const WHERE: u8 = b'W';
    /// Schema name.
    pub const SCHEMA: u8 = b's';
    /// Table name.
    pub const TABLE: u8 = b't';
    /// Column name.
    pub const COLUMN: u8 = b'c';
    /// Data type name.
    pub const DATA_TYPE: u8 = b'd';
    /// Constraint name.
    pub const CONSTRAINT: u8 = b'n';
    /// Source file.
    pub const FILE: u8 = b'F';
    /// Source line.
    pub const LINE: u8 = b'L';
    /// Source routine.
    pub const ROUTINE: u8 = b'R';
}

/// Validated fields of an ErrorResponse or NoticeResponse. Values are raw bytes because the
/// server sends them in the connection's client_encoding; string getters decode lossily.
#[derive(Debug, Clone)]
pub struct ErrorFields<'a> {
    raw: &'a [u8],
}

impl<'a> ErrorFields<'a> {
    pub(crate) fn parse(mut r: Reader<'a>) -> Result<Self> {
        let raw = r.rest();
        loop {
            let code = r.u8("field type")?;
            if code == 0 {
                break;
            }
            r.cstr_bytes("field value")?;
        }
        r.finish()?;
        Ok(Self { raw })
    }

    /// All fields in order, as (code, raw value).
    pub fn iter(&self) -> impl Iterator<Item = (u8, &'a [u8])> + '_ {
        let mut r = Reader::new(self.raw, "ErrorResponse");
        std::iter::from_fn(move || {
            let code = r.u8("field type").ok()?;
            if code == 0 {
                return None;
            }
            Some((code, r.cstr_bytes("field value").ok()?))
        })
    }

    /// A field's raw value (the first occurrence).
    pub fn get_bytes(&self, code: u8) -> Option<&'a [u8]> {
        self.iter().find(|&(c, _)| c == code).map(|(_, v)| v)
    }

    /// A field's value, decoded lossily as UTF-8.
    pub fn get(&self, code: u8) -> Option<Cow<'a, str>> {
        self.get_bytes(code).map(String::from_utf8_lossy)
    }

    /// Non-localized severity if present (`ERROR`, `FATAL`, `PANIC`, `WARNING`, ...), else the
    /// possibly localized one.
    pub fn severity(&self) -> Option<Cow<'a, str>> {
        self.get(field::SEVERITY_NONLOCALIZED)
            .or_else(|| self.get(field::SEVERITY))
    }

    /// SQLSTATE code.
    pub fn code(&self) -> Option<Cow<'a, str>> {
        self.get(field::CODE)
    }

    /// Primary message.
    pub fn message(&self) -> Option<Cow<'a, str>> {
        self.get(field::MESSAGE)
    }

    /// Detail.
    pub fn detail(&self) -> Option<Cow<'a, str>> {
        self.get(field::DETAIL)
    }

    /// Hint.
    pub fn hint(&self) -> Option<Cow<'a, str>> {
        self.get(field::HINT)
    }

    /// Cursor position in the query, if the server reported one.
    pub fn position(&self) -> Option<u32> {
        self.get(field::POSITION)?.parse().ok()
    }

    /// Whether the severity ends the session (`FATAL` or `PANIC`).
    pub fn is_fatal(&self) -> bool {
        matches!(self.severity().as_deref(), Some("FATAL" | "PANIC"))
    }
}
