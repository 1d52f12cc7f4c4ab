//! Encoders for the frontend messages a gateway sends to a backend server.
//!
//! Plain functions appending to a `BytesMut`. Functions taking strings return an error for an
//! interior NUL (it would cut the field short and misframe what follows) and leave `buf`
//! unchanged on error.

use bytes::{BufMut, BytesMut};

use super::Target;
use crate::error::{ProtocolError, Result};
use crate::frame::{count_i16, len_i32, put_cstr, write_message};
use crate::startup::{CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, PROTOCOL_3_0, SSL_REQUEST_CODE};

/// StartupMessage for protocol 3.0 with the given parameters (`user` should be among them).
pub fn startup_message<'a>(
    buf: &mut BytesMut,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    const M: &str = "StartupMessage";
    write_message(buf, None, M, |buf| {
        buf.put_i32(PROTOCOL_3_0);
        for (k, v) in params {
            if k.is_empty() {
                return Err(ProtocolError::InvalidField {
                    message: M,
                    field: "parameter name",
                    reason: "must not be empty",
                });
            }
            put_cstr(buf, k.as_bytes(), M, "parameter name")?;
            put_cstr(buf, v.as_bytes(), M, "parameter value")?;
        }
        buf.put_u8(0);
        Ok(())
    })
}

/// SSLRequest.
pub fn ssl_request(buf: &mut BytesMut) {
    buf.put_i32(8);
    buf.put_i32(SSL_REQUEST_CODE);
}

/// GSSENCRequest.
pub fn gssenc_request(buf: &mut BytesMut) {
    buf.put_i32(8);
    buf.put_i32(GSSENC_REQUEST_CODE);
}

/// CancelRequest for the backend identified by BackendKeyData.
pub fn cancel_request(buf: &mut BytesMut, process_id: i32, secret_key: &[u8]) -> Result<()> {
    if !(4..=crate::startup::MAX_CANCEL_KEY_LEN).contains(&secret_key.len()) {
        return Err(ProtocolError::InvalidField {
            message: "CancelRequest",
            field: "secret key",
            reason: "must be 4 to 256 bytes",
        });
    }
    write_message(buf, None, "CancelRequest", |buf| {
        buf.put_i32(CANCEL_REQUEST_CODE);
        buf.put_i32(process_id);
        buf.put_slice(secret_key);
        Ok(())
    })
}

/// PasswordMessage carrying a cleartext password or an `md5...` hash.
pub fn password_message(buf: &mut BytesMut, password: &[u8]) -> Result<()> {
    write_message(buf, Some(b'p'), "PasswordMessage", |buf| {
        put_cstr(buf, password, "PasswordMessage", "password")
    })
}

/// SASLInitialResponse: chosen mechanism and the client-first message.
pub fn sasl_initial_response(buf: &mut BytesMut, mechanism: &str, data: &[u8]) -> Result<()> {
    const M: &str = "SASLInitialResponse";
    write_message(buf, Some(b'p'), M, |buf| {
        put_cstr(buf, mechanism.as_bytes(), M, "mechanism")?;
        buf.put_i32(len_i32(data.len(), M, "initial response")?);
        buf.put_slice(data);
        Ok(())
    })
}

/// SASLResponse: the next message of the SASL exchange.
pub fn sasl_response(buf: &mut BytesMut, data: &[u8]) -> Result<()> {
    write_message(buf, Some(b'p'), "SASLResponse", |buf| {
        buf.put_slice(data);
        Ok(())
    })
}

/// Query (simple protocol).
pub fn query(buf: &mut BytesMut, sql: &str) -> Result<()> {
    write_message(buf, Some(b'Q'), "Query", |buf| {
        put_cstr(buf, sql.as_bytes(), "Query", "query string")
    })
}

/// Parse: prepare `sql` as statement `name` with optional parameter type OIDs.
pub fn parse(buf: &mut BytesMut, name: &str, sql: &str, param_types: &[u32]) -> Result<()> {
    const M: &str = "Parse";
    write_message(buf, Some(b'P'), M, |buf| {
        put_cstr(buf, name.as_bytes(), M, "statement name")?;
        put_cstr(buf, sql.as_bytes(), M, "query string")?;
        buf.put_i16(count_i16(param_types.len(), M, "parameter types")?);
        for &oid in param_types {
            buf.put_u32(oid);
        }
        Ok(())
    })
}

/// Bind: create `portal` from `statement` with parameter values (`None` = NULL).
pub fn bind<'a>(
    buf: &mut BytesMut,
    portal: &str,
    statement: &str,
    param_formats: &[i16],
    params: impl IntoIterator<Item = Option<&'a [u8]>>,
    result_formats: &[i16],
) -> Result<()> {
    const M: &str = "Bind";
    write_message(buf, Some(b'B'), M, |buf| {
        put_cstr(buf, portal.as_bytes(), M, "portal name")?;
        put_cstr(buf, statement.as_bytes(), M, "statement name")?;
        buf.put_i16(count_i16(param_formats.len(), M, "parameter formats")?);
        for &f in param_formats {
            buf.put_i16(f);
        }
        let count_at = buf.len();
        buf.put_i16(0);
        let mut n = 0usize;
        for p in params {
            match p {
                None => buf.put_i32(-1),
                Some(v) => {
                    buf.put_i32(len_i32(v.len(), M, "parameter")?);
                    buf.put_slice(v);
                }
            }
            n += 1;
        }
        let n16 = count_i16(n, M, "parameters")?;
        if let Some(slot) = buf.get_mut(count_at..count_at + 2) {
            slot.copy_from_slice(&n16.to_be_bytes());
        }
        buf.put_i16(count_i16(result_formats.len(), M, "result formats")?);
        for &f in result_formats {
            buf.put_i16(f);
        }
        Ok(())
    })
}

/// Describe a statement or portal.
pub fn describe(buf: &mut BytesMut, target: Target, name: &str) -> Result<()> {
    write_message(buf, Some(b'D'), "Describe", |buf| {
        buf.put_u8(target.as_byte());
        put_cstr(buf, name.as_bytes(), "Describe", "name")
    })
}

/// Execute a portal, returning at most `max_rows` rows (0 = all).
pub fn execute(buf: &mut BytesMut, portal: &str, max_rows: i32) -> Result<()> {
    write_message(buf, Some(b'E'), "Execute", |buf| {
        put_cstr(buf, portal.as_bytes(), "Execute", "portal name")?;
        buf.put_i32(max_rows);
        Ok(())
    })
}

/// Close a statement or portal.
pub fn close(buf: &mut BytesMut, target: Target, name: &str) -> Result<()> {
    write_message(buf, Some(b'C'), "Close", |buf| {
        buf.put_u8(target.as_byte());
        put_cstr(buf, name.as_bytes(), "Close", "name")
    })
}

fn empty(buf: &mut BytesMut, tag: u8) {
    buf.put_u8(tag);
    buf.put_i32(4);
}

/// Sync.
pub fn sync(buf: &mut BytesMut) {
    empty(buf, b'S');
}

/// Flush.
pub fn flush(buf: &mut BytesMut) {
    empty(buf, b'H');
}

/// Terminate.
pub fn terminate(buf: &mut BytesMut) {
    empty(buf, b'X');
}

/// CopyData (same layout in both directions).
pub fn copy_data(buf: &mut BytesMut, data: &[u8]) -> Result<()> {
    write_message(buf, Some(b'd'), "CopyData", |buf| {
        buf.put_slice(data);
        Ok(())
    })
}

/// CopyDone (same layout in both directions).
pub fn copy_done(buf: &mut BytesMut) {
    empty(buf, b'c');
}

/// CopyFail with a reason.
pub fn copy_fail(buf: &mut BytesMut, message: &str) -> Result<()> {
    write_message(buf, Some(b'f'), "CopyFail", |buf| {
        put_cstr(buf, message.as_bytes(), "CopyFail", "error message")
    })
}
