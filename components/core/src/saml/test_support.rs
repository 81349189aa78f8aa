//! Keys, certificates and IdP metadata generated for the SAML tests (no
//! committed key material).

use std::sync::OnceLock;

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::cert::der_to_base64;

/// One 2048-bit SP key per test run.
pub(crate) fn sp_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap())
}

/// Another key, for mismatches.
pub(crate) fn other_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap())
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A structurally valid X.509 certificate holding `key` (not signed
/// meaningfully: SAML pins certificates, nothing here checks the chain).
pub(crate) fn fake_cert(key: &RsaPublicKey) -> Vec<u8> {
    let alg = tlv(0x30, &[&[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b][..], &[0x05, 0x00]].concat());
    let name = tlv(0x30, &tlv(0x31, &tlv(0x30, &[&[0x06, 0x03, 0x55, 0x04, 0x03][..], &tlv(0x0c, b"tmi-test")].concat())));
    let validity = tlv(0x30, &[tlv(0x17, b"260101000000Z"), tlv(0x17, b"360101000000Z")].concat());
    let spki = key.to_public_key_der().unwrap().as_bytes().to_vec();
    let tbs = tlv(
        0x30,
        &[tlv(0xa0, &tlv(0x02, &[2])), tlv(0x02, &[1]), alg.clone(), name.clone(), validity, name, spki].concat(),
    );
    tlv(0x30, &[tbs, alg, tlv(0x03, &[0, 1, 2, 3])].concat())
}

/// The SP key as PKCS#8 PEM.
pub(crate) fn key_pem(key: &RsaPrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

/// A certificate as PEM.
pub(crate) fn cert_pem(der: &[u8]) -> String {
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", der_to_base64(der))
}

/// The test IdP's SSO URL.
pub(crate) const IDP_SSO: &str = "https://idp.example.org/sso";
/// The test IdP's entity ID.
pub(crate) const IDP_ENTITY: &str = "https://idp.example.org/metadata";

/// IdP metadata with a signing certificate (of `other_key`), Redirect and
/// POST SSO, and Redirect SLO.
pub(crate) fn idp_metadata() -> String {
    let cert = der_to_base64(&fake_cert(&RsaPublicKey::from(other_key())));
    format!(
        r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP_ENTITY}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      {cert}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.org/slo"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.org/sso-post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{IDP_SSO}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

/// Configuration pairs of one SAML provider `corp-idp` (key, cert, metadata).
pub(crate) fn saml_pairs(providers_json: &str) -> Vec<(String, String)> {
    let key = sp_key();
    vec![
        ("saml_providers".into(), providers_json.into()),
        ("saml_corp_idp_sp_key".into(), key_pem(key)),
        ("saml_corp_idp_sp_cert".into(), cert_pem(&fake_cert(&RsaPublicKey::from(key)))),
    ]
}

/// A one-provider `saml_providers` value with extra JSON fields.
pub(crate) fn provider_json(extra: &str) -> String {
    let metadata = serde_json::to_string(&idp_metadata()).unwrap();
    format!(r#"[{{"id": "corp-idp", "name": "Corp IdP", "idp_metadata": {metadata}{extra}}}]"#)
}
