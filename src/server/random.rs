//! Unguessable values, from the operating system's random source: key material, and
//! the ids of sessions, tickets, tokens and verifications.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::TryRngCore;
use rand::rngs::OsRng;

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random number generator failed");
    bytes
}

/// `N` random bytes as base64url without padding (16 bytes: 22 characters; 32: 43).
pub fn id<const N: usize>() -> String {
    B64.encode(bytes::<N>())
}
