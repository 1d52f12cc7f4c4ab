//! COPY sub-protocol messages sent by the client: CopyData, CopyDone and CopyFail.

use bytes::Bytes;

use super::{frame_message, sole_cstr};
use crate::error::Result;
use crate::frame::HEADER_LEN;

frame_message!(
    /// `d`: a chunk of COPY data.
    CopyData,
    b'd',
    "CopyData"
);

impl CopyData {
    /// The data, borrowed.
    pub fn data(&self) -> &[u8] {
        self.body()
    }

    /// The data as a zero-copy slice of the frame.
    pub fn data_bytes(&self) -> Bytes {
        if self.frame.len() >= HEADER_LEN {
            self.frame.slice(HEADER_LEN..)
        } else {
            Bytes::new()
        }
    }
}

frame_message!(
    /// `c`: the client finished sending COPY data.
    CopyDone,
    b'c',
    "CopyDone"
);

frame_message!(
    /// `f`: the client aborts a COPY FROM STDIN.
    CopyFail,
    b'f',
    "CopyFail"
);

impl CopyFail {
    /// The reason the client gave.
    pub fn message(&self) -> Result<&str> {
        sole_cstr(self.reader(), "error message")
    }
}
