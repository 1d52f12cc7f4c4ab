//! Fuzz the startup-packet parser (PgBouncer's CVE territory).
//! The body is `articdbm_pgwire::fuzzing::startup_packet`, which the stable test suite also runs on
//! `corpus/startup_packet/` (see docs/FUZZING.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_pgwire::fuzzing::startup_packet(data));
