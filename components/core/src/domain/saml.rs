//! The SAML login over the store: pending AuthnRequests (single use,
//! keyed by our own RelayState), the ACS's order of effects, the assertion
//! replay cache, the sessions a NameID opened (for single logout) and the
//! logout replay cache.
//!
//! The ACS checks everything that needs no store first
//! ([`response::validate`] writes nothing); then the pending request is
//! consumed (compare-and-swap, so of two submissions one wins), the
//! assertion is claimed (increment: first use only, on every host sharing
//! the store), and only then is the user created and given tokens or a
//! one-time code.

use serde::{Deserialize, Serialize};

use super::client::ClientRequest;
use super::issue::{open_session, TokenResponse};
use super::sessions::{self, Lifetimes};
use super::{codes, users, CODE_LIFETIME};
use crate::config::saml::SamlProviderConfig;
use crate::config::Config;
use crate::encoding::random_token;
use crate::error::{AuthError, SamlRule};
use crate::ports::World;
use crate::saml::authn_request::new_request_id;
use crate::saml::dom::Element;
use crate::saml::logout::VerifiedLogout;
use crate::saml::response::{self, SamlLogin};
use crate::store::{self, keys, Versioned};

/// Sessions remembered per NameID; the oldest go first.
const MAX_SESSIONS: usize = 50;

/// A SAML login in progress, between /saml/{provider}/login and the ACS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SamlRequest {
    /// The SAML provider id.
    pub provider: String,
    /// The AuthnRequest ID; the Response's InResponseTo must equal it.
    pub request_id: String,
    /// What the client asked for. A PKCE challenge makes the ACS answer
    /// with a one-time code instead of tokens (CONTRACT.md).
    pub client: ClientRequest,
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

/// Store a pending AuthnRequest of `provider` for `client`; returns its
/// ID and our RelayState.
pub fn begin(world: &World, provider: &SamlProviderConfig, client: ClientRequest) -> Result<(String, String), AuthError> {
    let request_id = new_request_id(world.random);
    let relay_state = random_token(world.random);
    let record = SamlRequest { provider: provider.id.clone(), request_id: request_id.clone(), client, issued_at: world.now, used: false };
    let expires = world.now + CODE_LIFETIME;
    store::write(world.store, &keys::saml_request(&relay_state), &record, expires)?;
    store::write(world.store, &keys::saml_request_id(&request_id), &RequestIdIndex { relay_state: relay_state.clone() }, expires)?;
    Ok((request_id, relay_state))
}

/// What the ACS answers.
pub enum Outcome {
    /// A 302 to the client: a one-time code in the query, or tokens in the fragment.
    Redirect(String),
    /// IdP-initiated without a RelayState: the tokens themselves (200).
    Tokens(TokenResponse),
}

/// Where the login result goes.
enum Delivery {
    /// SP-initiated: as the stored request asks (code or fragment tokens).
    Requested(ClientRequest),
    /// IdP-initiated with an allowed callback as RelayState: fragment tokens.
    Fragment(ClientRequest),
    /// IdP-initiated without RelayState: tokens in the response body.
    Json,
}

/// A stored request and its store key.
struct Pending {
    key: String,
    request: Versioned<SamlRequest>,
}

/// A Response that passed every check and was used up: who logged in,
/// at which provider, and the request of ours it answered (if any).
pub struct Accepted<'c> {
    /// The validated login.
    pub login: SamlLogin,
    /// The provider it was for.
    pub provider: &'c SamlProviderConfig,
    /// Our request it answered; `None` for an IdP-initiated login.
    pub request: Option<SamlRequest>,
}

/// POST /saml/acs, after the form is parsed: validate the Response for
/// the right provider, then apply its effects in the order above.
pub fn acs(world: &World, config: &Config, root: &Element, relay_state: Option<&str>) -> Result<Outcome, AuthError> {
    let accepted = accept(world, config, root, relay_state)?;
    let delivery = match (accepted.request, relay_state) {
        (Some(request), _) => Delivery::Requested(request.client),
        (None, Some(callback)) => Delivery::Fragment(ClientRequest::callback_only(callback, &config.callback_allowlist, "RelayState")?),
        (None, None) => Delivery::Json,
    };
    deliver(world, config, accepted.provider, &accepted.login, delivery)
}

/// Every check of the ACS, and the single uses it consumes (our request,
/// the assertion), without opening a session: the service's ACS and the
/// library's `validate-response` both start here.
pub fn accept<'c>(world: &World, config: &'c Config, root: &Element, relay_state: Option<&str>) -> Result<Accepted<'c>, AuthError> {
    // Whose login is it? An answer to our request names it; an unsolicited
    // one is matched by its (still unverified) Issuer, and then verified
    // against that provider's keys like any other.
    let (pending, login, provider) = match response::claimed_in_response_to(root) {
        Some(irt) => {
            let pending = pending_request(world, irt, relay_state)?;
            let provider = config.saml_provider(&pending.request.value.provider).ok_or(AuthError::AccessDenied(SamlRule::ProviderDisabled))?;
            let login = response::validate(root, provider, world.now, world.random)?;
            if login.in_response_to.as_deref() != Some(pending.request.value.request_id.as_str()) {
                return Err(AuthError::AccessDenied(SamlRule::InResponseToMismatch));
            }
            (Some(pending), login, provider)
        }
        None => {
            let candidates = unsolicited_candidates(config, root)?;
            let (login, provider) = validate_unsolicited(&candidates, root, world)?;
            (None, login, provider)
        }
    };
    if let Some(p) = &pending {
        let used = SamlRequest { used: true, ..p.request.value.clone() };
        if !store::replace(world.store, &p.key, &p.request, &used, p.request.expires_at)? {
            return Err(AuthError::AccessDenied(SamlRule::RequestAnswered));
        }
    }
    if !store::claim(world.store, &keys::assertion_claim(&provider.id, &login.assertion_id, login.replayable_until))? {
        return Err(AuthError::AccessDenied(SamlRule::AssertionReplayed));
    }
    Ok(Accepted { login, provider, request: pending.map(|p| p.request.value) })
}

/// The request an InResponseTo names: stored, unused, and matching the
/// RelayState when the IdP sent it back.
fn pending_request(world: &World, request_id: &str, relay_state: Option<&str>) -> Result<Pending, AuthError> {
    let unknown = AuthError::AccessDenied(SamlRule::UnknownRequest);
    if request_id.len() > 256 {
        return Err(unknown);
    }
    let index = store::read::<RequestIdIndex>(world.store, &keys::saml_request_id(request_id), world.now)?.ok_or(unknown.clone())?;
    if relay_state.is_some_and(|r| r != index.value.relay_state) {
        return Err(AuthError::AccessDenied(SamlRule::RelayStateMismatch));
    }
    let key = keys::saml_request(&index.value.relay_state);
    let request = store::read::<SamlRequest>(world.store, &key, world.now)?.ok_or(unknown)?;
    if request.value.used {
        return Err(AuthError::AccessDenied(SamlRule::RequestAnswered));
    }
    Ok(Pending { key, request })
}

/// The providers an unsolicited (IdP-initiated) Response may be for: its
/// IdP issued it, and its SP is the (visible) audience. An encrypted
/// assertion hides its Audience (SAML Profiles §4.1.4.2 allows that), so
/// then every provider of that IdP is a candidate, and the Audience is
/// checked after decryption. Only providers that allow IdP-initiated login.
fn unsolicited_candidates<'a>(config: &'a Config, root: &Element) -> Result<Vec<&'a SamlProviderConfig>, AuthError> {
    let issuer = response::claimed_issuer(root);
    let audiences = response::claimed_audiences(root);
    let candidates: Vec<_> = config
        .saml_providers
        .iter()
        .filter(|p| p.enabled && Some(&p.idp.entity_id) == issuer.as_ref())
        .filter(|p| audiences.is_empty() || audiences.contains(&p.sp_entity_id))
        .collect();
    if candidates.is_empty() {
        return Err(AuthError::AccessDenied(SamlRule::UnknownProvider));
    }
    let allowed: Vec<_> = candidates.into_iter().filter(|p| p.allow_idp_initiated).collect();
    if allowed.is_empty() {
        return Err(AuthError::AccessDenied(SamlRule::UnsolicitedRefused));
    }
    Ok(allowed)
}

/// The first candidate the Response validates for.
fn validate_unsolicited<'a>(candidates: &[&'a SamlProviderConfig], root: &Element, world: &World) -> Result<(SamlLogin, &'a SamlProviderConfig), AuthError> {
    let mut first_refusal = None;
    for provider in candidates {
        match response::validate(root, provider, world.now, world.random) {
            Ok(login) if login.in_response_to.is_none() => return Ok((login, provider)),
            Ok(_) => return Err(AuthError::AccessDenied(SamlRule::InResponseToMismatch)),
            Err(e) => {
                first_refusal.get_or_insert(e);
            }
        }
    }
    Err(first_refusal.unwrap_or(AuthError::AccessDenied(SamlRule::UnknownProvider)))
}

fn deliver(world: &World, config: &Config, provider: &SamlProviderConfig, login: &SamlLogin, delivery: Delivery) -> Result<Outcome, AuthError> {
    let user = users::find_or_create(world, &provider.id, &login.identity)?;
    let sid = random_token(world.random);
    remember_session(world, config, &provider.id, &login.name_id, &sid)?;
    let tokens_to = |client: &ClientRequest| -> Result<Outcome, AuthError> {
        let t = open_session(world, config, &user, &sid)?;
        let expires_in = t.expires_in.to_string();
        let params = [("access_token", t.access_token.as_str()), ("refresh_token", &t.refresh_token), ("token_type", &t.token_type), ("expires_in", &expires_in)];
        Ok(Outcome::Redirect(client.fragment_redirect(&params)))
    };
    match delivery {
        Delivery::Requested(client) if client.code_challenge.is_some() => {
            let code = codes::issue(world, &user, &client, Some(sid))?;
            Ok(Outcome::Redirect(client.redirect(&[("code", &code)])?))
        }
        Delivery::Requested(client) => tokens_to(&client),
        Delivery::Fragment(client) => tokens_to(&client),
        Delivery::Json => Ok(Outcome::Tokens(open_session(world, config, &user, &sid)?)),
    }
}

/// A session the ACS opened, until it ends at the latest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct OpenSession {
    sid: String,
    until: u64,
}

/// Remember that `name_id` at `provider` opened session `sid` (for SLO).
fn remember_session(world: &World, config: &Config, provider: &str, name_id: &str, sid: &str) -> Result<(), AuthError> {
    let until = world.now + Lifetimes::from(config).session;
    store::update(world.store, &keys::saml_sessions(provider, name_id), world.now, until, |open: Option<&Vec<OpenSession>>| {
        let mut open: Vec<OpenSession> = open.cloned().unwrap_or_default();
        open.retain(|s| s.until > world.now);
        open.push(OpenSession { sid: sid.to_string(), until });
        if open.len() > MAX_SESSIONS {
            open.drain(..open.len() - MAX_SESSIONS);
        }
        Some(open)
    })?;
    Ok(())
}

/// Obey a verified LogoutRequest once: end every remembered session of
/// its NameID at its providers. Returns how many sessions ended. The
/// sessions end before the request is claimed, so an outage in between
/// leaves the IdP's retry able to finish; ending a session twice is harmless.
pub fn logout(world: &World, config: &Config, request: &VerifiedLogout) -> Result<usize, AuthError> {
    let claim = keys::logout_claim(&request.issuer, &request.id, request.fresh_until);
    if world.store.get(&claim)?.is_some() {
        return Err(AuthError::LogoutRefused(SamlRule::LogoutReplayed));
    }
    let ended = end_sessions(world, config, request)?;
    if !store::claim(world.store, &claim)? {
        return Err(AuthError::LogoutRefused(SamlRule::LogoutReplayed));
    }
    Ok(ended)
}

fn end_sessions(world: &World, config: &Config, request: &VerifiedLogout) -> Result<usize, AuthError> {
    let lifetimes = Lifetimes::from(config);
    let mut ended = 0;
    for p in &request.providers {
        let key = keys::saml_sessions(&p.id, &request.name_id);
        let Some(read) = store::read::<Vec<OpenSession>>(world.store, &key, world.now)? else { continue };
        for s in &read.value {
            sessions::revoke(world, &lifetimes, &s.sid)?;
        }
        // Sessions opened meanwhile stay listed; those revoked above are harmless to keep.
        store::replace(world.store, &key, &read, &Vec::<OpenSession>::new(), read.expires_at)?;
        ended += read.value.len();
    }
    Ok(ended)
}
