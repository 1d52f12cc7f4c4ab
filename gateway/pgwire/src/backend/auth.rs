//! Authentication request (`R`) subtypes sent by the server.

use crate::error::Result;
use crate::reader::Reader;

/// An authentication request from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication<'a> {
    /// 0: authentication succeeded.
    Ok,
    /// 2: Kerberos V5 (unsupported by modern servers).
    KerberosV5,
    /// 3: send the password in clear text.
    CleartextPassword,
    /// 5: send `md5(md5(password + user) + salt)`.
    Md5Password {
        /// The 4-byte salt.
        salt: [u8; 4],
    },
    /// 7: start GSSAPI.
    Gss,
    /// 8: GSSAPI or SSPI continuation data.
    GssContinue(&'a [u8]),
    /// 9: start SSPI.
    Sspi,
    /// 10: start SASL; the server's mechanisms in order of preference.
    Sasl(Vec<&'a str>),
    /// 11: SASL challenge (SCRAM server-first message).
    SaslContinue(&'a [u8]),
    /// 12: SASL outcome (SCRAM server-final message).
    SaslFinal(&'a [u8]),
}

impl<'a> Authentication<'a> {
    /// The subtype code on the wire.
    pub fn code(&self) -> i32 {
        match self {
            Self::Ok => 0,
            Self::KerberosV5 => 2,
            Self::CleartextPassword => 3,
            Self::Md5Password { .. } => 5,
            Self::Gss => 7,
            Self::GssContinue(_) => 8,
            Self::Sspi => 9,
            Self::Sasl(_) => 10,
            Self::SaslContinue(_) => 11,
            Self::SaslFinal(_) => 12,
        }
    }

    pub(crate) fn parse(mut r: Reader<'a>) -> Result<Self> {
        let code = r.i32("authentication type")?;
        let out = match code {
            0 => Self::Ok,
            2 => Self::KerberosV5,
            3 => Self::CleartextPassword,
            5 => Self::Md5Password {
                salt: r.array("salt")?,
            },
            7 => Self::Gss,
            8 => return Ok(Self::GssContinue(r.rest())),
            9 => Self::Sspi,
            10 => {
                let mut mechs = Vec::new();
                loop {
                    let m = r.cstr("mechanism")?;
                    if m.is_empty() {
                        break;
                    }
                    mechs.push(m);
                }
                if mechs.is_empty() {
                    return Err(r.invalid("mechanism", "no SASL mechanism offered"));
                }
                Self::Sasl(mechs)
            }
            11 => return Ok(Self::SaslContinue(r.rest())),
            12 => return Ok(Self::SaslFinal(r.rest())),
            _ => return Err(r.invalid("authentication type", "unknown authentication request")),
        };
        r.finish()?;
        Ok(out)
    }
}
