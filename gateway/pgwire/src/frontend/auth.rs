//! The `p` message: PasswordMessage, SASLInitialResponse or SASLResponse.
//!
//! The three share one type byte; which one it is depends on the authentication request the
//! server sent, so the decoder returns an [`AuthResponse`] and the caller picks the form.

use super::frame_message;
use crate::error::Result;

frame_message!(
    /// `p`: an authentication response whose form depends on the exchange in progress.
    AuthResponse,
    b'p',
    "PasswordMessage"
);

/// The parsed form of a SASLInitialResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaslInitialResponse<'a> {
    /// The SASL mechanism chosen by the client (e.g. `SCRAM-SHA-256`).
    pub mechanism: &'a str,
    /// The initial client response (`None` when the client sent length -1).
    pub data: Option<&'a [u8]>,
}

impl AuthResponse {
    /// As a PasswordMessage (cleartext or `md5...` hash): the password bytes, without the NUL.
    ///
    /// Not necessarily UTF-8: PostgreSQL passes these bytes through as sent.
    pub fn password(&self) -> Result<&[u8]> {
        let mut r = self.reader();
        let pw = r.cstr_bytes("password")?;
        r.finish()?;
        Ok(pw)
    }

    /// As a SASLInitialResponse: mechanism name and initial response.
    pub fn sasl_initial(&self) -> Result<SaslInitialResponse<'_>> {
        let mut r = crate::reader::Reader::new(self.body(), "SASLInitialResponse");
        let mechanism = r.cstr("mechanism")?;
        let data = r.nullable_bytes("initial response")?;
        r.finish()?;
        Ok(SaslInitialResponse { mechanism, data })
    }

    /// As a SASLResponse: the whole body is the mechanism's data.
    pub fn sasl_response(&self) -> &[u8] {
        self.body()
    }
}
