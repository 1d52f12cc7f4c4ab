//! Framing: join and split at exactly 0xffffff, sequence checks, the bound, Ok(None).

use articdbm_mywire::*;
use bytes::BytesMut;
use proptest::prelude::*;

use crate::util::{cat, frame};

#[test]
fn single_packet_and_next_seq() {
    let mut buf = BytesMut::from(&cat(&[&frame(3, 7, b"abc"), b"\x01"])[..]);
    let p = PacketDecoder::new(100).decode(&mut buf).unwrap().unwrap();
    assert_eq!((p.seq, p.next_seq, &p.payload[..]), (7, 8, &b"abc"[..]));
    assert_eq!(&buf[..], b"\x01");
    let mut wrap = BytesMut::from(&frame(0, 255, b"")[..]);
    let p = PacketDecoder::new(100).decode(&mut wrap).unwrap().unwrap();
    assert_eq!((p.seq, p.next_seq, p.payload.len()), (255, 0, 0));
}

#[test]
fn need_more_leaves_buffer_untouched() {
    let whole = cat(&[&frame(4, 0, b"abcd")]);
    for cut in 0..whole.len() {
        let mut buf = BytesMut::from(&whole[..cut]);
        assert_eq!(PacketDecoder::new(100).decode(&mut buf), Ok(None));
        assert_eq!(&buf[..], &whole[..cut]);
    }
}

#[test]
fn exact_multiple_of_max_payload_splits_and_joins() {
    for len in [
        MAX_PAYLOAD - 1,
        MAX_PAYLOAD,
        MAX_PAYLOAD + 1,
        2 * MAX_PAYLOAD,
    ] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut out = BytesMut::new();
        let next = write_packet(&mut out, 254, &payload);
        let physical = len / MAX_PAYLOAD + 1;
        assert_eq!(next, 254u8.wrapping_add(physical as u8), "len {len}");
        assert_eq!(out.len(), len + 4 * physical);
        if len % MAX_PAYLOAD == 0 {
            // The trailing empty packet.
            assert_eq!(&out[out.len() - 4..], &[0, 0, 0, next.wrapping_sub(1)]);
        }
        // Incomplete at every physical boundary.
        let mut head = BytesMut::from(&out[..out.len() - 1]);
        assert_eq!(
            PacketDecoder::new(3 * MAX_PAYLOAD).decode(&mut head),
            Ok(None)
        );
        assert_eq!(head.len(), out.len() - 1);
        let p = PacketDecoder::new(3 * MAX_PAYLOAD)
            .decode(&mut out)
            .unwrap()
            .unwrap();
        assert_eq!((p.seq, p.next_seq), (254, next));
        assert!(p.payload[..] == payload[..]);
        assert!(out.is_empty());
    }
}

#[test]
fn begin_finish_packet_matches_write_packet() {
    for len in [0, 10, MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 5] {
        let payload = vec![0xab; len];
        let mut a = BytesMut::from(&b"xx"[..]);
        let mark = begin_packet(&mut a);
        a.extend_from_slice(&payload);
        let na = finish_packet(&mut a, mark, 3);
        let mut b = BytesMut::from(&b"xx"[..]);
        let nb = write_packet(&mut b, 3, &payload);
        assert_eq!(na, nb);
        assert!(a == b, "len {len}");
    }
}

#[test]
fn continuation_sequence_must_increase() {
    let mut buf = BytesMut::from(&cat(&[&frame(MAX_PAYLOAD, 1, b"")])[..]);
    buf.extend_from_slice(&vec![0; MAX_PAYLOAD]);
    buf.extend_from_slice(&frame(1, 3, b"x"));
    let err = PacketDecoder::new(1 << 25).decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::SequenceMismatch {
            expected: 2,
            got: 3
        }
    );
}

#[test]
fn oversize_refused_from_the_header() {
    let mut buf = BytesMut::from(&frame(101, 0, b"")[..]);
    let err = PacketDecoder::new(100).decode(&mut buf).unwrap_err();
    assert!(matches!(
        err,
        ProtocolError::PacketTooLarge {
            len: 101,
            max: 100,
            ..
        }
    ));
    assert_eq!(err.error_code(), 1153);
    // Joined length counts: two physical packets together over the bound.
    let mut dec = PacketDecoder::new(MAX_PAYLOAD + 10);
    let mut buf = BytesMut::from(&frame(MAX_PAYLOAD, 0, b"")[..]);
    buf.extend_from_slice(&vec![0; MAX_PAYLOAD]);
    buf.extend_from_slice(&frame(11, 1, b""));
    assert!(matches!(
        dec.decode(&mut buf),
        Err(ProtocolError::PacketTooLarge { .. })
    ));
    dec.set_max(MAX_PAYLOAD + 11);
    assert_eq!(dec.max(), MAX_PAYLOAD + 11);
    assert_eq!(dec.decode(&mut buf), Ok(None));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(7), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn framing_round_trips(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..5), seq in any::<u8>(), split in 0usize..2000) {
        let mut wire = BytesMut::new();
        let mut s = seq;
        for p in &payloads {
            s = write_packet(&mut wire, s, p);
        }
        let split = split.min(wire.len());
        let mut buf = BytesMut::from(&wire[..split]);
        let mut dec = PacketDecoder::new(1000);
        let mut got = Vec::new();
        let mut rest = &wire[split..];
        loop {
            match dec.decode(&mut buf).unwrap() {
                Some(p) => got.push(p.payload.to_vec()),
                None if !rest.is_empty() => { buf.extend_from_slice(rest); rest = &[]; }
                None => break,
            }
        }
        prop_assert_eq!(got, payloads);
    }
}
