//! Fuzz the ResponseTracker over framed server answers.
//! The body is `articdbm_mywire::fuzzing::response_tracker`, which the stable test suite also runs on
//! `corpus/response_tracker/` (tests/it/fuzz_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| articdbm_mywire::fuzzing::response_tracker(data));
