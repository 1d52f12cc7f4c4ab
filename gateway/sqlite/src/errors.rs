//! SQLite errors as PostgreSQL errors: a SQLSTATE chosen from SQLite's (extended) result code
//! and message, and a message in PostgreSQL's words where there is a well-known equivalent.
//!
//! SQLite's messages name only SQL-level things (tables, columns, constraints), so they are
//! kept (as the message or the detail); I/O and internal errors are replaced by a fixed text so
//! no file path or internal state reaches the client.

use articdbm_pgwire::backend::encode::{PgError, Severity};
use rusqlite::ffi;

fn err(code: &str, message: impl Into<String>) -> PgError {
    PgError::new(Severity::Error, code, message)
}

/// Convert an error from rusqlite.
pub(crate) fn from_sqlite(e: &rusqlite::Error) -> PgError {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            from_code(f.extended_code, msg.as_deref().unwrap_or_default())
        }
        rusqlite::Error::SqlInputError { error, msg, .. } => from_code(error.extended_code, msg),
        rusqlite::Error::MultipleStatement => err(
            "42601",
            "cannot insert multiple commands into a prepared statement",
        ),
        rusqlite::Error::InvalidParameterCount(got, want) => err(
            "08P01",
            format!(
                "bind message supplies {got} parameters, but prepared statement requires {want}"
            ),
        ),
        rusqlite::Error::ExecuteReturnedResults => {
            err("XX000", "statement unexpectedly returned rows")
        }
        rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::FromSqlConversionFailure(..) => {
            err("42804", "value of unexpected type")
        }
        rusqlite::Error::UserFunctionError(inner) => err("22023", inner.to_string()),
        rusqlite::Error::Utf8Error(_) => err(
            "22021",
            "invalid byte sequence for encoding \"UTF8\" in a stored value",
        ),
        _ => err("XX000", "internal error in the SQLite backend"),
    }
}

/// The part of `msg` after `prefix`, if it starts with it.
fn after<'m>(msg: &'m str, prefix: &str) -> Option<&'m str> {
    msg.strip_prefix(prefix).map(str::trim)
}

fn from_code(extended: i32, msg: &str) -> PgError {
    let primary = extended & 0xff;
    match extended {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            return err("23505", "duplicate key value violates unique constraint").detail(msg);
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => {
            let column = after(msg, "NOT NULL constraint failed:").unwrap_or(msg);
            return err(
                "23502",
                format!("null value in column \"{column}\" violates not-null constraint"),
            );
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            return err("23503", "foreign key constraint violated").detail(msg);
        }
        ffi::SQLITE_CONSTRAINT_CHECK => {
            return err("23514", "check constraint violated").detail(msg);
        }
        ffi::SQLITE_BUSY_SNAPSHOT => {
            // A transaction that read first and writes now, after another connection
            // committed: what PostgreSQL reports as a serialization failure (clients retry).
            return err(
                "40001",
                "could not serialize access due to concurrent update",
            )
            .hint("retry the transaction; BEGIN IMMEDIATE takes the write lock up front");
        }
        _ => {}
    }
    match primary {
        ffi::SQLITE_CONSTRAINT => err("23000", msg),
        ffi::SQLITE_BUSY => err(
            "55P03",
            "could not obtain lock: the database is busy (another connection holds a lock)",
        ),
        ffi::SQLITE_LOCKED => err("55P03", "could not obtain lock: a table is locked"),
        ffi::SQLITE_READONLY => err("25006", "cannot write: the database is read-only"),
        ffi::SQLITE_INTERRUPT => err("57014", "canceling statement due to user request"),
        ffi::SQLITE_FULL => err("53100", "could not extend the database: disk full"),
        ffi::SQLITE_NOMEM => err("53200", "out of memory"),
        ffi::SQLITE_TOOBIG => err("54000", "string or blob too big"),
        ffi::SQLITE_MISMATCH => err("42804", "datatype mismatch"),
        ffi::SQLITE_RANGE => err("08P01", "parameter index out of range"),
        ffi::SQLITE_AUTH => err("42501", "not authorized"),
        ffi::SQLITE_IOERR | ffi::SQLITE_CANTOPEN | ffi::SQLITE_PROTOCOL | ffi::SQLITE_NOLFS => {
            err("58030", "could not access the database file")
        }
        ffi::SQLITE_CORRUPT | ffi::SQLITE_NOTADB => {
            err("XX001", "the database file is damaged or is not a database")
        }
        ffi::SQLITE_ERROR => from_message(msg),
        _ => err("XX000", "internal error in the SQLite backend"),
    }
}

/// Plain SQLITE_ERROR: classify by message.
fn from_message(msg: &str) -> PgError {
    if let Some(t) = after(msg, "no such table:") {
        return err("42P01", format!("relation \"{t}\" does not exist"));
    }
    if let Some(c) = after(msg, "no such column:") {
        return err("42703", format!("column \"{c}\" does not exist"));
    }
    if let Some(f) = after(msg, "no such function:") {
        return err("42883", format!("function {f} does not exist"));
    }
    if let Some(i) = after(msg, "no such index:") {
        return err("42704", format!("index \"{i}\" does not exist"));
    }
    if let Some(v) = after(msg, "no such view:") {
        return err("42P01", format!("view \"{v}\" does not exist"));
    }
    if let Some(s) = after(msg, "no such savepoint:") {
        return err("3B001", format!("savepoint \"{s}\" does not exist"));
    }
    if let Some(rest) = msg.strip_prefix("table ")
        && let Some(t) = rest.strip_suffix(" already exists")
    {
        return err("42P07", format!("relation {t} already exists"));
    }
    if let Some(rest) = msg.strip_prefix("index ")
        && let Some(i) = rest.strip_suffix(" already exists")
    {
        return err("42P07", format!("relation {i} already exists"));
    }
    if let Some(rest) = msg.strip_prefix("near ")
        && let Some(token) = rest.strip_suffix(": syntax error")
    {
        return err("42601", format!("syntax error at or near {token}"));
    }
    if msg.starts_with("incomplete input") {
        return err("42601", "syntax error at end of input");
    }
    if msg.contains("syntax error") || msg.starts_with("unrecognized token") {
        return err("42601", format!("syntax error: {msg}"));
    }
    if let Some(c) = after(msg, "duplicate column name:") {
        return err("42701", format!("column \"{c}\" specified more than once"));
    }
    if let Some(c) = after(msg, "ambiguous column name:") {
        return err("42702", format!("column reference \"{c}\" is ambiguous"));
    }
    if msg.starts_with("wrong number of arguments to function") {
        return err("42883", msg);
    }
    if msg.contains("misuse of aggregate") || msg.contains("misuse of window function") {
        return err("42803", msg);
    }
    if msg.contains("has no column named") {
        return err("42703", msg);
    }
    if msg.starts_with("cannot VACUUM") || msg.contains("within a transaction") {
        return err("25001", msg);
    }
    if msg.contains("values were supplied") || msg.contains("columns but") {
        return err("42601", msg);
    }
    err("42000", msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(ext: i32, msg: &str) -> String {
        from_code(ext, msg).code
    }

    #[test]
    fn sqlstates() {
        assert_eq!(code(ffi::SQLITE_ERROR, "no such table: t"), "42P01");
        assert_eq!(code(ffi::SQLITE_ERROR, "no such column: x"), "42703");
        assert_eq!(
            code(ffi::SQLITE_ERROR, "near \"SELEC\": syntax error"),
            "42601"
        );
        assert_eq!(code(ffi::SQLITE_ERROR, "incomplete input"), "42601");
        assert_eq!(
            from_code(ffi::SQLITE_ERROR, "near \"SELEC\": syntax error").message,
            "syntax error at or near \"SELEC\""
        );
        assert_eq!(code(ffi::SQLITE_ERROR, "table t already exists"), "42P07");
        assert_eq!(
            code(
                ffi::SQLITE_CONSTRAINT_UNIQUE,
                "UNIQUE constraint failed: t.a"
            ),
            "23505"
        );
        assert_eq!(code(ffi::SQLITE_CONSTRAINT_PRIMARYKEY, "x"), "23505");
        assert_eq!(
            code(
                ffi::SQLITE_CONSTRAINT_NOTNULL,
                "NOT NULL constraint failed: t.a"
            ),
            "23502"
        );
        assert_eq!(
            code(
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY,
                "FOREIGN KEY constraint failed"
            ),
            "23503"
        );
        assert_eq!(
            code(
                ffi::SQLITE_CONSTRAINT_CHECK,
                "CHECK constraint failed: a > 0"
            ),
            "23514"
        );
        assert_eq!(code(ffi::SQLITE_BUSY, "database is locked"), "55P03");
        assert_eq!(
            code(ffi::SQLITE_BUSY_SNAPSHOT, "database is locked"),
            "40001"
        );
        assert_eq!(
            code(ffi::SQLITE_IOERR_WRITE, "disk I/O error /secret/path"),
            "58030"
        );
        assert!(
            !from_code(ffi::SQLITE_IOERR_WRITE, "/secret/path")
                .message
                .contains("secret")
        );
        assert_eq!(
            from_code(ffi::SQLITE_ERROR, "no such table: accounts").message,
            "relation \"accounts\" does not exist"
        );
    }
}
