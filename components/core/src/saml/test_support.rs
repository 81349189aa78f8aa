//! Keys, certificates, IdP metadata and a signer for the SAML tests and
//! benchmarks (no committed key material).

use std::sync::OnceLock;

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::cert::der_to_base64;

/// One 2048-bit SP key per test run.
pub fn sp_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap())
}

/// Another key, for mismatches.
pub fn other_key() -> &'static RsaPrivateKey {
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
pub fn fake_cert(key: &RsaPublicKey) -> Vec<u8> {
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
pub fn key_pem(key: &RsaPrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

/// A certificate as PEM.
pub fn cert_pem(der: &[u8]) -> String {
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", der_to_base64(der))
}

/// The test IdP's SSO URL.
pub const IDP_SSO: &str = "https://idp.example.org/sso";
/// The test IdP's entity ID.
pub const IDP_ENTITY: &str = "https://idp.example.org/metadata";

/// IdP metadata with a signing certificate (of `other_key`), Redirect and
/// POST SSO, and Redirect SLO.
pub fn idp_metadata() -> String {
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
pub fn saml_pairs(providers_json: &str) -> Vec<(String, String)> {
    let key = sp_key();
    vec![
        ("saml_providers".into(), providers_json.into()),
        ("saml_corp_idp_sp_key".into(), key_pem(key)),
        ("saml_corp_idp_sp_cert".into(), cert_pem(&fake_cert(&RsaPublicKey::from(key)))),
    ]
}

#[cfg(test)]
/// The service with the one provider of [`provider_json`]`(extra)` and
/// more configuration pairs.
pub fn service_and(extra: &str, more: &[(&str, &str)]) -> crate::Service {
    let pairs = saml_pairs(&provider_json(extra));
    let mut all: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(more);
    crate::flow_tests::service_with(&all)
}

#[cfg(test)]
/// [`service_and`] without more pairs.
pub fn service(extra: &str) -> crate::Service {
    service_and(extra, &[])
}

/// A one-provider `saml_providers` value with extra JSON fields.
pub fn provider_json(extra: &str) -> String {
    let metadata = serde_json::to_string(&idp_metadata()).unwrap();
    format!(r#"[{{"id": "corp-idp", "name": "Corp IdP", "idp_metadata": {metadata}{extra}}}]"#)
}

/// The SP's URLs under the unit tests' base URL.
pub const ACS: &str = "https://auth.example.com/saml/acs";
/// The SLO URL.
pub const SLO: &str = "https://auth.example.com/saml/slo";
/// The SP entity ID of `corp-idp`.
pub const SP_ENTITY: &str = "https://auth.example.com/saml/corp-idp/metadata";

/// Sign the element with `ID="id"` in `xml` the way IdPs do (enveloped,
/// exclusive C14N, RSA-SHA256), the signature placed after its Issuer.
/// Unit tests only: the end-to-end tests sign with a real XML-DSig library.
pub fn sign(xml: &str, id: &str, key: &RsaPrivateKey) -> String {
    use super::{c14n, dom, NS_DS};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use sha2::{Digest, Sha256};

    let doc = dom::parse(xml.as_bytes()).unwrap();
    let target = doc.descendants().into_iter().find(|e| e.attr("ID") == Some(id)).unwrap();
    let digest = STANDARD.encode(Sha256::digest(c14n::exclusive(target, None, &[]).as_bytes()));
    const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    let signed_info = format!(
        concat!(
            r#"<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{exc}"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="{exc}"/></ds:Transforms>"#,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"#
        ),
        exc = EXC,
        id = id,
        digest = digest
    );
    let wrapper = format!(r#"<ds:Signature xmlns:ds="{NS_DS}">{signed_info}</ds:Signature>"#);
    let parsed = dom::parse(wrapper.as_bytes()).unwrap();
    let canonical = c14n::exclusive(parsed.elements().next().unwrap(), None, &[]);
    let value = key.sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(canonical.as_bytes())).unwrap();
    let signature = format!(r#"<ds:Signature xmlns:ds="{NS_DS}">{signed_info}<ds:SignatureValue>{}</ds:SignatureValue></ds:Signature>"#, STANDARD.encode(value));
    let start = xml.find(&format!(r#"ID="{id}""#)).unwrap();
    let issuer_end = start + xml[start..].find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
    format!("{}{}{}", &xml[..issuer_end], signature, &xml[issuer_end..])
}

/// What goes into a test Response; every field can be spoilt.
#[derive(Clone)]
#[allow(missing_docs)] // the fields are the Response's, by name
pub struct ResponseSpec {
    pub in_response_to: Option<String>,
    pub destination: String,
    pub issuer: String,
    pub status: String,
    pub recipient: String,
    pub audience: String,
    pub name_id: String,
    pub issued: u64,
    pub not_before: u64,
    pub not_on_or_after: u64,
    pub assertion_id: String,
    pub attributes: Vec<(String, Vec<String>)>,
}

impl ResponseSpec {
    /// A valid answer to `request_id` at time `now`.
    pub fn new(request_id: Option<&str>, now: u64) -> Self {
        ResponseSpec {
            in_response_to: request_id.map(str::to_string),
            destination: ACS.into(),
            issuer: IDP_ENTITY.into(),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            recipient: ACS.into(),
            audience: SP_ENTITY.into(),
            name_id: "alice@corp.example".into(),
            issued: now,
            not_before: now - 60,
            not_on_or_after: now + 300,
            assertion_id: format!("_a{now}"),
            attributes: vec![
                ("mail".into(), vec!["alice@corp.example".into()]),
                ("displayName".into(), vec!["Alice Corp".into()]),
                ("groups".into(), vec!["engineering".into(), "security".into()]),
            ],
        }
    }

    /// The Assertion element.
    pub fn assertion(&self) -> String {
        use crate::timefmt::rfc3339;
        let irt = self.in_response_to.as_ref().map(|i| format!(r#" InResponseTo="{i}""#)).unwrap_or_default();
        let attributes: String = self
            .attributes
            .iter()
            .map(|(name, values)| {
                let values: String = values.iter().map(|v| format!("<saml:AttributeValue>{v}</saml:AttributeValue>")).collect();
                format!(r#"<saml:Attribute Name="{name}">{values}</saml:Attribute>"#)
            })
            .collect();
        format!(
            concat!(
                r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}">"#,
                r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
                r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID>"#,
                r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
                r#"<saml:SubjectConfirmationData Recipient="{recipient}" NotOnOrAfter="{until}"{irt}/></saml:SubjectConfirmation></saml:Subject>"#,
                r#"<saml:Conditions NotBefore="{not_before}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
                r#"<saml:AuthnStatement AuthnInstant="{issued}" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
                r#"<saml:AttributeStatement>{attributes}</saml:AttributeStatement>"#,
                r#"</saml:Assertion>"#
            ),
            id = self.assertion_id,
            issued = rfc3339(self.issued),
            issuer = self.issuer,
            name_id = self.name_id,
            recipient = self.recipient,
            until = rfc3339(self.not_on_or_after),
            not_before = rfc3339(self.not_before),
            audience = self.audience,
            irt = irt,
            attributes = attributes,
        )
    }

    /// The Response around `assertion` (e.g. a signed or spoilt one).
    pub fn response_with(&self, assertion: &str) -> String {
        use crate::timefmt::rfc3339;
        let irt = self.in_response_to.as_ref().map(|i| format!(r#" InResponseTo="{i}""#)).unwrap_or_default();
        format!(
            concat!(
                r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
                r#"ID="_r{id}" Version="2.0" IssueInstant="{issued}" Destination="{destination}"{irt}>"#,
                r#"<saml:Issuer>{issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{assertion}</samlp:Response>"#
            ),
            id = self.assertion_id,
            issued = rfc3339(self.issued),
            destination = self.destination,
            irt = irt,
            issuer = self.issuer,
            status = self.status,
            assertion = assertion,
        )
    }

    /// The Response with the Assertion signed by the IdP (`other_key`).
    pub fn signed(&self) -> String {
        self.response_with(&sign(&self.assertion(), &self.assertion_id, other_key()))
    }
}

/// `element` encrypted for `to` (RSA-OAEP key transport, AES-256-GCM) and
/// wrapped as `saml:<wrapper>` (`EncryptedAssertion`, `EncryptedID`).
pub fn encrypt_for(element: &str, wrapper: &str, to: &RsaPrivateKey) -> String {
    use aes_gcm::aead::{Aead, KeyInit};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let key = [5u8; 32];
    let iv = [6u8; 12];
    let mut data = iv.to_vec();
    data.extend(aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap().encrypt(aes_gcm::Nonce::from_slice(&iv), element.as_bytes()).unwrap());
    let wrapped = RsaPublicKey::from(to).encrypt(&mut rand_core::OsRng, rsa::Oaep::new::<sha1::Sha1>(), &key).unwrap();
    format!(
        concat!(
            r#"<saml:{wrapper}><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">"#,
            r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>"#,
            r#"<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:{wrapper}>"#
        ),
        wrapper = wrapper,
        key = STANDARD.encode(wrapped),
        data = STANDARD.encode(data)
    )
}

/// A LogoutRequest of the test IdP (unsigned), issued at `issued`, for `destination`.
pub fn logout_request(id: &str, name_id: &str, issued: u64, destination: &str) -> String {
    format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
            r#"ID="{id}" Version="2.0" IssueInstant="{issued}" Destination="{destination}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><saml:NameID>{name_id}</saml:NameID></samlp:LogoutRequest>"#
        ),
        id = id,
        issued = crate::timefmt::rfc3339(issued),
        destination = destination,
        issuer = IDP_ENTITY,
        name_id = name_id
    )
}
