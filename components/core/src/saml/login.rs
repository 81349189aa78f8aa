//! GET /saml/{provider}/login: SP-initiated login. Stores the request
//! (keyed by our own random RelayState, single use, 10 minutes) so the ACS
//! can check InResponseTo and find the client callback, then redirects the
//! browser to the IdP with the AuthnRequest.

use serde::{Deserialize, Serialize};

use super::authn_request::{authn_request_xml, new_request_id, redirect_url};
use super::config::SamlProviderConfig;
use crate::config::{Config, CODE_LIFETIME};
use crate::encoding::random_token;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::pkce;
use crate::ports::World;
use crate::records;

/// A SAML login in progress, between /saml/{provider}/login and the ACS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SamlRequest {
    /// The SAML provider id.
    pub provider: String,
    /// The AuthnRequest ID; the Response's InResponseTo must equal it.
    pub request_id: String,
    /// Where the client wants the result; checked against the allowlist.
    pub client_callback: String,
    /// The client's own state, echoed back to it.
    pub client_state: Option<String>,
    /// The client's PKCE challenge (S256): the ACS then answers with a
    /// one-time code instead of tokens (CONTRACT.md).
    pub code_challenge: Option<String>,
    /// When the AuthnRequest was issued (IssueInstant).
    pub issued_at: u64,
    /// Set once the ACS has consumed the request.
    pub used: bool,
}

/// The index from request ID to RelayState, for InResponseTo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestIdIndex {
    /// The RelayState whose record holds the request.
    pub relay_state: String,
}

/// Store key of a request, by RelayState.
pub fn request_key(relay_state: &str) -> String {
    format!("saml-request:{relay_state}")
}

/// Store key of the request-ID index.
pub fn request_id_key(request_id: &str) -> String {
    format!("saml-request-id:{request_id}")
}

/// The enabled provider `id`, or 404.
pub fn enabled_provider<'a>(config: &'a Config, id: &str) -> Result<&'a SamlProviderConfig, AuthError> {
    config
        .saml_providers
        .iter()
        .find(|p| p.id == id && p.enabled)
        .ok_or_else(|| AuthError::NotFound("no such SAML provider".into()))
}

/// GET /saml/{provider}/login.
pub fn login(req: &Request, provider_id: &str, config: &Config, world: &World) -> Result<Response, AuthError> {
    let p = enabled_provider(config, provider_id)?;
    let q = req.query_params()?;

    let client_callback = q.get("client_callback").ok_or_else(|| {
        AuthError::InvalidRequest("client_callback is required: the login result is only delivered to a client callback".into())
    })?;
    if client_callback.len() > 1000 || !config.callback_allowlist.allows(client_callback) {
        return Err(AuthError::InvalidRequest("client_callback is not an allowed callback URL".into()));
    }
    let client_state = match q.get("state") {
        Some(s) if crate::flows::is_state(s) => Some(s.to_string()),
        Some(_) => return Err(AuthError::InvalidRequest("state is malformed".into())),
        None => None,
    };
    let code_challenge = match (q.get("code_challenge"), q.get("code_challenge_method")) {
        (None, None) => None,
        (challenge, method) => Some(pkce::validate_challenge(challenge, method)?),
    };

    let request_id = new_request_id(world.random);
    let relay_state = random_token(world.random);
    let record = SamlRequest {
        provider: p.id.clone(),
        request_id: request_id.clone(),
        client_callback: client_callback.to_string(),
        client_state,
        code_challenge,
        issued_at: world.now,
        used: false,
    };
    let xml = authn_request_xml(p, &request_id, world.now);
    let signer = p.sign_authn_requests.then_some(&p.sp_key.key);
    let location = redirect_url(&p.idp.sso_redirect, &xml, &relay_state, signer)?;

    let expires = world.now + CODE_LIFETIME;
    if !records::create(world.store, &request_key(&relay_state), &record, expires)? {
        return Err(AuthError::Internal("RelayState collision".into()));
    }
    let index = RequestIdIndex { relay_state };
    if !records::create(world.store, &request_id_key(&request_id), &index, expires)? {
        return Err(AuthError::Internal("SAML request ID collision".into()));
    }
    Ok(Response::redirect(location))
}
