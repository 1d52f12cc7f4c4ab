//! Password hashing: known answers (computed independently with Python's hashlib, see each
//! test), scramble → check round trips, and the RSA exchange.

use articdbm_mywire::auth::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn nonce() -> Vec<u8> {
    (1..=20).collect()
}

#[test]
fn native_verifier_matches_mysql_password_function() {
    // MySQL: SELECT PASSWORD('password') = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'.
    assert_eq!(
        native_verifier(b"password").to_vec(),
        unhex("2470c0c06dee42fd1618bb99005adca2ec9d1e19")
    );
}

#[test]
fn native_scramble_known_answer() {
    // python: s1=sha1; a=s1(b'password'); xor(a, s1(bytes(range(1,21)) + s1(a)))
    assert_eq!(
        native_scramble(b"password", &nonce()),
        unhex("c17d6009a5cb47e59f7483fcf05553bbbf7dd0d6")
    );
}

#[test]
fn sha2_known_answers() {
    // python: s2=sha256; s2(s2(b'password'))
    assert_eq!(
        sha2_verifier(b"password").to_vec(),
        unhex("73641c99f7719f57d8f4beb11a303afcd190243a51ced8782ca6d3dbe014d146")
    );
    // python: a=s2(b'password'); xor(a, s2(s2(a) + bytes(range(1,21))))
    assert_eq!(
        sha2_scramble(b"password", &nonce()),
        unhex("f7ab1c623a6e98dceab35e926290e5746a3141116115f4dd8ccca994393eccdd")
    );
}

#[test]
fn native_round_trip_and_rejections() {
    let n = new_nonce();
    let v = native_verifier(b"s3cret");
    assert!(native_check(&v, &n, &native_scramble(b"s3cret", &n)));
    // The NUL servers append to the scramble does not matter.
    let mut n_nul = n.to_vec();
    n_nul.push(0);
    assert!(native_check(
        &v,
        &n_nul,
        &native_scramble(b"s3cret", &n_nul)
    ));
    assert!(!native_check(&v, &n, &native_scramble(b"wrong", &n)));
    assert!(!native_check(
        &v,
        &new_nonce(),
        &native_scramble(b"s3cret", &n)
    ));
    assert!(!native_check(&v, &n, &[]));
    assert!(!native_check(&v, &n, &[0; 19]));
    assert!(native_scramble(b"", &n).is_empty());
    assert!(native_check(&native_verifier(b""), &n, &[]));
}

#[test]
fn sha2_round_trip_and_rejections() {
    let n = new_nonce();
    let v = sha2_verifier(b"s3cret");
    assert!(sha2_check(&v, &n, &sha2_scramble(b"s3cret", &n)));
    assert!(!sha2_check(&v, &n, &sha2_scramble(b"s3creT", &n)));
    assert!(!sha2_check(&v, &n, &[1; 31]));
    assert!(!sha2_check(&v, &n, &[]));
    assert!(sha2_check(&sha2_verifier(b""), &n, &[]));
    assert!(sha2_check(&sha2_verifier(b""), &n, &[0]));
    assert!(sha2_check_cleartext(&v, cleartext_password(b"s3cret\0")));
    assert!(!sha2_check_cleartext(&v, b"s3cret\0"));
}

#[test]
fn nonces_are_mysql_shaped_and_differ() {
    let a = new_nonce();
    assert!(a.iter().all(|&b| (1..=127).contains(&b) && b != b'$'));
    assert_ne!(a, new_nonce());
}

/// A 1024-bit test key (openssl genpkey), small so the debug-build test stays fast.
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBALX7oO3qU44YQc1b
8/XBbaveYiK8mUD5f62Jeq8haSmtBszdMuhkmwjSSrQqzaQte0ma4PeevALdfuI5
4OxuySHPGDTKtgpUfBwNuaoGqgmyr9oXVJrGkDcS8xzkU9kWotlQmtCXRnyGa9He
bZHPl8exwthTtkXXulkyOpGIfi6vAgMBAAECgYEAszm+pJHC+I6rP7Tv73kwqbO6
srtLs9IFDMP5L8GX8JOXvuua14U9qtJxAD+nh6nDYhpGtZh/UdMSw3p9Kl1xd0+f
i/W0ZrDtYnW1V41tmZVCZ7mP7/rs8b2zUdow6HQLosx5ViSQOSJCdvOqrDoUfoDU
8XgnP0FJp3bGT439PwECQQDs6tHo47fh0DrKkYnAbxDqBPSIcT9Pv5HwyMyARTst
5k89+0XFUiRuMuXg+gyMDqD5OquXpL2IB/PKnQHEErwrAkEAxKQTN99ow9JCmT3n
ZxUfGks1ydAHBLmfQLu0OWaQDhk6ZcWbtX+2c16EdiWXZQpCbpYwvoJFxVFERtCv
i0EhjQJAO3AmPaFz7qlJNq0QvEChI7UejGStF5reSGR4Oe4kjL1tQAWcWYbkMOmA
FtNk9nZtGFoJ1r+z9T7ZgQmm+cQhhQJAXoqYJtPF1ehAVtb5a4kvJAAnAzl+Nlpc
Y84bL0HNXsnoVsf0PgYCHWPDAd6+9DhDilGxa9bMXrrcvcNVsvkEfQJAXkRtacfE
Xe/NU2p844TwR2by/lhLvcJnj4iPyby549N9rvHjjyaE3rHee2N7ECthMOlCPZO0
a5+TF5X6fpda0Q==
-----END PRIVATE KEY-----
";

#[test]
fn rsa_exchange_round_trips() {
    use rsa::pkcs8::DecodePrivateKey;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(TEST_KEY).unwrap();
    let pem = public_key_pem(&key.to_public_key()).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let n = new_nonce();
    let ct = rsa_encrypt_password(&pem, b"hunter2", &n).unwrap();
    assert_eq!(ct.len(), 128);
    assert_eq!(rsa_decrypt_password(&key, &ct, &n).unwrap(), b"hunter2");
    // A server sends the PEM NUL-terminated; that is accepted.
    let ct = rsa_encrypt_password(&format!("{pem}\0"), b"", &n).unwrap();
    assert_eq!(rsa_decrypt_password(&key, &ct, &n).unwrap(), b"");
    // A wrong nonce yields another password, which the verifier check then refuses.
    let ct = rsa_encrypt_password(&pem, b"hunter2", &n).unwrap();
    let other = rsa_decrypt_password(&key, &ct, &new_nonce()).unwrap();
    assert!(!sha2_check_cleartext(&sha2_verifier(b"hunter2"), &other));
    assert!(rsa_decrypt_password(&key, &ct[1..], &n).is_err());
    assert!(rsa_encrypt_password("not a key", b"x", &n).is_err());
    assert!(rsa_encrypt_password(&pem, b"x", &[]).is_err());
    assert!(rsa_encrypt_password(&pem, &[b'x'; 200], &n).is_err());
    // PKCS#1 PEM is accepted too.
    use rsa::pkcs1::EncodeRsaPublicKey;
    let pkcs1 = key
        .to_public_key()
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let ct = rsa_encrypt_password(&pkcs1, b"pw", &n).unwrap();
    assert_eq!(rsa_decrypt_password(&key, &ct, &n).unwrap(), b"pw");
}
