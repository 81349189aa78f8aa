//! The AuthnRequest (SAML Core §3.4.1) and its HTTP-Redirect encoding
//! (SAML Bindings §3.4.4.1): raw DEFLATE, base64, URL-encoding, and when
//! signing is configured the query-string signature over
//! `SAMLRequest=…&RelayState=…&SigAlg=…` with RSA-SHA256.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};

use crate::config::saml::SamlProviderConfig;
use super::xml::escape;
use super::{ALG_RSA_SHA256, BINDING_POST, NS_SAML, NS_SAMLP};
use crate::error::AuthError;
use crate::ports::Random;
use crate::timefmt::rfc3339;

/// A request ID: `_` and 32 hex characters (128 random bits; an xs:ID
/// must not start with a digit).
pub fn new_request_id(random: &dyn Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("_{hex}")
}

/// Whether `id` has the shape [`new_request_id`] gives.
#[cfg(test)]
pub fn is_request_id(id: &str) -> bool {
    id.len() == 33 && id.starts_with('_') && id[1..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The AuthnRequest XML for provider `p`.
pub fn authn_request_xml(p: &SamlProviderConfig, id: &str, now: u64) -> String {
    format!(
        concat!(
            "<samlp:AuthnRequest xmlns:samlp=\"{samlp}\" xmlns:saml=\"{saml}\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"{instant}\" Destination=\"{destination}\" AssertionConsumerServiceURL=\"{acs}\" ",
            "ProtocolBinding=\"{binding}\">",
            "<saml:Issuer>{issuer}</saml:Issuer>",
            "<samlp:NameIDPolicy Format=\"{format}\" AllowCreate=\"true\"/>",
            "</samlp:AuthnRequest>"
        ),
        samlp = NS_SAMLP,
        saml = NS_SAML,
        id = escape(id),
        instant = rfc3339(now),
        destination = escape(&p.idp.sso_redirect),
        acs = escape(&p.acs_url),
        binding = BINDING_POST,
        issuer = escape(&p.sp_entity_id),
        format = escape(&p.name_id_format),
    )
}

/// Raw DEFLATE (RFC 1951), as the Redirect binding requires.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(data, 6)
}

/// Inverse of [`deflate`], refusing output over `limit` bytes (a DEFLATE
/// bomb in a redirect-bound message).
pub fn inflate(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit).ok()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// RSASSA-PKCS1-v1_5 with SHA-256 over `data`.
pub fn sign_rsa_sha256(key: &RsaPrivateKey, data: &[u8]) -> Result<Vec<u8>, AuthError> {
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(data))
        .map_err(|e| AuthError::Internal(format!("signing the AuthnRequest: {e}")))
}

/// The URL that carries `message` to `destination` over HTTP-Redirect,
/// signed with `signer` when given. The signed octets are exactly the
/// query parameters as they appear in the URL.
pub fn redirect_url(destination: &str, message: &str, relay_state: &str, signer: Option<&RsaPrivateKey>) -> Result<String, AuthError> {
    let encoded = STANDARD.encode(deflate(message.as_bytes()));
    let mut query = format!("SAMLRequest={}&RelayState={}", urlencode(&encoded), urlencode(relay_state));
    if let Some(key) = signer {
        query.push_str("&SigAlg=");
        query.push_str(&urlencode(ALG_RSA_SHA256));
        let signature = sign_rsa_sha256(key, query.as_bytes())?;
        query.push_str("&Signature=");
        query.push_str(&urlencode(&STANDARD.encode(signature)));
    }
    let separator = if destination.contains('?') { '&' } else { '?' };
    Ok(format!("{destination}{separator}{query}"))
}
