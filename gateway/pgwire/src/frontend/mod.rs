//! Frontend (client → server) typed messages and their decoder.
//!
//! Each message struct holds its raw frame and parses fields lazily on access, so a message
//! the gateway forwards unchanged costs a `Bytes` clone. Accessors are fallible: a malformed
//! message is only rejected when (and if) someone looks inside it. Call
//! [`FrontendMessage::validate`] to check every field up front.

mod auth;
mod copy;
pub mod encode;
mod extended;
mod function_call;
mod query;

use bytes::{Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::frame::{Frame, HEADER_LEN, split_frame};
use crate::reader::Reader;

pub use auth::{AuthResponse, SaslInitialResponse};
pub use copy::{CopyData, CopyDone, CopyFail};
pub use extended::{
    Bind, BindFields, Close, Describe, Execute, Flush, FormatCodes, ParamTypes, Parse, Sync,
    Target, Values,
};
pub use function_call::{FunctionCall, FunctionCallFields};
pub use query::{Query, Terminate};

/// Default limit for Query, Parse, Bind, FunctionCall and CopyData messages.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 64 * 1024 * 1024;
/// Limit for control messages (Describe, Execute, Close, Sync, ...), as in PostgreSQL.
pub const SMALL_MESSAGE_LIMIT: usize = 10_000;
/// Limit for password and SASL messages (PostgreSQL's `PG_MAX_AUTH_TOKEN_LENGTH`).
pub const AUTH_MESSAGE_LIMIT: usize = 65_535;

/// Defines a message struct wrapping a raw frame.
macro_rules! frame_message {
    ($(#[$doc:meta])* $name:ident, $tag:expr, $label:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            frame: bytes::Bytes,
        }

        impl $name {
            /// The message type byte.
            pub const TAG: u8 = $tag;
            /// The message name used in errors.
            pub const NAME: &'static str = $label;

            #[allow(dead_code)]
            pub(crate) fn from_frame(frame: bytes::Bytes) -> Self {
                Self { frame }
            }

            /// The raw frame (type byte, length, body): forward it with a clone.
            pub fn frame(&self) -> &bytes::Bytes {
                &self.frame
            }

            /// The raw frame, consuming the message.
            pub fn into_frame(self) -> bytes::Bytes {
                self.frame
            }

            /// The message body (after type byte and length).
            pub fn body(&self) -> &[u8] {
                self.frame.get(crate::frame::HEADER_LEN..).unwrap_or_default()
            }

            #[allow(dead_code)]
            pub(crate) fn reader(&self) -> crate::reader::Reader<'_> {
                crate::reader::Reader::new(self.body(), Self::NAME)
            }
        }
    };
}
pub(crate) use frame_message;

/// A decoded frontend message of the normal (post-startup) phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontendMessage {
    /// `Q`: simple query.
    Query(Query),
    /// `P`: prepare a statement.
    Parse(Parse),
    /// `B`: bind a portal.
    Bind(Bind),
    /// `D`: describe a statement or portal.
    Describe(Describe),
    /// `E`: execute a portal.
    Execute(Execute),
    /// `C`: close a statement or portal.
    Close(Close),
    /// `S`: end of an extended-query batch.
    Sync(Sync),
    /// `H`: flush pending output.
    Flush(Flush),
    /// `X`: the client is leaving.
    Terminate(Terminate),
    /// `d`: COPY data.
    CopyData(CopyData),
    /// `c`: COPY finished.
    CopyDone(CopyDone),
    /// `f`: COPY failed.
    CopyFail(CopyFail),
    /// `p`: PasswordMessage, SASLInitialResponse or SASLResponse, depending on the
    /// authentication exchange in progress.
    AuthResponse(AuthResponse),
    /// `F`: fast-path function call.
    FunctionCall(FunctionCall),
}

impl FrontendMessage {
    /// The raw frame: forward it unchanged with a clone.
    pub fn frame(&self) -> &Bytes {
        match self {
            Self::Query(m) => m.frame(),
            Self::Parse(m) => m.frame(),
            Self::Bind(m) => m.frame(),
            Self::Describe(m) => m.frame(),
            Self::Execute(m) => m.frame(),
            Self::Close(m) => m.frame(),
            Self::Sync(m) => m.frame(),
            Self::Flush(m) => m.frame(),
            Self::Terminate(m) => m.frame(),
            Self::CopyData(m) => m.frame(),
            Self::CopyDone(m) => m.frame(),
            Self::CopyFail(m) => m.frame(),
            Self::AuthResponse(m) => m.frame(),
            Self::FunctionCall(m) => m.frame(),
        }
    }

    /// The message type byte.
    pub fn tag(&self) -> u8 {
        self.frame().first().copied().unwrap_or(0)
    }

    /// Build a typed message from a complete frame.
    pub fn from_frame(frame: Frame) -> Result<Self> {
        let tag = frame.tag();
        let bytes = frame.into_bytes();
        let fixed_empty = |name: &'static str| -> Result<()> {
            let extra = bytes.len().saturating_sub(HEADER_LEN);
            if extra == 0 {
                Ok(())
            } else {
                Err(ProtocolError::TrailingBytes {
                    message: name,
                    extra,
                })
            }
        };
        Ok(match tag {
            Query::TAG => Self::Query(Query::from_frame(bytes)),
            Parse::TAG => Self::Parse(Parse::from_frame(bytes)),
            Bind::TAG => Self::Bind(Bind::from_frame(bytes)),
            Describe::TAG => Self::Describe(Describe::from_frame(bytes)),
            Execute::TAG => Self::Execute(Execute::from_frame(bytes)),
            Close::TAG => Self::Close(Close::from_frame(bytes)),
            Sync::TAG => {
                fixed_empty(Sync::NAME)?;
                Self::Sync(Sync::from_frame(bytes))
            }
            Flush::TAG => {
                fixed_empty(Flush::NAME)?;
                Self::Flush(Flush::from_frame(bytes))
            }
            Terminate::TAG => {
                fixed_empty(Terminate::NAME)?;
                Self::Terminate(Terminate::from_frame(bytes))
            }
            CopyData::TAG => Self::CopyData(CopyData::from_frame(bytes)),
            CopyDone::TAG => {
                fixed_empty(CopyDone::NAME)?;
                Self::CopyDone(CopyDone::from_frame(bytes))
            }
            CopyFail::TAG => Self::CopyFail(CopyFail::from_frame(bytes)),
            AuthResponse::TAG => Self::AuthResponse(AuthResponse::from_frame(bytes)),
            FunctionCall::TAG => Self::FunctionCall(FunctionCall::from_frame(bytes)),
            other => {
                return Err(ProtocolError::UnknownMessageType {
                    direction: "frontend",
                    tag: other,
                });
            }
        })
    }

    /// Parse every field of the message, returning the first problem found.
    ///
    /// `AuthResponse` is context dependent and is only checked for being non-empty framing;
    /// parse it with the accessor matching the exchange in progress.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Query(m) => m.sql().map(drop),
            Self::Parse(m) => m.validate(),
            Self::Bind(m) => m.validate(),
            Self::Describe(m) => m.validate(),
            Self::Execute(m) => m.validate(),
            Self::Close(m) => m.validate(),
            Self::CopyFail(m) => m.message().map(drop),
            Self::FunctionCall(m) => m.validate(),
            Self::Sync(_)
            | Self::Flush(_)
            | Self::Terminate(_)
            | Self::CopyData(_)
            | Self::CopyDone(_)
            | Self::AuthResponse(_) => Ok(()),
        }
    }
}

/// The largest declared length allowed for a frontend message type, and its name.
fn frontend_limit(tag: u8, max_large: usize) -> Result<(usize, &'static str)> {
    let small = SMALL_MESSAGE_LIMIT.min(max_large.max(4));
    Ok(match tag {
        Query::TAG => (max_large, Query::NAME),
        Parse::TAG => (max_large, Parse::NAME),
        Bind::TAG => (max_large, Bind::NAME),
        FunctionCall::TAG => (max_large, FunctionCall::NAME),
        CopyData::TAG => (max_large, CopyData::NAME),
        AuthResponse::TAG => (AUTH_MESSAGE_LIMIT.min(max_large.max(4)), AuthResponse::NAME),
        Describe::TAG => (small, Describe::NAME),
        Execute::TAG => (small, Execute::NAME),
        Close::TAG => (small, Close::NAME),
        Sync::TAG => (small, Sync::NAME),
        Flush::TAG => (small, Flush::NAME),
        Terminate::TAG => (small, Terminate::NAME),
        CopyDone::TAG => (small, CopyDone::NAME),
        CopyFail::TAG => (small, CopyFail::NAME),
        other => {
            return Err(ProtocolError::UnknownMessageType {
                direction: "frontend",
                tag: other,
            });
        }
    })
}

/// Decoder for frontend messages after the startup packet.
///
/// Limits (checked on the declared length, before the body is buffered): Query, Parse, Bind,
/// FunctionCall and CopyData up to `max_message_len` (default 64 MiB); password/SASL messages
/// up to 65,535 bytes; every other message up to 10,000 bytes. An unknown type byte is refused
/// at the first byte.
#[derive(Debug, Clone)]
pub struct FrontendDecoder {
    max_message_len: usize,
}

impl Default for FrontendDecoder {
    fn default() -> Self {
        Self {
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    }
}

impl FrontendDecoder {
    /// A decoder with the default 64 MiB limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with a custom limit for large messages.
    pub fn with_max_message_len(max_message_len: usize) -> Self {
        Self { max_message_len }
    }

    /// The limit in force for large messages.
    pub fn max_message_len(&self) -> usize {
        self.max_message_len
    }

    /// Split one raw frame off `buf` without interpreting it.
    pub fn decode_frame(&self, buf: &mut BytesMut) -> Result<Option<Frame>> {
        split_frame(buf, |tag| frontend_limit(tag, self.max_message_len))
    }

    /// Decode one message. `Ok(None)`: more bytes needed (`buf` untouched).
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<FrontendMessage>> {
        match self.decode_frame(buf)? {
            Some(frame) => FrontendMessage::from_frame(frame).map(Some),
            None => Ok(None),
        }
    }
}

/// Read the single NUL-terminated string that makes up a whole body (Query, CopyFail).
pub(crate) fn sole_cstr<'a>(mut r: Reader<'a>, field: &'static str) -> Result<&'a str> {
    let s = r.cstr(field)?;
    r.finish()?;
    Ok(s)
}
