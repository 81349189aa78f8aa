//! What one client may hold of the host: connections, buffered body bytes,
//! and the time to send a body. Without these, clients that stop sending
//! halfway through a body keep their connections (and file descriptors and
//! buffers) forever.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections served at once, at most (lowered to fit the file-descriptor limit).
pub const MAX_CONNECTIONS: usize = 10_000;
/// File descriptors kept free for everything but client connections
/// (the store, outbound requests to identity providers, logs).
const RESERVED_FDS: u64 = 256;
/// Request bodies buffered at once, in bytes, across all connections.
pub const MAX_BUFFERED_BODY_BYTES: usize = 64 << 20;
/// How long a client may take to send a request body once its head arrived.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections this process can hold: raise the soft limit on
/// open files to the hard one, and keep [`RESERVED_FDS`] of it free.
pub fn connection_limit() -> usize {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(fds) => {
            let fit = fds.saturating_sub(RESERVED_FDS).max(16);
            (fit as usize).min(MAX_CONNECTIONS)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-file limit; assuming 1024");
            1024 - RESERVED_FDS as usize
        }
    }
}

/// Why a body was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Over [`crate::runtime::server::MAX_BODY_BYTES`].
    TooLarge,
    /// Not complete within [`BODY_READ_TIMEOUT`].
    TimedOut,
    /// Broken framing: a bad chunk size, fewer bytes than Content-Length.
    Malformed,
    /// The host's body budget is spent: too many large bodies at once.
    Busy,
}

/// A request body in memory, with its share of the body budget (returned
/// when dropped).
pub struct Buffered {
    pub bytes: Bytes,
    pub _budget: Option<OwnedSemaphorePermit>,
}

/// Read a whole body of at most `max` bytes before `deadline`, taking its
/// size from `budget` as it arrives.
pub async fn read_body(mut body: Incoming, max: usize, budget: &Arc<Semaphore>, deadline: Instant) -> Result<Buffered, BodyError> {
    let mut bytes = BytesMut::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    loop {
        let frame = match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(BodyError::Malformed),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        if bytes.len() + data.len() > max {
            return Err(BodyError::TooLarge);
        }
        if !data.is_empty() {
            let permit = Arc::clone(budget).try_acquire_many_owned(data.len() as u32).map_err(|_| BodyError::Busy)?;
            match held.as_mut() {
                Some(h) => h.merge(permit),
                None => held = Some(permit),
            }
        }
        bytes.extend_from_slice(&data);
    }
    Ok(Buffered { bytes: bytes.freeze(), _budget: held })
}

/// The connection cap and the body budget.
pub struct Limits {
    pub connections: Arc<Semaphore>,
    pub body_budget: Arc<Semaphore>,
}

impl Limits {
    pub fn new(connections: usize) -> Self {
        Limits { connections: Arc::new(Semaphore::new(connections)), body_budget: Arc::new(Semaphore::new(MAX_BUFFERED_BODY_BYTES)) }
    }
}

/// Logs an error at most once per second, with how many were not logged.
pub struct RateLimitedLog {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    pub fn new() -> Self {
        RateLimitedLog { last: Mutex::new(None), suppressed: AtomicU64::new(0) }
    }

    /// Whether to log now; `Some(n)` with the number suppressed since the last line.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

impl Default for RateLimitedLog {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_logged_once_a_second_with_a_count() {
        let log = RateLimitedLog::new();
        let t0 = Instant::now();
        assert_eq!(log.admit(t0), Some(0));
        assert_eq!(log.admit(t0 + Duration::from_millis(10)), None);
        assert_eq!(log.admit(t0 + Duration::from_millis(900)), None);
        assert_eq!(log.admit(t0 + Duration::from_millis(1001)), Some(2));
    }

    #[test]
    fn the_connection_cap_fits_the_descriptor_limit() {
        let cap = connection_limit();
        assert!((16..=MAX_CONNECTIONS).contains(&cap), "{cap}");
    }
}
