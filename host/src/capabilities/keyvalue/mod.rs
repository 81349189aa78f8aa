//! `wasi:keyvalue/store` and `wasi:keyvalue/atomics` @0.2.0-draft2 over a
//! pluggable backend: the backend trait here, the WIT side in `host`, the
//! backends beside it (redb, Redis, memory), and the sweep of expired
//! entries for backends without their own expiry.
//!
//! The semantics follow Spin, so the component behaves the same under both
//! hosts: `increment` fails on a key holding anything but a counter;
//! `list-keys` returns one page (no cursors); the only store is `default`.
//! Entries expire as `tmi_auth_core::store::expiry` reads them.

mod host;
pub mod memory;
pub mod redb;
pub mod redis;
pub mod resources;
pub mod sweep;

use async_trait::async_trait;

pub use host::{KeyValue, KeyValueView};

/// The only store name the component may open (Spin's default store).
pub const DEFAULT_STORE: &str = "default";

/// A failure of the storage backend. Messages never contain stored values.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("storage error: {0}")]
    Storage(String),
    #[error("value is not a counter")]
    NotACounter,
    #[error("counter overflow")]
    Overflow,
}

/// A key-value store with the atomic operations the auth logic needs for
/// single-use codes and counters, shared by every request (and, for Redis,
/// by every host).
#[async_trait]
pub trait KvBackend: Send + Sync + 'static {
    /// The backend's name, for logs and metrics.
    fn name(&self) -> &'static str;
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError>;
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError>;
    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError>;
    /// All keys of the bucket, as one page.
    async fn list_keys(&self, bucket: &str) -> Result<Vec<String>, KvError>;
    /// Adds `delta` to the counter at `key` (absent = 0) and returns the new value.
    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError>;
    /// Atomically writes `new` only if the current value equals `expected`
    /// (`None` = the key is absent). Returns whether it wrote.
    async fn compare_and_swap(&self, bucket: &str, key: &str, expected: Option<Vec<u8>>, new: Vec<u8>) -> Result<bool, KvError>;
    /// Delete what has expired by `now`; returns how many entries went.
    /// Backends with expiry of their own (Redis) have nothing to do.
    async fn sweep(&self, _now: u64) -> Result<usize, KvError> {
        Ok(0)
    }
    /// How many entries there are (for the storage benchmark and tests).
    async fn len(&self) -> Result<usize, KvError>;
}

/// Decodes a stored counter (8-byte little-endian, as Spin keeps them).
pub(crate) fn decode_counter(value: Option<&[u8]>) -> Result<i64, KvError> {
    match value {
        None => Ok(0),
        Some(bytes) => {
            let raw: [u8; 8] = bytes.try_into().map_err(|_| KvError::NotACounter)?;
            Ok(i64::from_le_bytes(raw))
        }
    }
}

/// Behaviour every backend must share; each backend's tests run these.
#[cfg(test)]
pub(crate) mod conformance {
    use std::sync::Arc;

    use super::*;

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    pub async fn get_set_delete(kv: &dyn KvBackend) {
        assert_eq!(kv.get("default", "a").await.unwrap(), None);
        assert!(!kv.exists("default", "a").await.unwrap());
        kv.set("default", "a", b("one")).await.unwrap();
        assert_eq!(kv.get("default", "a").await.unwrap(), Some(b("one")));
        assert!(kv.exists("default", "a").await.unwrap());
        kv.set("default", "a", b("two")).await.unwrap();
        assert_eq!(kv.get("default", "a").await.unwrap(), Some(b("two")));
        // Buckets are separate namespaces.
        assert_eq!(kv.get("other", "a").await.unwrap(), None);
        kv.set("default", "b", b("x")).await.unwrap();
        let mut keys = kv.list_keys("default").await.unwrap();
        keys.sort();
        assert_eq!(keys, vec!["a".to_string(), "b".to_string()]);
        kv.delete("default", "a").await.unwrap();
        assert_eq!(kv.get("default", "a").await.unwrap(), None);
        // Deleting an absent key is not an error.
        kv.delete("default", "a").await.unwrap();
        assert!(kv.list_keys("empty").await.unwrap().is_empty());
    }

    pub async fn increment(kv: &dyn KvBackend) {
        assert_eq!(kv.increment("default", "n", 1).await.unwrap(), 1);
        assert_eq!(kv.increment("default", "n", 1).await.unwrap(), 2);
        assert_eq!(kv.increment("default", "n", 40).await.unwrap(), 42);
        assert_eq!(kv.increment("default", "n", -2).await.unwrap(), 40);
        assert_eq!(kv.increment("default", "m", 0).await.unwrap(), 0);
        assert!(kv.exists("default", "n").await.unwrap());
    }

    pub async fn increment_on_non_counter_fails(kv: &dyn KvBackend) {
        kv.set("default", "s", b("not a counter")).await.unwrap();
        assert!(matches!(kv.increment("default", "s", 1).await, Err(KvError::NotACounter)));
        assert_eq!(kv.get("default", "s").await.unwrap(), Some(b("not a counter")));
        kv.increment("default", "big", i64::MAX).await.unwrap();
        assert!(matches!(kv.increment("default", "big", 1).await, Err(KvError::Overflow)));
    }

    pub async fn compare_and_swap(kv: &dyn KvBackend) {
        // Absent → create only if still absent.
        assert!(kv.compare_and_swap("default", "c", None, b("v1")).await.unwrap());
        assert!(!kv.compare_and_swap("default", "c", None, b("v2")).await.unwrap());
        assert_eq!(kv.get("default", "c").await.unwrap(), Some(b("v1")));
        // Stale expectation loses and writes nothing.
        assert!(!kv.compare_and_swap("default", "c", Some(b("old")), b("v3")).await.unwrap());
        assert_eq!(kv.get("default", "c").await.unwrap(), Some(b("v1")));
        assert!(kv.compare_and_swap("default", "c", Some(b("v1")), b("v4")).await.unwrap());
        assert_eq!(kv.get("default", "c").await.unwrap(), Some(b("v4")));
        // An expectation of a value is not met by an absent key.
        assert!(!kv.compare_and_swap("default", "gone", Some(b("v1")), b("v5")).await.unwrap());
        assert_eq!(kv.get("default", "gone").await.unwrap(), None);
    }

    /// Two consumers of a single-use code must not both win.
    pub async fn racing_cas_has_one_winner(kv: Arc<dyn KvBackend>) {
        kv.set("default", "code", b("unused")).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let kv = Arc::clone(&kv);
                tokio::spawn(async move { kv.compare_and_swap("default", "code", Some(b("unused")), format!("used by {i}").into_bytes()).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
    }

    /// Expired records and counters go; live and everlasting ones stay.
    pub async fn expired_entries_are_dropped(kv: &dyn KvBackend, now: u64) {
        let record = |expires_at: u64| format!("{{\"expires_at\":{expires_at},\"value\":true}}").into_bytes();
        kv.set("default", "session:old", record(now - 10)).await.unwrap();
        kv.set("default", "session:live", record(now + 3600)).await.unwrap();
        kv.set("default", "user:forever", record(u64::MAX)).await.unwrap();
        kv.increment("default", &format!("rl@{}:ip:x", now - 1), 1).await.unwrap();
        kv.increment("default", &format!("rl@{}:ip:y", now + 60), 1).await.unwrap();
        kv.sweep(now).await.unwrap();
        let mut keys = kv.list_keys("default").await.unwrap();
        keys.sort();
        assert_eq!(keys, vec![format!("rl@{}:ip:y", now + 60), "session:live".to_string(), "user:forever".to_string()]);
    }
}
