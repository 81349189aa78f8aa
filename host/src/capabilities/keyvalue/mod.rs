//! `wasi:keyvalue/store` and `wasi:keyvalue/atomics` @0.2.0-draft2 over a
//! pluggable backend: the backend trait here, the WIT side in `host`.
//!
//! The semantics follow Spin, so the component behaves the same under both
//! hosts: counters are 8-byte little-endian integers and `increment` fails
//! on a key holding anything else; `list-keys` returns one page (no
//! cursors); the only store is `default`.

mod host;
pub mod memory;
pub mod redb;
pub mod resources;

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

/// A durable (or, for tests, in-memory) key-value store with the atomic
/// operations the auth logic needs for single-use codes and counters.
pub trait KvBackend: Send + Sync + 'static {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    fn set(&self, bucket: &str, key: &str, value: &[u8]) -> Result<(), KvError>;
    fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError>;
    fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError>;
    /// All keys of the bucket, as one page.
    fn list_keys(&self, bucket: &str) -> Result<Vec<String>, KvError>;
    /// Adds `delta` to the counter at `key` (absent = 0) and returns the new
    /// value. The counter is stored as an 8-byte little-endian i64.
    fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError>;
    /// Atomically writes `new` only if the current value equals `expected`
    /// (`None` = the key is absent). Returns whether it wrote.
    fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, KvError>;
}

/// Decodes a stored counter, shared by the backends.
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

    pub fn get_set_delete(kv: &dyn KvBackend) {
        assert_eq!(kv.get("default", "a").unwrap(), None);
        assert!(!kv.exists("default", "a").unwrap());
        kv.set("default", "a", b"one").unwrap();
        assert_eq!(
            kv.get("default", "a").unwrap().as_deref(),
            Some(&b"one"[..])
        );
        assert!(kv.exists("default", "a").unwrap());
        kv.set("default", "a", b"two").unwrap();
        assert_eq!(
            kv.get("default", "a").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        // Buckets are separate namespaces.
        assert_eq!(kv.get("other", "a").unwrap(), None);
        kv.set("default", "b", b"x").unwrap();
        let mut keys = kv.list_keys("default").unwrap();
        keys.sort();
        assert_eq!(keys, vec!["a".to_string(), "b".to_string()]);
        kv.delete("default", "a").unwrap();
        assert_eq!(kv.get("default", "a").unwrap(), None);
        // Deleting an absent key is not an error.
        kv.delete("default", "a").unwrap();
        assert!(kv.list_keys("empty").unwrap().is_empty());
    }

    pub fn increment(kv: &dyn KvBackend) {
        assert_eq!(kv.increment("default", "n", 1).unwrap(), 1);
        assert_eq!(kv.increment("default", "n", 1).unwrap(), 2);
        assert_eq!(kv.increment("default", "n", 40).unwrap(), 42);
        assert_eq!(kv.increment("default", "n", -2).unwrap(), 40);
        assert_eq!(
            kv.get("default", "n").unwrap().unwrap(),
            40i64.to_le_bytes().to_vec()
        );
        assert_eq!(kv.increment("default", "m", 0).unwrap(), 0);
    }

    pub fn increment_on_non_counter_fails(kv: &dyn KvBackend) {
        kv.set("default", "s", b"not a counter").unwrap();
        assert!(matches!(
            kv.increment("default", "s", 1),
            Err(KvError::NotACounter)
        ));
        assert_eq!(
            kv.get("default", "s").unwrap().as_deref(),
            Some(&b"not a counter"[..])
        );
        kv.set("default", "big", &i64::MAX.to_le_bytes()).unwrap();
        assert!(matches!(
            kv.increment("default", "big", 1),
            Err(KvError::Overflow)
        ));
    }

    pub fn compare_and_swap(kv: &dyn KvBackend) {
        // Absent → create only if still absent.
        assert!(kv.compare_and_swap("default", "c", None, b"v1").unwrap());
        assert!(!kv.compare_and_swap("default", "c", None, b"v2").unwrap());
        assert_eq!(kv.get("default", "c").unwrap().as_deref(), Some(&b"v1"[..]));
        // Stale expectation loses and writes nothing.
        assert!(!kv
            .compare_and_swap("default", "c", Some(b"old"), b"v3")
            .unwrap());
        assert_eq!(kv.get("default", "c").unwrap().as_deref(), Some(&b"v1"[..]));
        assert!(kv
            .compare_and_swap("default", "c", Some(b"v1"), b"v4")
            .unwrap());
        assert_eq!(kv.get("default", "c").unwrap().as_deref(), Some(&b"v4"[..]));
    }

    /// Two consumers of a single-use code must not both win.
    pub fn racing_cas_has_one_winner(kv: Arc<dyn KvBackend>) {
        kv.set("default", "code", b"unused").unwrap();
        let barrier = Arc::new(std::sync::Barrier::new(20));
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let kv = Arc::clone(&kv);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    kv.compare_and_swap(
                        "default",
                        "code",
                        Some(b"unused"),
                        format!("used by {i}").as_bytes(),
                    )
                    .unwrap()
                })
            })
            .collect();
        let winners = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|won| *won)
            .count();
        assert_eq!(winners, 1);
    }
}
