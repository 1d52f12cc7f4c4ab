//! PostgreSQL types as the SQLite backend presents them: OIDs, the mapping from SQLite
//! declarations and values, decoding of Bind parameters and encoding of result values.
//!
//! The mapping rules are documented in docs/SQLITE.md; this is their one implementation.

use std::fmt::Write as _;

use articdbm_pgwire::backend::encode::{PgError, Severity};

use super::{PgResult, fail};
use rusqlite::types::{Value, ValueRef};

/// The PostgreSQL types a result column or parameter can have here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Bytea,
}

/// OIDs of the types above (and `oid`, accepted in Parse as int4).
pub(crate) mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const NUMERIC: u32 = 1700;
}

impl PgType {
    pub fn oid(self) -> u32 {
        match self {
            Self::Bool => oid::BOOL,
            Self::Int2 => oid::INT2,
            Self::Int4 => oid::INT4,
            Self::Int8 => oid::INT8,
            Self::Float4 => oid::FLOAT4,
            Self::Float8 => oid::FLOAT8,
            Self::Numeric => oid::NUMERIC,
            Self::Text => oid::TEXT,
            Self::Bytea => oid::BYTEA,
        }
    }

    /// `typlen` as sent in RowDescription.
    pub fn size(self) -> i16 {
        match self {
            Self::Bool => 1,
            Self::Int2 => 2,
            Self::Int4 | Self::Float4 => 4,
            Self::Int8 | Self::Float8 => 8,
            Self::Numeric | Self::Text | Self::Bytea => -1,
        }
    }

    /// The type's name in PostgreSQL error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "boolean",
            Self::Int2 => "smallint",
            Self::Int4 => "integer",
            Self::Int8 => "bigint",
            Self::Float4 => "real",
            Self::Float8 => "double precision",
            Self::Numeric => "numeric",
            Self::Text => "text",
            Self::Bytea => "bytea",
        }
    }

    /// Whether results of this type can be sent in binary format (numeric is always text).
    pub fn binary_results(self) -> bool {
        self != Self::Numeric
    }

    pub fn is_integer(self) -> bool {
        matches!(self, Self::Int2 | Self::Int4 | Self::Int8)
    }

    pub fn is_float(self) -> bool {
        matches!(self, Self::Float4 | Self::Float8)
    }

    /// The type of a parameter whose Parse OID is `oid` (0 = unspecified → `None`). OIDs of
    /// text-like types (varchar, name, json, unknown, ...) and types without a binary decoder
    /// here map to text: their values are bound as SQLite TEXT.
    pub fn from_param_oid(oid: u32) -> Option<Self> {
        Some(match oid {
            0 => return None,
            oid::BOOL => Self::Bool,
            oid::INT2 => Self::Int2,
            oid::INT4 | oid::OID => Self::Int4,
            oid::INT8 => Self::Int8,
            oid::FLOAT4 => Self::Float4,
            oid::FLOAT8 => Self::Float8,
            oid::NUMERIC => Self::Numeric,
            oid::BYTEA => Self::Bytea,
            _ => Self::Text,
        })
    }

    /// The type of a column declared as `decl` in SQLite (`CREATE TABLE t (x decl)`), by
    /// SQLite's own affinity rules extended with the PostgreSQL names: booleans and bytea are
    /// recognised first, then INT → int8, CHAR/CLOB/TEXT → text, BLOB → bytea,
    /// REAL/FLOA/DOUB → float8, NUMERIC/DECIMAL → numeric; anything else (dates, json, uuid...) is
    /// text.
    pub fn from_decltype(decl: &str) -> Self {
        let d = decl.to_ascii_uppercase();
        let base = d.split('(').next().unwrap_or_default().trim();
        if base == "BOOL" || base == "BOOLEAN" {
            Self::Bool
        } else if base == "BYTEA" || d.contains("BLOB") {
            Self::Bytea
        } else if d.contains("INT") && !d.contains("POINT") && !d.contains("INTERVAL") {
            Self::Int8
        } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
            Self::Text
        } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
            Self::Float8
        } else if d.contains("NUMERIC") || d.contains("DECIMAL") {
            Self::Numeric
        } else {
            Self::Text
        }
    }

    /// The type of a SQLite value (the simple-query fallback for columns with no declared or
    /// inferred type). NULL has none.
    pub fn from_value(v: ValueRef<'_>) -> Option<Self> {
        match v {
            ValueRef::Null => None,
            ValueRef::Integer(_) => Some(Self::Int8),
            ValueRef::Real(_) => Some(Self::Float8),
            ValueRef::Text(_) => Some(Self::Text),
            ValueRef::Blob(_) => Some(Self::Bytea),
        }
    }
}

/// What a PostgreSQL cast (`x::name` or `CAST(x AS name)`) means here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CastTarget {
    /// The result type, when it is one of ours; `None` for types presented as text that keep
    /// the operand's value (dates, json, uuid, regclass...).
    pub ty: Option<PgType>,
    /// How to rewrite the operand for SQLite.
    pub rewrite: CastRewrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CastRewrite {
    /// `CAST(x AS <affinity>)`.
    Sqlite(&'static str),
    /// `<function>(x)`: one of the backend's conversion functions.
    Function(&'static str),
    /// `x` unchanged.
    Strip,
}

/// Interpret a PostgreSQL type name (lower case, words separated by one space, without
/// modifiers or array brackets; `pg_catalog.` stripped).
pub(crate) fn cast_target(name: &str, array: bool) -> CastTarget {
    use CastRewrite::*;
    let (ty, rewrite) = if array {
        (None, Strip)
    } else {
        match name {
            "bool" | "boolean" => (Some(PgType::Bool), Function("pg_cast_bool")),
            "int2" | "smallint" => (Some(PgType::Int2), Sqlite("INTEGER")),
            "int" | "int4" | "integer" | "oid" => (Some(PgType::Int4), Sqlite("INTEGER")),
            "int8" | "bigint" => (Some(PgType::Int8), Sqlite("INTEGER")),
            "float4" | "real" => (Some(PgType::Float4), Sqlite("REAL")),
            "float" | "float8" | "double precision" => (Some(PgType::Float8), Sqlite("REAL")),
            "numeric" | "decimal" => (Some(PgType::Numeric), Sqlite("NUMERIC")),
            "text" | "varchar" | "character varying" | "char" | "character" | "bpchar" | "name"
            | "citext" => (Some(PgType::Text), Sqlite("TEXT")),
            "bytea" => (Some(PgType::Bytea), Function("pg_cast_bytea")),
            _ => (None, Strip),
        }
    };
    CastTarget { ty, rewrite }
}

fn invalid_input(ty: PgType, text: &str) -> PgError {
    PgError::new(
        Severity::Error,
        "22P02",
        format!(
            "invalid input syntax for type {}: \"{}\"",
            ty.name(),
            truncate(text, 64)
        ),
    )
}

fn out_of_range(ty: PgType) -> PgError {
    PgError::new(
        Severity::Error,
        "22003",
        format!("value out of range for type {}", ty.name()),
    )
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

fn parse_int(ty: PgType, s: &str) -> PgResult<i64> {
    let v: i64 = s.trim().parse().map_err(|_| invalid_input(ty, s))?;
    check_int_range(ty, v)
}

fn check_int_range(ty: PgType, v: i64) -> PgResult<i64> {
    let ok = match ty {
        PgType::Int2 => i16::try_from(v).is_ok(),
        PgType::Int4 => i32::try_from(v).is_ok(),
        _ => true,
    };
    if ok { Ok(v) } else { fail(out_of_range(ty)) }
}

fn parse_float(ty: PgType, s: &str) -> PgResult<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "infinity" | "+infinity" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-infinity" | "-inf" => Ok(f64::NEG_INFINITY),
        "nan" => Ok(f64::NAN),
        _ => t.parse().map_err(|_| Box::new(invalid_input(ty, s))),
    }
}

/// PostgreSQL's boolean input words.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Decode bytea text input: `\x` hex, or the escape format (`\\`, `\nnn` octal).
pub(crate) fn parse_bytea(s: &str) -> Option<Vec<u8>> {
    if let Some(hex_digits) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
        let clean: String = hex_digits
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        return hex::decode(clean).ok();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = b.get(i + 1..i + 4)?;
            if !oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                return None;
            }
            let v = u32::from(oct[0] - b'0') * 64
                + u32::from(oct[1] - b'0') * 8
                + u32::from(oct[2] - b'0');
            out.push(u8::try_from(v).ok()?);
            i += 4;
        }
    }
    Some(out)
}

/// Decode one Bind parameter into the SQLite value it is bound as.
///
/// `ty` is the parameter's type (`None`: unknown, bound as TEXT in text format, TEXT or BLOB
/// in binary format depending on UTF-8 validity).
pub(crate) fn decode_param(
    ty: Option<PgType>,
    binary: bool,
    raw: Option<&[u8]>,
    index: usize,
) -> PgResult<Value> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    if binary {
        decode_binary(ty, raw, index)
    } else {
        let s = std::str::from_utf8(raw).map_err(|_| {
            PgError::new(
                Severity::Error,
                "22021",
                "invalid byte sequence for encoding \"UTF8\"",
            )
        })?;
        decode_text(ty, s)
    }
}

fn decode_text(ty: Option<PgType>, s: &str) -> PgResult<Value> {
    let Some(ty) = ty else {
        return Ok(Value::Text(s.to_owned()));
    };
    Ok(match ty {
        PgType::Bool => Value::Integer(i64::from(
            parse_bool(s).ok_or_else(|| invalid_input(ty, s))?,
        )),
        PgType::Int2 | PgType::Int4 | PgType::Int8 => Value::Integer(parse_int(ty, s)?),
        PgType::Float4 | PgType::Float8 => Value::Real(parse_float(ty, s)?),
        PgType::Numeric => match s.trim().parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Real(parse_float(ty, s)?),
        },
        PgType::Text => Value::Text(s.to_owned()),
        PgType::Bytea => Value::Blob(parse_bytea(s).ok_or_else(|| invalid_input(ty, s))?),
    })
}

fn decode_binary(ty: Option<PgType>, raw: &[u8], index: usize) -> PgResult<Value> {
    let bad = || {
        PgError::new(
            Severity::Error,
            "22P03",
            format!(
                "incorrect binary data format in bind parameter {}",
                index + 1
            ),
        )
    };
    let Some(ty) = ty else {
        return Ok(match std::str::from_utf8(raw) {
            Ok(s) => Value::Text(s.to_owned()),
            Err(_) => Value::Blob(raw.to_vec()),
        });
    };
    Ok(match ty {
        PgType::Bool => match raw {
            [0] => Value::Integer(0),
            [_] => Value::Integer(1),
            _ => return fail(bad()),
        },
        PgType::Int2 => Value::Integer(i64::from(i16::from_be_bytes(
            raw.try_into().map_err(|_| bad())?,
        ))),
        PgType::Int4 => Value::Integer(i64::from(i32::from_be_bytes(
            raw.try_into().map_err(|_| bad())?,
        ))),
        PgType::Int8 => Value::Integer(i64::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        PgType::Float4 => Value::Real(f64::from(f32::from_be_bytes(
            raw.try_into().map_err(|_| bad())?,
        ))),
        PgType::Float8 => Value::Real(f64::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
        PgType::Text => Value::Text(
            std::str::from_utf8(raw)
                .map_err(|_| {
                    PgError::new(
                        Severity::Error,
                        "22021",
                        "invalid byte sequence for encoding \"UTF8\"",
                    )
                })?
                .to_owned(),
        ),
        PgType::Bytea => Value::Blob(raw.to_vec()),
        PgType::Numeric => {
            return fail(PgError::new(
                Severity::Error,
                "0A000",
                format!(
                    "binary format for numeric parameter {} is not supported by the SQLite \
                     backend; send it as text",
                    index + 1
                ),
            ));
        }
    })
}

/// PostgreSQL's text output of a float8 (shortest round-trip digits, exponent outside
/// 1e-4..1e15, `Infinity`/`NaN` spelled out).
pub(crate) fn format_float(v: f64, out: &mut Vec<u8>) {
    format_float_with(v, v.abs(), out, |x| format!("{x}"), |x| format!("{x:e}"));
}

fn format_float4(v: f32, out: &mut Vec<u8>) {
    format_float_with(
        f64::from(v),
        f64::from(v.abs()),
        out,
        |_| format!("{v}"),
        |_| format!("{v:e}"),
    );
}

fn format_float_with(
    v: f64,
    abs: f64,
    out: &mut Vec<u8>,
    plain: impl Fn(f64) -> String,
    sci: impl Fn(f64) -> String,
) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else if abs != 0.0 && !(1e-4..1e15).contains(&abs) {
        // Rust writes 1.5e-5 / 1e20; PostgreSQL writes 1.5e-05 / 1e+20.
        let s = sci(v);
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let mut t = String::with_capacity(s.len() + 2);
        let _ = write!(t, "{mantissa}e{sign}{digits:0>2}");
        out.extend_from_slice(t.as_bytes());
    } else {
        out.extend_from_slice(plain(v).as_bytes());
    }
}

fn hex_bytea(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\x");
    out.extend_from_slice(hex::encode(bytes).as_bytes());
}

/// The value's natural text, whatever the column type (text-format output is lenient: a
/// value that does not fit the described type is still shown as it is stored).
fn natural_text(v: ValueRef<'_>, out: &mut Vec<u8>) {
    match v {
        ValueRef::Null => {}
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => format_float(f, out),
        ValueRef::Text(t) => out.extend_from_slice(t),
        ValueRef::Blob(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.contains('\0') => out.extend_from_slice(b),
            _ => hex_bytea(b, out),
        },
    }
}

fn as_bool(v: ValueRef<'_>) -> Option<bool> {
    match v {
        ValueRef::Integer(i) => Some(i != 0),
        ValueRef::Real(f) => Some(f != 0.0),
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(parse_bool),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

fn as_int(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        // Only integral values in range: 2^63 as f64 is out of range.
        ValueRef::Real(f)
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Some(f as i64)
        }
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

fn as_float(v: ValueRef<'_>) -> Option<f64> {
    match v {
        #[allow(clippy::cast_precision_loss)]
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// Why a value could not be sent in binary format as its column's type.
#[derive(Debug)]
pub(crate) struct Mismatch {
    pub ty: PgType,
    pub storage: &'static str,
}

impl Mismatch {
    pub fn into_error(self, column: &str) -> PgError {
        PgError::new(
            Severity::Error,
            "42804",
            format!(
                "column \"{column}\" holds a {} value that cannot be sent as {}",
                self.storage,
                self.ty.name()
            ),
        )
        .hint("cast the column in the query, e.g. col::text")
    }
}

fn storage(v: ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "INTEGER",
        ValueRef::Real(_) => "REAL",
        ValueRef::Text(_) => "TEXT",
        ValueRef::Blob(_) => "BLOB",
    }
}

/// Encode one non-NULL result value of a column of type `ty` into `out`, in text or binary
/// format.
pub(crate) fn encode_value(
    v: ValueRef<'_>,
    ty: PgType,
    binary: bool,
    out: &mut Vec<u8>,
) -> Result<(), Mismatch> {
    let mismatch = || Mismatch {
        ty,
        storage: storage(v),
    };
    if !binary || !ty.binary_results() {
        match ty {
            PgType::Bool => match as_bool(v) {
                Some(b) => out.push(if b { b't' } else { b'f' }),
                None => natural_text(v, out),
            },
            PgType::Bytea => match v {
                ValueRef::Blob(b) | ValueRef::Text(b) => hex_bytea(b, out),
                other => {
                    let mut t = Vec::new();
                    natural_text(other, &mut t);
                    hex_bytea(&t, out);
                }
            },
            PgType::Float4 => match v {
                #[allow(clippy::cast_possible_truncation)]
                ValueRef::Real(f) => format_float4(f as f32, out),
                other => natural_text(other, out),
            },
            PgType::Int2 | PgType::Int4 | PgType::Int8 => match v {
                ValueRef::Real(f) if f.fract() == 0.0 => match as_int(v) {
                    Some(i) => out.extend_from_slice(i.to_string().as_bytes()),
                    None => format_float(f, out),
                },
                other => natural_text(other, out),
            },
            _ => natural_text(v, out),
        }
        return Ok(());
    }
    match ty {
        PgType::Bool => out.push(u8::from(as_bool(v).ok_or_else(mismatch)?)),
        PgType::Int2 => {
            let i = as_int(v).ok_or_else(mismatch)?;
            out.extend_from_slice(&i16::try_from(i).map_err(|_| mismatch())?.to_be_bytes());
        }
        PgType::Int4 => {
            let i = as_int(v).ok_or_else(mismatch)?;
            out.extend_from_slice(&i32::try_from(i).map_err(|_| mismatch())?.to_be_bytes());
        }
        PgType::Int8 => out.extend_from_slice(&as_int(v).ok_or_else(mismatch)?.to_be_bytes()),
        #[allow(clippy::cast_possible_truncation)]
        PgType::Float4 => {
            out.extend_from_slice(&(as_float(v).ok_or_else(mismatch)? as f32).to_be_bytes());
        }
        PgType::Float8 => out.extend_from_slice(&as_float(v).ok_or_else(mismatch)?.to_be_bytes()),
        PgType::Text | PgType::Numeric => natural_text(v, out),
        PgType::Bytea => match v {
            ValueRef::Blob(b) | ValueRef::Text(b) => out.extend_from_slice(b),
            other => natural_text(other, out),
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: ValueRef<'_>, ty: PgType) -> String {
        let mut out = Vec::new();
        encode_value(v, ty, false, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn bin(v: ValueRef<'_>, ty: PgType) -> Result<Vec<u8>, Mismatch> {
        let mut out = Vec::new();
        encode_value(v, ty, true, &mut out).map(|()| out)
    }

    #[test]
    fn decltype_mapping() {
        use PgType::*;
        for (d, t) in [
            ("INTEGER", Int8),
            ("int", Int8),
            ("BIGINT", Int8),
            ("boolean", Bool),
            ("BOOL", Bool),
            ("REAL", Float8),
            ("double precision", Float8),
            ("FLOAT", Float8),
            ("TEXT", Text),
            ("varchar(20)", Text),
            ("BLOB", Bytea),
            ("bytea", Bytea),
            ("NUMERIC(10,2)", Numeric),
            ("decimal", Numeric),
            ("TIMESTAMP", Text),
            ("date", Text),
            ("json", Text),
            ("point", Text),
        ] {
            assert_eq!(PgType::from_decltype(d), t, "{d}");
        }
    }

    #[test]
    fn text_output() {
        assert_eq!(text(ValueRef::Integer(1), PgType::Bool), "t");
        assert_eq!(text(ValueRef::Integer(0), PgType::Bool), "f");
        assert_eq!(text(ValueRef::Text(b"true"), PgType::Bool), "t");
        assert_eq!(text(ValueRef::Integer(-5), PgType::Int8), "-5");
        assert_eq!(text(ValueRef::Real(3.0), PgType::Int8), "3");
        assert_eq!(text(ValueRef::Real(2.5), PgType::Float8), "2.5");
        assert_eq!(text(ValueRef::Real(3.0), PgType::Float8), "3");
        assert_eq!(text(ValueRef::Real(1e20), PgType::Float8), "1e+20");
        assert_eq!(text(ValueRef::Real(1.5e-5), PgType::Float8), "1.5e-05");
        assert_eq!(
            text(ValueRef::Real(f64::INFINITY), PgType::Float8),
            "Infinity"
        );
        assert_eq!(text(ValueRef::Blob(&[0, 255]), PgType::Bytea), "\\x00ff");
        assert_eq!(text(ValueRef::Text(b"ab"), PgType::Bytea), "\\x6162");
        assert_eq!(text(ValueRef::Integer(7), PgType::Text), "7");
        assert_eq!(text(ValueRef::Text(b"abc"), PgType::Int8), "abc");
        assert_eq!(text(ValueRef::Real(0.1), PgType::Float4), "0.1");
    }

    #[test]
    fn binary_output() {
        assert_eq!(
            bin(ValueRef::Integer(1), PgType::Int8).unwrap(),
            1i64.to_be_bytes()
        );
        assert_eq!(
            bin(ValueRef::Integer(1), PgType::Int4).unwrap(),
            1i32.to_be_bytes()
        );
        assert_eq!(
            bin(ValueRef::Integer(2), PgType::Float8).unwrap(),
            2f64.to_be_bytes()
        );
        assert_eq!(bin(ValueRef::Integer(1), PgType::Bool).unwrap(), [1]);
        assert_eq!(bin(ValueRef::Text(b"hi"), PgType::Text).unwrap(), b"hi");
        assert_eq!(bin(ValueRef::Blob(&[1, 2]), PgType::Bytea).unwrap(), [1, 2]);
        assert!(bin(ValueRef::Text(b"abc"), PgType::Int8).is_err());
        assert!(bin(ValueRef::Integer(1 << 40), PgType::Int4).is_err());
        assert!(bin(ValueRef::Real(1.5), PgType::Int8).is_err());
    }

    #[test]
    fn params_text_and_binary() {
        use PgType::*;
        let t = |ty, s: &str| decode_param(Some(ty), false, Some(s.as_bytes()), 0);
        assert_eq!(t(Int8, " 42 ").unwrap(), Value::Integer(42));
        assert_eq!(t(Bool, "on").unwrap(), Value::Integer(1));
        assert_eq!(
            t(Float8, "-Infinity").unwrap(),
            Value::Real(f64::NEG_INFINITY)
        );
        assert_eq!(t(Bytea, "\\x0aff").unwrap(), Value::Blob(vec![10, 255]));
        assert_eq!(
            t(Bytea, "a\\\\b\\001").unwrap(),
            Value::Blob(b"a\\b\x01".to_vec())
        );
        assert_eq!(t(Numeric, "1.5").unwrap(), Value::Real(1.5));
        assert_eq!(t(Int8, "x").unwrap_err().code, "22P02");
        assert_eq!(t(Int2, "40000").unwrap_err().code, "22003");
        let b = |ty, raw: &[u8]| decode_param(Some(ty), true, Some(raw), 0);
        assert_eq!(b(Int4, &7i32.to_be_bytes()).unwrap(), Value::Integer(7));
        assert_eq!(b(Int2, &(-2i16).to_be_bytes()).unwrap(), Value::Integer(-2));
        assert_eq!(b(Float4, &1.5f32.to_be_bytes()).unwrap(), Value::Real(1.5));
        assert_eq!(b(Bool, &[1]).unwrap(), Value::Integer(1));
        assert_eq!(b(Int8, &[1, 2]).unwrap_err().code, "22P03");
        assert_eq!(b(Numeric, &[0; 8]).unwrap_err().code, "0A000");
        assert_eq!(
            decode_param(None, true, Some(&[0xff]), 0).unwrap(),
            Value::Blob(vec![0xff])
        );
        assert_eq!(
            decode_param(Some(Int8), true, None, 0).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn casts() {
        assert_eq!(cast_target("int8", false).ty, Some(PgType::Int8));
        assert_eq!(
            cast_target("double precision", false).rewrite,
            CastRewrite::Sqlite("REAL")
        );
        assert_eq!(cast_target("date", false).rewrite, CastRewrite::Strip);
        assert_eq!(cast_target("int4", true).ty, None);
    }
}
