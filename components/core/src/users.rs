//! Users: created on first login, matched by (provider, provider user id).

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::encoding::{random_uuid, sha256_b64url};
use crate::error::AuthError;
use crate::groups;
use crate::ports::World;
use crate::providers::Identity;
use crate::records;

/// Users never expire.
const FOREVER: u64 = u64::MAX;

/// How a user is found: the provider and the provider's id for them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRef {
    /// Provider id (`idp`).
    pub idp: String,
    /// The provider's user id (`sub`).
    pub provider_user_id: String,
}

/// A user record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    /// Our internal UUID.
    pub id: String,
    /// Provider and provider user id.
    #[serde(flatten)]
    pub user_ref: UserRef,
    /// Email address (from the latest login).
    pub email: String,
    /// Whether the provider verified it.
    pub email_verified: bool,
    /// Display name.
    pub name: String,
    /// Groups from the latest login.
    pub groups: Vec<String>,
    /// First login.
    pub created_at: u64,
    /// Latest login.
    pub last_login_at: u64,
}

impl UserRef {
    fn key(&self) -> String {
        // Hashed: provider ids may be long or hold any character.
        format!("user:{}:{}", self.idp, sha256_b64url(&self.provider_user_id))
    }
}

/// Find the user for this login or create them; refresh their profile.
pub fn find_or_create(world: &World, idp: &str, identity: &Identity) -> Result<UserRef, AuthError> {
    groups::record(world, idp, &identity.groups)?;
    let user_ref = UserRef { idp: idp.to_string(), provider_user_id: identity.provider_user_id.clone() };
    let key = user_ref.key();
    loop {
        match records::read::<User>(world.store, &key, world.now)? {
            Some(existing) => {
                let updated = User {
                    email: identity.email.clone(),
                    email_verified: identity.email_verified,
                    name: identity.name.clone(),
                    groups: identity.groups.clone(),
                    last_login_at: world.now,
                    ..existing.value.clone()
                };
                // A concurrent login of the same user may win; its profile is as fresh.
                records::replace(world.store, &key, &existing, &updated, FOREVER)?;
                return Ok(user_ref);
            }
            None => {
                let user = User {
                    id: random_uuid(world.random),
                    user_ref: user_ref.clone(),
                    email: identity.email.clone(),
                    email_verified: identity.email_verified,
                    name: identity.name.clone(),
                    groups: identity.groups.clone(),
                    created_at: world.now,
                    last_login_at: world.now,
                };
                if records::create(world.store, &key, &user, FOREVER)? {
                    return Ok(user_ref);
                }
                // Someone created them first: read theirs.
            }
        }
    }
}

/// Load a user.
pub fn load(world: &World, user_ref: &UserRef) -> Result<Option<User>, AuthError> {
    Ok(records::read::<User>(world.store, &user_ref.key(), world.now)?.map(|r| r.value))
}

/// Administrators are configured by email, provider user id or group name.
pub fn is_admin(config: &Config, user: &User) -> bool {
    config.admins.iter().any(|a| {
        a.eq_ignore_ascii_case(&user.email) || *a == user.user_ref.provider_user_id || user.groups.contains(a)
    })
}
