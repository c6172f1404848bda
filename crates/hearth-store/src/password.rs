//! Password hashing with argon2id, PHC-string format.
//!
//! Both functions are CPU-bound by design (tens of milliseconds with the
//! default parameters): callers run them inside `tokio::task::spawn_blocking`,
//! never on a runtime worker.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::StoreError;

/// Validated argon2id cost parameters.
#[derive(Clone, Debug)]
pub struct Argon2Params(Params);

impl Argon2Params {
    /// `memory_kib` KiB of memory, `iterations` passes, `parallelism` lanes.
    /// `InvalidInput` when argon2 refuses them (e.g. memory below 8 KiB per
    /// lane, zero iterations).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, StoreError> {
        Params::new(memory_kib, iterations, parallelism, None)
            .map(Argon2Params)
            .map_err(|e| StoreError::InvalidInput(format!("argon2 parameters: {e}")))
    }

    /// The cheapest parameters argon2 accepts: for tests only, never for
    /// real passwords.
    pub fn insecure_fast() -> Self {
        Argon2Params(Params::new(8, 1, 1, None).expect("minimum argon2 parameters are valid"))
    }
}

impl Default for Argon2Params {
    /// OWASP's baseline for argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Argon2Params(Params::DEFAULT)
    }
}

/// Hashes `password` with argon2id, a fresh random salt and `params`,
/// returning a PHC string (`$argon2id$v=19$m=…`) that records the parameters,
/// so hashes made with older parameters still verify.
///
/// # Panics
/// Only if the operating system's random number generator fails.
pub fn hash_password(password: &str, params: &Argon2Params) -> String {
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.0.clone());
    hasher
        .hash_password(password.as_bytes())
        .expect("argon2id hashing with validated parameters and OS randomness")
        .to_string()
}

/// Whether `password` matches `hash` (a PHC string from [`hash_password`]).
/// A malformed hash never matches. The comparison is constant-time.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let params = Argon2Params::insecure_fast();
        let hash = hash_password("hunter2", &params);
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("hunter2", &hash));
        assert!(!verify_password("hunter3", &hash));
        assert!(!verify_password("hunter2", "not a hash"));
        assert_ne!(hash, hash_password("hunter2", &params), "salts differ");
    }

    #[test]
    fn rejects_bad_params() {
        assert!(Argon2Params::new(1, 0, 1).is_err());
    }
}
