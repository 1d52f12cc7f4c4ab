//! Typed-message framing shared by both directions: one type byte, an Int32 length that counts
//! itself, then the body. Lengths are checked against a limit *before* the body is buffered, so
//! a peer cannot make us allocate by announcing a huge message.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

/// Bytes before the body of a typed message: the type byte and the Int32 length.
pub const HEADER_LEN: usize = 5;

/// One complete typed message, still raw: forwarding it is a `Bytes` clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    bytes: Bytes,
}

impl Frame {
    /// Wrap a complete frame (type byte + length + body). Checks the header only.
    pub fn new(bytes: Bytes) -> Result<Self> {
        let len = declared_len(&bytes).ok_or(ProtocolError::Truncated {
            message: "message",
            field: "header",
        })?;
        if len < 4 || len + 1 != bytes.len() {
            return Err(ProtocolError::InvalidLength {
                message: "message",
                len: i64::try_from(len).unwrap_or(i64::MAX),
            });
        }
        Ok(Self { bytes })
    }

    /// The type byte.
    pub fn tag(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// The whole frame, header included.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The whole frame, header included.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The body (after the length).
    pub fn body(&self) -> &[u8] {
        self.bytes.get(HEADER_LEN..).unwrap_or_default()
    }
}

fn declared_len(b: &[u8]) -> Option<usize> {
    let raw: [u8; 4] = b.get(1..HEADER_LEN)?.try_into().ok()?;
    usize::try_from(i32::from_be_bytes(raw)).ok()
}

/// Whether `buf` starts with a whole typed frame (header and the body its length declares).
pub fn is_complete(buf: &[u8]) -> bool {
    declared_len(buf).is_some_and(|len| buf.len() > len)
}

/// Split one typed frame off the front of `buf`.
///
/// `limit(tag)` gives the largest allowed declared length for a message type and its name
/// (or an error for a type not allowed here). Returns `Ok(None)` when more bytes are needed;
/// `buf` is untouched in that case and on error.
pub(crate) fn split_frame(
    buf: &mut BytesMut,
    limit: impl Fn(u8) -> Result<(usize, &'static str)>,
) -> Result<Option<Frame>> {
    let Some(&tag) = buf.first() else {
        return Ok(None);
    };
    // Check the type before the length so garbage is refused at the first byte.
    let (max, name) = limit(tag)?;
    let Some(raw) = buf.get(1..HEADER_LEN) else {
        return Ok(None);
    };
    let mut len_bytes = [0u8; 4];
    len_bytes.copy_from_slice(raw);
    let len = i32::from_be_bytes(len_bytes);
    let len = match usize::try_from(len) {
        Ok(l) if l >= 4 => l,
        _ => {
            return Err(ProtocolError::InvalidLength {
                message: name,
                len: i64::from(len),
            });
        }
    };
    if len > max {
        return Err(ProtocolError::MessageTooLarge {
            message: name,
            len,
            max,
        });
    }
    let total = len + 1;
    if buf.len() < total {
        // No `reserve(total)` here: a peer announcing a large message must send its bytes
        // before we hold memory for them (10,000 idle clients x 64 MiB would be fatal).
        return Ok(None);
    }
    Ok(Some(Frame {
        bytes: buf.split_to(total).freeze(),
    }))
}

/// Write a typed message: `tag`, a length placeholder, the body from `body`, then patch the
/// length. On error `buf` is restored to its previous length.
pub(crate) fn write_message(
    buf: &mut BytesMut,
    tag: Option<u8>,
    message: &'static str,
    body: impl FnOnce(&mut BytesMut) -> Result<()>,
) -> Result<()> {
    let start = buf.len();
    if let Some(t) = tag {
        buf.put_u8(t);
    }
    let len_at = buf.len();
    buf.put_i32(0);
    if let Err(e) = body(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let len = buf.len() - len_at;
    let Ok(len32) = i32::try_from(len) else {
        buf.truncate(start);
        return Err(ProtocolError::MessageTooLarge {
            message,
            len,
            max: i32::MAX as usize,
        });
    };
    if let Some(slot) = buf.get_mut(len_at..len_at + 4) {
        slot.copy_from_slice(&len32.to_be_bytes());
    }
    Ok(())
}

/// Write a NUL-terminated string, refusing interior NULs (they would cut the field short).
pub(crate) fn put_cstr(
    buf: &mut BytesMut,
    s: &[u8],
    message: &'static str,
    field: &'static str,
) -> Result<()> {
    if s.contains(&0) {
        return Err(ProtocolError::InvalidField {
            message,
            field,
            reason: "contains a NUL byte",
        });
    }
    buf.put_slice(s);
    buf.put_u8(0);
    Ok(())
}

/// Write a NUL-terminated string, replacing interior NULs with spaces. Used on error paths,
/// which must not fail.
pub(crate) fn put_cstr_lossy(buf: &mut BytesMut, s: &str) {
    for &b in s.as_bytes() {
        buf.put_u8(if b == 0 { b' ' } else { b });
    }
    buf.put_u8(0);
}

/// Convert a count to the Int16 the protocol uses.
pub(crate) fn count_i16(n: usize, message: &'static str, field: &'static str) -> Result<i16> {
    i16::try_from(n).map_err(|_| ProtocolError::InvalidField {
        message,
        field,
        reason: "more than 32767 entries",
    })
}

/// Convert a length to the Int32 the protocol uses.
pub(crate) fn len_i32(n: usize, message: &'static str, field: &'static str) -> Result<i32> {
    i32::try_from(n).map_err(|_| ProtocolError::InvalidField {
        message,
        field,
        reason: "longer than 2^31-1 bytes",
    })
}

#[cfg(test)]
mod tests {
    use super::is_complete;

    #[test]
    fn a_frame_is_complete_once_its_declared_body_is_there() {
        let sync = [b'S', 0, 0, 0, 4];
        assert!(is_complete(&sync));
        assert!(is_complete(&[&sync[..], b"Q"].concat()));
        assert!(!is_complete(&sync[..4]));
        assert!(!is_complete(&[b'Q', 0, 0, 0, 9, b'S']));
        assert!(!is_complete(&[]));
        // A negative length is never complete (the decoder refuses it).
        assert!(!is_complete(&[b'Q', 0xff, 0xff, 0xff, 0xff]));
    }
}
