//! Machine credentials (CONTRACT.md, "Client credentials"): users create up
//! to ten; each is a `tmi_cc_` client id and a 256-bit secret shown once,
//! stored as HMAC-SHA-256 under a server-side pepper. A fast keyed hash is
//! right here: the secret is high-entropy, so a slow password hash would
//! only slow the grant without making guessing any harder.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::users::UserRef;
use crate::config::Config;
use crate::encoding::{b64url, random_token, random_uuid};
use crate::error::{AuthError, ClientRule};
use crate::ports::World;
use crate::store::{self, keys, FOREVER};
use crate::values::is_uuid;

/// Active credentials one user may hold.
pub const QUOTA: usize = 10;

/// Failures before each lockout step, and how long that lockout lasts.
const LOCKOUT_STEPS: [(i64, u64); 4] = [(5, 1), (10, 30), (20, 300), (50, 3600)];

/// A machine credential as stored (never its secret, only its hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MachineCredential {
    /// UUID, for the API.
    pub id: String,
    /// `tmi_cc_…`, for the grant.
    pub client_id: String,
    /// base64url HMAC-SHA-256(pepper, secret).
    pub secret_hash: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The user who created it.
    pub owner: UserRef,
    /// Created.
    pub created_at: u64,
    /// Expiry, if any.
    pub expires_at: Option<u64>,
    /// Last successful grant.
    pub last_used_at: Option<u64>,
}

impl MachineCredential {
    /// Not expired at `now`.
    pub fn is_active(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|e| e > now)
    }
}

/// What a user asks for when creating a credential.
pub struct NewCredential<'a> {
    /// Its name: 1-100 printable characters.
    pub name: &'a str,
    /// Its description: at most 500 printable characters.
    pub description: Option<&'a str>,
    /// Its expiry, which must lie in the future.
    pub expires_at: Option<u64>,
}

fn hash_secret(config: &Config, secret: &str) -> Result<String, AuthError> {
    let pepper = config.client_secret_pepper.as_ref().ok_or_else(|| AuthError::Internal("client_secret_pepper is not configured".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.0.as_bytes()).map_err(|_| AuthError::Internal("unusable pepper".into()))?;
    mac.update(secret.as_bytes());
    Ok(b64url(&mac.finalize().into_bytes()))
}

/// Load a credential; expired ones are returned too (the caller decides).
pub fn load(world: &World, client_id: &str) -> Result<Option<MachineCredential>, AuthError> {
    Ok(store::read(world.store, &keys::credential(client_id), world.now)?.map(|r| r.value))
}

/// Whether tokens of this credential are still good: it exists and has not expired.
pub fn is_active(world: &World, client_id: &str) -> Result<bool, AuthError> {
    Ok(load(world, client_id)?.is_some_and(|c| c.is_active(world.now)))
}

fn check(new: &NewCredential, now: u64) -> Result<(), AuthError> {
    let printable = |s: &str, max: usize| s.chars().count() <= max && !s.chars().any(char::is_control);
    if new.name.is_empty() || !printable(new.name, 100) {
        return Err(AuthError::InvalidRequest("name must be 1-100 printable characters".into()));
    }
    if new.description.is_some_and(|d| !printable(d, 500)) {
        return Err(AuthError::InvalidRequest("description must be at most 500 printable characters".into()));
    }
    if new.expires_at.is_some_and(|e| e <= now) {
        return Err(AuthError::InvalidRequest("expires_at must be in the future".into()));
    }
    Ok(())
}

/// Create a credential for `owner`; returns it and its secret (shown once).
/// At most [`QUOTA`] active ones per user, counted atomically.
pub fn create(world: &World, config: &Config, owner: &UserRef, new: &NewCredential) -> Result<(MachineCredential, String), AuthError> {
    check(new, world.now)?;
    let mut id_bytes = [0u8; 16];
    world.random.fill(&mut id_bytes);
    let secret = random_token(world.random);
    let credential = MachineCredential {
        id: random_uuid(world.random),
        client_id: format!("tmi_cc_{}", b64url(&id_bytes)),
        secret_hash: hash_secret(config, &secret)?,
        name: new.name.to_string(),
        description: new.description.map(String::from),
        owner: owner.clone(),
        created_at: world.now,
        expires_at: new.expires_at,
        last_used_at: None,
    };
    // The record first, then the index: a crash in between leaves an
    // unreachable record, never an index entry without a record.
    store::write(world.store, &keys::credential(&credential.client_id), &credential, FOREVER)?;
    let mut over_quota = false;
    let index = keys::credential_owner(&owner.idp, &owner.provider_user_id);
    let added = store::update(world.store, &index, world.now, FOREVER, |ids: Option<&Vec<String>>| {
        let mut ids = ids.cloned().unwrap_or_default();
        over_quota = ids.iter().filter(|id| is_active(world, id).unwrap_or(true)).count() >= QUOTA;
        (!over_quota).then(|| {
            ids.push(credential.client_id.clone());
            ids
        })
    });
    if over_quota || added.is_err() {
        world.store.delete(&keys::credential(&credential.client_id))?;
        added?;
        return Err(AuthError::Forbidden(format!("at most {QUOTA} active client credentials per user")));
    }
    Ok((credential, secret))
}

/// The credentials of `owner`, newest first.
pub fn list(world: &World, owner: &UserRef) -> Result<Vec<MachineCredential>, AuthError> {
    let index = keys::credential_owner(&owner.idp, &owner.provider_user_id);
    let ids = store::read::<Vec<String>>(world.store, &index, world.now)?.map(|r| r.value).unwrap_or_default();
    let mut list = Vec::new();
    for id in ids {
        list.extend(load(world, &id)?);
    }
    list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    Ok(list)
}

/// Delete credential `id` of `owner`: every token of it is inactive at
/// once. Another user's credential is as absent as a missing one.
pub fn delete(world: &World, owner: &UserRef, id: &str) -> Result<(), AuthError> {
    if !is_uuid(id) {
        return Err(AuthError::InvalidRequest("id must be a UUID".into()));
    }
    let credential = list(world, owner)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AuthError::NotFound("no such client credential".into()))?;
    // The record goes first: from then on every token of it is inactive.
    world.store.delete(&keys::credential(&credential.client_id))?;
    world.store.delete(&keys::credential_failures(&credential.client_id))?;
    let index = keys::credential_owner(&owner.idp, &owner.provider_user_id);
    store::update(world.store, &index, world.now, FOREVER, |ids: Option<&Vec<String>>| {
        let ids = ids?;
        ids.contains(&credential.client_id).then(|| ids.iter().filter(|c| **c != credential.client_id).cloned().collect::<Vec<_>>())
    })?;
    Ok(())
}

/// Authenticate a client for the client_credentials grant. Failures lock
/// the client id out for growing periods (CONTRACT.md).
pub fn authenticate(world: &World, config: &Config, client_id: &str, secret: &str) -> Result<MachineCredential, AuthError> {
    if let Some(lock) = store::read::<bool>(world.store, &keys::credential_lock(client_id), world.now)? {
        return Err(AuthError::TooManyRequests { retry_after: lock.expires_at - world.now, limit: None });
    }
    let presented = hash_secret(config, secret)?;
    let key = keys::credential(client_id);
    let stored = store::read::<MachineCredential>(world.store, &key, world.now)?;
    let matches = stored
        .as_ref()
        .is_some_and(|c| c.value.is_active(world.now) && bool::from(c.value.secret_hash.as_bytes().ct_eq(presented.as_bytes())));
    let Some(read) = stored.filter(|_| matches) else {
        // Count failures only for ids that exist, so a spray of random ids
        // cannot fill the store; the IP rate limit covers those.
        if world.store.get(&key)?.is_some() {
            count_failure(world, client_id)?;
        }
        return Err(AuthError::InvalidClient(ClientRule::Failed));
    };
    // Success forgets earlier failures. Checking presence first keeps the
    // common path free of writes (a counter key is deleted, never `set`).
    if world.store.get(&keys::credential_failures(client_id))?.is_some() {
        world.store.delete(&keys::credential_failures(client_id))?;
    }
    // last_used_at to the minute: a write per grant would be the hot path's
    // cost. Swapped, not written: a concurrent delete must stay deleted.
    let credential = read.value.clone();
    if credential.last_used_at.is_none_or(|t| world.now >= t + 60) {
        let used = MachineCredential { last_used_at: Some(world.now), ..credential.clone() };
        store::replace(world.store, &key, &read, &used, FOREVER)?;
    }
    Ok(credential)
}

fn count_failure(world: &World, client_id: &str) -> Result<(), AuthError> {
    let failures = world.store.increment(&keys::credential_failures(client_id), 1)?;
    let step = LOCKOUT_STEPS.iter().rev().find(|(n, _)| failures == *n || (failures > 50 && *n == 50));
    if let Some((_, secs)) = step {
        // Clocks count whole seconds: one more, so the lock lasts at least `secs`.
        store::write(world.store, &keys::credential_lock(client_id), &true, world.now + secs + 1)?;
    }
    Ok(())
}
