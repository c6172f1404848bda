//! Login tokens ("stay signed in on this device"): random secrets a logged-in user asks
//! the server for (`HEARTH TOKEN NEW`), then logs in with instead of the password (SASL
//! PLAIN, password `token:<token>`). The store keeps only [`hash`] of a token.
//!
//! A token is 32 random bytes from the operating system, base64url without padding (43
//! characters). Being random and long, it needs no slow hash: SHA-256 is enough to make
//! a stolen database useless for logging in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What a SASL PLAIN password starts with when it is a login token.
pub const PREFIX: &str = "token:";

/// A fresh token.
///
/// # Panics
/// Only if the operating system's random number generator fails.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh token id: 8 random bytes, lowercase hex (16 characters). Ids are not
/// secret; people type them (`hearth user tokens NAME --revoke ID`), so they are hex:
/// a base64url id could start with `-` and read as an option on the command line.
pub fn generate_id() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator works");
    hex::encode(bytes)
}

/// What the store keeps of `token`: the lowercase hex SHA-256 of its text.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        assert_eq!(hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        for _ in 0..1000 {
            let id = generate_id();
            assert_eq!(id.len(), 16);
            assert!(id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{id}");
        }
    }
}
