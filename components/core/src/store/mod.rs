//! Typed records in the key-value store, and the store's layout.
//!
//! WASI key-value has no TTL, so expiry lives in the value: every record is
//! an envelope `{"expires_at": …, "value": …}`, and reads treat an expired
//! record as absent. Counters (rate-limit windows, claims) are 8-byte
//! integers that are only ever incremented, so their expiry is written in
//! their key instead (`family@<expires_at>:…`, see [`keys`]). [`expiry`]
//! reads either, so a host can drop what has expired without knowing the
//! families.
//!
//! Every change that others may race goes through an atomic operation:
//! compare-and-swap against the exact bytes that were read (or from absent),
//! or increment. Where a runtime's own compare-and-swap is not atomic
//! (Spin's), the component wraps its store in a [`lease::LeasedStore`].

pub mod keys;
pub mod lease;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::ports::Store;

/// The expiry of records that never expire (users, credentials, indexes).
pub const FOREVER: u64 = u64::MAX;

/// How often [`update`] retries a contended change before giving up (503).
const MAX_ATTEMPTS: usize = 32;

/// A record as stored: the value plus its expiry. `expires_at` comes first,
/// so a host can read it without decoding the value.
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

/// What is at a key: a live record, or the bytes of a dead one (expired or
/// undecodable), which a change must swap out rather than create over.
enum Slot<T> {
    Live(Versioned<T>),
    Dead(Vec<u8>),
    Absent,
}

fn slot<T: DeserializeOwned>(store: &dyn Store, key: &str, now: u64) -> Result<Slot<T>, AuthError> {
    let Some(raw) = store.get(key)? else { return Ok(Slot::Absent) };
    Ok(match serde_json::from_slice::<Envelope<T>>(&raw) {
        Ok(env) if env.expires_at > now => Slot::Live(Versioned { value: env.value, expires_at: env.expires_at, raw }),
        _ => Slot::Dead(raw),
    })
}

/// Read `key`; expired or undecodable records count as absent.
pub fn read<T: DeserializeOwned>(store: &dyn Store, key: &str, now: u64) -> Result<Option<Versioned<T>>, AuthError> {
    Ok(match slot(store, key, now)? {
        Slot::Live(v) => Some(v),
        _ => None,
    })
}

/// Write `key` unconditionally: for keys nobody else can know (random
/// states, codes, tokens) and for marks whose last writer may win.
pub fn write<T: Serialize>(store: &dyn Store, key: &str, value: &T, expires_at: u64) -> Result<(), AuthError> {
    store.set(key, &encode(value, expires_at)?)?;
    Ok(())
}

/// Replace the record that was read as `old` with `new`, only if nobody
/// changed it in between. Returns whether this caller won.
pub fn replace<T: Serialize, U>(store: &dyn Store, key: &str, old: &Versioned<U>, new: &T, expires_at: u64) -> Result<bool, AuthError> {
    Ok(store.compare_and_swap(key, Some(&old.raw), &encode(new, expires_at)?)?)
}

/// Create or change the record at `key`, atomically against concurrent
/// changers: `change` gets the live value (`None` when there is none) and
/// returns the new one, or `None` when there is nothing to do. Retried
/// until it applies; returns whether anything was written.
pub fn update<T: Serialize + DeserializeOwned>(
    store: &dyn Store,
    key: &str,
    now: u64,
    expires_at: u64,
    mut change: impl FnMut(Option<&T>) -> Option<T>,
) -> Result<bool, AuthError> {
    for _ in 0..MAX_ATTEMPTS {
        let current = slot::<T>(store, key, now)?;
        let live = match &current {
            Slot::Live(v) => Some(&v.value),
            _ => None,
        };
        let Some(new) = change(live) else { return Ok(false) };
        let new = encode(&new, expires_at)?;
        let won = match &current {
            Slot::Live(v) => store.compare_and_swap(key, Some(&v.raw), &new)?,
            Slot::Dead(raw) => store.compare_and_swap(key, Some(raw), &new)?,
            Slot::Absent => store.compare_and_swap(key, None, &new)?,
        };
        if won {
            return Ok(true);
        }
    }
    Err(AuthError::Unavailable(format!("too many concurrent changes of a {} record", keys::family(key))))
}

/// Claim a counter key: true for the first caller only, on every backend
/// (increment is atomic everywhere). Single-use things (a SAML assertion,
/// a logout request, an ID token nonce) are claimed this way.
pub fn claim(store: &dyn Store, counter_key: &str) -> Result<bool, AuthError> {
    Ok(store.increment(counter_key, 1)? == 1)
}

fn encode<T: Serialize>(value: &T, expires_at: u64) -> Result<Vec<u8>, AuthError> {
    serde_json::to_vec(&Envelope { expires_at, value }).map_err(|e| AuthError::Internal(format!("encoding a record: {e}")))
}

/// When the entry `key` = `value` may be dropped: a counter's expiry from
/// its key, a record's from its envelope; `None` for entries that never
/// expire (or that this layout does not know).
pub fn expiry(key: &str, value: &[u8]) -> Option<u64> {
    if let Some(at) = keys::counter_expiry(key) {
        return Some(at);
    }
    const PREFIX: &[u8] = b"{\"expires_at\":";
    let digits = value.strip_prefix(PREFIX)?;
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    let at: u64 = std::str::from_utf8(&digits[..end]).ok()?.parse().ok()?;
    (at != FOREVER).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;

    #[test]
    fn expired_records_read_as_absent_and_are_replaced_not_created_over() {
        let store = MemoryStore::default();
        write(&store, "k", &1u32, 100).unwrap();
        assert_eq!(read::<u32>(&store, "k", 99).unwrap().unwrap().value, 1);
        assert!(read::<u32>(&store, "k", 100).unwrap().is_none());
        // The dead bytes are still there: an update must swap them out.
        assert!(update(&store, "k", 100, 200, |old: Option<&u32>| Some(old.copied().unwrap_or(0) + 5)).unwrap());
        assert_eq!(read::<u32>(&store, "k", 150).unwrap().unwrap().value, 5);
    }

    #[test]
    fn update_creates_changes_and_can_decline() {
        let store = MemoryStore::default();
        let add = |x: u32| move |old: Option<&Vec<u32>>| {
            let mut v = old.cloned().unwrap_or_default();
            (!v.contains(&x)).then(|| {
                v.push(x);
                v
            })
        };
        assert!(update(&store, "list", 0, FOREVER, add(1)).unwrap());
        assert!(update(&store, "list", 0, FOREVER, add(2)).unwrap());
        assert!(!update(&store, "list", 0, FOREVER, add(2)).unwrap(), "nothing to do");
        assert_eq!(read::<Vec<u32>>(&store, "list", 0).unwrap().unwrap().value, [1, 2]);
    }

    #[test]
    fn a_claim_has_one_winner() {
        let store = MemoryStore::default();
        assert!(claim(&store, "claim@100:x").unwrap());
        assert!(!claim(&store, "claim@100:x").unwrap());
    }

    #[test]
    fn expiry_is_read_from_records_and_counter_keys() {
        let store = MemoryStore::default();
        write(&store, "session:s", &true, 1234).unwrap();
        write(&store, "user:u", &true, FOREVER).unwrap();
        assert_eq!(expiry("session:s", &store.get("session:s").unwrap().unwrap()), Some(1234));
        assert_eq!(expiry("user:u", &store.get("user:u").unwrap().unwrap()), None);
        assert_eq!(expiry(&keys::rate_limit("ip", "1.2.3.4", 60), &5i64.to_le_bytes()), Some(60));
        assert_eq!(expiry("cc-failures:x", &5i64.to_le_bytes()), None);
        assert_eq!(expiry("healthz", b"garbage"), None);
    }
}
