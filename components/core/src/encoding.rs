//! Small encoding helpers shared by the rule modules.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::ports::Random;

/// base64url without padding (RFC 4648 §5), as JOSE and PKCE use it.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding; `None` for anything else.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// A 256-bit random value as 43 base64url characters: codes, states,
/// refresh tokens, session ids.
pub fn random_token(random: &dyn Random) -> String {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    b64url(&bytes)
}

/// SHA-256 of `text` as base64url: how bearer secrets (codes, refresh
/// tokens) are stored, so a store dump reveals nothing usable.
pub fn sha256_b64url(text: &str) -> String {
    b64url(&Sha256::digest(text.as_bytes()))
}

/// A random (version 4) UUID in its canonical text form.
pub fn random_uuid(random: &dyn Random) -> String {
    let mut b = [0u8; 16];
    random.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
