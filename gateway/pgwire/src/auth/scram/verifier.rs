//! PostgreSQL's SCRAM-SHA-256 stored verifier: parse, generate, and the mock verifier used for
//! unknown users.

use std::fmt;

use super::{ScramError, b64, hi, hmac, keys, normalize, random_bytes, unb64};

/// Iteration count used by [`ScramVerifier::generate`] (PostgreSQL's default).
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// Salt length used by [`ScramVerifier::generate`] (PostgreSQL's default).
const SALT_LEN: usize = 16;
/// Bounds on what a stored verifier may declare, so a corrupt store cannot stall logins.
const MAX_VERIFIER_ITERATIONS: u32 = 10_000_000;
const MAX_SALT_LEN: usize = 256;

/// A SCRAM-SHA-256 verifier: what the server stores instead of the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub(crate) iterations: u32,
    pub(crate) salt: Vec<u8>,
    pub(crate) stored_key: [u8; 32],
    pub(crate) server_key: [u8; 32],
    /// A stand-in for an unknown user: the exchange runs normally and fails at the proof.
    pub(crate) mock: bool,
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are password-equivalent for replay against this server: never print them.
        f.debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .field("mock", &self.mock)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ScramVerifier {
    /// PostgreSQL's text form: `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            b64(&self.salt),
            b64(&self.stored_key),
            b64(&self.server_key)
        )
    }
}

impl std::str::FromStr for ScramVerifier {
    type Err = ScramError;
    fn from_str(s: &str) -> Result<Self, ScramError> {
        Self::parse(s)
    }
}

impl ScramVerifier {
    /// Parse PostgreSQL's stored form.
    pub fn parse(s: &str) -> Result<Self, ScramError> {
        let rest = s
            .strip_prefix("SCRAM-SHA-256$")
            .ok_or(ScramError::InvalidVerifier("missing SCRAM-SHA-256$ prefix"))?;
        let (iter_salt, keys) = rest
            .split_once('$')
            .ok_or(ScramError::InvalidVerifier("missing '$' before keys"))?;
        let (iter, salt) = iter_salt
            .split_once(':')
            .ok_or(ScramError::InvalidVerifier("missing ':' after iterations"))?;
        let (stored, server) = keys
            .split_once(':')
            .ok_or(ScramError::InvalidVerifier("missing ':' between keys"))?;
        if !iter.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ScramError::InvalidVerifier("iterations is not a number"));
        }
        let iterations: u32 = iter
            .parse()
            .map_err(|_| ScramError::InvalidVerifier("iterations is not a number"))?;
        if !(1..=MAX_VERIFIER_ITERATIONS).contains(&iterations) {
            return Err(ScramError::InvalidVerifier("iterations out of range"));
        }
        let bad = |_| ScramError::InvalidVerifier("invalid base64");
        let salt = unb64(salt, "verifier", "salt").map_err(bad)?;
        if salt.is_empty() || salt.len() > MAX_SALT_LEN {
            return Err(ScramError::InvalidVerifier("salt length out of range"));
        }
        let key = |k: &str| -> Result<[u8; 32], ScramError> {
            unb64(k, "verifier", "key")
                .map_err(bad)?
                .try_into()
                .map_err(|_| ScramError::InvalidVerifier("key is not 32 bytes"))
        };
        Ok(Self {
            iterations,
            salt,
            stored_key: key(stored)?,
            server_key: key(server)?,
            mock: false,
        })
    }

    /// A new verifier for `password` with a random 16-byte salt and 4096 iterations.
    pub fn generate(password: &[u8]) -> Result<Self, ScramError> {
        Self::generate_with_iterations(password, DEFAULT_ITERATIONS)
    }

    /// A new verifier with a random salt and the given iteration count (at least 1).
    pub fn generate_with_iterations(password: &[u8], iterations: u32) -> Result<Self, ScramError> {
        let salt = random_bytes::<SALT_LEN>()?;
        Ok(Self::from_password(password, &salt, iterations))
    }

    /// The verifier for `password` with a given salt (deterministic; for fixtures and tests).
    pub fn from_password(password: &[u8], salt: &[u8], iterations: u32) -> Self {
        let iterations = iterations.max(1);
        let salted = hi(&normalize(password), salt, iterations);
        let (stored_key, server_key, _) = keys(&salted);
        Self {
            iterations,
            salt: salt.to_vec(),
            stored_key,
            server_key,
            mock: false,
        }
    }

    /// A verifier for a user that does not exist. The exchange proceeds exactly as for a real
    /// user and fails at the proof, so a client cannot probe which users exist. The salt is
    /// derived from `secret` (a per-gateway random value) and the user name, so it is stable
    /// for a user across attempts, like PostgreSQL's `scram_mock_salt`.
    pub fn mock(user: &str, secret: &[u8]) -> Self {
        let digest = hmac(secret, &[b"articdbm-scram-mock-salt", user.as_bytes()]);
        let salt = digest.get(..SALT_LEN).unwrap_or(&digest).to_vec();
        Self {
            iterations: DEFAULT_ITERATIONS,
            salt,
            stored_key: hmac(secret, &[b"articdbm-scram-mock-key", user.as_bytes()]),
            server_key: [0; 32],
            mock: true,
        }
    }

    /// The iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The salt.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// Whether this is a mock verifier.
    pub fn is_mock(&self) -> bool {
        self.mock
    }

    /// Check a cleartext password against this verifier (for cleartext-over-TLS logins).
    /// Constant time in the comparison; always false for a mock verifier.
    pub fn verify_password(&self, password: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let salted = hi(&normalize(password), &self.salt, self.iterations);
        let (stored, server, _) = keys(&salted);
        let ok = stored.ct_eq(&self.stored_key) & server.ct_eq(&self.server_key);
        bool::from(ok) && !self.mock
    }
}
