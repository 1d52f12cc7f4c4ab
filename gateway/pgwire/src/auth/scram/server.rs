//! Server side of SCRAM-SHA-256: the gateway authenticates a client against a stored verifier.
//!
//! ```text
//! ScramServer::new(verifier)
//!   .handle_client_first(client-first)   -> ScramServerChallenge (send server_first())
//!   .handle_client_final(client-final)   -> server-final (send in AuthenticationSASLFinal)
//! ```
//! The type changes at each step, so a step cannot be skipped or repeated.

use subtle::ConstantTimeEq;

use super::{
    Attrs, SCRAM_SHA_256, ScramError, ScramVerifier, as_text, b64, hmac, random_nonce, sha256,
    unb64, valid_nonce,
};
use crate::frontend::SaslInitialResponse;

const CLIENT_FIRST: &str = "client-first";
const CLIENT_FINAL: &str = "client-final";

/// Awaiting the client-first message.
#[derive(Debug, Clone)]
pub struct ScramServer {
    verifier: ScramVerifier,
    server_nonce: Option<String>,
}

/// Server-first sent; awaiting client-final.
#[derive(Debug, Clone)]
pub struct ScramServerChallenge {
    verifier: ScramVerifier,
    /// The GS2 header the client sent (`n,,` or `y,,`), echoed base64 in `c=`.
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

impl ScramServer {
    /// Start an exchange against `verifier` (use [`ScramVerifier::mock`] for unknown users).
    pub fn new(verifier: ScramVerifier) -> Self {
        Self {
            verifier,
            server_nonce: None,
        }
    }

    /// Fix the server nonce part (tests only: it must be random in real exchanges).
    #[cfg(test)]
    pub(crate) fn with_server_nonce(mut self, nonce: &str) -> Self {
        self.server_nonce = Some(nonce.to_owned());
        self
    }

    /// Handle a SASLInitialResponse: check the mechanism, then the client-first message.
    pub fn handle_initial_response(
        self,
        initial: &SaslInitialResponse<'_>,
    ) -> Result<ScramServerChallenge, ScramError> {
        if initial.mechanism != SCRAM_SHA_256 {
            return Err(ScramError::UnsupportedMechanism);
        }
        let data = initial.data.ok_or(ScramError::Malformed {
            message: CLIENT_FIRST,
            reason: "missing initial response",
        })?;
        self.handle_client_first(data)
    }

    /// Handle the client-first message and build server-first.
    pub fn handle_client_first(self, data: &[u8]) -> Result<ScramServerChallenge, ScramError> {
        let text = as_text(data, CLIENT_FIRST)?;
        let malformed = |reason| ScramError::Malformed {
            message: CLIENT_FIRST,
            reason,
        };
        // gs2-header: cbind-flag "," [authzid] ","
        let (flag, rest) = text
            .split_once(',')
            .ok_or(malformed("missing GS2 header"))?;
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err(ScramError::ChannelBindingUnsupported),
            _ => return Err(malformed("invalid channel binding flag")),
        }
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or(malformed("missing GS2 header"))?;
        if !authzid.is_empty() {
            return Err(if authzid.starts_with("a=") {
                ScramError::AuthzidUnsupported
            } else {
                malformed("invalid authorization identity")
            });
        }
        let gs2_header = format!("{flag},,");

        let mut attrs = Attrs::new(bare, CLIENT_FIRST);
        if attrs.peek_name() == Some(b'm') {
            return Err(ScramError::ExtensionUnsupported);
        }
        // The user name is ignored, as in PostgreSQL: the startup packet names the user.
        attrs.expect(b'n', "expected user name attribute 'n'")?;
        let client_nonce = attrs.expect(b'r', "expected nonce attribute 'r'")?;
        if !valid_nonce(client_nonce) {
            return Err(malformed("invalid nonce"));
        }
        // Optional extensions: must be well-formed attributes; their meaning is ignored.
        while attrs.next_any()?.is_some() {}

        let server_part = match self.server_nonce {
            Some(n) => n,
            None => random_nonce()?,
        };
        let nonce = format!("{client_nonce}{server_part}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            b64(&self.verifier.salt),
            self.verifier.iterations
        );
        Ok(ScramServerChallenge {
            verifier: self.verifier,
            gs2_header,
            client_first_bare: bare.to_owned(),
            server_first,
            nonce,
        })
    }
}

impl ScramServerChallenge {
    /// The server-first message to send in AuthenticationSASLContinue.
    pub fn server_first(&self) -> &[u8] {
        self.server_first.as_bytes()
    }

    /// Verify client-final; on success return the server-final message to send in
    /// AuthenticationSASLFinal (followed by AuthenticationOk).
    ///
    /// A wrong password and an unknown (mock) user both yield [`ScramError::InvalidProof`].
    pub fn handle_client_final(self, data: &[u8]) -> Result<Vec<u8>, ScramError> {
        let text = as_text(data, CLIENT_FINAL)?;
        let malformed = |reason| ScramError::Malformed {
            message: CLIENT_FINAL,
            reason,
        };
        let (without_proof, proof_b64) = text
            .rsplit_once(",p=")
            .ok_or(malformed("missing proof attribute 'p'"))?;

        let mut attrs = Attrs::new(without_proof, CLIENT_FINAL);
        let cbind = attrs.expect(b'c', "expected channel binding attribute 'c'")?;
        let cbind = unb64(cbind, CLIENT_FINAL, "invalid base64 in channel binding")?;
        if cbind != self.gs2_header.as_bytes() {
            return Err(ScramError::ChannelBindingMismatch);
        }
        let nonce = attrs.expect(b'r', "expected nonce attribute 'r'")?;
        if nonce != self.nonce {
            return Err(ScramError::NonceMismatch);
        }
        while attrs.next_any()?.is_some() {}

        let proof = unb64(proof_b64, CLIENT_FINAL, "invalid base64 in proof")?;
        let proof: [u8; 32] = proof
            .try_into()
            .map_err(|_| malformed("proof is not 32 bytes"))?;

        let auth_message = [
            self.client_first_bare.as_bytes(),
            b",",
            self.server_first.as_bytes(),
            b",",
            without_proof.as_bytes(),
        ];
        let client_signature = hmac(&self.verifier.stored_key, &auth_message);
        let mut client_key = proof;
        for (k, s) in client_key.iter_mut().zip(client_signature.iter()) {
            *k ^= s;
        }
        let matches: bool = sha256(&client_key).ct_eq(&self.verifier.stored_key).into();
        if !matches || self.verifier.mock {
            return Err(ScramError::InvalidProof);
        }
        let server_signature = hmac(&self.verifier.server_key, &auth_message);
        Ok(format!("v={}", b64(&server_signature)).into_bytes())
    }
}
