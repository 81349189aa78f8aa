//! The WIT side of key-value: `wasi:keyvalue/store` and `atomics` on a
//! [`KeyValueView`] of the request's resource table and the shared backend.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::resources::{Bucket, Cas};
use super::{KvBackend, KvError, DEFAULT_STORE};
use crate::capabilities::bindings::{kv_atomics, kv_store};
use crate::metrics::Metrics;

/// The capability as the component sees it, for one request.
pub struct KeyValueView<'a> {
    pub table: &'a mut ResourceTable,
    pub backend: &'a Arc<dyn KvBackend>,
    pub metrics: &'a Metrics,
}

/// Links `wasi:keyvalue` to a [`KeyValueView`].
pub struct KeyValue;

impl HasData for KeyValue {
    type Data<'a> = KeyValueView<'a>;
}

type KvResult<T> = Result<T, kv_store::Error>;

/// Maps a backend failure to the guest-visible error. Details go to the log
/// (never values: they carry codes and tokens).
fn to_guest_error(err: KvError) -> kv_store::Error {
    match err {
        KvError::Storage(detail) => {
            tracing::warn!(%detail, "key-value backend failure");
            kv_store::Error::Other("storage unavailable".to_string())
        }
        other => kv_store::Error::Other(other.to_string()),
    }
}

impl KeyValueView<'_> {
    fn bucket_name(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(bucket)?.name.clone())
    }

    /// The backend and metrics, which (unlike the resource table) may be
    /// held across an await.
    fn shared(&self) -> (&Arc<dyn KvBackend>, &Metrics) {
        (self.backend, self.metrics)
    }
}

/// One backend call, timed and counted by operation.
async fn call<T>(backend: &Arc<dyn KvBackend>, metrics: &Metrics, operation: &'static str, f: impl Future<Output = Result<T, KvError>>) -> KvResult<T> {
    let started = Instant::now();
    let result = f.await;
    metrics.store(backend.name(), operation, started.elapsed(), matches!(result, Err(KvError::Storage(_))));
    result.map_err(to_guest_error)
}

impl kv_store::Host for KeyValueView<'_> {
    async fn open(&mut self, identifier: String) -> wasmtime::Result<KvResult<Resource<Bucket>>> {
        if identifier != DEFAULT_STORE {
            return Ok(Err(kv_store::Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(Bucket { name: identifier })?))
    }
}

impl kv_store::HostBucket for KeyValueView<'_> {
    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<Option<Vec<u8>>>> {
        let name = self.bucket_name(&bucket)?;
        let (b, m) = self.shared();
        Ok(call(b, m, "get", b.get(&name, &key)).await)
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> wasmtime::Result<KvResult<()>> {
        let name = self.bucket_name(&bucket)?;
        let (b, m) = self.shared();
        Ok(call(b, m, "set", b.set(&name, &key, value)).await)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<()>> {
        let name = self.bucket_name(&bucket)?;
        let (b, m) = self.shared();
        Ok(call(b, m, "delete", b.delete(&name, &key)).await)
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<bool>> {
        let name = self.bucket_name(&bucket)?;
        let (b, m) = self.shared();
        Ok(call(b, m, "exists", b.exists(&name, &key)).await)
    }

    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<String>) -> wasmtime::Result<KvResult<kv_store::KeyResponse>> {
        // Like Spin: everything in one page, so a cursor can only be misuse.
        if cursor.is_some() {
            return Ok(Err(kv_store::Error::Other("list-keys cursors are not supported".into())));
        }
        let name = self.bucket_name(&bucket)?;
        let (b, m) = self.shared();
        Ok(call(b, m, "list_keys", b.list_keys(&name)).await.map(|keys| kv_store::KeyResponse { keys, cursor: None }))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl kv_atomics::Host for KeyValueView<'_> {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: i64) -> wasmtime::Result<KvResult<i64>> {
        let name = self.bucket_name(&bucket)?;
        let (b, m) = self.shared();
        Ok(call(b, m, "increment", b.increment(&name, &key, delta)).await)
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), kv_atomics::CasError>> {
        // `swap` consumes the handle (it is an owned `cas` in the WIT).
        let Cas { bucket, key, snapshot } = self.table.delete(cas)?;
        let (b, m) = self.shared();
        match call(b, m, "compare_and_swap", b.compare_and_swap(&bucket, &key, snapshot, value)).await {
            Ok(true) => Ok(Ok(())),
            // Someone else wrote first: hand back a fresh handle so the
            // guest can re-read and retry.
            Ok(false) => match call(b, m, "get", b.get(&bucket, &key)).await {
                Ok(snapshot) => Ok(Err(kv_atomics::CasError::CasFailed(self.table.push(Cas { bucket, key, snapshot })?))),
                Err(e) => Ok(Err(kv_atomics::CasError::StoreError(e))),
            },
            Err(e) => Ok(Err(kv_atomics::CasError::StoreError(e))),
        }
    }
}

impl kv_atomics::HostCas for KeyValueView<'_> {
    async fn new(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<Resource<Cas>>> {
        let name = self.bucket_name(&bucket)?;
        let (b, m) = self.shared();
        match call(b, m, "get", b.get(&name, &key)).await {
            Ok(snapshot) => Ok(Ok(self.table.push(Cas { bucket: name, key, snapshot })?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn current(&mut self, cas: Resource<Cas>) -> wasmtime::Result<KvResult<Option<Vec<u8>>>> {
        Ok(Ok(self.table.get(&cas)?.snapshot.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}
