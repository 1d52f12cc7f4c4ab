//! Errors raised while framing or reading MySQL protocol packets.
//!
//! Every variant names the packet and the field or limit involved, maps to a MySQL error code
//! and SQLSTATE, and has a [`ProtocolError::to_string_client`] rendering that is safe to put in
//! an ERR packet: it never echoes raw peer bytes, only names and numbers this crate chose.

use thiserror::Error;

/// Result alias used throughout this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

/// A protocol violation or limit hit while decoding MySQL wire packets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The declared (joined) length of a packet exceeds the limit (refused before buffering).
    #[error("{packet} length {len} exceeds the limit of {max} bytes")]
    PacketTooLarge {
        /// Which packet (e.g. `"packet"`, `"attributes"`).
        packet: &'static str,
        /// The declared length (so far).
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A continuation packet does not carry the next sequence number.
    #[error("packet sequence number {got} out of order (expected {expected})")]
    SequenceMismatch {
        /// The sequence number that should have followed.
        expected: u8,
        /// The sequence number on the wire.
        got: u8,
    },
    /// A packet with no payload where the protocol needs at least a header byte.
    #[error("empty {packet} packet")]
    Empty {
        /// Which packet.
        packet: &'static str,
    },
    /// The packet ended before a field could be read.
    #[error("{packet} is truncated while reading {field}")]
    Truncated {
        /// Which packet.
        packet: &'static str,
        /// Which field.
        field: &'static str,
    },
    /// A string field has no NUL terminator inside the packet.
    #[error("{packet} field {field} is not NUL-terminated")]
    MissingNul {
        /// Which packet.
        packet: &'static str,
        /// Which field.
        field: &'static str,
    },
    /// A string field is not valid UTF-8.
    #[error("{packet} field {field} is not valid UTF-8")]
    InvalidUtf8 {
        /// Which packet.
        packet: &'static str,
        /// Which field.
        field: &'static str,
    },
    /// A field is longer than this crate accepts.
    #[error("{packet} field {field} is {len} bytes long, over the limit of {max}")]
    FieldTooLong {
        /// Which packet.
        packet: &'static str,
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field holds a value the protocol does not allow.
    #[error("{packet} field {field} is invalid: {reason}")]
    InvalidField {
        /// Which packet.
        packet: &'static str,
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The peer speaks a protocol variant this crate does not (pre-4.1 clients, handshake
    /// versions other than 10).
    #[error("unsupported protocol: {reason}")]
    Unsupported {
        /// What is missing.
        reason: &'static str,
    },
    /// A packet that cannot appear at this point of a server's answer.
    #[error("unexpected packet with header {header:#04x} while reading {state}")]
    UnexpectedPacket {
        /// What the tracker was expecting.
        state: &'static str,
        /// The first byte of the packet (0 when empty).
        header: u8,
    },
    /// An RSA key or ciphertext could not be used (caching_sha2_password full authentication).
    #[error("RSA password exchange failed: {reason}")]
    Crypto {
        /// What failed.
        reason: &'static str,
    },
    /// The operating system's random source failed.
    #[error("the OS random source failed")]
    Random,
}

impl ProtocolError {
    /// The MySQL error code a server would report for this error: 1153
    /// (`ER_NET_PACKET_TOO_LARGE`), 1156 (`ER_NET_PACKETS_OUT_OF_ORDER`), 1251
    /// (`ER_NOT_SUPPORTED_AUTH_MODE`) for unsupported clients, 1045 (`ER_ACCESS_DENIED_ERROR`)
    /// for a failed password exchange, 1835 (`ER_MALFORMED_PACKET`) otherwise.
    pub fn error_code(&self) -> u16 {
        match self {
            Self::PacketTooLarge { .. } => 1153,
            Self::SequenceMismatch { .. } => 1156,
            Self::Unsupported { .. } => 1251,
            Self::Crypto { .. } => 1045,
            Self::Random => 1105,
            _ => 1835,
        }
    }

    /// The SQLSTATE matching [`error_code`](Self::error_code).
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Self::PacketTooLarge { .. } | Self::SequenceMismatch { .. } => "08S01",
            Self::Unsupported { .. } => "08004",
            Self::Crypto { .. } => "28000",
            _ => "HY000",
        }
    }

    /// A message safe to send to the client: it names only packets, fields and limits, never
    /// bytes the peer sent.
    pub fn to_string_client(&self) -> String {
        match self {
            Self::PacketTooLarge { packet, max, .. } => {
                format!("{packet} is larger than the limit of {max} bytes")
            }
            Self::SequenceMismatch { .. } => "Got packets out of order".into(),
            Self::Empty { packet } => format!("Malformed communication packet: empty {packet}"),
            Self::Truncated { packet, .. } => {
                format!("Malformed communication packet: truncated {packet}")
            }
            Self::MissingNul { packet, field } | Self::InvalidUtf8 { packet, field } => {
                format!("Malformed communication packet: invalid string {field} in {packet}")
            }
            Self::FieldTooLong {
                packet, field, max, ..
            } => format!("{field} in {packet} is longer than {max} bytes"),
            Self::InvalidField {
                packet,
                field,
                reason,
            } => format!("Malformed communication packet: {field} in {packet}: {reason}"),
            Self::Unsupported { reason } => {
                format!(
                    "Client does not support authentication protocol requested by server; {reason}"
                )
            }
            Self::UnexpectedPacket { state, .. } => {
                format!("Malformed communication packet: unexpected packet in {state}")
            }
            Self::Crypto { .. } => "Access denied".into(),
            Self::Random => "Internal error".into(),
        }
    }

    /// A short, stable label for metrics (`articdbm_protocol_errors_total{kind=...}`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PacketTooLarge { .. } => "packet_too_large",
            Self::SequenceMismatch { .. } => "sequence_mismatch",
            Self::Empty { .. } => "empty",
            Self::Truncated { .. } => "truncated",
            Self::MissingNul { .. } => "missing_nul",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::FieldTooLong { .. } => "field_too_long",
            Self::InvalidField { .. } => "invalid_field",
            Self::Unsupported { .. } => "unsupported",
            Self::UnexpectedPacket { .. } => "unexpected_packet",
            Self::Crypto { .. } => "crypto",
            Self::Random => "random",
        }
    }
}
