//! The SAML 2.0 protocol, for the service provider: SP metadata, the
//! AuthnRequest over HTTP-Redirect, Response validation (signature,
//! decryption and every check of CONTRACT.md that needs no store) and
//! LogoutRequest verification. No store and no HTTP here: the endpoints
//! are `api/saml/`, the single-use rules `domain/saml.rs`.
//!
//! Everything here is pure Rust and runs inside the component: XML is read
//! with quick-xml into [`dom`] (no DTDs, bounded size), canonicalised by
//! [`c14n`] and verified by [`dsig`]; DEFLATE is miniz_oxide; RSA, ECDSA
//! and AES are RustCrypto.

pub mod authn_request;
pub mod c14n;
pub mod cert;
pub mod dom;
pub mod dsig;
pub mod idp_metadata;
pub mod logout;
pub mod metadata;
pub mod response;
pub mod xml;
pub mod xmlenc;

#[cfg(any(test, feature = "testing"))]
pub mod test_support;


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
