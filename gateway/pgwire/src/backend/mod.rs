//! Backend (server → client) messages: generic framing plus typed accessors for the messages a
//! proxy has to understand.
//!
//! A [`BackendMessage`] is a type byte and the raw frame. Most are forwarded untouched; the
//! accessors (`ready_for_query`, `error_fields`, `authentication`, ...) parse on demand and
//! check the type byte first.

mod auth;
pub mod encode;
mod fields;
mod rows;

use bytes::{Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::frame::{Frame, split_frame};
use crate::reader::Reader;

pub use auth::Authentication;
pub use fields::{ErrorFields, field};
pub use rows::{Columns, DataRow, FieldDescription, OidList, RowDescription};

/// Default limit for a backend message (PostgreSQL's own allocation limit is 1 GiB).
pub const DEFAULT_MAX_BACKEND_MESSAGE_LEN: usize = 1024 * 1024 * 1024;

/// The known backend message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendTag {
    /// `R`
    Authentication,
    /// `S`
    ParameterStatus,
    /// `K`
    BackendKeyData,
    /// `Z`
    ReadyForQuery,
    /// `E`
    ErrorResponse,
    /// `N`
    NoticeResponse,
    /// `C`
    CommandComplete,
    /// `T`
    RowDescription,
    /// `D`
    DataRow,
    /// `1`
    ParseComplete,
    /// `2`
    BindComplete,
    /// `3`
    CloseComplete,
    /// `n`
    NoData,
    /// `t`
    ParameterDescription,
    /// `s`
    PortalSuspended,
    /// `I`
    EmptyQueryResponse,
    /// `G`
    CopyInResponse,
    /// `H`
    CopyOutResponse,
    /// `W`
    CopyBothResponse,
    /// `d`
    CopyData,
    /// `c`
    CopyDone,
    /// `A`
    NotificationResponse,
    /// `v`
    NegotiateProtocolVersion,
    /// `V`
    FunctionCallResponse,
}

impl BackendTag {
    /// Classify a type byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'R' => Self::Authentication,
            b'S' => Self::ParameterStatus,
            b'K' => Self::BackendKeyData,
            b'Z' => Self::ReadyForQuery,
            b'E' => Self::ErrorResponse,
            b'N' => Self::NoticeResponse,
            b'C' => Self::CommandComplete,
            b'T' => Self::RowDescription,
            b'D' => Self::DataRow,
            b'1' => Self::ParseComplete,
            b'2' => Self::BindComplete,
            b'3' => Self::CloseComplete,
            b'n' => Self::NoData,
            b't' => Self::ParameterDescription,
            b's' => Self::PortalSuspended,
            b'I' => Self::EmptyQueryResponse,
            b'G' => Self::CopyInResponse,
            b'H' => Self::CopyOutResponse,
            b'W' => Self::CopyBothResponse,
            b'd' => Self::CopyData,
            b'c' => Self::CopyDone,
            b'A' => Self::NotificationResponse,
            b'v' => Self::NegotiateProtocolVersion,
            b'V' => Self::FunctionCallResponse,
            _ => return None,
        })
    }

    /// The message name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authentication => "Authentication",
            Self::ParameterStatus => "ParameterStatus",
            Self::BackendKeyData => "BackendKeyData",
            Self::ReadyForQuery => "ReadyForQuery",
            Self::ErrorResponse => "ErrorResponse",
            Self::NoticeResponse => "NoticeResponse",
            Self::CommandComplete => "CommandComplete",
            Self::RowDescription => "RowDescription",
            Self::DataRow => "DataRow",
            Self::ParseComplete => "ParseComplete",
            Self::BindComplete => "BindComplete",
            Self::CloseComplete => "CloseComplete",
            Self::NoData => "NoData",
            Self::ParameterDescription => "ParameterDescription",
            Self::PortalSuspended => "PortalSuspended",
            Self::EmptyQueryResponse => "EmptyQueryResponse",
            Self::CopyInResponse => "CopyInResponse",
            Self::CopyOutResponse => "CopyOutResponse",
            Self::CopyBothResponse => "CopyBothResponse",
            Self::CopyData => "CopyData",
            Self::CopyDone => "CopyDone",
            Self::NotificationResponse => "NotificationResponse",
            Self::NegotiateProtocolVersion => "NegotiateProtocolVersion",
            Self::FunctionCallResponse => "FunctionCallResponse",
        }
    }
}

/// Transaction status reported by ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block (queries rejected until rollback).
    Failed,
}

impl TransactionStatus {
    /// The wire byte.
    pub fn as_byte(self) -> u8 {
        match self {
            Self::Idle => b'I',
            Self::InTransaction => b'T',
            Self::Failed => b'E',
        }
    }
}

/// BackendKeyData contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendKeyData<'a> {
    /// Backend process id.
    pub process_id: i32,
    /// Secret key (4 bytes in protocol 3.0, up to 256 in 3.2).
    pub secret_key: &'a [u8],
}

/// NotificationResponse contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification<'a> {
    /// Process id of the notifying backend.
    pub process_id: i32,
    /// Channel name.
    pub channel: &'a str,
    /// Payload.
    pub payload: &'a str,
}

/// CopyInResponse / CopyOutResponse / CopyBothResponse contents.
#[derive(Debug, Clone)]
pub struct CopyResponse<'a> {
    /// Overall format: 0 text, 1 binary.
    pub format: i8,
    /// Per-column format codes.
    pub column_formats: crate::frontend::FormatCodes<'a>,
}

/// NegotiateProtocolVersion contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateProtocolVersion<'a> {
    /// Newest minor protocol version the server supports for the requested major.
    pub newest_minor: i32,
    /// Protocol options (`_pq_.*`) the server did not recognise.
    pub unrecognized: Vec<&'a str>,
}

/// A backend message: type byte plus raw frame; forward it with a clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendMessage {
    frame: Frame,
}

impl BackendMessage {
    /// Wrap a frame.
    pub fn from_frame(frame: Frame) -> Self {
        Self { frame }
    }

    /// The type byte.
    pub fn tag(&self) -> u8 {
        self.frame.tag()
    }

    /// The known message type, if any.
    pub fn kind(&self) -> Option<BackendTag> {
        BackendTag::from_byte(self.tag())
    }

    /// The raw frame.
    pub fn frame(&self) -> &Bytes {
        self.frame.bytes()
    }

    /// The raw frame, consuming the message.
    pub fn into_frame(self) -> Bytes {
        self.frame.into_bytes()
    }

    /// The body after type byte and length.
    pub fn body(&self) -> &[u8] {
        self.frame.body()
    }

    fn expect(&self, tag: BackendTag, byte: u8) -> Result<Reader<'_>> {
        if self.tag() == byte {
            Ok(Reader::new(self.body(), tag.name()))
        } else {
            Err(ProtocolError::WrongMessageType {
                expected: tag.name(),
                tag: self.tag(),
            })
        }
    }

    /// Authentication request (`R`).
    pub fn authentication(&self) -> Result<Authentication<'_>> {
        Authentication::parse(self.expect(BackendTag::Authentication, b'R')?)
    }

    /// ReadyForQuery (`Z`) transaction status.
    pub fn ready_for_query(&self) -> Result<TransactionStatus> {
        let mut r = self.expect(BackendTag::ReadyForQuery, b'Z')?;
        let s = match r.u8("transaction status")? {
            b'I' => TransactionStatus::Idle,
            b'T' => TransactionStatus::InTransaction,
            b'E' => TransactionStatus::Failed,
            _ => return Err(r.invalid("transaction status", "must be 'I', 'T' or 'E'")),
        };
        r.finish()?;
        Ok(s)
    }

    /// ErrorResponse (`E`) or NoticeResponse (`N`) fields.
    pub fn error_fields(&self) -> Result<ErrorFields<'_>> {
        let r = match self.tag() {
            b'N' => self.expect(BackendTag::NoticeResponse, b'N')?,
            _ => self.expect(BackendTag::ErrorResponse, b'E')?,
        };
        ErrorFields::parse(r)
    }

    /// ParameterStatus (`S`): name and value.
    pub fn parameter_status(&self) -> Result<(&str, &str)> {
        let mut r = self.expect(BackendTag::ParameterStatus, b'S')?;
        let name = r.cstr("name")?;
        let value = r.cstr("value")?;
        r.finish()?;
        Ok((name, value))
    }

    /// BackendKeyData (`K`).
    pub fn backend_key_data(&self) -> Result<BackendKeyData<'_>> {
        let mut r = self.expect(BackendTag::BackendKeyData, b'K')?;
        let process_id = r.i32("process id")?;
        let secret_key = r.rest();
        if !(4..=crate::startup::MAX_CANCEL_KEY_LEN).contains(&secret_key.len()) {
            return Err(r.invalid("secret key", "must be 4 to 256 bytes"));
        }
        Ok(BackendKeyData {
            process_id,
            secret_key,
        })
    }

    /// NotificationResponse (`A`).
    pub fn notification(&self) -> Result<Notification<'_>> {
        let mut r = self.expect(BackendTag::NotificationResponse, b'A')?;
        let process_id = r.i32("process id")?;
        let channel = r.cstr("channel")?;
        let payload = r.cstr("payload")?;
        r.finish()?;
        Ok(Notification {
            process_id,
            channel,
            payload,
        })
    }

    /// CommandComplete (`C`) command tag, e.g. `INSERT 0 5`.
    pub fn command_complete(&self) -> Result<&str> {
        let mut r = self.expect(BackendTag::CommandComplete, b'C')?;
        let tag = r.cstr("command tag")?;
        r.finish()?;
        Ok(tag)
    }

    /// RowDescription (`T`) columns.
    pub fn row_description(&self) -> Result<RowDescription<'_>> {
        RowDescription::parse(self.expect(BackendTag::RowDescription, b'T')?)
    }

    /// DataRow (`D`) values.
    pub fn data_row(&self) -> Result<DataRow<'_>> {
        DataRow::parse(self.expect(BackendTag::DataRow, b'D')?)
    }

    /// ParameterDescription (`t`) type OIDs.
    pub fn parameter_description(&self) -> Result<OidList<'_>> {
        OidList::parse(self.expect(BackendTag::ParameterDescription, b't')?)
    }

    /// CopyInResponse (`G`), CopyOutResponse (`H`) or CopyBothResponse (`W`).
    pub fn copy_response(&self) -> Result<CopyResponse<'_>> {
        let mut r = match self.tag() {
            b'G' => self.expect(BackendTag::CopyInResponse, b'G')?,
            b'H' => self.expect(BackendTag::CopyOutResponse, b'H')?,
            _ => self.expect(BackendTag::CopyBothResponse, b'W')?,
        };
        let format = r.u8("format")?;
        let format = i8::try_from(format).map_err(|_| r.invalid("format", "must be 0 or 1"))?;
        let column_formats = crate::frontend::FormatCodes::read(&mut r, "column formats")?;
        r.finish()?;
        Ok(CopyResponse {
            format,
            column_formats,
        })
    }

    /// CopyData (`d`) payload.
    pub fn copy_data(&self) -> Result<&[u8]> {
        self.expect(BackendTag::CopyData, b'd').map(|r| r.rest())
    }

    /// NegotiateProtocolVersion (`v`).
    pub fn negotiate_protocol_version(&self) -> Result<NegotiateProtocolVersion<'_>> {
        let mut r = self.expect(BackendTag::NegotiateProtocolVersion, b'v')?;
        let newest_minor = r.i32("newest minor version")?;
        let n = r.i32("option count")?;
        let n = usize::try_from(n).map_err(|_| r.invalid("option count", "negative count"))?;
        // Each option takes at least one byte: bound the allocation by the body size.
        let mut unrecognized = Vec::with_capacity(n.min(r.remaining()));
        for _ in 0..n {
            unrecognized.push(r.cstr("option name")?);
        }
        r.finish()?;
        Ok(NegotiateProtocolVersion {
            newest_minor,
            unrecognized,
        })
    }

    /// Check that a message with a fixed empty body (ParseComplete, BindComplete, CloseComplete,
    /// NoData, PortalSuspended, EmptyQueryResponse, CopyDone) really is empty.
    pub fn expect_empty(&self) -> Result<()> {
        let name = self.kind().map_or("message", BackendTag::name);
        Reader::new(self.body(), name).finish()
    }

    /// Parse every field of a known message type (used by tests and fuzzing).
    pub fn validate(&self) -> Result<()> {
        use BackendTag as T;
        let Some(kind) = self.kind() else {
            return Err(ProtocolError::UnknownMessageType {
                direction: "backend",
                tag: self.tag(),
            });
        };
        match kind {
            T::Authentication => self.authentication().map(drop),
            T::ParameterStatus => self.parameter_status().map(drop),
            T::BackendKeyData => self.backend_key_data().map(drop),
            T::ReadyForQuery => self.ready_for_query().map(drop),
            T::ErrorResponse | T::NoticeResponse => self.error_fields().map(drop),
            T::CommandComplete => self.command_complete().map(drop),
            T::RowDescription => self.row_description().map(drop),
            T::DataRow => self.data_row().map(drop),
            T::ParameterDescription => self.parameter_description().map(drop),
            T::CopyInResponse | T::CopyOutResponse | T::CopyBothResponse => {
                self.copy_response().map(drop)
            }
            T::NotificationResponse => self.notification().map(drop),
            T::NegotiateProtocolVersion => self.negotiate_protocol_version().map(drop),
            T::CopyData | T::FunctionCallResponse => Ok(()),
            T::ParseComplete
            | T::BindComplete
            | T::CloseComplete
            | T::NoData
            | T::PortalSuspended
            | T::EmptyQueryResponse
            | T::CopyDone => self.expect_empty(),
        }
    }
}

/// The server's one-byte answer to SSLRequest or GSSENCRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionResponse {
    /// `S` (SSL) or `G` (GSS): proceed with the handshake.
    Accepted,
    /// `N`: continue unencrypted (or give up).
    Refused,
}

/// Read the single-byte answer to SSLRequest/GSSENCRequest.
///
/// An `E` (an old server failing the request with an ErrorResponse) is left in `buf` and
/// reported as an error so the caller can decode it with [`BackendDecoder`].
pub fn decode_encryption_response(buf: &mut BytesMut) -> Result<Option<EncryptionResponse>> {
    let Some(&b) = buf.first() else {
        return Ok(None);
    };
    let r = match b {
        b'S' | b'G' => EncryptionResponse::Accepted,
        b'N' => EncryptionResponse::Refused,
        other => {
            return Err(ProtocolError::UnknownMessageType {
                direction: "backend",
                tag: other,
            });
        }
    };
    let _ = buf.split_to(1);
    Ok(Some(r))
}

/// Decoder for backend messages.
#[derive(Debug, Clone)]
pub struct BackendDecoder {
    max_message_len: usize,
}

impl Default for BackendDecoder {
    fn default() -> Self {
        Self {
            max_message_len: DEFAULT_MAX_BACKEND_MESSAGE_LEN,
        }
    }
}

impl BackendDecoder {
    /// A decoder with the default 1 GiB limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with a custom message limit.
    pub fn with_max_message_len(max_message_len: usize) -> Self {
        Self { max_message_len }
    }

    /// Decode one message. `Ok(None)`: more bytes needed (`buf` untouched). Unknown type bytes
    /// are refused at the first byte, oversized lengths before the body is buffered.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<BackendMessage>> {
        let max = self.max_message_len;
        let frame = split_frame(buf, |tag| match BackendTag::from_byte(tag) {
            Some(t) => Ok((max, t.name())),
            None => Err(ProtocolError::UnknownMessageType {
                direction: "backend",
                tag,
            }),
        })?;
        Ok(frame.map(BackendMessage::from_frame))
    }
}
