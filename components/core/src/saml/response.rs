//! Validation of a SAML Response for the ACS (CONTRACT.md, "SAML service
//! provider"), without the store: signatures, structure, issuer, status,
//! destination, recipient, audience and time windows. The store-backed
//! checks (InResponseTo against stored requests, assertion replay) are the
//! ACS endpoint's.
//!
//! Signature wrapping has no room here: the Response may only carry one
//! assertion (plain or encrypted), a signature is only accepted as a child
//! of the element it signs and referencing that element's own ID, and
//! after a signature verifies, the data is read from a fresh parse of the
//! canonical bytes that were digested, never from the received tree.

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use rsa::RsaPrivateKey;

use crate::config::saml::{SamlProviderConfig, SUBJECT_ID_ATTRIBUTES};
use super::dom::{self, Element, XmlError};
use super::{dsig, xmlenc, NS_SAML, NS_SAMLP};
use crate::error::{AuthError, SamlRule};
use crate::ports::Random;
use crate::identity::Identity;
use crate::timefmt::parse_rfc3339;

/// Largest `SAMLResponse` accepted (the spec's maxLength).
pub const MAX_ENCODED: usize = 100_000;
/// How old a Response's IssueInstant may be, beyond the clock skew.
const MAX_RESPONSE_AGE: u64 = 10 * 60;

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const FORMAT_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const FORMAT_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
/// Most groups taken from one assertion.
const MAX_GROUPS: usize = 200;

/// What a valid Response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlLogin {
    /// The AuthnRequest it answers, if any.
    pub in_response_to: Option<String>,
    /// The assertion's ID, for the replay cache.
    pub assertion_id: String,
    /// Until when the assertion could be replayed (its latest NotOnOrAfter
    /// plus the skew): how long the replay cache must remember it.
    pub replayable_until: u64,
    /// The NameID, for single logout.
    pub name_id: String,
    /// Who logged in.
    pub identity: Identity,
}

fn denied<T>(rule: SamlRule) -> Result<T, AuthError> {
    Err(AuthError::AccessDenied(rule))
}

fn malformed(_: XmlError) -> AuthError {
    AuthError::AccessDenied(SamlRule::Malformed)
}

/// Base64-decode and parse a posted `SAMLResponse` (or POST-bound
/// `SAMLRequest`). Malformed input is a 400.
pub fn decode_posted(encoded: &str, what: &str) -> Result<Element, AuthError> {
    if encoded.len() > MAX_ENCODED {
        return Err(AuthError::InvalidRequest(format!("{what} is larger than {MAX_ENCODED} characters")));
    }
    let compact: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let xml = STANDARD.decode(compact).map_err(|_| AuthError::InvalidRequest(format!("{what} is not base64")))?;
    // The parser's message may quote the document: it goes nowhere.
    dom::parse(&xml).map_err(|_| AuthError::InvalidRequest(format!("{what} is not acceptable XML (well-formed, without a DTD, within the size limits)")))
}

/// The Issuer a message claims (unverified: only to choose whose keys to
/// check it with).
pub fn claimed_issuer(root: &Element) -> Option<String> {
    let from = |e: &Element| e.children_named(NS_SAML, "Issuer").next().map(Element::text);
    from(root).or_else(|| root.children_named(NS_SAML, "Assertion").next().and_then(from))
}

/// The request a Response claims to answer: its InResponseTo, else that of
/// a (plain) assertion's SubjectConfirmationData (unverified: only to find
/// the pending request, whose ID the validated Response must then carry).
pub fn claimed_in_response_to(root: &Element) -> Option<&str> {
    in_response_to(root).or_else(|| {
        root.descendants().into_iter().filter(|e| e.is(NS_SAML, "SubjectConfirmationData")).find_map(in_response_to)
    })
}

/// The audiences an assertion claims (unverified; to pick the provider of
/// an IdP-initiated login).
pub fn claimed_audiences(root: &Element) -> Vec<String> {
    root.descendants().into_iter().filter(|e| e.is(NS_SAML, "Audience")).map(Element::text).collect()
}

/// An element's InResponseTo. An empty one is none: IdPs such as samlify
/// send `InResponseTo=""` in unsolicited Responses.
fn in_response_to(e: &Element) -> Option<&str> {
    e.attr("InResponseTo").filter(|irt| !irt.is_empty())
}

/// Whether any `ID` attribute value occurs twice in the document.
pub fn has_duplicate_ids(root: &Element) -> bool {
    let mut seen = HashSet::new();
    root.descendants().into_iter().filter_map(|e| e.attr("ID")).any(|id| !seen.insert(id))
}

fn signature(rule: crate::error::DsigRule) -> AuthError {
    AuthError::AccessDenied(SamlRule::Signature(rule))
}

/// Parse signed canonical bytes again: from here on only they are read.
fn reparse(canonical: &str) -> Result<Element, AuthError> {
    dom::parse(canonical.as_bytes()).map_err(|e| AuthError::Internal(format!("canonical XML does not parse: {e}")))
}

/// A time attribute: must be a UTC xs:dateTime when present.
fn instant(e: &Element, name: &str) -> Result<Option<u64>, AuthError> {
    match e.attr(name) {
        None => Ok(None),
        Some(v) if v.ends_with('Z') => match parse_rfc3339(v) {
            Some(t) => Ok(Some(t)),
            None => denied(SamlRule::TimeMalformed),
        },
        Some(_) => denied(SamlRule::TimeMalformed),
    }
}

/// Clock checks with the provider's skew.
struct Clock {
    now: u64,
    skew: u64,
}

impl Clock {
    fn not_before(&self, e: &Element, name: &str) -> Result<(), AuthError> {
        match instant(e, name)? {
            Some(t) if t > self.now + self.skew => denied(SamlRule::NotYetValid),
            _ => Ok(()),
        }
    }

    /// `NotOnOrAfter`-style: returns the instant when present.
    fn not_on_or_after(&self, e: &Element, name: &str) -> Result<Option<u64>, AuthError> {
        match instant(e, name)? {
            Some(t) if self.now >= t.saturating_add(self.skew) => denied(SamlRule::Expired),
            t => Ok(t),
        }
    }
}

/// Validate a parsed Response for provider `p`.
pub fn validate(root: &Element, p: &SamlProviderConfig, now: u64, random: &dyn Random) -> Result<SamlLogin, AuthError> {
    if !root.is(NS_SAMLP, "Response") {
        return Err(AuthError::InvalidRequest("SAMLResponse is not a samlp:Response".into()));
    }
    if has_duplicate_ids(root) {
        return denied(SamlRule::DuplicateIds);
    }
    let clock = Clock { now, skew: p.clock_skew };
    let keys = dsig::keys_of(&p.idp.signing_certs);

    let signed_response = match dsig::signature_of(root).map_err(signature)? {
        Some(sig) => Some(reparse(&dsig::verify_enveloped(root, sig, &keys, p.allow_sha1).map_err(signature)?)?),
        None => None,
    };
    let response = signed_response.as_ref().unwrap_or(root);
    let response_irt = check_response(response, p, &clock)?;

    // Exactly one, anywhere in the tree: SAML Core §3.2.1 allows no
    // assertion in Extensions, and a second one is a wrapping attempt.
    let is_assertion = |e: &&Element| e.ns == NS_SAML && (e.local == "Assertion" || e.local == "EncryptedAssertion");
    if response.descendants().into_iter().filter(is_assertion).count() != 1 {
        return denied(SamlRule::AssertionCount);
    }
    let Some(carried) = response.elements().find(is_assertion) else {
        return denied(SamlRule::AssertionCount);
    };
    let encrypted = carried.local == "EncryptedAssertion";
    let decrypted;
    let assertion = if encrypted {
        decrypted = decrypt_assertion(carried, p, random)?;
        &decrypted
    } else {
        carried
    };
    let verified = (|| {
        if !assertion.is(NS_SAML, "Assertion") {
            return denied(SamlRule::EncryptedNotAssertion);
        }
        if has_duplicate_ids(assertion) {
            return denied(SamlRule::DuplicateIds);
        }
        match dsig::signature_of(assertion).map_err(signature)? {
            Some(sig) => Ok(Some(reparse(&dsig::verify_enveloped(assertion, sig, &keys, p.allow_sha1).map_err(signature)?)?)),
            None if signed_response.is_some() => Ok(None),
            None => denied(SamlRule::Unsigned),
        }
    })();
    let signed_assertion = match verified {
        // Unless the Response is signed, the ciphertext may be the
        // attacker's: every failure up to a verified assertion reads the
        // same, or the replies would tell what the ciphertext decrypted to.
        Err(AuthError::AccessDenied(_)) if encrypted && signed_response.is_none() => return denied(SamlRule::Undecryptable),
        other => other?,
    };
    check_assertion(signed_assertion.as_ref().unwrap_or(assertion), response_irt, p, &clock, random)
}

fn decrypt_assertion(encrypted: &Element, p: &SamlProviderConfig, random: &dyn Random) -> Result<Element, AuthError> {
    // One answer for every failure from here to a parsed element: what
    // went wrong inside decryption is nobody's business (padding oracles).
    let undecryptable = AuthError::AccessDenied(SamlRule::Undecryptable);
    let plain = xmlenc::decrypt(encrypted, &p.sp_key.key, random).map_err(|e| match e {
        xmlenc::XmlEncError::Unsupported(alg) => AuthError::AccessDenied(SamlRule::UnsupportedEncryption(alg)),
        xmlenc::XmlEncError::Failed(_) => undecryptable.clone(),
    })?;
    dom::parse_in(&plain, &encrypted.scope).map_err(|_| undecryptable)
}

fn check_issuer(e: &Element, p: &SamlProviderConfig, required: bool) -> Result<(), AuthError> {
    match e.only_child(NS_SAML, "Issuer").map_err(malformed)? {
        None if required => denied(SamlRule::IssuerMissing),
        None => Ok(()),
        Some(issuer) if issuer.attr("Format").is_some_and(|f| f != FORMAT_ENTITY) => denied(SamlRule::IssuerNotEntity),
        Some(issuer) if issuer.text() != p.idp.entity_id => denied(SamlRule::IssuerMismatch),
        Some(_) => Ok(()),
    }
}

/// The Response envelope; returns its InResponseTo.
fn check_response(response: &Element, p: &SamlProviderConfig, clock: &Clock) -> Result<Option<String>, AuthError> {
    if response.attr("Version") != Some("2.0") {
        return denied(SamlRule::Version);
    }
    match response.attr("Destination") {
        Some(d) if d == p.acs_url => {}
        _ => return denied(SamlRule::DestinationMismatch),
    }
    check_issuer(response, p, false)?;
    let issued = instant(response, "IssueInstant")?.ok_or(AuthError::AccessDenied(SamlRule::IssueInstantMissing))?;
    if issued > clock.now + clock.skew || issued.saturating_add(MAX_RESPONSE_AGE + clock.skew) < clock.now {
        return denied(SamlRule::IssueInstantOutsideWindow);
    }
    let status = response
        .required_child(NS_SAMLP, "Status")
        .and_then(|s| s.required_child(NS_SAMLP, "StatusCode"))
        .map_err(malformed)?;
    if status.attr("Value") != Some(STATUS_SUCCESS) {
        return denied(SamlRule::StatusNotSuccess);
    }
    Ok(in_response_to(response).map(str::to_string))
}

fn check_assertion(
    a: &Element,
    response_irt: Option<String>,
    p: &SamlProviderConfig,
    clock: &Clock,
    random: &dyn Random,
) -> Result<SamlLogin, AuthError> {
    if a.attr("Version") != Some("2.0") {
        return denied(SamlRule::Version);
    }
    let assertion_id = a.attr("ID").filter(|id| !id.is_empty()).ok_or(AuthError::AccessDenied(SamlRule::AssertionIdMissing))?;
    check_issuer(a, p, true)?;
    clock.not_before(a, "IssueInstant")?;

    let subject = a.required_child(NS_SAML, "Subject").map_err(malformed)?;
    let (name_id, format) = read_name_id(subject, &[&p.sp_key.key], random).map_err(AuthError::AccessDenied)?;
    let (confirmed_until, irt) = confirm_subject(subject, response_irt, p, clock)?;

    let conditions = a.required_child(NS_SAML, "Conditions").map_err(malformed)?;
    clock.not_before(conditions, "NotBefore")?;
    let conditions_until = clock.not_on_or_after(conditions, "NotOnOrAfter")?;
    let restrictions: Vec<_> = conditions.children_named(NS_SAML, "AudienceRestriction").collect();
    if restrictions.is_empty() {
        return denied(SamlRule::NoAudienceRestriction);
    }
    for r in restrictions {
        if !r.children_named(NS_SAML, "Audience").any(|aud| aud.text() == p.sp_entity_id) {
            return denied(SamlRule::AudienceMismatch);
        }
    }
    for statement in a.children_named(NS_SAML, "AuthnStatement") {
        clock.not_on_or_after(statement, "SessionNotOnOrAfter")?;
    }

    let attributes = attributes(a);
    let identity = identity(&name_id, format.as_deref(), &attributes, p)?;
    Ok(SamlLogin {
        in_response_to: irt,
        assertion_id: assertion_id.to_string(),
        replayable_until: confirmed_until.max(conditions_until.unwrap_or(0)) + clock.skew,
        name_id,
        identity,
    })
}

/// The NameID of `parent` (a Subject or a LogoutRequest), plain or as an
/// EncryptedID that one of `sp_keys` decrypts; with its Format.
pub fn read_name_id(parent: &Element, sp_keys: &[&RsaPrivateKey], random: &dyn Random) -> Result<(String, Option<String>), SamlRule> {
    let unreadable = || SamlRule::Undecryptable;
    let decrypted;
    let child = |local| parent.only_child(NS_SAML, local).map_err(|_| SamlRule::Malformed);
    let name_id = match (child("NameID")?, child("EncryptedID")?) {
        (Some(plain), None) => plain,
        (None, Some(encrypted)) => {
            let xml = sp_keys.iter().find_map(|key| xmlenc::decrypt(encrypted, key, random).ok()).ok_or_else(unreadable)?;
            decrypted = dom::parse_in(&xml, &encrypted.scope).map_err(|_| unreadable())?;
            if !decrypted.is(NS_SAML, "NameID") {
                return Err(SamlRule::Malformed);
            }
            &decrypted
        }
        _ => return Err(SamlRule::Malformed),
    };
    match name_id.text() {
        value if value.is_empty() => Err(SamlRule::SubjectMalformed),
        value => Ok((value, name_id.attr("Format").map(str::to_string))),
    }
}

/// At least one bearer SubjectConfirmation must hold: Recipient is our ACS,
/// NotOnOrAfter (required) and NotBefore hold, InResponseTo agrees with the
/// Response's. Returns the confirmation's NotOnOrAfter and InResponseTo.
fn confirm_subject(subject: &Element, response_irt: Option<String>, p: &SamlProviderConfig, clock: &Clock) -> Result<(u64, Option<String>), AuthError> {
    let mut first_failure = None;
    for confirmation in subject.children_named(NS_SAML, "SubjectConfirmation") {
        if confirmation.attr("Method") != Some(BEARER) {
            continue;
        }
        let attempt = (|| {
            let data = confirmation.required_child(NS_SAML, "SubjectConfirmationData").map_err(malformed)?;
            if data.attr("Recipient") != Some(p.acs_url.as_str()) {
                return denied(SamlRule::RecipientMismatch);
            }
            clock.not_before(data, "NotBefore")?;
            let until = clock
                .not_on_or_after(data, "NotOnOrAfter")?
                .ok_or(AuthError::AccessDenied(SamlRule::ConfirmationUnbounded))?;
            let irt = match (in_response_to(data), &response_irt) {
                (Some(a), Some(b)) if a != b => return denied(SamlRule::InResponseToDisagree),
                (Some(a), _) => Some(a.to_string()),
                (None, b) => b.clone(),
            };
            Ok((until, irt))
        })();
        match attempt {
            Ok(ok) => return Ok(ok),
            Err(e) => first_failure = first_failure.or(Some(e)),
        }
    }
    Err(first_failure.unwrap_or(AuthError::AccessDenied(SamlRule::NoBearerConfirmation)))
}

/// Attribute name to values, in document order.
fn attributes(a: &Element) -> Vec<(String, Vec<String>)> {
    a.children_named(NS_SAML, "AttributeStatement")
        .flat_map(|s| s.children_named(NS_SAML, "Attribute"))
        .filter_map(|attr| {
            let name = attr.attr("Name")?.to_string();
            let values = attr.children_named(NS_SAML, "AttributeValue").map(Element::text).filter(|v| !v.is_empty()).collect();
            Some((name, values))
        })
        .collect()
}

fn first_value<'a>(attributes: &'a [(String, Vec<String>)], names: &[impl AsRef<str>]) -> Option<&'a String> {
    names.iter().find_map(|n| attributes.iter().find(|(name, _)| name == n.as_ref()).and_then(|(_, v)| v.first()))
}

fn plain(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && !value.chars().any(char::is_control)
}

fn identity(name_id: &str, format: Option<&str>, attributes: &[(String, Vec<String>)], p: &SamlProviderConfig) -> Result<Identity, AuthError> {
    let user_id = first_value(attributes, &SUBJECT_ID_ATTRIBUTES).map(String::as_str).unwrap_or(name_id);
    if !plain(user_id, 1024) {
        return denied(SamlRule::SubjectMalformed);
    }
    let email = first_value(attributes, &p.attributes.email)
        .cloned()
        // A NameID of the email format, or of no stated format when we asked
        // for emailAddress (samlify leaves Format out).
        .or_else(|| (format.unwrap_or(&p.name_id_format) == FORMAT_EMAIL).then(|| name_id.to_string()))
        .ok_or(AuthError::AccessDenied(SamlRule::NoEmail))?;
    if !plain(&email, 320) || !email.contains('@') {
        return denied(SamlRule::EmailMalformed);
    }
    let name = first_value(attributes, &p.attributes.name).cloned().unwrap_or_else(|| email.clone());
    let groups: Vec<String> = p
        .attributes
        .groups
        .iter()
        .find_map(|n| attributes.iter().find(|(name, _)| name == n))
        .map(|(_, values)| values.iter().filter(|g| plain(g, 256)).take(MAX_GROUPS).cloned().collect())
        .unwrap_or_default();
    Ok(Identity {
        provider_user_id: user_id.to_string(),
        email,
        email_verified: true,
        name: if plain(&name, 256) { name } else { String::new() },
        groups,
    })
}
