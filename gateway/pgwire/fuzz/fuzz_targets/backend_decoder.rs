//! Fuzz the backend decoder and every typed accessor.
//! The body is `articdbm_pgwire::fuzzing::backend_decoder`, which the stable test suite also runs on
//! `corpus/backend_decoder/` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_pgwire::fuzzing::backend_decoder(data));
