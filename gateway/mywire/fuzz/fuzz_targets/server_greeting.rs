//! Fuzz the server greeting (MySQL and MariaDB) and auth switch requests.
//! The body is `articdbm_mywire::fuzzing::server_greeting`, which the stable test suite also runs on
//! `corpus/server_greeting/` (tests/it/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_mywire::fuzzing::server_greeting(data));
