//! Login sessions: what one login (one code redemption) opened. Tokens
//! carry the session id, so ending a session makes every token minted in it
//! invalid at once, on every host sharing the store.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::encoding::{random_token, sha256_b64url};
use crate::error::AuthError;
use crate::ports::World;
use crate::records;
use crate::users::UserRef;

/// How long things live, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access tokens.
    pub access: u64,
    /// Refresh tokens.
    pub refresh: u64,
    /// Absolute session lifetime.
    pub session: u64,
}

impl From<&Config> for Lifetimes {
    fn from(c: &Config) -> Self {
        Lifetimes { access: c.access_token_lifetime, refresh: c.refresh_token_lifetime, session: c.session_lifetime }
    }
}

/// A session record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    /// Whose session.
    pub user: UserRef,
    /// When it began.
    pub created_at: u64,
}

/// A refresh token record, stored under the token's hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefreshToken {
    /// The session it belongs to.
    pub session: String,
    /// Set once it has been exchanged (rotation).
    pub used: bool,
}

fn session_key(sid: &str) -> String {
    format!("session:{sid}")
}

fn revoked_key(sid: &str) -> String {
    format!("revoked-session:{sid}")
}

/// Store a new session and its first refresh token; returns the token.
pub fn start(world: &World, lifetimes: &Lifetimes, sid: &str, user: &UserRef) -> Result<String, AuthError> {
    let session_end = world.now + lifetimes.session;
    let session = Session { user: user.clone(), created_at: world.now };
    records::write(world.store, &session_key(sid), &session, session_end)?;
    let token = random_token(world.random);
    let record = RefreshToken { session: sid.to_string(), used: false };
    let expires = (world.now + lifetimes.refresh).min(session_end);
    records::write(world.store, &format!("refresh:{}", sha256_b64url(&token)), &record, expires)?;
    Ok(token)
}

/// End a session: its refresh tokens and access tokens stop working.
/// The mark outlives every token the session could have minted.
pub fn revoke(world: &World, lifetimes: &Lifetimes, sid: &str) -> Result<(), AuthError> {
    let until = world.now + lifetimes.session + lifetimes.access;
    records::write(world.store, &revoked_key(sid), &true, until)?;
    Ok(())
}

/// Whether the session has been ended.
pub fn is_revoked(world: &World, sid: &str) -> Result<bool, AuthError> {
    Ok(records::read::<bool>(world.store, &revoked_key(sid), world.now)?.is_some())
}
