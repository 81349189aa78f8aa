//! POST /saml/acs: the IdP's Response comes back through the browser.
//!
//! Order matters: everything [`response::validate`] checks comes first and
//! writes nothing; then the pending request is consumed (compare-and-swap,
//! so of two submissions one wins), the assertion ID enters the replay
//! cache (create-if-absent, shared by every host on the store), and only
//! then is the user created and given tokens or a one-time code.

use url::form_urlencoded;

use super::config::SamlProviderConfig;
use super::login::{enabled_provider, request_id_key, request_key, RequestIdIndex, SamlRequest};
use super::response::{self, SamlLogin};
use super::{dom::Element, slo};
use crate::codes;
use crate::config::Config;
use crate::encoding::{random_token, sha256_b64url};
use crate::error::AuthError;
use crate::flows::Flow;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::records::{self, Versioned};
use crate::token_endpoint::{open_session, TokenResponse};
use crate::users;

/// Largest RelayState accepted (the spec's maxLength).
const MAX_RELAY_STATE: usize = 10_000;

fn denied<T>(why: &str) -> Result<T, AuthError> {
    Err(AuthError::AccessDenied(why.into()))
}

/// Store key of the replay cache entry of an assertion.
fn assertion_key(provider: &str, assertion_id: &str) -> String {
    format!("saml-assertion:{provider}:{}", sha256_b64url(assertion_id))
}

/// POST /saml/acs.
pub fn acs(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    if req.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(AuthError::InvalidRequest("Content-Type must be application/x-www-form-urlencoded".into()));
    }
    let form = Params::parse(&req.body)?;
    let relay_state = form.get("RelayState").filter(|r| !r.is_empty());
    if relay_state.is_some_and(|r| r.len() > MAX_RELAY_STATE) {
        return Err(AuthError::InvalidRequest("RelayState is too long".into()));
    }
    let root = response::decode_posted(form.require("SAMLResponse")?, "SAMLResponse")?;

    // Whose login is it? An answer to our request names it; an unsolicited
    // one is matched by its (still unverified) Issuer and Audience, and
    // then verified against that provider's keys like any other.
    let pending = match response::claimed_in_response_to(&root) {
        Some(irt) => Some(pending_request(world, irt, relay_state)?),
        None => None,
    };
    let provider = match &pending {
        Some(p) => enabled_provider(config, &p.request.value.provider)
            .map_err(|_| AuthError::AccessDenied("the provider is no longer enabled".into()))?,
        None => unsolicited_provider(config, &root)?,
    };
    let delivery = match &pending {
        Some(p) => Delivery::Requested(p.request.value.clone()),
        None => match relay_state {
            Some(callback) if config.callback_allowlist.allows(callback) => Delivery::Fragment(callback.to_string()),
            Some(_) => return Err(AuthError::InvalidRequest("RelayState is not an allowed client callback".into())),
            None => Delivery::Json,
        },
    };
    let login = response::validate(&root, provider, world.now, world.random)?;
    if login.in_response_to.as_deref() != pending.as_ref().map(|p| p.request.value.request_id.as_str()) {
        return denied("InResponseTo does not match a pending request");
    }

    if let Some(p) = &pending {
        let used = SamlRequest { used: true, ..p.request.value.clone() };
        if !records::replace(world.store, &p.key, &p.request, &used, p.request.expires_at)? {
            return denied("the request has already been answered");
        }
    }
    if !records::create(world.store, &assertion_key(&provider.id, &login.assertion_id), &true, login.replayable_until)? {
        return denied("the assertion has been used before");
    }
    finish(delivery, provider, &login, config, world)
}

/// Where the login result goes.
enum Delivery {
    /// SP-initiated: as the stored request asks (code or fragment tokens).
    Requested(SamlRequest),
    /// IdP-initiated with an allowed callback as RelayState: fragment tokens.
    Fragment(String),
    /// IdP-initiated without RelayState: tokens in the response body.
    Json,
}

/// A stored request and its store key.
struct Pending {
    key: String,
    request: Versioned<SamlRequest>,
}

/// The request an InResponseTo names: stored, unused, and matching the
/// RelayState when the IdP sent it back.
fn pending_request(world: &World, request_id: &str, relay_state: Option<&str>) -> Result<Pending, AuthError> {
    let unknown = || AuthError::AccessDenied("InResponseTo matches no pending request".into());
    if request_id.len() > 256 {
        return Err(unknown());
    }
    let index = records::read::<RequestIdIndex>(world.store, &request_id_key(request_id), world.now)?.ok_or_else(unknown)?;
    let stored_relay_state = index.value.relay_state;
    if relay_state.is_some_and(|r| r != stored_relay_state) {
        return denied("RelayState does not belong to this request");
    }
    let key = request_key(&stored_relay_state);
    let request = records::read::<SamlRequest>(world.store, &key, world.now)?.ok_or_else(unknown)?;
    if request.value.used {
        return denied("the request has already been answered");
    }
    Ok(Pending { key, request })
}

/// The provider of an unsolicited Response: its IdP issued it and its SP
/// entity ID is the audience; it must allow IdP-initiated login.
fn unsolicited_provider<'a>(config: &'a Config, root: &Element) -> Result<&'a SamlProviderConfig, AuthError> {
    let issuer = response::claimed_issuer(root);
    let audiences = response::claimed_audiences(root);
    let provider = config
        .saml_providers
        .iter()
        .filter(|p| p.enabled && Some(&p.idp.entity_id) == issuer.as_ref())
        .find(|p| audiences.contains(&p.sp_entity_id))
        .ok_or_else(|| AuthError::AccessDenied("the Response is from no configured IdP, or for no configured SP".into()))?;
    if !provider.allow_idp_initiated {
        return denied("unsolicited (IdP-initiated) Responses are not accepted for this provider");
    }
    Ok(provider)
}

fn finish(delivery: Delivery, provider: &SamlProviderConfig, login: &SamlLogin, config: &Config, world: &World) -> Result<Response, AuthError> {
    let user = users::find_or_create(world, &provider.id, &login.identity)?;
    let sid = random_token(world.random);
    slo::remember_session(world, config, &provider.id, &login.name_id, &sid)?;
    match delivery {
        Delivery::Requested(request) if request.code_challenge.is_some() => {
            let flow = Flow {
                idp: provider.id.clone(),
                client_callback: request.client_callback.clone(),
                client_state: request.client_state.clone().unwrap_or_default(),
                code_challenge: request.code_challenge.clone().unwrap_or_default(),
                login_hint: None,
                used: true,
                nonce: None,
                upstream_verifier: None,
            };
            let code = codes::issue_for_session(world, &user, &flow, Some(sid))?;
            let mut url = url::Url::parse(&request.client_callback)
                .map_err(|_| AuthError::Internal("stored client callback is not a URL".into()))?;
            url.query_pairs_mut().append_pair("code", &code);
            if let Some(state) = &request.client_state {
                url.query_pairs_mut().append_pair("state", state);
            }
            Ok(Response::redirect(url.into()))
        }
        Delivery::Requested(request) => {
            let tokens = open_session(world, config, &user, &sid)?;
            Ok(fragment_redirect(&request.client_callback, &tokens, request.client_state.as_deref()))
        }
        Delivery::Fragment(callback) => Ok(fragment_redirect(&callback, &open_session(world, config, &user, &sid)?, None)),
        Delivery::Json => Ok(Response::json_no_store(200, &open_session(world, config, &user, &sid)?)),
    }
}

/// The seed's SAML flow: tokens in the fragment of the client callback
/// (never sent to servers, nor in Referer headers).
fn fragment_redirect(callback: &str, tokens: &TokenResponse, state: Option<&str>) -> Response {
    let mut fragment = form_urlencoded::Serializer::new(String::new());
    fragment
        .append_pair("access_token", &tokens.access_token)
        .append_pair("refresh_token", &tokens.refresh_token)
        .append_pair("token_type", &tokens.token_type)
        .append_pair("expires_in", &tokens.expires_in.to_string());
    if let Some(state) = state {
        fragment.append_pair("state", state);
    }
    Response::redirect(format!("{callback}#{}", fragment.finish()))
}
