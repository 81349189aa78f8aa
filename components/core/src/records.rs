//! Typed records in the key-value store.
//!
//! WASI key-value has no TTL, so expiry lives in the value: every record
//! carries `expires_at`, and reads treat an expired record as absent.
//! Single-use records change state with compare-and-swap against the exact
//! bytes that were read, so two concurrent consumers cannot both win.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::ports::Store;

/// A record as stored: the value plus its expiry.
#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    expires_at: u64,
    value: T,
}

/// A record read from the store, with the bytes it was read as (for CAS).
pub struct Versioned<T> {
    /// The decoded value.
    pub value: T,
    /// When the record expires (seconds since the epoch).
    pub expires_at: u64,
    raw: Vec<u8>,
}

/// Read `key`; expired or undecodable records count as absent.
pub fn read<T: DeserializeOwned>(store: &dyn Store, key: &str, now: u64) -> Result<Option<Versioned<T>>, AuthError> {
    let Some(raw) = store.get(key)? else { return Ok(None) };
    match serde_json::from_slice::<Envelope<T>>(&raw) {
        Ok(env) if env.expires_at > now => Ok(Some(Versioned { value: env.value, expires_at: env.expires_at, raw })),
        _ => Ok(None),
    }
}

/// Write `key` unconditionally.
pub fn write<T: Serialize>(store: &dyn Store, key: &str, value: &T, expires_at: u64) -> Result<(), AuthError> {
    store.set(key, &encode(value, expires_at)?)?;
    Ok(())
}

/// Create `key` only if it does not exist yet. Returns whether it was created.
pub fn create<T: Serialize>(store: &dyn Store, key: &str, value: &T, expires_at: u64) -> Result<bool, AuthError> {
    Ok(store.compare_and_swap(key, None, &encode(value, expires_at)?)?)
}

/// Replace the record that was read as `old` with `new`, only if nobody
/// changed it in between. Returns whether this caller won.
pub fn replace<T: Serialize, U>(
    store: &dyn Store,
    key: &str,
    old: &Versioned<U>,
    new: &T,
    expires_at: u64,
) -> Result<bool, AuthError> {
    Ok(store.compare_and_swap(key, Some(&old.raw), &encode(new, expires_at)?)?)
}

fn encode<T: Serialize>(value: &T, expires_at: u64) -> Result<Vec<u8>, AuthError> {
    serde_json::to_vec(&Envelope { expires_at, value })
        .map_err(|e| AuthError::Internal(format!("encoding a record: {e}")))
}
