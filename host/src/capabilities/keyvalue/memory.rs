//! An in-memory backend for tests: one mutex makes every operation atomic.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

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
        self.data
            .lock()
            .map_err(|_| KvError::Storage("in-memory store poisoned".into()))
    }
}

fn k(bucket: &str, key: &str) -> (String, String) {
    (bucket.to_owned(), key.to_owned())
}

impl KvBackend for MemoryBackend {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.lock()?.get(&k(bucket, key)).cloned())
    }

    fn set(&self, bucket: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.lock()?.insert(k(bucket, key), value.to_vec());
        Ok(())
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.lock()?.remove(&k(bucket, key));
        Ok(())
    }

    fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        Ok(self.lock()?.contains_key(&k(bucket, key)))
    }

    fn list_keys(&self, bucket: &str) -> Result<Vec<String>, KvError> {
        let mut keys: Vec<String> = self
            .lock()?
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, key)| key.clone())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut data = self.lock()?;
        let current = decode_counter(data.get(&k(bucket, key)).map(Vec::as_slice))?;
        let next = current.checked_add(delta).ok_or(KvError::Overflow)?;
        data.insert(k(bucket, key), next.to_le_bytes().to_vec());
        Ok(next)
    }

    fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, KvError> {
        let mut data = self.lock()?;
        let id = k(bucket, key);
        if data.get(&id).map(Vec::as_slice) != expected {
            return Ok(false);
        }
        data.insert(id, new.to_vec());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::keyvalue::conformance;
    use std::sync::Arc;

    #[test]
    fn get_set_delete() {
        conformance::get_set_delete(&MemoryBackend::new());
    }

    #[test]
    fn increment_from_absent_and_repeated() {
        conformance::increment(&MemoryBackend::new());
    }

    #[test]
    fn increment_on_non_counter_fails() {
        conformance::increment_on_non_counter_fails(&MemoryBackend::new());
    }

    #[test]
    fn compare_and_swap() {
        conformance::compare_and_swap(&MemoryBackend::new());
    }

    #[test]
    fn racing_cas_has_one_winner() {
        conformance::racing_cas_has_one_winner(Arc::new(MemoryBackend::new()));
    }
}
