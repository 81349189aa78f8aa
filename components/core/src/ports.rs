//! The capabilities the core needs from the world, as small traits.
//!
//! The component implements them over WASI imports; tests implement them in
//! memory. Their shapes follow `wasi:keyvalue` (store + atomics),
//! `tmi:auth/keyring` and `wasi:http/outgoing-handler`.

use thiserror::Error;

/// A failure of the key-value store (an outage, not a missing key).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

/// A key-value store with the atomic operations single-use state needs.
///
/// Implementations must make `increment` and `compare_and_swap` atomic
/// across every host that shares the store.
pub trait Store {
    /// The value at `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Write `value` at `key`, replacing what was there.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Remove `key`; absent keys are not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Add `delta` to the counter at `key` (absent = 0) and return the new value.
    /// A counter key is never written with `set` (Spin stores counters in
    /// its own binary form).
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// Write `new` at `key` only if the current value equals `expected`
    /// (`None` = the key is absent). Returns whether the write happened.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError>;
}

pub use tmi_auth_keys::{Algorithm, KeyInfo, KeyringError};

/// Signing keys held outside the core (and outside the component).
pub trait Keyring {
    /// The key new tokens are signed with.
    fn signing_key(&self) -> Result<KeyInfo, KeyringError>;
    /// Sign `data` with key `kid` of algorithm `alg`.
    fn sign(&self, kid: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, KeyringError>;
    /// Check a signature made with key `kid` of algorithm `alg`.
    fn verify(
        &self,
        kid: &str,
        alg: Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, KeyringError>;
    /// Every published key as a JWK JSON object.
    fn public_keys(&self) -> Result<Vec<String>, KeyringError>;
}

/// An outbound HTTP request to an upstream identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
}

/// The upstream's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// HTTP status.
    pub status: u16,
    /// Header name/value pairs, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

/// An outbound HTTP failure.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused the destination (not in the outbound allowlist).
    #[error("outbound request denied")]
    Denied,
    /// The upstream did not answer in time.
    #[error("upstream timed out")]
    Timeout,
    /// Anything else: connection refused, DNS, TLS, protocol.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
}

/// Outbound HTTP, for upstream identity providers and nothing else.
pub trait HttpClient {
    /// Send `request` and wait for the whole response.
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, HttpError>;
}

/// A source of cryptographically secure random bytes.
pub trait Random {
    /// Fill `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// Everything from the outside world one request may use.
pub struct World<'a> {
    /// The shared key-value store.
    pub store: &'a dyn Store,
    /// The signing keyring.
    pub keyring: &'a dyn Keyring,
    /// Outbound HTTP to upstream providers.
    pub http: &'a dyn HttpClient,
    /// Randomness.
    pub random: &'a dyn Random,
    /// The current time, in seconds since the Unix epoch.
    pub now: u64,
}
