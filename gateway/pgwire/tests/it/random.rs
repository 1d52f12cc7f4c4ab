//! Property-style robustness: random and mutated bytes fed to every decoder and to both SCRAM
//! sides must produce values or errors, never panics. Deterministic (xorshift), fast.

use articdbm_pgwire::auth::scram::{ScramClient, ScramServer, ScramVerifier};
use articdbm_pgwire::fuzzing;

const ITERATIONS: usize = 50_000;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Random bytes, or a fixture with a few bytes flipped, inserted or removed.
    fn input(&mut self, fixtures: &[Vec<u8>], max: usize) -> Vec<u8> {
        if fixtures.is_empty() || self.below(3) == 0 {
            return self.bytes(max);
        }
        let mut v = fixtures[self.below(fixtures.len())].clone();
        for _ in 0..=self.below(4) {
            match self.below(3) {
                0 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] = self.next() as u8;
                }
                1 => {
                    let i = self.below(v.len() + 1);
                    v.insert(i, self.next() as u8);
                }
                _ if !v.is_empty() => {
                    let i = self.below(v.len());
                    v.remove(i);
                }
                _ => {}
            }
        }
        v
    }
}

// The decoders are driven through the fuzz targets' bodies (`articdbm_pgwire::fuzzing`), so
// this test, the corpus replay (`fuzz_corpus.rs`) and libFuzzer exercise the same accessors and
// check the same invariants.

#[test]
fn frontend_decoder_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let fixtures = crate::frontend::all_fixtures();
    for _ in 0..ITERATIONS {
        fuzzing::frontend_decoder(&rng.input(&fixtures, 64));
    }
}

#[test]
fn startup_decoder_never_panics() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let v3 = |b: &[u8]| crate::util::startup(&[&196_608i32.to_be_bytes()[..], b].concat());
    let fixtures = vec![
        v3(b"user\0a\0database\0b\0\0"),
        vec![0, 0, 0, 8, 4, 210, 22, 47],
        vec![0, 0, 0, 16, 4, 210, 22, 46, 0, 0, 0, 1, 1, 2, 3, 4],
    ];
    for _ in 0..ITERATIONS {
        fuzzing::startup_packet(&rng.input(&fixtures, 48));
    }
}

#[test]
fn backend_decoder_never_panics() {
    let mut rng = XorShift(0x0dd_ba11_cafe_f00d);
    let fixtures = crate::backend::all_fixtures();
    for _ in 0..ITERATIONS {
        fuzzing::backend_decoder(&rng.input(&fixtures, 64));
    }
}

#[test]
fn scram_never_panics() {
    let mut rng = XorShift(0xfeed_face_dead_beef);
    let verifier = ScramVerifier::from_password(b"pw", b"salt", 1);
    let firsts = vec![
        b"n,,n=,r=abcdef".to_vec(),
        b"y,,n=user,r=abcdef,x=1".to_vec(),
    ];
    let server_firsts = vec![b"r=CLIENTNONCEabc,s=c2FsdA==,i=1".to_vec()];
    for i in 0..ITERATIONS {
        let input = rng.input(&firsts, 64);
        match ScramServer::new(verifier.clone()).handle_client_first(&input) {
            Ok(ch) => {
                let nonce = std::str::from_utf8(ch.server_first())
                    .ok()
                    .and_then(|s| s.strip_prefix("r="))
                    .and_then(|s| s.split(',').next())
                    .unwrap_or("")
                    .to_owned();
                let finals =
                    vec![format!("c=biws,r={nonce},p={}", "A".repeat(43) + "=").into_bytes()];
                let _ = ch.handle_client_final(&rng.input(&finals, 96));
            }
            Err(e) => {
                let _ = (e.sqlstate(), e.to_string_client());
            }
        }
        if i % 4 == 0 {
            let mut sf = rng.input(&server_firsts, 64);
            // Keep iteration counts small so a mutated "i=" cannot make the test slow.
            let client = ScramClient::new(b"pw").unwrap().with_max_iterations(8);
            if rng.below(2) == 0 {
                let first = client.client_first().to_vec();
                let nonce = &first[8..];
                sf = [b"r=".as_slice(), nonce, b"x,s=c2FsdA==,i=", &sf].concat();
            }
            if let Ok(fin) = client.handle_server_first(&sf) {
                let _ = fin.verify_server_final(&rng.bytes(64));
            }
        }
        if i % 8 == 0 {
            let _ = ScramVerifier::parse(&String::from_utf8_lossy(&rng.bytes(120)));
        }
    }
}
