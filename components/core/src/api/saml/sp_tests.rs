//! The SAML SP rules, against the in-memory world with a fixed clock.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::config::saml::{self as config, DEFAULT_CLOCK_SKEW};
use crate::config::Config;
use crate::domain::client::ClientRequest;
use crate::domain::saml::{RequestIdIndex, SamlRequest};
use crate::domain::CODE_LIFETIME;
use crate::saml::authn_request::{inflate, is_request_id};
use crate::saml::idp_metadata;
use crate::saml::test_support::*;
use crate::store::{self as records, keys};
use crate::values::ConfigError;
use crate::flow_tests::{assert_error, json, service_with, urlencode, CALLBACK, T0};
use crate::http::{Request, Response};
use crate::testing::TestWorld;
use crate::timefmt::rfc3339;
use crate::Service;

fn config_result(providers: &str, drop: &[&str]) -> Result<Config, ConfigError> {
    let mut pairs = saml_pairs(providers);
    pairs.retain(|(k, _)| !drop.contains(&k.as_str()));
    pairs.push(("base_url".into(), "https://auth.example.com".into()));
    Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn config_error(providers: &str, drop: &[&str]) -> String {
    config_result(providers, drop).unwrap_err().to_string()
}

fn get(svc: &Service, w: &TestWorld, target: &str) -> Response {
    svc.handle(&Request::new("GET", target), &w.at(T0))
}

fn login_target(extra: &str) -> String {
    format!("/saml/corp-idp/login?client_callback={}{extra}", urlencode(CALLBACK))
}

fn query(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn authn_request_of(location: &str) -> String {
    let q = query(location);
    let deflated = STANDARD.decode(param(&q, "SAMLRequest").unwrap()).unwrap();
    String::from_utf8(inflate(&deflated, 1 << 20).unwrap()).unwrap()
}

fn well_formed(xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    while reader.read_event().unwrap() != quick_xml::events::Event::Eof {}
}

// --- configuration ---

#[test]
fn provider_defaults() {
    let c = config_result(&provider_json(""), &[]).unwrap();
    let p = &c.saml_providers[0];
    assert_eq!(p.sp_entity_id, "https://auth.example.com/saml/corp-idp/metadata");
    assert_eq!(p.acs_url, "https://auth.example.com/saml/acs");
    assert_eq!(p.slo_url, "https://auth.example.com/saml/slo");
    assert_eq!(p.clock_skew, DEFAULT_CLOCK_SKEW);
    assert!(p.enabled && !p.allow_idp_initiated && !p.sign_authn_requests && !p.allow_sha1);
    assert_eq!(p.attributes.email, config::WELL_KNOWN_EMAIL);
    assert_eq!(p.attributes.name, config::WELL_KNOWN_NAME);
    assert_eq!(p.attributes.groups, config::WELL_KNOWN_GROUPS);
    assert_eq!(p.name_id_format, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified");
    assert_eq!(p.idp.entity_id, IDP_ENTITY);
    assert_eq!(p.idp.sso_redirect, IDP_SSO);
    assert!(!format!("{c:?}").contains("PRIVATE KEY"));
}

#[test]
fn provider_overrides() {
    let c = config_result(
        &provider_json(
            r#", "sp_entity_id": "urn:tmi:sp", "acs_url": "https://sp.example.com/acs", "slo_url": "https://sp.example.com/slo",
               "allow_idp_initiated": true, "sign_authn_requests": true, "clock_skew": 60, "allow_sha1": true, "enabled": false,
               "attributes": {"email": "urn:mail", "groups": ["roles", "groups"]}, "name_id_format": "emailAddress", "icon": "x""#,
        ),
        &[],
    )
    .unwrap();
    let p = &c.saml_providers[0];
    assert_eq!((p.sp_entity_id.as_str(), p.acs_url.as_str(), p.slo_url.as_str()), ("urn:tmi:sp", "https://sp.example.com/acs", "https://sp.example.com/slo"));
    assert!(p.allow_idp_initiated && p.sign_authn_requests && p.allow_sha1 && !p.enabled);
    assert_eq!(p.clock_skew, 60);
    assert_eq!(p.attributes.email[0], "urn:mail");
    assert_eq!(p.attributes.email.len(), 4);
    assert_eq!(p.attributes.groups, vec!["roles", "groups", "memberOf"]);
    assert_eq!(p.name_id_format, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
}

#[test]
fn secret_names_follow_the_id() {
    assert_eq!(config::secret_names(r#"[{"id": "corp-idp"}, {"id": "1bad"}]"#), vec!["saml_corp_idp_sp_key", "saml_corp_idp_sp_cert"]);
    assert!(config::secret_names("not json").is_empty());
}

#[test]
fn missing_or_mismatched_sp_secrets_are_refused() {
    assert!(config_error(&provider_json(""), &["saml_corp_idp_sp_key"]).contains("saml_corp_idp_sp_key"));
    assert!(config_error(&provider_json(""), &["saml_corp_idp_sp_cert"]).contains("saml_corp_idp_sp_cert"));
    let mut pairs = saml_pairs(&provider_json(""));
    pairs[2].1 = cert_pem(&fake_cert(&RsaPublicKey::from(other_key())));
    pairs.push(("base_url".into(), "https://auth.example.com".into()));
    let e = Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap_err();
    assert!(e.reason.contains("does not hold the SP key"), "{e}");
    pairs[1].1 = "not a key".into();
    assert!(Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).is_err());
}

#[test]
fn malformed_provider_entries_are_refused() {
    assert!(config_error(r#"{"id": "x"}"#, &[]).contains("JSON array"));
    assert!(config_error(r#"[{"id": "corp-idp", "name": "x"}]"#, &[]).contains("idp_metadata is required"));
    assert!(config_error(&provider_json(r#", "bogus": 1"#), &[]).contains("bogus"));
    assert!(config_error(&provider_json(r#", "clock_skew": 99999"#), &[]).contains("clock_skew"));
    assert!(config_error(&provider_json(r#", "acs_url": "javascript:x""#), &[]).contains("acs_url"));
    assert!(config_error(&provider_json(r#", "name_id_format": "x""#), &[]).contains("name_id_format"));
    let twice = provider_json("").replacen('[', "", 1).trim_end_matches(']').to_string();
    assert!(config_error(&format!("[{twice}, {twice}]"), &[]).contains("twice"));
    assert!(config_error(&provider_json("").replace("corp-idp", "test"), &[]).contains("reserved"));
}

#[test]
fn doctype_in_idp_metadata_is_refused_at_configuration() {
    let bad = provider_json("").replacen("<?xml version=\\\"1.0\\\"?>", "<!DOCTYPE x [<!ENTITY e \\\"boom\\\">]>", 1);
    assert!(bad.contains("DOCTYPE"));
    assert!(config_error(&bad, &[]).contains("DOCTYPE"), "{}", config_error(&bad, &[]));
}

// --- IdP metadata ---

#[test]
fn idp_metadata_is_read_by_namespace() {
    let m = idp_metadata::parse(&idp_metadata()).unwrap();
    assert_eq!(m.entity_id, IDP_ENTITY);
    assert_eq!(m.sso_redirect, IDP_SSO);
    assert_eq!(m.sso_post.as_deref(), Some("https://idp.example.org/sso-post"));
    assert_eq!(m.slo_endpoint(crate::saml::BINDING_REDIRECT).unwrap().location, "https://idp.example.org/slo");
    assert_eq!(m.signing_certs, vec![fake_cert(&RsaPublicKey::from(other_key()))]);
    assert!(m.want_authn_requests_signed);
    // Other prefixes, default namespaces: the same document.
    let renamed = idp_metadata()
        .replace("md:", "")
        .replace("xmlns:md=", "xmlns=")
        .replace("ds:", "sig:")
        .replace("xmlns:ds=", "xmlns:sig=");
    assert_eq!(idp_metadata::parse(&renamed).unwrap(), m);
}

#[test]
fn idp_metadata_key_use_decides_signing() {
    let enc = idp_metadata().replace("use=\"signing\"", "use=\"encryption\"");
    assert!(idp_metadata::parse(&enc).unwrap_err().contains("signing certificate"));
    let unspecified = idp_metadata().replace(" use=\"signing\"", "");
    assert_eq!(idp_metadata::parse(&unspecified).unwrap().signing_certs.len(), 1);
}

#[test]
fn idp_metadata_refusals() {
    let doc = idp_metadata();
    let cases = [
        (doc.replacen("<?xml version=\"1.0\"?>", "<!DOCTYPE md:EntityDescriptor SYSTEM \"http://evil/x.dtd\">", 1), "DOCTYPE"),
        (doc.replacen(IDP_ENTITY, "&xxe;", 1), "malformed"),
        (doc.replace("HTTP-Redirect\" Location=\"https://idp.example.org/sso\"", "SOAP\" Location=\"https://idp.example.org/sso\""), "HTTP-Redirect"),
        (doc.replace("IDPSSODescriptor", "SPSSODescriptor"), "IDPSSODescriptor"),
        (doc.replace("urn:oasis:names:tc:SAML:2.0:metadata", "urn:other"), "root element"),
        (doc.replace(&format!("entityID=\"{IDP_ENTITY}\""), ""), "entityID"),
        (doc.replace(IDP_SSO, "ftp://idp.example.org/sso"), "http(s)"),
        (doc.replace("</md:EntityDescriptor>", ""), "XML"),
        (format!("{doc}<extra/>"), "after the root"),
        (doc.replace("<ds:X509Certificate>", "<ds:X509Certificate>!!"), "base64"),
        ("x".repeat(idp_metadata::MAX_SIZE + 1), "larger"),
    ];
    for (xml, expected) in cases {
        let e = idp_metadata::parse(&xml).unwrap_err();
        assert!(e.contains(expected), "{expected}: {e}");
    }
}

// --- GET /saml/providers and metadata ---

#[test]
fn providers_lists_enabled_providers_with_absolute_urls() {
    let (svc, w) = (service(r#", "icon": "fa-solid fa-lock""#), TestWorld::default());
    let r = get(&svc, &w, "/saml/providers");
    assert_eq!(r.status, 200);
    let body = json(&r);
    let p = &body["providers"][0];
    assert_eq!(p["id"], "corp-idp");
    assert_eq!(p["name"], "Corp IdP");
    assert_eq!(p["icon"], "fa-solid fa-lock");
    assert_eq!(p["auth_url"], "https://auth.example.com/saml/corp-idp/login");
    assert_eq!(p["metadata_url"], "https://auth.example.com/saml/corp-idp/metadata");
    assert_eq!(p["entity_id"], "https://auth.example.com/saml/corp-idp/metadata");
    assert_eq!(p["acs_url"], "https://auth.example.com/saml/acs");
    assert_eq!(p["slo_url"], "https://auth.example.com/saml/slo");
    let disabled = service(r#", "enabled": false"#);
    assert_eq!(json(&get(&disabled, &w, "/saml/providers"))["providers"], serde_json::json!([]));
    let none = service_with(&[]);
    assert_eq!(json(&get(&none, &w, "/saml/providers"))["providers"], serde_json::json!([]));
}

#[test]
fn metadata_is_a_complete_sp_entity_descriptor() {
    let (svc, w) = (service(r#", "sp_entity_id": "urn:tmi:a&b", "sign_authn_requests": true"#), TestWorld::default());
    let r = get(&svc, &w, "/saml/corp-idp/metadata");
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("content-type"), Some("application/samlmetadata+xml"));
    let xml = String::from_utf8(r.body).unwrap();
    well_formed(&xml);
    let cert = STANDARD.encode(fake_cert(&RsaPublicKey::from(sp_key())));
    for needle in [
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"",
        "entityID=\"urn:tmi:a&amp;b\"",
        "AuthnRequestsSigned=\"true\"",
        &format!("<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate>"),
        &format!("<md:KeyDescriptor use=\"encryption\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate>"),
        "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://auth.example.com/saml/slo\"/>",
        "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://auth.example.com/saml/slo\"/>",
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>",
        "<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://auth.example.com/saml/acs\" index=\"0\" isDefault=\"true\"/>",
    ] {
        assert!(xml.contains(needle), "{needle}\n{xml}");
    }
}

#[test]
fn unknown_or_disabled_providers_are_404() {
    let w = TestWorld::default();
    let svc = service("");
    assert_error(&get(&svc, &w, "/saml/nope/metadata"), 404, "not_found");
    assert_error(&get(&svc, &w, &login_target("").replace("corp-idp", "nope")), 404, "not_found");
    assert_error(&get(&svc, &w, "/saml/corp-idp/x/metadata"), 404, "not_found");
    let disabled = service(r#", "enabled": false"#);
    assert_error(&get(&disabled, &w, "/saml/corp-idp/metadata"), 404, "not_found");
    assert_error(&get(&disabled, &w, &login_target("")), 404, "not_found");
    let post = svc.handle(&Request::new("POST", "/saml/corp-idp/metadata"), &w.at(T0));
    assert_error(&post, 405, "method_not_allowed");
}

// --- GET /saml/{provider}/login ---

#[test]
fn login_redirects_with_a_deflated_authn_request_and_stores_it() {
    let (svc, w) = (service(""), TestWorld::default());
    let r = get(&svc, &w, &login_target("&state=client-state"));
    assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
    let location = r.header_value("location").unwrap();
    assert!(location.starts_with(&format!("{IDP_SSO}?SAMLRequest=")), "{location}");
    let q = query(location);
    assert_eq!(param(&q, "SigAlg"), None);
    assert_eq!(param(&q, "Signature"), None);
    let relay_state = param(&q, "RelayState").unwrap();
    assert_eq!(relay_state.len(), 43);

    let xml = authn_request_of(location);
    well_formed(&xml);
    let id = xml.split("ID=\"").nth(1).unwrap().split('"').next().unwrap();
    assert!(is_request_id(id), "{id}");
    for needle in [
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
        "Version=\"2.0\"",
        &format!("IssueInstant=\"{}\"", rfc3339(T0)),
        &format!("Destination=\"{IDP_SSO}\""),
        "AssertionConsumerServiceURL=\"https://auth.example.com/saml/acs\"",
        "ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"",
        "<saml:Issuer>https://auth.example.com/saml/corp-idp/metadata</saml:Issuer>",
        "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\" AllowCreate=\"true\"/>",
    ] {
        assert!(xml.contains(needle), "{needle}\n{xml}");
    }

    let stored = records::read::<SamlRequest>(&w.store, &keys::saml_request(relay_state), T0).unwrap().unwrap();
    assert_eq!(stored.expires_at, T0 + CODE_LIFETIME);
    assert_eq!(
        stored.value,
        SamlRequest {
            provider: "corp-idp".into(),
            request_id: id.into(),
            client: ClientRequest { callback: CALLBACK.into(), state: Some("client-state".into()), code_challenge: None },
            issued_at: T0,
            used: false,
        }
    );
    let index = records::read::<RequestIdIndex>(&w.store, &keys::saml_request_id(id), T0).unwrap().unwrap();
    assert_eq!(index.value.relay_state, relay_state);
    // Ten minutes, then gone.
    assert!(records::read::<SamlRequest>(&w.store, &keys::saml_request(relay_state), T0 + CODE_LIFETIME).unwrap().is_none());
    assert!(records::read::<RequestIdIndex>(&w.store, &keys::saml_request_id(id), T0 + CODE_LIFETIME).unwrap().is_none());
}

#[test]
fn each_login_has_its_own_request_id_and_relay_state() {
    let (svc, w) = (service(""), TestWorld::default());
    let a = query(get(&svc, &w, &login_target("")).header_value("location").unwrap());
    let b = query(get(&svc, &w, &login_target("")).header_value("location").unwrap());
    assert_ne!(param(&a, "RelayState"), param(&b, "RelayState"));
    assert_ne!(param(&a, "SAMLRequest"), param(&b, "SAMLRequest"));
}

#[test]
fn signed_login_carries_a_query_string_signature() {
    let (svc, w) = (service(r#", "sign_authn_requests": true"#), TestWorld::default());
    let r = get(&svc, &w, &login_target(""));
    let location = r.header_value("location").unwrap();
    let raw_query = location.split_once('?').unwrap().1;
    let (signed, signature) = raw_query.split_once("&Signature=").unwrap();
    assert!(signed.starts_with("SAMLRequest="));
    assert!(signed.contains("&RelayState="));
    assert!(signed.ends_with("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"), "{signed}");
    let signature: String = url::form_urlencoded::parse(format!("s={signature}").as_bytes()).next().unwrap().1.into_owned();
    let signature = STANDARD.decode(signature).unwrap();
    let public = RsaPublicKey::from(sp_key());
    public.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(signed.as_bytes()), &signature).unwrap();
    let tampered = signed.replacen("RelayState=", "RelayState=x", 1);
    assert!(public.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(tampered.as_bytes()), &signature).is_err());
}

#[test]
fn login_needs_an_allowed_client_callback() {
    let (svc, w) = (service(""), TestWorld::default());
    assert_error(&get(&svc, &w, "/saml/corp-idp/login"), 400, "invalid_request");
    assert_error(&get(&svc, &w, "/saml/corp-idp/login?client_callback=https%3A%2F%2Fevil.example%2Fcb"), 400, "invalid_request");
    assert_error(&get(&svc, &w, &login_target("&state=bad%20state")), 400, "invalid_request");
    assert!(w.store.map.lock().unwrap().keys().all(|k| !k.starts_with("saml-request")));
}

#[test]
fn login_code_challenge_extension() {
    let (svc, w) = (service(""), TestWorld::default());
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let r = get(&svc, &w, &login_target(&format!("&code_challenge={challenge}&code_challenge_method=S256")));
    assert_eq!(r.status, 302);
    let q = query(r.header_value("location").unwrap());
    let stored = records::read::<SamlRequest>(&w.store, &keys::saml_request(param(&q, "RelayState").unwrap()), T0).unwrap().unwrap();
    assert_eq!(stored.value.client.code_challenge.as_deref(), Some(challenge));
    assert_error(&get(&svc, &w, &login_target(&format!("&code_challenge={challenge}&code_challenge_method=plain"))), 400, "invalid_request");
    assert_error(&get(&svc, &w, &login_target(&format!("&code_challenge={challenge}"))), 400, "invalid_request");
    assert_error(&get(&svc, &w, &login_target("&code_challenge_method=S256")), 400, "invalid_request");
    assert_error(&get(&svc, &w, &login_target("&code_challenge=short&code_challenge_method=S256")), 400, "invalid_request");
}

#[test]
fn sso_url_with_a_query_keeps_it() {
    let metadata = serde_json::to_string(&idp_metadata().replace(IDP_SSO, "https://idp.example.org/sso?tenant=a&amp;x=1")).unwrap();
    let providers = format!(r#"[{{"id": "corp-idp", "idp_metadata": {metadata}}}]"#);
    let pairs = saml_pairs(&providers);
    let all: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (svc, w) = (service_with(&all), TestWorld::default());
    let location = get(&svc, &w, &login_target("")).header_value("location").unwrap().to_string();
    assert!(location.starts_with("https://idp.example.org/sso?tenant=a&x=1&SAMLRequest="), "{location}");
    assert!(authn_request_of(&location).contains("Destination=\"https://idp.example.org/sso?tenant=a&amp;x=1\""));
}

#[test]
fn login_is_rate_limited_per_ip() {
    let (svc, w) = (service_and("", &[("rate_limit_ip", "2/60")]), TestWorld::default());
    let req = || Request::new("GET", &login_target("")).with_header("x-tmi-client-ip", "10.0.0.1");
    assert_eq!(svc.handle(&req(), &w.at(T0)).status, 302);
    assert_eq!(svc.handle(&req(), &w.at(T0)).status, 302);
    assert_error(&svc.handle(&req(), &w.at(T0)), 429, "rate_limit_exceeded");
    // Metadata and the provider list are not flow endpoints.
    assert_eq!(svc.handle(&Request::new("GET", "/saml/corp-idp/metadata").with_header("x-tmi-client-ip", "10.0.0.1"), &w.at(T0)).status, 200);
}

#[test]
fn store_outage_is_503() {
    let (svc, w) = (service(""), TestWorld::default());
    w.store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_error(&get(&svc, &w, &login_target("")), 503, "temporarily_unavailable");
}
