//! Issuing tokens: opening a session after a login, rotating it with a
//! refresh token, and service-account tokens for machine credentials.

use serde::{Deserialize, Serialize};

use super::codes::{self, Redemption};
use super::credentials::{self, MachineCredential};
use super::sessions::{self, Lifetimes};
use super::tokens::{self, AccessClaims};
use super::users::{self, User, UserRef};
use crate::config::Config;
use crate::encoding::random_token;
use crate::error::{AuthError, ClientRule, GrantRule};
use crate::ports::World;
use crate::upstream::IdentityProvider;

/// The spec's `AuthTokenResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenResponse {
    /// The JWT access token.
    pub access_token: String,
    /// The opaque refresh token; empty for client credentials.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Access token lifetime in seconds.
    pub expires_in: u64,
}

/// Open session `sid` for `user_ref` and issue its first tokens.
pub fn open_session(world: &World, config: &Config, user_ref: &UserRef, sid: &str) -> Result<TokenResponse, AuthError> {
    let lifetimes = Lifetimes::from(config);
    let user = load_user(world, user_ref)?;
    let refresh_token = sessions::start(world, &lifetimes, sid, user_ref)?;
    Ok(bearer(mint_user_token(world, config, &user, sid)?, refresh_token, &lifetimes))
}

/// The authorization_code grant: redeem a TMI code and open its session.
pub fn redeem_code(world: &World, config: &Config, redemption: &Redemption) -> Result<TokenResponse, AuthError> {
    let (code, sid) = codes::redeem(world, &Lifetimes::from(config), redemption)?;
    open_session(world, config, &code.user, &sid)
}

/// The provider-neutral exchange: a code the client got from `provider`
/// directly, exchanged there (same checks as the callback but the nonce,
/// which only the client knows), then our tokens. The redirect_uri must be
/// our callback or an allowed client callback.
pub fn redeem_upstream_code(
    world: &World,
    config: &Config,
    provider: &dyn IdentityProvider,
    code: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, AuthError> {
    if redirect_uri != config.url("/oauth2/callback") && !config.callback_allowlist.allows(redirect_uri) {
        return Err(AuthError::InvalidGrant(GrantRule::RedirectUriNotAllowed));
    }
    let identity = provider.exchange_direct(code, redirect_uri, code_verifier, world)?;
    let user_ref = users::find_or_create(world, &provider.info().id, &identity)?;
    open_session(world, config, &user_ref, &random_token(world.random))
}

/// The refresh_token grant: rotate the refresh token, mint a new access token.
pub fn refresh(world: &World, config: &Config, token: &str) -> Result<TokenResponse, AuthError> {
    let lifetimes = Lifetimes::from(config);
    let rotated = sessions::rotate(world, &lifetimes, token)?;
    let user = load_user(world, &rotated.user)?;
    Ok(bearer(mint_user_token(world, config, &user, &rotated.sid)?, rotated.refresh_token, &lifetimes))
}

/// The client_credentials grant: an access token for the credential's
/// service account, and no refresh token.
pub fn client_credentials(world: &World, config: &Config, client_id: &str, secret: &str) -> Result<TokenResponse, AuthError> {
    let credential = credentials::authenticate(world, config, client_id, secret)?;
    let owner = users::load(world, &credential.owner)?.ok_or(AuthError::InvalidClient(ClientRule::OwnerGone))?;
    Ok(bearer(mint_service_token(world, config, &credential, &owner)?, String::new(), &Lifetimes::from(config)))
}

fn bearer(access_token: String, refresh_token: String, lifetimes: &Lifetimes) -> TokenResponse {
    TokenResponse { access_token, refresh_token, token_type: "Bearer".into(), expires_in: lifetimes.access }
}

fn load_user(world: &World, user_ref: &UserRef) -> Result<User, AuthError> {
    users::load(world, user_ref)?.ok_or_else(|| AuthError::Internal("user record missing".into()))
}

/// The claims every access token shares: issuer, audience, times, a fresh id.
fn claims(world: &World, config: &Config, sub: String, owner: &User) -> AccessClaims {
    AccessClaims {
        iss: config.base_url.clone(),
        sub,
        aud: config.audience.clone(),
        exp: world.now + config.access_token_lifetime,
        iat: world.now,
        nbf: world.now,
        jti: random_token(world.random),
        email: owner.email.clone(),
        email_verified: owner.email_verified,
        name: owner.name.clone(),
        idp: owner.user_ref.idp.clone(),
        groups: Vec::new(),
        tmi_is_administrator: false,
        sid: None,
        client_id: None,
    }
}

fn mint_user_token(world: &World, config: &Config, user: &User, sid: &str) -> Result<String, AuthError> {
    let claims = AccessClaims {
        groups: user.groups.clone(),
        tmi_is_administrator: users::is_admin(config, user),
        sid: Some(sid.to_string()),
        ..claims(world, config, user.user_ref.provider_user_id.clone(), user)
    };
    tokens::mint(world, &claims)
}

fn mint_service_token(world: &World, config: &Config, credential: &MachineCredential, owner: &User) -> Result<String, AuthError> {
    let claims = AccessClaims {
        name: format!("[Service Account] {}", credential.name),
        client_id: Some(credential.client_id.clone()),
        ..claims(world, config, format!("sa:{}:{}", credential.id, owner.user_ref.provider_user_id), owner)
    };
    tokens::mint(world, &claims)
}
