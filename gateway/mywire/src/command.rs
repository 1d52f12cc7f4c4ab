//! Client commands (the packets after the connection phase), statement-id rewriting and the
//! layout of COM_STMT_EXECUTE.

use std::ops::Range;

use bytes::Bytes;

use crate::consts::caps::CLIENT_QUERY_ATTRIBUTES;
use crate::consts::column_type as ty;
use crate::consts::command::*;
use crate::error::{ProtocolError, Result};
use crate::handshake::{ChangeUser, MAX_NAME_LEN};
use crate::lenenc::Reader;

/// Longest table name accepted in COM_FIELD_LIST.
pub const MAX_TABLE_LEN: usize = 256;

/// A decoded client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// COM_QUIT.
    Quit,
    /// COM_INIT_DB: the new default database.
    InitDb(String),
    /// COM_QUERY: the SQL bytes, lossless (after any query attributes).
    Query(Bytes),
    /// COM_FIELD_LIST.
    FieldList {
        /// Table name.
        table: String,
        /// Column wildcard (raw).
        wildcard: Bytes,
    },
    /// COM_STATISTICS.
    Statistics,
    /// COM_PING.
    Ping,
    /// COM_PROCESS_KILL: the connection id.
    ProcessKill(u32),
    /// COM_CHANGE_USER.
    ChangeUser(ChangeUser),
    /// COM_RESET_CONNECTION.
    ResetConnection,
    /// COM_STMT_PREPARE: the SQL bytes, lossless.
    StmtPrepare(Bytes),
    /// COM_STMT_EXECUTE (parameters are read with [`execute_layout`]).
    StmtExecute {
        /// Statement id.
        stmt_id: u32,
        /// Cursor flags.
        flags: u8,
    },
    /// COM_STMT_SEND_LONG_DATA (the server does not answer).
    StmtSendLongData {
        /// Statement id.
        stmt_id: u32,
        /// Parameter index.
        param: u16,
    },
    /// COM_STMT_CLOSE (the server does not answer).
    StmtClose(u32),
    /// COM_STMT_RESET.
    StmtReset(u32),
    /// COM_STMT_FETCH.
    StmtFetch {
        /// Statement id.
        stmt_id: u32,
        /// Number of rows to fetch.
        rows: u32,
    },
    /// COM_SET_OPTION: 0 enables multi-statements, 1 disables them.
    SetOption(u16),
    /// Any other command byte (deprecated, replication or unknown commands).
    Other(u8),
}

/// Decodes a command payload given the capabilities the client negotiated (with
/// `CLIENT_QUERY_ATTRIBUTES`, COM_QUERY's attributes are skipped so [`Command::Query`] holds
/// only the SQL). An empty payload is an error; bytes after a fixed-size command's fields are
/// ignored, as MySQL does.
pub fn decode_command(payload: &Bytes, client_caps: u32) -> Result<Command> {
    let Some(&cmd) = payload.first() else {
        return Err(ProtocolError::Empty { packet: "command" });
    };
    let body = &payload[1..];
    let name = command_name(cmd);
    let mut r = Reader::new(body, name);
    Ok(match cmd {
        COM_QUIT => Command::Quit,
        COM_INIT_DB => Command::InitDb(r.string(body, "schema", MAX_NAME_LEN)?),
        COM_QUERY => {
            let start = if client_caps & CLIENT_QUERY_ATTRIBUTES != 0 {
                skip_query_attributes(body)?
            } else {
                0
            };
            Command::Query(payload.slice(1 + start..))
        }
        COM_FIELD_LIST => {
            let t = r.nul_bytes("table")?;
            let table = r.string(t, "table", MAX_TABLE_LEN)?;
            let wildcard = payload.slice(payload.len() - r.remaining()..);
            Command::FieldList { table, wildcard }
        }
        COM_STATISTICS => Command::Statistics,
        COM_PING => Command::Ping,
        COM_PROCESS_KILL => Command::ProcessKill(r.u32("connection id")?),
        COM_CHANGE_USER => Command::ChangeUser(ChangeUser::decode(payload, client_caps)?),
        COM_RESET_CONNECTION => Command::ResetConnection,
        COM_STMT_PREPARE => Command::StmtPrepare(payload.slice(1..)),
        COM_STMT_EXECUTE => Command::StmtExecute {
            stmt_id: r.u32("statement id")?,
            flags: r.u8("flags")?,
        },
        COM_STMT_SEND_LONG_DATA => Command::StmtSendLongData {
            stmt_id: r.u32("statement id")?,
            param: r.u16("parameter")?,
        },
        COM_STMT_CLOSE => Command::StmtClose(r.u32("statement id")?),
        COM_STMT_RESET => Command::StmtReset(r.u32("statement id")?),
        COM_STMT_FETCH => Command::StmtFetch {
            stmt_id: r.u32("statement id")?,
            rows: r.u32("rows")?,
        },
        COM_SET_OPTION => Command::SetOption(r.u16("option")?),
        other => Command::Other(other),
    })
}

/// A name for a command byte (for errors, logs and metrics).
pub fn command_name(cmd: u8) -> &'static str {
    match cmd {
        COM_SLEEP => "COM_SLEEP",
        COM_QUIT => "COM_QUIT",
        COM_INIT_DB => "COM_INIT_DB",
        COM_QUERY => "COM_QUERY",
        COM_FIELD_LIST => "COM_FIELD_LIST",
        COM_CREATE_DB => "COM_CREATE_DB",
        COM_DROP_DB => "COM_DROP_DB",
        COM_REFRESH => "COM_REFRESH",
        COM_SHUTDOWN => "COM_SHUTDOWN",
        COM_STATISTICS => "COM_STATISTICS",
        COM_PROCESS_INFO => "COM_PROCESS_INFO",
        COM_CONNECT => "COM_CONNECT",
        COM_PROCESS_KILL => "COM_PROCESS_KILL",
        COM_DEBUG => "COM_DEBUG",
        COM_PING => "COM_PING",
        COM_TIME => "COM_TIME",
        COM_DELAYED_INSERT => "COM_DELAYED_INSERT",
        COM_CHANGE_USER => "COM_CHANGE_USER",
        COM_BINLOG_DUMP => "COM_BINLOG_DUMP",
        COM_TABLE_DUMP => "COM_TABLE_DUMP",
        COM_CONNECT_OUT => "COM_CONNECT_OUT",
        COM_REGISTER_SLAVE => "COM_REGISTER_SLAVE",
        COM_STMT_PREPARE => "COM_STMT_PREPARE",
        COM_STMT_EXECUTE => "COM_STMT_EXECUTE",
        COM_STMT_SEND_LONG_DATA => "COM_STMT_SEND_LONG_DATA",
        COM_STMT_CLOSE => "COM_STMT_CLOSE",
        COM_STMT_RESET => "COM_STMT_RESET",
        COM_SET_OPTION => "COM_SET_OPTION",
        COM_STMT_FETCH => "COM_STMT_FETCH",
        COM_DAEMON => "COM_DAEMON",
        COM_BINLOG_DUMP_GTID => "COM_BINLOG_DUMP_GTID",
        COM_RESET_CONNECTION => "COM_RESET_CONNECTION",
        COM_CLONE => "COM_CLONE",
        _ => "unknown command",
    }
}

/// The offset of the SQL in a COM_QUERY body (after the command byte) sent with
/// `CLIENT_QUERY_ATTRIBUTES`: parameter count, parameter-set count (1), and when there are
/// parameters, the null bitmap, the new-params-bound flag (1), type and name of each, and the
/// values of the non-NULL ones.
fn skip_query_attributes(body: &[u8]) -> Result<usize> {
    let mut r = Reader::new(body, "COM_QUERY");
    let count = r.lenenc_int("parameter count")?;
    let sets = r.lenenc_int("parameter set count")?;
    if sets != 1 {
        return Err(r.invalid("parameter set count", "not 1"));
    }
    if count > 0 {
        // Each parameter takes at least 3 bytes (type and empty name): bound the count by the
        // packet before allocating anything.
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        if n > body.len() / 3 {
            return Err(r.truncated("parameters"));
        }
        let bitmap = r.bytes(n.div_ceil(8), "null bitmap")?;
        if r.u8("new params bound")? != 1 {
            return Err(r.invalid("new params bound", "not 1"));
        }
        let mut types = Vec::with_capacity(n);
        for _ in 0..n {
            types.push(r.u16("parameter type")?);
            r.lenenc_bytes("parameter name")?;
        }
        for (i, t) in types.into_iter().enumerate() {
            if bitmap[i / 8] & (1 << (i % 8)) == 0 {
                skip_binary_value(&mut r, t as u8)?;
            }
        }
    }
    Ok(body.len() - r.remaining())
}

/// Skips one binary-protocol value of column type `t`.
fn skip_binary_value(r: &mut Reader<'_>, t: u8) -> Result<()> {
    let fixed = match t {
        ty::NULL => 0,
        ty::TINY => 1,
        ty::SHORT | ty::YEAR => 2,
        ty::LONG | ty::INT24 | ty::FLOAT => 4,
        ty::LONGLONG | ty::DOUBLE => 8,
        ty::DATE | ty::DATETIME | ty::TIMESTAMP | ty::TIME => {
            let n = r.u8("temporal value length")?;
            r.bytes(usize::from(n), "temporal value")?;
            return Ok(());
        }
        _ => {
            r.lenenc_bytes("parameter value")?;
            return Ok(());
        }
    };
    r.bytes(fixed, "parameter value").map(|_| ())
}

/// Rewrites the statement id of a COM_STMT_EXECUTE / SEND_LONG_DATA / CLOSE / RESET / FETCH
/// payload in place (bytes 1..5, little endian).
pub fn set_stmt_id(payload: &mut [u8], id: u32) -> Result<()> {
    match payload.first() {
        Some(
            &(COM_STMT_EXECUTE
            | COM_STMT_SEND_LONG_DATA
            | COM_STMT_CLOSE
            | COM_STMT_RESET
            | COM_STMT_FETCH),
        ) => {}
        Some(_) => {
            return Err(ProtocolError::InvalidField {
                packet: "statement command",
                field: "command",
                reason: "not a command carrying a statement id",
            });
        }
        None => {
            return Err(ProtocolError::Empty {
                packet: "statement command",
            });
        }
    }
    match payload.get_mut(1..5) {
        Some(slot) => {
            slot.copy_from_slice(&id.to_le_bytes());
            Ok(())
        }
        None => Err(ProtocolError::Truncated {
            packet: "statement command",
            field: "statement id",
        }),
    }
}

/// Where the parts of a COM_STMT_EXECUTE payload are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteLayout {
    /// The null bitmap (empty when the statement has no parameters).
    pub null_bitmap: Range<usize>,
    /// Whether the new-params-bound flag is 1 (types follow).
    pub new_params_bound: bool,
    /// The `2 * num_params` type bytes, when bound.
    pub types: Option<Range<usize>>,
    /// Where the parameter values start.
    pub values_start: usize,
}

/// Fixed part of COM_STMT_EXECUTE: command, statement id, flags, iteration count.
const EXECUTE_FIXED: usize = 10;

/// The layout of a COM_STMT_EXECUTE payload, given the statement's parameter count (from its
/// PrepareOk). Assumes `CLIENT_QUERY_ATTRIBUTES` was not negotiated (with it, the wire carries
/// an explicit count and parameter names); a gateway using this must not advertise it.
pub fn execute_layout(payload: &[u8], num_params: u16) -> Result<ExecuteLayout> {
    let mut r = Reader::new(payload, "COM_STMT_EXECUTE");
    if r.u8("command")? != COM_STMT_EXECUTE {
        return Err(r.invalid("command", "not COM_STMT_EXECUTE"));
    }
    r.bytes(EXECUTE_FIXED - 1, "header")?;
    if num_params == 0 {
        return Ok(ExecuteLayout {
            null_bitmap: EXECUTE_FIXED..EXECUTE_FIXED,
            new_params_bound: false,
            types: None,
            values_start: EXECUTE_FIXED,
        });
    }
    let n = usize::from(num_params);
    let bitmap_end = EXECUTE_FIXED + n.div_ceil(8);
    r.bytes(n.div_ceil(8), "null bitmap")?;
    let bound = match r.u8("new params bound")? {
        0 => false,
        1 => true,
        _ => return Err(r.invalid("new params bound", "not 0 or 1")),
    };
    let types_start = bitmap_end + 1;
    let (types, values_start) = if bound {
        r.bytes(2 * n, "parameter types")?;
        (Some(types_start..types_start + 2 * n), types_start + 2 * n)
    } else {
        (None, types_start)
    };
    Ok(ExecuteLayout {
        null_bitmap: EXECUTE_FIXED..bitmap_end,
        new_params_bound: bound,
        types,
        values_start,
    })
}

/// A COM_STMT_EXECUTE payload equal to `payload` but with new-params-bound = 1 and `types`
/// (`2 * num_params` bytes) inserted, for executing on a server connection that has never
/// seen the statement's types. A plain copy when types are already bound or there are no
/// parameters.
pub fn execute_with_types(payload: &[u8], num_params: u16, types: &[u8]) -> Result<Vec<u8>> {
    let layout = execute_layout(payload, num_params)?;
    if layout.new_params_bound || num_params == 0 {
        return Ok(payload.to_vec());
    }
    if types.len() != 2 * usize::from(num_params) {
        return Err(ProtocolError::InvalidField {
            packet: "COM_STMT_EXECUTE",
            field: "parameter types",
            reason: "not two bytes per parameter",
        });
    }
    let flag = layout.null_bitmap.end;
    let mut out = Vec::with_capacity(payload.len() + types.len());
    out.extend_from_slice(&payload[..flag]);
    out.push(1);
    out.extend_from_slice(types);
    out.extend_from_slice(&payload[flag + 1..]);
    Ok(out)
}
