//! A bounds-checked cursor over a message body: every read names the message and field it was
//! reading so a malformed message yields a precise [`ProtocolError`] instead of a panic.

use crate::error::{ProtocolError, Result};

/// Cursor over the body of one message.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    message: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], message: &'static str) -> Self {
        Self { buf, message }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unread bytes, without consuming them.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    fn truncated(&self, field: &'static str) -> ProtocolError {
        ProtocolError::Truncated {
            message: self.message,
            field,
        }
    }

    pub(crate) fn invalid(&self, field: &'static str, reason: &'static str) -> ProtocolError {
        ProtocolError::InvalidField {
            message: self.message,
            field,
            reason,
        }
    }

    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(self.truncated(field));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let b = self.bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        let [b] = self.array::<1>(field)?;
        Ok(b)
    }

    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A count field (Int16) that must not be negative.
    pub(crate) fn count16(&mut self, field: &'static str) -> Result<usize> {
        let n = self.i16(field)?;
        usize::try_from(n).map_err(|_| self.invalid(field, "negative count"))
    }

    /// A NUL-terminated string as raw bytes (without the NUL).
    pub(crate) fn cstr_bytes(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let pos = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or(ProtocolError::MissingNul {
                message: self.message,
                field,
            })?;
        let s = self.bytes(pos, field)?;
        self.bytes(1, field)?;
        Ok(s)
    }

    /// A NUL-terminated UTF-8 string (without the NUL).
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<&'a str> {
        let b = self.cstr_bytes(field)?;
        std::str::from_utf8(b).map_err(|_| ProtocolError::InvalidUtf8 {
            message: self.message,
            field,
        })
    }

    /// An Int32 length followed by that many bytes; `-1` means NULL (`None`).
    pub(crate) fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<&'a [u8]>> {
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        let n = usize::try_from(len).map_err(|_| self.invalid(field, "negative length"))?;
        self.bytes(n, field).map(Some)
    }

    /// Fail if bytes remain.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::TrailingBytes {
                message: self.message,
                extra: self.buf.len(),
            })
        }
    }
}
