//! Fuzz the SCRAM client against hostile server-first and server-final messages.
#![no_main]

use articdbm_pgwire::auth::scram::ScramClient;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(client) = ScramClient::new(b"pw") else {
        return;
    };
    // Bound the work a fuzzed iteration count can cause.
    let client = client.with_max_iterations(16);
    let (first, rest) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    // Prefix with our real nonce half the time so the fuzzer gets past the nonce check.
    let nonce = String::from_utf8_lossy(&client.client_first()[8..]).into_owned();
    let server_first = if first.first() == Some(&b'!') {
        [b"r=", nonce.as_bytes(), &first[1..]].concat()
    } else {
        first.to_vec()
    };
    if let Ok(fin) = client.handle_server_first(&server_first) {
        let _ = fin.verify_server_final(rest);
    }
});
