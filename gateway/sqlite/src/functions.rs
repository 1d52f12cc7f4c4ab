//! SQL functions registered on every connection so common PostgreSQL calls work:
//! `version()`, `current_database()`, `current_user` & co., `current_setting()`,
//! `pg_backend_pid()`, `now()` (text, UTC), `gen_random_uuid()`, `generate_series()` (a
//! table), and the conversion functions the cast rewrite targets (`pg_cast_bool`,
//! `pg_cast_bytea`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};

use super::settings::{SERVER_VERSION, Settings};
use super::types::{parse_bool, parse_bytea};

fn user_error(msg: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(msg.into())
}

/// Register the functions on `conn`. `settings` is the session's, read at call time.
pub(crate) fn register(
    conn: &Connection,
    settings: Arc<Mutex<Settings>>,
    pid: i32,
) -> rusqlite::Result<()> {
    let det = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let volatile = FunctionFlags::SQLITE_UTF8;

    let version = format!(
        "PostgreSQL {SERVER_VERSION} (ArticDBM SQLite backend, SQLite {})",
        rusqlite::version()
    );
    conn.create_scalar_function("version", 0, det, move |_| Ok(version.clone()))?;

    let s = settings.clone();
    conn.create_scalar_function("current_database", 0, volatile, move |_| {
        Ok(s.lock().database.clone())
    })?;
    let s = settings.clone();
    conn.create_scalar_function("current_catalog", 0, volatile, move |_| {
        Ok(s.lock().database.clone())
    })?;
    for name in ["current_user", "session_user", "current_role", "user"] {
        let s = settings.clone();
        conn.create_scalar_function(name, 0, volatile, move |_| Ok(s.lock().user.clone()))?;
    }
    conn.create_scalar_function("current_schema", 0, det, |_| Ok("public"))?;
    conn.create_scalar_function("pg_backend_pid", 0, det, move |_| Ok(pid))?;

    for n_args in [1, 2] {
        let s = settings.clone();
        conn.create_scalar_function("current_setting", n_args, volatile, move |ctx| {
            let name: String = ctx.get(0)?;
            let missing_ok = n_args == 2 && ctx.get::<bool>(1).unwrap_or(false);
            match s.lock().get(&name) {
                Some(v) => Ok(Some(v.to_owned())),
                None if missing_ok => Ok(None),
                None => Err(user_error(format!(
                    "unrecognized configuration parameter \"{name}\""
                ))),
            }
        })?;
    }

    for name in [
        "now",
        "statement_timestamp",
        "transaction_timestamp",
        "clock_timestamp",
    ] {
        conn.create_scalar_function(name, 0, volatile, |_| Ok(now_text()))?;
    }

    conn.create_scalar_function("gen_random_uuid", 0, volatile, |_| {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| user_error(format!("no randomness: {e}")))?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        Ok(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    })?;

    conn.create_scalar_function("pg_cast_bool", 1, det, cast_bool)?;
    conn.create_scalar_function("pg_cast_bytea", 1, det, cast_bytea)?;
    // generate_series(start, stop[, step]) as a table (its column is named `value`).
    rusqlite::vtab::series::load_module(conn)?;
    Ok(())
}

fn cast_bool(ctx: &Context<'_>) -> rusqlite::Result<Value> {
    Ok(match ctx.get_raw(0) {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i64::from(i != 0)),
        ValueRef::Real(f) => Value::Integer(i64::from(f != 0.0)),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            match parse_bool(&s) {
                Some(b) => Value::Integer(i64::from(b)),
                None => {
                    return Err(user_error(format!(
                        "invalid input syntax for type boolean: \"{s}\""
                    )));
                }
            }
        }
        ValueRef::Blob(_) => {
            return Err(user_error("cannot cast bytea to boolean".into()));
        }
    })
}

fn cast_bytea(ctx: &Context<'_>) -> rusqlite::Result<Value> {
    Ok(match ctx.get_raw(0) {
        ValueRef::Null => Value::Null,
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            match parse_bytea(&s) {
                Some(b) => Value::Blob(b),
                None => {
                    return Err(user_error(format!(
                        "invalid input syntax for type bytea: \"{s}\""
                    )));
                }
            }
        }
        other => {
            let s = match other {
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) => f.to_string(),
                _ => String::new(),
            };
            Value::Blob(s.into_bytes())
        }
    })
}

/// The current time as PostgreSQL prints a timestamptz in UTC:
/// `2024-05-01 12:34:56.123456+00`.
pub(crate) fn now_text() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_timestamp(d.as_secs(), d.subsec_micros())
}

fn format_timestamp(secs: u64, micros: u32) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06}+00",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0, 0), "1970-01-01 00:00:00.000000+00");
        assert_eq!(
            format_timestamp(951_825_600, 5),
            "2000-02-29 12:00:00.000005+00"
        );
        assert_eq!(
            format_timestamp(1_735_689_599, 999_999),
            "2024-12-31 23:59:59.999999+00"
        );
    }
}
