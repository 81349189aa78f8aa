//! `tmi:auth/keyring`, natively: private and shared key material stays in
//! the host process; the component only asks for signatures and
//! verifications (and, for JWKS, public keys). The keyring rules are
//! `tmi-auth-keys`'s, with `ring` key material.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
use tmi_auth_keys::ring_material::RingKey;
use tmi_auth_keys::{Algorithm, Key, KeyringError};
use wasmtime::component::HasData;
use zeroize::Zeroizing;

use super::bindings::keyring as wit;
use crate::secrets::Secrets;
use crate::settings::Settings;

/// The host's keyring.
pub type NativeKeyring = tmi_auth_keys::Keyring<RingKey>;

tmi_auth_keys::wit_algorithm_conversions!(wit::Algorithm);

/// The keys from `[[keys]]`, or with `--dev` and no keys, generated
/// development keys.
pub fn load(settings: &Settings, secrets: &Secrets, data_dir: &Path, dev: bool) -> Result<NativeKeyring> {
    let specs = settings.keys();
    if specs.is_empty() {
        if !dev {
            bail!(
                "no signing keys configured: add a [[keys]] table to the config file \
                 (kid, alg, secret, signing = true), or run with --dev for generated development keys"
            );
        }
        return load_dev(&data_dir.join("dev-keys"));
    }
    NativeKeyring::load(specs, "secret", |name| match secrets.get(name) {
        Ok(value) => Ok(value.map(|v| Zeroizing::new(v.expose().to_vec()))),
        Err(e) => Err(format!("{e:#}")),
    })
    .map_err(|e| anyhow::anyhow!("[[keys]]: {e}"))
}

/// Development keys, generated once and reused so tokens survive a
/// restart. Never for production: they sit unencrypted on disk.
pub fn load_dev(dir: &Path) -> Result<NativeKeyring> {
    tracing::warn!(dir = %dir.display(), "USING GENERATED DEVELOPMENT SIGNING KEYS (--dev without [[keys]]): NOT FOR PRODUCTION");
    create_private_dir(dir)?;
    let rng = SystemRandom::new();
    let pem = |der: &[u8]| pem::encode(&pem::Pem::new("PRIVATE KEY", der)).into_bytes();
    let es256 = dev_secret(&dir.join("es256.pem"), || {
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| anyhow::anyhow!("generating an ES256 key"))?;
        Ok(pem(doc.as_ref()))
    })?;
    let eddsa = dev_secret(&dir.join("eddsa.pem"), || {
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| anyhow::anyhow!("generating an Ed25519 key"))?;
        Ok(pem(doc.as_ref()))
    })?;
    let hs256 = dev_secret(&dir.join("hs256.secret"), || {
        let mut raw = [0u8; 32];
        rng.fill(&mut raw).map_err(|_| anyhow::anyhow!("generating an HS256 secret"))?;
        Ok(B64URL.encode(raw).into_bytes())
    })?;
    let key = |kid: &str, alg, secret: &[u8], file: &str| Key::from_secret(kid, alg, secret).map_err(|e| anyhow::anyhow!("dev key {file}: {e}"));
    let keys = vec![
        key("dev-es256", Algorithm::Es256, &es256, "es256.pem")?,
        key("dev-eddsa", Algorithm::EdDsa, &eddsa, "eddsa.pem")?,
        key("dev-hs256", Algorithm::Hs256, &hs256, "hs256.secret")?,
    ];
    NativeKeyring::new(keys, 0).map_err(anyhow::Error::msg)
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("creating {}", dir.display()))
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
    let mut file = options.open(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(&bytes).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(bytes)
}

/// The keyring the host serves: the keys, and the signatures they have
/// already verified.
pub struct HostKeyring {
    keys: NativeKeyring,
    verified: VerifiedSignatures,
}

impl HostKeyring {
    pub fn new(keys: NativeKeyring) -> Self {
        HostKeyring { keys, verified: VerifiedSignatures::default() }
    }

    /// A valid signature is remembered, so the next check of the same
    /// token is a hash lookup instead of a signature verification (an ES256
    /// verification is most of an introspection's cost; resource servers
    /// introspect one token many times). Only valid ones are remembered,
    /// and the keys never change while the host runs, so a remembered
    /// answer stays right.
    fn verify(&self, kid: &str, alg: Algorithm, data: &[u8], signature: &[u8]) -> Result<bool, KeyringError> {
        let digest = VerifiedSignatures::digest(kid, alg, data, signature);
        if self.verified.contains(&digest) {
            return Ok(true);
        }
        let valid = self.keys.verify(kid, alg, data, signature)?;
        if valid {
            self.verified.insert(digest);
        }
        Ok(valid)
    }
}

/// SHA-256 digests of (kid, alg, data, signature) that verified, in two
/// generations of at most [`VerifiedSignatures::GENERATION`] each: when the
/// newer fills up, the older is dropped, so memory stays bounded and
/// tokens in use stay remembered.
#[derive(Default)]
struct VerifiedSignatures(std::sync::Mutex<[std::collections::HashSet<[u8; 32]>; 2]>);

impl VerifiedSignatures {
    const GENERATION: usize = 50_000;

    fn digest(kid: &str, alg: Algorithm, data: &[u8], signature: &[u8]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [kid.as_bytes(), alg.name().as_bytes(), data, signature] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    fn contains(&self, digest: &[u8; 32]) -> bool {
        let sets = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sets[0].contains(digest) || sets[1].contains(digest)
    }

    fn insert(&self, digest: [u8; 32]) {
        let mut sets = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if sets[0].len() >= Self::GENERATION {
            sets[1] = std::mem::take(&mut sets[0]);
        }
        sets[0].insert(digest);
    }
}

/// The capability as the component sees it, for one request.
pub struct KeyringView<'a>(pub &'a HostKeyring);

/// Links `tmi:auth/keyring` to a [`KeyringView`].
pub struct Keyring;

impl HasData for Keyring {
    type Data<'a> = KeyringView<'a>;
}

fn to_wit(e: KeyringError) -> wit::Error {
    match e {
        KeyringError::UnknownKey => wit::Error::UnknownKey,
        KeyringError::Unavailable(msg) => wit::Error::Unavailable(msg),
    }
}

impl wit::Host for KeyringView<'_> {
    fn signing_key(&mut self) -> wasmtime::Result<Result<wit::KeyInfo, wit::Error>> {
        let (kid, alg) = self.0.keys.signing_key();
        Ok(Ok(wit::KeyInfo { kid: kid.to_string(), alg: alg.into() }))
    }

    fn sign(&mut self, kid: String, alg: wit::Algorithm, data: Vec<u8>) -> wasmtime::Result<Result<Vec<u8>, wit::Error>> {
        Ok(self.0.keys.sign(&kid, alg.into(), &data).map_err(to_wit))
    }

    fn verify(&mut self, kid: String, alg: wit::Algorithm, data: Vec<u8>, signature: Vec<u8>) -> wasmtime::Result<Result<bool, wit::Error>> {
        Ok(self.0.verify(&kid, alg.into(), &data, &signature).map_err(to_wit))
    }

    fn public_keys(&mut self) -> wasmtime::Result<Result<Vec<String>, wit::Error>> {
        Ok(Ok(self.0.keys.public_keys().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_verifications_never_accept_what_the_keys_would_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let ring = HostKeyring::new(load_dev(&dir.path().join("dev-keys")).unwrap());
        let sig = ring.keys.sign("dev-es256", Algorithm::Es256, b"token").unwrap();
        for _ in 0..2 {
            assert!(ring.verify("dev-es256", Algorithm::Es256, b"token", &sig).unwrap());
        }
        assert!(!ring.verify("dev-es256", Algorithm::Es256, b"token!", &sig).unwrap(), "other data");
        let mut forged = sig.clone();
        forged[10] ^= 1;
        assert!(!ring.verify("dev-es256", Algorithm::Es256, b"token", &forged).unwrap(), "other signature");
        assert!(ring.verify("dev-eddsa", Algorithm::EdDsa, b"token", &sig).is_ok_and(|ok| !ok), "same bytes, other key");
        assert!(!ring.verified.contains(&VerifiedSignatures::digest("dev-es256", Algorithm::Es256, b"token", &forged)), "refusals are not remembered");
    }

    #[test]
    fn remembered_verifications_are_bounded() {
        let cache = VerifiedSignatures::default();
        for i in 0..(3 * VerifiedSignatures::GENERATION as u64) {
            cache.insert(VerifiedSignatures::digest("k", Algorithm::Hs256, &i.to_le_bytes(), b""));
        }
        let sets = cache.0.lock().unwrap();
        assert!(sets[0].len() + sets[1].len() <= 2 * VerifiedSignatures::GENERATION);
    }

    #[test]
    fn dev_keys_persist_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_dev(&dir.path().join("dev-keys")).unwrap();
        let second = load_dev(&dir.path().join("dev-keys")).unwrap();
        assert_eq!(first.signing_key(), ("dev-es256", Algorithm::Es256));
        assert_eq!(first.public_keys(), second.public_keys());
        // Same HS256 secret: a MAC from the first load verifies in the second.
        let mac = first.sign("dev-hs256", Algorithm::Hs256, b"x").unwrap();
        assert!(second.verify("dev-hs256", Algorithm::Hs256, b"x", &mac).unwrap());
        let sig = first.sign("dev-eddsa", Algorithm::EdDsa, b"x").unwrap();
        assert!(second.verify("dev-eddsa", Algorithm::EdDsa, b"x", &sig).unwrap());
        #[cfg(unix)]
        for name in ["es256.pem", "eddsa.pem", "hs256.secret"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("dev-keys").join(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[test]
    fn configured_keys_need_exactly_one_signer_and_their_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("c.toml");
        let secrets = Secrets::new(dir.path(), [("TMI_SECRET_A".to_string(), "a".repeat(32)), ("TMI_SECRET_B".to_string(), "b".repeat(32))]);
        let load_with = |toml: &str| {
            std::fs::write(&toml_path, toml).unwrap();
            let settings = Settings::load(Some(&toml_path), Vec::new(), "127.0.0.1:1".parse().unwrap(), false).unwrap();
            load(&settings, &secrets, dir.path(), false)
        };
        let two = "[[keys]]\nkid='a'\nalg='HS256'\nsecret='a'\nsigning=true\n[[keys]]\nkid='b'\nalg='HS256'\nsecret='b'\n";
        let ring = load_with(two).unwrap();
        assert_eq!(ring.signing_key(), ("a", Algorithm::Hs256));
        assert_eq!(ring.public_keys().len(), 2);
        assert!(format!("{:#}", load_with(&two.replace("signing=true", "")).unwrap_err()).contains("exactly one"));
        assert!(load_with("").is_err(), "no keys without --dev must refuse to start");
        let missing = format!("{:#}", load_with("[[keys]]\nkid='c'\nalg='HS256'\nsecret='missing'\nsigning=true\n").unwrap_err());
        assert!(missing.contains("\"missing\" is not set"), "{missing}");
    }
}
