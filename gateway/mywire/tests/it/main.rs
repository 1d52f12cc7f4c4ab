//! Integration tests for articdbm-mywire: one test binary, one module per area.

mod auth;
mod command;
mod fuzz_corpus;
mod handshake;
mod packet;
mod response;
mod util;
