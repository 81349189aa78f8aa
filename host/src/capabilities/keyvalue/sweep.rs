//! Expired entries leave the store: WASI key-value has no TTL, so without
//! a sweep every flow, code, rate-limit window and revocation mark would
//! stay forever and the store would grow with traffic. Backends with a TTL
//! of their own (Redis) have nothing to sweep.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::KvBackend;
use crate::metrics::Metrics;

/// Seconds since the epoch, by the clock the component sees.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs())
}

/// Sweep `backend` every `interval`, for as long as it is open.
pub fn spawn(backend: Weak<dyn KvBackend>, interval: Duration, clock: Clock, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(backend) = backend.upgrade() else { return };
            let swept = match backend.sweep(clock()).await {
                Ok(n) => backend.len().await.map(|left| (n, left)),
                Err(e) => Err(e),
            };
            match swept {
                Ok((deleted, left)) => {
                    metrics.swept(deleted, left);
                    tracing::debug!(deleted, left, "expired entries deleted");
                }
                Err(e) => tracing::warn!(error = %e, "sweeping expired entries failed"),
            }
        }
    });
}
