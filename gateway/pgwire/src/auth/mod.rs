//! Password authentication: SCRAM-SHA-256 (server and client side) and MD5.

pub mod md5;
pub mod scram;
