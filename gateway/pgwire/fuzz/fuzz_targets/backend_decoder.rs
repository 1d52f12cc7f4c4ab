//! Fuzz the backend decoder and every typed accessor.
#![no_main]

use articdbm_pgwire::backend::BackendDecoder;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = BackendDecoder::with_max_message_len(1 << 16);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(m)) = decoder.decode(&mut buf) {
        let _ = m.validate();
        if let Ok(rd) = m.row_description() {
            let _ = rd.iter().count();
        }
        if let Ok(row) = m.data_row() {
            let _ = row.iter().count();
        }
        if let Ok(f) = m.error_fields() {
            let _ = (f.severity(), f.code(), f.message(), f.position());
        }
    }
});
