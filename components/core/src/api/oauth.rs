//! GET /oauth2/authorize and GET /oauth2/callback: the OAuth login with an
//! upstream provider (or the test provider).

use crate::config::Config;
use crate::domain::client::{ClientRequest, Pkce};
use crate::domain::login::{self, ProviderAnswer};
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::upstream::{IdentityProvider, Providers};
use crate::values::{is_provider_id, is_state};

/// Longest `login_hint` kept (the test provider then checks its pattern).
const MAX_LOGIN_HINT: usize = 1000;
/// Longest upstream code accepted.
const MAX_CODE: usize = 512;

fn provider<'a>(providers: &'a Providers, idp: &str) -> Result<&'a dyn IdentityProvider, AuthError> {
    providers.get(idp).ok_or_else(|| AuthError::InvalidRequest("idp names no configured provider".into()))
}

/// GET /oauth2/authorize.
pub fn authorize(req: &Request, config: &Config, providers: &Providers, world: &World) -> Result<Response, AuthError> {
    let q = req.query_params()?;
    let idp = match q.get("idp") {
        Some(idp) if is_provider_id(idp) => idp,
        Some(_) => return Err(AuthError::InvalidRequest("idp is malformed".into())),
        None if config.test_provider => "test",
        None => return Err(AuthError::InvalidRequest("idp is required".into())),
    };
    let provider = provider(providers, idp)?;
    let scope = q.require("scope")?;
    if scope.len() > 256 || !scope.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ') {
        return Err(AuthError::InvalidScope("scope is malformed".into()));
    }
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(AuthError::InvalidScope("scope must include openid".into()));
    }
    let client = ClientRequest::validate(
        q.get("client_callback"),
        q.get("state"),
        q.get("code_challenge"),
        q.get("code_challenge_method"),
        Pkce::Required,
        &config.callback_allowlist,
    )?;
    let login_hint = q.get("login_hint").filter(|h| h.len() <= MAX_LOGIN_HINT);
    let location = login::start(world, provider, client, login_hint, &config.url("/oauth2/callback"))?;
    Ok(Response::redirect(location))
}

/// GET /oauth2/callback: consume the flow, learn who logged in, and hand a
/// one-time code to the client callback.
pub fn callback(req: &Request, config: &Config, providers: &Providers, world: &World) -> Result<Response, AuthError> {
    let q = req.query_params()?;
    let state = q.require("state")?;
    if !is_state(state) {
        return Err(AuthError::InvalidRequest("state is malformed".into()));
    }
    let flow = login::consume(world, state)?;
    if let Some(error) = q.get("error") {
        return Ok(Response::redirect(login::refused(&flow, error)?));
    }
    let code = q.require("code")?;
    if code.len() > MAX_CODE {
        return Err(AuthError::InvalidRequest("code is too long".into()));
    }
    let provider = provider(providers, &flow.idp)?;
    let answer = ProviderAnswer { code, iss: q.get("iss") };
    Ok(Response::redirect(login::finish(world, &flow, provider, &answer, &config.url("/oauth2/callback"))?))
}
