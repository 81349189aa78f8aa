//! SAML 2.0 service provider (issue #4): provider configuration, SP
//! metadata, and SP-initiated login over the HTTP-Redirect binding.
//!
//! Everything here is pure Rust and runs inside the component: XML is read
//! with quick-xml (no DTDs, bounded size), DEFLATE is miniz_oxide, RSA is
//! the `rsa` crate. The ACS and SLO endpoints build on the records of
//! [`login`] and the IdP data of [`idp_metadata`].

pub mod authn_request;
pub mod cert;
pub mod config;
pub mod endpoints;
pub mod idp_metadata;
pub mod login;
pub mod metadata;
pub mod xml;

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

/// SAML 2.0 metadata namespace.
pub const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// XML Signature namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// SAML 2.0 protocol namespace.
pub const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace.
pub const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// RSA-SHA256 (RFC 6931), the signature algorithm of redirect-bound requests.
pub const ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
