//! One-time TMI authorization codes, bound to the flow's PKCE challenge and
//! client callback. Stored under the code's hash; redeemed with
//! compare-and-swap so that of concurrent redemptions exactly one wins, and
//! a second redemption revokes what the first produced (RFC 6749 §4.1.2).

use serde::{Deserialize, Serialize};

use crate::config::CODE_LIFETIME;
use crate::encoding::{random_token, sha256_b64url};
use crate::error::AuthError;
use crate::flows::Flow;
use crate::pkce;
use crate::ports::World;
use crate::records;
use crate::sessions;
use crate::users::UserRef;

/// An issued code, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// Who logged in.
    pub user: UserRef,
    /// The flow's client callback: the token request's `redirect_uri` must equal it.
    pub redirect_uri: String,
    /// The client's state.
    pub client_state: String,
    /// The PKCE challenge from /oauth2/authorize.
    pub code_challenge: String,
    /// The session the (first) redemption opened, once redeemed.
    pub redeemed_session: Option<String>,
    /// The session id the redemption is to open, when the login chose it
    /// up front (SAML logins, so that single logout can end it).
    #[serde(default)]
    pub session: Option<String>,
}

fn code_key(code: &str) -> String {
    format!("code:{}", sha256_b64url(code))
}

/// Issue a code for `user` at the end of `flow`.
pub fn issue(world: &World, user: &UserRef, flow: &Flow) -> Result<String, AuthError> {
    issue_for_session(world, user, flow, None)
}

/// Like [`issue`]; the redemption opens session `session` when given.
pub fn issue_for_session(world: &World, user: &UserRef, flow: &Flow, session: Option<String>) -> Result<String, AuthError> {
    let code = random_token(world.random);
    let record = AuthorizationCode {
        user: user.clone(),
        redirect_uri: flow.client_callback.clone(),
        client_state: flow.client_state.clone(),
        code_challenge: flow.code_challenge.clone(),
        redeemed_session: None,
        session,
    };
    if !records::create(world.store, &code_key(&code), &record, world.now + CODE_LIFETIME)? {
        return Err(AuthError::Internal("code collision".into()));
    }
    Ok(code)
}

/// Whether `code` is a TMI code we issued (redeemed or not, unexpired).
pub fn exists(world: &World, code: &str) -> Result<bool, AuthError> {
    Ok(records::read::<AuthorizationCode>(world.store, &code_key(code), world.now)?.is_some())
}

/// What the token request presents.
pub struct Redemption<'a> {
    /// The code.
    pub code: &'a str,
    /// The PKCE verifier.
    pub code_verifier: &'a str,
    /// Must equal the flow's client callback.
    pub redirect_uri: &'a str,
    /// If given, must equal the client's state.
    pub state: Option<&'a str>,
    /// If given, must equal the code's provider.
    pub idp: Option<&'a str>,
}

/// Redeem a code. On success returns the code and the id of the new
/// session, which the caller fills with tokens.
pub fn redeem(world: &World, lifetimes: &sessions::Lifetimes, r: &Redemption) -> Result<(AuthorizationCode, String), AuthError> {
    let key = code_key(r.code);
    let invalid = || AuthError::InvalidGrant("the authorization code is invalid, expired or already used".into());
    let read = records::read::<AuthorizationCode>(world.store, &key, world.now)?.ok_or_else(invalid)?;
    if let Some(sid) = &read.value.redeemed_session {
        sessions::revoke(world, lifetimes, sid)?;
        return Err(invalid());
    }
    // Claim the code before checking anything else: a wrong verifier burns
    // it too, so an intercepted code cannot be tried twice.
    let sid = read.value.session.clone().unwrap_or_else(|| random_token(world.random));
    let claimed = AuthorizationCode { redeemed_session: Some(sid.clone()), ..read.value.clone() };
    if !records::replace(world.store, &key, &read, &claimed, read.expires_at)? {
        if let Some(winner) = records::read::<AuthorizationCode>(world.store, &key, world.now)?
            .and_then(|c| c.value.redeemed_session)
        {
            sessions::revoke(world, lifetimes, &winner)?;
        }
        return Err(invalid());
    }
    let code = read.value;
    if r.redirect_uri != code.redirect_uri {
        return Err(AuthError::InvalidGrant("redirect_uri does not match the authorization request".into()));
    }
    if r.state.is_some_and(|s| s != code.client_state) {
        return Err(AuthError::InvalidGrant("state does not match the authorization request".into()));
    }
    if r.idp.is_some_and(|idp| idp != code.user.idp) {
        return Err(AuthError::InvalidGrant("the code was not issued for this idp".into()));
    }
    if !pkce::verify_s256(r.code_verifier, &code.code_challenge) {
        return Err(AuthError::InvalidGrant("code_verifier does not match the code_challenge".into()));
    }
    Ok((code, sid))
}
