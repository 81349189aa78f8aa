//! The ACS and single logout, through the service, against the in-memory
//! world with a fixed clock. Responses are signed by the test IdP key
//! (`other_key`) with the test signer; the end-to-end suite repeats the
//! important cases with a real XML-DSig library.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::{AuthError, DsigRule, SamlRule};
use crate::flow_tests::{assert_error, get_with_token, json, redeem, urlencode, CALLBACK, T0};
use crate::http::{Request, Response};
use crate::saml::authn_request::{inflate, redirect_url};
use crate::saml::test_support::*;
use crate::saml::{dom, response};
use crate::testing::TestWorld;
use crate::Service;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Start a login; returns the AuthnRequest ID and the RelayState.
fn start_login(svc: &Service, w: &TestWorld, extra: &str) -> (String, String) {
    let target = format!("/saml/corp-idp/login?client_callback={}{extra}", urlencode(CALLBACK));
    let r = svc.handle(&Request::new("GET", &target), &w.at(T0));
    assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
    let url = url::Url::parse(r.header_value("location").unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let xml = String::from_utf8(inflate(&STANDARD.decode(&q["SAMLRequest"]).unwrap(), 1 << 20).unwrap()).unwrap();
    let doc = dom::parse(xml.as_bytes()).unwrap();
    (doc.attr("ID").unwrap().to_string(), q["RelayState"].clone())
}

fn post_form(svc: &Service, w: &TestWorld, path: &str, body: String, now: u64) -> Response {
    let req = Request::new("POST", path).with_header("content-type", "application/x-www-form-urlencoded").with_body(body);
    svc.handle(&req, &w.at(now))
}

fn acs_request(xml: &str, relay_state: Option<&str>) -> Request {
    let mut body = format!("SAMLResponse={}", urlencode(&STANDARD.encode(xml)));
    if let Some(rs) = relay_state {
        body.push_str(&format!("&RelayState={}", urlencode(rs)));
    }
    Request::new("POST", "/saml/acs").with_header("content-type", "application/x-www-form-urlencoded").with_body(body)
}

fn post_acs(svc: &Service, w: &TestWorld, xml: &str, relay_state: Option<&str>) -> Response {
    svc.handle(&acs_request(xml, relay_state), &w.at(T0 + 5))
}

/// The SAML rule that refused the Response (a 401 without tokens).
fn acs_refusal(svc: &Service, w: &TestWorld, xml: &str, relay_state: Option<&str>) -> SamlRule {
    let (r, refusal) = svc.handle_with_refusal(&acs_request(xml, relay_state), &w.at(T0 + 5));
    assert_error(&r, 401, "access_denied");
    assert!(r.header_value("location").is_none());
    match refusal {
        Some(AuthError::AccessDenied(rule)) => rule,
        other => panic!("{other:?}"),
    }
}

/// The fragment parameters of a 302 to the client callback.
fn fragment(r: &Response) -> std::collections::HashMap<String, String> {
    assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
    let location = r.header_value("location").unwrap();
    let (base, fragment) = location.split_once('#').expect("tokens in the fragment");
    assert_eq!(base, CALLBACK);
    url::form_urlencoded::parse(fragment.as_bytes()).into_owned().collect()
}

/// A full SP-initiated login; returns the fragment.
fn logged_in(svc: &Service, w: &TestWorld, name_id: &str) -> std::collections::HashMap<String, String> {
    let (id, rs) = start_login(svc, w, "");
    let mut spec = ResponseSpec::new(Some(&id), T0);
    spec.name_id = name_id.into();
    spec.assertion_id = format!("_a-{name_id}-{id}");
    fragment(&post_acs(svc, w, &spec.signed(), Some(&rs)))
}

#[test]
fn sp_initiated_login_delivers_tokens_in_the_fragment() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "&state=client-state");
    let r = post_acs(&svc, &w, &ResponseSpec::new(Some(&id), T0).signed(), Some(&rs));
    let f = fragment(&r);
    assert_eq!(f["token_type"], "Bearer");
    assert_eq!(f["state"], "client-state");
    assert!(!f["refresh_token"].is_empty());
    let me = get_with_token(&svc, &w, "/oauth2/userinfo", &f["access_token"], T0 + 6);
    assert_eq!(me.status, 200);
    let me = json(&me);
    assert_eq!(me["email"], "alice@corp.example");
    assert_eq!(me["name"], "Alice Corp");
    assert_eq!(me["sub"], "alice@corp.example");
    let groups = json(&get_with_token(&svc, &w, "/oauth2/providers/corp-idp/groups", &f["access_token"], T0 + 6));
    assert_eq!(groups["groups"], serde_json::json!([{"name": "engineering"}, {"name": "security"}]));
}

#[test]
fn a_code_challenge_gets_a_one_time_code_instead() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, &format!("&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256"));
    let r = post_acs(&svc, &w, &ResponseSpec::new(Some(&id), T0).signed(), Some(&rs));
    assert_eq!(r.status, 302);
    let location = url::Url::parse(r.header_value("location").unwrap()).unwrap();
    assert!(location.fragment().is_none());
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let tokens = redeem(&svc, &w, &code, T0 + 6);
    assert_eq!(tokens.status, 200, "{}", String::from_utf8_lossy(&tokens.body));
    assert_error(&redeem(&svc, &w, &code, T0 + 7), 400, "invalid_grant");
}

#[test]
fn subject_id_attribute_wins_over_the_name_id() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let mut spec = ResponseSpec::new(Some(&id), T0);
    spec.attributes.push(("urn:oasis:names:tc:SAML:attribute:subject-id".into(), vec!["u-123@corp.example".into()]));
    let f = fragment(&post_acs(&svc, &w, &spec.signed(), Some(&rs)));
    assert_eq!(json(&get_with_token(&svc, &w, "/oauth2/userinfo", &f["access_token"], T0 + 6))["sub"], "u-123@corp.example");
}

/// Each spoilt field must be refused with 401 and no tokens.
#[test]
fn every_check_refuses_a_spoilt_response() {
    type Spoil = fn(&mut ResponseSpec);
    let cases: [(Spoil, SamlRule); 10] = [
        (|s| s.audience = "https://other-sp.example".into(), SamlRule::AudienceMismatch),
        (|s| s.recipient = "https://evil.example/acs".into(), SamlRule::RecipientMismatch),
        (|s| s.destination = "https://evil.example/acs".into(), SamlRule::DestinationMismatch),
        (|s| s.issuer = "https://evil-idp.example".into(), SamlRule::IssuerMismatch),
        (|s| s.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into(), SamlRule::StatusNotSuccess),
        (|s| s.not_on_or_after = T0 - 200, SamlRule::Expired),
        (|s| s.not_before = T0 + 200, SamlRule::NotYetValid),
        (|s| s.issued = T0 + 400, SamlRule::IssueInstantOutsideWindow),
        (|s| s.in_response_to = Some("_0123456789abcdef0123456789abcdef".into()), SamlRule::UnknownRequest),
        (|s| s.in_response_to = None, SamlRule::UnsolicitedRefused),
    ];
    for (spoil, rule) in cases {
        let (svc, w) = (service(""), TestWorld::default());
        let (id, rs) = start_login(&svc, &w, "");
        let mut spec = ResponseSpec::new(Some(&id), T0);
        spoil(&mut spec);
        assert_eq!(acs_refusal(&svc, &w, &spec.signed(), Some(&rs)), rule);
        // The request was not used up by the failure: the genuine answer still works.
        fragment(&post_acs(&svc, &w, &ResponseSpec::new(Some(&id), T0).signed(), Some(&rs)));
    }
}

#[test]
fn in_response_to_may_be_only_in_the_signed_assertion() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let xml = spec.signed().replacen(&format!(r#" InResponseTo="{id}">"#), ">", 1);
    assert_eq!(xml.matches("InResponseTo").count(), 1, "only the SubjectConfirmationData's is left");
    fragment(&post_acs(&svc, &w, &xml, Some(&rs)));
}

#[test]
fn the_clock_skew_is_allowed_both_ways() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let mut spec = ResponseSpec::new(Some(&id), T0);
    spec.not_on_or_after = T0 - 60;
    spec.not_before = T0 + 60;
    fragment(&post_acs(&svc, &w, &spec.signed(), Some(&rs)));
}

#[test]
fn unsigned_foreign_and_altered_responses_are_refused() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let unsigned = spec.response_with(&spec.assertion());
    let foreign = spec.response_with(&sign(&spec.assertion(), &spec.assertion_id, sp_key()));
    let altered = spec.signed().replace("alice@corp.example</saml:NameID>", "admin@corp.example</saml:NameID>");
    let cases = [
        (unsigned, SamlRule::Unsigned),
        (foreign, SamlRule::Signature(DsigRule::SignatureInvalid)),
        (altered, SamlRule::Signature(DsigRule::DigestMismatch)),
    ];
    for (xml, rule) in cases {
        assert_eq!(acs_refusal(&svc, &w, &xml, Some(&rs)), rule);
    }
}

#[test]
fn signature_wrapping_finds_nothing_to_wrap() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let good = ResponseSpec::new(Some(&id), T0);
    let signed = sign(&good.assertion(), &good.assertion_id, other_key());
    let mut evil = good.clone();
    evil.name_id = "admin@evil.example".into();
    evil.attributes = vec![("mail".into(), vec!["admin@evil.example".into()])];
    let evil_same_id = evil.assertion();
    evil.assertion_id = "_evil".into();
    let evil_other_id = evil.assertion();
    let cases = [
        // A second assertion next to the signed one, before and after it.
        good.response_with(&format!("{evil_other_id}{signed}")),
        good.response_with(&format!("{signed}{evil_other_id}")),
        // The evil assertion carries the signed one's ID; the genuine one hides in Extensions.
        good.response_with(&format!("<samlp:Extensions>{signed}</samlp:Extensions>{evil_same_id}")),
        // The signed assertion is wrapped inside the evil one.
        good.response_with(&evil_other_id.replace("</saml:Issuer>", &format!("</saml:Issuer>{signed}"))),
        // The evil assertion, with the genuine signature moved into it.
        good.response_with(&{
            let sig_start = signed.find("<ds:Signature").unwrap();
            let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            evil_same_id.replace("</saml:Issuer>", &format!("</saml:Issuer>{}", &signed[sig_start..sig_end]))
        }),
    ];
    for (i, xml) in cases.iter().enumerate() {
        let rule = acs_refusal(&svc, &w, xml, Some(&rs));
        assert!(matches!(rule, SamlRule::AssertionCount | SamlRule::DuplicateIds | SamlRule::Signature(_)), "case {i}: {rule:?}");
    }
    // Each defence alone: two assertions are refused by count, whatever their IDs.
    assert_eq!(acs_refusal(&svc, &w, &cases[0], Some(&rs)), SamlRule::AssertionCount);
    assert_eq!(acs_refusal(&svc, &w, &cases[2], Some(&rs)), SamlRule::DuplicateIds);
}

#[test]
fn a_comment_in_the_name_id_cannot_truncate_it() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let mut spec = ResponseSpec::new(Some(&id), T0);
    spec.name_id = "user@evil.com.good.com".into();
    spec.attributes = vec![("mail".into(), vec!["user@evil.com.good.com".into()])];
    let xml = spec.signed().replacen("user@evil.com.good.com", "user@evil.com<!---->.good.com", 2);
    let f = fragment(&post_acs(&svc, &w, &xml, Some(&rs)));
    let me = json(&get_with_token(&svc, &w, "/oauth2/userinfo", &f["access_token"], T0 + 6));
    assert_eq!(me["sub"], "user@evil.com.good.com");
    assert_eq!(me["email"], "user@evil.com.good.com");
}

#[test]
fn replays_are_refused() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let xml = ResponseSpec::new(Some(&id), T0).signed();
    fragment(&post_acs(&svc, &w, &xml, Some(&rs)));
    assert_eq!(acs_refusal(&svc, &w, &xml, Some(&rs)), SamlRule::RequestAnswered);
    // The same assertion answering a new request.
    let (id2, rs2) = start_login(&svc, &w, "");
    let mut again = ResponseSpec::new(Some(&id2), T0);
    again.assertion_id = ResponseSpec::new(Some(&id), T0).assertion_id;
    assert_eq!(acs_refusal(&svc, &w, &again.signed(), Some(&rs2)), SamlRule::AssertionReplayed);
}

#[test]
fn a_signed_response_with_an_unsigned_assertion_is_accepted() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let xml = sign(&spec.response_with(&spec.assertion()), &format!("_r{}", spec.assertion_id), other_key());
    fragment(&post_acs(&svc, &w, &xml, Some(&rs)));
}

#[test]
fn malformed_input_is_a_400() {
    let (svc, w) = (service(""), TestWorld::default());
    let bodies = [
        "SAMLResponse=%%%".to_string(),
        "SAMLResponse=bm90IHhtbA".to_string(),
        format!("SAMLResponse={}", "A".repeat(100_004)),
        format!("SAMLResponse={}", urlencode(&STANDARD.encode(r#"<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><r>&b;</r>"#))),
        "RelayState=x".to_string(),
    ];
    for body in bodies {
        assert_error(&post_form(&svc, &w, "/saml/acs", body, T0), 400, "invalid_request");
    }
    let json_body = Request::new("POST", "/saml/acs").with_header("content-type", "application/json").with_body("{}");
    assert_error(&svc.handle(&json_body, &w.at(T0)), 400, "invalid_request");
}

#[test]
fn unsolicited_responses_only_where_allowed() {
    let spec = ResponseSpec::new(None, T0);
    let (svc, w) = (service(""), TestWorld::default());
    assert_error(&post_acs(&svc, &w, &spec.signed(), None), 401, "access_denied");

    let (svc, w) = (service(r#", "allow_idp_initiated": true"#), TestWorld::default());
    let r = post_acs(&svc, &w, &spec.signed(), None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(json(&r)["token_type"], "Bearer");
    // Replaying it fails; a callback RelayState gets the fragment.
    assert_error(&post_acs(&svc, &w, &spec.signed(), None), 401, "access_denied");
    let mut second = spec.clone();
    second.assertion_id = "_second".into();
    fragment(&post_acs(&svc, &w, &second.signed(), Some(CALLBACK)));
    second.assertion_id = "_third".into();
    assert_error(&post_acs(&svc, &w, &second.signed(), Some("https://evil.example/cb")), 400, "invalid_request");
}

#[test]
fn an_unsolicited_encrypted_assertion_is_matched_by_issuer_and_its_audience_checked_after_decryption() {
    // SAML Profiles §4.1.4.2: the Audience may be inside the ciphertext.
    let (svc, w) = (service(r#", "allow_idp_initiated": true"#), TestWorld::default());
    let spec = ResponseSpec::new(None, T0);
    let encrypted = encrypt_for(&sign(&spec.assertion(), &spec.assertion_id, other_key()), "EncryptedAssertion", sp_key());
    let r = post_acs(&svc, &w, &spec.response_with(&encrypted), None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // For another SP: refused once decrypted.
    let mut other = ResponseSpec::new(None, T0);
    other.assertion_id = "_other-sp".into();
    other.audience = "https://other-sp.example".into();
    let encrypted = encrypt_for(&sign(&other.assertion(), &other.assertion_id, other_key()), "EncryptedAssertion", sp_key());
    assert_eq!(acs_refusal(&svc, &w, &other.response_with(&encrypted), None), SamlRule::AudienceMismatch);
}

#[test]
fn an_assertion_in_extensions_is_refused_even_next_to_a_signed_one() {
    // SAML Core §3.2.1: no SAML-namespace element in Extensions.
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let mut stray = spec.clone();
    stray.assertion_id = "_stray".into();
    let signed = sign(&spec.assertion(), &spec.assertion_id, other_key());
    let xml = spec.response_with(&format!("<samlp:Extensions>{}</samlp:Extensions>{signed}", stray.assertion()));
    assert_eq!(acs_refusal(&svc, &w, &xml, Some(&rs)), SamlRule::AssertionCount);
    // The same Response without the stray assertion is accepted.
    fragment(&post_acs(&svc, &w, &spec.response_with(&signed), Some(&rs)));
}

#[test]
fn an_unsupported_encryption_algorithm_is_named() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let encrypted = encrypt_for(&sign(&spec.assertion(), &spec.assertion_id, other_key()), "EncryptedAssertion", sp_key())
        .replace("http://www.w3.org/2009/xmlenc11#aes256-gcm", "http://www.w3.org/2001/04/xmlenc#tripledes-cbc");
    assert!(encrypted.contains("tripledes-cbc"));
    let rule = acs_refusal(&svc, &w, &spec.response_with(&encrypted), Some(&rs));
    assert_eq!(rule, SamlRule::UnsupportedEncryption(crate::error::EncryptionAlgorithm::Content));
    let r = post_acs(&svc, &w, &spec.response_with(&encrypted), Some(&rs));
    assert!(json(&r)["error_description"].as_str().unwrap().contains("AES-CBC or AES-GCM"));
}

#[test]
fn encrypted_assertions_are_decrypted_with_the_sp_key() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let signed = sign(&spec.assertion(), &spec.assertion_id, other_key());
    let for_someone_else = spec.response_with(&encrypt_for(&signed, "EncryptedAssertion", other_key()));
    assert_error(&post_acs(&svc, &w, &for_someone_else, Some(&rs)), 401, "access_denied");
    fragment(&post_acs(&svc, &w, &spec.response_with(&encrypt_for(&signed, "EncryptedAssertion", sp_key())), Some(&rs)));
}

#[test]
fn failures_inside_an_unsigned_response_s_encrypted_assertion_all_read_the_same() {
    // No decryption oracle: whether the ciphertext decrypted, parsed, or
    // held an unsigned assertion, the reply is one and the same.
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let replies: Vec<serde_json::Value> = [
        encrypt_for(&spec.assertion(), "EncryptedAssertion", sp_key()),
        encrypt_for("not XML at all", "EncryptedAssertion", sp_key()),
        encrypt_for("<saml:Issuer>x</saml:Issuer>", "EncryptedAssertion", sp_key()),
        encrypt_for(&spec.assertion(), "EncryptedAssertion", other_key()),
    ]
    .iter()
    .map(|encrypted| {
        let r = post_acs(&svc, &w, &spec.response_with(encrypted), Some(&rs));
        assert_eq!(r.status, 401);
        json(&r)
    })
    .collect();
    assert!(replies.windows(2).all(|pair| pair[0] == pair[1]), "{replies:?}");
}

#[test]
fn an_encrypted_name_id_is_decrypted_with_the_sp_key() {
    let (svc, w) = (service(""), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let spec = ResponseSpec::new(Some(&id), T0);
    let name_id = r#"<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@corp.example</saml:NameID>"#;
    let assertion = spec.assertion().replace(name_id, &encrypt_for(name_id, "EncryptedID", sp_key()));
    assert!(assertion.contains("EncryptedID"));
    let f = fragment(&post_acs(&svc, &w, &spec.response_with(&sign(&assertion, &spec.assertion_id, other_key())), Some(&rs)));
    assert_eq!(json(&get_with_token(&svc, &w, "/oauth2/userinfo", &f["access_token"], T0 + 6))["sub"], "alice@corp.example");
}

#[test]
fn attempts_per_relay_state_are_rate_limited() {
    let (svc, w) = (service_and("", &[("rate_limit_session", "2/60")]), TestWorld::default());
    let (id, rs) = start_login(&svc, &w, "");
    let mut spoilt = ResponseSpec::new(Some(&id), T0);
    spoilt.audience = "https://other-sp.example".into();
    assert_error(&post_acs(&svc, &w, &spoilt.signed(), Some(&rs)), 401, "access_denied");
    assert_error(&post_acs(&svc, &w, &spoilt.signed(), Some(&rs)), 401, "access_denied");
    assert_error(&post_acs(&svc, &w, &ResponseSpec::new(Some(&id), T0).signed(), Some(&rs)), 429, "rate_limit_exceeded");
}

// --- single logout ---

fn refresh(svc: &Service, w: &TestWorld, token: &str) -> Response {
    let req = Request::new("POST", "/oauth2/refresh")
        .with_header("content-type", "application/json")
        .with_body(serde_json::to_vec(&serde_json::json!({ "refresh_token": token })).unwrap());
    svc.handle(&req, &w.at(T0 + 20))
}

fn slo_get(svc: &Service, w: &TestWorld, xml: &str, key: Option<&rsa::RsaPrivateKey>) -> Response {
    let url = redirect_url(SLO, xml, "relay", key).unwrap();
    let target = url.strip_prefix("https://auth.example.com").unwrap();
    svc.handle(&Request::new("GET", target), &w.at(T0 + 10))
}

fn slo_post(svc: &Service, w: &TestWorld, xml: &str) -> Response {
    post_form(svc, w, "/saml/slo", format!("SAMLRequest={}", urlencode(&STANDARD.encode(xml))), T0 + 10)
}

#[test]
fn redirect_logout_ends_the_sessions_of_that_name_id_only() {
    let (svc, w) = (service(""), TestWorld::default());
    let alice = logged_in(&svc, &w, "alice@corp.example");
    let bob = logged_in(&svc, &w, "bob@corp.example");
    let xml = logout_request("_l1", "alice@corp.example", T0 + 5, SLO);

    assert_error(&slo_get(&svc, &w, &xml, None), 400, "invalid_request");
    assert_error(&slo_get(&svc, &w, &xml, Some(sp_key())), 400, "invalid_request");
    assert_eq!(refresh(&svc, &w, &alice["refresh_token"]).status, 200, "a refused logout ends nothing");

    let r = slo_get(&svc, &w, &xml, Some(other_key()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(json(&r)["message"].is_string());
    assert_eq!(get_with_token(&svc, &w, "/oauth2/userinfo", &alice["access_token"], T0 + 20).status, 401);
    assert_eq!(get_with_token(&svc, &w, "/oauth2/userinfo", &bob["access_token"], T0 + 20).status, 200);
    assert_error(&slo_get(&svc, &w, &xml, Some(other_key())), 400, "invalid_request");
}

#[test]
fn post_logout_needs_an_enveloped_signature_and_fresh_fields() {
    let (svc, w) = (service(""), TestWorld::default());
    let alice = logged_in(&svc, &w, "alice@corp.example");
    for (what, xml) in [
        ("unsigned", logout_request("_p0", "alice@corp.example", T0 + 5, SLO)),
        ("foreign key", sign(&logout_request("_p1", "alice@corp.example", T0 + 5, SLO), "_p1", sp_key())),
        ("stale", sign(&logout_request("_p2", "alice@corp.example", T0 - 600, SLO), "_p2", other_key())),
        ("elsewhere", sign(&logout_request("_p3", "alice@corp.example", T0 + 5, "https://evil.example/slo"), "_p3", other_key())),
    ] {
        let r = slo_post(&svc, &w, &xml);
        assert_eq!(r.status, 400, "{what}: {}", String::from_utf8_lossy(&r.body));
    }
    assert_eq!(get_with_token(&svc, &w, "/oauth2/userinfo", &alice["access_token"], T0 + 20).status, 200);
    // The NameID may come encrypted for the SP.
    let plain = logout_request("_p4", "alice@corp.example", T0 + 5, SLO);
    let name_id = "<saml:NameID>alice@corp.example</saml:NameID>";
    let encrypted = plain.replace(name_id, &encrypt_for(name_id, "EncryptedID", sp_key()));
    let r = slo_post(&svc, &w, &sign(&encrypted, "_p4", other_key()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(get_with_token(&svc, &w, "/oauth2/userinfo", &alice["access_token"], T0 + 20).status, 401);
    assert_error(&refresh(&svc, &w, &alice["refresh_token"]), 400, "invalid_grant");
}

// --- mutation ---

/// Every single-byte change to a signed Response is refused with a 4xx or
/// changes nothing that is read (e.g. renaming an unused namespace
/// prefix): never a panic, never a different login. A cheap stand-in for
/// fuzzing the parser, canonicaliser and verifier together.
#[test]
fn no_single_byte_change_alters_what_is_read() {
    let svc = service("");
    let provider = &svc.config().saml_providers[0];
    let random = crate::testing::SeqRandom::default();
    let xml = ResponseSpec::new(Some("_request"), T0).signed();
    let validate = |text: &[u8]| dom::parse(text).map_err(|e| e.0).and_then(|root| {
        response::validate(&root, provider, T0 + 5, &random).map_err(|e| {
            assert!((400..500).contains(&e.status()), "{e}");
            e.to_string()
        })
    });
    let genuine = validate(xml.as_bytes()).unwrap();
    let mut checked = 0;
    for i in 0..xml.len() as usize {
        let mut bytes = xml.clone().into_bytes();
        let flipped = bytes[i] ^ 0x01;
        bytes[i] = if (0x20..0x7f).contains(&flipped) { flipped } else { b'x' };
        if bytes[i] == xml.as_bytes()[i] {
            continue;
        }
        if let Ok(login) = validate(&bytes) {
            assert_eq!(login, genuine, "the change at {i} ({:?}) altered what was read", &xml[i.saturating_sub(15)..(i + 15).min(xml.len())]);
        }
        checked += 1;
    }
    assert!(checked > 2000, "{checked}");
}
