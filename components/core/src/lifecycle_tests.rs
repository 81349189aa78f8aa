//! Token lifecycle and machine clients, rule by rule, with a fixed clock:
//! refresh rotation and reuse detection, logout, introspection, client
//! credentials with lockout, provider groups and rate limits.

use serde_json::{json, Value};

use crate::error::{AuthError, GrantRule};
use crate::flow_tests::*;
use crate::http::{Request, Response};
use crate::testing::TestWorld;
use crate::Service;

fn tokens(svc: &Service, w: &TestWorld, now: u64) -> Value {
    let code = login(svc, w, now);
    let r = redeem(svc, w, &code, now);
    assert_eq!(r.status, 200);
    json(&r)
}

fn post_json(svc: &Service, w: &TestWorld, path: &str, body: Value, now: u64) -> Response {
    let req = Request::new("POST", path)
        .with_header("content-type", "application/json")
        .with_body(serde_json::to_vec(&body).unwrap());
    svc.handle(&req, &w.at(now))
}

fn post_form(svc: &Service, w: &TestWorld, path: &str, body: &str, now: u64) -> Response {
    let req = Request::new("POST", path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.to_string());
    svc.handle(&req, &w.at(now))
}

fn refresh_request(token: &str) -> Request {
    Request::new("POST", "/oauth2/refresh").with_header("content-type", "application/json").with_body(json!({ "refresh_token": token }).to_string())
}

fn refresh(svc: &Service, w: &TestWorld, token: &str, now: u64) -> Response {
    svc.handle(&refresh_request(token), &w.at(now))
}

fn introspect(svc: &Service, w: &TestWorld, token: &str, now: u64) -> Value {
    let r = post_form(svc, w, "/oauth2/introspect", &format!("token={}", urlencode(token)), now);
    assert_eq!(r.status, 200);
    json(&r)
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap().to_string()
}

#[test]
fn refresh_rotates_the_token() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let first = tokens(&svc, &w, T0);
    let r = refresh(&svc, &w, &s(&first, "refresh_token"), T0 + 10);
    assert_eq!(r.status, 200);
    let second = json(&r);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(get_with_token(&svc, &w, "/users/me", &s(&second, "access_token"), T0 + 10).status, 200);
    // The grant type at /oauth2/token works too, with the new token.
    let body = format!("grant_type=refresh_token&refresh_token={}", urlencode(&s(&second, "refresh_token")));
    assert_eq!(post_form(&svc, &w, "/oauth2/token", &body, T0 + 20).status, 200);
}

#[test]
fn reused_refresh_token_revokes_the_whole_family() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let first = tokens(&svc, &w, T0);
    let second = json(&refresh(&svc, &w, &s(&first, "refresh_token"), T0 + 10));
    let again = |token: &str| refresh_request(token);
    assert_eq!(refusal(&svc, &again(&s(&first, "refresh_token")), &w, T0 + 20), AuthError::InvalidGrant(GrantRule::RefreshReused));
    // Every token of the session is dead now.
    assert_eq!(refusal(&svc, &again(&s(&second, "refresh_token")), &w, T0 + 21), AuthError::InvalidGrant(GrantRule::RefreshInvalid));
    assert_eq!(introspect(&svc, &w, &s(&second, "access_token"), T0 + 21), json!({ "active": false }));
    assert_eq!(introspect(&svc, &w, &s(&first, "access_token"), T0 + 21), json!({ "active": false }));
}

#[test]
fn grace_window_lets_a_concurrent_refresh_through() {
    let (svc, w) = (service_with(&[("refresh_grace_period", "5")]), TestWorld::default());
    let first = tokens(&svc, &w, T0);
    assert_eq!(refresh(&svc, &w, &s(&first, "refresh_token"), T0 + 10).status, 200);
    let sibling = refresh(&svc, &w, &s(&first, "refresh_token"), T0 + 15);
    assert_eq!(sibling.status, 200);
    assert_eq!(get_with_token(&svc, &w, "/users/me", &s(&json(&sibling), "access_token"), T0 + 15).status, 200);
    // After the window it is reuse again.
    assert_error(&refresh(&svc, &w, &s(&first, "refresh_token"), T0 + 16), 400, "invalid_grant");
}

#[test]
fn fifty_concurrent_refreshes_one_winner_then_family_revoked() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let first = tokens(&svc, &w, T0);
    let token = s(&first, "refresh_token");
    let results: Vec<Response> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..50).map(|_| sc.spawn(|| refresh(&svc, &w, &token, T0 + 1))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&Response> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1);
    let won = json(winners[0]);
    assert_eq!(introspect(&svc, &w, &s(&won, "access_token"), T0 + 2), json!({ "active": false }));
}

#[test]
fn session_lifetime_is_absolute() {
    let (svc, w) = (service_with(&[("session_lifetime", "100"), ("refresh_token_lifetime", "1000")]), TestWorld::default());
    let first = tokens(&svc, &w, T0);
    let second = json(&refresh(&svc, &w, &s(&first, "refresh_token"), T0 + 50));
    assert_error(&refresh(&svc, &w, &s(&second, "refresh_token"), T0 + 100), 400, "invalid_grant");
}

#[test]
fn refresh_token_expires() {
    let (svc, w) = (service_with(&[("refresh_token_lifetime", "100")]), TestWorld::default());
    let first = tokens(&svc, &w, T0);
    assert_error(&refresh(&svc, &w, &s(&first, "refresh_token"), T0 + 100), 400, "invalid_grant");
}

#[test]
fn logout_with_bearer_ends_the_session() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let t = tokens(&svc, &w, T0);
    let req = Request::new("POST", "/oauth2/revoke").with_header("authorization", &format!("Bearer {}", s(&t, "access_token")));
    let r = svc.handle(&req, &w.at(T0 + 1));
    assert_eq!(r.status, 200);
    assert_eq!(json(&r)["message"], "Token revoked successfully");
    assert_error(&get_with_token(&svc, &w, "/oauth2/userinfo", &s(&t, "access_token"), T0 + 2), 401, "invalid_token");
    assert_error(&refresh(&svc, &w, &s(&t, "refresh_token"), T0 + 2), 400, "invalid_grant");
}

#[test]
fn rfc7009_revocation_of_a_refresh_token_ends_the_session() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let t = tokens(&svc, &w, T0);
    let body = format!("token={}&token_type_hint=refresh_token", urlencode(&s(&t, "refresh_token")));
    assert_eq!(post_form(&svc, &w, "/oauth2/revoke", &body, T0 + 1).status, 200);
    assert_eq!(introspect(&svc, &w, &s(&t, "access_token"), T0 + 2), json!({ "active": false }));
    // Unknown tokens are not an error (RFC 7009 §2.2).
    assert_eq!(post_json(&svc, &w, "/oauth2/revoke", json!({ "token": "garbage" }), T0 + 3).status, 200);
}

#[test]
fn rfc7009_revocation_of_an_access_token() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let t = tokens(&svc, &w, T0);
    assert_eq!(post_json(&svc, &w, "/oauth2/revoke", json!({ "token": s(&t, "access_token") }), T0 + 1).status, 200);
    assert_eq!(introspect(&svc, &w, &s(&t, "access_token"), T0 + 2), json!({ "active": false }));
}

#[test]
fn revoke_without_any_token_is_refused() {
    // One rule: no credential at all is 401, whatever the body's content type.
    let (svc, w) = (service_with(&[]), TestWorld::default());
    assert_error(&svc.handle(&Request::new("POST", "/oauth2/revoke"), &w.at(T0)), 401, "invalid_token");
    assert_error(&post_json(&svc, &w, "/oauth2/revoke", json!({}), T0), 401, "invalid_token");
    let form = Request::new("POST", "/oauth2/revoke").with_header("content-type", "application/x-www-form-urlencoded");
    assert_error(&svc.handle(&form, &w.at(T0)), 401, "invalid_token");
    // A malformed body is still the client's malformed request.
    let broken = Request::new("POST", "/oauth2/revoke").with_header("content-type", "application/json").with_body("{");
    assert_error(&svc.handle(&broken, &w.at(T0)), 400, "invalid_request");
}

#[test]
fn introspection_of_valid_expired_and_garbage_tokens() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let t = tokens(&svc, &w, T0);
    let active = introspect(&svc, &w, &s(&t, "access_token"), T0 + 1);
    assert_eq!(active["active"], true);
    assert_eq!(active["sub"], "alice");
    let keys: Vec<&String> = active.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 8, "exactly the spec's fields: {keys:?}");
    assert_eq!(introspect(&svc, &w, &s(&t, "access_token"), T0 + 3600), json!({ "active": false }));
    assert_eq!(introspect(&svc, &w, "not-a-token", T0), json!({ "active": false }));
    assert_eq!(introspect(&svc, &w, &s(&t, "refresh_token"), T0 + 1)["active"], true);
}

fn create_credential(svc: &Service, w: &TestWorld, access: &str, name: &str, now: u64) -> Response {
    let req = Request::new("POST", "/client-credentials")
        .with_header("authorization", &format!("Bearer {access}"))
        .with_header("content-type", "application/json")
        .with_body(serde_json::to_vec(&json!({ "name": name })).unwrap());
    svc.handle(&req, &w.at(now))
}

fn cc_grant(svc: &Service, w: &TestWorld, id: &str, secret: &str, now: u64) -> Response {
    let body = format!("grant_type=client_credentials&client_id={}&client_secret={}", urlencode(id), urlencode(secret));
    post_form(svc, w, "/oauth2/token", &body, now)
}

#[test]
fn optional_credential_fields_may_be_absent_but_not_null() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let access = s(&tokens(&svc, &w, T0), "access_token");
    for body in [json!({"name": "n", "expires_at": null}), json!({"name": "n", "description": null})] {
        let req = Request::new("POST", "/client-credentials")
            .with_header("authorization", &format!("Bearer {access}"))
            .with_header("content-type", "application/json")
            .with_body(body.to_string());
        assert_error(&svc.handle(&req, &w.at(T0)), 400, "invalid_request");
    }
    assert_eq!(create_credential(&svc, &w, &access, "n", T0).status, 201);
}

#[test]
fn client_credentials_full_cycle() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let access = s(&tokens(&svc, &w, T0), "access_token");
    let created = create_credential(&svc, &w, &access, "ci bot", T0 + 1);
    assert_eq!(created.status, 201);
    let cred = json(&created);
    let (id, client_id, secret) = (s(&cred, "id"), s(&cred, "client_id"), s(&cred, "client_secret"));
    assert!(client_id.starts_with("tmi_cc_") && client_id.len() == 7 + 22);
    assert_eq!(secret.len(), 43);

    let list = json(&get_with_token(&svc, &w, "/client-credentials", &access, T0 + 2));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("client_secret").is_none());

    let grant = cc_grant(&svc, &w, &client_id, &secret, T0 + 3);
    assert_eq!(grant.status, 200);
    let grant = json(&grant);
    assert_eq!(grant["refresh_token"], "");
    let sa = s(&grant, "access_token");
    let info = introspect(&svc, &w, &sa, T0 + 4);
    assert_eq!(info["sub"], format!("sa:{id}:alice"));
    assert_eq!(info["name"], "[Service Account] ci bot");
    assert_error(&get_with_token(&svc, &w, "/client-credentials", &sa, T0 + 4), 403, "forbidden");
    assert!(json(&get_with_token(&svc, &w, "/client-credentials", &access, T0 + 5))[0]["last_used_at"].is_string());

    let del = Request::new("DELETE", &format!("/client-credentials/{id}")).with_header("authorization", &format!("Bearer {access}"));
    assert_eq!(svc.handle(&del, &w.at(T0 + 6)).status, 204);
    assert_eq!(introspect(&svc, &w, &sa, T0 + 7), json!({ "active": false }));
    assert_error(&cc_grant(&svc, &w, &client_id, &secret, T0 + 7), 401, "invalid_client");
    assert_eq!(json(&get_with_token(&svc, &w, "/client-credentials", &access, T0 + 8)), json!([]));
}

#[test]
fn basic_client_authentication() {
    use base64::Engine;
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let access = s(&tokens(&svc, &w, T0), "access_token");
    let cred = json(&create_credential(&svc, &w, &access, "basic", T0));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s(&cred, "client_id"), s(&cred, "client_secret")));
    let req = Request::new("POST", "/oauth2/token")
        .with_header("authorization", &format!("Basic {basic}"))
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body("grant_type=client_credentials");
    assert_eq!(svc.handle(&req, &w.at(T0)).status, 200);
}

#[test]
fn quota_of_ten_active_credentials() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let access = s(&tokens(&svc, &w, T0), "access_token");
    for i in 0..10 {
        assert_eq!(create_credential(&svc, &w, &access, &format!("c{i}"), T0 + i).status, 201);
    }
    assert_error(&create_credential(&svc, &w, &access, "eleventh", T0 + 20), 403, "forbidden");
    let list = json(&get_with_token(&svc, &w, "/client-credentials", &access, T0 + 21));
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "c9", "newest first");
}

#[test]
fn only_the_owner_can_delete() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let alice = s(&tokens(&svc, &w, T0), "access_token");
    let cred = json(&create_credential(&svc, &w, &alice, "mine", T0));
    // A second user (login_hint differs) cannot see or delete it.
    let url = format!("/oauth2/authorize?idp=test&scope=openid&code_challenge={}&code_challenge_method=S256&client_callback={}&login_hint=mallory",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", urlencode(CALLBACK));
    let r = svc.handle(&Request::new("GET", &url), &w.at(T0));
    let path = r.header_value("location").unwrap().strip_prefix("https://auth.example.com").unwrap().to_string();
    let r = svc.handle(&Request::new("GET", &path), &w.at(T0));
    let loc = url::Url::parse(r.header_value("location").unwrap()).unwrap();
    let code = loc.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
    let mallory = s(&json(&redeem(&svc, &w, &code, T0)), "access_token");
    let del = |token: &str| Request::new("DELETE", &format!("/client-credentials/{}", s(&cred, "id"))).with_header("authorization", &format!("Bearer {token}"));
    assert_error(&svc.handle(&del(&mallory), &w.at(T0 + 1)), 404, "not_found");
    assert_eq!(svc.handle(&del(&alice), &w.at(T0 + 1)).status, 204);
    assert_error(&svc.handle(&del(&alice), &w.at(T0 + 2)), 404, "not_found");
}

#[test]
fn wrong_secrets_lock_the_client_out_for_growing_periods() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let access = s(&tokens(&svc, &w, T0), "access_token");
    let cred = json(&create_credential(&svc, &w, &access, "target", T0));
    let (id, secret) = (s(&cred, "client_id"), s(&cred, "client_secret"));
    let wrong = "x".repeat(43);
    let mut now = T0 + 10;
    for _ in 0..5 {
        assert_error(&cc_grant(&svc, &w, &id, &wrong, now), 401, "invalid_client");
    }
    // Locked for 1 s (at least a whole second, whatever the fraction of
    // the current one): even the right secret is refused.
    let locked = cc_grant(&svc, &w, &id, &secret, now);
    assert_error(&locked, 429, "rate_limit_exceeded");
    assert_eq!(locked.header_value("retry-after"), Some("2"));
    assert_error(&cc_grant(&svc, &w, &id, &secret, now + 1), 429, "rate_limit_exceeded");
    now += 2;
    for _ in 0..5 {
        assert_error(&cc_grant(&svc, &w, &id, &wrong, now), 401, "invalid_client");
    }
    let locked = cc_grant(&svc, &w, &id, &secret, now);
    assert_eq!(locked.header_value("retry-after"), Some("31"));
    now += 31;
    assert_eq!(cc_grant(&svc, &w, &id, &secret, now).status, 200, "success after the lock");
    // Success resets the count: four more failures do not lock.
    for _ in 0..4 {
        assert_error(&cc_grant(&svc, &w, &id, &wrong, now), 401, "invalid_client");
    }
    assert_eq!(cc_grant(&svc, &w, &id, &secret, now).status, 200);
}

#[test]
fn groups_seen_from_a_provider() {
    let (svc, w) = (service_with(&[]), TestWorld::default());
    let access = s(&tokens(&svc, &w, T0), "access_token");
    let r = get_with_token(&svc, &w, "/oauth2/providers/test/groups", &access, T0);
    assert_eq!(json(&r), json!({ "idp": "test", "groups": [] }));
    assert_error(&get_with_token(&svc, &w, "/oauth2/providers/nope/groups", &access, T0), 404, "not_found");
    crate::domain::groups::record(&w.at(T0), "test", &["eng".into(), "ops".into()]).unwrap();
    let r = json(&get_with_token(&svc, &w, "/oauth2/providers/test/groups", &access, T0));
    assert_eq!(r["groups"], json!([{ "name": "eng" }, { "name": "ops" }]));
}

#[test]
fn rate_limit_per_ip_with_headers_and_reset() {
    let (svc, w) = (service_with(&[("rate_limit_ip", "2/60")]), TestWorld::default());
    let req = || {
        Request::new("POST", "/oauth2/introspect")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("x-tmi-client-ip", "10.0.0.1")
            .with_body("token=x")
    };
    let ok = svc.handle(&req(), &w.at(T0));
    assert_eq!(ok.header_value("x-ratelimit-remaining"), Some("1"));
    assert_eq!(svc.handle(&req(), &w.at(T0)).status, 200);
    let limited = svc.handle(&req(), &w.at(T0));
    assert_error(&limited, 429, "rate_limit_exceeded");
    assert_eq!(limited.header_value("x-ratelimit-limit"), Some("2"));
    assert_eq!(limited.header_value("x-ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header_value("retry-after"), Some("60"));
    assert_eq!(svc.handle(&req(), &w.at(T0 + 60)).status, 200, "window reset");
}

#[test]
fn rate_limit_per_login_hint() {
    let (svc, w) = (service_with(&[("rate_limit_user", "1/3600")]), TestWorld::default());
    login(&svc, &w, T0);
    let url = format!("/oauth2/authorize?idp=test&scope=openid&code_challenge={}&code_challenge_method=S256&client_callback={}&login_hint=ALICE",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", urlencode(CALLBACK));
    assert_error(&svc.handle(&Request::new("GET", &url), &w.at(T0)), 429, "rate_limit_exceeded");
}
