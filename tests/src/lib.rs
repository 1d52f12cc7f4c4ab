//! Real servers and clients for end-to-end tests: PostgreSQL (primary and streaming replica),
//! PgBouncer, Redis, a TAXII 2.1 server (medallion), psql / pgbench and a Python venv with
//! psycopg, all on loopback, in temporary directories, on free ports.
//!
//! Everything here is synchronous (`std::process`): from a `#[tokio::test]` that also runs a
//! server in-process, use `flavor = "multi_thread"` or `spawn_blocking`, or the blocking call
//! starves the in-process server.
//!
//! PostgreSQL and PgBouncer refuse to run as root. When the tests run as root (CI does), every
//! server process is started as an unprivileged user (`nobody`, or `ARTICDBM_TEST_SERVER_USER`)
//! and its temporary directory is handed to that user; see [`privilege`].

pub mod bouncer;
pub mod mariadb;
pub mod net;
pub mod perf;
pub mod pg;
pub mod pki;
pub mod polyglot;
pub mod privilege;
pub mod process;
pub mod redis;
pub mod taxii;
pub mod tools;

pub use bouncer::{PgBouncer, PoolMode};
pub use mariadb::MariaDb;
pub use pg::{HostAuth, PgOptions, PgServer};
pub use redis::{RedisOptions, RedisServer, RedisTlsFiles};
pub use taxii::{FileServer, TaxiiServer};
