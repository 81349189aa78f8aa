//! The groups seen in logins from each identity provider.

use crate::error::AuthError;
use crate::ports::World;
use crate::store::{self, keys, FOREVER};

/// Groups remembered per provider, at most.
const MAX_GROUPS: usize = 1000;

/// Remember `groups` as seen from `idp`.
pub fn record(world: &World, idp: &str, groups: &[String]) -> Result<(), AuthError> {
    if groups.is_empty() {
        return Ok(());
    }
    store::update(world.store, &keys::groups(idp), world.now, FOREVER, |seen: Option<&Vec<String>>| {
        let mut all = seen.cloned().unwrap_or_default();
        let before = all.len();
        for g in groups {
            if all.len() < MAX_GROUPS && !all.contains(g) {
                all.push(g.clone());
            }
        }
        all.sort();
        (all.len() != before).then_some(all)
    })?;
    Ok(())
}

/// The groups seen from `idp`, sorted; `None` if no login from it ever carried any.
pub fn seen(world: &World, idp: &str) -> Result<Option<Vec<String>>, AuthError> {
    Ok(store::read::<Vec<String>>(world.store, &keys::groups(idp), world.now)?.map(|r| r.value))
}
