//! An in-memory backend for tests: one mutex makes every operation atomic.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{decode_counter, KvBackend, KvError};

/// (bucket, key) → value.
type Entries = HashMap<(String, String), Vec<u8>>;

#[derive(Default)]
pub struct MemoryBackend {
    data: Mutex<Entries>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Entries>, KvError> {
        self.data.lock().map_err(|_| KvError::Storage("in-memory store poisoned".into()))
    }
}

fn k(bucket: &str, key: &str) -> (String, String) {
    (bucket.to_owned(), key.to_owned())
}

#[async_trait]
impl KvBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.lock()?.get(&k(bucket, key)).cloned())
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.lock()?.insert(k(bucket, key), value);
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.lock()?.remove(&k(bucket, key));
        Ok(())
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        Ok(self.lock()?.contains_key(&k(bucket, key)))
    }

    async fn list_keys(&self, bucket: &str) -> Result<Vec<String>, KvError> {
        let mut keys: Vec<String> = self.lock()?.keys().filter(|(b, _)| b == bucket).map(|(_, key)| key.clone()).collect();
        keys.sort();
        Ok(keys)
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut data = self.lock()?;
        let current = decode_counter(data.get(&k(bucket, key)).map(Vec::as_slice))?;
        let next = current.checked_add(delta).ok_or(KvError::Overflow)?;
        data.insert(k(bucket, key), next.to_le_bytes().to_vec());
        Ok(next)
    }

    async fn compare_and_swap(&self, bucket: &str, key: &str, expected: Option<Vec<u8>>, new: Vec<u8>) -> Result<bool, KvError> {
        let mut data = self.lock()?;
        let id = k(bucket, key);
        if data.get(&id) != expected.as_ref() {
            return Ok(false);
        }
        data.insert(id, new);
        Ok(true)
    }

    async fn sweep(&self, now: u64) -> Result<usize, KvError> {
        let mut data = self.lock()?;
        let before = data.len();
        data.retain(|(_, key), value| tmi_auth_core::store::expiry(key, value).is_none_or(|at| at > now));
        Ok(before - data.len())
    }

    async fn len(&self) -> Result<usize, KvError> {
        Ok(self.lock()?.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::keyvalue::conformance;
    use std::sync::Arc;

    #[tokio::test]
    async fn conformance() {
        conformance::get_set_delete(&MemoryBackend::new()).await;
        conformance::increment(&MemoryBackend::new()).await;
        conformance::increment_on_non_counter_fails(&MemoryBackend::new()).await;
        conformance::compare_and_swap(&MemoryBackend::new()).await;
        conformance::racing_cas_has_one_winner(Arc::new(MemoryBackend::new())).await;
        conformance::expired_entries_are_dropped(&MemoryBackend::new(), 1_800_000_000).await;
    }
}
