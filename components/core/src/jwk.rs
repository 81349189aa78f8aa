//! JWKs (RFC 7517) of signing keys, built one way for every keyring (the
//! host's native one and the keyring component), so they publish the same
//! fields and values.

use serde_json::json;

use crate::encoding::b64url;
use crate::ports::Algorithm;

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
    let alg = alg.name();
    let value = match key {
        PublicKey::Ed25519 { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64url(x), "use": "sig", "alg": alg, "kid": kid }),
        PublicKey::P256 { x, y } => {
            json!({ "kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y), "use": "sig", "alg": alg, "kid": kid })
        }
        PublicKey::Rsa { n, e } => json!({ "kty": "RSA", "n": b64url(n), "e": b64url(e), "use": "sig", "alg": alg, "kid": kid }),
        PublicKey::Symmetric => json!({ "kty": "oct", "use": "sig", "alg": alg, "kid": kid }),
    };
    value.to_string()
}
