//! POST /oauth2/token (JSON or form bodies; one grant type each) and
//! POST /oauth2/refresh.

use serde::Deserialize;

use super::body::{self, FORM, JSON, MAX_BODY};
use crate::config::Config;
use crate::domain::codes::{self, Redemption};
use crate::domain::issue;
use crate::error::{AuthError, ClientRule};
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::upstream::{IdentityProvider, Providers};

/// The token request, from either body format. JSON bodies may use the
/// camelCase names TMI's generated JavaScript client sends (exactly these
/// aliases; both spellings of one field is a duplicate, 400).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[serde(alias = "grantType")]
    grant_type: Option<String>,
    code: Option<String>,
    state: Option<String>,
    #[serde(alias = "redirectUri")]
    redirect_uri: Option<String>,
    #[serde(alias = "codeVerifier")]
    code_verifier: Option<String>,
    #[serde(alias = "clientId")]
    client_id: Option<String>,
    #[serde(alias = "clientSecret")]
    client_secret: Option<String>,
    #[serde(alias = "refreshToken")]
    refresh_token: Option<String>,
    idp: Option<String>,
}

const TOKEN_SHAPE: &str = "{grant_type, code, code_verifier, redirect_uri, state, client_id, client_secret, refresh_token, idp}";

impl TokenRequest {
    /// Parse the body by its content type.
    pub fn parse(req: &Request) -> Result<Self, AuthError> {
        body::limit(req, MAX_BODY)?;
        match body::media_type(req, &[JSON, FORM])? {
            JSON => body::parse_json(&req.body, TOKEN_SHAPE),
            // Unknown form parameters are ignored (RFC 6749 §3.2).
            _ => {
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
        }
    }

    /// The per-flow identifier rate limits count against: the code or
    /// refresh token this request is about.
    pub fn flow_id(&self) -> Option<&str> {
        self.code.as_deref().or(self.refresh_token.as_deref())
    }

    /// The client id, for the per-client rate limit.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

/// POST /oauth2/refresh: `{"refresh_token": …}` (or TMI's `refreshToken`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token to rotate.
    #[serde(alias = "refreshToken")]
    pub refresh_token: String,
}

impl RefreshRequest {
    /// Parse the JSON body.
    pub fn parse(req: &Request) -> Result<Self, AuthError> {
        body::json(req, MAX_BODY, "{refresh_token}")
    }
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, AuthError> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| AuthError::InvalidRequest(format!("{name} is required")))
}

/// POST /oauth2/token: exchange a code, a refresh token or client credentials.
pub fn exchange(req: &Request, config: &Config, providers: &Providers, world: &World) -> Result<Response, AuthError> {
    let query_idp = req.query_params()?.get("idp").map(String::from);
    let body = TokenRequest::parse(req)?;
    let idp = match (query_idp, &body.idp) {
        (Some(q), Some(b)) if q != *b => return Err(AuthError::InvalidRequest("idp differs between query and body".into())),
        (q, b) => q.or(b.clone()),
    };
    let response = match required(&body.grant_type, "grant_type")? {
        "authorization_code" => authorization_code(&body, idp.as_deref(), config, providers, world)?,
        "refresh_token" => issue::refresh(world, config, required(&body.refresh_token, "refresh_token")?)?,
        "client_credentials" => {
            let (client_id, secret) = client_authentication(req, &body)?;
            issue::client_credentials(world, config, &client_id, &secret)?
        }
        _ => return Err(AuthError::UnsupportedGrantType),
    };
    Ok(Response::json_no_store(200, &response))
}

/// POST /oauth2/refresh.
pub fn refresh(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let body = RefreshRequest::parse(req)?;
    Ok(Response::json_no_store(200, &issue::refresh(world, config, &body.refresh_token)?))
}

fn authorization_code(body: &TokenRequest, idp: Option<&str>, config: &Config, providers: &Providers, world: &World) -> Result<issue::TokenResponse, AuthError> {
    let code = required(&body.code, "code")?;
    let upstream = idp.and_then(|i| providers.get(i)).filter(|p| p.is_upstream());
    // Not one of our codes: the provider's own, which the client got from
    // the provider directly (the provider-neutral exchange).
    if let Some(provider) = upstream {
        if !codes::exists(world, code)? {
            return upstream_code(body, code, config, provider, world);
        }
    }
    let redemption = Redemption {
        code,
        code_verifier: required(&body.code_verifier, "code_verifier")?,
        redirect_uri: required(&body.redirect_uri, "redirect_uri")?,
        state: body.state.as_deref().filter(|s| !s.is_empty()),
        idp,
    };
    issue::redeem_code(world, config, &redemption)
}

fn upstream_code(body: &TokenRequest, code: &str, config: &Config, provider: &dyn IdentityProvider, world: &World) -> Result<issue::TokenResponse, AuthError> {
    let redirect_uri = required(&body.redirect_uri, "redirect_uri")?;
    if code.len() > 512 || redirect_uri.len() > 1000 {
        return Err(AuthError::InvalidRequest("code or redirect_uri is too long".into()));
    }
    let verifier = body.code_verifier.as_deref().filter(|v| !v.is_empty());
    issue::redeem_upstream_code(world, config, provider, code, redirect_uri, verifier)
}

/// The client's credentials: HTTP Basic or the body, not both (RFC 6749 §2.3.1).
fn client_authentication(req: &Request, body: &TokenRequest) -> Result<(String, String), AuthError> {
    match (basic_credentials(req)?, &body.client_id, &body.client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(AuthError::InvalidRequest("use one client authentication method, not two".into())),
        (Some(basic), None, None) => Ok(basic),
        (None, Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
        _ => Err(AuthError::InvalidClient(ClientRule::Missing)),
    }
}

/// `Authorization: Basic` client authentication (RFC 6749 §2.3.1: both
/// parts form-urlencoded before base64).
fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, AuthError> {
    use base64::Engine;
    let Some((scheme, encoded)) = req.header("authorization").and_then(|v| v.split_once(' ')) else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = AuthError::InvalidClient(ClientRule::MalformedBasic);
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad.clone())?;
    let text = String::from_utf8(decoded).map_err(|_| bad.clone())?;
    let (id, secret) = text.split_once(':').ok_or(bad)?;
    let unescape = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
    Ok(Some((unescape(id), unescape(secret))))
}
