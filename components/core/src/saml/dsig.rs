//! XML Signature verification for SAML, narrowed to what SAML needs so
//! that signature wrapping has nothing to work with:
//!
//! - the `ds:Signature` must be a child of the element it signs, and its
//!   single `Reference` must point at that element's own `ID` (no URI
//!   lookup anywhere in the document; the caller names the element);
//! - the transforms are exactly enveloped-signature and exclusive C14N,
//!   SignedInfo is canonicalised with exclusive C14N;
//! - RSA PKCS#1 v1.5 with SHA-256/384/512 or ECDSA P-256 with SHA-256;
//!   SHA-1 (digest or signature) only when the provider allows it;
//! - the key is one of the IdP's metadata certificates, never one the
//!   message brings along (`KeyInfo` is ignored).
//!
//! On success the caller gets the canonical bytes that were digested, and
//! reads its data from those bytes only.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use super::c14n;
use super::cert;
use super::dom::{Element, XmlError};
use super::NS_DS;
use crate::error::DsigRule;

impl From<XmlError> for DsigRule {
    fn from(_: XmlError) -> Self {
        DsigRule::Malformed
    }
}

/// Exclusive C14N: the algorithm URI, and the namespace of its
/// InclusiveNamespaces element.
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// A key the IdP signs with, from its metadata.
#[derive(Debug, Clone)]
pub enum IdpKey {
    /// RSA (PKCS#1 v1.5 signatures).
    Rsa(RsaPublicKey),
    /// ECDSA on P-256.
    P256(p256::ecdsa::VerifyingKey),
}

impl IdpKey {
    /// The key of a DER certificate, if it is RSA or P-256.
    pub fn from_cert(der: &[u8]) -> Option<IdpKey> {
        use p256::pkcs8::DecodePublicKey;
        if let Some(key) = cert::rsa_public_key(der) {
            return Some(IdpKey::Rsa(key));
        }
        let spki = cert::subject_public_key_info(der)?;
        p256::ecdsa::VerifyingKey::from_public_key_der(spki).ok().map(IdpKey::P256)
    }
}

/// Digest algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1: only when the provider allows it.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn pkcs1(self) -> Pkcs1v15Sign {
        match self {
            Hash::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
            Hash::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
            Hash::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
            Hash::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
        }
    }
}

/// A signature algorithm: key type and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// RSA PKCS#1 v1.5.
    Rsa(Hash),
    /// ECDSA P-256 with SHA-256.
    EcdsaP256Sha256,
}

impl SigAlg {
    /// The algorithm of a `SignatureMethod` / `SigAlg` URI; SHA-1 only
    /// when allowed.
    pub fn from_uri(uri: &str, allow_sha1: bool) -> Result<SigAlg, DsigRule> {
        let alg = match uri {
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => SigAlg::Rsa(Hash::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => SigAlg::Rsa(Hash::Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => SigAlg::Rsa(Hash::Sha512),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => SigAlg::EcdsaP256Sha256,
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" if allow_sha1 => SigAlg::Rsa(Hash::Sha1),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => return Err(DsigRule::Sha1Refused),
            _ => return Err(DsigRule::UnsupportedAlgorithm),
        };
        Ok(alg)
    }

    /// Whether `signature` over `data` verifies with one of `keys`.
    pub fn verify_any(self, keys: &[IdpKey], data: &[u8], signature: &[u8]) -> bool {
        keys.iter().any(|key| match (self, key) {
            (SigAlg::Rsa(hash), IdpKey::Rsa(k)) => k.verify(hash.pkcs1(), &hash.digest(data), signature).is_ok(),
            (SigAlg::EcdsaP256Sha256, IdpKey::P256(k)) => {
                use p256::ecdsa::signature::Verifier;
                // XML-DSig carries r || s, not DER (RFC 4051 §3.3).
                p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| k.verify(data, &s).is_ok())
            }
            _ => false,
        })
    }
}

fn digest_alg(uri: &str, allow_sha1: bool) -> Result<Hash, DsigRule> {
    match uri {
        "http://www.w3.org/2001/04/xmlenc#sha256" => Ok(Hash::Sha256),
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Ok(Hash::Sha384),
        "http://www.w3.org/2001/04/xmlenc#sha512" => Ok(Hash::Sha512),
        "http://www.w3.org/2000/09/xmldsig#sha1" if allow_sha1 => Ok(Hash::Sha1),
        "http://www.w3.org/2000/09/xmldsig#sha1" => Err(DsigRule::Sha1Refused),
        _ => Err(DsigRule::UnsupportedAlgorithm),
    }
}

/// The `Algorithm` of a method or transform element.
fn algorithm(e: &Element) -> Result<&str, DsigRule> {
    e.attr("Algorithm").ok_or(DsigRule::Malformed)
}

/// The InclusiveNamespaces PrefixList an exclusive C14N method may carry.
fn prefix_list(method: &Element) -> Result<Vec<String>, DsigRule> {
    match method.only_child(EXC_C14N, "InclusiveNamespaces")? {
        Some(inc) => Ok(inc.attr("PrefixList").unwrap_or("").split_whitespace().map(str::to_string).collect()),
        None => Ok(Vec::new()),
    }
}

fn base64_text(e: &Element) -> Result<Vec<u8>, DsigRule> {
    let text: String = e.text().chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(text).map_err(|_| DsigRule::Malformed)
}

/// The enveloped signature of `signed` (a `ds:Signature` child), if any;
/// more than one is refused.
pub fn signature_of(signed: &Element) -> Result<Option<&Element>, DsigRule> {
    signed.only_child(NS_DS, "Signature").map_err(|_| DsigRule::MultipleSignatures)
}

/// Verify `signature`, a child of `signed`, with one of `keys`. Returns the
/// canonical form of `signed` without its signature: the bytes that were
/// digested and so the only bytes the caller may read data from.
pub fn verify_enveloped(signed: &Element, signature: &Element, keys: &[IdpKey], allow_sha1: bool) -> Result<String, DsigRule> {
    let id = signed.attr("ID").filter(|id| !id.is_empty()).ok_or(DsigRule::NoId)?;
    let signed_info = signature.required_child(NS_DS, "SignedInfo")?;
    let signature_value = base64_text(signature.required_child(NS_DS, "SignatureValue")?)?;
    if signature.elements().any(|e| !e.is(NS_DS, "SignedInfo") && !e.is(NS_DS, "SignatureValue") && !e.is(NS_DS, "KeyInfo")) {
        return Err(DsigRule::UnexpectedElement);
    }

    let c14n_method = signed_info.required_child(NS_DS, "CanonicalizationMethod")?;
    if algorithm(c14n_method)? != EXC_C14N {
        return Err(DsigRule::NotExclusiveC14n);
    }
    let alg = SigAlg::from_uri(algorithm(signed_info.required_child(NS_DS, "SignatureMethod")?)?, allow_sha1)?;
    if signed_info.elements().any(|e| !matches!(e.local.as_str(), "CanonicalizationMethod" | "SignatureMethod" | "Reference") || e.ns != NS_DS) {
        return Err(DsigRule::UnexpectedElement);
    }
    let reference = signed_info.required_child(NS_DS, "Reference")?;
    if reference.attr("URI") != Some(&format!("#{id}")) {
        return Err(DsigRule::ReferenceMismatch);
    }

    let mut enveloped = false;
    let mut prefixes: Option<Vec<String>> = None;
    if let Some(transforms) = reference.only_child(NS_DS, "Transforms")? {
        for t in transforms.elements() {
            match (t.is(NS_DS, "Transform"), algorithm(t)?) {
                (true, ENVELOPED) if !enveloped => enveloped = true,
                (true, EXC_C14N) if prefixes.is_none() => prefixes = Some(prefix_list(t)?),
                _ => return Err(DsigRule::TransformsRefused),
            }
        }
    }
    let (true, Some(prefixes)) = (enveloped, prefixes) else {
        return Err(DsigRule::TransformsRefused);
    };
    let hash = digest_alg(algorithm(reference.required_child(NS_DS, "DigestMethod")?)?, allow_sha1)?;
    let expected = base64_text(reference.required_child(NS_DS, "DigestValue")?)?;

    let canonical = c14n::exclusive(signed, Some(signature), &prefixes);
    if !bool::from(hash.digest(canonical.as_bytes()).ct_eq(&expected)) {
        return Err(DsigRule::DigestMismatch);
    }
    let signed_info_c14n = c14n::exclusive(signed_info, None, &prefix_list(c14n_method)?);
    if !alg.verify_any(keys, signed_info_c14n.as_bytes(), &signature_value) {
        return Err(DsigRule::SignatureInvalid);
    }
    Ok(canonical)
}

/// The keys of the IdP's signing certificates.
pub fn keys_of(certs: &[Vec<u8>]) -> Vec<IdpKey> {
    certs.iter().filter_map(|der| IdpKey::from_cert(der)).collect()
}
