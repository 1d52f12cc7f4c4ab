//! Extended-query messages: Parse, Bind, Describe, Execute, Close, Sync and Flush.
//!
//! Variable-length parts (parameter types, format codes, parameter values) are returned as
//! iterators over the frame's bytes: nothing is copied. Their framing is validated when the
//! iterator is created, so iterating cannot fail.

use super::frame_message;
use crate::error::{ProtocolError, Result};
use crate::reader::Reader;

/// What a Describe or Close refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `S`: a prepared statement.
    Statement,
    /// `P`: a portal.
    Portal,
}

impl Target {
    /// The wire byte.
    pub fn as_byte(self) -> u8 {
        match self {
            Self::Statement => b'S',
            Self::Portal => b'P',
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8("target")? {
            b'S' => Ok(Self::Statement),
            b'P' => Ok(Self::Portal),
            _ => Err(r.invalid("target", "must be 'S' or 'P'")),
        }
    }
}

/// Parameter type OIDs of a Parse message.
#[derive(Debug, Clone)]
pub struct ParamTypes<'a> {
    raw: &'a [u8],
}

impl Iterator for ParamTypes<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let (head, tail) = self.raw.split_first_chunk::<4>()?;
        self.raw = tail;
        Some(u32::from_be_bytes(*head))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.raw.len() / 4;
        (n, Some(n))
    }
}
impl ExactSizeIterator for ParamTypes<'_> {}

/// A list of Int16 format codes (0 = text, 1 = binary).
#[derive(Debug, Clone)]
pub struct FormatCodes<'a> {
    raw: &'a [u8],
}

impl<'a> FormatCodes<'a> {
    pub(crate) fn read(r: &mut Reader<'a>, field: &'static str) -> Result<Self> {
        let n = r.count16(field)?;
        Ok(Self {
            raw: r.bytes(n * 2, field)?,
        })
    }

    /// The format of column/parameter `idx` under the protocol's rule: no codes means all
    /// text, one code applies to all, otherwise one code per column.
    pub fn for_index(&self, idx: usize) -> i16 {
        let at = if self.raw.len() == 2 { 0 } else { idx };
        self.raw
            .get(at * 2..at * 2 + 2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map_or(0, i16::from_be_bytes)
    }

    fn check_values(&self, message: &'static str, field: &'static str) -> Result<()> {
        if self.clone().all(|c| c == 0 || c == 1) {
            Ok(())
        } else {
            Err(ProtocolError::InvalidField {
                message,
                field,
                reason: "format code must be 0 or 1",
            })
        }
    }
}

impl Iterator for FormatCodes<'_> {
    type Item = i16;
    fn next(&mut self) -> Option<i16> {
        let (head, tail) = self.raw.split_first_chunk::<2>()?;
        self.raw = tail;
        Some(i16::from_be_bytes(*head))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.raw.len() / 2;
        (n, Some(n))
    }
}
impl ExactSizeIterator for FormatCodes<'_> {}

/// Length-prefixed values (`-1` = NULL), as in Bind parameters and FunctionCall arguments.
/// Framing was validated on creation.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    raw: &'a [u8],
    left: usize,
}

impl<'a> Values<'a> {
    /// Read `Int16 count` then that many values; validates the framing of every value.
    pub(crate) fn read(r: &mut Reader<'a>, field: &'static str) -> Result<Self> {
        let n = r.count16(field)?;
        let start = r.rest();
        for _ in 0..n {
            r.nullable_bytes(field)?;
        }
        let used = start.len() - r.remaining();
        Ok(Self {
            raw: start.get(..used).unwrap_or_default(),
            left: n,
        })
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = Option<&'a [u8]>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let mut r = Reader::new(self.raw, "value list");
        // Framing was validated in `read`; a failure here cannot happen, end iteration if it does.
        let v = r.nullable_bytes("parameter").ok()?;
        self.raw = r.rest();
        self.left -= 1;
        Some(v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}
impl ExactSizeIterator for Values<'_> {}

frame_message!(
    /// `P`: prepare a named (or unnamed, `""`) statement.
    Parse,
    b'P',
    "Parse"
);

impl Parse {
    /// The prepared statement name (`""` for the unnamed statement).
    pub fn statement_name(&self) -> Result<&str> {
        self.reader().cstr("statement name")
    }

    /// The SQL text.
    pub fn query(&self) -> Result<&str> {
        let mut r = self.reader();
        r.cstr("statement name")?;
        r.cstr("query string")
    }

    /// Parameter type OIDs the client specified (0 = unspecified).
    pub fn param_types(&self) -> Result<ParamTypes<'_>> {
        let mut r = self.reader();
        r.cstr("statement name")?;
        r.cstr("query string")?;
        let n = r.count16("parameter type count")?;
        let raw = r.bytes(n * 4, "parameter types")?;
        r.finish()?;
        Ok(ParamTypes { raw })
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        self.param_types().map(drop)
    }
}

frame_message!(
    /// `B`: bind parameters to a prepared statement, creating a portal.
    Bind,
    b'B',
    "Bind"
);

/// Every field of a Bind message, borrowed from the frame.
#[derive(Debug, Clone)]
pub struct BindFields<'a> {
    /// Destination portal (`""` = unnamed).
    pub portal: &'a str,
    /// Source prepared statement (`""` = unnamed).
    pub statement: &'a str,
    /// Parameter format codes.
    pub param_formats: FormatCodes<'a>,
    /// Parameter values.
    pub params: Values<'a>,
    /// Result column format codes.
    pub result_formats: FormatCodes<'a>,
}

impl Bind {
    /// Parse and validate the whole message once.
    pub fn fields(&self) -> Result<BindFields<'_>> {
        let mut r = self.reader();
        let portal = r.cstr("portal name")?;
        let statement = r.cstr("statement name")?;
        let param_formats = FormatCodes::read(&mut r, "parameter formats")?;
        let params = Values::read(&mut r, "parameters")?;
        let result_formats = FormatCodes::read(&mut r, "result formats")?;
        r.finish()?;
        let nf = param_formats.len();
        if nf > 1 && nf != params.len() {
            return Err(r.invalid(
                "parameter formats",
                "count must be 0, 1 or the number of parameters",
            ));
        }
        Ok(BindFields {
            portal,
            statement,
            param_formats,
            params,
            result_formats,
        })
    }

    /// The destination portal name.
    pub fn portal(&self) -> Result<&str> {
        self.reader().cstr("portal name")
    }

    /// The source statement name.
    pub fn statement(&self) -> Result<&str> {
        let mut r = self.reader();
        r.cstr("portal name")?;
        r.cstr("statement name")
    }

    /// Parameter format codes.
    pub fn param_formats(&self) -> Result<FormatCodes<'_>> {
        Ok(self.fields()?.param_formats)
    }

    /// Parameter values, zero-copy (`None` = SQL NULL).
    pub fn params(&self) -> Result<Values<'_>> {
        Ok(self.fields()?.params)
    }

    /// Result column format codes.
    pub fn result_formats(&self) -> Result<FormatCodes<'_>> {
        Ok(self.fields()?.result_formats)
    }

    /// Check every field, format code values included.
    pub fn validate(&self) -> Result<()> {
        let f = self.fields()?;
        f.param_formats
            .check_values(Self::NAME, "parameter formats")?;
        f.result_formats.check_values(Self::NAME, "result formats")
    }
}

frame_message!(
    /// `D`: describe a statement or portal.
    Describe,
    b'D',
    "Describe"
);

impl Describe {
    /// Statement or portal, and its name.
    pub fn target(&self) -> Result<(Target, &str)> {
        let mut r = self.reader();
        let t = Target::read(&mut r)?;
        let name = r.cstr("name")?;
        r.finish()?;
        Ok((t, name))
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        self.target().map(drop)
    }
}

frame_message!(
    /// `E`: execute a portal.
    Execute,
    b'E',
    "Execute"
);

impl Execute {
    /// The portal name.
    pub fn portal(&self) -> Result<&str> {
        self.reader().cstr("portal name")
    }

    /// Row limit (0 = no limit).
    pub fn max_rows(&self) -> Result<i32> {
        let mut r = self.reader();
        r.cstr("portal name")?;
        let n = r.i32("max rows")?;
        r.finish()?;
        Ok(n)
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        self.max_rows().map(drop)
    }
}

frame_message!(
    /// `C`: close a statement or portal.
    Close,
    b'C',
    "Close"
);

impl Close {
    /// Statement or portal, and its name.
    pub fn target(&self) -> Result<(Target, &str)> {
        let mut r = self.reader();
        let t = Target::read(&mut r)?;
        let name = r.cstr("name")?;
        r.finish()?;
        Ok((t, name))
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        self.target().map(drop)
    }
}

frame_message!(
    /// `S`: end of an extended-query batch; the server answers ReadyForQuery.
    Sync,
    b'S',
    "Sync"
);

frame_message!(
    /// `H`: ask the server to flush its output.
    Flush,
    b'H',
    "Flush"
);
