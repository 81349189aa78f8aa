//! JWT access tokens (RFC 7519), signed by the keyring. The core builds the
//! signing input and checks claims; signing and signature checks happen in
//! the keyring, so no key material enters the component.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::encoding::{b64url, b64url_decode, random_token};
use crate::error::AuthError;
use crate::ports::{Algorithm, KeyringError, World};
use crate::clients;
use crate::records;
use crate::sessions;

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

/// A fresh token id.
pub fn new_jti(world: &World) -> String {
    random_token(world.random)
}

/// Sign `claims` with the keyring's signing key.
pub fn mint(world: &World, claims: &AccessClaims) -> Result<String, AuthError> {
    let key = world.keyring.signing_key()?;
    let header = Header { alg: key.alg.name().into(), typ: Some("JWT".into()), kid: Some(key.kid.clone()) };
    let input = format!("{}.{}", json_part(&header)?, json_part(claims)?);
    let signature = world.keyring.sign(&key.kid, key.alg, input.as_bytes())?;
    Ok(format!("{input}.{}", b64url(&signature)))
}

fn revoked_jti_key(jti: &str) -> String {
    format!("revoked-jti:{jti}")
}

/// Revoke one access token until it would have expired anyway.
pub fn revoke(world: &World, claims: &AccessClaims) -> Result<(), AuthError> {
    records::write(world.store, &revoked_jti_key(&claims.jti), &true, claims.exp)
}

/// Check signature, issuer, audience, time window and revocation: the
/// token's session, the token itself, and for service accounts the client
/// credential, which must still exist.
pub fn verify(world: &World, config: &Config, token: &str) -> Result<AccessClaims, AuthError> {
    let claims = verify_signed(world, config, token)?;
    let revoked = || AuthError::InvalidToken("token has been revoked".into());
    if claims.exp <= world.now {
        return Err(AuthError::InvalidToken("token has expired".into()));
    }
    if claims.nbf > world.now {
        return Err(AuthError::InvalidToken("token is not yet valid".into()));
    }
    if let Some(sid) = &claims.sid {
        if sessions::is_revoked(world, sid)? {
            return Err(revoked());
        }
    }
    if records::read::<bool>(world.store, &revoked_jti_key(&claims.jti), world.now)?.is_some() {
        return Err(revoked());
    }
    if let Some(client_id) = &claims.client_id {
        if !clients::is_active(world, client_id)? {
            return Err(revoked());
        }
    }
    Ok(claims)
}

/// Check signature, issuer and audience only: the token is ours, whether
/// or not it is still valid (revocation accepts expired tokens).
pub fn verify_signed(world: &World, config: &Config, token: &str) -> Result<AccessClaims, AuthError> {
    let bad = |why: &str| AuthError::InvalidToken(why.to_string());
    if token.len() > MAX_TOKEN_LEN {
        return Err(bad("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("malformed token"));
    };
    let header: Header = b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("malformed token header"))?;
    // `alg` decides nothing on its own: the keyring checks that `kid` has
    // exactly this algorithm (no `none`, no RS256→HS256 confusion).
    let alg = Algorithm::from_name(&header.alg).ok_or_else(|| bad("unsupported algorithm"))?;
    let kid = header.kid.ok_or_else(|| bad("token has no kid"))?;
    let signature = b64url_decode(s).ok_or_else(|| bad("malformed signature"))?;
    let signing_input = &token[..h.len() + 1 + c.len()];
    match world.keyring.verify(&kid, alg, signing_input.as_bytes(), &signature) {
        Ok(true) => {}
        Ok(false) | Err(KeyringError::UnknownKey) => return Err(bad("invalid signature")),
        Err(e) => return Err(e.into()),
    }
    let claims: AccessClaims = b64url_decode(c)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("malformed token claims"))?;
    if claims.iss != config.base_url || claims.aud != config.audience {
        return Err(bad("token is not for this service"));
    }
    Ok(claims)
}

fn json_part<T: Serialize>(value: &T) -> Result<String, AuthError> {
    let bytes = serde_json::to_vec(value).map_err(|e| AuthError::Internal(format!("encoding a token: {e}")))?;
    Ok(b64url(&bytes))
}
