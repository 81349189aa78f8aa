//! The keyring both hosts run: keys with unique ids, one that signs new
//! tokens, lookup by key id *and* algorithm, and the JWKs they publish.
//! The key material is a [`KeyMaterial`] of the host's choosing.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::jwk::{to_jwk, PublicKey};
use crate::Algorithm;

/// Why the keyring cannot serve a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// No key with that id, or the key has another algorithm.
    UnknownKey,
    /// The keyring cannot serve the request now (e.g. keys not loaded).
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

impl std::error::Error for KeyringError {}

/// Parsed key material of one algorithm: signs, verifies, shows its public half.
pub trait KeyMaterial: Sized {
    /// Parse a key's secret: a PKCS#8 PEM for EdDSA, ES256 and RS256, the
    /// raw shared secret for HS256 (see [`crate::secret`]). Errors never
    /// quote the secret.
    fn from_secret(alg: Algorithm, secret: &[u8]) -> Result<Self, String>;
    /// Sign `data` (JWS form: r || s for ES256).
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyringError>;
    /// Check a signature (HMACs in constant time).
    fn verify(&self, data: &[u8], signature: &[u8]) -> bool;
    /// The public half, for the JWK.
    fn public_key(&self) -> PublicKey<'_>;
}

/// A key: its id, its one algorithm and its material.
pub struct Key<M> {
    kid: String,
    alg: Algorithm,
    material: M,
}

impl<M> std::fmt::Debug for Key<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl<M: KeyMaterial> Key<M> {
    /// Build a key from its secret.
    pub fn from_secret(kid: &str, alg: Algorithm, secret: &[u8]) -> Result<Self, String> {
        Ok(Key { kid: kid.to_string(), alg, material: M::from_secret(alg, secret)? })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's JWK.
    pub fn jwk(&self) -> String {
        to_jwk(&self.kid, self.alg, self.material.public_key())
    }
}

/// One configured key: the host's `[[keys]]` table, the keyring
/// component's `signing_keys` JSON array.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// The key id.
    pub kid: String,
    /// `EdDSA`, `ES256`, `RS256` or `HS256`.
    pub alg: String,
    /// The name of the secret holding the key material.
    pub secret: String,
    /// Whether this key signs new tokens (exactly one does).
    #[serde(default)]
    pub signing: bool,
}

/// Keys with unique ids, of which one signs.
pub struct Keyring<M> {
    keys: Vec<Key<M>>,
    signing: usize,
    jwks: Vec<String>,
}

impl<M> std::fmt::Debug for Keyring<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("keys", &self.keys).field("signing", &self.signing).finish()
    }
}

impl<M: KeyMaterial> Keyring<M> {
    /// `keys`, of which `keys[signing]` signs; key ids must be unique.
    pub fn new(keys: Vec<Key<M>>, signing: usize) -> Result<Self, String> {
        if signing >= keys.len() {
            return Err("no signing key".into());
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.kid == key.kid) {
                return Err(format!("duplicate key id {:?}", key.kid));
            }
        }
        let jwks = keys.iter().map(Key::jwk).collect();
        Ok(Keyring { keys, signing, jwks })
    }

    /// Load configured keys; `secret` reads a key's secret by name (`None`
    /// when it is not set). `source` names where secrets live in errors
    /// (e.g. "secret" or "variable"); errors never show key material.
    pub fn load(
        specs: &[KeySpec],
        source: &str,
        mut secret: impl FnMut(&str) -> Result<Option<Zeroizing<Vec<u8>>>, String>,
    ) -> Result<Self, String> {
        if specs.is_empty() {
            return Err("no keys are listed".into());
        }
        let mut keys = Vec::new();
        let mut signing = Vec::new();
        for spec in specs {
            let alg = Algorithm::parse(&spec.alg).map_err(|e| format!("key {:?}: {e}", spec.kid))?;
            let value = secret(&spec.secret)?.ok_or_else(|| {
                format!("key {:?}: the {source} {:?} is not set", spec.kid, spec.secret)
            })?;
            let key = Key::from_secret(&spec.kid, alg, crate::secret::trim_final_newline(&value))
                .map_err(|e| format!("key {:?} ({source} {:?}): {e}", spec.kid, spec.secret))?;
            if spec.signing {
                signing.push(keys.len());
            }
            keys.push(key);
        }
        let [signing] = signing[..] else {
            return Err(format!("exactly one key must be the signing key (found {})", signing.len()));
        };
        Self::new(keys, signing)
    }

    /// The key `kid` if it has algorithm `alg`. A kid asked for with
    /// another algorithm is unknown, so a token cannot pick a weaker
    /// algorithm for a known key (RFC 8725 §2.1).
    fn find(&self, kid: &str, alg: Algorithm) -> Result<&Key<M>, KeyringError> {
        self.keys.iter().find(|k| k.kid == kid && k.alg == alg).ok_or(KeyringError::UnknownKey)
    }

    /// The id and algorithm of the key that signs new tokens.
    pub fn signing_key(&self) -> (&str, Algorithm) {
        let key = &self.keys[self.signing];
        (&key.kid, key.alg)
    }

    /// Sign `data` with key `kid`, which must have algorithm `alg`.
    pub fn sign(&self, kid: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        self.find(kid, alg)?.material.sign(data)
    }

    /// Check `signature` over `data` with key `kid` of algorithm `alg`.
    pub fn verify(&self, kid: &str, alg: Algorithm, data: &[u8], signature: &[u8]) -> Result<bool, KeyringError> {
        Ok(self.find(kid, alg)?.material.verify(data, signature))
    }

    /// Every key's JWK.
    pub fn public_keys(&self) -> &[String] {
        &self.jwks
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Never true once built; for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// "N key(s), signing with KID (ALG)", for the log.
    pub fn describe(&self) -> String {
        let (kid, alg) = self.signing_key();
        format!("{} key(s), signing with {kid} ({})", self.keys.len(), alg.name())
    }
}

/// Shared tests of a [`KeyMaterial`] backend.
#[cfg(test)]
pub(crate) mod conformance {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine as _;
    use serde_json::{json, Value};

    pub fn one<M: KeyMaterial>(alg: Algorithm, secret: &[u8]) -> Keyring<M> {
        Keyring::new(vec![Key::from_secret("k", alg, secret).unwrap()], 0).unwrap()
    }

    /// Sign, verify, and refuse tampered data and signatures; returns the signature.
    pub fn round_trip<M: KeyMaterial>(alg: Algorithm, secret: &[u8]) -> Vec<u8> {
        let ring = one::<M>(alg, secret);
        let sig = ring.sign("k", alg, b"header.payload").unwrap();
        assert!(ring.verify("k", alg, b"header.payload", &sig).unwrap(), "{alg:?}");
        assert!(!ring.verify("k", alg, b"header.payloaD", &sig).unwrap(), "{alg:?} tampered data");
        let mut bad = sig.clone();
        bad[0] ^= 1;
        assert!(!ring.verify("k", alg, b"header.payload", &bad).unwrap(), "{alg:?} tampered sig");
        assert!(!ring.verify("k", alg, b"header.payload", &sig[1..]).unwrap(), "{alg:?} short sig");
        assert!(!ring.verify("k", alg, b"header.payload", &[]).unwrap(), "{alg:?} empty sig");
        sig
    }

    /// Keys as OpenSSL writes them (PKCS#8 v1) load and sign.
    pub fn openssl_keys_load<M: KeyMaterial>() {
        for (alg, args) in [
            (Algorithm::Rs256, &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..]),
            (Algorithm::Es256, &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..]),
            (Algorithm::EdDsa, &["-algorithm", "ED25519"][..]),
        ] {
            if let Some(pem) = crate::test_keys::openssl_key(args) {
                round_trip::<M>(alg, &pem);
            }
        }
    }

    /// A kid is only ever used with its own algorithm.
    pub fn alg_mismatch_is_unknown_key<M: KeyMaterial>(es256_pem: &[u8]) {
        let ring = one::<M>(Algorithm::Es256, es256_pem);
        assert_eq!(ring.sign("k", Algorithm::Hs256, b"x"), Err(KeyringError::UnknownKey));
        assert_eq!(ring.sign("k", Algorithm::EdDsa, b"x"), Err(KeyringError::UnknownKey));
        assert_eq!(ring.sign("other", Algorithm::Es256, b"x"), Err(KeyringError::UnknownKey));
        let sig = ring.sign("k", Algorithm::Es256, b"x").unwrap();
        assert_eq!(ring.verify("k", Algorithm::EdDsa, b"x", &sig), Err(KeyringError::UnknownKey));
        assert_eq!(ring.verify("k", Algorithm::Rs256, b"x", &sig), Err(KeyringError::UnknownKey));
    }

    /// The JWK fields of each kind of key, and no private parts.
    pub fn jwk_shapes<M: KeyMaterial>(es256: &[u8], eddsa: &[u8], rs256: &[u8]) {
        let ring = Keyring::<M>::new(
            vec![
                Key::from_secret("e", Algorithm::Es256, es256).unwrap(),
                Key::from_secret("o", Algorithm::EdDsa, eddsa).unwrap(),
                Key::from_secret("r", Algorithm::Rs256, rs256).unwrap(),
                Key::from_secret("h", Algorithm::Hs256, &[9u8; 40]).unwrap(),
            ],
            0,
        )
        .unwrap();
        let jwks: Vec<Value> = ring.public_keys().iter().map(|j| serde_json::from_str(j).unwrap()).collect();
        let names = |v: &Value| {
            let mut names: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            names.sort();
            names
        };
        let b64len = |v: &Value| B64URL.decode(v.as_str().unwrap()).unwrap().len();
        let ec = &jwks[0];
        assert_eq!(names(ec), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
        assert_eq!((&ec["kty"], &ec["crv"], &ec["alg"]), (&json!("EC"), &json!("P-256"), &json!("ES256")));
        assert_eq!((&ec["use"], &ec["kid"]), (&json!("sig"), &json!("e")));
        assert_eq!((b64len(&ec["x"]), b64len(&ec["y"])), (32, 32));
        let okp = &jwks[1];
        assert_eq!(names(okp), ["alg", "crv", "kid", "kty", "use", "x"]);
        assert_eq!((&okp["kty"], &okp["crv"], &okp["alg"]), (&json!("OKP"), &json!("Ed25519"), &json!("EdDSA")));
        assert_eq!(b64len(&okp["x"]), 32);
        let rsa = &jwks[2];
        assert_eq!(names(rsa), ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!((&rsa["kty"], &rsa["alg"], &rsa["e"]), (&json!("RSA"), &json!("RS256"), &json!("AQAB")));
        assert_eq!(b64len(&rsa["n"]), 256);
        assert_eq!(jwks[3], json!({"kty": "oct", "use": "sig", "alg": "HS256", "kid": "h"}));
    }

    /// Loading from specs: the rules and messages, never key material.
    pub fn loading_rules<M: KeyMaterial>(es256: &str) {
        let spec = |kid: &str, alg: &str, secret: &str, signing: bool| KeySpec {
            kid: kid.into(),
            alg: alg.into(),
            secret: secret.into(),
            signing,
        };
        let weak = "s3cr3t-".repeat(3); // 21 bytes: too short for HS256
        let secrets = |name: &str| -> Result<Option<Zeroizing<Vec<u8>>>, String> {
            Ok(match name {
                "pem" => Some(Zeroizing::new(format!("{es256}\n").into_bytes())),
                "weak" => Some(Zeroizing::new(weak.clone().into_bytes())),
                "hs" => Some(Zeroizing::new(format!("{}\r\n", "b".repeat(32)).into_bytes())),
                _ => None,
            })
        };
        let ring = Keyring::<M>::load(&[spec("a", "ES256", "pem", true), spec("b", "HS256", "hs", false)], "secret", secrets).unwrap();
        assert_eq!(ring.signing_key(), ("a", Algorithm::Es256));
        assert_eq!(ring.describe(), "2 key(s), signing with a (ES256)");
        // The final newline is not part of the HS256 secret.
        let mac = ring.sign("b", Algorithm::Hs256, b"x").unwrap();
        assert!(one::<M>(Algorithm::Hs256, "b".repeat(32).as_bytes()).verify("k", Algorithm::Hs256, b"x", &mac).unwrap());

        let cases: Vec<(Vec<KeySpec>, &str)> = vec![
            (vec![], "no keys are listed"),
            (vec![spec("a", "none", "pem", true)], "unsupported algorithm"),
            (vec![spec("a", "HS256", "missing", true)], "the secret \"missing\" is not set"),
            (vec![spec("a", "HS256", "weak", true)], "at least 32 bytes"),
            (vec![spec("a", "EdDSA", "pem", true)], "not an Ed25519"),
            (vec![spec("a", "ES256", "pem", false)], "exactly one"),
            (vec![spec("a", "ES256", "pem", true), spec("b", "ES256", "pem", true)], "exactly one"),
            (vec![spec("a", "ES256", "pem", true), spec("a", "ES256", "pem", false)], "duplicate key id"),
        ];
        for (specs, expected) in cases {
            let err = Keyring::<M>::load(&specs, "secret", secrets).unwrap_err();
            assert!(err.contains(expected), "{specs:?}: {err}");
            assert!(!err.contains("s3cr3t") && !err.contains("PRIVATE KEY") && !err.contains(&es256[30..60]), "{err}");
        }
        assert_eq!(Keyring::<M>::load(&[spec("a", "ES256", "pem", true)], "secret", |_| Err("store down".into())).unwrap_err(), "store down");
    }
}
