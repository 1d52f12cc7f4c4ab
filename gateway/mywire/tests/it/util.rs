//! Shared helpers: building payloads and frames by hand.

use bytes::BytesMut;

/// The bytes an encoder appends.
pub fn enc(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
    let mut b = BytesMut::new();
    f(&mut b);
    b.to_vec()
}

/// Concatenation.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// One physical packet with an arbitrary header.
pub fn frame(len: usize, seq: u8, body: &[u8]) -> Vec<u8> {
    let l = (len as u32).to_le_bytes();
    cat(&[&[l[0], l[1], l[2], seq], body])
}

/// A frame for each payload, sequence numbers from `seq`.
pub fn frames(seq: u8, payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = BytesMut::new();
    let mut s = seq;
    for p in payloads {
        s = articdbm_mywire::write_packet(&mut out, s, p);
    }
    out.to_vec()
}

/// A real MariaDB 10.11 server greeting payload, written out by hand: version with the
/// `5.5.5-` prefix, capabilities without CLIENT_LONG_PASSWORD (MariaDB's CLIENT_MYSQL),
/// extended capabilities 0x1d in the last reserved bytes, `mysql_native_password`.
pub fn mariadb_greeting() -> Vec<u8> {
    cat(&[
        &[0x0a],
        b"5.5.5-10.11.6-MariaDB-0+deb12u1\0",
        &[0x1f, 0x00, 0x00, 0x00], // connection id 31
        b"Kp&Q7y!w",               // scramble, first 8 bytes
        &[0x00],                   // filler
        &[0xfe, 0xf7],             // capabilities, low
        &[0x2d],                   // utf8mb4_general_ci
        &[0x02, 0x00],             // SERVER_STATUS_AUTOCOMMIT
        &[0xff, 0x81],             // capabilities, high
        &[0x15],                   // auth data length 21
        &[0, 0, 0, 0, 0, 0],       // reserved
        &[0x1d, 0x00, 0x00, 0x00], // MariaDB extended capabilities
        b"Zx:1r]T%oC^j\0",         // scramble, last 12 bytes + NUL
        b"mysql_native_password\0",
    ])
}

/// A MySQL 8.0 greeting payload, written out by hand.
pub fn mysql8_greeting() -> Vec<u8> {
    cat(&[
        &[0x0a],
        b"8.0.36\0",
        &[0x0b, 0x00, 0x00, 0x00],
        &[0x11, 0x4c, 0x3e, 0x5b, 0x2a, 0x01, 0x7f, 0x63],
        &[0x00],
        &[0xff, 0xff],
        &[0xff],
        &[0x02, 0x00],
        &[0xff, 0xdf],
        &[0x15],
        &[0; 10],
        &[
            0x19, 0x5f, 0x3d, 0x72, 0x67, 0x0c, 0x44, 0x28, 0x4b, 0x12, 0x6a, 0x30, 0x00,
        ],
        b"caching_sha2_password\0",
    ])
}
