//! POST /oauth2/token: JSON or form bodies, one handler per grant type.

use serde::{Deserialize, Serialize};

use crate::codes::{self, Redemption};
use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::sessions::{self, Lifetimes};
use crate::tokens::{self, AccessClaims};
use crate::users::{self, UserRef};

/// Token requests are small; anything bigger is refused unparsed.
pub const MAX_BODY: usize = 16 * 1024;

/// The token request, from either body format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    state: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

/// The spec's `AuthTokenResponse`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenResponse {
    /// The JWT access token.
    pub access_token: String,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Access token lifetime in seconds.
    pub expires_in: u64,
}

impl TokenRequest {
    /// Parse the body by its content type.
    pub fn parse(req: &Request) -> Result<Self, AuthError> {
        if req.body.len() > MAX_BODY {
            return Err(AuthError::PayloadTooLarge);
        }
        match req.media_type().as_deref() {
            Some("application/json") => serde_json::from_slice(&req.body).map_err(|e| {
                let mut why = e.to_string();
                why.truncate(200);
                AuthError::InvalidRequest(format!("malformed JSON body: {why}"))
            }),
            // Unknown form parameters are ignored (RFC 6749 §3.2).
            Some("application/x-www-form-urlencoded") => {
                let p = Params::parse(&req.body)?;
                let get = |k: &str| p.get(k).map(String::from);
                Ok(TokenRequest {
                    grant_type: get("grant_type"),
                    code: get("code"),
                    state: get("state"),
                    redirect_uri: get("redirect_uri"),
                    code_verifier: get("code_verifier"),
                    client_id: get("client_id"),
                    client_secret: get("client_secret"),
                    refresh_token: get("refresh_token"),
                })
            }
            _ => Err(AuthError::InvalidRequest(
                "Content-Type must be application/json or application/x-www-form-urlencoded".into(),
            )),
        }
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, AuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AuthError::InvalidRequest(format!("{name} is required")))
}

/// Handle POST /oauth2/token.
pub fn token(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let idp = req.query_params()?.get("idp").map(String::from);
    let body = TokenRequest::parse(req)?;
    let grant = required(&body.grant_type, "grant_type")?;
    let response = match grant {
        "authorization_code" => authorization_code(&body, idp.as_deref(), config, world)?,
        "client_credentials" | "refresh_token" => {
            return Err(AuthError::UnsupportedGrantType(format!("grant_type {grant} is not enabled on this server")))
        }
        _ => return Err(AuthError::UnsupportedGrantType("unknown grant_type".into())),
    };
    Ok(Response::json_no_store(200, &response))
}

fn authorization_code(body: &TokenRequest, idp: Option<&str>, config: &Config, world: &World) -> Result<TokenResponse, AuthError> {
    let lifetimes = Lifetimes::from(config);
    let redemption = Redemption {
        code: required(&body.code, "code")?,
        code_verifier: required(&body.code_verifier, "code_verifier")?,
        redirect_uri: required(&body.redirect_uri, "redirect_uri")?,
        state: body.state.as_deref().filter(|s| !s.is_empty()),
        idp,
    };
    let (code, sid) = codes::redeem(world, &lifetimes, &redemption)?;
    issue_session_tokens(world, config, &lifetimes, &code.user, &sid)
}

/// Open session `sid` for `user` and mint its first token pair.
pub fn issue_session_tokens(
    world: &World,
    config: &Config,
    lifetimes: &Lifetimes,
    user_ref: &UserRef,
    sid: &str,
) -> Result<TokenResponse, AuthError> {
    let user = users::load(world, user_ref)?.ok_or_else(|| AuthError::Internal("user record missing".into()))?;
    let refresh_token = sessions::start(world, lifetimes, sid, user_ref)?;
    let claims = AccessClaims {
        iss: config.base_url.clone(),
        sub: user.user_ref.provider_user_id.clone(),
        aud: config.audience.clone(),
        exp: world.now + lifetimes.access,
        iat: world.now,
        nbf: world.now,
        jti: tokens::new_jti(world),
        email: user.email.clone(),
        email_verified: user.email_verified,
        name: user.name.clone(),
        idp: user.user_ref.idp.clone(),
        tmi_is_administrator: users::is_admin(config, &user),
        groups: user.groups,
        sid: Some(sid.to_string()),
    };
    Ok(TokenResponse {
        access_token: tokens::mint(world, &claims)?,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: lifetimes.access,
    })
}
