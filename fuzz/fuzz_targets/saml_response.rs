//! Covers the ACS's parsing of a posted SAMLResponse: base64, the XML DOM (`saml::dom::parse`), `saml::response::validate` (XML-DSig, XML-Enc, every check) against the SAML test IdP's provider, and `saml::c14n::exclusive` on the parsed tree (canonical output must re-parse and canonicalise to itself).
//!
//! Input: optional directive lines (`!sign ID`, `!encrypt`; see
//! `tmi_auth_fuzz::apply_saml_directives`) that sign or encrypt at run
//! time with this process's test keys, then the document, either as XML
//! or base64 of it (as posted).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tmi_auth_core::saml::dom::{self, Element};
use tmi_auth_core::saml::{c14n, dsig, response};
use tmi_auth_core::testing::SeqRandom;
use tmi_auth_core::Service;
use tmi_auth_fuzz::{apply_saml_directives, NOW};

thread_local! {
    static SERVICE: Service = tmi_auth_fuzz::service();
}

fn exercise(root: &Element, svc: &Service) {
    let provider = &svc.config().saml_providers[0];
    let _ = response::claimed_issuer(root);
    let _ = response::claimed_in_response_to(root);
    let _ = response::claimed_audiences(root);
    let _ = response::has_duplicate_ids(root);
    if let Err(e) = response::validate(root, provider, NOW + 5, &SeqRandom::default()) {
        // Refusals of client input are 4xx, never a server error.
        assert!(e.status() < 500, "{e:?}");
    }

    let inclusive = ["saml".to_string(), "xs".to_string()];
    let canonical = c14n::exclusive(root, None, &[]);
    // The canonical form of a parsed tree is itself a document whose
    // canonical form it is: what a signature covers reads back the same.
    let reparsed = dom::parse(canonical.as_bytes()).unwrap_or_else(|e| panic!("canonical output does not parse: {e}: {canonical:?}"));
    let again = c14n::exclusive(&reparsed, None, &[]);
    assert_eq!(canonical, again, "exclusive C14N is not idempotent");
    for e in root.descendants() {
        if e.attr("ID").is_some() {
            let excluded = dsig::signature_of(e).ok().flatten();
            let _ = c14n::exclusive(e, excluded, &inclusive);
        }
    }
}

fuzz_target!(
    init: {
        SERVICE.with(|_| ());
    },
    |data: &[u8]| {
        let doc = apply_saml_directives(data);
        SERVICE.with(|svc| {
            if let Ok(root) = dom::parse(&doc) {
                exercise(&root, svc);
            }
            // As posted: base64 (whitespace allowed), bounded.
            if let Ok(text) = std::str::from_utf8(&doc) {
                match response::decode_posted(text, "SAMLResponse") {
                    Ok(root) => exercise(&root, svc),
                    Err(e) => assert_eq!(e.status(), 400, "{e:?}"),
                }
            }
        });
    }
);
