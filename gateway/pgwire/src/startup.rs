//! The untyped startup phase: StartupMessage, SSLRequest, GSSENCRequest and CancelRequest.
//!
//! These packets have no type byte, only an Int32 length and an Int32 code. They are the first
//! bytes an unauthenticated peer sends, so they are parsed eagerly and strictly here: bounded
//! length, NUL-terminated name/value pairs ending in a final NUL, no duplicate parameters, a
//! `user` present. (PgBouncer has had CVEs in exactly this parser.)

use bytes::{Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::reader::Reader;

/// Largest startup packet accepted by default (PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`).
pub const DEFAULT_MAX_STARTUP_LEN: usize = 10_000;
/// Smallest valid startup packet: length + code.
pub const MIN_STARTUP_LEN: usize = 8;
/// The code of an SSLRequest.
pub const SSL_REQUEST_CODE: i32 = 80_877_103;
/// The code of a GSSENCRequest.
pub const GSSENC_REQUEST_CODE: i32 = 80_877_104;
/// The code of a CancelRequest.
pub const CANCEL_REQUEST_CODE: i32 = 80_877_102;
/// Protocol 3.0 as sent in a StartupMessage.
pub const PROTOCOL_3_0: i32 = 196_608;
/// Longest cancel key accepted (protocol 3.2 allows up to 256 bytes; 3.0 uses 4).
pub const MAX_CANCEL_KEY_LEN: usize = 256;

const MSG: &str = "startup packet";

/// One packet of the startup phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPacket {
    /// A StartupMessage: protocol version and connection parameters.
    Startup(StartupMessage),
    /// The client asks for TLS. Answer with a single byte `S` or `N`.
    SslRequest,
    /// The client asks for GSSAPI encryption. Answer with a single byte `G` or `N`.
    GssEncRequest,
    /// Cancel a query running on another connection.
    Cancel(CancelRequest),
}

/// A StartupMessage. Parameters are validated when it is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupMessage {
    frame: Bytes,
    major: u16,
    minor: u16,
    params: Vec<(String, String)>,
}

impl StartupMessage {
    /// The raw packet, for forwarding unchanged.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// The requested protocol version `(major, minor)`. Major is always 3.
    pub fn protocol_version(&self) -> (u16, u16) {
        (self.major, self.minor)
    }

    /// Whether the server must answer with NegotiateProtocolVersion before authentication:
    /// the client asked for a newer minor version than 3.0 or sent `_pq_.` protocol options.
    pub fn needs_negotiation(&self) -> bool {
        self.minor > 0 || self.protocol_options().next().is_some()
    }

    /// Protocol options (`_pq_.*` parameters) the client sent.
    pub fn protocol_options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params().filter(|(k, _)| k.starts_with("_pq_."))
    }

    /// All parameters in the order sent.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// One parameter by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `user` parameter (always present).
    pub fn user(&self) -> &str {
        self.get("user").unwrap_or_default()
    }

    /// The `database` parameter, defaulting to the user name as PostgreSQL does.
    pub fn database(&self) -> &str {
        match self.get("database") {
            Some(d) if !d.is_empty() => d,
            _ => self.user(),
        }
    }

    /// The `application_name` parameter.
    pub fn application_name(&self) -> Option<&str> {
        self.get("application_name")
    }

    /// The `options` parameter (command-line options for the backend).
    pub fn options(&self) -> Option<&str> {
        self.get("options")
    }

    /// The `replication` parameter (`true`, `database`, ...), if the client asked for it.
    pub fn replication(&self) -> Option<&str> {
        self.get("replication")
    }
}

/// A CancelRequest: the target backend's process id and secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// Process id from BackendKeyData.
    pub process_id: i32,
    /// Secret key from BackendKeyData (4 bytes in protocol 3.0, up to 256 in 3.2).
    pub secret_key: Bytes,
}

/// Decoder for the startup phase. Use it until a StartupMessage has been read, then switch
/// to [`crate::frontend::FrontendDecoder`].
#[derive(Debug, Clone)]
pub struct StartupDecoder {
    max_len: usize,
}

impl Default for StartupDecoder {
    fn default() -> Self {
        Self {
            max_len: DEFAULT_MAX_STARTUP_LEN,
        }
    }
}

impl StartupDecoder {
    /// A decoder with the default limit (10,000 bytes).
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with a custom packet limit (never below [`MIN_STARTUP_LEN`]).
    pub fn with_max_len(max_len: usize) -> Self {
        Self {
            max_len: max_len.max(MIN_STARTUP_LEN),
        }
    }

    /// The packet limit in force.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Decode one startup-phase packet from the front of `buf`.
    ///
    /// `Ok(None)`: more bytes needed (`buf` untouched). An oversized length is refused as soon
    /// as its four bytes arrive.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<StartupPacket>> {
        let Some(raw) = buf.get(..4) else {
            return Ok(None);
        };
        let mut len_bytes = [0u8; 4];
        len_bytes.copy_from_slice(raw);
        let declared = i32::from_be_bytes(len_bytes);
        let len = match usize::try_from(declared) {
            Ok(l) if l >= MIN_STARTUP_LEN => l,
            _ => {
                return Err(ProtocolError::InvalidLength {
                    message: MSG,
                    len: i64::from(declared),
                });
            }
        };
        if len > self.max_len {
            return Err(ProtocolError::MessageTooLarge {
                message: MSG,
                len,
                max: self.max_len,
            });
        }
        if buf.len() < len {
            return Ok(None);
        }
        let packet = parse_startup_packet(buf.get(..len).unwrap_or_default())?;
        let frame = buf.split_to(len).freeze();
        Ok(Some(match packet {
            Parsed::Startup {
                major,
                minor,
                params,
            } => StartupPacket::Startup(StartupMessage {
                frame,
                major,
                minor,
                params,
            }),
            Parsed::Ssl => StartupPacket::SslRequest,
            Parsed::GssEnc => StartupPacket::GssEncRequest,
            Parsed::Cancel { pid, key_range } => StartupPacket::Cancel(CancelRequest {
                process_id: pid,
                secret_key: frame.slice(key_range),
            }),
        }))
    }
}

enum Parsed {
    Startup {
        major: u16,
        minor: u16,
        params: Vec<(String, String)>,
    },
    Ssl,
    GssEnc,
    Cancel {
        pid: i32,
        key_range: std::ops::Range<usize>,
    },
}

/// Parse one complete packet (`packet` includes its length word).
fn parse_startup_packet(packet: &[u8]) -> Result<Parsed> {
    let mut r = Reader::new(packet, MSG);
    r.i32("length")?;
    let code = r.i32("protocol version")?;
    match code {
        SSL_REQUEST_CODE | GSSENC_REQUEST_CODE => {
            r.finish()?;
            Ok(if code == SSL_REQUEST_CODE {
                Parsed::Ssl
            } else {
                Parsed::GssEnc
            })
        }
        CANCEL_REQUEST_CODE => {
            let mut r = Reader::new(r.rest(), "CancelRequest");
            let pid = r.i32("process id")?;
            let key_len = r.remaining();
            if !(4..=MAX_CANCEL_KEY_LEN).contains(&key_len) {
                return Err(r.invalid("secret key", "must be 4 to 256 bytes"));
            }
            Ok(Parsed::Cancel {
                pid,
                key_range: 12..12 + key_len,
            })
        }
        _ => {
            let major = ((code >> 16) & 0xffff) as u16;
            let minor = (code & 0xffff) as u16;
            if major != 3 {
                return Err(ProtocolError::UnsupportedProtocolVersion { major, minor });
            }
            let params = parse_params(&mut r)?;
            Ok(Parsed::Startup {
                major,
                minor,
                params,
            })
        }
    }
}

fn parse_params(r: &mut Reader<'_>) -> Result<Vec<(String, String)>> {
    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        if r.is_empty() {
            return Err(ProtocolError::MissingNul {
                message: MSG,
                field: "terminator",
            });
        }
        let name = r.cstr("parameter name")?;
        if name.is_empty() {
            r.finish()?;
            break;
        }
        let value = r.cstr("parameter value")?;
        if params.iter().any(|(k, _)| k == name) {
            return Err(ProtocolError::DuplicateParameter { name: name.into() });
        }
        params.push((name.to_owned(), value.to_owned()));
    }
    match params.iter().find(|(k, _)| k == "user") {
        Some((_, u)) if !u.is_empty() => Ok(params),
        _ => Err(ProtocolError::MissingUser),
    }
}
