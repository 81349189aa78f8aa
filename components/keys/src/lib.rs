//! tmi-auth-keys: the signing keys of tmi-auth, shared by the core (which
//! names algorithms and publishes JWKs), the host's native keyring and the
//! keyring component (which hold the keys).
//!
//! One set of rules for both keyrings: which algorithms exist, how a key's
//! secret is written (PKCS#8 PEM, or an HS256 secret of at least 32 bytes),
//! that key ids are unique and exactly one key signs, that a key is only
//! ever used with its own algorithm, and how its JWK looks. Only the key
//! material differs: `ring` in the host process ([`ring_material`]),
//! RustCrypto inside WebAssembly ([`rustcrypto_material`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod algorithm;
pub mod jwk;
mod keyring;
pub mod secret;

#[cfg(feature = "ring")]
pub mod ring_material;
#[cfg(feature = "rustcrypto")]
pub mod rustcrypto_material;

pub use algorithm::{Algorithm, KeyInfo};
pub use keyring::{Key, KeyMaterial, KeySpec, Keyring, KeyringError};

/// `From` conversions both ways between [`Algorithm`] and a generated WIT
/// `tmi:auth/keyring` `algorithm` enum, so every binding maps it the same
/// way: `tmi_auth_keys::wit_algorithm_conversions!(path::to::Algorithm);`.
#[macro_export]
macro_rules! wit_algorithm_conversions {
    ($wit:ty) => {
        impl From<$wit> for $crate::Algorithm {
            fn from(a: $wit) -> Self {
                match a {
                    <$wit>::Eddsa => $crate::Algorithm::EdDsa,
                    <$wit>::Es256 => $crate::Algorithm::Es256,
                    <$wit>::Rs256 => $crate::Algorithm::Rs256,
                    <$wit>::Hs256 => $crate::Algorithm::Hs256,
                }
            }
        }
        impl From<$crate::Algorithm> for $wit {
            fn from(a: $crate::Algorithm) -> Self {
                match a {
                    $crate::Algorithm::EdDsa => <$wit>::Eddsa,
                    $crate::Algorithm::Es256 => <$wit>::Es256,
                    $crate::Algorithm::Rs256 => <$wit>::Rs256,
                    $crate::Algorithm::Hs256 => <$wit>::Hs256,
                }
            }
        }
    };
}

/// Keys generated at test time, and a verifier independent of both materials.
#[cfg(test)]
pub(crate) mod test_keys {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine as _;
    use rand_core::OsRng;
    use rsa::pkcs8::EncodePrivateKey as _;
    use serde_json::Value;

    use crate::{Algorithm, KeyMaterial, Keyring};

    fn pem_of(der: &[u8]) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()))
    }

    pub fn eddsa_pem() -> String {
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
        pem_of(ed25519_dalek::SigningKey::from_bytes(&seed).to_pkcs8_der().unwrap().as_bytes())
    }

    pub fn es256_pem() -> String {
        pem_of(p256::SecretKey::random(&mut OsRng).to_pkcs8_der().unwrap().as_bytes())
    }

    pub fn rs256_pem(bits: usize) -> String {
        pem_of(rsa::RsaPrivateKey::new(&mut OsRng, bits).unwrap().to_pkcs8_der().unwrap().as_bytes())
    }

    /// An OpenSSL-generated PKCS#8 PEM, or `None` (with a note) without openssl.
    pub fn openssl_key(args: &[&str]) -> Option<Vec<u8>> {
        match std::process::Command::new("openssl").arg("genpkey").args(args).output() {
            Ok(out) if out.status.success() => Some(out.stdout),
            Ok(out) => panic!("openssl genpkey {args:?} failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => {
                eprintln!("note: skipping openssl-generated key case ({args:?}): openssl not available: {e}");
                None
            }
        }
    }

    /// Sign with key `k` and verify with a public key rebuilt from its JWK.
    pub fn verify_independently<M: KeyMaterial>(ring: &Keyring<M>, alg: Algorithm) {
        use p256::ecdsa::signature::Verifier as _;
        let jwk: Value = serde_json::from_str(&ring.public_keys()[0]).unwrap();
        let field = |name: &str| B64URL.decode(jwk[name].as_str().unwrap()).unwrap();
        let sig = ring.sign("k", alg, b"data").unwrap();
        match alg {
            Algorithm::EdDsa => {
                let public = ed25519_dalek::VerifyingKey::from_bytes(&field("x").try_into().unwrap()).unwrap();
                public.verify_strict(b"data", &ed25519_dalek::Signature::from_slice(&sig).unwrap()).unwrap();
            }
            Algorithm::Es256 => {
                let mut sec1 = vec![4u8];
                sec1.extend(field("x"));
                sec1.extend(field("y"));
                let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
                public.verify(b"data", &p256::ecdsa::Signature::from_slice(&sig).unwrap()).unwrap();
            }
            Algorithm::Rs256 => {
                let public = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(&field("n")), rsa::BigUint::from_bytes_be(&field("e"))).unwrap();
                let digest = <sha2::Sha256 as sha2::Digest>::digest(b"data");
                public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &sig).unwrap();
            }
            Algorithm::Hs256 => unreachable!("no public key to verify with"),
        }
    }
}
