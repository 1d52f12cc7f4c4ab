//! Client side of SCRAM-SHA-256: the gateway authenticates to a backend PostgreSQL server.
//!
//! ```text
//! ScramClient::new(password)            (send client_first() in SASLInitialResponse)
//!   .handle_server_first(server-first)  -> ScramClientFinal (send client_final() in SASLResponse)
//!   .verify_server_final(server-final)  -> Ok(()) when the server proved it knows the password
//! ```
//! The server is not trusted blindly: its nonce must extend ours, and its iteration count is
//! bounded so a hostile server cannot make us spin.

use subtle::ConstantTimeEq;

use super::{
    Attrs, ScramError, as_text, b64, hi, hmac, keys, normalize, random_nonce, unb64, valid_nonce,
};

/// Default upper bound on the iteration count a server may ask for.
pub const DEFAULT_MAX_ITERATIONS: u32 = 1_000_000;
/// Longest salt accepted from a server.
const MAX_SALT_LEN: usize = 256;
/// GS2 header: no channel binding, no authzid.
const GS2_HEADER: &str = "n,,";

const SERVER_FIRST: &str = "server-first";
const SERVER_FINAL: &str = "server-final";

/// Client-first sent; awaiting server-first.
#[derive(Clone)]
pub struct ScramClient {
    password: Vec<u8>,
    pub(super) client_nonce: String,
    client_first: String,
    max_iterations: u32,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient").finish_non_exhaustive()
    }
}

/// Client-final sent; awaiting server-final.
#[derive(Clone)]
pub struct ScramClientFinal {
    client_final: String,
    expected_server_signature: [u8; 32],
}

impl std::fmt::Debug for ScramClientFinal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClientFinal").finish_non_exhaustive()
    }
}

impl ScramClient {
    /// Start an exchange with a fresh random nonce.
    pub fn new(password: &[u8]) -> Result<Self, ScramError> {
        Ok(Self::with_nonce(password, &random_nonce()?))
    }

    pub(crate) fn with_nonce(password: &[u8], nonce: &str) -> Self {
        Self {
            password: normalize(password),
            client_nonce: nonce.to_owned(),
            // PostgreSQL ignores the SCRAM user name; libpq sends it empty.
            client_first: format!("{GS2_HEADER}n=,r={nonce}"),
            max_iterations: DEFAULT_MAX_ITERATIONS,
        }
    }

    /// Change the largest iteration count accepted from the server.
    pub fn with_max_iterations(mut self, max: u32) -> Self {
        self.max_iterations = max.max(1);
        self
    }

    /// The mechanism to name in SASLInitialResponse.
    pub fn mechanism(&self) -> &'static str {
        super::SCRAM_SHA_256
    }

    /// The client-first message.
    pub fn client_first(&self) -> &[u8] {
        self.client_first.as_bytes()
    }

    /// Handle server-first (from AuthenticationSASLContinue) and compute client-final.
    pub fn handle_server_first(self, data: &[u8]) -> Result<ScramClientFinal, ScramError> {
        let text = as_text(data, SERVER_FIRST)?;
        let malformed = |reason| ScramError::Malformed {
            message: SERVER_FIRST,
            reason,
        };
        let mut attrs = Attrs::new(text, SERVER_FIRST);
        if attrs.peek_name() == Some(b'm') {
            return Err(ScramError::ExtensionUnsupported);
        }
        let nonce = attrs.expect(b'r', "expected nonce attribute 'r'")?;
        if !valid_nonce(nonce) {
            return Err(malformed("invalid nonce"));
        }
        if nonce.len() <= self.client_nonce.len() || !nonce.starts_with(&self.client_nonce) {
            return Err(ScramError::NonceMismatch);
        }
        let salt = attrs.expect(b's', "expected salt attribute 's'")?;
        let salt = unb64(salt, SERVER_FIRST, "invalid base64 in salt")?;
        if salt.is_empty() || salt.len() > MAX_SALT_LEN {
            return Err(malformed("salt length out of range"));
        }
        let iter = attrs.expect(b'i', "expected iteration count attribute 'i'")?;
        if iter.is_empty() || iter.len() > 10 || !iter.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("iteration count is not a number"));
        }
        let count: u64 = iter
            .parse()
            .map_err(|_| malformed("iteration count is not a number"))?;
        let iterations = match u32::try_from(count) {
            Ok(i) if (1..=self.max_iterations).contains(&i) => i,
            _ => {
                return Err(ScramError::IterationCount {
                    count,
                    max: self.max_iterations,
                });
            }
        };
        while attrs.next_any()?.is_some() {}

        let salted = hi(&self.password, &salt, iterations);
        let (stored_key, server_key, client_key) = keys(&salted);
        let without_proof = format!("c={},r={nonce}", b64(GS2_HEADER.as_bytes()));
        let bare = self
            .client_first
            .get(GS2_HEADER.len()..)
            .unwrap_or_default();
        let auth_message = [
            bare.as_bytes(),
            b",",
            text.as_bytes(),
            b",",
            without_proof.as_bytes(),
        ];
        let client_signature = hmac(&stored_key, &auth_message);
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature.iter()) {
            *p ^= s;
        }
        Ok(ScramClientFinal {
            client_final: format!("{without_proof},p={}", b64(&proof)),
            expected_server_signature: hmac(&server_key, &auth_message),
        })
    }
}

impl ScramClientFinal {
    /// The client-final message.
    pub fn client_final(&self) -> &[u8] {
        self.client_final.as_bytes()
    }

    /// Check server-final (from AuthenticationSASLFinal): the server must prove it holds the
    /// verifier. Only after this succeeds should AuthenticationOk be believed.
    pub fn verify_server_final(&self, data: &[u8]) -> Result<(), ScramError> {
        let text = as_text(data, SERVER_FINAL)?;
        let mut attrs = Attrs::new(text, SERVER_FINAL);
        match attrs.next_any()? {
            Some((b'e', err)) => {
                let err: String = err.chars().filter(|c| !c.is_control()).take(128).collect();
                Err(ScramError::ServerError(err))
            }
            Some((b'v', sig)) => {
                let sig = unb64(sig, SERVER_FINAL, "invalid base64 in signature")?;
                while attrs.next_any()?.is_some() {}
                let ok: bool = sig.as_slice().ct_eq(&self.expected_server_signature).into();
                if ok {
                    Ok(())
                } else {
                    Err(ScramError::InvalidServerSignature)
                }
            }
            _ => Err(ScramError::Malformed {
                message: SERVER_FINAL,
                reason: "expected 'v' or 'e' attribute",
            }),
        }
    }
}
