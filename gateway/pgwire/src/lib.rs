//! PostgreSQL wire protocol v3 for ArticDBM: framing, typed messages, encoders and
//! SCRAM-SHA-256, with no I/O.
//!
//! # Layout
//!
//! - [`startup`]: the untyped startup phase ([`StartupDecoder`] → [`StartupPacket`]).
//! - [`frontend`]: client → server messages ([`FrontendDecoder`] → [`FrontendMessage`]) and
//!   [`frontend::encode`] for what the gateway sends to a backend.
//! - [`backend`]: server → client messages ([`BackendDecoder`] → [`BackendMessage`]) and
//!   [`backend::encode`] for what the gateway synthesizes for a client.
//! - [`auth`]: SCRAM-SHA-256 server and client, PostgreSQL verifiers, MD5.
//!
//! # Conventions
//!
//! - Decoding is `decode(&mut BytesMut) -> Result<Option<T>>`: `Ok(None)` means "need more
//!   bytes" and leaves the buffer untouched; on success the frame is split off the buffer.
//! - Messages keep their raw frame (`Bytes`); fields are parsed lazily by fallible accessors,
//!   so forwarding a message unchanged is a clone of its frame.
//! - Every length read from the network is bounded before anything is buffered: startup
//!   packets (10,000 bytes), control and auth messages (10,000 / 65,535 bytes), large messages
//!   (configurable, 64 MiB by default for clients), SCRAM messages (1 KiB).
//! - Errors ([`ProtocolError`], [`auth::scram::ScramError`]) carry a SQLSTATE and a
//!   `to_string_client()` text safe to send to the peer.
//!
//! # Example: the startup phase, then normal messages
//!
//! ```
//! use articdbm_pgwire::{FrontendDecoder, FrontendMessage, StartupDecoder, StartupPacket};
//! use articdbm_pgwire::frontend::encode;
//! use bytes::BytesMut;
//!
//! let mut wire = BytesMut::new();
//! encode::startup_message(&mut wire, [("user", "alice"), ("database", "app")]).unwrap();
//! encode::query(&mut wire, "SELECT 1").unwrap();
//!
//! let Some(StartupPacket::Startup(startup)) = StartupDecoder::new().decode(&mut wire).unwrap()
//! else { panic!() };
//! assert_eq!(startup.user(), "alice");
//! let Some(FrontendMessage::Query(q)) = FrontendDecoder::new().decode(&mut wire).unwrap()
//! else { panic!() };
//! assert_eq!(q.sql().unwrap(), "SELECT 1");
//! ```

pub mod auth;
pub mod backend;
#[cfg(feature = "codec")]
pub mod codec;
mod error;
mod frame;
pub mod frontend;
// Not an API: the fuzz targets' bodies, shared with the stable corpus tests (see the module).
#[doc(hidden)]
pub mod fuzzing;
mod reader;
pub mod startup;

pub use backend::{BackendDecoder, BackendMessage, BackendTag, TransactionStatus};
pub use error::{ProtocolError, Result};
pub use frame::{Frame, is_complete as frame_is_complete};
pub use frontend::{FrontendDecoder, FrontendMessage};
pub use startup::{CancelRequest, StartupDecoder, StartupMessage, StartupPacket};
