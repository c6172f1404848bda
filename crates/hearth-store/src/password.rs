//! Password hashing with argon2id, PHC-string format.
//!
//! Both functions are CPU- and memory-bound by design (tens of milliseconds and
//! `memory_kib` of heap with the default parameters): never call them on a runtime
//! worker. The server runs them on its bounded hashing pool
//! (`hearth_core::hashing`), one-off tools inside `spawn_blocking`.

use argon2::password_hash::phc::{Output, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// argon2's working memory (the memory cost, 19 MiB by default), kept from one hash
/// to the next.
///
/// argon2 itself allocates and frees that memory on every call. Under glibc, once a
/// block that size has been freed, later ones come from the thread's arena and the
/// freed memory is kept rather than returned: measured on the server, one thread
/// hashing in a loop grew to about 11 × 19 MiB of resident memory. Reusing one buffer
/// per hashing thread makes the cost a fixed `memory_kib` per thread instead.
/// (argon2's first pass overwrites every block, so leftovers never affect a result.)
#[derive(Default)]
pub struct Scratch {
    blocks: Vec<Block>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").field("kib", &self.blocks.len()).finish()
    }
}

impl Scratch {
    /// At least `count` blocks; grows (and then stays) to the largest cost seen.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            self.blocks = Vec::new(); // free the old buffer before taking the new one
            self.blocks = vec![Block::default(); count];
        }
        &mut self.blocks[..count]
    }
}

/// Runs argon2 with `params` over `scratch`, writing `out.len()` bytes of hash.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), argon2::Error> {
    let count = params.block_count();
    Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        out,
        scratch.blocks(count),
    )
}

/// Hashes `password` with argon2id, a fresh random salt and `params`,
/// returning a PHC string (`$argon2id$v=19$m=…`) that records the parameters,
/// so hashes made with older parameters still verify.
///
/// # Panics
/// Only if the operating system's random number generator fails.
pub fn hash_password(password: &str, params: &Argon2Params) -> String {
    hash_password_with(password, params, &mut Scratch::default())
}

/// [`hash_password`] in `scratch`'s memory.
pub fn hash_password_with(password: &str, params: &Argon2Params, scratch: &mut Scratch) -> String {
    let salt_bytes = argon2::password_hash::generate_salt();
    let salt = Salt::new(&salt_bytes).expect("a generated salt has the recommended length");
    let mut out = vec![0u8; params.0.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    compute(Algorithm::Argon2id, Version::V0x13, params.0.clone(), password, &salt, &mut out, scratch)
        .expect("argon2id hashing with validated parameters");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params.0).try_into().expect("validated parameters print"),
        salt: Some(salt),
        hash: Some(Output::new(&out).expect("argon2 output length is valid")),
    }
    .to_string()
}

/// Whether `password` matches `hash` (a PHC string from [`hash_password`]).
/// A malformed hash never matches. The comparison is constant-time.
pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_password_with(password, hash, &mut Scratch::default())
}

/// [`verify_password`] in `scratch`'s memory.
pub fn verify_password_with(password: &str, hash: &str, scratch: &mut Scratch) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Params::try_from(&parsed),
        parsed.salt.as_ref(),
        parsed.hash.as_ref(),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut out = vec![0u8; expected.len()];
    if compute(algorithm, version, params, password, salt.as_ref(), &mut out, scratch).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| &computed == expected)
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
    fn reused_scratch_gives_the_same_results_as_argon2s_own_allocation() {
        use argon2::PasswordVerifier;
        let params = Argon2Params::new(64, 2, 1).unwrap();
        let mut scratch = Scratch::default();
        let big = hash_password_with("bigger first", &Argon2Params::new(128, 1, 2).unwrap(), &mut scratch);
        let hash = hash_password_with("hunter2", &params, &mut scratch);
        for h in [&big, &hash] {
            let parsed = PasswordHash::new(h).unwrap();
            let pw = if h == &big { "bigger first" } else { "hunter2" };
            assert!(Argon2::default().verify_password(pw.as_bytes(), &parsed).is_ok(), "{h}");
        }
        // And the other way: argon2's own hash verifies over dirty scratch memory.
        let theirs = {
            use argon2::PasswordHasher;
            let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.0.clone());
            a.hash_password(b"hunter2").unwrap().to_string()
        };
        assert!(verify_password_with("hunter2", &theirs, &mut scratch));
        assert!(!verify_password_with("hunter3", &theirs, &mut scratch));
        assert!(verify_password_with("hunter2", &hash, &mut scratch));
        assert_eq!(format!("{scratch:?}"), "Scratch { kib: 128 }", "kept at the largest cost");
    }

    #[test]
    fn rejects_bad_params() {
        assert!(Argon2Params::new(1, 0, 1).is_err());
    }
}
