//! Users: created on first login, matched by (provider, provider user id).

use serde::{Deserialize, Serialize};

use super::groups;
use crate::config::Config;
use crate::encoding::random_uuid;
use crate::error::AuthError;
use crate::identity::Identity;
use crate::ports::World;
use crate::store::{self, keys, FOREVER};

/// How a user is found: the provider and the provider's id for them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRef {
    /// Provider id (`idp`).
    pub idp: String,
    /// The provider's user id (`sub`).
    pub provider_user_id: String,
}

impl UserRef {
    fn key(&self) -> String {
        keys::user(&self.idp, &self.provider_user_id)
    }
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

/// Find the user for this login or create them; refresh their profile.
pub fn find_or_create(world: &World, idp: &str, identity: &Identity) -> Result<UserRef, AuthError> {
    groups::record(world, idp, &identity.groups)?;
    let user_ref = UserRef { idp: idp.to_string(), provider_user_id: identity.provider_user_id.clone() };
    store::update(world.store, &user_ref.key(), world.now, FOREVER, |existing: Option<&User>| {
        let (id, created_at) = match existing {
            Some(u) => (u.id.clone(), u.created_at),
            None => (random_uuid(world.random), world.now),
        };
        Some(User {
            id,
            user_ref: user_ref.clone(),
            email: identity.email.clone(),
            email_verified: identity.email_verified,
            name: identity.name.clone(),
            groups: identity.groups.clone(),
            created_at,
            last_login_at: world.now,
        })
    })?;
    Ok(user_ref)
}

/// Load a user.
pub fn load(world: &World, user_ref: &UserRef) -> Result<Option<User>, AuthError> {
    Ok(store::read::<User>(world.store, &user_ref.key(), world.now)?.map(|r| r.value))
}

/// Administrators are configured by email, provider user id or group name.
pub fn is_admin(config: &Config, user: &User) -> bool {
    config.admins.iter().any(|a| a.eq_ignore_ascii_case(&user.email) || *a == user.user_ref.provider_user_id || user.groups.contains(a))
}
