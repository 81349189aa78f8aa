//! Compare-and-swap for stores whose own is not atomic, built on the one
//! atomic operation every `wasi:keyvalue` store gets right: increment.
//!
//! Spin 4.0's stores are such stores: its sqlite store reads the value when
//! the CAS handle is made and later swaps unconditionally (two racers both
//! win), and its Redis store follows every transaction with `UNWATCH <key>`,
//! which Redis refuses, so every swap reports failure, applied or not.
//!
//! [`LeasedStore`] takes a short lease on the key, then reads, compares and
//! writes. A lease is a counter per key and 10-second bucket of wall-clock
//! time; taking one means incrementing the bucket's counter to 1 while both
//! neighbouring buckets' counters are absent. Two takers in neighbouring
//! buckets each write their own counter and then read the other's, so at
//! least one of them sees the other and backs off. A lease is given back by
//! deleting its counter; one left behind by a crash stops blocking two
//! buckets later (10–30 s). The critical section is three store round trips,
//! far inside the 10 s it is guaranteed exclusive for.

use crate::ports::{Store, StoreError};

use super::keys;

/// The `wasi:config` key through which a host says its key-value store's
/// compare-and-swap is atomic (ours does; without it, leases are used).
pub const ATOMIC_CAS_CONFIG_KEY: &str = "host_store_cas_is_atomic";

/// How many times a busy lease is waited for before the CAS reports an outage.
const MAX_WAITS: u32 = 200;

/// A store whose `compare_and_swap` is made atomic with leases; every
/// other operation goes straight to `inner`.
pub struct LeasedStore<'a> {
    inner: &'a dyn Store,
    /// Wall-clock seconds, read afresh for every lease.
    clock: &'a dyn Fn() -> u64,
    /// A short wait (a millisecond or two) before asking for a busy lease again.
    pause: &'a dyn Fn(),
}

impl<'a> LeasedStore<'a> {
    /// Wrap `inner`, whose own compare-and-swap is not trusted.
    pub fn new(inner: &'a dyn Store, clock: &'a dyn Fn() -> u64, pause: &'a dyn Fn()) -> Self {
        LeasedStore { inner, clock, pause }
    }

    /// The lease on `key`, if nobody else holds one: the counter to delete.
    fn try_lease(&self, key: &str) -> Result<Option<String>, StoreError> {
        let bucket = keys::lease_bucket((self.clock)());
        let mine = keys::cas_lease(key, bucket);
        if self.inner.increment(&mine, 1)? != 1 {
            return Ok(None); // held; its holder deletes the counter
        }
        for other in [bucket.saturating_sub(1), bucket + 1].into_iter().filter(|&b| b != bucket) {
            if self.inner.get(&keys::cas_lease(key, other))?.is_some() {
                // Someone in a neighbouring bucket: give ours back.
                self.inner.delete(&mine)?;
                return Ok(None);
            }
        }
        Ok(Some(mine))
    }

    fn swap_if(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        if self.inner.get(key)?.as_deref() != expected {
            return Ok(false);
        }
        self.inner.set(key, new)?;
        Ok(true)
    }
}

impl Store for LeasedStore<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta)
    }
    fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        for _ in 0..MAX_WAITS {
            if let Some(lease) = self.try_lease(key)? {
                let swapped = self.swap_if(key, expected, new);
                self.inner.delete(&lease)?;
                return swapped;
            }
            (self.pause)();
        }
        Err(StoreError(format!("a {} record stayed locked", keys::family(key))))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Barrier;

    use super::*;
    use crate::testing::MemoryStore;

    /// Spin 4.0's sqlite store: the value is read when the handle is made,
    /// the swap is an unconditional write (with room for others in between).
    struct NonAtomicCas(MemoryStore);

    impl Store for NonAtomicCas {
        fn get(&self, k: &str) -> Result<Option<Vec<u8>>, StoreError> { self.0.get(k) }
        fn set(&self, k: &str, v: &[u8]) -> Result<(), StoreError> { self.0.set(k, v) }
        fn delete(&self, k: &str) -> Result<(), StoreError> { self.0.delete(k) }
        fn increment(&self, k: &str, d: i64) -> Result<i64, StoreError> { self.0.increment(k, d) }
        fn compare_and_swap(&self, k: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
            let current = self.0.get(k)?;
            std::thread::yield_now();
            if current.as_deref() != expected {
                return Ok(false);
            }
            self.0.set(k, new).map(|()| true)
        }
    }

    fn race(store: &NonAtomicCas, threads: usize, clock: &(dyn Fn() -> u64 + Sync)) -> usize {
        let winners = AtomicUsize::new(0);
        let start = Barrier::new(threads);
        let pause = || std::thread::yield_now();
        std::thread::scope(|s| {
            for i in 0..threads {
                let (winners, start, pause) = (&winners, &start, &pause);
                s.spawn(move || {
                    let leased = LeasedStore::new(store, clock, pause);
                    start.wait();
                    if leased.compare_and_swap("code", Some(b"fresh"), format!("redeemed by {i}").as_bytes()).unwrap() {
                        winners.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        winners.into_inner()
    }

    #[test]
    fn the_store_alone_lets_racers_both_win() {
        // The premise: without leases, some rounds have several winners.
        let mut rounds_with_many = 0;
        for _ in 0..200 {
            let store = NonAtomicCas(MemoryStore::default());
            store.set("code", b"fresh").unwrap();
            let winners = AtomicUsize::new(0);
            let start = Barrier::new(8);
            std::thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| {
                        start.wait();
                        if store.compare_and_swap("code", Some(b"fresh"), b"mine").unwrap() {
                            winners.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
            });
            rounds_with_many += usize::from(winners.into_inner() > 1);
        }
        assert!(rounds_with_many > 0, "the non-atomic store never raced; the next test would prove nothing");
    }

    #[test]
    fn with_leases_exactly_one_racer_wins_even_across_a_bucket_boundary() {
        for round in 0..200u64 {
            let store = NonAtomicCas(MemoryStore::default());
            store.set("code", b"fresh").unwrap();
            // Every other round the clock crosses a bucket boundary while the racers run.
            let ticks = AtomicU64::new(0);
            let clock = move || if round % 2 == 0 { 1_000 } else { 1_005 + ticks.fetch_add(1, Ordering::SeqCst) % 10 };
            assert_eq!(race(&store, 8, &clock), 1, "round {round}");
            // Every lease was given back.
            let leftover = store.0.map.lock().unwrap().keys().filter(|k| k.starts_with("lease@")).count();
            assert_eq!(leftover, 0, "round {round}");
        }
    }

    #[test]
    fn a_lease_left_by_a_crash_blocks_until_two_buckets_later_then_lapses() {
        let store = MemoryStore::default();
        store.set("k", b"v1").unwrap();
        store.increment(&keys::cas_lease("k", keys::lease_bucket(1_000)), 1).unwrap();
        let now = AtomicU64::new(1_000);
        let clock = || now.load(Ordering::SeqCst);
        let pause = || {
            now.fetch_add(1, Ordering::SeqCst);
        };
        let leased = LeasedStore::new(&store, &clock, &pause);
        assert!(leased.compare_and_swap("k", Some(b"v1"), b"v2").unwrap());
        assert!(now.load(Ordering::SeqCst) >= 1_020, "waited out the crashed holder's buckets");
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"v2"[..]));
    }

    #[test]
    fn a_lease_that_never_frees_is_an_outage_not_a_lost_race() {
        let store = MemoryStore::default();
        store.set("k", b"v1").unwrap();
        let clock = || 1_000;
        let pause = || {};
        store.increment(&keys::cas_lease("k", keys::lease_bucket(1_000)), 1).unwrap();
        let leased = LeasedStore::new(&store, &clock, &pause);
        assert!(leased.compare_and_swap("k", Some(b"v1"), b"v2").is_err());
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"v1"[..]));
    }

    #[test]
    fn a_mismatch_is_false_and_creation_from_absent_is_exclusive() {
        let store = MemoryStore::default();
        let (clock, pause) = (|| 5, || {});
        let leased = LeasedStore::new(&store, &clock, &pause);
        assert!(leased.compare_and_swap("k", None, b"a").unwrap());
        assert!(!leased.compare_and_swap("k", None, b"b").unwrap());
        assert!(!leased.compare_and_swap("k", Some(b"x"), b"b").unwrap());
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"a"[..]));
    }
}
