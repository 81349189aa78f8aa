//! The login flow, rule by rule, against the in-memory world with a fixed clock.

use serde_json::Value;

use crate::config::Config;
use crate::error::{AuthError, GrantRule, TokenRule};
use crate::http::{Request, Response};
use crate::testing::TestWorld;
use crate::Service;

pub(crate) const T0: u64 = 1_800_000_000;
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub(crate) use crate::testing::CALLBACK;

pub(crate) fn service_with(extra: &[(&str, &str)]) -> Service {
    let mut pairs = crate::testing::settings();
    pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    pairs.extend_from_slice(extra);
    Service::new(Config::from_pairs(pairs).unwrap())
}

fn service() -> Service {
    service_with(&[])
}

pub(crate) fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.to_string())
}

fn authorize_url(extra: &str) -> String {
    format!(
        "/oauth2/authorize?idp=test&scope=openid%20email&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}&login_hint=alice&state=client-state{extra}",
        urlencode(CALLBACK)
    )
}

pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Run authorize and callback; return the code the client receives.
pub(crate) fn login(svc: &Service, w: &TestWorld, now: u64) -> String {
    let r = svc.handle(&Request::new("GET", &authorize_url("")), &w.at(now));
    assert_eq!(r.status, 302, "{:?}", String::from_utf8_lossy(&r.body));
    let upstream = r.header_value("location").unwrap().to_string();
    let path = upstream.strip_prefix("https://auth.example.com").unwrap();
    let r = svc.handle(&Request::new("GET", path), &w.at(now));
    assert_eq!(r.status, 302, "{:?}", String::from_utf8_lossy(&r.body));
    let location = r.header_value("location").unwrap();
    assert!(location.starts_with(CALLBACK));
    assert_eq!(query_param(location, "state").as_deref(), Some("client-state"));
    query_param(location, "code").unwrap()
}

pub(crate) fn token_request(code: &str, verifier: &str, redirect_uri: &str) -> Request {
    let body = serde_json::json!({
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": redirect_uri,
    });
    Request::new("POST", "/oauth2/token")
        .with_header("content-type", "application/json")
        .with_body(serde_json::to_vec(&body).unwrap())
}

pub(crate) fn redeem(svc: &Service, w: &TestWorld, code: &str, now: u64) -> Response {
    svc.handle(&token_request(code, VERIFIER, CALLBACK), &w.at(now))
}

pub(crate) fn bearer_get(path: &str, token: &str) -> Request {
    Request::new("GET", path).with_header("authorization", &format!("Bearer {token}"))
}

pub(crate) fn get_with_token(svc: &Service, w: &TestWorld, path: &str, token: &str, now: u64) -> Response {
    let req = Request::new("GET", path).with_header("authorization", &format!("Bearer {token}"));
    svc.handle(&req, &w.at(now))
}

/// The rule that refused `req` (which must be refused).
pub(crate) fn refusal(svc: &Service, req: &Request, w: &TestWorld, now: u64) -> AuthError {
    let (r, refusal) = svc.handle_with_refusal(req, &w.at(now));
    let e = refusal.unwrap_or_else(|| panic!("not refused: {} {}", r.status, String::from_utf8_lossy(&r.body)));
    assert_error(&r, e.status(), e.code());
    e
}

pub(crate) fn assert_error(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let body = json(r);
    assert_eq!(body["error"], code);
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()));
}

#[test]
fn full_login_yields_tokens_that_authenticate() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let r = redeem(&svc, &w, &code, T0 + 5);
    assert_eq!(r.status, 200);
    assert_eq!(r.header_value("cache-control"), Some("no-store"));
    let tokens = json(&r);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"].as_str().unwrap();

    let me = get_with_token(&svc, &w, "/oauth2/userinfo", access, T0 + 6);
    assert_eq!(me.status, 200);
    let me = json(&me);
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["email"], "alice@test.tmi");
    assert_eq!(me["name"], "Alice (Test User)");
    assert_eq!(me["idp"], "test");

    let profile = json(&get_with_token(&svc, &w, "/users/me", access, T0 + 6));
    assert_eq!(profile["provider_id"], "alice");
    assert_eq!(profile["is_admin"], false);
}

#[test]
fn same_user_keeps_their_id_across_logins() {
    let (svc, w) = (service(), TestWorld::default());
    let ids: Vec<Value> = (0..2)
        .map(|i| {
            let code = login(&svc, &w, T0 + i);
            let access = json(&redeem(&svc, &w, &code, T0 + i))["access_token"].as_str().unwrap().to_string();
            json(&get_with_token(&svc, &w, "/oauth2/userinfo", &access, T0 + i))["id"].clone()
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn plain_pkce_method_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let url = authorize_url("").replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert_error(&svc.handle(&Request::new("GET", &url), &w.at(T0)), 400, "invalid_request");
}

#[test]
fn missing_or_short_challenge_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let short = authorize_url("").replace(CHALLENGE, "tooshort");
    assert_error(&svc.handle(&Request::new("GET", &short), &w.at(T0)), 400, "invalid_request");
    let missing = authorize_url("").replace(&format!("code_challenge={CHALLENGE}&"), "");
    assert_error(&svc.handle(&Request::new("GET", &missing), &w.at(T0)), 400, "invalid_request");
}

#[test]
fn scope_without_openid_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let url = authorize_url("").replace("scope=openid%20email", "scope=email");
    assert_error(&svc.handle(&Request::new("GET", &url), &w.at(T0)), 400, "invalid_scope");
}

#[test]
fn callback_outside_allowlist_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let url = authorize_url("").replace(&urlencode(CALLBACK), &urlencode("https://evil.example.net/cb"));
    assert_error(&svc.handle(&Request::new("GET", &url), &w.at(T0)), 400, "invalid_request");
}

#[test]
fn wrong_verifier_is_refused_and_burns_the_code() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let wrong = "x".repeat(43);
    assert_eq!(refusal(&svc, &token_request(&code, &wrong, CALLBACK), &w, T0), AuthError::InvalidGrant(GrantRule::VerifierMismatch));
    assert_eq!(refusal(&svc, &token_request(&code, VERIFIER, CALLBACK), &w, T0), AuthError::InvalidGrant(GrantRule::CodeReused));
}

#[test]
fn different_redirect_uri_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let req = token_request(&code, VERIFIER, "https://app.example.com/other");
    assert_eq!(refusal(&svc, &req, &w, T0), AuthError::InvalidGrant(GrantRule::RedirectUriMismatch));
}

#[test]
fn reused_code_is_refused_and_revokes_the_first_tokens() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let first = json(&redeem(&svc, &w, &code, T0));
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(get_with_token(&svc, &w, "/oauth2/userinfo", access, T0).status, 200);
    assert_eq!(refusal(&svc, &token_request(&code, VERIFIER, CALLBACK), &w, T0 + 1), AuthError::InvalidGrant(GrantRule::CodeReused));
    assert_eq!(refusal(&svc, &bearer_get("/oauth2/userinfo", access), &w, T0 + 2), AuthError::InvalidToken(TokenRule::Revoked));
}

#[test]
fn concurrent_redemptions_have_exactly_one_winner() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20).map(|_| s.spawn(|| redeem(&svc, &w, &code, T0).status)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400));
}

#[test]
fn expired_code_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    assert_eq!(refusal(&svc, &token_request(&code, VERIFIER, CALLBACK), &w, T0 + 600), AuthError::InvalidGrant(GrantRule::CodeInvalid));
}

#[test]
fn code_just_before_expiry_is_accepted() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    assert_eq!(redeem(&svc, &w, &code, T0 + 599).status, 200);
}

#[test]
fn state_is_single_use_and_must_be_known() {
    let (svc, w) = (service(), TestWorld::default());
    let r = svc.handle(&Request::new("GET", &authorize_url("")), &w.at(T0));
    let path = r.header_value("location").unwrap().strip_prefix("https://auth.example.com").unwrap().to_string();
    assert_eq!(svc.handle(&Request::new("GET", &path), &w.at(T0)).status, 302);
    assert_error(&svc.handle(&Request::new("GET", &path), &w.at(T0)), 400, "invalid_request");
    let unknown = "/oauth2/callback?code=test_x&state=nosuchstate";
    assert_error(&svc.handle(&Request::new("GET", unknown), &w.at(T0)), 400, "invalid_request");
}

#[test]
fn expired_state_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let r = svc.handle(&Request::new("GET", &authorize_url("")), &w.at(T0));
    let path = r.header_value("location").unwrap().strip_prefix("https://auth.example.com").unwrap().to_string();
    assert_error(&svc.handle(&Request::new("GET", &path), &w.at(T0 + 601)), 400, "invalid_request");
}

#[test]
fn access_token_expires() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let access = json(&redeem(&svc, &w, &code, T0))["access_token"].as_str().unwrap().to_string();
    assert_eq!(get_with_token(&svc, &w, "/users/me", &access, T0 + 3599).status, 200);
    assert_eq!(refusal(&svc, &bearer_get("/users/me", &access), &w, T0 + 3600), AuthError::InvalidToken(TokenRule::Expired));
}

#[test]
fn tampered_token_is_refused() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let access = json(&redeem(&svc, &w, &code, T0))["access_token"].as_str().unwrap().to_string();
    let mut parts: Vec<&str> = access.split('.').collect();
    let claims = crate::encoding::b64url_decode(parts[1]).unwrap();
    let forged = String::from_utf8(claims).unwrap().replace("\"alice\"", "\"admin\"");
    let forged = crate::encoding::b64url(forged.as_bytes());
    parts[1] = &forged;
    let forged = bearer_get("/oauth2/userinfo", &parts.join("."));
    assert_eq!(refusal(&svc, &forged, &w, T0), AuthError::InvalidToken(TokenRule::BadSignature));
    let none_alg = format!("{}.{}.", crate::encoding::b64url(br#"{"alg":"none","kid":"test-hs256"}"#), parts[1]);
    assert_eq!(refusal(&svc, &bearer_get("/oauth2/userinfo", &none_alg), &w, T0), AuthError::InvalidToken(TokenRule::UnsupportedAlgorithm));
    // The right kid with another algorithm of ours: the keyring refuses it too.
    let other_alg = format!("{}.{}.{}", crate::encoding::b64url(br#"{"alg":"ES256","kid":"test-hs256"}"#), parts[1], parts[2]);
    assert_eq!(refusal(&svc, &bearer_get("/oauth2/userinfo", &other_alg), &w, T0), AuthError::InvalidToken(TokenRule::BadSignature));
}

#[test]
fn malformed_bodies_are_client_errors() {
    let (svc, w) = (service(), TestWorld::default());
    let cases = [
        ("application/json", b"{not json".to_vec()),
        ("application/json", br#"{"grant_type":"authorization_code","extra":1}"#.to_vec()),
        ("application/json", br#"{"grant_type":5}"#.to_vec()),
        ("application/x-www-form-urlencoded", b"grant_type=authorization_code&grant_type=x".to_vec()),
        ("application/x-www-form-urlencoded", vec![b'a', b'=', 0xff]),
        ("text/plain", b"grant_type=authorization_code".to_vec()),
        ("application/x-www-form-urlencoded", b"code=abc".to_vec()),
    ];
    for (ct, body) in cases {
        let req = Request::new("POST", "/oauth2/token").with_header("content-type", ct).with_body(body);
        let r = svc.handle(&req, &w.at(T0));
        assert_eq!(r.status, 400, "{ct}: {}", String::from_utf8_lossy(&r.body));
    }
    let big = Request::new("POST", "/oauth2/token")
        .with_header("content-type", "application/json")
        .with_body(vec![b' '; 20_000]);
    assert_eq!(svc.handle(&big, &w.at(T0)).status, 413);
}

#[test]
fn form_bodies_work_like_json() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let body = format!(
        "grant_type=authorization_code&code={}&code_verifier={VERIFIER}&redirect_uri={}",
        urlencode(&code),
        urlencode(CALLBACK)
    );
    let req = Request::new("POST", "/oauth2/token")
        .with_header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .with_body(body);
    assert_eq!(svc.handle(&req, &w.at(T0)).status, 200);
}

#[test]
fn store_outage_is_503_with_retry_after() {
    let (svc, w) = (service(), TestWorld::default());
    w.store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = svc.handle(&Request::new("GET", &authorize_url("")), &w.at(T0));
    assert_error(&r, 503, "temporarily_unavailable");
    assert!(r.header_value("retry-after").is_some());
}

#[test]
fn admins_come_from_configuration() {
    let (svc, w) = (service(), TestWorld::default());
    let url = authorize_url("").replace("login_hint=alice", "login_hint=admin");
    let r = svc.handle(&Request::new("GET", &url), &w.at(T0));
    let path = r.header_value("location").unwrap().strip_prefix("https://auth.example.com").unwrap().to_string();
    let r = svc.handle(&Request::new("GET", &path), &w.at(T0));
    let code = query_param(r.header_value("location").unwrap(), "code").unwrap();
    let access = json(&redeem(&svc, &w, &code, T0))["access_token"].as_str().unwrap().to_string();
    assert_eq!(json(&get_with_token(&svc, &w, "/users/me", &access, T0))["is_admin"], true);
}

#[test]
fn unknown_paths_and_methods() {
    let (svc, w) = (service(), TestWorld::default());
    assert_error(&svc.handle(&Request::new("GET", "/nope"), &w.at(T0)), 404, "not_found");
    let r = svc.handle(&Request::new("GET", "/oauth2/token"), &w.at(T0));
    assert_eq!(r.status, 405);
    assert_eq!(r.header_value("allow"), Some("POST"));
}

#[test]
fn a_broken_configuration_is_503_naming_the_setting_and_healthz_says_so() {
    let pairs = [("base_url", "https://auth.example.com"), ("oauth_providers", r#"[{"id":"x"}]"#)];
    let broken = Config::from_pairs(pairs).expect_err("a provider without kind does not parse");
    let (response, refusal) = Service::misconfigured(&Request::new("POST", "/oauth2/token"), broken.clone());
    assert_eq!(response.status, 503);
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"].as_str().unwrap().contains("oauth_providers"), "{body}");
    assert!(!body.to_string().contains("kind"), "the reason is for the log only: {body}");
    assert!(refusal.diagnostic().unwrap().contains("kind"), "the log has the reason");

    let (health, _) = Service::misconfigured(&Request::new("GET", "/healthz"), broken);
    assert_eq!(health.status, 503);
    let body: Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(body, serde_json::json!({ "status": "misconfigured", "setting": "oauth_providers" }));
}

#[test]
fn the_library_gives_the_service_s_answers_and_sees_its_revocations() {
    let (svc, w) = (service(), TestWorld::default());
    let code = login(&svc, &w, T0);
    let tokens = json(&redeem(&svc, &w, &code, T0));
    let access = tokens["access_token"].as_str().unwrap();
    let world = w.at(T0 + 1);
    let claims = crate::library::verify_token(svc.config(), &world, access).unwrap();
    assert_eq!(claims.email, "alice@test.tmi");
    let over_http = json(&svc.handle(&Request::new("POST", "/oauth2/introspect").with_header("content-type", "application/x-www-form-urlencoded").with_body(format!("token={access}").into_bytes()), &world));
    let typed = crate::library::introspect(svc.config(), &world, access).unwrap().unwrap();
    assert_eq!((over_http["sub"].as_str(), over_http["exp"].as_u64()), (Some(typed.sub.as_str()), Some(typed.exp)));
    // Revoked through the service: the library refuses it at once.
    let r = svc.handle(&Request::new("POST", "/oauth2/revoke").with_header("authorization", &format!("Bearer {access}")), &world);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(matches!(crate::library::verify_token(svc.config(), &world, access), Err(AuthError::InvalidToken(TokenRule::Revoked))));
    assert_eq!(crate::library::introspect(svc.config(), &world, access).unwrap(), None);
    // And a refresh token revoked through the library ends its session for the service.
    let code = login(&svc, &w, T0);
    let second = json(&redeem(&svc, &w, &code, T0));
    crate::library::revoke(svc.config(), &world, second["refresh_token"].as_str().unwrap()).unwrap();
    let r = get_with_token(&svc, &w, "/oauth2/userinfo", second["access_token"].as_str().unwrap(), T0 + 1);
    assert_eq!(r.status, 401);
}
