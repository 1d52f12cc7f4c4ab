//! Helpers to build byte fixtures by hand (independent of the crate's encoders).

use bytes::{BufMut, BytesMut};

/// A typed frame: tag, Int32 length (self-inclusive), body.
pub fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// An untyped startup packet: Int32 length, then body (code + rest).
pub fn startup(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as i32 + 4).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// Concatenate byte pieces.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub fn be16(v: i16) -> [u8; 2] {
    v.to_be_bytes()
}

pub fn be32(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

pub fn buf(b: &[u8]) -> BytesMut {
    let mut m = BytesMut::new();
    m.put_slice(b);
    m
}

/// Feed `input` one byte at a time to `decode`, collecting every item decoded; checks that
/// nothing is decoded early and that the buffer is untouched while incomplete.
pub fn feed_bytewise<T, E: std::fmt::Debug>(
    input: &[u8],
    mut decode: impl FnMut(&mut BytesMut) -> Result<Option<T>, E>,
) -> Vec<T> {
    let mut b = BytesMut::new();
    let mut out = Vec::new();
    for &byte in input {
        b.put_u8(byte);
        loop {
            let before = b.len();
            match decode(&mut b).unwrap() {
                Some(item) => out.push(item),
                None => {
                    assert_eq!(b.len(), before, "incomplete decode must not consume");
                    break;
                }
            }
        }
    }
    assert!(b.is_empty(), "leftover bytes");
    out
}
