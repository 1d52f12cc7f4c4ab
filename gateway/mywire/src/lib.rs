//! MySQL / MariaDB client/server wire protocol for ArticDBM: framing, the connection phase,
//! commands, server answers and password authentication, with no I/O.
//!
//! # Layout
//!
//! - [`packet`]: framing ([`PacketDecoder`] → [`Packet`], [`write_packet`],
//!   [`begin_packet`] / [`finish_packet`]), joining and splitting at [`MAX_PAYLOAD`].
//! - [`consts`]: capability, status, command, charset, column-type and plugin constants.
//! - [`lenenc`]: length-encoded integers and strings.
//! - [`handshake`]: the server greeting ([`HandshakeV10`]), the client's first packet
//!   ([`decode_client_hello`] → [`ClientHello`]), auth switch / auth-more-data, and
//!   COM_CHANGE_USER ([`ChangeUser`]).
//! - [`auth`]: `mysql_native_password` and `caching_sha2_password` (scramble, check, RSA).
//! - [`command`]: client commands ([`decode_command`] → [`Command`]), statement-id rewriting,
//!   COM_STMT_EXECUTE layout.
//! - [`response`]: OK / ERR / EOF / PrepareOk / column definitions / text rows, and the
//!   [`ResponseTracker`] that follows a server's answer packet by packet.
//!
//! # Conventions
//!
//! - Framing is `decode(&mut BytesMut) -> Result<Option<Packet>>`: `Ok(None)` means "need more
//!   bytes" and leaves the buffer untouched. Everything else works on one joined logical
//!   payload (`&[u8]`, without the 4-byte header) and encoders append a payload to a
//!   `BytesMut`: frame it with [`write_packet`] or [`begin_packet`] / [`finish_packet`].
//! - Every length read from the network is bounded before anything is buffered: packets by
//!   the decoder's `max_allowed_packet`, names by [`handshake::MAX_NAME_LEN`], connection
//!   attributes by [`handshake::MAX_ATTRS_LEN`], auth responses by
//!   [`handshake::MAX_AUTH_RESPONSE_LEN`]. Decoders never panic on hostile input.
//! - Errors ([`ProtocolError`]) name the packet and field, carry a MySQL error code and
//!   SQLSTATE, and render with `to_string_client()` as text safe to send to the peer (it never
//!   echoes peer bytes); [`ErrPacket::from_protocol_error`] builds the ERR packet.
//! - Only protocol 4.1 (`CLIENT_PROTOCOL_41`) is spoken. `CLIENT_QUERY_ATTRIBUTES` is decoded
//!   in COM_QUERY but not in [`execute_layout`], and `CLIENT_OPTIONAL_RESULTSET_METADATA` is not
//!   supported: a gateway should not advertise either.
//!
//! # Example: frame a query and follow its answer
//!
//! ```
//! use articdbm_mywire::{Command, Event, Expect, OkPacket, PacketDecoder, ResponseTracker};
//! use articdbm_mywire::{consts::caps::*, consts::status::*, decode_command, write_packet};
//! use bytes::BytesMut;
//!
//! let caps = CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF | CLIENT_TRANSACTIONS;
//! let mut wire = BytesMut::new();
//! write_packet(&mut wire, 0, b"\x03SELECT 1");
//! let packet = PacketDecoder::new(1 << 24).decode(&mut wire).unwrap().unwrap();
//! assert_eq!(packet.next_seq, 1);
//! let Command::Query(sql) = decode_command(&packet.payload, caps).unwrap() else { panic!() };
//! assert_eq!(&sql[..], b"SELECT 1");
//!
//! let mut ok = BytesMut::new();
//! OkPacket { status: SERVER_STATUS_AUTOCOMMIT, ..OkPacket::default() }.encode(&mut ok, caps, 0);
//! let mut tracker = ResponseTracker::new(Expect::Query, caps);
//! let event = tracker.feed(&ok).unwrap();
//! assert_eq!(event, Event::Done { status: Some(SERVER_STATUS_AUTOCOMMIT), error: None });
//! ```

pub mod auth;
pub mod command;
pub mod consts;
mod error;
// Not an API: the fuzz targets' bodies, shared with the stable corpus tests (see the module).
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
pub mod lenenc;
pub mod packet;
pub mod response;

pub use command::{
    Command, ExecuteLayout, decode_command, execute_layout, execute_with_types, set_stmt_id,
};
pub use error::{ProtocolError, Result};
pub use handshake::{
    AuthSwitchRequest, ChangeUser, ClientHello, HandshakeResponse, HandshakeV10,
    decode_auth_more_data, decode_client_hello, encode_auth_more_data, encode_ssl_request,
};
pub use packet::{MAX_PAYLOAD, Packet, PacketDecoder, begin_packet, finish_packet, write_packet};
pub use response::{
    ColumnDef, ErrPacket, Event, Expect, OkPacket, PrepareOk, ResponseTracker, encode_eof,
    encode_text_row, is_eof_packet, patch_status, set_prepare_ok_stmt_id,
};
