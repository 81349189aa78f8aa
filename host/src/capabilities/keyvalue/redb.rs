//! The default, durable backend: an embedded redb database in the data
//! directory. Every write is its own transaction committed with
//! `Durability::Immediate` (fsync before returning), so an acknowledged
//! write survives `kill -9` and power loss; increment and compare-and-swap
//! read and write inside one write transaction, which redb serialises.
//!
//! Counters (`increment`) are the exception: they count requests for rate
//! limits and failures for lockouts, on the hot path, and losing the last
//! few increments in a crash is harmless, so they commit without an fsync
//! of their own (they reach the disk with the next durable commit).

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::{decode_counter, KvBackend, KvError};

pub struct RedbBackend {
    db: Database,
}

/// One table per bucket, so listing a bucket is a table scan.
fn table_name(bucket: &str) -> String {
    format!("kv:{bucket}")
}

fn storage<E: std::fmt::Display>(e: E) -> KvError {
    KvError::Storage(e.to_string())
}

impl RedbBackend {
    /// Opens (or creates) the database file. redb takes an exclusive lock,
    /// so a second host on the same data directory fails here, clearly.
    pub fn open(path: &Path) -> Result<Self, KvError> {
        let db = Database::create(path)
            .map_err(|e| KvError::Storage(format!("{}: {e}", path.display())))?;
        let backend = Self { db };
        // Create the default bucket up front so a fresh store is inspectable.
        backend.write(super::DEFAULT_STORE, Durability::Immediate, |_| Ok(()))?;
        Ok(backend)
    }

    fn write<T>(
        &self,
        bucket: &str,
        durability: Durability,
        f: impl FnOnce(&mut redb::Table<'_, &str, &[u8]>) -> Result<T, KvError>,
    ) -> Result<T, KvError> {
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

    fn read<T>(
        &self,
        bucket: &str,
        absent: T,
        f: impl FnOnce(&redb::ReadOnlyTable<&str, &[u8]>) -> Result<T, KvError>,
    ) -> Result<T, KvError> {
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
}

fn current(table: &redb::Table<'_, &str, &[u8]>, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    Ok(table.get(key).map_err(storage)?.map(|v| v.value().to_vec()))
}

impl KvBackend for RedbBackend {
    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.read(bucket, None, |t| {
            Ok(t.get(key).map_err(storage)?.map(|v| v.value().to_vec()))
        })
    }

    fn set(&self, bucket: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.write(bucket, Durability::Immediate, |t| {
            t.insert(key, value).map_err(storage)?;
            Ok(())
        })
    }

    fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.write(bucket, Durability::Immediate, |t| {
            t.remove(key).map_err(storage)?;
            Ok(())
        })
    }

    fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        self.read(bucket, false, |t| {
            Ok(t.get(key).map_err(storage)?.is_some())
        })
    }

    fn list_keys(&self, bucket: &str) -> Result<Vec<String>, KvError> {
        self.read(bucket, Vec::new(), |t| {
            let mut keys = Vec::new();
            for entry in t.iter().map_err(storage)? {
                let (key, _) = entry.map_err(storage)?;
                keys.push(key.value().to_owned());
            }
            Ok(keys)
        })
    }

    fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        self.write(bucket, Durability::None, |t| {
            let now = decode_counter(current(t, key)?.as_deref())?;
            let next = now.checked_add(delta).ok_or(KvError::Overflow)?;
            t.insert(key, &next.to_le_bytes()[..]).map_err(storage)?;
            Ok(next)
        })
    }

    fn compare_and_swap(
        &self,
        bucket: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, KvError> {
        self.write(bucket, Durability::Immediate, |t| {
            if current(t, key)?.as_deref() != expected {
                return Ok(false);
            }
            t.insert(key, new).map_err(storage)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::keyvalue::conformance;
    use std::sync::Arc;

    fn backend() -> (tempfile::TempDir, RedbBackend) {
        let dir = tempfile::tempdir().unwrap();
        let kv = RedbBackend::open(&dir.path().join("store.redb")).unwrap();
        (dir, kv)
    }

    #[test]
    fn get_set_delete() {
        let (_dir, kv) = backend();
        conformance::get_set_delete(&kv);
    }

    #[test]
    fn increment_from_absent_and_repeated() {
        let (_dir, kv) = backend();
        conformance::increment(&kv);
    }

    #[test]
    fn increment_on_non_counter_fails() {
        let (_dir, kv) = backend();
        conformance::increment_on_non_counter_fails(&kv);
    }

    #[test]
    fn compare_and_swap() {
        let (_dir, kv) = backend();
        conformance::compare_and_swap(&kv);
    }

    #[test]
    fn racing_cas_has_one_winner() {
        let (_dir, kv) = backend();
        conformance::racing_cas_has_one_winner(Arc::new(kv));
    }

    #[test]
    fn data_persists_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        {
            let kv = RedbBackend::open(&path).unwrap();
            kv.set("default", "refresh", b"family-1").unwrap();
            kv.increment("default", "counter", 7).unwrap();
        }
        let kv = RedbBackend::open(&path).unwrap();
        assert_eq!(
            kv.get("default", "refresh").unwrap().as_deref(),
            Some(&b"family-1"[..])
        );
        assert_eq!(kv.increment("default", "counter", 1).unwrap(), 8);
    }

    #[test]
    fn second_open_of_the_same_file_is_refused() {
        let (dir, _kv) = backend();
        assert!(RedbBackend::open(&dir.path().join("store.redb")).is_err());
    }
}
