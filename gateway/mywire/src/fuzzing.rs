//! The bodies of the fuzz targets in `fuzz/fuzz_targets/`, one function per target, so the
//! same code runs under libFuzzer (nightly, `cargo fuzz`) and in the stable test suite
//! (`tests/it/fuzz_corpus.rs` replays every corpus file and mutates them for a bounded run).
//!
//! Why a `#[doc(hidden)] pub mod` and not a cargo feature: the integration tests of this crate
//! must reach these functions in a plain `cargo test`, and a package cannot turn on its own
//! feature for its tests without a self dev-dependency.
//!
//! Each function panics (`assert!`) only when the code under test breaks one of its own
//! documented invariants; hostile input must produce `Err`, never a panic.

use bytes::{Bytes, BytesMut};

use crate::command::{Command, decode_command, execute_layout, execute_with_types, set_stmt_id};
use crate::consts::caps::*;
use crate::consts::status::{SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS};
use crate::handshake::{
    AuthSwitchRequest, ClientHello, HandshakeV10, MAX_ATTRS_LEN, MAX_NAME_LEN, decode_client_hello,
    encode_ssl_request,
};
use crate::packet::{PacketDecoder, write_packet};
use crate::response::{
    ErrPacket, Event, Expect, OkPacket, PrepareOk, ResponseTracker, patch_status,
};

/// The body of one fuzz target.
pub type Target = fn(&[u8]);

/// Every target: its name (the file name under `fuzz/fuzz_targets/` and the corpus directory
/// under `fuzz/corpus/`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("client_hello", client_hello),
    ("command", command),
    ("packet_decoder", packet_decoder),
    ("response_tracker", response_tracker),
    ("server_greeting", server_greeting),
];

/// Packet limit for the targets: small, so the oversize path is cheap to reach.
const MAX_MESSAGE: usize = 1 << 16;

/// Capabilities picked by a byte of the input.
fn caps_from(b: u8) -> u32 {
    let mut caps = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION;
    for (bit, flag) in [
        CLIENT_DEPRECATE_EOF,
        CLIENT_SESSION_TRACK,
        CLIENT_QUERY_ATTRIBUTES,
        CLIENT_PLUGIN_AUTH,
        CLIENT_CONNECT_ATTRS,
        CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
        CLIENT_CONNECT_WITH_DB,
    ]
    .into_iter()
    .enumerate()
    {
        if b & (1 << bit) != 0 {
            caps |= flag;
        }
    }
    if b & 0x80 != 0 {
        caps &= !(CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION);
    }
    caps
}

/// The packet decoder, fed in two reads (the first byte picks the split point): `Ok(None)`
/// leaves the buffer untouched, payloads respect the bound, and re-framing a packet from its
/// sequence number gives back exactly the consumed bytes and `next_seq`.
pub fn packet_decoder(data: &[u8]) {
    let mut decoder = PacketDecoder::new(MAX_MESSAGE);
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (head, mut pending) = data.split_at(split);
    let mut buf = BytesMut::from(head);
    loop {
        let before = buf.clone();
        match decoder.decode(&mut buf) {
            Ok(Some(p)) => {
                assert!(p.payload.len() <= MAX_MESSAGE, "payload over the bound");
                let consumed = before.len() - buf.len();
                let mut again = BytesMut::new();
                let next = write_packet(&mut again, p.seq, &p.payload);
                assert_eq!(next, p.next_seq, "next_seq is the re-framed next seq");
                assert_eq!(
                    &before[..consumed],
                    &again[..],
                    "the frame is what was consumed"
                );
            }
            Ok(None) => {
                assert_eq!(buf, before, "Ok(None) must leave the buffer untouched");
                if pending.is_empty() {
                    break;
                }
                buf.extend_from_slice(pending);
                pending = &[];
            }
            Err(e) => {
                let _ = (e.to_string_client(), e.kind(), e.error_code(), e.sqlstate());
                break;
            }
        }
    }
}

/// The client's first packet: bounds hold, and what decodes re-encodes to something that
/// decodes to the same value.
pub fn client_hello(data: &[u8]) {
    match decode_client_hello(data) {
        Ok(ClientHello::Response(r)) => {
            assert!(r.capabilities & CLIENT_PROTOCOL_41 != 0);
            assert!(r.user.len() <= MAX_NAME_LEN);
            assert!(r.database.as_ref().is_none_or(|d| d.len() <= MAX_NAME_LEN));
            let attrs: usize = r.attrs.iter().map(|(k, v)| k.len() + v.len()).sum();
            assert!(attrs <= MAX_ATTRS_LEN);
            let mut out = BytesMut::new();
            r.encode(&mut out);
            let again = decode_client_hello(&out);
            // A re-encoded response of exactly 32 bytes with CLIENT_SSL reads as an SSL
            // request; anything else must round-trip.
            if out.len() != 32 || r.capabilities & CLIENT_SSL == 0 {
                assert_eq!(
                    again,
                    Ok(ClientHello::Response(r)),
                    "re-encoded response differs"
                );
            }
        }
        Ok(ClientHello::SslRequest {
            capabilities,
            max_packet,
            charset,
        }) => {
            assert_eq!(data.len(), 32);
            let mut out = BytesMut::new();
            encode_ssl_request(&mut out, capabilities, max_packet, charset);
            assert_eq!(
                decode_client_hello(&out),
                Ok(ClientHello::SslRequest {
                    capabilities,
                    max_packet,
                    charset
                })
            );
        }
        Err(e) => {
            let _ = e.to_string_client();
        }
    }
}

/// A client command under capabilities picked by the first byte: lossless SQL, statement-id
/// rewriting, and the COM_STMT_EXECUTE layout with a parameter count picked by the second.
pub fn command(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let caps = caps_from(pick);
    let payload = Bytes::copy_from_slice(rest);
    match decode_command(&payload, caps) {
        Ok(Command::Query(sql)) | Ok(Command::StmtPrepare(sql)) => {
            assert!(payload.ends_with(&sql), "SQL is a suffix of the payload");
        }
        Ok(Command::FieldList { wildcard, .. }) => assert!(payload.ends_with(&wildcard)),
        Ok(Command::Other(b)) => assert_eq!(payload.first(), Some(&b)),
        Ok(_) | Err(_) => {}
    }
    let mut copy = rest.to_vec();
    if set_stmt_id(&mut copy, 0xdead_beef).is_ok() {
        let id = match decode_command(&Bytes::from(copy), caps) {
            Ok(Command::StmtExecute { stmt_id, .. })
            | Ok(Command::StmtSendLongData { stmt_id, .. })
            | Ok(Command::StmtFetch { stmt_id, .. })
            | Ok(Command::StmtClose(stmt_id))
            | Ok(Command::StmtReset(stmt_id)) => Some(stmt_id),
            _ => None,
        };
        assert!(
            id.is_none_or(|id| id == 0xdead_beef),
            "set_stmt_id rewrote the id"
        );
    }
    let n = u16::from(rest.get(10).copied().unwrap_or(0) % 20);
    if let Ok(layout) = execute_layout(rest, n) {
        assert!(layout.values_start <= rest.len());
        assert!(layout.null_bitmap.end <= layout.values_start);
        if let Some(t) = &layout.types {
            assert_eq!(t.len(), 2 * usize::from(n));
            assert_eq!(t.end, layout.values_start);
        }
        let types: Vec<u8> = (0..2 * n).map(|i| i as u8).collect();
        let bound = execute_with_types(rest, n, &types).expect("valid layout takes types");
        let again = execute_layout(&bound, n).expect("the bound payload has a layout");
        if n > 0 {
            assert!(again.new_params_bound);
            let t = again.types.clone().expect("types are bound");
            if !layout.new_params_bound {
                assert_eq!(&bound[t], &types[..]);
                assert_eq!(&bound[again.values_start..], &rest[layout.values_start..]);
            }
        }
    }
}

/// A server answer: the first byte picks the command kind and capabilities, the rest is
/// framed packets fed to a [`ResponseTracker`]. `Done` means `done()`; nothing is accepted
/// after it; a final status can be patched in place and re-read.
pub fn response_tracker(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let expect = [
        Expect::Query,
        Expect::Execute,
        Expect::Prepare,
        Expect::Simple,
        Expect::Statistics,
        Expect::FieldList,
        Expect::Fetch,
    ][usize::from(pick & 7) % 7];
    let caps = if pick & 0x08 != 0 {
        CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_DEPRECATE_EOF
    } else {
        CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
    } | if pick & 0x10 != 0 {
        CLIENT_SESSION_TRACK
    } else {
        0
    };
    let mut tracker = ResponseTracker::new(expect, caps);
    let mut decoder = PacketDecoder::new(MAX_MESSAGE);
    let mut buf = BytesMut::from(rest);
    while let Ok(Some(p)) = decoder.decode(&mut buf) {
        let before = tracker.clone();
        match tracker.feed(&p.payload) {
            Ok(Event::Done { status, error }) => {
                assert!(tracker.done());
                assert!(status.is_none() || error.is_none());
                assert!(tracker.feed(&p.payload).is_err(), "nothing after Done");
                if let Some(s) = status {
                    let mut patched = p.payload.to_vec();
                    let (set, clear) = (SERVER_STATUS_IN_TRANS, SERVER_STATUS_AUTOCOMMIT);
                    if patch_status(&mut patched, caps, set, clear).is_ok() {
                        let mut again = before;
                        let want = (s | set) & !clear;
                        assert_eq!(
                            again.feed(&patched),
                            Ok(Event::Done {
                                status: Some(want),
                                error: None
                            }),
                            "patched status reads back"
                        );
                    }
                }
            }
            Ok(Event::LocalInfile) => tracker.after_local_infile(),
            Ok(Event::PrepareOk(ok)) => {
                assert_eq!(tracker.done(), ok.num_params == 0 && ok.num_columns == 0);
            }
            Ok(Event::Continue) => assert!(!tracker.done()),
            Err(_) => {}
        }
        let _ = (
            OkPacket::decode(&p.payload, caps),
            ErrPacket::decode(&p.payload),
            PrepareOk::decode(&p.payload),
            crate::response::ColumnDef::decode(&p.payload),
        );
    }
}

/// The server greeting and auth switch request: what decodes re-encodes to the same value.
pub fn server_greeting(data: &[u8]) {
    if let Ok(g) = HandshakeV10::decode(data) {
        assert!(g.server_version.len() <= MAX_NAME_LEN);
        let _ = (g.is_mariadb(), g.version());
        // Greetings that end after the capability flags (pre-4.1) and short scrambles are
        // normalized on encode; compare the fields that always survive.
        let mut out = BytesMut::new();
        g.encode(&mut out);
        let again = HandshakeV10::decode(&out).expect("an encoded greeting decodes");
        assert_eq!(
            (
                &again.server_version,
                again.connection_id,
                again.capabilities
            ),
            (&g.server_version, g.connection_id, g.capabilities)
        );
        assert_eq!((again.charset, again.status), (g.charset, g.status));
        if g.auth_data.len() >= 20 && g.capabilities & CLIENT_SECURE_CONNECTION != 0 {
            assert_eq!(again, g, "a full greeting round-trips");
        }
    }
    if let Ok(sw) = AuthSwitchRequest::decode(data) {
        let mut out = BytesMut::new();
        sw.encode(&mut out);
        if sw.plugin != "mysql_old_password" {
            let again = AuthSwitchRequest::decode(&out).expect("an encoded switch decodes");
            assert_eq!(again.plugin, sw.plugin);
        }
    }
}
