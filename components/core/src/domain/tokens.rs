//! JWT access tokens (RFC 7519), signed by the keyring. The core builds the
//! signing input and checks claims; signing and signature checks happen in
//! the keyring, so no key material enters the component.

use serde::{Deserialize, Serialize};

use super::sessions::{self, Lifetimes};
use super::{credentials, users};
use crate::config::Config;
use crate::encoding::{b64url, b64url_decode};
use crate::error::{AuthError, TokenRule};
use crate::ports::{Algorithm, KeyringError, World};
use crate::store::{self, keys};

/// The claims of a TMI access token (CONTRACT.md, "Access tokens").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// Issuer: the public base URL.
    pub iss: String,
    /// The provider's user id.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Token id.
    pub jti: String,
    /// Email.
    pub email: String,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// Display name.
    pub name: String,
    /// Provider id.
    pub idp: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Administrator flag.
    pub tmi_is_administrator: bool,
    /// The session the token belongs to (OIDC `sid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// For service-account tokens: the client credential (RFC 9068 `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl AccessClaims {
    /// Whether this token was minted for a client credential.
    pub fn is_service_account(&self) -> bool {
        self.client_id.is_some()
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// Tokens longer than this are refused unparsed.
const MAX_TOKEN_LEN: usize = 8192;

/// Sign `claims` with the keyring's signing key.
pub fn mint(world: &World, claims: &AccessClaims) -> Result<String, AuthError> {
    let key = world.keyring.signing_key()?;
    let header = Header { alg: key.alg.name().into(), typ: Some("JWT".into()), kid: Some(key.kid.clone()) };
    let input = format!("{}.{}", json_part(&header)?, json_part(claims)?);
    let signature = world.keyring.sign(&key.kid, key.alg, input.as_bytes())?;
    Ok(format!("{input}.{}", b64url(&signature)))
}

/// Revoke one access token until it would have expired anyway.
pub fn revoke(world: &World, claims: &AccessClaims) -> Result<(), AuthError> {
    store::write(world.store, &keys::revoked_jti(&claims.jti), &true, claims.exp)
}

/// End the token's session, then the token: an outage between the two
/// leaves the token unusable already (it carries the session), never a
/// revoked token whose session lives on.
pub fn end(world: &World, lifetimes: &Lifetimes, claims: &AccessClaims) -> Result<(), AuthError> {
    if let Some(sid) = &claims.sid {
        sessions::revoke(world, lifetimes, sid)?;
    }
    revoke(world, claims)
}

/// Revoke an access token (expired ones too) or a refresh token, ending
/// its session. An invalid or unknown token is no error (RFC 7009 §2.2).
pub fn revoke_any(world: &World, config: &Config, token: &str) -> Result<(), AuthError> {
    let lifetimes = Lifetimes::from(config);
    if let Ok(claims) = verify_signed(world, config, token) {
        end(world, &lifetimes, &claims)?;
    } else if let Some((refresh, _)) = sessions::lookup_refresh(world, token)? {
        sessions::revoke(world, &lifetimes, &refresh.session)?;
    }
    Ok(())
}

/// Check signature, issuer, audience, time window and revocation: the
/// token's session, the token itself, and for service accounts the client
/// credential, which must still exist.
pub fn verify(world: &World, config: &Config, token: &str) -> Result<AccessClaims, AuthError> {
    let claims = verify_signed(world, config, token)?;
    let refuse = |rule| Err(AuthError::InvalidToken(rule));
    if claims.exp <= world.now {
        return refuse(TokenRule::Expired);
    }
    if claims.nbf > world.now {
        return refuse(TokenRule::NotYetValid);
    }
    if let Some(sid) = &claims.sid {
        if sessions::is_revoked(world, sid)? {
            return refuse(TokenRule::Revoked);
        }
    }
    if store::read::<bool>(world.store, &keys::revoked_jti(&claims.jti), world.now)?.is_some() {
        return refuse(TokenRule::Revoked);
    }
    if let Some(client_id) = &claims.client_id {
        if !credentials::is_active(world, client_id)? {
            return refuse(TokenRule::Revoked);
        }
    }
    Ok(claims)
}

/// Check signature, issuer and audience only: the token is ours, whether
/// or not it is still valid (revocation accepts expired tokens).
pub fn verify_signed(world: &World, config: &Config, token: &str) -> Result<AccessClaims, AuthError> {
    let bad = AuthError::InvalidToken;
    if token.len() > MAX_TOKEN_LEN {
        return Err(bad(TokenRule::TooLong));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad(TokenRule::Malformed));
    };
    let header: Header = b64url_decode(h).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(bad(TokenRule::Malformed))?;
    // `alg` decides nothing on its own: the keyring checks that `kid` has
    // exactly this algorithm (no `none`, no RS256→HS256 confusion).
    let alg = Algorithm::from_name(&header.alg).ok_or(bad(TokenRule::UnsupportedAlgorithm))?;
    let kid = header.kid.ok_or(bad(TokenRule::NoKeyId))?;
    let signature = b64url_decode(s).ok_or(bad(TokenRule::Malformed))?;
    let signing_input = &token[..h.len() + 1 + c.len()];
    match world.keyring.verify(&kid, alg, signing_input.as_bytes(), &signature) {
        Ok(true) => {}
        Ok(false) | Err(KeyringError::UnknownKey) => return Err(bad(TokenRule::BadSignature)),
        Err(e) => return Err(e.into()),
    }
    let claims: AccessClaims = b64url_decode(c).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(bad(TokenRule::Malformed))?;
    if claims.iss != config.base_url || claims.aud != config.audience {
        return Err(bad(TokenRule::WrongAudience));
    }
    Ok(claims)
}

fn json_part<T: Serialize>(value: &T) -> Result<String, AuthError> {
    let bytes = serde_json::to_vec(value).map_err(|e| AuthError::Internal(format!("encoding a token: {e}")))?;
    Ok(b64url(&bytes))
}

/// What introspection says of a live token (RFC 7662, the spec's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    /// The user's provider id (or the service account's `sa:…`).
    pub sub: String,
    /// Email.
    pub email: String,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// Display name.
    pub name: String,
    /// Expiry.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Issuer.
    pub iss: String,
}

/// Introspect an access or refresh token: `None` for anything invalid,
/// expired or revoked (RFC 7662 §2.2 `active: false`).
pub fn introspect(world: &World, config: &Config, token: &str) -> Result<Option<Introspection>, AuthError> {
    match verify(world, config, token) {
        Ok(c) => Ok(Some(Introspection { sub: c.sub, email: c.email, email_verified: c.email_verified, name: c.name, exp: c.exp, iat: c.iat, iss: c.iss })),
        Err(AuthError::InvalidToken(_)) => introspect_refresh(world, config, token),
        Err(e) => Err(e),
    }
}

fn introspect_refresh(world: &World, config: &Config, token: &str) -> Result<Option<Introspection>, AuthError> {
    let Some((refresh, expires_at)) = sessions::lookup_refresh(world, token)? else { return Ok(None) };
    let Some(user_ref) = sessions::session_user(world, &refresh.session)? else { return Ok(None) };
    Ok(users::load(world, &user_ref)?.map(|user| Introspection {
        sub: user.user_ref.provider_user_id,
        email: user.email,
        email_verified: user.email_verified,
        name: user.name,
        exp: expires_at,
        iat: refresh.issued_at,
        iss: config.base_url.clone(),
    }))
}
