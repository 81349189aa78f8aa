//! Login sessions and their refresh tokens.
//!
//! A session is what one login (one code redemption) opened; it is the
//! refresh-token family. Tokens carry the session id (`sid`), so ending a
//! session makes its refresh tokens and every access token minted in it
//! invalid at once, on every host sharing the store. Refresh tokens are
//! opaque, stored under their hash, single use with rotation; presenting a
//! rotated one again ends the session (RFC 9700 §4.14.2).

use serde::{Deserialize, Serialize};

use super::users::UserRef;
use crate::config::Config;
use crate::encoding::random_token;
use crate::error::{AuthError, GrantRule};
use crate::ports::World;
use crate::store::{self, keys};

/// How long things live, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access tokens.
    pub access: u64,
    /// Refresh tokens.
    pub refresh: u64,
    /// Absolute session lifetime.
    pub session: u64,
    /// How long a rotated refresh token may still be presented (concurrent
    /// refreshes) without counting as reuse.
    pub refresh_grace: u64,
}

impl From<&Config> for Lifetimes {
    fn from(c: &Config) -> Self {
        Lifetimes {
            access: c.access_token_lifetime,
            refresh: c.refresh_token_lifetime,
            session: c.session_lifetime,
            refresh_grace: c.refresh_grace_period,
        }
    }
}

/// A session record; it expires at the absolute session end.
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
    /// The session (family) it belongs to.
    pub session: String,
    /// When it was issued.
    pub issued_at: u64,
    /// When it was exchanged for a new pair, if it was.
    pub rotated_at: Option<u64>,
}

/// Store a new session and its first refresh token; returns the token.
pub fn start(world: &World, lifetimes: &Lifetimes, sid: &str, user: &UserRef) -> Result<String, AuthError> {
    let session_end = world.now + lifetimes.session;
    let session = Session { user: user.clone(), created_at: world.now };
    store::write(world.store, &keys::session(sid), &session, session_end)?;
    new_refresh_token(world, lifetimes, sid, session_end)
}

fn new_refresh_token(world: &World, lifetimes: &Lifetimes, sid: &str, session_end: u64) -> Result<String, AuthError> {
    let token = random_token(world.random);
    let record = RefreshToken { session: sid.to_string(), issued_at: world.now, rotated_at: None };
    let expires = (world.now + lifetimes.refresh).min(session_end);
    store::write(world.store, &keys::refresh(&token), &record, expires)?;
    Ok(token)
}

/// The outcome of a successful refresh: the session and its successor token.
pub struct Rotated {
    /// The session id.
    pub sid: String,
    /// Whose session.
    pub user: UserRef,
    /// The new refresh token.
    pub refresh_token: String,
}

/// Exchange a refresh token for its successor. Of concurrent exchanges
/// exactly one wins; the others (outside the grace window) end the session.
pub fn rotate(world: &World, lifetimes: &Lifetimes, token: &str) -> Result<Rotated, AuthError> {
    let invalid = AuthError::InvalidGrant(GrantRule::RefreshInvalid);
    let key = keys::refresh(token);
    loop {
        let read = store::read::<RefreshToken>(world.store, &key, world.now)?.ok_or(invalid.clone())?;
        let sid = read.value.session.clone();
        if is_revoked(world, &sid)? {
            return Err(invalid);
        }
        let session = store::read::<Session>(world.store, &keys::session(&sid), world.now)?.ok_or(invalid.clone())?;
        let rotated = match read.value.rotated_at {
            Some(at) if lifetimes.refresh_grace > 0 && world.now <= at + lifetimes.refresh_grace => None,
            Some(_) => {
                revoke(world, lifetimes, &sid)?;
                return Err(AuthError::InvalidGrant(GrantRule::RefreshReused));
            }
            None => Some(RefreshToken { rotated_at: Some(world.now), ..read.value.clone() }),
        };
        // The successor is stored before the token is marked rotated: an
        // outage in between leaves the old token usable, never a session
        // without a usable token.
        let refresh_token = new_refresh_token(world, lifetimes, &sid, session.expires_at)?;
        if let Some(rotated) = rotated {
            if !store::replace(world.store, &key, &read, &rotated, read.expires_at)? {
                world.store.delete(&keys::refresh(&refresh_token))?;
                continue; // someone else rotated it first: judge again as reuse
            }
        }
        return Ok(Rotated { sid, user: session.value.user, refresh_token });
    }
}

/// What a live refresh token says, for introspection and revocation.
pub fn lookup_refresh(world: &World, token: &str) -> Result<Option<(RefreshToken, u64)>, AuthError> {
    let Some(read) = store::read::<RefreshToken>(world.store, &keys::refresh(token), world.now)? else {
        return Ok(None);
    };
    if read.value.rotated_at.is_some() || is_revoked(world, &read.value.session)? {
        return Ok(None);
    }
    Ok(Some((read.value, read.expires_at)))
}

/// The user of a live session.
pub fn session_user(world: &World, sid: &str) -> Result<Option<UserRef>, AuthError> {
    Ok(store::read::<Session>(world.store, &keys::session(sid), world.now)?.map(|s| s.value.user))
}

/// End a session: its refresh tokens and access tokens stop working.
/// The mark outlives every token the session could have minted.
pub fn revoke(world: &World, lifetimes: &Lifetimes, sid: &str) -> Result<(), AuthError> {
    let until = world.now + lifetimes.session + lifetimes.access;
    store::write(world.store, &keys::revoked_session(sid), &true, until)
}

/// Whether the session has been ended.
pub fn is_revoked(world: &World, sid: &str) -> Result<bool, AuthError> {
    Ok(store::read::<bool>(world.store, &keys::revoked_session(sid), world.now)?.is_some())
}
