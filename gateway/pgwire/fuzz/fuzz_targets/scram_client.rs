//! Fuzz the SCRAM client against hostile server-first and server-final messages.
//! The body is `articdbm_pgwire::fuzzing::scram_client`, which the stable test suite also runs on
//! `corpus/scram_client/` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_pgwire::fuzzing::scram_client(data));
