//! The SP's metadata (SAML Metadata §2.4.4): the `md:EntityDescriptor` an
//! IdP administrator imports to trust this service.

use crate::config::saml::SamlProviderConfig;
use super::xml::escape;
use super::{cert, xmlenc, BINDING_POST, BINDING_REDIRECT, NS_DS, NS_MD, NS_SAMLP};

/// The media type of SAML metadata (RFC 7580 registration in SAML Metadata §4.1.1).
pub const MEDIA_TYPE: &str = "application/samlmetadata+xml";

/// The SP EntityDescriptor of `p`: signing and encryption KeyDescriptors
/// with the SP certificate, SingleLogoutService (Redirect and POST),
/// NameIDFormat, and the HTTP-POST AssertionConsumerService.
pub fn sp_entity_descriptor(p: &SamlProviderConfig) -> String {
    let cert = cert::der_to_base64(&p.sp_cert);
    let key_info = format!("<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>");
    // IdPs that read the encryption KeyDescriptor pick what we decrypt.
    let methods: String = xmlenc::SUPPORTED.iter().map(|uri| format!("<md:EncryptionMethod Algorithm=\"{uri}\"/>")).collect();
    let signing = format!("<md:KeyDescriptor use=\"signing\">{key_info}</md:KeyDescriptor>");
    let encryption = format!("<md:KeyDescriptor use=\"encryption\">{key_info}{methods}</md:KeyDescriptor>");
    let slo = escape(&p.slo_url);
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<md:EntityDescriptor xmlns:md=\"{md}\" xmlns:ds=\"{ds}\" entityID=\"{entity}\">",
            "<md:SPSSODescriptor AuthnRequestsSigned=\"{signed}\" WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"{samlp}\">",
            "{signing}{encryption}",
            "<md:SingleLogoutService Binding=\"{redirect}\" Location=\"{slo}\"/>",
            "<md:SingleLogoutService Binding=\"{post}\" Location=\"{slo}\"/>",
            "<md:NameIDFormat>{nameid}</md:NameIDFormat>",
            "<md:AssertionConsumerService Binding=\"{post}\" Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>",
            "</md:SPSSODescriptor>",
            "</md:EntityDescriptor>\n"
        ),
        md = NS_MD,
        ds = NS_DS,
        samlp = NS_SAMLP,
        entity = escape(&p.sp_entity_id),
        signed = p.sign_authn_requests,
        signing = signing,
        encryption = encryption,
        redirect = BINDING_REDIRECT,
        post = BINDING_POST,
        slo = slo,
        nameid = escape(&p.name_id_format),
        acs = escape(&p.acs_url),
    )
}
