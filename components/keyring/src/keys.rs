//! The keyring itself, in plain Rust (natively testable): keys parsed from
//! configuration values, signing, verification and JWKs with the same
//! semantics as the host's native keyring (`host/src/keyring.rs`).
//!
//! Error messages name keys and configuration variables, never key material.

use hmac::{Hmac, Mac};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use rand_core::OsRng;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
use rsa::traits::PublicKeyParts as _;
use serde::Deserialize;
use tmi_auth_core::jwk::{to_jwk, PublicKey};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The configuration variable holding the key list.
pub const SIGNING_KEYS: &str = "signing_keys";

/// A shared HS256 secret shorter than the hash output weakens the MAC
/// (RFC 7518 section 3.2 requires at least 256 bits).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// RSA moduli accepted, in bytes (2048 to 8192 bits, as the host's `ring`).
const RSA_MIN_BYTES: usize = 256;
const RSA_MAX_BYTES: usize = 1024;

/// The JOSE algorithms, shared with the core and the host's keyring.
pub use tmi_auth_core::ports::Algorithm as Alg;
use tmi_auth_core::keyset::{KeyEntry, KeySet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// No key with that id, or the key has another algorithm.
    UnknownKey,
    /// The keyring cannot serve the request (configuration missing or wrong).
    Unavailable(String),
}

impl std::fmt::Display for KeyringError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyringError::UnknownKey => f.write_str("unknown key"),
            KeyringError::Unavailable(msg) => write!(f, "keyring unavailable: {msg}"),
        }
    }
}

enum Material {
    Ed25519(ed25519_dalek::SigningKey),
    Ecdsa(p256::ecdsa::SigningKey),
    /// Boxed: RSA keys are much larger than the others.
    Rsa(
        Box<(
            rsa::pkcs1v15::SigningKey<Sha256>,
            rsa::pkcs1v15::VerifyingKey<Sha256>,
        )>,
    ),
    Hmac(Zeroizing<Vec<u8>>),
}

pub struct Key {
    kid: String,
    alg: Alg,
    material: Material,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// PKCS#8 DER from a PEM document, with a hint for the common mistake of
/// passing a traditional (SEC1 / PKCS#1) key.
fn pkcs8_der(pem_text: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let doc = pem::parse(pem_text).map_err(|_| "not a PEM document".to_string())?;
    match doc.tag() {
        "PRIVATE KEY" => Ok(Zeroizing::new(doc.into_contents())),
        tag => Err(format!(
            "expected a PKCS#8 \"PRIVATE KEY\" PEM, found {tag:?} (convert with `openssl pkcs8 -topk8 -nocrypt`)"
        )),
    }
}

impl Key {
    /// Builds a key from its secret: a PKCS#8 PEM for EdDSA, ES256 and
    /// RS256; the raw shared secret for HS256.
    pub fn from_secret(kid: &str, alg: Alg, secret: &[u8]) -> Result<Self, String> {
        let material = match alg {
            Alg::EdDsa => Material::Ed25519(
                // Accepts PKCS#8 v1 (what OpenSSL writes) as well as v2 (ring).
                ed25519_dalek::SigningKey::from_pkcs8_der(&pkcs8_der(secret)?)
                    .map_err(|_| "not an Ed25519 PKCS#8 key".to_string())?,
            ),
            Alg::Es256 => Material::Ecdsa(
                p256::ecdsa::SigningKey::from_pkcs8_der(&pkcs8_der(secret)?)
                    .map_err(|_| "not a P-256 PKCS#8 key".to_string())?,
            ),
            Alg::Rs256 => {
                let private = rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8_der(secret)?)
                    .map_err(|_| "not an RSA PKCS#8 key".to_string())?;
                if private.size() < RSA_MIN_BYTES {
                    return Err("RSA keys must have at least 2048 bits".into());
                }
                if private.size() > RSA_MAX_BYTES {
                    return Err("RSA keys must have at most 8192 bits".into());
                }
                let verifying = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(private.to_public_key());
                Material::Rsa(Box::new((
                    rsa::pkcs1v15::SigningKey::<Sha256>::new(private),
                    verifying,
                )))
            }
            Alg::Hs256 => {
                if secret.len() < MIN_HMAC_SECRET_LEN {
                    return Err(format!(
                        "HS256 secrets must be at least {MIN_HMAC_SECRET_LEN} bytes"
                    ));
                }
                Material::Hmac(Zeroizing::new(secret.to_vec()))
            }
        };
        Ok(Key {
            kid: kid.to_string(),
            alg,
            material,
        })
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        Ok(match &self.material {
            Material::Ed25519(key) => key.sign(data).to_bytes().to_vec(),
            // JWS wants r || s (64 bytes), not DER; RFC 6979 nonces.
            Material::Ecdsa(key) => {
                let sig: p256::ecdsa::Signature = key.sign(data);
                sig.to_bytes().to_vec()
            }
            // Blinded with fresh randomness, against timing side channels.
            Material::Rsa(pair) => pair
                .0
                .try_sign_with_rng(&mut OsRng, data)
                .map_err(|_| KeyringError::Unavailable("signing failed".into()))?
                .to_vec(),
            Material::Hmac(secret) => hmac_sha256(secret)
                .chain_update(data)
                .finalize()
                .into_bytes()
                .to_vec(),
        })
    }

    fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Ed25519(key) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|sig| key.verifying_key().verify_strict(data, &sig).is_ok()),
            Material::Ecdsa(key) => p256::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|sig| key.verifying_key().verify(data, &sig).is_ok()),
            Material::Rsa(pair) => rsa::pkcs1v15::Signature::try_from(sig)
                .is_ok_and(|sig| pair.1.verify(data, &sig).is_ok()),
            // Constant-time comparison of the MAC.
            Material::Hmac(secret) => hmac_sha256(secret)
                .chain_update(data)
                .verify_slice(sig)
                .is_ok(),
        }
    }
}

impl KeyEntry for Key {
    fn kid(&self) -> &str {
        &self.kid
    }
    fn alg(&self) -> Alg {
        self.alg
    }
    /// The JWK (RFC 7517) of the public half; symmetric keys list no
    /// material at all. Same fields and values as the host's keyring.
    fn jwk(&self) -> String {
        let (ed, point, n, e);
        let public = match &self.material {
            Material::Ed25519(key) => {
                ed = key.verifying_key();
                PublicKey::Ed25519 { x: ed.as_bytes() }
            }
            Material::Ecdsa(key) => {
                point = key.verifying_key().to_encoded_point(false);
                match (point.x(), point.y()) {
                    (Some(x), Some(y)) => PublicKey::P256 { x, y },
                    _ => unreachable!("an uncompressed point has both coordinates"),
                }
            }
            Material::Rsa(pair) => {
                let public: &rsa::RsaPublicKey = pair.1.as_ref();
                (n, e) = (public.n().to_bytes_be(), public.e().to_bytes_be());
                PublicKey::Rsa { n: &n, e: &e }
            }
            Material::Hmac(_) => PublicKey::Symmetric,
        };
        to_jwk(&self.kid, self.alg, public)
    }
}

fn hmac_sha256(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; the minimum is enforced at load.
    <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length")
}

/// One entry of `signing_keys`, as the host's `[[keys]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpec {
    kid: String,
    /// `EdDSA`, `ES256`, `RS256` or `HS256`.
    alg: String,
    /// The name of the configuration variable holding the key material.
    secret: String,
    #[serde(default)]
    signing: bool,
}

/// Values read through `wasi:config` may end in a newline that is not part
/// of the secret (as the host trims secret files).
fn trim_final_newline(value: &str) -> &str {
    value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(value)
}

pub struct Keyring {
    keys: KeySet<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("keys", &self.keys).finish()
    }
}

impl Keyring {
    /// `keys` with the index of the one that signs new tokens.
    pub fn new(keys: Vec<Key>, signing: usize) -> Result<Self, String> {
        Ok(Self { keys: KeySet::new(keys, signing)? })
    }

    /// Loads the keys from configuration: `signing_keys` is a JSON array of
    /// `{"kid", "alg", "secret", "signing"}`, and each `secret` names the
    /// variable holding that key's material. `get` reads one variable
    /// (`Err` when the configuration cannot be read at all).
    pub fn from_config(
        get: impl Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<Self, String> {
        let list = get(SIGNING_KEYS)?
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "no signing keys configured: set the variable {SIGNING_KEYS} to a JSON array of \
                     {{\"kid\", \"alg\", \"secret\", \"signing\"}} objects"
                )
            })?;
        // The parse error's position only: its message could quote the value.
        let specs: Vec<KeySpec> = serde_json::from_str(&list).map_err(|e| {
            format!(
                "{SIGNING_KEYS} must be a JSON array of {{\"kid\", \"alg\", \"secret\", \"signing\"}} objects \
                 (invalid at line {} column {})",
                e.line(),
                e.column()
            )
        })?;
        if specs.is_empty() {
            return Err(format!("{SIGNING_KEYS} lists no keys"));
        }
        let mut keys = Vec::new();
        let mut signing = Vec::new();
        for spec in &specs {
            let alg = Alg::parse(&spec.alg).map_err(|e| format!("key {:?}: {e}", spec.kid))?;
            let secret = get(&spec.secret)?
                .map(Zeroizing::new)
                .ok_or_else(|| {
                    format!(
                        "key {:?}: the variable {:?} is not set (secret variable names are lower_snake_case)",
                        spec.kid, spec.secret
                    )
                })?;
            let key = Key::from_secret(&spec.kid, alg, trim_final_newline(&secret).as_bytes())
                .map_err(|e| format!("key {:?} (variable {:?}): {e}", spec.kid, spec.secret))?;
            if spec.signing {
                signing.push(keys.len());
            }
            keys.push(key);
        }
        let [signing] = signing[..] else {
            return Err(format!(
                "exactly one {SIGNING_KEYS} entry must have \"signing\": true (found {})",
                signing.len()
            ));
        };
        Self::new(keys, signing)
    }

    fn find(&self, kid: &str, alg: Alg) -> Result<&Key, KeyringError> {
        self.keys.find(kid, alg).ok_or(KeyringError::UnknownKey)
    }

    pub fn signing_key(&self) -> (&str, Alg) {
        self.keys.signing_key()
    }

    pub fn sign(&self, kid: &str, alg: Alg, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        self.find(kid, alg)?.sign(data)
    }

    pub fn verify(
        &self,
        kid: &str,
        alg: Alg,
        data: &[u8],
        sig: &[u8],
    ) -> Result<bool, KeyringError> {
        Ok(self.find(kid, alg)?.verify(data, sig))
    }

    pub fn public_keys(&self) -> &[String] {
        self.keys.public_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine as _;
    use rsa::pkcs8::EncodePrivateKey as _;
    use serde_json::{json, Value};
    use std::collections::HashMap;

    fn pem_of(der: &[u8]) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()))
    }

    fn eddsa_pem() -> String {
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        pem_of(key.to_pkcs8_der().unwrap().as_bytes())
    }

    fn es256_pem() -> String {
        let key = p256::SecretKey::random(&mut OsRng);
        pem_of(key.to_pkcs8_der().unwrap().as_bytes())
    }

    fn rs256_pem(bits: usize) -> String {
        let key = rsa::RsaPrivateKey::new(&mut OsRng, bits).unwrap();
        pem_of(key.to_pkcs8_der().unwrap().as_bytes())
    }

    fn one(alg: Alg, secret: &[u8]) -> Keyring {
        Keyring::new(vec![Key::from_secret("k", alg, secret).unwrap()], 0).unwrap()
    }

    fn round_trip(alg: Alg, secret: &[u8]) -> Vec<u8> {
        let ring = one(alg, secret);
        let sig = ring.sign("k", alg, b"header.payload").unwrap();
        assert!(
            ring.verify("k", alg, b"header.payload", &sig).unwrap(),
            "{alg:?}"
        );
        assert!(
            !ring.verify("k", alg, b"header.payloaD", &sig).unwrap(),
            "{alg:?} tampered data"
        );
        let mut bad = sig.clone();
        bad[0] ^= 1;
        assert!(
            !ring.verify("k", alg, b"header.payload", &bad).unwrap(),
            "{alg:?} tampered sig"
        );
        assert!(
            !ring.verify("k", alg, b"header.payload", &sig[1..]).unwrap(),
            "{alg:?} short sig"
        );
        assert!(
            !ring.verify("k", alg, b"header.payload", &[]).unwrap(),
            "{alg:?} empty sig"
        );
        sig
    }

    #[test]
    fn eddsa_round_trip() {
        assert_eq!(round_trip(Alg::EdDsa, eddsa_pem().as_bytes()).len(), 64);
    }

    #[test]
    fn es256_round_trip_with_fixed_length_signature() {
        // JWS wants r || s, 64 bytes, not DER.
        assert_eq!(round_trip(Alg::Es256, es256_pem().as_bytes()).len(), 64);
    }

    #[test]
    fn rs256_round_trip() {
        assert_eq!(
            round_trip(Alg::Rs256, rs256_pem(2048).as_bytes()).len(),
            256
        );
    }

    #[test]
    fn hs256_round_trip_is_plain_hmac_sha256() {
        round_trip(Alg::Hs256, &[7u8; 32]);
        let ring = one(Alg::Hs256, &[0x0b; 32]);
        let expected = Hmac::<Sha256>::new_from_slice(&[0x0b; 32])
            .unwrap()
            .chain_update(b"Hi There")
            .finalize()
            .into_bytes();
        assert_eq!(
            ring.sign("k", Alg::Hs256, b"Hi There").unwrap(),
            expected.to_vec()
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Key::from_secret("k", Alg::Hs256, &[7u8; 31]).is_err());
        let err = Key::from_secret("k", Alg::Rs256, rs256_pem(1024).as_bytes()).unwrap_err();
        assert!(err.contains("2048"), "{err}");
    }

    #[test]
    fn alg_mismatch_is_unknown_key() {
        let ring = one(Alg::Es256, es256_pem().as_bytes());
        assert_eq!(
            ring.sign("k", Alg::Hs256, b"x"),
            Err(KeyringError::UnknownKey)
        );
        assert_eq!(
            ring.sign("k", Alg::EdDsa, b"x"),
            Err(KeyringError::UnknownKey)
        );
        assert_eq!(
            ring.sign("other", Alg::Es256, b"x"),
            Err(KeyringError::UnknownKey)
        );
        let sig = ring.sign("k", Alg::Es256, b"x").unwrap();
        assert_eq!(
            ring.verify("k", Alg::EdDsa, b"x", &sig),
            Err(KeyringError::UnknownKey)
        );
        assert_eq!(
            ring.verify("k", Alg::Rs256, b"x", &sig),
            Err(KeyringError::UnknownKey)
        );
    }

    #[test]
    fn wrong_key_kinds_are_explained() {
        let sec1 = pem::encode(&pem::Pem::new("EC PRIVATE KEY", vec![1, 2, 3]));
        let err = Key::from_secret("k", Alg::Es256, sec1.as_bytes()).unwrap_err();
        assert!(err.contains("pkcs8"), "{err}");
        assert!(Key::from_secret("k", Alg::EdDsa, es256_pem().as_bytes()).is_err());
        assert!(Key::from_secret("k", Alg::Es256, eddsa_pem().as_bytes()).is_err());
        assert!(Key::from_secret("k", Alg::Rs256, es256_pem().as_bytes()).is_err());
        assert!(Key::from_secret("k", Alg::Es256, b"not a pem").is_err());
    }

    #[test]
    fn jwk_shapes() {
        let ring = Keyring::new(
            vec![
                Key::from_secret("e", Alg::Es256, es256_pem().as_bytes()).unwrap(),
                Key::from_secret("o", Alg::EdDsa, eddsa_pem().as_bytes()).unwrap(),
                Key::from_secret("r", Alg::Rs256, rs256_pem(2048).as_bytes()).unwrap(),
                Key::from_secret("h", Alg::Hs256, &[9u8; 40]).unwrap(),
            ],
            0,
        )
        .unwrap();
        let jwks: Vec<Value> = ring
            .public_keys()
            .iter()
            .map(|j| serde_json::from_str(j).unwrap())
            .collect();
        let field_names = |v: &Value| {
            let mut names: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            names.sort();
            names
        };
        let b64len = |v: &Value| B64URL.decode(v.as_str().unwrap()).unwrap().len();

        let ec = &jwks[0];
        assert_eq!(
            field_names(ec),
            ["alg", "crv", "kid", "kty", "use", "x", "y"]
        );
        assert_eq!(
            (&ec["kty"], &ec["crv"], &ec["alg"]),
            (&json!("EC"), &json!("P-256"), &json!("ES256"))
        );
        assert_eq!((&ec["use"], &ec["kid"]), (&json!("sig"), &json!("e")));
        assert_eq!((b64len(&ec["x"]), b64len(&ec["y"])), (32, 32));

        let okp = &jwks[1];
        assert_eq!(field_names(okp), ["alg", "crv", "kid", "kty", "use", "x"]);
        assert_eq!(
            (&okp["kty"], &okp["crv"], &okp["alg"]),
            (&json!("OKP"), &json!("Ed25519"), &json!("EdDSA"))
        );
        assert_eq!(b64len(&okp["x"]), 32);

        let rsa = &jwks[2];
        assert_eq!(field_names(rsa), ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(
            (&rsa["kty"], &rsa["alg"], &rsa["e"]),
            (&json!("RSA"), &json!("RS256"), &json!("AQAB"))
        );
        assert_eq!(b64len(&rsa["n"]), 256);

        assert_eq!(
            jwks[3],
            json!({"kty": "oct", "use": "sig", "alg": "HS256", "kid": "h"})
        );
    }

    fn config(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Result<Option<String>, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| Ok(map.get(k).cloned())
    }

    #[test]
    fn keys_come_from_configuration() {
        let pem = eddsa_pem();
        let keys = r#"[{"kid":"a","alg":"EdDSA","secret":"key_a","signing":true},
                       {"kid":"b","alg":"HS256","secret":"key_b"}]"#;
        let hs = format!("{}\n", "b".repeat(32));
        let ring = Keyring::from_config(config(&[
            ("signing_keys", keys),
            ("key_a", pem.as_str()),
            ("key_b", hs.as_str()),
        ]))
        .unwrap();
        assert_eq!(ring.signing_key(), ("a", Alg::EdDsa));
        assert_eq!(ring.public_keys().len(), 2);
        // The final newline is not part of the HS256 secret.
        let mac = ring.sign("b", Alg::Hs256, b"x").unwrap();
        assert!(one(Alg::Hs256, "b".repeat(32).as_bytes())
            .verify("k", Alg::Hs256, b"x", &mac)
            .unwrap());
    }

    #[test]
    fn configuration_errors_never_show_key_material() {
        let secret = "s3cr3t-".repeat(3); // 21 bytes: too short for HS256
        let pem = es256_pem();
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "no signing keys configured"),
            (vec![("signing_keys", "")], "no signing keys configured"),
            (vec![("signing_keys", "[]")], "lists no keys"),
            (vec![("signing_keys", r#"{"kid":"a"}"#)], "JSON array"),
            (
                vec![(
                    "signing_keys",
                    r#"[{"kid":"a","alg":"HS256","secret":"k","signing":true,"extra":1}]"#,
                )],
                "JSON array",
            ),
            (
                vec![(
                    "signing_keys",
                    r#"[{"kid":"a","alg":"none","secret":"k","signing":true}]"#,
                )],
                "unsupported algorithm",
            ),
            (
                vec![(
                    "signing_keys",
                    r#"[{"kid":"a","alg":"HS256","secret":"k","signing":true}]"#,
                )],
                "\"k\" is not set",
            ),
            (
                vec![
                    (
                        "signing_keys",
                        r#"[{"kid":"a","alg":"HS256","secret":"k","signing":true}]"#,
                    ),
                    ("k", secret.as_str()),
                ],
                "at least 32 bytes",
            ),
            (
                vec![
                    (
                        "signing_keys",
                        r#"[{"kid":"a","alg":"EdDSA","secret":"k","signing":true}]"#,
                    ),
                    ("k", pem.as_str()),
                ],
                "not an Ed25519",
            ),
            (
                vec![
                    (
                        "signing_keys",
                        r#"[{"kid":"a","alg":"ES256","secret":"k"}]"#,
                    ),
                    ("k", pem.as_str()),
                ],
                "exactly one",
            ),
            (
                vec![
                    (
                        "signing_keys",
                        r#"[{"kid":"a","alg":"ES256","secret":"k","signing":true},{"kid":"a","alg":"ES256","secret":"k"}]"#,
                    ),
                    ("k", pem.as_str()),
                ],
                "duplicate key id",
            ),
        ];
        for (pairs, expected) in cases {
            let err = Keyring::from_config(config(&pairs)).unwrap_err();
            assert!(err.contains(expected), "{pairs:?}: {err}");
            assert!(
                !err.contains("s3cr3t")
                    && !err.contains("PRIVATE KEY")
                    && !err.contains(&pem[30..60]),
                "{err}"
            );
        }
        let err = Keyring::from_config(|_| Err("store down".to_string())).unwrap_err();
        assert_eq!(err, "store down");
    }

    #[test]
    fn signatures_verify_with_independent_implementations() {
        // EdDSA: a fresh verifying key from the JWK's x.
        let ring = one(Alg::EdDsa, eddsa_pem().as_bytes());
        let jwk: Value = serde_json::from_str(&ring.public_keys()[0]).unwrap();
        let x: [u8; 32] = B64URL
            .decode(jwk["x"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
        let sig = ring.sign("k", Alg::EdDsa, b"data").unwrap();
        public
            .verify_strict(
                b"data",
                &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
            )
            .unwrap();

        // ES256: a verifying key rebuilt from the JWK's x and y.
        let ring = one(Alg::Es256, es256_pem().as_bytes());
        let jwk: Value = serde_json::from_str(&ring.public_keys()[0]).unwrap();
        let mut sec1 = vec![4u8];
        sec1.extend(B64URL.decode(jwk["x"].as_str().unwrap()).unwrap());
        sec1.extend(B64URL.decode(jwk["y"].as_str().unwrap()).unwrap());
        let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let sig = ring.sign("k", Alg::Es256, b"data").unwrap();
        public
            .verify(b"data", &p256::ecdsa::Signature::from_slice(&sig).unwrap())
            .unwrap();

        // RS256: a public key rebuilt from the JWK's n and e.
        let ring = one(Alg::Rs256, rs256_pem(2048).as_bytes());
        let jwk: Value = serde_json::from_str(&ring.public_keys()[0]).unwrap();
        let n = rsa::BigUint::from_bytes_be(&B64URL.decode(jwk["n"].as_str().unwrap()).unwrap());
        let e = rsa::BigUint::from_bytes_be(&B64URL.decode(jwk["e"].as_str().unwrap()).unwrap());
        let public = rsa::RsaPublicKey::new(n, e).unwrap();
        let sig = ring.sign("k", Alg::Rs256, b"data").unwrap();
        let digest = <Sha256 as sha2::Digest>::digest(b"data");
        public
            .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, &sig)
            .unwrap();
    }
}
