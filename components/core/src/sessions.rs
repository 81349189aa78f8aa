//! Login sessions and their refresh tokens.
//!
//! A session is what one login (one code redemption) opened; it is the
//! refresh-token family. Tokens carry the session id (`sid`), so ending a
//! session makes its refresh tokens and every access token minted in it
//! invalid at once, on every host sharing the store. Refresh tokens are
//! opaque, stored under their hash, single use with rotation; presenting a
//! rotated one again ends the session (RFC 9700 §4.14.2).

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

fn session_key(sid: &str) -> String {
    format!("session:{sid}")
}

fn revoked_key(sid: &str) -> String {
    format!("revoked-session:{sid}")
}

fn refresh_key(token: &str) -> String {
    format!("refresh:{}", sha256_b64url(token))
}

/// Store a new session and its first refresh token; returns the token.
pub fn start(world: &World, lifetimes: &Lifetimes, sid: &str, user: &UserRef) -> Result<String, AuthError> {
    let session_end = world.now + lifetimes.session;
    let session = Session { user: user.clone(), created_at: world.now };
    records::write(world.store, &session_key(sid), &session, session_end)?;
    new_refresh_token(world, lifetimes, sid, session_end)
}

fn new_refresh_token(world: &World, lifetimes: &Lifetimes, sid: &str, session_end: u64) -> Result<String, AuthError> {
    let token = random_token(world.random);
    let record = RefreshToken { session: sid.to_string(), issued_at: world.now, rotated_at: None };
    let expires = (world.now + lifetimes.refresh).min(session_end);
    records::write(world.store, &refresh_key(&token), &record, expires)?;
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
    let invalid = || AuthError::InvalidGrant("the refresh token is invalid, expired or revoked".into());
    let key = refresh_key(token);
    loop {
        let read = records::read::<RefreshToken>(world.store, &key, world.now)?.ok_or_else(invalid)?;
        let sid = read.value.session.clone();
        if is_revoked(world, &sid)? {
            return Err(invalid());
        }
        let session = records::read::<Session>(world.store, &session_key(&sid), world.now)?.ok_or_else(invalid)?;
        match read.value.rotated_at {
            Some(at) if lifetimes.refresh_grace > 0 && world.now <= at + lifetimes.refresh_grace => {}
            Some(_) => {
                revoke(world, lifetimes, &sid)?;
                return Err(AuthError::InvalidGrant(
                    "the refresh token was already used; the session has been revoked".into(),
                ));
            }
            None => {
                let rotated = RefreshToken { rotated_at: Some(world.now), ..read.value.clone() };
                if !records::replace(world.store, &key, &read, &rotated, read.expires_at)? {
                    continue; // someone else rotated it first: judge again as reuse
                }
            }
        }
        let refresh_token = new_refresh_token(world, lifetimes, &sid, session.expires_at)?;
        return Ok(Rotated { sid, user: session.value.user, refresh_token });
    }
}

/// What a live refresh token says, for introspection and revocation.
pub fn lookup_refresh(world: &World, token: &str) -> Result<Option<(RefreshToken, u64)>, AuthError> {
    let Some(read) = records::read::<RefreshToken>(world.store, &refresh_key(token), world.now)? else {
        return Ok(None);
    };
    if read.value.rotated_at.is_some() || is_revoked(world, &read.value.session)? {
        return Ok(None);
    }
    Ok(Some((read.value, read.expires_at)))
}

/// The user of a live session.
pub fn session_user(world: &World, sid: &str) -> Result<Option<UserRef>, AuthError> {
    Ok(records::read::<Session>(world.store, &session_key(sid), world.now)?.map(|s| s.value.user))
}

/// End a session: its refresh tokens and access tokens stop working.
/// The mark outlives every token the session could have minted.
pub fn revoke(world: &World, lifetimes: &Lifetimes, sid: &str) -> Result<(), AuthError> {
    let until = world.now + lifetimes.session + lifetimes.access;
    records::write(world.store, &revoked_key(sid), &true, until)
}

/// Whether the session has been ended.
pub fn is_revoked(world: &World, sid: &str) -> Result<bool, AuthError> {
    Ok(records::read::<bool>(world.store, &revoked_key(sid), world.now)?.is_some())
}
