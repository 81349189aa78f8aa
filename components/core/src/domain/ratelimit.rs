//! Fixed-window rate limits, counted in the store with atomic increment so
//! they hold across every host sharing it. Counter keys are only ever
//! incremented (Spin keeps counters in its own binary form) and carry the
//! window's end, so they are dropped once it is over.

use crate::config::Limit;
use crate::error::{AuthError, RateState};
use crate::ports::World;
use crate::store::keys;

/// Count one request against `limit` for `scope`/`id`; refuse when over.
pub fn hit(world: &World, scope: &str, id: &str, limit: Limit) -> Result<RateState, AuthError> {
    let window_start = world.now - world.now % limit.window;
    let reset = window_start + limit.window;
    let count = world.store.increment(&keys::rate_limit(scope, id, reset), 1)?.max(0) as u64;
    let state = RateState { limit: limit.count, remaining: limit.count.saturating_sub(count), reset };
    if count > limit.count {
        return Err(AuthError::TooManyRequests { retry_after: reset - world.now, limit: Some(state) });
    }
    Ok(state)
}

/// Check every applicable scope; the most restrictive state is reported.
pub fn check_all(world: &World, checks: &[(&str, &str, Option<Limit>)]) -> Result<Option<RateState>, AuthError> {
    let mut tightest: Option<RateState> = None;
    for (scope, id, limit) in checks {
        let Some(limit) = limit else { continue };
        let state = hit(world, scope, id, *limit)?;
        if tightest.is_none_or(|t| state.remaining < t.remaining) {
            tightest = Some(state);
        }
    }
    Ok(tightest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestWorld;

    #[test]
    fn limit_hits_and_resets_with_the_window() {
        let w = TestWorld::default();
        let limit = Limit { count: 3, window: 60 };
        let t0 = 1_800_000_020; // 20 s into a window
        for remaining in [2, 1, 0] {
            assert_eq!(hit(&w.at(t0), "ip", "1.2.3.4", limit).unwrap().remaining, remaining);
        }
        match hit(&w.at(t0), "ip", "1.2.3.4", limit) {
            Err(AuthError::TooManyRequests { retry_after, limit: Some(s) }) => {
                assert_eq!(retry_after, 40);
                assert_eq!(s.remaining, 0);
            }
            other => panic!("{other:?}"),
        }
        assert!(hit(&w.at(t0), "ip", "5.6.7.8", limit).is_ok(), "other clients are unaffected");
        assert!(hit(&w.at(t0 + 40), "ip", "1.2.3.4", limit).is_ok(), "a new window starts afresh");
    }
}
