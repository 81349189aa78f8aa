//! Set-up shared by the benchmarks: a service over the core's in-memory
//! world, with a logged-in user and a client credential.

use serde_json::{json, Value};
use tmi_auth_core::testing::TestWorld;
use tmi_auth_core::{Config, Request, Response, Service, World};

/// A fixed "now" for every benchmark.
pub const NOW: u64 = 1_800_000_000;
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CALLBACK: &str = "http://localhost:4200/cb";

/// A service in development mode with rate limits off.
pub fn service() -> Service {
    Service::new(
        Config::from_pairs([
            ("base_url", "http://127.0.0.1:8080"),
            ("dev_mode", "true"),
            ("rate_limit_ip", "off"),
            ("rate_limit_session", "off"),
            ("rate_limit_user", "off"),
            ("rate_limit_client", "off"),
            ("client_secret_pepper", "bench-pepper-bench-pepper-bench-pepper"),
        ])
        .expect("config"),
    )
}

fn json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).expect("json body")
}

fn location_param(r: &Response, name: &str) -> String {
    let (_, location) = r.headers.iter().find(|(n, _)| n == "location").expect("location");
    let url = url::Url::parse(location).expect("url");
    url.query_pairs().find(|(k, _)| k == name).expect("param").1.into_owned()
}

/// One whole login: authorize, callback, token. Returns the token response.
pub fn login(svc: &Service, w: &TestWorld, hint: &str) -> Value {
    login_in(svc, &w.at(NOW), hint)
}

/// [`login`] in any world (another keyring, another time).
pub fn login_in(svc: &Service, world: &World, hint: &str) -> Value {
    let authorize = format!(
        "/oauth2/authorize?idp=test&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={CALLBACK}&login_hint={hint}"
    );
    let r = svc.handle(&Request::new("GET", &authorize), world);
    let callback = format!("/oauth2/callback?code={}&state={}", location_param(&r, "code"), location_param(&r, "state"));
    let r = svc.handle(&Request::new("GET", &callback), world);
    let body = json!({ "grant_type": "authorization_code", "code": location_param(&r, "code"), "code_verifier": VERIFIER, "redirect_uri": CALLBACK });
    let r = svc.handle(&post_json("/oauth2/token", &body), world);
    assert_eq!(r.status, 200);
    json(&r)
}

/// A JSON POST.
pub fn post_json(path: &str, body: &Value) -> Request {
    Request::new("POST", path).with_header("content-type", "application/json").with_body(body.to_string())
}

/// A form POST.
pub fn post_form(path: &str, body: &str) -> Request {
    Request::new("POST", path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.to_string())
}

/// Create a client credential for the user of `access`; returns (client_id, secret).
pub fn credential(svc: &Service, w: &TestWorld, access: &str) -> (String, String) {
    let req = post_json("/client-credentials", &json!({ "name": "bench" }))
        .with_header("authorization", &format!("Bearer {access}"));
    let r = svc.handle(&req, &w.at(NOW));
    assert_eq!(r.status, 201);
    let c = json(&r);
    (c["client_id"].as_str().unwrap().into(), c["client_secret"].as_str().unwrap().into())
}

/// Configuration with one SAML provider (the core's test IdP `corp-idp`)
/// under the base URL its test Responses are addressed to.
pub fn saml_config_pairs() -> Vec<(String, String)> {
    use tmi_auth_core::saml::test_support::{provider_json, saml_pairs};
    let mut pairs = saml_pairs(&provider_json(""));
    pairs.push(("base_url".into(), "https://auth.example.com".into()));
    pairs
}

/// Parse configuration pairs.
pub fn parse_config(pairs: &[(String, String)]) -> Config {
    Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).expect("config")
}
