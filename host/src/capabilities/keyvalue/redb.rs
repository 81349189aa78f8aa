//! The default, durable backend: an embedded redb database in the data
//! directory. Every write is its own transaction committed with
//! `Durability::Immediate` (fsync before returning), so an acknowledged
//! write survives `kill -9` and power loss; increment and compare-and-swap
//! read and write inside one write transaction, which redb serialises.
//! Reads run inline (they take microseconds); writes, which fsync, run on
//! the blocking pool.
//!
//! Counters (`increment`) and the sweep are the exceptions: they count
//! requests for rate limits and failures for lockouts, or delete what has
//! expired, on the hot path or in bulk, and losing the last few of those
//! in a crash is harmless, so they commit without an fsync of their own
//! (they reach the disk with the next durable commit).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableError};

use super::{decode_counter, KvBackend, KvError, DEFAULT_STORE};

/// Expired entries deleted per write transaction of a sweep.
const SWEEP_BATCH: usize = 5000;

#[derive(Clone)]
pub struct RedbBackend {
    db: Arc<Database>,
}

/// One table per bucket, so listing a bucket is a table scan.
fn table_name(bucket: &str) -> String {
    format!("kv:{bucket}")
}

fn storage<E: std::fmt::Display>(e: E) -> KvError {
    KvError::Storage(e.to_string())
}

type Table<'t> = redb::Table<'t, &'static str, &'static [u8]>;

impl RedbBackend {
    /// Opens (or creates) the database file. redb takes an exclusive lock,
    /// so a second host on the same data directory fails here, clearly.
    pub fn open(path: &Path) -> Result<Self, KvError> {
        let db = Database::create(path).map_err(|e| KvError::Storage(format!("{}: {e}", path.display())))?;
        let backend = Self { db: Arc::new(db) };
        // Create the default bucket up front so a fresh store is inspectable.
        backend.write(DEFAULT_STORE, Durability::Immediate, |_| Ok(()))?;
        Ok(backend)
    }

    fn write<T>(&self, bucket: &str, durability: Durability, f: impl FnOnce(&mut Table<'_>) -> Result<T, KvError>) -> Result<T, KvError> {
        let name = table_name(bucket);
        let def: TableDefinition<&str, &[u8]> = TableDefinition::new(&name);
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(durability).map_err(storage)?;
        let result = {
            let mut table = txn.open_table(def).map_err(storage)?;
            f(&mut table)
        };
        match result {
            Ok(value) => {
                txn.commit().map_err(storage)?;
                Ok(value)
            }
            Err(e) => {
                // Nothing to keep; an abort failure would hide the real error.
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    /// [`Self::write`] on the blocking pool: durable commits fsync.
    async fn write_blocking<T: Send + 'static>(
        &self,
        bucket: &str,
        durability: Durability,
        f: impl FnOnce(&mut Table<'_>) -> Result<T, KvError> + Send + 'static,
    ) -> Result<T, KvError> {
        let (this, bucket) = (self.clone(), bucket.to_string());
        tokio::task::spawn_blocking(move || this.write(&bucket, durability, f)).await.map_err(|e| KvError::Storage(format!("storage task failed: {e}")))?
    }

    fn read<T>(&self, bucket: &str, absent: T, f: impl FnOnce(&redb::ReadOnlyTable<&str, &[u8]>) -> Result<T, KvError>) -> Result<T, KvError> {
        let name = table_name(bucket);
        let def: TableDefinition<&str, &[u8]> = TableDefinition::new(&name);
        let txn = self.db.begin_read().map_err(storage)?;
        match txn.open_table(def) {
            Ok(table) => f(&table),
            // A bucket nobody wrote to is empty, not an error.
            Err(TableError::TableDoesNotExist(_)) => Ok(absent),
            Err(e) => Err(storage(e)),
        }
    }

    /// Up to `limit` keys of the default bucket that have expired by `now`.
    fn expired(&self, now: u64, limit: usize) -> Result<Vec<String>, KvError> {
        self.read(DEFAULT_STORE, Vec::new(), |t| {
            let mut keys = Vec::new();
            for entry in t.iter().map_err(storage)? {
                let (key, value) = entry.map_err(storage)?;
                if tmi_auth_core::store::expiry(key.value(), value.value()).is_some_and(|at| at <= now) {
                    keys.push(key.value().to_owned());
                    if keys.len() == limit {
                        break;
                    }
                }
            }
            Ok(keys)
        })
    }
}

fn current(table: &Table<'_>, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    Ok(table.get(key).map_err(storage)?.map(|v| v.value().to_vec()))
}

#[async_trait]
impl KvBackend for RedbBackend {
    fn name(&self) -> &'static str {
        "redb"
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.read(bucket, None, |t| Ok(t.get(key).map_err(storage)?.map(|v| v.value().to_vec())))
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        let key = key.to_string();
        self.write_blocking(bucket, Durability::Immediate, move |t| {
            t.insert(key.as_str(), value.as_slice()).map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        let key = key.to_string();
        self.write_blocking(bucket, Durability::Immediate, move |t| {
            t.remove(key.as_str()).map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        self.read(bucket, false, |t| Ok(t.get(key).map_err(storage)?.is_some()))
    }

    async fn list_keys(&self, bucket: &str) -> Result<Vec<String>, KvError> {
        self.read(bucket, Vec::new(), |t| {
            let mut keys = Vec::new();
            for entry in t.iter().map_err(storage)? {
                keys.push(entry.map_err(storage)?.0.value().to_owned());
            }
            Ok(keys)
        })
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let key = key.to_string();
        self.write_blocking(bucket, Durability::None, move |t| {
            let now = decode_counter(current(t, &key)?.as_deref())?;
            let next = now.checked_add(delta).ok_or(KvError::Overflow)?;
            t.insert(key.as_str(), &next.to_le_bytes()[..]).map_err(storage)?;
            Ok(next)
        })
        .await
    }

    async fn compare_and_swap(&self, bucket: &str, key: &str, expected: Option<Vec<u8>>, new: Vec<u8>) -> Result<bool, KvError> {
        let key = key.to_string();
        self.write_blocking(bucket, Durability::Immediate, move |t| {
            if current(t, &key)? != expected {
                return Ok(false);
            }
            t.insert(key.as_str(), new.as_slice()).map_err(storage)?;
            Ok(true)
        })
        .await
    }

    async fn sweep(&self, now: u64) -> Result<usize, KvError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut dropped = 0;
            loop {
                let keys = this.expired(now, SWEEP_BATCH)?;
                let found = keys.len();
                // Each key is checked again under the write lock: one written
                // anew since the scan stays.
                dropped += this.write(DEFAULT_STORE, Durability::None, |t| {
                    let mut n = 0;
                    for key in &keys {
                        let expired = current(t, key)?.is_some_and(|v| tmi_auth_core::store::expiry(key, &v).is_some_and(|at| at <= now));
                        if expired {
                            t.remove(key.as_str()).map_err(storage)?;
                            n += 1;
                        }
                    }
                    Ok(n)
                })?;
                if found < SWEEP_BATCH {
                    return Ok(dropped);
                }
            }
        })
        .await
        .map_err(|e| KvError::Storage(format!("sweep task failed: {e}")))?
    }

    async fn len(&self) -> Result<usize, KvError> {
        self.read(DEFAULT_STORE, 0, |t| Ok(t.len().map_err(storage)? as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::keyvalue::conformance;

    fn backend() -> (tempfile::TempDir, RedbBackend) {
        let dir = tempfile::tempdir().unwrap();
        let kv = RedbBackend::open(&dir.path().join("store.redb")).unwrap();
        (dir, kv)
    }

    #[tokio::test]
    async fn conformance() {
        conformance::get_set_delete(&backend().1).await;
        conformance::increment(&backend().1).await;
        conformance::increment_on_non_counter_fails(&backend().1).await;
        conformance::compare_and_swap(&backend().1).await;
        let (_dir, kv) = backend();
        conformance::racing_cas_has_one_winner(Arc::new(kv)).await;
        conformance::expired_entries_are_dropped(&backend().1, 1_800_000_000).await;
    }

    #[tokio::test]
    async fn counters_are_eight_byte_little_endian_as_in_spin() {
        let (_dir, kv) = backend();
        kv.increment("default", "n", 40).await.unwrap();
        assert_eq!(kv.get("default", "n").await.unwrap(), Some(40i64.to_le_bytes().to_vec()));
    }

    #[tokio::test]
    async fn data_persists_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        {
            let kv = RedbBackend::open(&path).unwrap();
            kv.set("default", "refresh", b"family-1".to_vec()).await.unwrap();
            kv.increment("default", "counter", 7).await.unwrap();
        }
        let kv = RedbBackend::open(&path).unwrap();
        assert_eq!(kv.get("default", "refresh").await.unwrap(), Some(b"family-1".to_vec()));
        assert_eq!(kv.increment("default", "counter", 1).await.unwrap(), 8);
    }

    #[test]
    fn second_open_of_the_same_file_is_refused() {
        let (dir, _kv) = backend();
        assert!(RedbBackend::open(&dir.path().join("store.redb")).is_err());
    }
}
