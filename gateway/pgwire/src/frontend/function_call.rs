//! The fast-path FunctionCall message (`F`).

use super::frame_message;
use super::{FormatCodes, Values};
use crate::error::Result;

frame_message!(
    /// `F`: call a function by OID (the legacy fast-path interface).
    FunctionCall,
    b'F',
    "FunctionCall"
);

/// Every field of a FunctionCall, borrowed from the frame.
#[derive(Debug, Clone)]
pub struct FunctionCallFields<'a> {
    /// OID of the function.
    pub function_oid: u32,
    /// Argument format codes.
    pub arg_formats: FormatCodes<'a>,
    /// Argument values (`None` = NULL).
    pub args: Values<'a>,
    /// Result format code.
    pub result_format: i16,
}

impl FunctionCall {
    /// Parse and validate the whole message.
    pub fn fields(&self) -> Result<FunctionCallFields<'_>> {
        let mut r = self.reader();
        let function_oid = r.u32("function oid")?;
        let arg_formats = FormatCodes::read(&mut r, "argument formats")?;
        let args = Values::read(&mut r, "arguments")?;
        let result_format = r.i16("result format")?;
        r.finish()?;
        Ok(FunctionCallFields {
            function_oid,
            arg_formats,
            args,
            result_format,
        })
    }

    /// The OID of the function called.
    pub fn function_oid(&self) -> Result<u32> {
        self.reader().u32("function oid")
    }

    /// Check every field.
    pub fn validate(&self) -> Result<()> {
        self.fields().map(drop)
    }
}
