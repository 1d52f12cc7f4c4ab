//! Secrets at rest: the fields of stored resources that hold a credential (a database's
//! `server_password`, a feed's password or token) are sealed with AES-256-GCM before they reach
//! the store, and opened again when read. Everything above [`crate::store::Store`] sees them in
//! clear; the store file or database, and every backup of it, holds only ciphertext.
//!
//! A sealed value is `enc:v1:KEYID:BASE64`, where `KEYID` names the key (8 hex digits of a
//! hash of it, never the key) and `BASE64` (URL-safe, unpadded) is the 12-byte random nonce
//! followed by the ciphertext and its tag. The associated data is the value's place: resource
//! kind, tenant, name and field. A value copied into another row or field does not open.
//!
//! The key is 32 bytes, written as 64 hex digits or in base64. See docs/SECURITY.md ("Secrets at
//! rest") for where it comes from and how it is rotated.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The prefix of every sealed value (format version 1).
pub const PREFIX: &str = "enc:v1:";
/// The key file generated beside an embedded store when no key is given.
pub const DEFAULT_KEY_FILE: &str = "secret.key";
/// Bytes of a key.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The fields of each resource kind that hold secrets, as JSON pointers into the body.
pub fn secret_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "database" => &["/server_password"],
        "feed" => &[
            "/auth/password",
            "/auth/token",
            "/taxii/auth/password",
            "/taxii/auth/token",
        ],
        _ => &[],
    }
}

/// Resource kinds that have secret fields.
pub const SECRET_KINDS: &[&str] = &["database", "feed"];

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key material itself (file, environment variable) is unusable.
    #[error("{0}")]
    Key(String),
    #[error(
        "{place}: sealed with secret key {sealed_with}, which is not the key given ({given}); \
         start the manager with the key this store was sealed with (every replica sharing a \
         store needs the same key), or give the previous key with --old-secret-key-file while \
         rotating"
    )]
    UnknownKey {
        place: String,
        sealed_with: String,
        given: String,
    },
    #[error(
        "{place}: does not open with secret key {key_id}: the stored value was altered, or moved \
         from another row"
    )]
    Corrupt { place: String, key_id: String },
    #[error("{place}: '{PREFIX}…' value is malformed")]
    Malformed { place: String },
}

/// One AES-256-GCM key and its id.
pub struct SecretKey {
    id: String,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish()
    }
}

impl SecretKey {
    fn from_bytes(bytes: &[u8]) -> Result<SecretKey, SecretError> {
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| {
            SecretError::Key(format!(
                "a secret key is {KEY_LEN} bytes, not {}",
                bytes.len()
            ))
        })?;
        let mut h = Sha256::new();
        h.update(b"articdbm secret key id\0");
        h.update(bytes);
        let id = hex::encode(&h.finalize()[..4]);
        Ok(SecretKey { id, cipher })
    }

    /// Parses a key written as 64 hex digits or in base64 (standard or URL-safe, padded or
    /// not); surrounding whitespace is ignored. `origin` names the source in errors, which never
    /// show the key.
    pub fn parse(text: &str, origin: &str) -> Result<SecretKey, SecretError> {
        let t = text.trim();
        let bytes = if t.len() == 2 * KEY_LEN && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).ok()
        } else {
            let e = &base64::engine::general_purpose::STANDARD;
            let u = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
            e.decode(t)
                .ok()
                .or_else(|| u.decode(t.trim_end_matches('=')).ok())
        };
        match bytes {
            Some(b) if b.len() == KEY_LEN => SecretKey::from_bytes(&b),
            Some(b) => Err(SecretError::Key(format!(
                "{origin}: a secret key is {KEY_LEN} bytes; this one decodes to {} bytes",
                b.len()
            ))),
            None => Err(SecretError::Key(format!(
                "{origin}: not a secret key: write {KEY_LEN} random bytes as 64 hex digits or in \
                 base64 (e.g. `head -c 32 /dev/urandom | base64`)"
            ))),
        }
    }

    /// A new random key, and its text form (base64) for a key file.
    pub fn generate() -> (SecretKey, String) {
        let mut b = [0u8; KEY_LEN];
        getrandom::fill(&mut b).expect("the OS random source");
        let text = base64::engine::general_purpose::STANDARD.encode(b);
        let key = SecretKey::from_bytes(&b).expect("32 bytes");
        b.fill(0);
        (key, text)
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<SecretKey, SecretError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SecretError::Key(format!("secret key file {}: {e}", path.display())))?;
        warn_if_readable_by_others(path);
        SecretKey::parse(&text, &format!("secret key file {}", path.display()))
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %path.display(),
            "the secret key file is readable by other users than its owner; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Writes a new key file readable by its owner only; fails if the file exists.
pub fn write_key_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// Where the manager's secret key comes from (the serve options).
#[derive(Clone, Default)]
pub struct KeySource {
    /// `--secret-key-file` / `ARTICDBM_SECRET_KEY_FILE`.
    pub file: Option<PathBuf>,
    /// `ARTICDBM_SECRET_KEY`: the key itself.
    pub value: Option<String>,
    /// `--old-secret-key-file`: keys that still open values during a rotation; values sealed
    /// with them are re-sealed with the current key at start.
    pub old_files: Vec<PathBuf>,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySource")
            .field("file", &self.file)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("old_files", &self.old_files)
            .finish()
    }
}

/// The current key (which seals) and older keys (which only open).
#[derive(Debug)]
pub struct Keyring {
    current: SecretKey,
    old: Vec<SecretKey>,
}

impl Keyring {
    pub fn new(current: SecretKey, old: Vec<SecretKey>) -> Keyring {
        Keyring { current, old }
    }

    /// A keyring with a fresh random key that lives as long as the process: for tests and
    /// benchmarks only.
    pub fn ephemeral() -> Keyring {
        Keyring::new(SecretKey::generate().0, vec![])
    }

    /// Loads the keys `src` names. With neither a file nor a value, an embedded store
    /// (`embedded`) uses `DATA_DIR/secret.key`, made on first start; a shared (PostgreSQL) store
    /// needs a key given, so that every replica has the same one.
    pub fn load(src: &KeySource, data_dir: &Path, embedded: bool) -> Result<Keyring, SecretError> {
        let current = match (&src.file, &src.value) {
            (Some(_), Some(_)) => {
                return Err(SecretError::Key(
                    "give the secret key as a file (--secret-key-file, ARTICDBM_SECRET_KEY_FILE) \
                     or as ARTICDBM_SECRET_KEY, not both"
                        .into(),
                ));
            }
            (Some(f), None) => SecretKey::read(f)?,
            (None, Some(v)) => SecretKey::parse(v, "ARTICDBM_SECRET_KEY")?,
            (None, None) if embedded => default_key(data_dir)?,
            (None, None) => {
                return Err(SecretError::Key(
                    "a PostgreSQL store needs a secret key shared by every manager replica: give \
                     --secret-key-file (ARTICDBM_SECRET_KEY_FILE) or ARTICDBM_SECRET_KEY; see \
                     docs/SECURITY.md"
                        .into(),
                ));
            }
        };
        let mut old = Vec::new();
        for f in &src.old_files {
            let k = SecretKey::read(f)?;
            if k.id != current.id {
                old.push(k);
            }
        }
        Ok(Keyring { current, old })
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    fn key(&self, id: &str) -> Option<&SecretKey> {
        std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == id)
    }

    /// Seals `clear` for its place (`kind`, `tenant`, `name`, `field`).
    pub fn seal(&self, place: &Place, clear: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let aad = place.aad();
        let ct = self
            .current
            .cipher
            .encrypt(
                GenericArray::from_slice(&nonce),
                Payload {
                    msg: clear.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of a short value");
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&ct);
        format!(
            "{PREFIX}{}:{}",
            self.current.id,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        )
    }

    /// Opens a sealed value; also returns whether it was sealed with the current key.
    pub fn open(&self, place: &Place, sealed: &str) -> Result<(String, bool), SecretError> {
        let malformed = || SecretError::Malformed {
            place: place.to_string(),
        };
        let rest = sealed.strip_prefix(PREFIX).ok_or_else(malformed)?;
        let (id, b64) = rest.split_once(':').ok_or_else(malformed)?;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| malformed())?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(malformed());
        }
        let key = self.key(id).ok_or_else(|| SecretError::UnknownKey {
            place: place.to_string(),
            sealed_with: id.to_string(),
            given: self.current.id.clone(),
        })?;
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let aad = place.aad();
        let clear = key
            .cipher
            .decrypt(
                GenericArray::from_slice(nonce),
                Payload { msg: ct, aad: &aad },
            )
            .map_err(|_| SecretError::Corrupt {
                place: place.to_string(),
                key_id: id.to_string(),
            })?;
        let clear = String::from_utf8(clear).map_err(|_| malformed())?;
        Ok((clear, id == self.current.id))
    }

    /// Seals the secret fields of a body about to be stored. A value equal to what `current`
    /// (the stored body, still sealed) holds keeps its ciphertext, so storing the same thing
    /// twice changes nothing.
    pub fn seal_body(
        &self,
        kind: &str,
        tenant: &str,
        name: &str,
        body: &mut Value,
        current: Option<&Value>,
    ) -> Result<(), SecretError> {
        for field in secret_fields(kind) {
            let place = Place::new(kind, tenant, name, field);
            let Some(Value::String(clear)) = body.pointer(field) else {
                continue;
            };
            let before = current
                .and_then(|c| c.pointer(field))
                .and_then(Value::as_str)
                .filter(|s| s.starts_with(PREFIX));
            let sealed = match before.map(|b| (b, self.open(&place, b))) {
                Some((b, Ok((old, true)))) if &old == clear => b.to_string(),
                _ => self.seal(&place, clear),
            };
            if let Some(v) = body.pointer_mut(field) {
                *v = Value::String(sealed);
            }
        }
        Ok(())
    }

    /// Opens the sealed fields of a stored body in place. A value not in the sealed form is
    /// left as it is (a row written in clear by an earlier version, before the migration at
    /// start sealed it).
    pub fn open_body(
        &self,
        kind: &str,
        tenant: &str,
        name: &str,
        body: &mut Value,
    ) -> Result<(), SecretError> {
        for field in secret_fields(kind) {
            let Some(Value::String(s)) = body.pointer(field) else {
                continue;
            };
            if !s.starts_with(PREFIX) {
                continue;
            }
            let (clear, _) = self.open(&Place::new(kind, tenant, name, field), s)?;
            if let Some(v) = body.pointer_mut(field) {
                *v = Value::String(clear);
            }
        }
        Ok(())
    }

    /// Re-seals a stored body's secret fields for `target`: values in clear, values under a key
    /// other than `target`'s current one, or every value when `all`. Returns how many fields
    /// changed.
    pub fn reseal_body(
        &self,
        target: &Keyring,
        kind: &str,
        tenant: &str,
        name: &str,
        body: &mut Value,
        all: bool,
    ) -> Result<usize, SecretError> {
        let mut changed = 0;
        for field in secret_fields(kind) {
            let place = Place::new(kind, tenant, name, field);
            let Some(Value::String(s)) = body.pointer(field) else {
                continue;
            };
            let clear = match s.strip_prefix(PREFIX) {
                Some(rest) => {
                    let (clear, _) = self.open(&place, s)?;
                    let under_target = rest
                        .split(':')
                        .next()
                        .is_some_and(|id| id == target.current.id);
                    if under_target && !all {
                        continue;
                    }
                    clear
                }
                None => s.clone(),
            };
            let sealed = target.seal(&place, &clear);
            if let Some(v) = body.pointer_mut(field) {
                *v = Value::String(sealed);
            }
            changed += 1;
        }
        Ok(changed)
    }
}

/// Where a sealed value lives; bound into its ciphertext as associated data.
pub struct Place<'a> {
    kind: &'a str,
    tenant: &'a str,
    name: &'a str,
    field: &'a str,
}

impl<'a> Place<'a> {
    pub fn new(kind: &'a str, tenant: &'a str, name: &'a str, field: &'a str) -> Place<'a> {
        Place {
            kind,
            tenant,
            name,
            field,
        }
    }

    fn aad(&self) -> Vec<u8> {
        // A JSON array: unambiguous whatever the names contain.
        serde_json::to_vec(&[self.kind, self.tenant, self.name, self.field]).unwrap_or_default()
    }
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenant = if self.tenant.is_empty() {
            String::new()
        } else {
            format!("{}/", self.tenant)
        };
        write!(
            f,
            "{} {tenant}{} field {}",
            self.kind,
            self.name,
            self.field.trim_start_matches('/').replace('/', ".")
        )
    }
}

/// The key beside an embedded store: read, or made on first start.
fn default_key(data_dir: &Path) -> Result<SecretKey, SecretError> {
    let path = data_dir.join(DEFAULT_KEY_FILE);
    let key = if path.exists() {
        SecretKey::read(&path)?
    } else {
        let (key, text) = SecretKey::generate();
        write_key_file(&path, &text).map_err(|e| {
            SecretError::Key(format!(
                "cannot write the secret key {}: {e}",
                path.display()
            ))
        })?;
        tracing::info!(file = %path.display(), key_id = %key.id, "secret key generated");
        key
    };
    tracing::warn!(
        file = %path.display(),
        "stored secrets are sealed with a key kept beside the store: this protects copies of \
         the store (a copied manager.db, backups) but not a disk that holds both; in \
         production give a key from a secret store with --secret-key-file or \
         ARTICDBM_SECRET_KEY (docs/SECURITY.md)"
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn place() -> Place<'static> {
        Place::new("database", "acme", "orders", "/server_password")
    }

    #[test]
    fn seal_and_open_round_trip_with_a_fresh_nonce_each_time() {
        let k = Keyring::ephemeral();
        let a = k.seal(&place(), "s3cret");
        let b = k.seal(&place(), "s3cret");
        assert_ne!(a, b, "random nonces");
        assert!(a.starts_with(&format!("{PREFIX}{}:", k.current_id())));
        assert!(!a.contains("s3cret"));
        assert_eq!(k.open(&place(), &a).unwrap(), ("s3cret".into(), true));
    }

    #[test]
    fn a_value_moved_to_another_row_or_field_does_not_open() {
        let k = Keyring::ephemeral();
        let a = k.seal(&place(), "s3cret");
        for other in [
            Place::new("database", "acme", "billing", "/server_password"),
            Place::new("database", "other", "orders", "/server_password"),
            Place::new("feed", "acme", "orders", "/auth/password"),
        ] {
            let e = k.open(&other, &a).unwrap_err();
            assert!(matches!(e, SecretError::Corrupt { .. }), "{e}");
            assert!(e.to_string().contains("moved from another row"), "{e}");
        }
        // A flipped bit is caught by the tag.
        let mut bad = a.clone().into_bytes();
        let last = bad.len() - 2;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(matches!(
            k.open(&place(), &bad),
            Err(SecretError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_wrong_key_is_named_not_a_panic() {
        let k1 = Keyring::ephemeral();
        let k2 = Keyring::ephemeral();
        let a = k1.seal(&place(), "s3cret");
        let e = k2.open(&place(), &a).unwrap_err().to_string();
        assert!(
            e.contains(k1.current_id()) && e.contains(k2.current_id()),
            "{e}"
        );
        assert!(
            e.contains("database acme/orders field server_password"),
            "{e}"
        );
        assert!(!e.contains("s3cret"));
        for junk in [
            "enc:v1:",
            "enc:v1:abcd",
            "enc:v1:abcd:!!!",
            "enc:v1:abcd:AAAA",
        ] {
            assert!(matches!(
                k1.open(&place(), junk),
                Err(SecretError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn an_old_key_opens_until_values_are_resealed() {
        let old = SecretKey::generate();
        let new = SecretKey::generate();
        let old_ring = Keyring::new(SecretKey::parse(&old.1, "t").unwrap(), vec![]);
        let both = Keyring::new(
            SecretKey::parse(&new.1, "t").unwrap(),
            vec![SecretKey::parse(&old.1, "t").unwrap()],
        );
        let mut body = json!({"name": "orders", "server_password": "s3cret"});
        old_ring
            .seal_body("database", "acme", "orders", &mut body, None)
            .unwrap();
        let sealed_old = body["server_password"].as_str().unwrap().to_string();
        assert_eq!(
            both.open(&place(), &sealed_old).unwrap(),
            ("s3cret".into(), false)
        );
        assert_eq!(
            both.reseal_body(&both, "database", "acme", "orders", &mut body, false)
                .unwrap(),
            1
        );
        let sealed_new = body["server_password"].as_str().unwrap().to_string();
        assert!(sealed_new.contains(both.current_id()));
        // Already under the current key: nothing to do unless asked for all.
        assert_eq!(
            both.reseal_body(&both, "database", "acme", "orders", &mut body, false)
                .unwrap(),
            0
        );
        assert!(old_ring.open(&place(), &sealed_new).is_err());
    }

    #[test]
    fn sealing_the_same_value_again_keeps_its_ciphertext() {
        let k = Keyring::ephemeral();
        let mut stored = json!({"server_password": "s3cret", "server_user": "u"});
        k.seal_body("database", "acme", "orders", &mut stored, None)
            .unwrap();
        let mut again = json!({"server_password": "s3cret", "server_user": "u"});
        k.seal_body("database", "acme", "orders", &mut again, Some(&stored))
            .unwrap();
        assert_eq!(again, stored);
        let mut changed = json!({"server_password": "other", "server_user": "u"});
        k.seal_body("database", "acme", "orders", &mut changed, Some(&stored))
            .unwrap();
        assert_ne!(changed["server_password"], stored["server_password"]);
        k.open_body("database", "acme", "orders", &mut changed)
            .unwrap();
        assert_eq!(changed["server_password"], "other");
    }

    #[test]
    fn feed_credentials_are_sealed_too() {
        let k = Keyring::ephemeral();
        let mut body = json!({"name": "f", "auth": {"username": "u", "password": "pw"},
                              "taxii": {"url": "https://h/", "auth": {"token": "tk"}}});
        k.seal_body("feed", "", "f", &mut body, None).unwrap();
        let text = body.to_string();
        assert!(
            !text.contains("\"pw\"") && !text.contains("\"tk\""),
            "{text}"
        );
        assert_eq!(body["auth"]["username"], "u");
        k.open_body("feed", "", "f", &mut body).unwrap();
        assert_eq!(body["auth"]["password"], "pw");
        assert_eq!(body["taxii"]["auth"]["token"], "tk");
    }

    #[test]
    fn keys_parse_from_hex_or_base64_and_errors_never_show_them() {
        let hexkey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let a = SecretKey::parse(&format!("{hexkey}\n"), "t").unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(hexkey).unwrap());
        let b = SecretKey::parse(&b64, "t").unwrap();
        assert_eq!(a.id(), b.id());
        let e = SecretKey::parse("c2hvcnQ=", "ARTICDBM_SECRET_KEY")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ARTICDBM_SECRET_KEY") && e.contains("5 bytes"),
            "{e}"
        );
        let e = SecretKey::parse("not a key at all!", "f")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("not a key at all"), "{e}");
    }

    #[test]
    fn the_default_key_is_made_once_owner_only_and_a_shared_store_needs_one() {
        let dir = tempfile::tempdir().unwrap();
        let src = KeySource::default();
        let a = Keyring::load(&src, dir.path(), true).unwrap();
        let b = Keyring::load(&src, dir.path(), true).unwrap();
        assert_eq!(a.current_id(), b.current_id(), "read back, not made again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEFAULT_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = Keyring::load(&src, dir.path(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("PostgreSQL store needs a secret key"), "{e}");
        let both = KeySource {
            file: Some(dir.path().join(DEFAULT_KEY_FILE)),
            value: Some("x".into()),
            old_files: vec![],
        };
        assert!(format!("{both:?}").contains("<redacted>"));
        assert!(Keyring::load(&both, dir.path(), true).is_err());
    }
}
