//! Row messages: RowDescription, DataRow and ParameterDescription, iterated without copying.

use crate::error::Result;
use crate::frontend::Values;
use crate::reader::Reader;

/// One column of a RowDescription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDescription<'a> {
    /// Column name.
    pub name: &'a str,
    /// OID of the source table, or 0.
    pub table_oid: u32,
    /// Attribute number in the source table, or 0.
    pub column_id: i16,
    /// OID of the data type.
    pub type_oid: u32,
    /// Type size (negative = variable width).
    pub type_size: i16,
    /// Type modifier.
    pub type_modifier: i32,
    /// Format code: 0 text, 1 binary.
    pub format: i16,
}

/// The columns of a RowDescription (validated on creation).
#[derive(Debug, Clone)]
pub struct RowDescription<'a> {
    raw: &'a [u8],
    len: usize,
}

fn read_field<'a>(r: &mut Reader<'a>) -> Result<FieldDescription<'a>> {
    Ok(FieldDescription {
        name: r.cstr("column name")?,
        table_oid: r.u32("table oid")?,
        column_id: r.i16("column number")?,
        type_oid: r.u32("type oid")?,
        type_size: r.i16("type size")?,
        type_modifier: r.i32("type modifier")?,
        format: r.i16("format code")?,
    })
}

impl<'a> RowDescription<'a> {
    pub(crate) fn parse(mut r: Reader<'a>) -> Result<Self> {
        let len = r.count16("column count")?;
        let raw = r.rest();
        for _ in 0..len {
            read_field(&mut r)?;
        }
        r.finish()?;
        Ok(Self { raw, len })
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The columns in order.
    pub fn iter(&self) -> Columns<'a> {
        Columns {
            r: Reader::new(self.raw, "RowDescription"),
            left: self.len,
        }
    }
}

/// Iterator over the columns of a [`RowDescription`].
#[derive(Debug, Clone)]
pub struct Columns<'a> {
    r: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for Columns<'a> {
    type Item = FieldDescription<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Validated in `RowDescription::parse`: reads cannot fail; stop rather than panic.
        read_field(&mut self.r).ok()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}
impl ExactSizeIterator for Columns<'_> {}

/// The values of a DataRow (`None` = NULL), validated on creation.
#[derive(Debug, Clone)]
pub struct DataRow<'a> {
    values: Values<'a>,
}

impl<'a> DataRow<'a> {
    pub(crate) fn parse(mut r: Reader<'a>) -> Result<Self> {
        let values = Values::read(&mut r, "column values")?;
        r.finish()?;
        Ok(Self { values })
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.len() == 0
    }

    /// The values in order.
    pub fn iter(&self) -> Values<'a> {
        self.values.clone()
    }
}

/// A list of type OIDs (ParameterDescription).
#[derive(Debug, Clone)]
pub struct OidList<'a> {
    raw: &'a [u8],
}

impl<'a> OidList<'a> {
    pub(crate) fn parse(mut r: Reader<'a>) -> Result<Self> {
        let n = r.count16("parameter count")?;
        let raw = r.bytes(n * 4, "parameter types")?;
        r.finish()?;
        Ok(Self { raw })
    }
}

impl Iterator for OidList<'_> {
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
impl ExactSizeIterator for OidList<'_> {}
