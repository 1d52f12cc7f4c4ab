//! Fuzz client command decoding, statement-id rewriting and the COM_STMT_EXECUTE layout.
//! The body is `articdbm_mywire::fuzzing::command`, which the stable test suite also runs on
//! `corpus/command/` (tests/it/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_mywire::fuzzing::command(data));
