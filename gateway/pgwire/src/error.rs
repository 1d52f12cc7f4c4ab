//! Errors raised while framing or reading PostgreSQL protocol messages.
//!
//! Every variant names the message and the field or limit involved, maps to a SQLSTATE, and has
//! a [`ProtocolError::to_string_client`] rendering that is safe to put in an `ErrorResponse`
//! (it never echoes raw client bytes, only names and numbers this crate chose).

use thiserror::Error;

/// Result alias used throughout this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

/// A protocol violation or limit hit while decoding PostgreSQL wire messages.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The declared length of a message exceeds the configured limit (refused before buffering).
    #[error("{message} length {len} exceeds the limit of {max} bytes")]
    MessageTooLarge {
        /// Which message (e.g. `"startup packet"`, `"Query"`).
        message: &'static str,
        /// The declared length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The declared length is impossible (negative, or smaller than the fixed header).
    #[error("{message} has invalid length {len}")]
    InvalidLength {
        /// Which message.
        message: &'static str,
        /// The declared length as read from the wire.
        len: i64,
    },
    /// The startup packet asked for a protocol version this crate does not speak.
    #[error("unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.x")]
    UnsupportedProtocolVersion {
        /// Major version requested.
        major: u16,
        /// Minor version requested.
        minor: u16,
    },
    /// A message type byte that is not valid in this phase of the protocol.
    #[error("invalid {direction} message type {tag:#04x}")]
    UnknownMessageType {
        /// `"frontend"` or `"backend"`.
        direction: &'static str,
        /// The type byte.
        tag: u8,
    },
    /// A typed accessor was called on a message of another type.
    #[error("expected {expected} message, got type {tag:#04x}")]
    WrongMessageType {
        /// The message the caller expected.
        expected: &'static str,
        /// The type byte actually present.
        tag: u8,
    },
    /// The message ended before a field could be read.
    #[error("{message} is truncated while reading {field}")]
    Truncated {
        /// Which message.
        message: &'static str,
        /// Which field.
        field: &'static str,
    },
    /// A string field has no NUL terminator inside the message.
    #[error("{message} field {field} is not NUL-terminated")]
    MissingNul {
        /// Which message.
        message: &'static str,
        /// Which field.
        field: &'static str,
    },
    /// A string field is not valid UTF-8.
    #[error("{message} field {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// Which message.
        message: &'static str,
        /// Which field.
        field: &'static str,
    },
    /// A field holds a value the protocol does not allow.
    #[error("{message} field {field} is invalid: {reason}")]
    InvalidField {
        /// Which message.
        message: &'static str,
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes remain after the last field of a message.
    #[error("{message} has {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// Which message.
        message: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// The startup packet has no `user` parameter.
    #[error("startup packet has no user parameter")]
    MissingUser,
    /// The startup packet sets one parameter twice.
    #[error("startup packet sets parameter {name:?} more than once")]
    DuplicateParameter {
        /// The parameter name (bounded by the startup packet limit).
        name: String,
    },
}

impl ProtocolError {
    /// The SQLSTATE a server would report for this error.
    ///
    /// `54000` (program_limit_exceeded) for oversized input, `0A000` (feature_not_supported)
    /// for unsupported protocol versions, `08P01` (protocol_violation) for everything else.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Self::MessageTooLarge { .. } => "54000",
            Self::UnsupportedProtocolVersion { .. } => "0A000",
            _ => "08P01",
        }
    }

    /// A message safe to send to the client: it names only message types, fields and limits,
    /// never bytes the peer sent (beyond a parameter name already bounded by the packet limit).
    pub fn to_string_client(&self) -> String {
        match self {
            Self::MessageTooLarge { message, max, .. } => {
                format!("{message} is too large (limit {max} bytes)")
            }
            Self::InvalidLength { message, .. } => format!("invalid length of {message}"),
            Self::UnsupportedProtocolVersion { major, minor } => {
                format!("unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.x")
            }
            Self::UnknownMessageType { direction, tag } => {
                format!("invalid {direction} message type {tag}")
            }
            Self::WrongMessageType { expected, .. } => format!("expected {expected} message"),
            Self::Truncated { message, .. } | Self::TrailingBytes { message, .. } => {
                format!("invalid message format in {message}")
            }
            Self::MissingNul { message, field } => {
                format!("invalid string in {message} field {field}")
            }
            Self::InvalidUtf8 { message, field } => {
                format!("invalid byte sequence in {message} field {field}")
            }
            Self::InvalidField {
                message,
                field,
                reason,
            } => format!("invalid {field} in {message}: {reason}"),
            Self::MissingUser => "no PostgreSQL user name specified in startup packet".into(),
            Self::DuplicateParameter { .. } => {
                "startup packet sets a parameter more than once".into()
            }
        }
    }

    /// A short, stable label for metrics (`articdbm_protocol_errors_total{kind=...}`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MessageTooLarge { .. } => "message_too_large",
            Self::InvalidLength { .. } => "invalid_length",
            Self::UnsupportedProtocolVersion { .. } => "unsupported_protocol",
            Self::UnknownMessageType { .. } => "unknown_message_type",
            Self::WrongMessageType { .. } => "wrong_message_type",
            Self::Truncated { .. } => "truncated",
            Self::MissingNul { .. } => "missing_nul",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::InvalidField { .. } => "invalid_field",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::MissingUser => "missing_user",
            Self::DuplicateParameter { .. } => "duplicate_parameter",
        }
    }
}
