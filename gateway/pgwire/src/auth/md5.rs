//! PostgreSQL's MD5 password scheme, for backends still configured with `md5` auth.
//!
//! The stored hash is `"md5" + hex(md5(password + user))`; the wire response to salt `s` is
//! `"md5" + hex(md5(hex(md5(password + user)) + s))`. MD5 is weak: prefer SCRAM wherever the
//! backend allows it.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// The hash PostgreSQL stores in `pg_authid.rolpassword`: `md5` + hex(md5(password + user)).
pub fn md5_stored_hash(user: &[u8], password: &[u8]) -> String {
    format!("md5{}", md5_hex(&[password, user]))
}

/// The PasswordMessage a client sends in answer to AuthenticationMD5Password with `salt`.
pub fn md5_password(user: &[u8], password: &[u8], salt: [u8; 4]) -> String {
    let inner = md5_hex(&[password, user]);
    format!("md5{}", md5_hex(&[inner.as_bytes(), &salt]))
}

/// Check a client's MD5 response against a stored `md5...` hash, in constant time.
pub fn md5_verify(stored_hash: &str, salt: [u8; 4], response: &[u8]) -> bool {
    let Some(inner) = stored_hash.strip_prefix("md5") else {
        return false;
    };
    let expected = format!("md5{}", md5_hex(&[inner.as_bytes(), &salt]));
    expected.as_bytes().ct_eq(response).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_postgres() {
        // SELECT 'md5' || md5('secret' || 'alice');
        assert_eq!(
            md5_stored_hash(b"alice", b"secret"),
            "md54a0a68b43b6cd5cf266fa02f196e2371"
        );
        let salt = [1, 2, 3, 4];
        let resp = md5_password(b"alice", b"secret", salt);
        // Python: 'md5' + md5(md5(b'secretalice').hexdigest().encode() + bytes([1,2,3,4]))
        assert_eq!(resp, "md598a0412b9c31436fc53776e863350083");
        assert!(md5_verify(
            &md5_stored_hash(b"alice", b"secret"),
            salt,
            resp.as_bytes()
        ));
        assert!(!md5_verify(
            &md5_stored_hash(b"alice", b"wrong"),
            salt,
            resp.as_bytes()
        ));
        assert!(!md5_verify("nomd5", salt, resp.as_bytes()));
    }
}
