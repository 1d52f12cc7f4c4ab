//! The connection phase: the server greeting ([`HandshakeV10`]), the client's first packet
//! ([`decode_client_hello`] → [`ClientHello`]), auth switch and auth-more-data packets, and
//! COM_CHANGE_USER.

use bytes::{BufMut, BytesMut};

use crate::consts::caps::*;
use crate::error::{ProtocolError, Result};
use crate::lenenc::{Reader, write_lenenc_bytes, write_lenenc_int, write_nul_str};

/// Longest user name, database name or server version accepted.
pub const MAX_NAME_LEN: usize = 256;
/// Longest authentication plugin name accepted.
pub const MAX_PLUGIN_LEN: usize = 64;
/// Longest auth response accepted (an RSA-encrypted password is at most 512 bytes).
pub const MAX_AUTH_RESPONSE_LEN: usize = 4096;
/// Largest connection-attributes block accepted.
pub const MAX_ATTRS_LEN: usize = 64 * 1024;
/// Length of an SSL request payload.
pub const SSL_REQUEST_LEN: usize = 32;
/// MariaDB servers prefix their version with this so old clients accept it.
pub const MARIADB_VERSION_PREFIX: &str = "5.5.5-";

/// The server greeting (protocol version 10).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandshakeV10 {
    /// The version string, as sent (MariaDB's starts with `"5.5.5-"`).
    pub server_version: String,
    /// The connection (thread) id.
    pub connection_id: u32,
    /// The scramble (20 bytes from real servers), without the terminating NUL.
    pub auth_data: Vec<u8>,
    /// Capability flags.
    pub capabilities: u32,
    /// Default collation id.
    pub charset: u8,
    /// Server status flags.
    pub status: u16,
    /// Default authentication plugin (when `CLIENT_PLUGIN_AUTH`).
    pub auth_plugin: String,
    /// MariaDB extended capabilities: the last 4 of the 10 reserved bytes (0 from MySQL).
    pub mariadb_capabilities: u32,
}

impl HandshakeV10 {
    /// Whether the server is MariaDB (its version carries the `"5.5.5-"` prefix).
    pub fn is_mariadb(&self) -> bool {
        self.server_version.starts_with(MARIADB_VERSION_PREFIX)
    }

    /// The version without MariaDB's `"5.5.5-"` prefix.
    pub fn version(&self) -> &str {
        self.server_version
            .strip_prefix(MARIADB_VERSION_PREFIX)
            .unwrap_or(&self.server_version)
    }

    /// Appends the payload (no packet header). `auth_data` is written as 8 bytes, a filler,
    /// then the rest followed by a NUL when `CLIENT_SECURE_CONNECTION` is set.
    pub fn encode(&self, out: &mut BytesMut) {
        let caps = self.capabilities;
        out.put_u8(10);
        write_nul_str(out, self.server_version.as_bytes());
        out.put_u32_le(self.connection_id);
        let (part1, part2) = self.auth_data.split_at(self.auth_data.len().min(8));
        out.put_slice(part1);
        out.put_bytes(0, 8 - part1.len());
        out.put_u8(0);
        out.put_u16_le(caps as u16);
        out.put_u8(self.charset);
        out.put_u16_le(self.status);
        out.put_u16_le((caps >> 16) as u16);
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            out.put_u8((self.auth_data.len() + 1).min(255) as u8);
        } else {
            out.put_u8(0);
        }
        out.put_bytes(0, 6);
        out.put_u32_le(self.mariadb_capabilities);
        if caps & CLIENT_SECURE_CONNECTION != 0 {
            out.put_slice(part2);
            // The part is at least 13 bytes including its NUL.
            out.put_bytes(0, 12usize.saturating_sub(part2.len()) + 1);
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            write_nul_str(out, self.auth_plugin.as_bytes());
        }
    }

    /// Decodes a greeting payload (check for an ERR packet, header `0xff`, first: a server
    /// refusing the connection sends one instead). Accepts MySQL's and MariaDB's variants
    /// (extended capabilities in the reserved bytes), pre-4.1 greetings that end after the
    /// capability flags, and a plugin name without its NUL at the end of the packet.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = Reader::new(payload, "server greeting");
        let version = r.u8("protocol version")?;
        if version != 10 {
            return Err(ProtocolError::Unsupported {
                reason: "server greeting is not protocol version 10",
            });
        }
        let v = r.nul_bytes("server version")?;
        let server_version = r.string(v, "server version", MAX_NAME_LEN)?;
        let connection_id = r.u32("connection id")?;
        let mut auth_data = r.bytes(8, "auth data")?.to_vec();
        r.u8("filler")?;
        let mut capabilities = u32::from(r.u16("capabilities")?);
        let mut out = Self {
            server_version,
            connection_id,
            ..Self::default()
        };
        if !r.is_empty() {
            out.charset = r.u8("charset")?;
            out.status = r.u16("status")?;
            capabilities |= u32::from(r.u16("capabilities")?) << 16;
            let auth_len = r.u8("auth data length")?;
            let reserved: [u8; 10] = r.array("reserved")?;
            out.mariadb_capabilities =
                u32::from_le_bytes([reserved[6], reserved[7], reserved[8], reserved[9]]);
            if capabilities & CLIENT_SECURE_CONNECTION != 0 {
                let len = if capabilities & CLIENT_PLUGIN_AUTH != 0 {
                    usize::from(auth_len).saturating_sub(8).max(13)
                } else {
                    13
                };
                let mut part2 = r.bytes(len, "auth data")?;
                if let Some((0, head)) = part2.split_last() {
                    part2 = head;
                }
                auth_data.extend_from_slice(part2);
            }
            if capabilities & CLIENT_PLUGIN_AUTH != 0 {
                let p = r.nul_bytes_or_rest();
                out.auth_plugin = r.string(p, "auth plugin", MAX_PLUGIN_LEN)?;
            }
        }
        out.capabilities = capabilities;
        out.auth_data = auth_data;
        Ok(out)
    }
}

/// The client's answer to the greeting (protocol 4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandshakeResponse {
    /// Client capability flags.
    pub capabilities: u32,
    /// Largest packet the client will send.
    pub max_packet: u32,
    /// Collation id.
    pub charset: u8,
    /// User name.
    pub user: String,
    /// The auth plugin's first answer (e.g. the scrambled password).
    pub auth_response: Vec<u8>,
    /// Initial database (with `CLIENT_CONNECT_WITH_DB`; an empty name decodes as `None`).
    pub database: Option<String>,
    /// The plugin the client used (with `CLIENT_PLUGIN_AUTH`; empty decodes as `None`).
    pub auth_plugin: Option<String>,
    /// Connection attributes (with `CLIENT_CONNECT_ATTRS`), in wire order.
    pub attrs: Vec<(String, String)>,
}

impl HandshakeResponse {
    /// Appends the payload (no packet header), honouring the capability flags it carries:
    /// the auth response is length-encoded with `CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA`,
    /// one-byte-length-prefixed with `CLIENT_SECURE_CONNECTION` (truncated to 255 bytes),
    /// NUL-terminated otherwise; the database, plugin and attributes are written only when
    /// their flag is set (as empty values when `None`).
    pub fn encode(&self, out: &mut BytesMut) {
        let caps = self.capabilities;
        out.put_u32_le(caps);
        out.put_u32_le(self.max_packet);
        out.put_u8(self.charset);
        out.put_bytes(0, 23);
        write_nul_str(out, self.user.as_bytes());
        write_auth_response(out, caps, &self.auth_response);
        if caps & CLIENT_CONNECT_WITH_DB != 0 {
            write_nul_str(out, self.database.as_deref().unwrap_or("").as_bytes());
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            write_nul_str(out, self.auth_plugin.as_deref().unwrap_or("").as_bytes());
        }
        if caps & CLIENT_CONNECT_ATTRS != 0 {
            write_attrs(out, &self.attrs);
        }
    }
}

fn write_auth_response(out: &mut BytesMut, caps: u32, auth: &[u8]) {
    if caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
        write_lenenc_bytes(out, auth);
    } else if caps & CLIENT_SECURE_CONNECTION != 0 {
        let auth = &auth[..auth.len().min(255)];
        out.put_u8(auth.len() as u8);
        out.put_slice(auth);
    } else {
        let end = auth.iter().position(|&b| b == 0).unwrap_or(auth.len());
        write_nul_str(out, &auth[..end]);
    }
}

fn write_attrs(out: &mut BytesMut, attrs: &[(String, String)]) {
    let mut block = BytesMut::new();
    for (k, v) in attrs {
        write_lenenc_bytes(&mut block, k.as_bytes());
        write_lenenc_bytes(&mut block, v.as_bytes());
    }
    write_lenenc_int(out, block.len() as u64);
    out.put_slice(&block);
}

/// The client's first packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientHello {
    /// Start TLS, then send the handshake response over it.
    SslRequest {
        /// Client capability flags.
        capabilities: u32,
        /// Largest packet the client will send.
        max_packet: u32,
        /// Collation id.
        charset: u8,
    },
    /// The handshake response in the clear.
    Response(HandshakeResponse),
}

/// Decodes the client's first packet. An SSL request is exactly 32 bytes with `CLIENT_SSL`
/// set. Clients without `CLIENT_PROTOCOL_41` are refused with [`ProtocolError::Unsupported`].
/// User and database names are bounded by [`MAX_NAME_LEN`], the auth response by
/// [`MAX_AUTH_RESPONSE_LEN`], attributes by [`MAX_ATTRS_LEN`]; strings must be UTF-8. Bytes
/// after the attributes (e.g. a zstd level) are ignored.
pub fn decode_client_hello(payload: &[u8]) -> Result<ClientHello> {
    let mut r = Reader::new(payload, "handshake response");
    if payload.len() < 4 {
        // A pre-4.1 response has a 2-byte capability field; refuse it clearly.
        if payload.len() >= 2 && u16::from_le_bytes([payload[0], payload[1]]) & 0x0200 == 0 {
            return Err(unsupported_41());
        }
        return Err(r.truncated("capabilities"));
    }
    let caps = r.u32("capabilities")?;
    if caps & CLIENT_PROTOCOL_41 == 0 {
        return Err(unsupported_41());
    }
    let max_packet = r.u32("max packet size")?;
    let charset = r.u8("charset")?;
    r.bytes(23, "filler")?;
    if payload.len() == SSL_REQUEST_LEN && caps & CLIENT_SSL != 0 {
        return Ok(ClientHello::SslRequest {
            capabilities: caps,
            max_packet,
            charset,
        });
    }
    let u = r.nul_bytes("user")?;
    let user = r.string(u, "user", MAX_NAME_LEN)?;
    let auth_response = read_auth_response(&mut r, caps)?;
    let mut out = HandshakeResponse {
        capabilities: caps,
        max_packet,
        charset,
        user,
        auth_response,
        ..HandshakeResponse::default()
    };
    if caps & CLIENT_CONNECT_WITH_DB != 0 && !r.is_empty() {
        let d = r.nul_bytes("database")?;
        out.database = Some(r.string(d, "database", MAX_NAME_LEN)?).filter(|d| !d.is_empty());
    }
    if caps & CLIENT_PLUGIN_AUTH != 0 && !r.is_empty() {
        let p = if caps & CLIENT_CONNECT_ATTRS != 0 {
            r.nul_bytes("auth plugin")?
        } else {
            r.nul_bytes_or_rest()
        };
        out.auth_plugin =
            Some(r.string(p, "auth plugin", MAX_PLUGIN_LEN)?).filter(|p| !p.is_empty());
    }
    if caps & CLIENT_CONNECT_ATTRS != 0 && !r.is_empty() {
        out.attrs = read_attrs(&mut r)?;
    }
    Ok(ClientHello::Response(out))
}

fn unsupported_41() -> ProtocolError {
    ProtocolError::Unsupported {
        reason: "the client does not speak protocol 4.1 (CLIENT_PROTOCOL_41)",
    }
}

fn read_auth_response(r: &mut Reader<'_>, caps: u32) -> Result<Vec<u8>> {
    let auth = if caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
        let len = r.lenenc_int("auth response")?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        r.check_len(len, "auth response", MAX_AUTH_RESPONSE_LEN)?;
        r.bytes(len, "auth response")?
    } else if caps & CLIENT_SECURE_CONNECTION != 0 {
        let len = r.u8("auth response length")?;
        r.bytes(usize::from(len), "auth response")?
    } else {
        let a = r.nul_bytes("auth response")?;
        r.check_len(a.len(), "auth response", MAX_AUTH_RESPONSE_LEN)?;
        a
    };
    Ok(auth.to_vec())
}

fn read_attrs(r: &mut Reader<'_>) -> Result<Vec<(String, String)>> {
    let len = r.lenenc_int("attributes length")?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > MAX_ATTRS_LEN {
        return Err(ProtocolError::PacketTooLarge {
            packet: "connection attributes",
            len,
            max: MAX_ATTRS_LEN,
        });
    }
    let block = r.bytes(len, "attributes")?;
    let mut a = Reader::new(block, "connection attributes");
    let mut attrs = Vec::new();
    while !a.is_empty() {
        let k = a.lenenc_bytes("key")?;
        let v = a.lenenc_bytes("value")?;
        let k = a.string(k, "key", MAX_ATTRS_LEN)?;
        let v = a.string(v, "value", MAX_ATTRS_LEN)?;
        attrs.push((k, v));
    }
    Ok(attrs)
}

/// Appends an SSL request payload (32 bytes; `CLIENT_SSL` is added to `capabilities`).
pub fn encode_ssl_request(out: &mut BytesMut, capabilities: u32, max_packet: u32, charset: u8) {
    out.put_u32_le(capabilities | CLIENT_SSL);
    out.put_u32_le(max_packet);
    out.put_u8(charset);
    out.put_bytes(0, 23);
}

/// Header of an auth switch request.
pub const AUTH_SWITCH_HEADER: u8 = 0xfe;
/// Header of an auth-more-data packet.
pub const AUTH_MORE_DATA_HEADER: u8 = 0x01;

/// The server asks the client to authenticate with another plugin (header `0xfe`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSwitchRequest {
    /// Plugin name.
    pub plugin: String,
    /// Plugin data (the new scramble), without the trailing NUL servers append.
    pub data: Vec<u8>,
}

impl AuthSwitchRequest {
    /// Appends the payload: `0xfe`, the plugin name and NUL, the data and a NUL (as MySQL
    /// sends it).
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(AUTH_SWITCH_HEADER);
        write_nul_str(out, self.plugin.as_bytes());
        write_nul_str(out, &self.data);
    }

    /// Decodes the payload; one trailing NUL is stripped from the data. A lone `0xfe` (the
    /// pre-4.1 "old auth switch") decodes as plugin `mysql_old_password` with no data.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = Reader::new(payload, "auth switch request");
        if r.u8("header")? != AUTH_SWITCH_HEADER {
            return Err(r.invalid("header", "not 0xfe"));
        }
        if r.is_empty() {
            return Ok(Self {
                plugin: "mysql_old_password".into(),
                data: Vec::new(),
            });
        }
        let p = r.nul_bytes("plugin")?;
        let plugin = r.string(p, "plugin", MAX_PLUGIN_LEN)?;
        let mut data = r.take_rest();
        if let Some((0, head)) = data.split_last() {
            data = head;
        }
        Ok(Self {
            plugin,
            data: data.to_vec(),
        })
    }
}

/// Appends an auth-more-data payload (`0x01` + data).
pub fn encode_auth_more_data(out: &mut BytesMut, data: &[u8]) {
    out.put_u8(AUTH_MORE_DATA_HEADER);
    out.put_slice(data);
}

/// The data of an auth-more-data payload (`0x01` + data).
pub fn decode_auth_more_data(payload: &[u8]) -> Result<&[u8]> {
    match payload.split_first() {
        Some((&AUTH_MORE_DATA_HEADER, data)) => Ok(data),
        Some(_) => Err(ProtocolError::InvalidField {
            packet: "auth more data",
            field: "header",
            reason: "not 0x01",
        }),
        None => Err(ProtocolError::Empty {
            packet: "auth more data",
        }),
    }
}

/// A COM_CHANGE_USER payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeUser {
    /// User name.
    pub user: String,
    /// The auth response (scrambled password for the connection's scramble).
    pub auth_response: Vec<u8>,
    /// New default database (empty decodes as `None`).
    pub database: Option<String>,
    /// Collation id (absent from old clients).
    pub charset: Option<u16>,
    /// Plugin (with `CLIENT_PLUGIN_AUTH`).
    pub auth_plugin: Option<String>,
    /// Connection attributes (with `CLIENT_CONNECT_ATTRS`).
    pub attrs: Vec<(String, String)>,
}

impl ChangeUser {
    /// Decodes a whole COM_CHANGE_USER payload, command byte `0x11` included, given the
    /// capabilities the client negotiated. Bounds as in [`decode_client_hello`].
    pub fn decode(payload: &[u8], client_caps: u32) -> Result<Self> {
        let mut r = Reader::new(payload, "COM_CHANGE_USER");
        if r.u8("command")? != crate::consts::command::COM_CHANGE_USER {
            return Err(r.invalid("command", "not COM_CHANGE_USER"));
        }
        let u = r.nul_bytes("user")?;
        let user = r.string(u, "user", MAX_NAME_LEN)?;
        let auth_response = if client_caps & CLIENT_SECURE_CONNECTION != 0 {
            let len = r.u8("auth response length")?;
            r.bytes(usize::from(len), "auth response")?.to_vec()
        } else {
            read_auth_response(&mut r, 0)?
        };
        let d = r.nul_bytes_or_rest();
        let database = Some(r.string(d, "database", MAX_NAME_LEN)?).filter(|d| !d.is_empty());
        let mut out = Self {
            user,
            auth_response,
            database,
            ..Self::default()
        };
        if r.remaining() >= 2 {
            out.charset = Some(r.u16("charset")?);
            if client_caps & CLIENT_PLUGIN_AUTH != 0 && !r.is_empty() {
                let p = if client_caps & CLIENT_CONNECT_ATTRS != 0 {
                    r.nul_bytes("auth plugin")?
                } else {
                    r.nul_bytes_or_rest()
                };
                out.auth_plugin =
                    Some(r.string(p, "auth plugin", MAX_PLUGIN_LEN)?).filter(|p| !p.is_empty());
            }
            if client_caps & CLIENT_CONNECT_ATTRS != 0 && !r.is_empty() {
                out.attrs = read_attrs(&mut r)?;
            }
        }
        Ok(out)
    }

    /// Appends the whole payload, command byte included, for a client with `client_caps`.
    /// The charset is written when present (and as 0 when later fields follow).
    pub fn encode(&self, out: &mut BytesMut, client_caps: u32) {
        out.put_u8(crate::consts::command::COM_CHANGE_USER);
        write_nul_str(out, self.user.as_bytes());
        let caps = client_caps & (CLIENT_SECURE_CONNECTION);
        write_auth_response(out, caps, &self.auth_response);
        write_nul_str(out, self.database.as_deref().unwrap_or("").as_bytes());
        let plugin = client_caps & CLIENT_PLUGIN_AUTH != 0;
        let attrs = client_caps & CLIENT_CONNECT_ATTRS != 0;
        if self.charset.is_some() || plugin || attrs {
            out.put_u16_le(self.charset.unwrap_or(0));
        }
        if plugin {
            write_nul_str(out, self.auth_plugin.as_deref().unwrap_or("").as_bytes());
        }
        if attrs {
            write_attrs(out, &self.attrs);
        }
    }
}
