//! The login flow: GET /oauth2/authorize starts it, GET /oauth2/callback
//! finishes it. The flow record is keyed by our own random `state`, which
//! the provider sends back; it is single use (CSRF and replay, RFC 9700 §4.7).

use serde::{Deserialize, Serialize};

use crate::codes;
use crate::config::{Config, CODE_LIFETIME};
use crate::encoding::random_token;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::pkce;
use crate::ports::World;
use crate::providers::Providers;
use crate::records;
use crate::users;

/// A login in progress, between authorize and callback.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flow {
    /// The provider the user logs in with.
    pub idp: String,
    /// Where the client wants the code; checked against the allowlist.
    pub client_callback: String,
    /// The client's own state, echoed back to it.
    pub client_state: String,
    /// The client's PKCE challenge, bound to the code we issue.
    pub code_challenge: String,
    /// For the test provider: who to log in as.
    pub login_hint: Option<String>,
    /// Set once the callback has consumed the flow.
    pub used: bool,
    /// The OIDC nonce sent to the provider; the ID token must carry it.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Our PKCE verifier towards the provider (when it supports PKCE).
    #[serde(default)]
    pub upstream_verifier: Option<String>,
}

fn flow_key(state: &str) -> String {
    format!("flow:{state}")
}

/// `^[a-zA-Z][a-zA-Z0-9_-]*$`, at most 100: the spec's provider id pattern.
pub fn is_provider_id(s: &str) -> bool {
    s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `^[a-zA-Z0-9_~.+/=-]*$`, at most 256: the spec's state pattern.
pub(crate) fn is_state(s: &str) -> bool {
    s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_~.+/=-".contains(&b))
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
    let provider = providers
        .get(idp)
        .ok_or_else(|| AuthError::InvalidRequest(format!("provider {idp} is not configured")))?;

    let scope = q.require("scope")?;
    if scope.len() > 256 || !scope.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ') {
        return Err(AuthError::InvalidScope("scope is malformed".into()));
    }
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(AuthError::InvalidScope("scope must include openid".into()));
    }

    let code_challenge = pkce::validate_challenge(q.get("code_challenge"), q.get("code_challenge_method"))?;

    let client_callback = q.get("client_callback").ok_or_else(|| {
        AuthError::InvalidRequest("client_callback is required: codes are only delivered to a client callback".into())
    })?;
    if client_callback.len() > 1000 || !config.callback_allowlist.allows(client_callback) {
        return Err(AuthError::InvalidRequest("client_callback is not an allowed callback URL".into()));
    }

    let client_state = match q.get("state") {
        Some(s) if is_state(s) => s.to_string(),
        Some(_) => return Err(AuthError::InvalidRequest("state is malformed".into())),
        None => random_token(world.random),
    };

    let mut flow = Flow {
        idp: idp.to_string(),
        client_callback: client_callback.to_string(),
        client_state,
        code_challenge,
        login_hint: q.get("login_hint").filter(|h| h.len() <= 1000).map(String::from),
        used: false,
        nonce: None,
        upstream_verifier: None,
    };
    provider.prepare(&mut flow, world);
    let state = random_token(world.random);
    let location = provider.authorization_url(&state, &flow, config, world)?;
    if !records::create(world.store, &flow_key(&state), &flow, world.now + CODE_LIFETIME)? {
        return Err(AuthError::Internal("state collision".into()));
    }
    Ok(Response::redirect(location))
}

/// GET /oauth2/callback: consume the flow, learn who logged in, and hand a
/// one-time code (never tokens: RFC 9700 §2.1.2) to the client callback.
pub fn callback(req: &Request, config: &Config, providers: &Providers, world: &World) -> Result<Response, AuthError> {
    let q = req.query_params()?;
    let state = q.require("state")?;
    if !is_state(state) {
        return Err(AuthError::InvalidRequest("state is malformed".into()));
    }
    let flow = consume(world, state)?;

    if let Some(error) = q.get("error") {
        // The provider refused (user cancelled, consent denied): tell the client.
        let code = if error == "access_denied" { "access_denied" } else { "server_error" };
        return client_redirect(&flow, &[("error", code), ("state", &flow.client_state)]);
    }
    let code = q.require("code")?;
    if code.len() > 512 {
        return Err(AuthError::InvalidRequest("code is too long".into()));
    }
    let provider = providers
        .get(&flow.idp)
        .ok_or_else(|| AuthError::InvalidRequest(format!("provider {} is not configured", flow.idp)))?;
    let identity = provider.exchange(code, &flow, config, world)?;
    let user = users::find_or_create(world, &flow.idp, &identity)?;
    let tmi_code = codes::issue(world, &user, &flow)?;
    client_redirect(&flow, &[("code", &tmi_code), ("state", &flow.client_state)])
}

/// Mark the flow used; exactly one caller wins.
fn consume(world: &World, state: &str) -> Result<Flow, AuthError> {
    let key = flow_key(state);
    let read = records::read::<Flow>(world.store, &key, world.now)?
        .ok_or_else(|| AuthError::InvalidRequest("unknown or expired state".into()))?;
    if read.value.used {
        return Err(AuthError::InvalidRequest("state has already been used".into()));
    }
    let used = Flow { used: true, ..read.value.clone() };
    if !records::replace(world.store, &key, &read, &used, read.expires_at)? {
        return Err(AuthError::InvalidRequest("state has already been used".into()));
    }
    Ok(read.value)
}

fn client_redirect(flow: &Flow, params: &[(&str, &str)]) -> Result<Response, AuthError> {
    let mut url = url::Url::parse(&flow.client_callback)
        .map_err(|_| AuthError::InvalidRequest("client_callback is not a URL".into()))?;
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    Ok(Response::redirect(url.into()))
}
