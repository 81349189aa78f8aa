//! POST /oauth2/token (JSON or form bodies; one function per grant type)
//! and POST /oauth2/refresh.

use serde::{Deserialize, Serialize};

use crate::clients::{self, ClientCredential};
use crate::codes::{self, Redemption};
use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::providers::{IdentityProvider, Providers};
use crate::sessions::{self, Lifetimes};
use crate::tokens::{self, AccessClaims};
use crate::users::{self, User, UserRef};

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
    idp: Option<String>,
}

/// The spec's `AuthTokenResponse`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
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
                    idp: get("idp"),
                })
            }
            _ => Err(AuthError::InvalidRequest(
                "Content-Type must be application/json or application/x-www-form-urlencoded".into(),
            )),
        }
    }

    /// The per-flow identifier rate limits count against: the code,
    /// refresh token or client id this request is about.
    pub fn flow_id(&self) -> Option<&str> {
        self.code.as_deref().or(self.refresh_token.as_deref())
    }

    /// The client id, for the per-client rate limit.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, AuthError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AuthError::InvalidRequest(format!("{name} is required")))
}

/// Handle POST /oauth2/token.
pub fn token(req: &Request, config: &Config, providers: &Providers, world: &World) -> Result<Response, AuthError> {
    let query_idp = req.query_params()?.get("idp").map(String::from);
    let body = TokenRequest::parse(req)?;
    let idp = match (query_idp, &body.idp) {
        (Some(q), Some(b)) if q != *b => return Err(AuthError::InvalidRequest("idp differs between query and body".into())),
        (q, b) => q.or(b.clone()),
    };
    let lifetimes = Lifetimes::from(config);
    let response = match required(&body.grant_type, "grant_type")? {
        "authorization_code" => {
            let upstream = idp.as_deref().and_then(|i| providers.get(i)).filter(|p| p.is_upstream());
            match upstream {
                // Not one of our codes: the provider's own, which the client
                // got from the provider directly (provider-neutral exchange).
                Some(p) if !codes::exists(world, required(&body.code, "code")?)? => {
                    upstream_code(p, &body, config, world)?
                }
                _ => authorization_code(&body, idp.as_deref(), config, &lifetimes, world)?,
            }
        }
        "refresh_token" => refresh(required(&body.refresh_token, "refresh_token")?, config, &lifetimes, world)?,
        "client_credentials" => client_credentials(req, &body, config, &lifetimes, world)?,
        _ => return Err(AuthError::UnsupportedGrantType("unknown grant_type".into())),
    };
    Ok(Response::json_no_store(200, &response))
}

/// Handle POST /oauth2/refresh: `{"refresh_token": …}`.
pub fn refresh_endpoint(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RefreshRequest {
        refresh_token: String,
    }
    if req.body.len() > MAX_BODY {
        return Err(AuthError::PayloadTooLarge);
    }
    if req.media_type().as_deref() != Some("application/json") {
        return Err(AuthError::InvalidRequest("Content-Type must be application/json".into()));
    }
    let body: RefreshRequest = serde_json::from_slice(&req.body)
        .map_err(|_| AuthError::InvalidRequest("body must be {\"refresh_token\": \"…\"}".into()))?;
    let response = refresh(&body.refresh_token, config, &Lifetimes::from(config), world)?;
    Ok(Response::json_no_store(200, &response))
}

fn authorization_code(
    body: &TokenRequest,
    idp: Option<&str>,
    config: &Config,
    lifetimes: &Lifetimes,
    world: &World,
) -> Result<TokenResponse, AuthError> {
    let redemption = Redemption {
        code: required(&body.code, "code")?,
        code_verifier: required(&body.code_verifier, "code_verifier")?,
        redirect_uri: required(&body.redirect_uri, "redirect_uri")?,
        state: body.state.as_deref().filter(|s| !s.is_empty()),
        idp,
    };
    let (code, sid) = codes::redeem(world, lifetimes, &redemption)?;
    open_session(world, config, &code.user, &sid)
}

/// Open session `sid` for `user_ref` and issue its first tokens.
pub fn open_session(world: &World, config: &Config, user_ref: &UserRef, sid: &str) -> Result<TokenResponse, AuthError> {
    let lifetimes = Lifetimes::from(config);
    let user = load_user(world, user_ref)?;
    let refresh_token = sessions::start(world, &lifetimes, sid, user_ref)?;
    Ok(TokenResponse {
        access_token: mint_user_token(world, config, &lifetimes, &user, sid)?,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: lifetimes.access,
    })
}

/// Exchange a provider's code at the provider, with the same validation as
/// the callback (minus the nonce, which only the client knows), then issue
/// our tokens. The client's redirect_uri must be our callback or an allowed
/// client callback.
fn upstream_code(
    provider: &dyn IdentityProvider,
    body: &TokenRequest,
    config: &Config,
    world: &World,
) -> Result<TokenResponse, AuthError> {
    let code = required(&body.code, "code")?;
    let redirect_uri = required(&body.redirect_uri, "redirect_uri")?;
    if code.len() > 512 || redirect_uri.len() > 1000 {
        return Err(AuthError::InvalidRequest("code or redirect_uri is too long".into()));
    }
    if redirect_uri != config.url("/oauth2/callback") && !config.callback_allowlist.allows(redirect_uri) {
        return Err(AuthError::InvalidGrant("redirect_uri is not an allowed callback URL".into()));
    }
    let verifier = body.code_verifier.as_deref().filter(|v| !v.is_empty());
    let identity = provider.exchange_direct(code, redirect_uri, verifier, config, world)?;
    let user_ref = users::find_or_create(world, &provider.info().id, &identity)?;
    open_session(world, config, &user_ref, &crate::encoding::random_token(world.random))
}

fn refresh(token: &str, config: &Config, lifetimes: &Lifetimes, world: &World) -> Result<TokenResponse, AuthError> {
    let rotated = sessions::rotate(world, lifetimes, token)?;
    let user = load_user(world, &rotated.user)?;
    Ok(TokenResponse {
        access_token: mint_user_token(world, config, lifetimes, &user, &rotated.sid)?,
        refresh_token: rotated.refresh_token,
        token_type: "Bearer".into(),
        expires_in: lifetimes.access,
    })
}

fn client_credentials(
    req: &Request,
    body: &TokenRequest,
    config: &Config,
    lifetimes: &Lifetimes,
    world: &World,
) -> Result<TokenResponse, AuthError> {
    let (client_id, secret) = match (clients::basic_credentials(req)?, &body.client_id, &body.client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(AuthError::InvalidRequest("use one client authentication method, not two".into()))
        }
        (Some(basic), None, None) => basic,
        (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
        _ => return Err(AuthError::InvalidClient("client_id and client_secret are required".into())),
    };
    let credential = clients::authenticate_client(world, config, &client_id, &secret)?;
    let owner = users::load(world, &credential.owner)?
        .ok_or_else(|| AuthError::InvalidClient("the credential's owner no longer exists".into()))?;
    Ok(TokenResponse {
        access_token: mint_service_token(world, config, lifetimes, &credential, &owner)?,
        refresh_token: String::new(),
        token_type: "Bearer".into(),
        expires_in: lifetimes.access,
    })
}

fn load_user(world: &World, user_ref: &UserRef) -> Result<User, AuthError> {
    users::load(world, user_ref)?.ok_or_else(|| AuthError::Internal("user record missing".into()))
}

fn mint_user_token(world: &World, config: &Config, lifetimes: &Lifetimes, user: &User, sid: &str) -> Result<String, AuthError> {
    tokens::mint(
        world,
        &AccessClaims {
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
            groups: user.groups.clone(),
            tmi_is_administrator: users::is_admin(config, user),
            sid: Some(sid.to_string()),
            client_id: None,
        },
    )
}

fn mint_service_token(
    world: &World,
    config: &Config,
    lifetimes: &Lifetimes,
    credential: &ClientCredential,
    owner: &User,
) -> Result<String, AuthError> {
    tokens::mint(
        world,
        &AccessClaims {
            iss: config.base_url.clone(),
            sub: format!("sa:{}:{}", credential.id, owner.user_ref.provider_user_id),
            aud: config.audience.clone(),
            exp: world.now + lifetimes.access,
            iat: world.now,
            nbf: world.now,
            jti: tokens::new_jti(world),
            email: owner.email.clone(),
            email_verified: owner.email_verified,
            name: format!("[Service Account] {}", credential.name),
            idp: owner.user_ref.idp.clone(),
            groups: Vec::new(),
            tmi_is_administrator: false,
            sid: None,
            client_id: Some(credential.client_id.clone()),
        },
    )
}
