//! Key material on RustCrypto, for the keyring component: pure Rust, so it
//! signs inside WebAssembly (Spin). EdDSA and ES256 signatures are
//! deterministic (RFC 8032, RFC 6979); RSA signing is blinded with fresh
//! randomness against timing side channels.

use hmac::{Hmac, Mac};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use rand_core::OsRng;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::traits::PublicKeyParts as _;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::jwk::PublicKey;
use crate::secret::{check_hmac_secret, check_rsa_size, pkcs8_der};
use crate::{Algorithm, KeyMaterial, KeyringError};

/// RSA signing key with its public parts, ready for the JWK.
pub struct RsaKey {
    signing: rsa::pkcs1v15::SigningKey<Sha256>,
    verifying: rsa::pkcs1v15::VerifyingKey<Sha256>,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// A parsed key, signing with RustCrypto.
pub enum RustCryptoKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey, [u8; 32]),
    /// ECDSA P-256 with the uncompressed public point.
    Ecdsa(p256::ecdsa::SigningKey, p256::EncodedPoint),
    /// RSA PKCS#1 v1.5 with SHA-256 (boxed: much larger than the others).
    Rsa(Box<RsaKey>),
    /// HMAC-SHA-256.
    Hmac(Zeroizing<Vec<u8>>),
}

fn hmac_sha256(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; the minimum is enforced at load.
    <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length")
}

impl std::fmt::Debug for RustCryptoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RustCryptoKey(..)")
    }
}

impl KeyMaterial for RustCryptoKey {
    fn from_secret(alg: Algorithm, secret: &[u8]) -> Result<Self, String> {
        Ok(match alg {
            // Accepts PKCS#8 v1 (what OpenSSL writes) as well as v2 (ring).
            Algorithm::EdDsa => {
                let key = ed25519_dalek::SigningKey::from_pkcs8_der(&pkcs8_der(secret)?)
                    .map_err(|_| "not an Ed25519 PKCS#8 key".to_string())?;
                let public = key.verifying_key().to_bytes();
                RustCryptoKey::Ed25519(key, public)
            }
            Algorithm::Es256 => {
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(&pkcs8_der(secret)?)
                    .map_err(|_| "not a P-256 PKCS#8 key".to_string())?;
                let point = key.verifying_key().to_encoded_point(false);
                RustCryptoKey::Ecdsa(key, point)
            }
            Algorithm::Rs256 => {
                let private = rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8_der(secret)?)
                    .map_err(|_| "not an RSA PKCS#8 key".to_string())?;
                check_rsa_size(private.size())?;
                let public = private.to_public_key();
                RustCryptoKey::Rsa(Box::new(RsaKey {
                    n: public.n().to_bytes_be(),
                    e: public.e().to_bytes_be(),
                    verifying: rsa::pkcs1v15::VerifyingKey::new(public),
                    signing: rsa::pkcs1v15::SigningKey::new(private),
                }))
            }
            Algorithm::Hs256 => {
                check_hmac_secret(secret)?;
                RustCryptoKey::Hmac(Zeroizing::new(secret.to_vec()))
            }
        })
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        Ok(match self {
            RustCryptoKey::Ed25519(key, _) => key.sign(data).to_bytes().to_vec(),
            // JWS wants r || s (64 bytes), not DER.
            RustCryptoKey::Ecdsa(key, _) => {
                let sig: p256::ecdsa::Signature = key.sign(data);
                sig.to_bytes().to_vec()
            }
            RustCryptoKey::Rsa(key) => key
                .signing
                .try_sign_with_rng(&mut OsRng, data)
                .map_err(|_| KeyringError::Unavailable("signing failed".into()))?
                .to_vec(),
            RustCryptoKey::Hmac(secret) => hmac_sha256(secret).chain_update(data).finalize().into_bytes().to_vec(),
        })
    }

    fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        match self {
            RustCryptoKey::Ed25519(key, _) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|sig| key.verifying_key().verify_strict(data, &sig).is_ok()),
            RustCryptoKey::Ecdsa(key, _) => {
                p256::ecdsa::Signature::from_slice(sig).is_ok_and(|sig| key.verifying_key().verify(data, &sig).is_ok())
            }
            RustCryptoKey::Rsa(key) => {
                rsa::pkcs1v15::Signature::try_from(sig).is_ok_and(|sig| key.verifying.verify(data, &sig).is_ok())
            }
            // Constant-time comparison of the MAC.
            RustCryptoKey::Hmac(secret) => hmac_sha256(secret).chain_update(data).verify_slice(sig).is_ok(),
        }
    }

    fn public_key(&self) -> PublicKey<'_> {
        match self {
            RustCryptoKey::Ed25519(_, x) => PublicKey::Ed25519 { x },
            RustCryptoKey::Ecdsa(_, point) => match (point.x(), point.y()) {
                (Some(x), Some(y)) => PublicKey::P256 { x, y },
                _ => unreachable!("an uncompressed point has both coordinates"),
            },
            RustCryptoKey::Rsa(key) => PublicKey::Rsa { n: &key.n, e: &key.e },
            RustCryptoKey::Hmac(_) => PublicKey::Symmetric,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::conformance;
    use crate::test_keys::*;
    use crate::{Key, Keyring};

    #[test]
    fn round_trips() {
        assert_eq!(conformance::round_trip::<RustCryptoKey>(Algorithm::Es256, es256_pem().as_bytes()).len(), 64);
        assert_eq!(conformance::round_trip::<RustCryptoKey>(Algorithm::EdDsa, eddsa_pem().as_bytes()).len(), 64);
        assert_eq!(conformance::round_trip::<RustCryptoKey>(Algorithm::Rs256, rs256_pem(2048).as_bytes()).len(), 256);
        conformance::round_trip::<RustCryptoKey>(Algorithm::Hs256, &[7u8; 32]);
    }

    #[test]
    fn openssl_keys_load() {
        conformance::openssl_keys_load::<RustCryptoKey>();
    }

    #[test]
    fn hs256_is_plain_hmac_sha256() {
        let ring = conformance::one::<RustCryptoKey>(Algorithm::Hs256, &[0x0b; 32]);
        let expected = hmac_sha256(&[0x0b; 32]).chain_update(b"Hi There").finalize().into_bytes();
        assert_eq!(ring.sign("k", Algorithm::Hs256, b"Hi There").unwrap(), expected.to_vec());
    }

    #[test]
    fn weak_and_mismatched_keys_are_refused() {
        assert!(RustCryptoKey::from_secret(Algorithm::Hs256, &[7u8; 31]).is_err());
        assert!(RustCryptoKey::from_secret(Algorithm::Rs256, rs256_pem(1024).as_bytes()).unwrap_err().contains("2048"));
        assert!(RustCryptoKey::from_secret(Algorithm::EdDsa, es256_pem().as_bytes()).is_err());
        assert!(RustCryptoKey::from_secret(Algorithm::Es256, eddsa_pem().as_bytes()).is_err());
        assert!(RustCryptoKey::from_secret(Algorithm::Rs256, es256_pem().as_bytes()).is_err());
        conformance::alg_mismatch_is_unknown_key::<RustCryptoKey>(es256_pem().as_bytes());
    }

    #[test]
    fn jwks_and_loading() {
        conformance::jwk_shapes::<RustCryptoKey>(es256_pem().as_bytes(), eddsa_pem().as_bytes(), rs256_pem(2048).as_bytes());
        conformance::loading_rules::<RustCryptoKey>(&es256_pem());
    }

    #[test]
    fn signatures_verify_with_an_independent_implementation() {
        for (alg, pem) in [(Algorithm::Es256, es256_pem()), (Algorithm::EdDsa, eddsa_pem()), (Algorithm::Rs256, rs256_pem(2048))] {
            let ring = Keyring::<RustCryptoKey>::new(vec![Key::from_secret("k", alg, pem.as_bytes()).unwrap()], 0).unwrap();
            verify_independently(&ring, alg);
        }
    }

    #[cfg(feature = "ring")]
    #[test]
    fn both_materials_publish_the_same_jwks_and_deterministic_signatures() {
        use crate::ring_material::RingKey;
        for (alg, secret) in [
            (Algorithm::Es256, es256_pem().into_bytes()),
            (Algorithm::EdDsa, eddsa_pem().into_bytes()),
            (Algorithm::Rs256, rs256_pem(2048).into_bytes()),
            (Algorithm::Hs256, vec![5u8; 40]),
        ] {
            let a = conformance::one::<RustCryptoKey>(alg, &secret);
            let b = conformance::one::<RingKey>(alg, &secret);
            assert_eq!(a.public_keys(), b.public_keys(), "{alg:?}");
            let sig = a.sign("k", alg, b"data").unwrap();
            assert!(b.verify("k", alg, b"data", &sig).unwrap(), "{alg:?}");
            if matches!(alg, Algorithm::EdDsa | Algorithm::Hs256) {
                assert_eq!(sig, b.sign("k", alg, b"data").unwrap(), "{alg:?} is deterministic");
            }
        }
    }
}
