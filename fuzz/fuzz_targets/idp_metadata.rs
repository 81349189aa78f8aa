//! Covers `saml::idp_metadata::parse` (IdP metadata: XML DOM, EntityDescriptor, certificates, endpoints) on arbitrary UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tmi_auth_core::saml::{idp_metadata, BINDING_POST, BINDING_REDIRECT};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(metadata) = idp_metadata::parse(text) {
        let _ = metadata.slo_endpoint(BINDING_REDIRECT);
        let _ = metadata.slo_endpoint(BINDING_POST);
    }
});
