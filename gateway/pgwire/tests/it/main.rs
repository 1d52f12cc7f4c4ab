//! Integration tests for articdbm-pgwire: one test binary, one module per area.

mod backend;
mod frontend;
mod fuzz_corpus;
mod random;
mod roundtrip;
mod startup;
mod util;
