//! Fuzz packet framing: joining, sequence checks and the size bound.
//! The body is `articdbm_mywire::fuzzing::packet_decoder`, which the stable test suite also runs on
//! `corpus/packet_decoder/` (tests/it/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_mywire::fuzzing::packet_decoder(data));
