//! The native implementation of `tmi:auth/keyring`: private and shared key
//! material stays in the host process; the component only asks for
//! signatures and verifications (and, for JWKS, public keys).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use ring::{hmac, rsa};
use tmi_auth_core::jwk::{to_jwk, PublicKey};
use tmi_auth_core::keyset::{KeyEntry, KeySet};

use crate::bindings::keyring as wit;
use crate::config::Config;
use crate::secrets::Secrets;
use crate::state::State;

/// A shared HS256 secret shorter than the hash output weakens the MAC
/// (RFC 7518 section 3.2 requires at least 256 bits).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// The JOSE algorithms, shared with the core and the keyring component.
pub use tmi_auth_core::ports::Algorithm as Alg;

impl From<wit::Algorithm> for Alg {
    fn from(a: wit::Algorithm) -> Self {
        match a {
            wit::Algorithm::Eddsa => Alg::EdDsa,
            wit::Algorithm::Es256 => Alg::Es256,
            wit::Algorithm::Rs256 => Alg::Rs256,
            wit::Algorithm::Hs256 => Alg::Hs256,
        }
    }
}

impl From<Alg> for wit::Algorithm {
    fn from(a: Alg) -> Self {
        match a {
            Alg::EdDsa => wit::Algorithm::Eddsa,
            Alg::Es256 => wit::Algorithm::Es256,
            Alg::Rs256 => wit::Algorithm::Rs256,
            Alg::Hs256 => wit::Algorithm::Hs256,
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("unknown key")]
    UnknownKey,
    #[error("keyring unavailable: {0}")]
    Unavailable(String),
}

enum Material {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair, rsa::PublicKeyComponents<Vec<u8>>),
    Hmac(hmac::Key),
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
fn pkcs8_der(pem_text: &[u8]) -> Result<Vec<u8>> {
    let doc = pem::parse(pem_text).context("not a PEM document")?;
    match doc.tag() {
        "PRIVATE KEY" => Ok(doc.into_contents()),
        tag => bail!(
            "expected a PKCS#8 \"PRIVATE KEY\" PEM, found {tag:?} (convert with `openssl pkcs8 -topk8 -nocrypt`)"
        ),
    }
}

impl Key {
    /// Builds a key from its secret: a PKCS#8 PEM for EdDSA, ES256 and
    /// RS256; the raw shared secret for HS256.
    pub fn from_secret(kid: &str, alg: Alg, secret: &[u8]) -> Result<Self> {
        let rng = SystemRandom::new();
        let material = match alg {
            Alg::EdDsa => Material::Ed25519(
                // Accepts PKCS#8 v1 (what OpenSSL writes) as well as v2.
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8_der(secret)?)
                    .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 key: {e}"))?,
            ),
            Alg::Es256 => Material::Ecdsa(
                EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8_der(secret)?,
                    &rng,
                )
                .map_err(|e| anyhow::anyhow!("not a P-256 PKCS#8 key: {e}"))?,
            ),
            Alg::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(&pkcs8_der(secret)?)
                    .map_err(|e| anyhow::anyhow!("not an RSA PKCS#8 key: {e}"))?;
                if pair.public().modulus_len() < 256 {
                    bail!("RSA keys must have at least 2048 bits");
                }
                let components = rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
                Material::Rsa(pair, components)
            }
            Alg::Hs256 => {
                if secret.len() < MIN_HMAC_SECRET_LEN {
                    bail!("HS256 secrets must be at least {MIN_HMAC_SECRET_LEN} bytes");
                }
                Material::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret))
            }
        };
        Ok(Key {
            kid: kid.to_string(),
            alg,
            material,
        })
    }

    fn sign(&self, data: &[u8], rng: &SystemRandom) -> Result<Vec<u8>, KeyringError> {
        let failed = |_| KeyringError::Unavailable("signing failed".into());
        Ok(match &self.material {
            Material::Ed25519(pair) => pair.sign(data).as_ref().to_vec(),
            Material::Ecdsa(pair) => pair.sign(rng, data).map_err(failed)?.as_ref().to_vec(),
            Material::Rsa(pair, _) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, rng, data, &mut sig)
                    .map_err(failed)?;
                sig
            }
            Material::Hmac(key) => hmac::sign(key, data).as_ref().to_vec(),
        })
    }

    fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Ed25519(pair) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, pair.public_key())
                    .verify(data, sig)
                    .is_ok()
            }
            Material::Ecdsa(pair) => signature::UnparsedPublicKey::new(
                &signature::ECDSA_P256_SHA256_FIXED,
                pair.public_key(),
            )
            .verify(data, sig)
            .is_ok(),
            Material::Rsa(_, public) => public
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, data, sig)
                .is_ok(),
            // Constant-time comparison of the MAC.
            Material::Hmac(key) => hmac::verify(key, data, sig).is_ok(),
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
    /// material at all.
    fn jwk(&self) -> String {
        let public = match &self.material {
            Material::Ed25519(pair) => PublicKey::Ed25519 { x: pair.public_key().as_ref() },
            // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
            Material::Ecdsa(pair) => {
                let point = pair.public_key().as_ref();
                PublicKey::P256 { x: &point[1..33], y: &point[33..65] }
            }
            Material::Rsa(_, public) => PublicKey::Rsa { n: &public.n, e: &public.e },
            Material::Hmac(_) => PublicKey::Symmetric,
        };
        to_jwk(&self.kid, self.alg, public)
    }
}

pub struct Keyring {
    keys: KeySet<Key>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("keys", &self.keys).finish()
    }
}

impl Keyring {
    /// `keys` with the index of the one that signs new tokens.
    pub fn new(keys: Vec<Key>, signing: usize) -> Result<Self> {
        Ok(Self { keys: KeySet::new(keys, signing).map_err(anyhow::Error::msg)?, rng: SystemRandom::new() })
    }

    /// The keys from `[[keys]]`, or with `--dev` and no keys, generated
    /// development keys.
    pub fn load(config: &Config, secrets: &Secrets, data_dir: &Path, dev: bool) -> Result<Self> {
        let specs = config.keys();
        if specs.is_empty() {
            if !dev {
                bail!(
                    "no signing keys configured: add a [[keys]] table to the config file \
                     (kid, alg, secret, signing = true), or run with --dev for generated development keys"
                );
            }
            return Self::load_dev(&data_dir.join("dev-keys"));
        }
        let mut keys = Vec::new();
        let mut signing = Vec::new();
        for spec in specs {
            let alg = Alg::parse(&spec.alg)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("key {:?}", spec.kid))?;
            let secret = secrets
                .require(&spec.secret)
                .with_context(|| format!("key {:?}", spec.kid))?;
            let key = Key::from_secret(&spec.kid, alg, secret.expose())
                .with_context(|| format!("key {:?} (secret {:?})", spec.kid, spec.secret))?;
            if spec.signing {
                signing.push(keys.len());
            }
            keys.push(key);
        }
        let [signing] = signing[..] else {
            bail!(
                "exactly one [[keys]] entry must have `signing = true` (found {})",
                signing.len()
            );
        };
        Self::new(keys, signing)
    }

    /// Development keys, generated once and reused so tokens survive a
    /// restart. Never for production: they sit unencrypted on disk.
    pub fn load_dev(dir: &Path) -> Result<Self> {
        tracing::warn!(
            dir = %dir.display(),
            "USING GENERATED DEVELOPMENT SIGNING KEYS (--dev without [[keys]]): NOT FOR PRODUCTION"
        );
        create_private_dir(dir)?;
        let rng = SystemRandom::new();
        let es256 = dev_secret(&dir.join("es256.pem"), || {
            let doc =
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| anyhow::anyhow!("generating an ES256 key"))?;
            Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", doc.as_ref())).into_bytes())
        })?;
        let eddsa = dev_secret(&dir.join("eddsa.pem"), || {
            let doc = Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| anyhow::anyhow!("generating an Ed25519 key"))?;
            Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", doc.as_ref())).into_bytes())
        })?;
        let hs256 = dev_secret(&dir.join("hs256.secret"), || {
            let mut raw = [0u8; 32];
            rng.fill(&mut raw)
                .map_err(|_| anyhow::anyhow!("generating an HS256 secret"))?;
            Ok(B64URL.encode(raw).into_bytes())
        })?;
        let keys = vec![
            Key::from_secret("dev-es256", Alg::Es256, &es256).context("dev key es256.pem")?,
            Key::from_secret("dev-eddsa", Alg::EdDsa, &eddsa).context("dev key eddsa.pem")?,
            Key::from_secret("dev-hs256", Alg::Hs256, &hs256).context("dev key hs256.secret")?,
        ];
        Self::new(keys, 0)
    }

    fn find(&self, kid: &str, alg: Alg) -> Result<&Key, KeyringError> {
        self.keys.find(kid, alg).ok_or(KeyringError::UnknownKey)
    }

    pub fn signing_key(&self) -> (&str, Alg) {
        self.keys.signing_key()
    }

    pub fn sign(&self, kid: &str, alg: Alg, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        self.find(kid, alg)?.sign(data, &self.rng)
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

    pub fn describe(&self) -> String {
        let (kid, alg) = self.signing_key();
        format!(
            "{} key(s), signing with {kid} ({})",
            self.keys.len(),
            alg.name()
        )
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Reads a dev secret, or generates and stores it (0600, written to a
/// temporary file and renamed, so a crash never leaves half a key).
pub(crate) fn dev_secret(path: &Path, generate: impl FnOnce() -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => return Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let bytes = generate()?;
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(bytes)
}

fn to_wit(e: KeyringError) -> wit::Error {
    match e {
        KeyringError::UnknownKey => wit::Error::UnknownKey,
        KeyringError::Unavailable(msg) => wit::Error::Unavailable(msg),
    }
}

impl wit::Host for State {
    fn signing_key(&mut self) -> wasmtime::Result<Result<wit::KeyInfo, wit::Error>> {
        let (kid, alg) = self.keyring.signing_key();
        Ok(Ok(wit::KeyInfo {
            kid: kid.to_string(),
            alg: alg.into(),
        }))
    }

    fn sign(
        &mut self,
        kid: String,
        alg: wit::Algorithm,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, wit::Error>> {
        Ok(self.keyring.sign(&kid, alg.into(), &data).map_err(to_wit))
    }

    fn verify(
        &mut self,
        kid: String,
        alg: wit::Algorithm,
        data: Vec<u8>,
        signature: Vec<u8>,
    ) -> wasmtime::Result<Result<bool, wit::Error>> {
        Ok(self
            .keyring
            .verify(&kid, alg.into(), &data, &signature)
            .map_err(to_wit))
    }

    fn public_keys(&mut self) -> wasmtime::Result<Result<Vec<String>, wit::Error>> {
        Ok(Ok(self.keyring.public_keys().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn es256_pem() -> Vec<u8> {
        let doc = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        pem::encode(&pem::Pem::new("PRIVATE KEY", doc.as_ref())).into_bytes()
    }

    fn eddsa_pem() -> Vec<u8> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        pem::encode(&pem::Pem::new("PRIVATE KEY", doc.as_ref())).into_bytes()
    }

    /// An OpenSSL-generated PKCS#8 PEM, or `None` (with a note) without openssl.
    fn openssl_key(args: &[&str]) -> Option<Vec<u8>> {
        match std::process::Command::new("openssl")
            .arg("genpkey")
            .args(args)
            .output()
        {
            Ok(out) if out.status.success() => Some(out.stdout),
            Ok(out) => panic!(
                "openssl genpkey {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => {
                eprintln!("note: skipping openssl-generated key case ({args:?}): openssl not available: {e}");
                None
            }
        }
    }

    fn round_trip(alg: Alg, secret: &[u8]) {
        let ring = Keyring::new(vec![Key::from_secret("k", alg, secret).unwrap()], 0).unwrap();
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
    }

    #[test]
    fn es256_round_trip_with_fixed_length_signature() {
        let pem = es256_pem();
        round_trip(Alg::Es256, &pem);
        let ring = Keyring::new(vec![Key::from_secret("k", Alg::Es256, &pem).unwrap()], 0).unwrap();
        // JWS wants r || s, 64 bytes, not DER.
        assert_eq!(ring.sign("k", Alg::Es256, b"x").unwrap().len(), 64);
    }

    #[test]
    fn eddsa_round_trip() {
        round_trip(Alg::EdDsa, &eddsa_pem());
    }

    #[test]
    fn hs256_round_trip() {
        round_trip(Alg::Hs256, &[7u8; 32]);
    }

    #[test]
    fn hs256_short_secret_is_refused() {
        assert!(Key::from_secret("k", Alg::Hs256, &[7u8; 31]).is_err());
    }

    #[test]
    fn rs256_round_trip_with_openssl_key() {
        let Some(pem) = openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        else {
            return;
        };
        round_trip(Alg::Rs256, &pem);
        let ring = Keyring::new(vec![Key::from_secret("r", Alg::Rs256, &pem).unwrap()], 0).unwrap();
        let jwk: Value = serde_json::from_str(&ring.public_keys()[0]).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(
            B64URL.decode(jwk["n"].as_str().unwrap()).unwrap().len(),
            256
        );
    }

    #[test]
    fn openssl_ec_and_ed25519_keys_load() {
        if let Some(pem) = openssl_key(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        {
            round_trip(Alg::Es256, &pem);
        }
        if let Some(pem) = openssl_key(&["-algorithm", "ED25519"]) {
            round_trip(Alg::EdDsa, &pem);
        }
    }

    #[test]
    fn alg_mismatch_is_unknown_key() {
        let ring = Keyring::new(
            vec![Key::from_secret("k", Alg::Es256, &es256_pem()).unwrap()],
            0,
        )
        .unwrap();
        assert_eq!(
            ring.sign("k", Alg::Hs256, b"x"),
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
    }

    #[test]
    fn wrong_pem_kind_is_explained() {
        let sec1 = pem::encode(&pem::Pem::new("EC PRIVATE KEY", vec![1, 2, 3]));
        let err = format!(
            "{:#}",
            Key::from_secret("k", Alg::Es256, sec1.as_bytes()).unwrap_err()
        );
        assert!(err.contains("pkcs8"), "{err}");
        assert!(Key::from_secret("k", Alg::EdDsa, &es256_pem()).is_err());
    }

    #[test]
    fn dev_keys_persist_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keyring::load_dev(&dir.path().join("dev-keys")).unwrap();
        let second = Keyring::load_dev(&dir.path().join("dev-keys")).unwrap();
        assert_eq!(first.signing_key(), ("dev-es256", Alg::Es256));
        assert_eq!(first.public_keys(), second.public_keys());
        // Same HS256 secret: a MAC from the first load verifies in the second.
        let mac = first.sign("dev-hs256", Alg::Hs256, b"x").unwrap();
        assert!(second.verify("dev-hs256", Alg::Hs256, b"x", &mac).unwrap());
        let sig = first.sign("dev-eddsa", Alg::EdDsa, b"x").unwrap();
        assert!(second.verify("dev-eddsa", Alg::EdDsa, b"x", &sig).unwrap());
        #[cfg(unix)]
        for name in ["es256.pem", "eddsa.pem", "hs256.secret"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("dev-keys").join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[test]
    fn jwk_shapes() {
        let ring = Keyring::new(
            vec![
                Key::from_secret("e", Alg::Es256, &es256_pem()).unwrap(),
                Key::from_secret("o", Alg::EdDsa, &eddsa_pem()).unwrap(),
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
        let ec = &jwks[0];
        assert_eq!(
            (ec["kty"].as_str(), ec["crv"].as_str(), ec["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert_eq!(
            (ec["use"].as_str(), ec["kid"].as_str()),
            (Some("sig"), Some("e"))
        );
        assert_eq!(B64URL.decode(ec["x"].as_str().unwrap()).unwrap().len(), 32);
        assert_eq!(B64URL.decode(ec["y"].as_str().unwrap()).unwrap().len(), 32);
        assert!(ec.get("d").is_none());
        let okp = &jwks[1];
        assert_eq!(
            (
                okp["kty"].as_str(),
                okp["crv"].as_str(),
                okp["alg"].as_str()
            ),
            (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
        );
        assert_eq!(B64URL.decode(okp["x"].as_str().unwrap()).unwrap().len(), 32);
        assert!(okp.get("d").is_none());
        let oct = &jwks[2];
        assert_eq!(
            oct,
            &serde_json::json!({"kty": "oct", "use": "sig", "alg": "HS256", "kid": "h"})
        );
    }

    #[test]
    fn configured_keys_need_exactly_one_signer() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("c.toml");
        let secrets = Secrets::new(
            dir.path(),
            [
                ("TMI_SECRET_A".to_string(), "a".repeat(32)),
                ("TMI_SECRET_B".to_string(), "b".repeat(32)),
            ],
        );
        let load = |toml: &str| {
            std::fs::write(&toml_path, toml).unwrap();
            let config = Config::load(
                Some(&toml_path),
                Vec::new(),
                "127.0.0.1:1".parse().unwrap(),
                false,
            )
            .unwrap();
            Keyring::load(&config, &secrets, dir.path(), false)
        };
        let two = "[[keys]]\nkid='a'\nalg='HS256'\nsecret='a'\nsigning=true\n[[keys]]\nkid='b'\nalg='HS256'\nsecret='b'\n";
        let ring = load(two).unwrap();
        assert_eq!(ring.signing_key(), ("a", Alg::Hs256));
        assert_eq!(ring.public_keys().len(), 2);
        assert!(load(&two.replace("signing=true", "")).is_err());
        assert!(
            load("").is_err(),
            "no keys without --dev must refuse to start"
        );
        assert!(load("[[keys]]\nkid='c'\nalg='HS256'\nsecret='missing'\nsigning=true\n").is_err());
    }
}
