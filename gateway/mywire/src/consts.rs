//! Protocol constants: capability flags, server status flags, command bytes, character sets,
//! column types and column flags.

/// Capability flags (`CLIENT_*`), exchanged in the greeting and the handshake response.
pub mod caps {
    /// New, more secure passwords (MariaDB calls this bit `CLIENT_MYSQL`).
    pub const CLIENT_LONG_PASSWORD: u32 = 1;
    /// Report found rows, not affected rows, for UPDATE.
    pub const CLIENT_FOUND_ROWS: u32 = 1 << 1;
    /// All column flags.
    pub const CLIENT_LONG_FLAG: u32 = 1 << 2;
    /// A database name may follow in the handshake response.
    pub const CLIENT_CONNECT_WITH_DB: u32 = 1 << 3;
    /// Don't allow `database.table.column`.
    pub const CLIENT_NO_SCHEMA: u32 = 1 << 4;
    /// Compression protocol.
    pub const CLIENT_COMPRESS: u32 = 1 << 5;
    /// ODBC client.
    pub const CLIENT_ODBC: u32 = 1 << 6;
    /// `LOAD DATA LOCAL INFILE`.
    pub const CLIENT_LOCAL_FILES: u32 = 1 << 7;
    /// Ignore spaces before `(`.
    pub const CLIENT_IGNORE_SPACE: u32 = 1 << 8;
    /// The 4.1 protocol (required by this crate).
    pub const CLIENT_PROTOCOL_41: u32 = 1 << 9;
    /// `wait_timeout` vs `interactive_timeout`.
    pub const CLIENT_INTERACTIVE: u32 = 1 << 10;
    /// TLS after the SSL request.
    pub const CLIENT_SSL: u32 = 1 << 11;
    /// Ignore SIGPIPE (client side only).
    pub const CLIENT_IGNORE_SIGPIPE: u32 = 1 << 12;
    /// Transaction status in OK packets.
    pub const CLIENT_TRANSACTIONS: u32 = 1 << 13;
    /// Old flag for the 4.1 protocol.
    pub const CLIENT_RESERVED: u32 = 1 << 14;
    /// 4.1 authentication (length-prefixed auth response).
    pub const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
    /// Several statements in one COM_QUERY.
    pub const CLIENT_MULTI_STATEMENTS: u32 = 1 << 16;
    /// Several result sets for one COM_QUERY.
    pub const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
    /// Several result sets for one COM_STMT_EXECUTE.
    pub const CLIENT_PS_MULTI_RESULTS: u32 = 1 << 18;
    /// Authentication plugins.
    pub const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
    /// Connection attributes in the handshake response.
    pub const CLIENT_CONNECT_ATTRS: u32 = 1 << 20;
    /// Length-encoded auth response in the handshake response.
    pub const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 1 << 21;
    /// The client can handle expired passwords.
    pub const CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS: u32 = 1 << 22;
    /// Session state changes in OK packets.
    pub const CLIENT_SESSION_TRACK: u32 = 1 << 23;
    /// No EOF packets: OK packets with header 0xfe end result sets.
    pub const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;
    /// Optional result set metadata (not supported by the response tracker).
    pub const CLIENT_OPTIONAL_RESULTSET_METADATA: u32 = 1 << 25;
    /// zstd compression.
    pub const CLIENT_ZSTD_COMPRESSION_ALGORITHM: u32 = 1 << 26;
    /// Query attributes in COM_QUERY and COM_STMT_EXECUTE.
    pub const CLIENT_QUERY_ATTRIBUTES: u32 = 1 << 27;
    /// Multi-factor authentication.
    pub const MULTI_FACTOR_AUTHENTICATION: u32 = 1 << 28;
    /// Capability extension.
    pub const CLIENT_CAPABILITY_EXTENSION: u32 = 1 << 29;
    /// Verify the server certificate.
    pub const CLIENT_SSL_VERIFY_SERVER_CERT: u32 = 1 << 30;
    /// Remember options.
    pub const CLIENT_REMEMBER_OPTIONS: u32 = 1 << 31;
}

/// MariaDB extended capabilities (the last 4 reserved bytes of the greeting).
pub mod mariadb_caps {
    /// Progress reports.
    pub const MARIADB_CLIENT_PROGRESS: u32 = 1;
    /// COM_MULTI.
    pub const MARIADB_CLIENT_COM_MULTI: u32 = 1 << 1;
    /// Bulk operations in COM_STMT_EXECUTE.
    pub const MARIADB_CLIENT_STMT_BULK_OPERATIONS: u32 = 1 << 2;
    /// Extended type info in column definitions.
    pub const MARIADB_CLIENT_EXTENDED_TYPE_INFO: u32 = 1 << 3;
    /// Metadata caching for prepared statements.
    pub const MARIADB_CLIENT_CACHE_METADATA: u32 = 1 << 4;
}

/// Server status flags (`SERVER_*`) in OK and EOF packets.
pub mod status {
    /// A transaction is active.
    pub const SERVER_STATUS_IN_TRANS: u16 = 1;
    /// Autocommit mode.
    pub const SERVER_STATUS_AUTOCOMMIT: u16 = 2;
    /// Another result set follows.
    pub const SERVER_MORE_RESULTS_EXISTS: u16 = 8;
    /// The query used no good index.
    pub const SERVER_QUERY_NO_GOOD_INDEX_USED: u16 = 0x10;
    /// The query used no index.
    pub const SERVER_QUERY_NO_INDEX_USED: u16 = 0x20;
    /// A read-only cursor was opened (COM_STMT_EXECUTE; rows come with COM_STMT_FETCH).
    pub const SERVER_STATUS_CURSOR_EXISTS: u16 = 0x40;
    /// The last row of a cursor was sent.
    pub const SERVER_STATUS_LAST_ROW_SENT: u16 = 0x80;
    /// A database was dropped.
    pub const SERVER_STATUS_DB_DROPPED: u16 = 0x100;
    /// Backslash is not an escape character.
    pub const SERVER_STATUS_NO_BACKSLASH_ESCAPES: u16 = 0x200;
    /// Metadata changed since the statement was prepared.
    pub const SERVER_STATUS_METADATA_CHANGED: u16 = 0x400;
    /// The query was slow.
    pub const SERVER_QUERY_WAS_SLOW: u16 = 0x800;
    /// Output parameters follow (CALL).
    pub const SERVER_PS_OUT_PARAMS: u16 = 0x1000;
    /// The active transaction is read-only.
    pub const SERVER_STATUS_IN_TRANS_READONLY: u16 = 0x2000;
    /// Session state changed (session-track data in the OK packet).
    pub const SERVER_SESSION_STATE_CHANGED: u16 = 0x4000;
}

/// Command bytes: the first byte of every client packet after the handshake.
pub mod command {
    /// COM_SLEEP (internal).
    pub const COM_SLEEP: u8 = 0x00;
    /// Close the connection.
    pub const COM_QUIT: u8 = 0x01;
    /// Change the default database.
    pub const COM_INIT_DB: u8 = 0x02;
    /// A text-protocol query.
    pub const COM_QUERY: u8 = 0x03;
    /// Column definitions of a table (deprecated).
    pub const COM_FIELD_LIST: u8 = 0x04;
    /// Create a database (deprecated).
    pub const COM_CREATE_DB: u8 = 0x05;
    /// Drop a database (deprecated).
    pub const COM_DROP_DB: u8 = 0x06;
    /// Reload (deprecated).
    pub const COM_REFRESH: u8 = 0x07;
    /// Shut down (deprecated).
    pub const COM_SHUTDOWN: u8 = 0x08;
    /// A human-readable statistics string.
    pub const COM_STATISTICS: u8 = 0x09;
    /// Process list (deprecated).
    pub const COM_PROCESS_INFO: u8 = 0x0a;
    /// COM_CONNECT (internal).
    pub const COM_CONNECT: u8 = 0x0b;
    /// Kill a connection.
    pub const COM_PROCESS_KILL: u8 = 0x0c;
    /// Dump debug info.
    pub const COM_DEBUG: u8 = 0x0d;
    /// Ping.
    pub const COM_PING: u8 = 0x0e;
    /// COM_TIME (internal).
    pub const COM_TIME: u8 = 0x0f;
    /// COM_DELAYED_INSERT (internal).
    pub const COM_DELAYED_INSERT: u8 = 0x10;
    /// Re-authenticate as another user.
    pub const COM_CHANGE_USER: u8 = 0x11;
    /// Replication.
    pub const COM_BINLOG_DUMP: u8 = 0x12;
    /// Replication.
    pub const COM_TABLE_DUMP: u8 = 0x13;
    /// COM_CONNECT_OUT (internal).
    pub const COM_CONNECT_OUT: u8 = 0x14;
    /// Replication.
    pub const COM_REGISTER_SLAVE: u8 = 0x15;
    /// Prepare a statement.
    pub const COM_STMT_PREPARE: u8 = 0x16;
    /// Execute a prepared statement.
    pub const COM_STMT_EXECUTE: u8 = 0x17;
    /// Send a parameter's data in chunks (no answer).
    pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
    /// Deallocate a prepared statement (no answer).
    pub const COM_STMT_CLOSE: u8 = 0x19;
    /// Reset a prepared statement's long data and cursor.
    pub const COM_STMT_RESET: u8 = 0x1a;
    /// Set a connection option (multi-statements).
    pub const COM_SET_OPTION: u8 = 0x1b;
    /// Fetch rows from a cursor.
    pub const COM_STMT_FETCH: u8 = 0x1c;
    /// COM_DAEMON (internal).
    pub const COM_DAEMON: u8 = 0x1d;
    /// Replication.
    pub const COM_BINLOG_DUMP_GTID: u8 = 0x1e;
    /// Reset the session state.
    pub const COM_RESET_CONNECTION: u8 = 0x1f;
    /// Clone plugin.
    pub const COM_CLONE: u8 = 0x20;
}

/// Character set / collation ids (the one-byte charset of the handshake).
pub mod charset {
    /// big5_chinese_ci.
    pub const BIG5_CHINESE_CI: u8 = 1;
    /// latin1_swedish_ci.
    pub const LATIN1_SWEDISH_CI: u8 = 8;
    /// ascii_general_ci.
    pub const ASCII_GENERAL_CI: u8 = 11;
    /// utf8mb3_general_ci (`utf8`).
    pub const UTF8_GENERAL_CI: u8 = 33;
    /// utf8mb4_general_ci.
    pub const UTF8MB4_GENERAL_CI: u8 = 45;
    /// utf8mb4_bin.
    pub const UTF8MB4_BIN: u8 = 46;
    /// binary.
    pub const BINARY: u8 = 63;
    /// utf8mb3_bin.
    pub const UTF8_BIN: u8 = 83;
    /// utf8mb4_unicode_ci.
    pub const UTF8MB4_UNICODE_CI: u8 = 224;
    /// utf8mb4_0900_ai_ci (MySQL 8 default).
    pub const UTF8MB4_0900_AI_CI: u8 = 255;
}

/// Column types (`MYSQL_TYPE_*`) in column definitions and binary-protocol parameter types.
pub mod column_type {
    /// DECIMAL.
    pub const DECIMAL: u8 = 0;
    /// TINYINT.
    pub const TINY: u8 = 1;
    /// SMALLINT.
    pub const SHORT: u8 = 2;
    /// INT.
    pub const LONG: u8 = 3;
    /// FLOAT.
    pub const FLOAT: u8 = 4;
    /// DOUBLE.
    pub const DOUBLE: u8 = 5;
    /// NULL.
    pub const NULL: u8 = 6;
    /// TIMESTAMP.
    pub const TIMESTAMP: u8 = 7;
    /// BIGINT.
    pub const LONGLONG: u8 = 8;
    /// MEDIUMINT.
    pub const INT24: u8 = 9;
    /// DATE.
    pub const DATE: u8 = 10;
    /// TIME.
    pub const TIME: u8 = 11;
    /// DATETIME.
    pub const DATETIME: u8 = 12;
    /// YEAR.
    pub const YEAR: u8 = 13;
    /// NEWDATE (internal).
    pub const NEWDATE: u8 = 14;
    /// VARCHAR.
    pub const VARCHAR: u8 = 15;
    /// BIT.
    pub const BIT: u8 = 16;
    /// TIMESTAMP2 (internal).
    pub const TIMESTAMP2: u8 = 17;
    /// DATETIME2 (internal).
    pub const DATETIME2: u8 = 18;
    /// TIME2 (internal).
    pub const TIME2: u8 = 19;
    /// VECTOR (MySQL 9).
    pub const VECTOR: u8 = 242;
    /// JSON.
    pub const JSON: u8 = 245;
    /// DECIMAL (new).
    pub const NEWDECIMAL: u8 = 246;
    /// ENUM.
    pub const ENUM: u8 = 247;
    /// SET.
    pub const SET: u8 = 248;
    /// TINYBLOB.
    pub const TINY_BLOB: u8 = 249;
    /// MEDIUMBLOB.
    pub const MEDIUM_BLOB: u8 = 250;
    /// LONGBLOB.
    pub const LONG_BLOB: u8 = 251;
    /// BLOB.
    pub const BLOB: u8 = 252;
    /// VARCHAR / VARBINARY.
    pub const VAR_STRING: u8 = 253;
    /// CHAR / BINARY.
    pub const STRING: u8 = 254;
    /// GEOMETRY.
    pub const GEOMETRY: u8 = 255;
}

/// Column definition flags.
pub mod column_flags {
    /// NOT NULL.
    pub const NOT_NULL: u16 = 1;
    /// Part of the primary key.
    pub const PRI_KEY: u16 = 2;
    /// Part of a unique key.
    pub const UNIQUE_KEY: u16 = 4;
    /// Part of a key.
    pub const MULTIPLE_KEY: u16 = 8;
    /// BLOB or TEXT.
    pub const BLOB: u16 = 16;
    /// UNSIGNED.
    pub const UNSIGNED: u16 = 32;
    /// ZEROFILL.
    pub const ZEROFILL: u16 = 64;
    /// Binary collation.
    pub const BINARY: u16 = 128;
    /// ENUM.
    pub const ENUM: u16 = 256;
    /// AUTO_INCREMENT.
    pub const AUTO_INCREMENT: u16 = 512;
    /// TIMESTAMP.
    pub const TIMESTAMP: u16 = 1024;
    /// SET.
    pub const SET: u16 = 2048;
    /// No default value.
    pub const NO_DEFAULT_VALUE: u16 = 4096;
    /// ON UPDATE NOW().
    pub const ON_UPDATE_NOW: u16 = 8192;
    /// Numeric.
    pub const NUM: u16 = 32768;
}

/// Authentication plugin names.
pub mod plugin {
    /// SHA1-based challenge/response.
    pub const MYSQL_NATIVE_PASSWORD: &str = "mysql_native_password";
    /// SHA256-based challenge/response with a server-side cache (MySQL 8 default).
    pub const CACHING_SHA2_PASSWORD: &str = "caching_sha2_password";
    /// SHA256 with RSA or TLS full exchange.
    pub const SHA256_PASSWORD: &str = "sha256_password";
    /// Cleartext (TLS only).
    pub const MYSQL_CLEAR_PASSWORD: &str = "mysql_clear_password";
}
