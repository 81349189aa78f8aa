//! A wall clock that runs ahead by an offset read from a file: the test
//! suite's way to step past expiries (tokens, lockouts, rate windows)
//! without sleeping. Only honoured with `--dev`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime_wasi::HostWallClock;

/// The environment variable naming the offset file (seconds, an integer).
pub const ENV: &str = "TMI_DEV_CLOCK_OFFSET_FILE";

/// Real time plus the offset in the file (0 if unreadable).
#[derive(Clone)]
pub struct OffsetClock {
    file: Arc<PathBuf>,
}

impl OffsetClock {
    pub fn new(file: PathBuf) -> Self {
        Self { file: Arc::new(file) }
    }

    fn offset(&self) -> i64 {
        std::fs::read_to_string(&*self.file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl OffsetClock {
    /// Seconds since the epoch, by this clock.
    pub fn seconds(&self) -> u64 {
        HostWallClock::now(self).as_secs()
    }
}

impl HostWallClock for OffsetClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let offset = self.offset();
        if offset >= 0 {
            real + Duration::from_secs(offset as u64)
        } else {
            real.saturating_sub(Duration::from_secs(offset.unsigned_abs()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_ahead_by_the_file_offset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("offset");
        std::fs::write(&file, "3600").unwrap();
        let clock = OffsetClock::new(file.clone());
        let real = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let ahead = clock.now().saturating_sub(real).as_secs();
        assert!((3599..=3601).contains(&ahead), "{ahead}");
        std::fs::write(&file, "garbage").unwrap();
        assert!(clock.now().saturating_sub(real).as_secs() < 5);
    }
}
