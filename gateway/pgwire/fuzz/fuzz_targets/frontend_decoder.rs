//! Fuzz the normal-phase frontend decoder (input split in two reads) and every lazy accessor.
//! The body is `articdbm_pgwire::fuzzing::frontend_decoder`, which the stable test suite also runs on
//! `corpus/frontend_decoder/` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_pgwire::fuzzing::frontend_decoder(data));
