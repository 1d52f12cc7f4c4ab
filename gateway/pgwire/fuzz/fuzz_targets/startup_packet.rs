//! Fuzz the startup-packet parser (PgBouncer's CVE territory).
#![no_main]

use articdbm_pgwire::{StartupDecoder, StartupPacket};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = StartupDecoder::new();
    let mut buf = BytesMut::from(data);
    while let Ok(Some(packet)) = decoder.decode(&mut buf) {
        if let StartupPacket::Startup(m) = packet {
            assert!(!m.user().is_empty());
            let _ = (m.database(), m.needs_negotiation(), m.params().count());
        }
    }
});
