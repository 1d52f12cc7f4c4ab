//! Packet framing: a 3-byte little-endian payload length and a 1-byte sequence number before
//! every payload. A logical payload of `0xffffff` bytes or more is split into physical
//! packets of exactly [`MAX_PAYLOAD`] bytes followed by a shorter one (possibly empty), with
//! consecutive sequence numbers.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

/// The largest payload of one physical packet; a physical packet this long is continued.
pub const MAX_PAYLOAD: usize = 0xff_ffff;

/// Size of a packet header.
pub const HEADER_LEN: usize = 4;

/// One logical packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Sequence number of the first physical packet.
    pub seq: u8,
    /// The sequence number after the last physical packet (what the answer must carry).
    pub next_seq: u8,
    /// The joined logical payload.
    pub payload: Bytes,
}

/// Splits logical packets off a read buffer.
#[derive(Debug, Clone)]
pub struct PacketDecoder {
    max: usize,
}

impl PacketDecoder {
    /// A decoder refusing joined payloads longer than `max_message` bytes
    /// (`max_allowed_packet`).
    pub fn new(max_message: usize) -> Self {
        Self { max: max_message }
    }

    /// Changes the bound on the joined payload.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// The bound on the joined payload.
    pub fn max(&self) -> usize {
        self.max
    }

    /// One logical packet: joins `0xffffff`-long physical packets with their continuations (a
    /// payload that is an exact multiple of `0xffffff` ends with an empty packet).
    ///
    /// `Ok(None)` means more bytes are needed; the buffer is left untouched. A length over the
    /// bound is refused as soon as its header is seen, before the payload is buffered.
    /// Continuation packets must carry sequence numbers increasing by one (wrapping); the first
    /// packet's number is reported in [`Packet::seq`] for the caller to check.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>> {
        // Walk the headers without consuming anything.
        let mut at = 0usize;
        let mut total = 0usize;
        let mut first_seq = None;
        let mut seq = 0u8;
        let mut parts = 0usize;
        loop {
            let Some(h) = buf.get(at..at + HEADER_LEN) else {
                return Ok(None);
            };
            let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
            let this_seq = h[3];
            match first_seq {
                None => first_seq = Some(this_seq),
                Some(_) if this_seq != seq => {
                    return Err(ProtocolError::SequenceMismatch {
                        expected: seq,
                        got: this_seq,
                    });
                }
                Some(_) => {}
            }
            seq = this_seq.wrapping_add(1);
            total += len;
            if total > self.max {
                return Err(ProtocolError::PacketTooLarge {
                    packet: "packet",
                    len: total,
                    max: self.max,
                });
            }
            at += HEADER_LEN + len;
            parts += 1;
            if buf.len() < at {
                return Ok(None);
            }
            if len < MAX_PAYLOAD {
                break;
            }
        }
        let first_seq = first_seq.unwrap_or_default();
        let frame = buf.split_to(at);
        let payload = if parts == 1 {
            frame.freeze().slice(HEADER_LEN..)
        } else {
            let mut joined = BytesMut::with_capacity(total);
            let mut rest = &frame[..];
            while let Some((h, tail)) = rest.split_first_chunk::<HEADER_LEN>() {
                let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
                let (body, tail) = tail.split_at(len.min(tail.len()));
                joined.put_slice(body);
                rest = tail;
            }
            joined.freeze()
        };
        Ok(Some(Packet {
            seq: first_seq,
            next_seq: seq,
            payload,
        }))
    }
}

fn put_header(out: &mut BytesMut, len: usize, seq: u8) {
    let l = (len as u32).to_le_bytes();
    out.put_slice(&[l[0], l[1], l[2], seq]);
}

/// Appends `payload` framed from sequence `seq` (splitting at [`MAX_PAYLOAD`], with a final
/// empty packet when the length is an exact multiple of it); returns the next sequence number.
pub fn write_packet(out: &mut BytesMut, mut seq: u8, payload: &[u8]) -> u8 {
    out.reserve(payload.len() + HEADER_LEN * (1 + payload.len() / MAX_PAYLOAD));
    let mut rest = payload;
    loop {
        let n = rest.len().min(MAX_PAYLOAD);
        put_header(out, n, seq);
        out.put_slice(&rest[..n]);
        rest = &rest[n..];
        seq = seq.wrapping_add(1);
        if n < MAX_PAYLOAD {
            return seq;
        }
    }
}

/// Starts a payload built in place: reserves a 4-byte header and returns its position, for
/// [`finish_packet`].
pub fn begin_packet(out: &mut BytesMut) -> usize {
    let mark = out.len();
    out.put_slice(&[0; HEADER_LEN]);
    mark
}

/// Fills the header reserved by [`begin_packet`] at `mark` for everything appended since,
/// splitting into several physical packets when the payload reaches [`MAX_PAYLOAD`]; returns
/// the next sequence number.
///
/// # Panics
///
/// If `mark` was not returned by `begin_packet` on this buffer (a programming error, never
/// caused by peer input).
pub fn finish_packet(out: &mut BytesMut, mark: usize, seq: u8) -> u8 {
    assert!(
        mark + HEADER_LEN <= out.len(),
        "finish_packet: mark not from begin_packet"
    );
    let len = out.len() - mark - HEADER_LEN;
    if len < MAX_PAYLOAD {
        let l = (len as u32).to_le_bytes();
        out[mark..mark + HEADER_LEN].copy_from_slice(&[l[0], l[1], l[2], seq]);
        return seq.wrapping_add(1);
    }
    let payload = out.split_off(mark + HEADER_LEN);
    out.truncate(mark);
    write_packet(out, seq, &payload)
}
