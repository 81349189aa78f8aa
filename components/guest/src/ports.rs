//! The core's ports over the component's imports: `wasi:keyvalue`,
//! `tmi:auth/keyring`, `wasi:random` and the clocks.

use tmi_auth_core::ports::{Algorithm, KeyInfo, Keyring, KeyringError, Random, Store, StoreError};
use tmi_auth_core::AuthError;

use crate::tmi::auth::keyring as kr;
use crate::wasi::keyvalue::{atomics, store};

/// The `default` bucket of `wasi:keyvalue`.
pub struct KvStore {
    bucket: store::Bucket,
}

fn store_error(e: store::Error) -> StoreError {
    StoreError(match e {
        store::Error::NoSuchStore => "no such store".into(),
        store::Error::AccessDenied => "access denied".into(),
        store::Error::Other(m) => m,
    })
}

impl KvStore {
    /// Open the `default` store.
    pub fn open() -> Result<Self, AuthError> {
        let bucket = store::open("default").map_err(|e| AuthError::Unavailable(store_error(e).0))?;
        Ok(KvStore { bucket })
    }
}

/// Wall-clock seconds, for the leases.
pub fn wall_clock_seconds() -> u64 {
    wasip2::clocks::wall_clock::now().seconds
}

/// A millisecond's wait before asking for a busy lease again.
pub fn pause() {
    wasip2::clocks::monotonic_clock::subscribe_duration(1_000_000).block();
}

impl Store for KvStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(store_error)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(store_error)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).map_err(store_error)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(store_error)
    }
    fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(store_error)?;
        if cas.current().map_err(store_error)?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(store_error(e)),
        }
    }
}

/// `tmi:auth/keyring`, served by the host.
pub struct HostKeyring;

tmi_auth_keys::wit_algorithm_conversions!(kr::Algorithm);

fn keyring_error(e: kr::Error) -> KeyringError {
    match e {
        kr::Error::UnknownKey => KeyringError::UnknownKey,
        kr::Error::Unavailable(m) => KeyringError::Unavailable(m),
    }
}

impl Keyring for HostKeyring {
    fn signing_key(&self) -> Result<KeyInfo, KeyringError> {
        let info = kr::signing_key().map_err(keyring_error)?;
        Ok(KeyInfo { kid: info.kid, alg: info.alg.into() })
    }
    fn sign(&self, kid: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        kr::sign(kid, alg.into(), data).map_err(keyring_error)
    }
    fn verify(&self, kid: &str, alg: Algorithm, data: &[u8], signature: &[u8]) -> Result<bool, KeyringError> {
        kr::verify(kid, alg.into(), data, signature).map_err(keyring_error)
    }
    fn public_keys(&self) -> Result<Vec<String>, KeyringError> {
        kr::public_keys().map_err(keyring_error)
    }
}

/// `wasi:random`.
pub struct WasiRandom;

impl Random for WasiRandom {
    fn fill(&self, buf: &mut [u8]) {
        let bytes = wasip2::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes);
    }
}
