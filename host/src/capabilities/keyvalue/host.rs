//! The WIT side of key-value: `wasi:keyvalue/store` and `atomics` on a
//! [`KeyValueView`] of the request's resource table and the shared backend.

use std::sync::Arc;

use wasmtime::component::{HasData, Resource, ResourceTable};

use super::resources::{Bucket, Cas};
use super::{KvBackend, KvError, DEFAULT_STORE};
use crate::capabilities::bindings::{kv_atomics, kv_store};

/// The capability as the component sees it, for one request.
pub struct KeyValueView<'a> {
    pub table: &'a mut ResourceTable,
    pub backend: &'a Arc<dyn KvBackend>,
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

/// Runs a backend call on the blocking pool: durable commits fsync.
async fn blocking<T, F>(kv: &Arc<dyn KvBackend>, f: F) -> KvResult<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn KvBackend) -> Result<T, KvError> + Send + 'static,
{
    let kv = Arc::clone(kv);
    match tokio::task::spawn_blocking(move || f(kv.as_ref())).await {
        Ok(result) => result.map_err(to_guest_error),
        Err(join) => Err(to_guest_error(KvError::Storage(format!("storage task failed: {join}")))),
    }
}

impl KeyValueView<'_> {
    fn bucket_name(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<String> {
        Ok(self.table.get(bucket)?.name.clone())
    }
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
        Ok(blocking(self.backend, move |kv| kv.get(&name, &key)).await)
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> wasmtime::Result<KvResult<()>> {
        let name = self.bucket_name(&bucket)?;
        Ok(blocking(self.backend, move |kv| kv.set(&name, &key, &value)).await)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<()>> {
        let name = self.bucket_name(&bucket)?;
        Ok(blocking(self.backend, move |kv| kv.delete(&name, &key)).await)
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<bool>> {
        let name = self.bucket_name(&bucket)?;
        Ok(blocking(self.backend, move |kv| kv.exists(&name, &key)).await)
    }

    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<String>) -> wasmtime::Result<KvResult<kv_store::KeyResponse>> {
        // Like Spin: everything in one page, so a cursor can only be misuse.
        if cursor.is_some() {
            return Ok(Err(kv_store::Error::Other("list-keys cursors are not supported".into())));
        }
        let name = self.bucket_name(&bucket)?;
        Ok(blocking(self.backend, move |kv| kv.list_keys(&name)).await.map(|keys| kv_store::KeyResponse { keys, cursor: None }))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl kv_atomics::Host for KeyValueView<'_> {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: i64) -> wasmtime::Result<KvResult<i64>> {
        let name = self.bucket_name(&bucket)?;
        Ok(blocking(self.backend, move |kv| kv.increment(&name, &key, delta)).await)
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), kv_atomics::CasError>> {
        // `swap` consumes the handle (it is an owned `cas` in the WIT).
        let Cas { bucket, key, snapshot } = self.table.delete(cas)?;
        let swapped = {
            let (bucket, key) = (bucket.clone(), key.clone());
            blocking(self.backend, move |kv| kv.compare_and_swap(&bucket, &key, snapshot.as_deref(), &value)).await
        };
        match swapped {
            Ok(true) => Ok(Ok(())),
            // Someone else wrote first: hand back a fresh handle so the
            // guest can re-read and retry.
            Ok(false) => {
                let (b, k) = (bucket.clone(), key.clone());
                match blocking(self.backend, move |kv| kv.get(&b, &k)).await {
                    Ok(snapshot) => Ok(Err(kv_atomics::CasError::CasFailed(self.table.push(Cas { bucket, key, snapshot })?))),
                    Err(e) => Ok(Err(kv_atomics::CasError::StoreError(e))),
                }
            }
            Err(e) => Ok(Err(kv_atomics::CasError::StoreError(e))),
        }
    }
}

impl kv_atomics::HostCas for KeyValueView<'_> {
    async fn new(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<Resource<Cas>>> {
        let name = self.bucket_name(&bucket)?;
        let (b, k) = (name.clone(), key.clone());
        match blocking(self.backend, move |kv| kv.get(&b, &k)).await {
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
