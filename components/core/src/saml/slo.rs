//! Single logout: GET /saml/slo (HTTP-Redirect binding, query-string
//! signature) and POST /saml/slo (HTTP-POST binding, enveloped signature).
//! Only a LogoutRequest signed by the IdP is obeyed; it ends every session
//! its NameID opened through the ACS (refresh tokens and access tokens stop
//! working at once). The ACS records those sessions here.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::authn_request::inflate;
use super::config::SamlProviderConfig;
use super::dom::{self, Element};
use super::dsig::{self, SigAlg};
use super::response::{claimed_issuer, decode_posted, has_duplicate_ids, read_name_id};
use super::NS_SAMLP;
use crate::config::Config;
use crate::encoding::sha256_b64url;
use crate::error::AuthError;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::records;
use crate::sessions::{self, Lifetimes};
use crate::timefmt::parse_rfc3339;

/// Largest Redirect-bound `SAMLRequest` (the spec's maxLength).
const MAX_REDIRECT_REQUEST: usize = 1000;
/// Largest inflated LogoutRequest.
const MAX_INFLATED: usize = 100_000;
/// Sessions remembered per NameID; the oldest go first.
const MAX_SESSIONS: usize = 50;

fn bad<T>(why: impl Into<String>) -> Result<T, AuthError> {
    Err(AuthError::InvalidRequest(why.into()))
}

/// A session the ACS opened, until it ends at the latest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct OpenSession {
    sid: String,
    until: u64,
}

fn sessions_key(provider: &str, name_id: &str) -> String {
    format!("saml-sessions:{provider}:{}", sha256_b64url(name_id))
}

/// Remember that `name_id` at `provider` opened session `sid` (for SLO).
pub fn remember_session(world: &World, config: &Config, provider: &str, name_id: &str, sid: &str) -> Result<(), AuthError> {
    let until = world.now + Lifetimes::from(config).session;
    let key = sessions_key(provider, name_id);
    loop {
        let read = records::read::<Vec<OpenSession>>(world.store, &key, world.now)?;
        let mut open: Vec<OpenSession> = read.as_ref().map(|r| r.value.clone()).unwrap_or_default();
        open.retain(|s| s.until > world.now);
        open.push(OpenSession { sid: sid.to_string(), until });
        if open.len() > MAX_SESSIONS {
            open.drain(..open.len() - MAX_SESSIONS);
        }
        let won = match &read {
            Some(r) => records::replace(world.store, &key, r, &open, until)?,
            None => records::create(world.store, &key, &open, until)?,
        };
        if won {
            return Ok(());
        }
    }
}

/// End every remembered session of `name_id` at `provider`; returns how many.
fn end_sessions(world: &World, config: &Config, provider: &str, name_id: &str) -> Result<usize, AuthError> {
    let key = sessions_key(provider, name_id);
    let Some(read) = records::read::<Vec<OpenSession>>(world.store, &key, world.now)? else {
        return Ok(0);
    };
    let lifetimes = Lifetimes::from(config);
    for s in &read.value {
        sessions::revoke(world, &lifetimes, &s.sid)?;
    }
    // Sessions opened meanwhile stay listed; those revoked above are harmless to keep.
    records::replace(world.store, &key, &read, &Vec::<OpenSession>::new(), read.expires_at)?;
    Ok(read.value.len())
}

/// The providers whose IdP claims to have sent `root`.
fn candidates<'a>(config: &'a Config, root: &Element) -> Vec<&'a SamlProviderConfig> {
    let issuer = claimed_issuer(root);
    config.saml_providers.iter().filter(|p| p.enabled && Some(&p.idp.entity_id) == issuer.as_ref()).collect()
}

/// GET /saml/slo: the Redirect binding. The signature covers
/// `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as they appear in the
/// query (SAML Bindings §3.4.4.1).
pub fn slo_redirect(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let q = req.query_params()?;
    let encoded = q.require("SAMLRequest")?;
    if encoded.len() > MAX_REDIRECT_REQUEST {
        return bad(format!("SAMLRequest is longer than {MAX_REDIRECT_REQUEST} characters"));
    }
    let (Some(sig_alg), Some(signature)) = (q.get("SigAlg"), q.get("Signature")) else {
        return bad("the LogoutRequest must be signed (SigAlg and Signature)");
    };
    let signature = crate::saml::cert::base64_to_der(signature).ok_or_else(|| AuthError::InvalidRequest("Signature is not base64".into()))?;
    let signed = signed_query(&req.query);
    let deflated = crate::saml::cert::base64_to_der(encoded).ok_or_else(|| AuthError::InvalidRequest("SAMLRequest is not base64".into()))?;
    let xml = inflate(&deflated, MAX_INFLATED).ok_or_else(|| AuthError::InvalidRequest("SAMLRequest is not DEFLATE data".into()))?;
    let root = dom::parse(&xml).map_err(|e| AuthError::InvalidRequest(format!("SAMLRequest is not acceptable XML: {e}")))?;

    let verified: Vec<_> = candidates(config, &root)
        .into_iter()
        .filter(|p| {
            SigAlg::from_uri(sig_alg, p.allow_sha1)
                .is_ok_and(|alg| alg.verify_any(&dsig::keys_of(&p.idp.signing_certs), signed.as_bytes(), &signature))
        })
        .collect();
    logout(&root, &verified, config, world)
}

/// The raw `SAMLRequest=…[&RelayState=…]&SigAlg=…` of a query string.
fn signed_query(query: &str) -> String {
    let raw = |name: &str| query.split('&').find(|part| part.split('=').next() == Some(name));
    let mut parts = vec![raw("SAMLRequest").unwrap_or_default()];
    parts.extend(raw("RelayState"));
    parts.push(raw("SigAlg").unwrap_or_default());
    parts.join("&")
}

/// POST /saml/slo: the POST binding, an enveloped signature.
pub fn slo_post(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    if req.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return bad("Content-Type must be application/x-www-form-urlencoded");
    }
    let form = Params::parse(&req.body)?;
    let root = decode_posted(form.require("SAMLRequest")?, "SAMLRequest")?;
    if has_duplicate_ids(&root) {
        return bad("an ID occurs twice in the LogoutRequest");
    }
    let Some(signature) = dsig::signature_of(&root).map_err(|e| AuthError::InvalidRequest(e.0))? else {
        return bad("the LogoutRequest must be signed");
    };
    let mut canonical = None;
    let mut verified = Vec::new();
    for p in candidates(config, &root) {
        if let Ok(c) = dsig::verify_enveloped(&root, signature, &dsig::keys_of(&p.idp.signing_certs), p.allow_sha1) {
            canonical = Some(c);
            verified.push(p);
        }
    }
    match canonical {
        // Read only what was signed.
        Some(c) => {
            let signed = dom::parse(c.as_bytes()).map_err(|e| AuthError::Internal(format!("canonical XML does not parse: {e}")))?;
            logout(&signed, &verified, config, world)
        }
        None => logout(&root, &[], config, world),
    }
}

/// Check a signed LogoutRequest against the providers whose IdP signed it
/// and end the NameID's sessions there.
fn logout(root: &Element, verified: &[&SamlProviderConfig], config: &Config, world: &World) -> Result<Response, AuthError> {
    if !root.is(NS_SAMLP, "LogoutRequest") {
        return bad("SAMLRequest is not a samlp:LogoutRequest");
    }
    if verified.is_empty() {
        return bad("the LogoutRequest is not signed by a configured IdP");
    }
    let destination = root.attr("Destination");
    let verified: Vec<_> = verified.iter().copied().filter(|p| destination == Some(p.slo_url.as_str())).collect();
    if verified.is_empty() {
        return bad("the LogoutRequest's Destination is not this SLO endpoint");
    }
    let id = root.attr("ID").filter(|id| !id.is_empty() && id.len() <= 256).ok_or_else(|| AuthError::InvalidRequest("the LogoutRequest has no ID".into()))?;
    if root.attr("Version") != Some("2.0") {
        return bad("the LogoutRequest is not SAML 2.0");
    }
    let issued = root
        .attr("IssueInstant")
        .filter(|t| t.ends_with('Z'))
        .and_then(parse_rfc3339)
        .ok_or_else(|| AuthError::InvalidRequest("the LogoutRequest has no valid IssueInstant".into()))?;
    let sp_keys: Vec<_> = verified.iter().map(|p| &p.sp_key.key).collect();
    let (name_id, _) = read_name_id(root, &sp_keys, world.random).map_err(|e| AuthError::InvalidRequest(e.0))?;
    let not_on_or_after = root.attr("NotOnOrAfter").map(|t| parse_rfc3339(t).ok_or_else(|| AuthError::InvalidRequest("NotOnOrAfter is not a time".into()))).transpose()?;

    let mut ended = 0;
    let mut remember_until = world.now;
    for p in &verified {
        if issued + p.clock_skew < world.now || issued > world.now + p.clock_skew {
            return bad("the LogoutRequest is not fresh (IssueInstant)");
        }
        if not_on_or_after.is_some_and(|t| world.now >= t + p.clock_skew) {
            return bad("the LogoutRequest has expired (NotOnOrAfter)");
        }
        remember_until = remember_until.max(issued + 2 * p.clock_skew);
    }
    let issuer = &verified[0].idp.entity_id;
    if !records::create(world.store, &format!("saml-logout:{}", sha256_b64url(&format!("{issuer}\n{id}"))), &true, remember_until + 1)? {
        return bad("the LogoutRequest has been used before");
    }
    for p in &verified {
        ended += end_sessions(world, config, &p.id, &name_id)?;
    }
    Ok(Response::json(200, &json!({ "message": format!("logged out; {ended} session(s) ended") })))
}
