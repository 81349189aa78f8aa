//! Key material on `ring`, for the host's native keyring: private and
//! shared keys stay in the host process, and signing runs at native speed.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use ring::{hmac, rsa};

use crate::jwk::PublicKey;
use crate::secret::{check_hmac_secret, check_rsa_size, pkcs8_der};
use crate::{Algorithm, KeyMaterial, KeyringError};

/// A parsed key, signing with `ring`.
pub enum RingKey {
    /// Ed25519.
    Ed25519(Ed25519KeyPair),
    /// ECDSA P-256 (fixed-length r || s signatures).
    Ecdsa(EcdsaKeyPair),
    /// RSA PKCS#1 v1.5 with SHA-256, and its public components for the JWK.
    Rsa(RsaKeyPair, rsa::PublicKeyComponents<Vec<u8>>),
    /// HMAC-SHA-256.
    Hmac(hmac::Key),
}

fn random() -> SystemRandom {
    SystemRandom::new()
}

impl std::fmt::Debug for RingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RingKey(..)")
    }
}

impl KeyMaterial for RingKey {
    fn from_secret(alg: Algorithm, secret: &[u8]) -> Result<Self, String> {
        Ok(match alg {
            // Accepts PKCS#8 v1 (what OpenSSL writes) as well as v2.
            Algorithm::EdDsa => RingKey::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8_der(secret)?)
                    .map_err(|e| format!("not an Ed25519 PKCS#8 key: {e}"))?,
            ),
            Algorithm::Es256 => RingKey::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8_der(secret)?, &random())
                    .map_err(|e| format!("not a P-256 PKCS#8 key: {e}"))?,
            ),
            Algorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(&pkcs8_der(secret)?).map_err(|e| format!("not an RSA PKCS#8 key of 2048 to 8192 bits: {e}"))?;
                check_rsa_size(pair.public().modulus_len())?;
                let components = rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
                RingKey::Rsa(pair, components)
            }
            Algorithm::Hs256 => {
                check_hmac_secret(secret)?;
                RingKey::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret))
            }
        })
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let failed = |_| KeyringError::Unavailable("signing failed".into());
        Ok(match self {
            RingKey::Ed25519(pair) => pair.sign(data).as_ref().to_vec(),
            RingKey::Ecdsa(pair) => pair.sign(&random(), data).map_err(failed)?.as_ref().to_vec(),
            RingKey::Rsa(pair, _) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &random(), data, &mut sig).map_err(failed)?;
                sig
            }
            RingKey::Hmac(key) => hmac::sign(key, data).as_ref().to_vec(),
        })
    }

    fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        match self {
            RingKey::Ed25519(pair) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, pair.public_key()).verify(data, sig).is_ok()
            }
            RingKey::Ecdsa(pair) => signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, pair.public_key())
                .verify(data, sig)
                .is_ok(),
            RingKey::Rsa(_, public) => public.verify(&signature::RSA_PKCS1_2048_8192_SHA256, data, sig).is_ok(),
            // Constant-time comparison of the MAC.
            RingKey::Hmac(key) => hmac::verify(key, data, sig).is_ok(),
        }
    }

    fn public_key(&self) -> PublicKey<'_> {
        match self {
            RingKey::Ed25519(pair) => PublicKey::Ed25519 { x: pair.public_key().as_ref() },
            // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
            RingKey::Ecdsa(pair) => {
                let point = pair.public_key().as_ref();
                PublicKey::P256 { x: &point[1..33], y: &point[33..65] }
            }
            RingKey::Rsa(_, public) => PublicKey::Rsa { n: &public.n, e: &public.e },
            RingKey::Hmac(_) => PublicKey::Symmetric,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::conformance;
    use crate::test_keys::*;
    use crate::Keyring;

    #[test]
    fn round_trips() {
        assert_eq!(conformance::round_trip::<RingKey>(Algorithm::Es256, es256_pem().as_bytes()).len(), 64);
        assert_eq!(conformance::round_trip::<RingKey>(Algorithm::EdDsa, eddsa_pem().as_bytes()).len(), 64);
        assert_eq!(conformance::round_trip::<RingKey>(Algorithm::Rs256, rs256_pem(2048).as_bytes()).len(), 256);
        conformance::round_trip::<RingKey>(Algorithm::Hs256, &[7u8; 32]);
    }

    #[test]
    fn openssl_keys_load() {
        conformance::openssl_keys_load::<RingKey>();
    }

    #[test]
    fn weak_and_mismatched_keys_are_refused() {
        assert!(RingKey::from_secret(Algorithm::Hs256, &[7u8; 31]).is_err());
        assert!(RingKey::from_secret(Algorithm::Rs256, rs256_pem(1024).as_bytes()).unwrap_err().contains("2048"));
        assert!(RingKey::from_secret(Algorithm::EdDsa, es256_pem().as_bytes()).is_err());
        assert!(RingKey::from_secret(Algorithm::Es256, eddsa_pem().as_bytes()).is_err());
        conformance::alg_mismatch_is_unknown_key::<RingKey>(es256_pem().as_bytes());
    }

    #[test]
    fn jwks_and_loading() {
        conformance::jwk_shapes::<RingKey>(es256_pem().as_bytes(), eddsa_pem().as_bytes(), rs256_pem(2048).as_bytes());
        conformance::loading_rules::<RingKey>(&es256_pem());
    }

    #[test]
    fn signatures_verify_with_an_independent_implementation() {
        let pem = es256_pem();
        let ring = Keyring::<RingKey>::new(vec![crate::Key::from_secret("k", Algorithm::Es256, pem.as_bytes()).unwrap()], 0).unwrap();
        verify_independently(&ring, Algorithm::Es256);
        let ring = Keyring::<RingKey>::new(vec![crate::Key::from_secret("k", Algorithm::Rs256, rs256_pem(2048).as_bytes()).unwrap()], 0).unwrap();
        verify_independently(&ring, Algorithm::Rs256);
        let ring = Keyring::<RingKey>::new(vec![crate::Key::from_secret("k", Algorithm::EdDsa, eddsa_pem().as_bytes()).unwrap()], 0).unwrap();
        verify_independently(&ring, Algorithm::EdDsa);
    }
}
