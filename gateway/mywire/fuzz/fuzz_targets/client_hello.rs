//! Fuzz the client's first packet (SSL request or handshake response).
//! The body is `articdbm_mywire::fuzzing::client_hello`, which the stable test suite also runs on
//! `corpus/client_hello/` (tests/it/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_mywire::fuzzing::client_hello(data));
