//! SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL uses it.
//!
//! - [`ScramVerifier`]: PostgreSQL's stored verifier
//!   `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
//! - [`ScramServer`]: authenticate a client against a verifier (gateway ↔ application).
//! - [`ScramClient`]: authenticate to a PostgreSQL server (gateway ↔ backend).
//!
//! No channel binding: the server offers only `SCRAM-SHA-256` and accepts the `n,,` and `y,,`
//! GS2 headers; `p=` is refused. As in PostgreSQL, the user name in the client-first message is
//! ignored (the startup packet names the user). Every field read from the peer is bounded.

mod client;
mod server;
mod verifier;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use thiserror::Error;

pub use client::{DEFAULT_MAX_ITERATIONS, ScramClient, ScramClientFinal};
pub use server::{ScramServer, ScramServerChallenge};
pub use verifier::{DEFAULT_ITERATIONS, ScramVerifier};

/// The SASL mechanism name.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// Largest SCRAM message accepted from a peer.
pub const MAX_SCRAM_MESSAGE_LEN: usize = 1024;
/// Longest nonce accepted from a peer (client nonce, or the server's combined nonce).
pub const MAX_NONCE_LEN: usize = 255;
/// Random bytes in a nonce we generate (as PostgreSQL: 18 bytes, 24 base64 characters).
const RAW_NONCE_LEN: usize = 18;

/// A SCRAM exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScramError {
    /// The peer's message does not follow the SCRAM grammar.
    #[error("malformed SCRAM {message}: {reason}")]
    Malformed {
        /// Which SCRAM message (`client-first`, `client-final`, ...).
        message: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The peer's message exceeds [`MAX_SCRAM_MESSAGE_LEN`].
    #[error("SCRAM {message} is longer than {max} bytes")]
    TooLong {
        /// Which SCRAM message.
        message: &'static str,
        /// The limit.
        max: usize,
    },
    /// The client selected a mechanism we did not offer.
    #[error("client selected an invalid SASL authentication mechanism")]
    UnsupportedMechanism,
    /// The client asked for channel binding (`p=`), which is not supported.
    #[error("SCRAM channel binding is not supported")]
    ChannelBindingUnsupported,
    /// The client sent an authorization identity (`a=`), which PostgreSQL does not support.
    #[error("SCRAM authorization identity is not supported")]
    AuthzidUnsupported,
    /// A mandatory extension (`m=`) was requested.
    #[error("SCRAM mandatory extensions are not supported")]
    ExtensionUnsupported,
    /// The channel-binding echo (`c=`) does not match the GS2 header of client-first.
    #[error("SCRAM channel binding check failed")]
    ChannelBindingMismatch,
    /// The nonce in a later message does not match the exchange.
    #[error("SCRAM nonce mismatch")]
    NonceMismatch,
    /// The client proof is wrong, or the user is unknown (deliberately indistinguishable).
    #[error("password authentication failed")]
    InvalidProof,
    /// The server's signature is wrong: it does not know the password (client side).
    #[error("SCRAM server signature is invalid")]
    InvalidServerSignature,
    /// The server sent an iteration count outside the allowed range (client side).
    #[error("SCRAM iteration count {count} is outside 1..={max}")]
    IterationCount {
        /// Count the server sent.
        count: u64,
        /// Upper bound in force.
        max: u32,
    },
    /// The server reported an error (`e=`) in server-final (client side).
    #[error("SCRAM server error: {0}")]
    ServerError(String),
    /// A stored verifier could not be parsed.
    #[error("invalid SCRAM verifier: {0}")]
    InvalidVerifier(&'static str),
    /// The OS random number generator failed.
    #[error("could not generate random bytes")]
    Random,
}

impl ScramError {
    /// SQLSTATE: `28P01` (invalid_password) for a failed proof, `08P01` otherwise, `XX000`
    /// for internal failures.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Self::InvalidProof => "28P01",
            Self::InvalidVerifier(_) | Self::Random => "XX000",
            _ => "08P01",
        }
    }

    /// Text safe for the client. A failed proof and an unknown user read the same; internal
    /// failures do not describe themselves.
    pub fn to_string_client(&self) -> String {
        match self {
            Self::InvalidProof | Self::InvalidVerifier(_) => {
                "password authentication failed".into()
            }
            Self::Random => "internal error during authentication".into(),
            Self::ServerError(_) => "authentication with the server failed".into(),
            other => other.to_string(),
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; the error branch is unreachable.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// `Hi()` of RFC 5802: PBKDF2-HMAC-SHA-256 with one output block.
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let Ok(keyed) = HmacSha256::new_from_slice(password) else {
        return [0; 32];
    };
    let mut mac = keyed.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = keyed.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    out
}

/// SASLprep the password as PostgreSQL does: ASCII is used as is; otherwise SASLprep, falling
/// back to the raw bytes when the input is not UTF-8 or SASLprep rejects it.
fn normalize(password: &[u8]) -> Vec<u8> {
    if password.is_ascii() {
        return password.to_vec();
    }
    match std::str::from_utf8(password) {
        Ok(s) => match stringprep::saslprep(s) {
            Ok(p) => p.into_owned().into_bytes(),
            Err(_) => password.to_vec(),
        },
        Err(_) => password.to_vec(),
    }
}

/// SaltedPassword → (StoredKey, ServerKey, ClientKey).
fn keys(salted: &[u8; 32]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let client_key = hmac(salted, &[b"Client Key"]);
    let server_key = hmac(salted, &[b"Server Key"]);
    (sha256(&client_key), server_key, client_key)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ScramError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| ScramError::Random)?;
    Ok(b)
}

fn random_nonce() -> Result<String, ScramError> {
    Ok(STANDARD.encode(random_bytes::<RAW_NONCE_LEN>()?))
}

fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

fn unb64(s: &str, message: &'static str, reason: &'static str) -> Result<Vec<u8>, ScramError> {
    STANDARD
        .decode(s)
        .map_err(|_| ScramError::Malformed { message, reason })
}

/// A printable nonce: `%x21-2B / %x2D-7E` (printable ASCII except `,`).
fn valid_nonce(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NONCE_LEN
        && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Splits a SCRAM message into `x=value` attributes, checking the grammar as it goes.
struct Attrs<'a> {
    rest: Option<&'a str>,
    message: &'static str,
}

impl<'a> Attrs<'a> {
    fn new(s: &'a str, message: &'static str) -> Self {
        Self {
            rest: Some(s),
            message,
        }
    }

    fn malformed(&self, reason: &'static str) -> ScramError {
        ScramError::Malformed {
            message: self.message,
            reason,
        }
    }

    /// The next attribute as (name, value), or `None` at the end.
    fn next_any(&mut self) -> Result<Option<(u8, &'a str)>, ScramError> {
        let Some(rest) = self.rest else {
            return Ok(None);
        };
        let (item, tail) = match rest.split_once(',') {
            Some((i, t)) => (i, Some(t)),
            None => (rest, None),
        };
        self.rest = tail;
        let mut bytes = item.bytes();
        let name = bytes.next().ok_or(self.malformed("empty attribute"))?;
        if !name.is_ascii_alphabetic() || bytes.next() != Some(b'=') {
            return Err(self.malformed("attribute must be a letter followed by '='"));
        }
        Ok(Some((name, item.get(2..).unwrap_or_default())))
    }

    /// The next attribute, which must be `name`.
    fn expect(&mut self, name: u8, reason: &'static str) -> Result<&'a str, ScramError> {
        match self.next_any()? {
            Some((n, v)) if n == name => Ok(v),
            _ => Err(self.malformed(reason)),
        }
    }

    /// Remaining text (for extensions), or `None` at the end.
    fn peek_name(&self) -> Option<u8> {
        self.rest.and_then(|r| r.bytes().next())
    }
}

/// Bound and decode a peer's SCRAM message as UTF-8 without NULs.
fn as_text<'a>(data: &'a [u8], message: &'static str) -> Result<&'a str, ScramError> {
    if data.len() > MAX_SCRAM_MESSAGE_LEN {
        return Err(ScramError::TooLong {
            message,
            max: MAX_SCRAM_MESSAGE_LEN,
        });
    }
    if data.contains(&0) {
        return Err(ScramError::Malformed {
            message,
            reason: "contains a NUL byte",
        });
    }
    std::str::from_utf8(data).map_err(|_| ScramError::Malformed {
        message,
        reason: "not valid UTF-8",
    })
}

#[cfg(test)]
mod tests;
