//! Fuzz the normal-phase frontend decoder and every lazy accessor.
#![no_main]

use articdbm_pgwire::frontend::{FrontendDecoder, FrontendMessage};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A small limit so the fuzzer explores the oversize path cheaply.
    let decoder = FrontendDecoder::with_max_message_len(1 << 16);
    // Feed in two chunks to exercise the "need more bytes" path.
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let mut buf = BytesMut::from(&data[..split]);
    let mut pending = &data[split..];
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(m)) => {
                let _ = m.validate();
                match &m {
                    FrontendMessage::Bind(b) => {
                        if let Ok(f) = b.fields() {
                            let _ = f.params.count();
                            let _ = f.result_formats.for_index(7);
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
            Ok(None) if !pending.is_empty() => {
                buf.extend_from_slice(pending);
                pending = &[];
            }
            Ok(None) | Err(_) => break,
        }
    }
});
