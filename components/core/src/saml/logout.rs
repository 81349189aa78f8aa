//! Single logout requests (SAML Core §3.7): a LogoutRequest counts only
//! when signed by the IdP, over the HTTP-Redirect binding (a query-string
//! signature over the raw `SAMLRequest`, `RelayState`, `SigAlg`; SAML
//! Bindings §3.4.4.1) or the HTTP-POST binding (an enveloped signature,
//! read from its signed bytes only). What it asks is acted on by the
//! domain (`domain::saml::logout`).

use super::authn_request::inflate;
use super::dom::{self, Element};
use super::dsig::{self, SigAlg};
use super::response::{claimed_issuer, decode_posted, has_duplicate_ids, read_name_id};
use super::{cert, NS_SAMLP};
use crate::config::saml::SamlProviderConfig;
use crate::error::{AuthError, SamlRule};
use crate::ports::Random;
use crate::timefmt::parse_rfc3339;

/// Largest Redirect-bound `SAMLRequest` (the spec's maxLength).
const MAX_REDIRECT_REQUEST: usize = 1000;
/// Largest inflated LogoutRequest.
const MAX_INFLATED: usize = 100_000;

/// A signed, fresh LogoutRequest addressed to us.
pub struct VerifiedLogout<'a> {
    /// The IdP's entity ID.
    pub issuer: String,
    /// The request's ID, for the replay claim.
    pub id: String,
    /// Whose sessions end.
    pub name_id: String,
    /// The providers of that IdP whose SLO URL it was addressed to.
    pub providers: Vec<&'a SamlProviderConfig>,
    /// Until when a replay would still be fresh.
    pub fresh_until: u64,
}

fn refuse<T>(rule: SamlRule) -> Result<T, AuthError> {
    Err(AuthError::LogoutRefused(rule))
}

fn bad<T>(why: &str) -> Result<T, AuthError> {
    Err(AuthError::InvalidRequest(why.into()))
}

/// The providers whose IdP claims to have sent `root`.
fn candidates<'a>(providers: &'a [SamlProviderConfig], root: &Element) -> Vec<&'a SamlProviderConfig> {
    let issuer = claimed_issuer(root);
    providers.iter().filter(|p| p.enabled && Some(&p.idp.entity_id) == issuer.as_ref()).collect()
}

/// The HTTP-Redirect binding: `query` is the raw query string, the other
/// arguments its decoded parameters.
pub fn verify_redirect<'a>(
    providers: &'a [SamlProviderConfig],
    query: &str,
    encoded: &str,
    signature: Option<(&str, &str)>,
    now: u64,
    random: &dyn Random,
) -> Result<VerifiedLogout<'a>, AuthError> {
    if encoded.len() > MAX_REDIRECT_REQUEST {
        return bad("SAMLRequest is longer than 1000 characters");
    }
    let Some((sig_alg, signature)) = signature else { return refuse(SamlRule::LogoutUnsigned) };
    let Some(signature) = cert::base64_to_der(signature) else { return bad("Signature is not base64") };
    let Some(deflated) = cert::base64_to_der(encoded) else { return bad("SAMLRequest is not base64") };
    let Some(xml) = inflate(&deflated, MAX_INFLATED) else { return bad("SAMLRequest is not DEFLATE data") };
    let Ok(root) = dom::parse(&xml) else { return bad("SAMLRequest is not acceptable XML") };
    let signed = signed_query(query);
    let verified: Vec<_> = candidates(providers, &root)
        .into_iter()
        .filter(|p| {
            SigAlg::from_uri(sig_alg, p.allow_sha1)
                .is_ok_and(|alg| alg.verify_any(&dsig::keys_of(&p.idp.signing_certs), signed.as_bytes(), &signature))
        })
        .collect();
    check(&root, verified, now, random)
}

/// The raw `SAMLRequest=…[&RelayState=…]&SigAlg=…` of a query string.
fn signed_query(query: &str) -> String {
    let raw = |name: &str| query.split('&').find(|part| part.split('=').next() == Some(name));
    let mut parts = vec![raw("SAMLRequest").unwrap_or_default()];
    parts.extend(raw("RelayState"));
    parts.push(raw("SigAlg").unwrap_or_default());
    parts.join("&")
}

/// The HTTP-POST binding: `encoded` is the posted `SAMLRequest`.
pub fn verify_post<'a>(providers: &'a [SamlProviderConfig], encoded: &str, now: u64, random: &dyn Random) -> Result<VerifiedLogout<'a>, AuthError> {
    let root = decode_posted(encoded, "SAMLRequest")?;
    if has_duplicate_ids(&root) {
        return refuse(SamlRule::DuplicateIds);
    }
    let Some(signature) = dsig::signature_of(&root).map_err(|r| AuthError::LogoutRefused(SamlRule::Signature(r)))? else {
        return refuse(SamlRule::LogoutUnsigned);
    };
    let mut canonical = None;
    let mut verified = Vec::new();
    for p in candidates(providers, &root) {
        if let Ok(c) = dsig::verify_enveloped(&root, signature, &dsig::keys_of(&p.idp.signing_certs), p.allow_sha1) {
            canonical = Some(c);
            verified.push(p);
        }
    }
    match canonical {
        // Read only what was signed.
        Some(c) => {
            let signed = dom::parse(c.as_bytes()).map_err(|_| AuthError::Internal("canonical XML does not parse".into()))?;
            check(&signed, verified, now, random)
        }
        None => check(&root, Vec::new(), now, random),
    }
}

/// The checks of a LogoutRequest signed by the IdP of `verified`.
fn check<'a>(root: &Element, verified: Vec<&'a SamlProviderConfig>, now: u64, random: &dyn Random) -> Result<VerifiedLogout<'a>, AuthError> {
    if !root.is(NS_SAMLP, "LogoutRequest") {
        return bad("SAMLRequest is not a samlp:LogoutRequest");
    }
    if verified.is_empty() {
        return refuse(SamlRule::LogoutSignatureInvalid);
    }
    let destination = root.attr("Destination");
    let providers: Vec<_> = verified.into_iter().filter(|p| destination == Some(p.slo_url.as_str())).collect();
    if providers.is_empty() {
        return refuse(SamlRule::DestinationMismatch);
    }
    let id = root.attr("ID").filter(|id| !id.is_empty() && id.len() <= 256).ok_or(AuthError::LogoutRefused(SamlRule::LogoutIdMissing))?;
    if root.attr("Version") != Some("2.0") {
        return refuse(SamlRule::Version);
    }
    let time = |name| root.attr(name).map(|t| parse_rfc3339(t).filter(|_| t.ends_with('Z')).ok_or(AuthError::LogoutRefused(SamlRule::TimeMalformed))).transpose();
    let issued = time("IssueInstant")?.ok_or(AuthError::LogoutRefused(SamlRule::IssueInstantMissing))?;
    let not_on_or_after = time("NotOnOrAfter")?;
    let sp_keys: Vec<_> = providers.iter().map(|p| &p.sp_key.key).collect();
    let (name_id, _) = read_name_id(root, &sp_keys, random).map_err(AuthError::LogoutRefused)?;
    let mut fresh_until = now;
    for p in &providers {
        if issued + p.clock_skew < now || issued > now + p.clock_skew {
            return refuse(SamlRule::LogoutStale);
        }
        if not_on_or_after.is_some_and(|t| now >= t.saturating_add(p.clock_skew)) {
            return refuse(SamlRule::Expired);
        }
        fresh_until = fresh_until.max(issued + 2 * p.clock_skew + 1);
    }
    Ok(VerifiedLogout { issuer: providers[0].idp.entity_id.clone(), id: id.to_string(), name_id, providers, fresh_until })
}
