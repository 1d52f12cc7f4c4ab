//! The bodies of the fuzz targets in `fuzz/fuzz_targets/`, one function per target, so the
//! same code runs under libFuzzer (nightly, `cargo fuzz`) and in the stable test suite
//! (`tests/it/fuzz_corpus.rs` replays every corpus file and mutates them for a bounded run).
//!
//! Why a `#[doc(hidden)] pub mod` and not a cargo feature: the integration tests of this crate
//! must reach these functions in a plain `cargo test`, and a package cannot turn on its own
//! feature for its tests without a self dev-dependency; the module is small, has no
//! dependencies of its own, and is hidden from the docs because it is not an API.
//!
//! Each function panics (`assert!`) only when the code under test breaks one of its own
//! documented invariants; hostile input must produce `Err`, never a panic.

use bytes::BytesMut;

use crate::auth::scram::{ScramClient, ScramServer, ScramVerifier};
use crate::backend::BackendDecoder;
use crate::frontend::{FrontendDecoder, FrontendMessage};
use crate::startup::{StartupDecoder, StartupPacket};

/// The body of one fuzz target.
pub type Target = fn(&[u8]);

/// Every target: its name (the file name under `fuzz/fuzz_targets/` and the corpus directory
/// under `fuzz/corpus/`) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("backend_decoder", backend_decoder),
    ("frontend_decoder", frontend_decoder),
    ("scram_client", scram_client),
    ("scram_server", scram_server),
    ("startup_packet", startup_packet),
];

/// Limit for the normal-phase decoders: small, so the oversize path is cheap to reach.
const MAX_MESSAGE_LEN: usize = 1 << 16;

/// One step of a decoder: `Ok(None)` must leave the buffer as it was, and `Ok(Some)` must
/// consume exactly the decoded frame, byte for byte.
fn check_step<T>(
    buf: &mut BytesMut,
    decode: impl FnOnce(&mut BytesMut) -> crate::Result<Option<T>>,
    frame_of: fn(&T) -> Option<&[u8]>,
) -> crate::Result<Option<T>> {
    let before = buf.clone();
    let out = decode(buf)?;
    match &out {
        None => assert_eq!(*buf, before, "Ok(None) must leave the buffer untouched"),
        Some(item) => {
            let consumed = before.len() - buf.len();
            assert!(consumed > 0, "Ok(Some) must consume bytes");
            assert_eq!(
                before.get(consumed..),
                Some(&buf[..]),
                "only a prefix is consumed"
            );
            if let Some(frame) = frame_of(item) {
                assert_eq!(
                    before.get(..consumed),
                    Some(frame),
                    "the frame is what was consumed"
                );
            }
        }
    }
    Ok(out)
}

/// The startup-phase decoder: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest.
pub fn startup_packet(data: &[u8]) {
    let decoder = StartupDecoder::new();
    let mut buf = BytesMut::from(data);
    // Only a StartupMessage keeps its frame; the other packets are checked for a clean prefix.
    fn frame_of(p: &StartupPacket) -> Option<&[u8]> {
        match p {
            StartupPacket::Startup(m) => Some(m.frame()),
            _ => None,
        }
    }
    while let Ok(Some(packet)) = check_step(&mut buf, |b| decoder.decode(b), frame_of) {
        match packet {
            StartupPacket::Startup(m) => {
                assert!(!m.user().is_empty(), "a StartupMessage always names a user");
                let _ = (m.database(), m.needs_negotiation(), m.protocol_version());
                let _ = (m.params().count(), m.protocol_options().count());
                let _ = (m.application_name(), m.options(), m.replication());
            }
            StartupPacket::Cancel(c) => {
                assert!(c.secret_key.len() <= crate::startup::MAX_CANCEL_KEY_LEN);
            }
            StartupPacket::SslRequest | StartupPacket::GssEncRequest => {}
        }
    }
}

/// The normal-phase frontend decoder, fed in two reads (the first byte of the input picks the
/// split point, to exercise "need more bytes"), and every lazy accessor.
pub fn frontend_decoder(data: &[u8]) {
    let decoder = FrontendDecoder::with_max_message_len(MAX_MESSAGE_LEN);
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (head, mut pending) = data.split_at(split);
    let mut buf = BytesMut::from(head);
    fn frame_of(m: &FrontendMessage) -> Option<&[u8]> {
        Some(m.frame())
    }
    loop {
        match check_step(&mut buf, |b| decoder.decode(b), frame_of) {
            Ok(Some(m)) => exercise_frontend(&m),
            Ok(None) if !pending.is_empty() => {
                buf.extend_from_slice(pending);
                pending = &[];
            }
            Ok(None) | Err(_) => break,
        }
    }
}

fn exercise_frontend(m: &FrontendMessage) {
    let _ = m.validate();
    match m {
        FrontendMessage::Bind(b) => {
            if let Ok(f) = b.fields() {
                let _ = f.param_formats.clone().count();
                let _ = f.result_formats.for_index(7);
                let _ = f.params.count();
            }
        }
        FrontendMessage::AuthResponse(a) => {
            let _ = a.password();
            let _ = a.sasl_initial();
        }
        FrontendMessage::Parse(p) => {
            let _ = p.param_types().map(Iterator::count);
        }
        _ => {}
    }
}

/// The backend decoder and every typed accessor.
pub fn backend_decoder(data: &[u8]) {
    let decoder = BackendDecoder::with_max_message_len(MAX_MESSAGE_LEN);
    let mut buf = BytesMut::from(data);
    fn frame_of(m: &crate::BackendMessage) -> Option<&[u8]> {
        Some(m.frame())
    }
    while let Ok(Some(m)) = check_step(&mut buf, |b| decoder.decode(b), frame_of) {
        let _ = m.validate();
        let _ = (m.kind(), m.authentication(), m.ready_for_query());
        let _ = (m.parameter_status(), m.backend_key_data(), m.notification());
        let _ = (m.command_complete(), m.copy_response(), m.copy_data());
        let _ = (m.negotiate_protocol_version(), m.expect_empty());
        let _ = m.parameter_description().map(Iterator::count);
        if let Ok(rd) = m.row_description() {
            let _ = rd.iter().count();
        }
        if let Ok(row) = m.data_row() {
            let _ = row.iter().count();
        }
        if let Ok(f) = m.error_fields() {
            let _ = (f.severity(), f.code(), f.message(), f.position());
            let _ = f.iter().count();
        }
    }
}

/// Split at the first `0xff` (never valid in a SCRAM message): the first message, then the next.
fn split_ff(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], data.get(i + 1..).unwrap_or_default()),
        None => (data, &[]),
    }
}

/// The SCRAM server: client-first, `0xff`, then client-final in which every `NONCE` is replaced
/// by the real combined nonce so the proof check is reachable; and `ScramVerifier::parse` of
/// the whole input.
pub fn scram_server(data: &[u8]) {
    let (first, rest) = split_ff(data);
    let verifier = ScramVerifier::from_password(b"pw", b"fuzz-salt", 1);
    if let Ok(challenge) = ScramServer::new(verifier).handle_client_first(first) {
        let server_first = String::from_utf8_lossy(challenge.server_first()).into_owned();
        let nonce = server_first
            .strip_prefix("r=")
            .and_then(|s| s.split(',').next())
            .unwrap_or_default();
        let final_msg = String::from_utf8_lossy(rest).replace("NONCE", nonce);
        if let Err(e) = challenge.handle_client_final(final_msg.as_bytes()) {
            let _ = (e.sqlstate(), e.to_string_client());
        }
    }
    let _ = ScramVerifier::parse(&String::from_utf8_lossy(data));
}

/// The SCRAM client against a hostile server: server-first (a leading `!` is replaced by
/// `r=<our nonce>` so the nonce check can pass), `0xff`, then server-final. The iteration count
/// is capped at 16 so a fuzzed `i=` cannot make one input slow.
pub fn scram_client(data: &[u8]) {
    let Ok(client) = ScramClient::new(b"pw") else {
        return;
    };
    let client = client.with_max_iterations(16);
    let (first, rest) = split_ff(data);
    // client-first is "n,,n=,r=<nonce>".
    let nonce = client.client_first().get(8..).unwrap_or_default().to_vec();
    let server_first = match first.strip_prefix(b"!") {
        Some(tail) => [b"r=".as_slice(), &nonce, tail].concat(),
        None => first.to_vec(),
    };
    match client.handle_server_first(&server_first) {
        Ok(fin) => {
            let _ = fin.client_final();
            if let Err(e) = fin.verify_server_final(rest) {
                let _ = (e.sqlstate(), e.to_string_client());
            }
        }
        Err(e) => {
            let _ = (e.sqlstate(), e.to_string_client());
        }
    }
}
