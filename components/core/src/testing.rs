//! In-memory stand-ins for the world, for unit tests and benchmarks
//! (feature `testing`). Never used by the component.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::ports::{
    Algorithm, HttpClient, HttpError, KeyInfo, Keyring, KeyringError, OutboundRequest, OutboundResponse, Random, Store, StoreError, World,
};

/// A store in a mutex: CAS and increment are atomic.
#[derive(Default)]
pub struct MemoryStore {
    /// The records.
    pub map: Mutex<HashMap<String, Vec<u8>>>,
    /// When set, every operation fails as in an outage.
    pub down: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError("down".into()))
        } else {
            Ok(())
        }
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        Ok(self.map.lock().unwrap().get(key).cloned())
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.map.lock().unwrap().insert(key.into(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.check()?;
        let mut map = self.map.lock().unwrap();
        let current = map.get(key).map(|v| i64::from_le_bytes(v[..8].try_into().unwrap())).unwrap_or(0);
        map.insert(key.into(), (current + delta).to_le_bytes().to_vec());
        Ok(current + delta)
    }
    fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        self.check()?;
        let mut map = self.map.lock().unwrap();
        if map.get(key).map(Vec::as_slice) != expected {
            return Ok(false);
        }
        map.insert(key.into(), new.to_vec());
        Ok(true)
    }
}

/// An HS256 keyring with one key, `test-hs256`.
pub struct TestKeyring;

impl TestKeyring {
    fn mac(data: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"unit-test-key-unit-test-key-0000").unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

impl Keyring for TestKeyring {
    fn signing_key(&self) -> Result<KeyInfo, KeyringError> {
        Ok(KeyInfo { kid: "test-hs256".into(), alg: Algorithm::Hs256 })
    }
    fn sign(&self, kid: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        if kid != "test-hs256" || alg != Algorithm::Hs256 {
            return Err(KeyringError::UnknownKey);
        }
        Ok(Self::mac(data))
    }
    fn verify(&self, kid: &str, alg: Algorithm, data: &[u8], signature: &[u8]) -> Result<bool, KeyringError> {
        Ok(self.sign(kid, alg, data)? == signature)
    }
    fn public_keys(&self) -> Result<Vec<String>, KeyringError> {
        Ok(vec![r#"{"kty":"oct","use":"sig","alg":"HS256","kid":"test-hs256"}"#.into()])
    }
}

/// Deterministic "randomness": SHA-256 of a counter.
#[derive(Default)]
pub struct SeqRandom(AtomicU64);

impl Random for SeqRandom {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(32) {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            chunk.copy_from_slice(&Sha256::digest(n.to_le_bytes())[..chunk.len()]);
        }
    }
}

/// No outbound HTTP in unit tests.
pub struct NoHttp;

impl HttpClient for NoHttp {
    fn send(&self, _: &OutboundRequest) -> Result<OutboundResponse, HttpError> {
        Err(HttpError::Denied)
    }
}

/// Owns the stand-ins and lends them as a [`World`] at a chosen time.
#[derive(Default)]
pub struct TestWorld {
    /// The store.
    pub store: MemoryStore,
    /// The randomness.
    pub random: SeqRandom,
}

impl TestWorld {
    /// The world as seen at time `now`.
    pub fn at(&self, now: u64) -> World<'_> {
        World { store: &self.store, keyring: &TestKeyring, http: &NoHttp, random: &self.random, now }
    }
}

/// The client callback of the test settings.
pub const CALLBACK: &str = "https://app.example.com/cb";

/// The settings the core's flow tests (and the fuzz targets) run with:
/// development mode, one allowed callback, an admin, rate limits off.
pub fn settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("base_url", "https://auth.example.com"),
        ("dev_mode", "true"),
        ("client_callback_allowlist", CALLBACK),
        ("admins", "admin@test.tmi"),
        ("rate_limit_ip", "off"),
        ("rate_limit_session", "off"),
        ("rate_limit_user", "off"),
        ("client_secret_pepper", "unit-test-pepper-unit-test-pepper"),
    ]
}
