//! One-time TMI authorization codes, bound to the client's PKCE challenge
//! and callback. Stored under the code's hash; redeemed with
//! compare-and-swap so that of concurrent redemptions exactly one wins, and
//! a second redemption revokes what the first produced (RFC 6749 §4.1.2).

use serde::{Deserialize, Serialize};

use super::client::ClientRequest;
use super::sessions::{self, Lifetimes};
use super::users::UserRef;
use super::{pkce, CODE_LIFETIME};
use crate::encoding::random_token;
use crate::error::{AuthError, GrantRule};
use crate::ports::World;
use crate::store::{self, keys};

/// An issued code, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// Who logged in.
    pub user: UserRef,
    /// What the client asked for: the redemption must match it.
    pub client: ClientRequest,
    /// The session the (first) redemption opened, once redeemed.
    pub redeemed_session: Option<String>,
    /// The session id the redemption is to open, when the login chose it
    /// up front (SAML logins, so that single logout can end it).
    pub session: Option<String>,
}

/// Issue a code for `user` to `client`; its redemption opens `session` when given.
pub fn issue(world: &World, user: &UserRef, client: &ClientRequest, session: Option<String>) -> Result<String, AuthError> {
    if client.code_challenge.is_none() {
        return Err(AuthError::Internal("a code without a PKCE challenge".into()));
    }
    let code = random_token(world.random);
    let record = AuthorizationCode { user: user.clone(), client: client.clone(), redeemed_session: None, session };
    store::write(world.store, &keys::code(&code), &record, world.now + CODE_LIFETIME)?;
    Ok(code)
}

/// Whether `code` is a TMI code we issued (redeemed or not, unexpired).
pub fn exists(world: &World, code: &str) -> Result<bool, AuthError> {
    Ok(store::read::<AuthorizationCode>(world.store, &keys::code(code), world.now)?.is_some())
}

/// What the token request presents.
pub struct Redemption<'a> {
    /// The code.
    pub code: &'a str,
    /// The PKCE verifier.
    pub code_verifier: &'a str,
    /// Must equal the client callback.
    pub redirect_uri: &'a str,
    /// If given, must equal the client's state.
    pub state: Option<&'a str>,
    /// If given, must equal the code's provider.
    pub idp: Option<&'a str>,
}

/// Redeem a code. On success returns the code and the id of the new
/// session, which the caller fills with tokens.
pub fn redeem(world: &World, lifetimes: &Lifetimes, r: &Redemption) -> Result<(AuthorizationCode, String), AuthError> {
    let key = keys::code(r.code);
    let read = store::read::<AuthorizationCode>(world.store, &key, world.now)?.ok_or(AuthError::InvalidGrant(GrantRule::CodeInvalid))?;
    if let Some(sid) = &read.value.redeemed_session {
        sessions::revoke(world, lifetimes, sid)?;
        return Err(AuthError::InvalidGrant(GrantRule::CodeReused));
    }
    // Claim the code before checking anything else: a wrong verifier burns
    // it too, so an intercepted code cannot be tried twice.
    let sid = read.value.session.clone().unwrap_or_else(|| random_token(world.random));
    let claimed = AuthorizationCode { redeemed_session: Some(sid.clone()), ..read.value.clone() };
    if !store::replace(world.store, &key, &read, &claimed, read.expires_at)? {
        if let Some(winner) = store::read::<AuthorizationCode>(world.store, &key, world.now)?.and_then(|c| c.value.redeemed_session) {
            sessions::revoke(world, lifetimes, &winner)?;
        }
        return Err(AuthError::InvalidGrant(GrantRule::CodeReused));
    }
    let code = read.value;
    let refuse = |rule| Err(AuthError::InvalidGrant(rule));
    if r.redirect_uri != code.client.callback {
        return refuse(GrantRule::RedirectUriMismatch);
    }
    if r.state.is_some_and(|s| Some(s) != code.client.state.as_deref()) {
        return refuse(GrantRule::StateMismatch);
    }
    if r.idp.is_some_and(|idp| idp != code.user.idp) {
        return refuse(GrantRule::IdpMismatch);
    }
    if !code.client.code_challenge.as_deref().is_some_and(|c| pkce::verify_s256(r.code_verifier, c)) {
        return refuse(GrantRule::VerifierMismatch);
    }
    Ok((code, sid))
}
