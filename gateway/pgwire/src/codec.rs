//! `tokio_util::codec` wrappers around the pure decoders (feature `codec`).
//!
//! The encoder side passes raw frames through: build them with [`crate::frontend::encode`] or
//! [`crate::backend::encode`], or forward a decoded message's `frame()`.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    BackendDecoder, BackendMessage, FrontendDecoder, FrontendMessage, ProtocolError,
    StartupDecoder, StartupPacket,
};

/// Codec errors: protocol violations or I/O failures of the underlying stream.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer broke the protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

macro_rules! codec {
    ($dec:ty, $item:ty) => {
        impl Decoder for $dec {
            type Item = $item;
            type Error = CodecError;
            fn decode(&mut self, src: &mut BytesMut) -> Result<Option<$item>, CodecError> {
                Ok(<$dec>::decode(self, src)?)
            }
        }

        impl Encoder<Bytes> for $dec {
            type Error = CodecError;
            fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
                dst.extend_from_slice(&item);
                Ok(())
            }
        }
    };
}

codec!(StartupDecoder, StartupPacket);
codec!(FrontendDecoder, FrontendMessage);
codec!(BackendDecoder, BackendMessage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_decodes_and_passes_frames_through() {
        let mut wire = BytesMut::new();
        crate::frontend::encode::query(&mut wire, "SELECT 1").unwrap();
        let copy = wire.clone().freeze();
        let mut codec = FrontendDecoder::new();
        let msg = Decoder::decode(&mut codec, &mut wire).unwrap().unwrap();
        let mut out = BytesMut::new();
        Encoder::encode(&mut codec, msg.frame().clone(), &mut out).unwrap();
        assert_eq!(out.freeze(), copy);
        let mut bad = BytesMut::from(&b"?"[..]);
        assert!(matches!(
            Decoder::decode(&mut codec, &mut bad),
            Err(CodecError::Protocol(_))
        ));
    }
}
