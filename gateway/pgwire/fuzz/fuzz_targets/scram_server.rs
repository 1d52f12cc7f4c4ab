//! Fuzz the SCRAM server: client-first, then client-final built around the real nonce.
//! The body is `articdbm_pgwire::fuzzing::scram_server`, which the stable test suite also runs on
//! `corpus/scram_server/` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_pgwire::fuzzing::scram_server(data));
