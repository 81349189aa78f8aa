//! JWKs (RFC 7517) of signing keys, built one way for every keyring, so
//! they publish the same fields and values.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::Algorithm;

/// The public half of a signing key, as raw big-endian / encoded bytes.
pub enum PublicKey<'a> {
    /// Ed25519 public key (32 bytes).
    Ed25519 {
        /// The key.
        x: &'a [u8],
    },
    /// P-256 point coordinates (32 bytes each).
    P256 {
        /// x coordinate.
        x: &'a [u8],
        /// y coordinate.
        y: &'a [u8],
    },
    /// RSA modulus and exponent.
    Rsa {
        /// Modulus.
        n: &'a [u8],
        /// Public exponent.
        e: &'a [u8],
    },
    /// A shared secret: published without any material.
    Symmetric,
}

/// The JWK JSON object for key `kid`.
pub fn to_jwk(kid: &str, alg: Algorithm, key: PublicKey) -> String {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let alg = alg.name();
    let value = match key {
        PublicKey::Ed25519 { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(x), "use": "sig", "alg": alg, "kid": kid }),
        PublicKey::P256 { x, y } => {
            json!({ "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "use": "sig", "alg": alg, "kid": kid })
        }
        PublicKey::Rsa { n, e } => json!({ "kty": "RSA", "n": b64(n), "e": b64(e), "use": "sig", "alg": alg, "kid": kid }),
        PublicKey::Symmetric => json!({ "kty": "oct", "use": "sig", "alg": alg, "kid": kid }),
    };
    value.to_string()
}
