//! Fuzz the SCRAM server: client-first, then client-final built around the real nonce.
#![no_main]

use articdbm_pgwire::auth::scram::{ScramServer, ScramVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split the input into client-first and a client-final template at the first 0xff.
    let (first, rest) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let verifier = ScramVerifier::from_password(b"pw", b"fuzz-salt", 1);
    let Ok(challenge) = ScramServer::new(verifier).handle_client_first(first) else {
        return;
    };
    // Substitute the real combined nonce for "NONCE" so the fuzzer can reach the proof check.
    let server_first = String::from_utf8_lossy(challenge.server_first()).into_owned();
    let nonce = server_first
        .strip_prefix("r=")
        .and_then(|s| s.split(',').next())
        .unwrap_or_default();
    let final_msg = String::from_utf8_lossy(rest).replace("NONCE", nonce);
    let _ = challenge.handle_client_final(final_msg.as_bytes());
    let _ = ScramVerifier::parse(&String::from_utf8_lossy(data));
});
