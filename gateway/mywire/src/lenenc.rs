//! Length-encoded integers and strings, and the bounds-checked cursor every decoder reads
//! packets with.
//!
//! A length-encoded integer is one byte below `0xfb`, or `0xfc` + 2 bytes, `0xfd` + 3 bytes,
//! `0xfe` + 8 bytes (little endian). `0xfb` is SQL NULL in text rows and `0xff` never starts
//! one (it is the ERR header).

use bytes::{BufMut, BytesMut};

use crate::error::{ProtocolError, Result};

const PACKET: &str = "length-encoded value";

/// Reads a length-encoded integer and advances the slice. `0xfb` (NULL) and `0xff` are errors.
pub fn read_lenenc_int(buf: &mut &[u8]) -> Result<u64> {
    let mut r = Reader::new(buf, PACKET);
    let v = r.lenenc_int("integer")?;
    *buf = r.rest();
    Ok(v)
}

/// Reads a length-encoded integer, or `None` for the NULL marker `0xfb` (text rows).
pub fn read_lenenc_int_or_null(buf: &mut &[u8]) -> Result<Option<u64>> {
    if buf.first() == Some(&0xfb) {
        *buf = &buf[1..];
        return Ok(None);
    }
    read_lenenc_int(buf).map(Some)
}

/// Reads a length-encoded byte string and advances the slice.
pub fn read_lenenc_bytes<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    let mut r = Reader::new(buf, PACKET);
    let out = r.lenenc_bytes("string")?;
    *buf = r.rest();
    Ok(out)
}

/// How many bytes `write_lenenc_int(v)` writes.
pub fn lenenc_int_len(v: u64) -> usize {
    match v {
        0..0xfb => 1,
        0xfb..=0xffff => 3,
        0x1_0000..=0xff_ffff => 4,
        _ => 9,
    }
}

/// Appends `v` as a length-encoded integer (shortest form).
pub fn write_lenenc_int(out: &mut BytesMut, v: u64) {
    match v {
        0..0xfb => out.put_u8(v as u8),
        0xfb..=0xffff => {
            out.put_u8(0xfc);
            out.put_u16_le(v as u16);
        }
        0x1_0000..=0xff_ffff => {
            out.put_u8(0xfd);
            out.put_slice(&(v as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.put_u8(0xfe);
            out.put_u64_le(v);
        }
    }
}

/// Appends a length-encoded byte string.
pub fn write_lenenc_bytes(out: &mut BytesMut, b: &[u8]) {
    write_lenenc_int(out, b.len() as u64);
    out.put_slice(b);
}

/// Appends a NUL-terminated string (the caller guarantees it has no NUL inside).
pub(crate) fn write_nul_str(out: &mut BytesMut, s: &[u8]) {
    out.put_slice(s);
    out.put_u8(0);
}

/// Cursor over the payload of one packet: every read names the packet and field it was
/// reading, so a malformed packet yields a precise [`ProtocolError`] instead of a panic.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    packet: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], packet: &'static str) -> Self {
        Self { buf, packet }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    pub(crate) fn truncated(&self, field: &'static str) -> ProtocolError {
        ProtocolError::Truncated {
            packet: self.packet,
            field,
        }
    }

    pub(crate) fn invalid(&self, field: &'static str, reason: &'static str) -> ProtocolError {
        ProtocolError::InvalidField {
            packet: self.packet,
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

    pub(crate) fn take_rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
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

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u24(&mut self, field: &'static str) -> Result<u32> {
        let [a, b, c] = self.array(field)?;
        Ok(u32::from_le_bytes([a, b, c, 0]))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    pub(crate) fn lenenc_int(&mut self, field: &'static str) -> Result<u64> {
        match self.u8(field)? {
            b @ 0..0xfb => Ok(u64::from(b)),
            0xfc => Ok(u64::from(self.u16(field)?)),
            0xfd => Ok(u64::from(self.u24(field)?)),
            0xfe => self.u64(field),
            0xfb => Err(self.invalid(field, "NULL where a length is required")),
            _ => Err(self.invalid(field, "0xff is not a length prefix")),
        }
    }

    /// A length-encoded string; its length is checked against the bytes present before
    /// anything is sliced.
    pub(crate) fn lenenc_bytes(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let len = self.lenenc_int(field)?;
        match usize::try_from(len) {
            Ok(n) if n <= self.buf.len() => self.bytes(n, field),
            _ => Err(self.truncated(field)),
        }
    }

    /// Bytes up to (not including) a NUL, which is consumed.
    pub(crate) fn nul_bytes(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let Some(i) = self.buf.iter().position(|&b| b == 0) else {
            return Err(ProtocolError::MissingNul {
                packet: self.packet,
                field,
            });
        };
        let s = &self.buf[..i];
        self.buf = &self.buf[i + 1..];
        Ok(s)
    }

    /// Bytes up to a NUL, or to the end of the packet when there is none (fields some
    /// implementations leave unterminated at the end of a packet).
    pub(crate) fn nul_bytes_or_rest(&mut self) -> &'a [u8] {
        match self.buf.iter().position(|&b| b == 0) {
            Some(i) => {
                let s = &self.buf[..i];
                self.buf = &self.buf[i + 1..];
                s
            }
            None => self.take_rest(),
        }
    }

    pub(crate) fn string(&self, b: &[u8], field: &'static str, max: usize) -> Result<String> {
        if b.len() > max {
            return Err(ProtocolError::FieldTooLong {
                packet: self.packet,
                field,
                len: b.len(),
                max,
            });
        }
        String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::InvalidUtf8 {
            packet: self.packet,
            field,
        })
    }

    pub(crate) fn check_len(&self, len: usize, field: &'static str, max: usize) -> Result<()> {
        if len > max {
            return Err(ProtocolError::FieldTooLong {
                packet: self.packet,
                field,
                len,
                max,
            });
        }
        Ok(())
    }
}
