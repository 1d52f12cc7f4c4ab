//! Password authentication: `mysql_native_password` and `caching_sha2_password` (fast path,
//! cleartext over TLS, and the RSA-encrypted full exchange), both client and server sides.
//!
//! Verifiers are what a server stores: `SHA1(SHA1(pw))` and `SHA256(SHA256(pw))`. Nonces
//! (scrambles) are 20 bytes; longer nonces are cut to 20 bytes, as MySQL does (servers append
//! a NUL to the scramble they send).

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ProtocolError, Result};

/// Length of a scramble.
pub const NONCE_LEN: usize = 20;

/// caching_sha2_password: the client asks for the server's RSA public key.
pub const SHA2_REQUEST_PUBLIC_KEY: u8 = 0x02;
/// caching_sha2_password: the fast path succeeded (sent as auth-more-data, then OK).
pub const SHA2_FAST_AUTH_SUCCESS: u8 = 0x03;
/// caching_sha2_password: full authentication needed (cleartext over TLS, or RSA).
pub const SHA2_PERFORM_FULL_AUTH: u8 = 0x04;

/// A random scramble: 20 bytes in `1..=127`, never NUL or `'$'`, as MySQL generates them.
///
/// # Panics
///
/// If the operating system's random source fails (see [`try_new_nonce`]).
pub fn new_nonce() -> [u8; NONCE_LEN] {
    match try_new_nonce() {
        Ok(n) => n,
        Err(_) => panic!("the OS random source failed"),
    }
}

/// [`new_nonce`], reporting a failing random source as an error.
pub fn try_new_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut out = [0u8; NONCE_LEN];
    let mut filled = 0;
    let mut pool = [0u8; 64];
    while filled < NONCE_LEN {
        getrandom::fill(&mut pool).map_err(|_| ProtocolError::Random)?;
        for b in pool.iter().map(|b| b & 0x7f) {
            if b != 0 && b != b'$' && filled < NONCE_LEN {
                out[filled] = b;
                filled += 1;
            }
        }
    }
    Ok(out)
}

fn nonce20(nonce: &[u8]) -> &[u8] {
    &nonce[..nonce.len().min(NONCE_LEN)]
}

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn xor<const N: usize>(a: &[u8; N], b: &[u8; N]) -> [u8; N] {
    let mut out = [0u8; N];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

/// The `mysql_native_password` verifier: `SHA1(SHA1(password))` (the hex after `*` in
/// `mysql.user.authentication_string`).
pub fn native_verifier(password: &[u8]) -> [u8; 20] {
    sha1(&[&sha1(&[password])])
}

/// The client's `mysql_native_password` answer:
/// `SHA1(pw) XOR SHA1(nonce || SHA1(SHA1(pw)))`; an empty password answers nothing.
pub fn native_scramble(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = sha1(&[password]);
    let stage2 = sha1(&[&stage1]);
    xor(&stage1, &sha1(&[nonce20(nonce), &stage2])).to_vec()
}

/// Checks a `mysql_native_password` answer against a verifier, in constant time. An empty
/// answer matches only the verifier of the empty password.
pub fn native_check(verifier: &[u8; 20], nonce: &[u8], response: &[u8]) -> bool {
    if response.is_empty() {
        return bool::from(verifier.ct_eq(&native_verifier(b"")));
    }
    let Ok(response) = <[u8; 20]>::try_from(response) else {
        return false;
    };
    let stage1 = xor(&response, &sha1(&[nonce20(nonce), verifier]));
    bool::from(sha1(&[&stage1]).ct_eq(verifier))
}

/// The `caching_sha2_password` fast-path verifier: `SHA256(SHA256(password))`.
/// Length of the nonce MariaDB's ed25519 plugin sends.
pub const ED25519_NONCE_LEN: usize = 32;

/// MariaDB's `client_ed25519` response: the Ed25519 signature (R ‖ S, 64 bytes) of the
/// server's nonce, with the key MariaDB derives from the password itself: SHA-512 of the
/// password is the expanded secret key (scalar from its clamped first half, nonce prefix the
/// second), as MariaDB's ref10 `crypto_sign(…, pw, pwlen)` does. The public key is what the
/// server stored (`PASSWORD('…')` of the ed25519 plugin).
pub fn ed25519_sign(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::Sha512;
    let (a, az) = ed25519_secret(password);
    let public = EdwardsPoint::mul_base(&a).compress();
    let r: [u8; 64] = Sha512::new()
        .chain_update(&az[32..])
        .chain_update(nonce)
        .finalize()
        .into();
    let r = Scalar::from_bytes_mod_order_wide(&r);
    let big_r = EdwardsPoint::mul_base(&r).compress();
    let k: [u8; 64] = Sha512::new()
        .chain_update(big_r.as_bytes())
        .chain_update(public.as_bytes())
        .chain_update(nonce)
        .finalize()
        .into();
    let s = Scalar::from_bytes_mod_order_wide(&k) * a + r;
    let mut sig = Vec::with_capacity(64);
    sig.extend_from_slice(big_r.as_bytes());
    sig.extend_from_slice(s.as_bytes());
    sig
}

/// MariaDB's ed25519 secret from a password: the clamped scalar of SHA-512(password)'s first
/// half, and the whole hash (its second half is the signing nonce's prefix).
fn ed25519_secret(password: &[u8]) -> (curve25519_dalek::Scalar, [u8; 64]) {
    use sha2::Sha512;
    let az: [u8; 64] = Sha512::digest(password).into();
    let mut a = [0u8; 32];
    a.copy_from_slice(&az[..32]);
    a[0] &= 248;
    a[31] &= 63;
    a[31] |= 64;
    (curve25519_dalek::Scalar::from_bytes_mod_order(a), az)
}

pub fn sha2_verifier(password: &[u8]) -> [u8; 32] {
    sha256(&[&sha256(&[password])])
}

/// The client's `caching_sha2_password` fast-path answer:
/// `SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || nonce)`; an empty password answers nothing.
pub fn sha2_scramble(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let stage1 = sha256(&[password]);
    let stage2 = sha256(&[&stage1]);
    xor(&stage1, &sha256(&[&stage2, nonce20(nonce)])).to_vec()
}

/// Checks a `caching_sha2_password` fast-path answer against a verifier, in constant time.
/// An empty answer (or a lone NUL, which some clients send) matches only the verifier of the
/// empty password.
pub fn sha2_check(verifier: &[u8; 32], nonce: &[u8], response: &[u8]) -> bool {
    if response.is_empty() || response == [0] {
        return bool::from(verifier.ct_eq(&sha2_verifier(b"")));
    }
    let Ok(response) = <[u8; 32]>::try_from(response) else {
        return false;
    };
    let stage1 = xor(&response, &sha256(&[verifier, nonce20(nonce)]));
    bool::from(sha256(&[&stage1]).ct_eq(verifier))
}

/// Checks a cleartext password (full authentication over TLS, or after RSA decryption)
/// against a verifier, in constant time. See [`cleartext_password`] for the wire form.
pub fn sha2_check_cleartext(verifier: &[u8; 32], password: &[u8]) -> bool {
    bool::from(sha2_verifier(password).ct_eq(verifier))
}

/// The password in a cleartext auth packet: clients send it NUL-terminated; the NUL is
/// removed.
pub fn cleartext_password(data: &[u8]) -> &[u8] {
    match data.split_last() {
        Some((0, head)) => head,
        _ => data,
    }
}

/// `password || NUL`, XORed with the nonce repeated.
fn xor_with_nonce(data: &mut [u8], nonce: &[u8]) {
    for (b, n) in data.iter_mut().zip(nonce.iter().cycle()) {
        *b ^= n;
    }
}

/// The OS random source behind `rsa`'s `rand_core` 0.6 traits.
struct OsRng;

impl RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The callers checked the source moments before; a failure now cannot be reported
        // through rand_core 0.6's infallible interface.
        if self.try_fill_bytes(dest).is_err() {
            panic!("the OS random source failed");
        }
    }
    fn try_fill_bytes(
        &mut self,
        dest: &mut [u8],
    ) -> std::result::Result<(), rsa::rand_core::Error> {
        getrandom::fill(dest).map_err(|_| {
            let code = std::num::NonZeroU32::new(rsa::rand_core::Error::CUSTOM_START)
                .unwrap_or(std::num::NonZeroU32::MAX);
            rsa::rand_core::Error::from(code)
        })
    }
}

impl CryptoRng for OsRng {}

fn check_random() -> Result<()> {
    getrandom::fill(&mut [0u8; 1]).map_err(|_| ProtocolError::Random)
}

fn crypto(reason: &'static str) -> ProtocolError {
    ProtocolError::Crypto { reason }
}

/// Parses a PEM RSA public key as servers send it (`BEGIN PUBLIC KEY`, SubjectPublicKeyInfo)
/// or in PKCS#1 form (`BEGIN RSA PUBLIC KEY`).
pub fn parse_public_key_pem(pem: &str) -> Result<RsaPublicKey> {
    let pem = pem.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| crypto("invalid RSA public key"))
}

/// A new RSA key pair for the server side of the full exchange (`bits`: 2048 is what MySQL
/// generates). Slow (a second or more in an unoptimised build): call it off the async
/// workers, once.
pub fn generate_rsa_key(bits: usize) -> Result<RsaPrivateKey> {
    check_random()?;
    RsaPrivateKey::new(&mut OsRng, bits).map_err(|_| crypto("cannot generate an RSA key"))
}

/// The PEM (`BEGIN PUBLIC KEY`) a server sends when a client requests its public key.
pub fn public_key_pem(key: &RsaPublicKey) -> Result<String> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|_| crypto("cannot encode the RSA public key"))
}

/// The client side of the RSA full exchange (`caching_sha2_password` and `sha256_password`
/// without TLS): `(password || NUL) XOR nonce` (repeated), encrypted with RSA-OAEP (SHA-1),
/// as MySQL 8 does.
pub fn rsa_encrypt_password(
    public_key_pem: &str,
    password: &[u8],
    nonce: &[u8],
) -> Result<Vec<u8>> {
    let nonce = nonce20(nonce);
    if nonce.is_empty() {
        return Err(crypto("empty nonce"));
    }
    let key = parse_public_key_pem(public_key_pem)?;
    let mut plain = Vec::with_capacity(password.len() + 1);
    plain.extend_from_slice(password);
    plain.push(0);
    xor_with_nonce(&mut plain, nonce);
    check_random()?;
    key.encrypt(&mut OsRng, Oaep::new::<Sha1>(), &plain)
        .map_err(|_| crypto("password too long for the RSA key"))
}

/// The server side of the RSA full exchange: decrypts (RSA-OAEP with SHA-1, blinded), XORs
/// with the nonce and removes the trailing NUL. Returns the cleartext password.
pub fn rsa_decrypt_password(
    private_key: &RsaPrivateKey,
    data: &[u8],
    nonce: &[u8],
) -> Result<Vec<u8>> {
    let nonce = nonce20(nonce);
    if nonce.is_empty() {
        return Err(crypto("empty nonce"));
    }
    check_random()?;
    let mut plain = private_key
        .decrypt_blinded(&mut OsRng, Oaep::new::<Sha1>(), data)
        .map_err(|_| crypto("cannot decrypt the password"))?;
    xor_with_nonce(&mut plain, nonce);
    if plain.last() == Some(&0) {
        plain.pop();
    }
    Ok(plain)
}

#[cfg(test)]
mod ed25519_tests {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::{Digest, Sha512};

    /// The public key MariaDB stores for a password (`PASSWORD('…')` of the ed25519
    /// plugin), derived as `ed25519_sign` derives its key.
    fn public_key(password: &[u8]) -> [u8; 32] {
        EdwardsPoint::mul_base(&super::ed25519_secret(password).0)
            .compress()
            .to_bytes()
    }

    #[test]
    fn the_key_is_mariadbs_and_signatures_verify() {
        use base64::Engine;
        // MariaDB's own test vector: ed25519_password('foo').
        let pk = public_key(b"foo");
        assert_eq!(
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(pk),
            "vubFBzIrapbfHct1/J72dnUryz5VS7lA6XHH8sIx4TI"
        );
        for nonce in [[7u8; 32], [0u8; 32], [255u8; 32]] {
            let sig = super::ed25519_sign(b"foo", &nonce);
            assert_eq!(sig.len(), 64);
            // S·B = R + H(R ‖ A ‖ M)·A
            let r = CompressedEdwardsY(sig[..32].try_into().unwrap())
                .decompress()
                .unwrap();
            let s = Scalar::from_canonical_bytes(sig[32..].try_into().unwrap()).unwrap();
            let k: [u8; 64] = Sha512::new()
                .chain_update(&sig[..32])
                .chain_update(pk)
                .chain_update(nonce)
                .finalize()
                .into();
            let a = CompressedEdwardsY(pk).decompress().unwrap();
            let lhs = EdwardsPoint::mul_base(&s);
            assert_eq!(lhs, r + Scalar::from_bytes_mod_order_wide(&k) * a);
            // Another message does not verify.
            let k2: [u8; 64] = Sha512::new()
                .chain_update(&sig[..32])
                .chain_update(pk)
                .chain_update([1u8; 32])
                .finalize()
                .into();
            assert_ne!(lhs, r + Scalar::from_bytes_mod_order_wide(&k2) * a);
        }
    }
}
