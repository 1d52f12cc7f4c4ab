//! Simple-query messages: Query (`Q`) and Terminate (`X`).

use super::{frame_message, sole_cstr};
use crate::error::Result;

frame_message!(
    /// `Q`: a simple query, one string that may hold several statements.
    Query,
    b'Q',
    "Query"
);

impl Query {
    /// The SQL text.
    pub fn sql(&self) -> Result<&str> {
        sole_cstr(self.reader(), "query string")
    }
}

frame_message!(
    /// `X`: the client closes the connection.
    Terminate,
    b'X',
    "Terminate"
);
