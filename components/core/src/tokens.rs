//! JWT access tokens (RFC 7519), signed by the keyring. The core builds the
//! signing input and checks claims; signing and signature checks happen in
//! the keyring, so no key material enters the component.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::encoding::{b64url, b64url_decode, random_token};
use crate::error::AuthError;
use crate::ports::{Algorithm, KeyringError, World};
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

/// Check signature, issuer, audience, time window and revocation.
pub fn verify(world: &World, config: &Config, token: &str) -> Result<AccessClaims, AuthError> {
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
    if claims.exp <= world.now {
        return Err(bad("token has expired"));
    }
    if claims.nbf > world.now {
        return Err(bad("token is not yet valid"));
    }
    if let Some(sid) = &claims.sid {
        if sessions::is_revoked(world, sid)? {
            return Err(bad("token has been revoked"));
        }
    }
    Ok(claims)
}

fn json_part<T: Serialize>(value: &T) -> Result<String, AuthError> {
    let bytes = serde_json::to_vec(value).map_err(|e| AuthError::Internal(format!("encoding a token: {e}")))?;
    Ok(b64url(&bytes))
}
