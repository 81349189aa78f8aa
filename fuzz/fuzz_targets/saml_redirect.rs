//! Covers the HTTP-Redirect binding: raw DEFLATE (`saml::authn_request::inflate`) and `saml::logout::verify_redirect` (query parameters, base64, inflate, XML, the query-string signature, the LogoutRequest checks) with arbitrary query text.
//!
//! Input: the query string on the first line, optionally an XML document
//! after it. In the query, `{request}` stands for that document deflated,
//! base64- and URL-encoded, and `{signed}` for the whole
//! `SAMLRequest=…&RelayState=relay&SigAlg=…&Signature=…` of that document
//! signed by the SAML test IdP at run time (so the checks behind the
//! signature are reached without key material in the corpus). The whole
//! input is also inflated as raw DEFLATE.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tmi_auth_core::http::Params;
use tmi_auth_core::saml::{authn_request, cert, dom, logout, response, test_support as idp, ALG_RSA_SHA256};
use tmi_auth_core::testing::SeqRandom;
use tmi_auth_core::Service;
use tmi_auth_fuzz::{signed_redirect_query, NOW};

thread_local! {
    static SERVICE: Service = tmi_auth_fuzz::service();
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fuzz_target!(
    init: {
        SERVICE.with(|_| ());
    },
    |data: &[u8]| {
        // A DEFLATE bomb must stop at the limit.
        if let Some(out) = authn_request::inflate(data, 100_000) {
            assert!(out.len() <= 100_000);
        }
        let Ok(text) = std::str::from_utf8(data) else { return };
        let (template, xml) = text.split_once('\n').unwrap_or((text, ""));
        let mut query = template.to_string();
        if query.contains("{signed}") {
            // Signing costs milliseconds: only where the signature is
            // looked at (the XML parses and claims the test IdP); elsewhere
            // a dummy signature reaches the same refusal.
            let checked = dom::parse(xml.as_bytes()).is_ok_and(|root| response::claimed_issuer(&root).as_deref() == Some(idp::IDP_ENTITY));
            let signed = if checked { signed_redirect_query(xml, "relay") } else { None };
            let signed = signed.unwrap_or_else(|| {
                let encoded = urlencode(&STANDARD.encode(authn_request::deflate(xml.as_bytes())));
                format!("SAMLRequest={encoded}&RelayState=relay&SigAlg={}&Signature=AAAA", urlencode(ALG_RSA_SHA256))
            });
            query = query.replace("{signed}", &signed);
        }
        if query.contains("{request}") {
            query = query.replace("{request}", &urlencode(&STANDARD.encode(authn_request::deflate(xml.as_bytes()))));
        }
        // As GET /saml/slo reads it.
        let Ok(q) = Params::parse(query.as_bytes()) else { return };
        let Some(encoded) = q.get("SAMLRequest") else { return };
        if let Some(deflated) = cert::base64_to_der(encoded) {
            if let Some(xml) = authn_request::inflate(&deflated, 100_000) {
                let _ = dom::parse(&xml);
            }
        }
        let signature = q.get("SigAlg").zip(q.get("Signature"));
        SERVICE.with(|svc| {
            let providers = &svc.config().saml_providers;
            match logout::verify_redirect(providers, &query, encoded, signature, NOW + 10, &SeqRandom::default()) {
                Ok(verified) => assert!(!verified.providers.is_empty()),
                Err(e) => assert!(e.status() < 500, "{e:?}"),
            }
        });
    }
);
