//! Upstream providers, rule by rule, against a fake provider served by a
//! fake HttpClient (canned discovery, JWKS, token and userinfo answers) and
//! ID tokens signed in the test with keys generated in the test.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use crate::config::Config;
use crate::encoding::b64url;
use crate::flow_tests::{assert_error, json as body_json, urlencode, CALLBACK, T0, VERIFIER};
use crate::error::{AuthError, IdTokenRule, UpstreamRule};
use crate::http::{Request, Response};
use crate::ports::{HttpClient, HttpError, OutboundRequest, OutboundResponse, World};
use crate::testing::{TestKeyring, TestWorld};
use crate::Service;

const ISSUER: &str = "https://idp.example";
const CLIENT_ID: &str = "tmi-client";
const SECRET: &str = "upstream-client-secret-value";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn rsa_key() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap())
}

fn other_rsa_key() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap())
}

fn rsa_jwk(key: &rsa::RsaPrivateKey, kid: &str) -> Value {
    use rsa::traits::PublicKeyParts;
    json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
           "n": b64url(&key.n().to_bytes_be()), "e": b64url(&key.e().to_bytes_be())})
}

fn signing_input(alg: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()))
}

fn sign_rs256(key: &rsa::RsaPrivateKey, kid: Option<&str>, claims: &Value) -> String {
    use rsa::signature::{SignatureEncoding, Signer};
    let input = signing_input("RS256", kid, claims);
    let sig = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone()).sign(input.as_bytes());
    format!("{input}.{}", b64url(&sig.to_bytes()))
}

/// A fake provider: canned answers per URL (query stripped), and a log of
/// every request.
#[derive(Default)]
struct FakeIdp {
    answers: Mutex<HashMap<String, Result<OutboundResponse, HttpError>>>,
    requests: Mutex<Vec<OutboundRequest>>,
}

impl FakeIdp {
    fn set(&self, url: &str, status: u16, body: &Value) {
        self.set_raw(url, Ok(OutboundResponse { status, headers: vec![], body: body.to_string().into_bytes() }));
    }
    fn set_raw(&self, url: &str, answer: Result<OutboundResponse, HttpError>) {
        self.answers.lock().unwrap().insert(url.to_string(), answer);
    }
    fn count(&self, url: &str) -> usize {
        self.requests.lock().unwrap().iter().filter(|r| r.url.split('?').next() == Some(url)).count()
    }
    fn last(&self, url: &str) -> OutboundRequest {
        self.requests.lock().unwrap().iter().rev().find(|r| r.url.split('?').next() == Some(url)).cloned().unwrap()
    }
}

impl HttpClient for FakeIdp {
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, HttpError> {
        self.requests.lock().unwrap().push(request.clone());
        let url = request.url.split('?').next().unwrap_or_default().to_string();
        self.answers.lock().unwrap().get(&url).cloned().unwrap_or(Err(HttpError::Unreachable("no route".into())))
    }
}

struct Fx {
    svc: Service,
    w: TestWorld,
    idp: FakeIdp,
    /// The refusal of the latest request.
    refusal: Mutex<Option<AuthError>>,
}

fn provider_json(extra: Value) -> String {
    let mut p = json!({"id": "corp", "kind": "oidc", "client_id": CLIENT_ID, "issuer": ISSUER, "name": "Corp SSO"});
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    json!([p]).to_string()
}

fn discovery(extra: Value) -> Value {
    let mut d = json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/authorize"),
        "token_endpoint": format!("{ISSUER}/token"),
        "userinfo_endpoint": format!("{ISSUER}/userinfo"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    d
}

impl Fx {
    fn new() -> Self {
        Self::with(json!({}))
    }

    fn with(provider: Value) -> Self {
        let providers = provider_json(provider);
        let config = Config::from_pairs([
            ("base_url", "https://auth.example.com"),
            ("client_callback_allowlist", CALLBACK),
            ("rate_limit_ip", "off"),
            ("rate_limit_session", "off"),
            ("rate_limit_user", "off"),
            ("oauth_providers", providers.as_str()),
            ("oauth_corp_client_secret", SECRET),
        ])
        .unwrap();
        let idp = FakeIdp::default();
        idp.set(&format!("{ISSUER}/.well-known/openid-configuration"), 200, &discovery(json!({})));
        idp.set(&format!("{ISSUER}/jwks"), 200, &json!({"keys": [rsa_jwk(rsa_key(), "k1")]}));
        idp.set(
            &format!("{ISSUER}/userinfo"),
            200,
            &json!({"sub": "u-1", "email": "ann@corp.example", "email_verified": true, "name": "Ann Example", "groups": ["eng", "ops"]}),
        );
        Fx { svc: Service::new(config), w: TestWorld::default(), idp, refusal: Mutex::new(None) }
    }

    fn world(&self, now: u64) -> World<'_> {
        World { store: &self.w.store, keyring: &TestKeyring, http: &self.idp, random: &self.w.random, now }
    }

    fn handle(&self, req: &Request, now: u64) -> Response {
        let (response, refusal) = self.svc.handle_with_refusal(req, &self.world(now));
        *self.refusal.lock().unwrap() = refusal;
        response
    }

    /// The refusal names the rule that was broken, and the provider.
    fn assert_because(&self, rule: UpstreamRule) {
        match self.refusal.lock().unwrap().clone() {
            Some(AuthError::Upstream(failure)) => {
                assert_eq!(failure.rule, rule);
                assert_eq!(failure.provider, "corp");
            }
            other => panic!("refused by {other:?}, not {rule:?}"),
        }
    }

    /// The refusal is the ID token rule `rule`.
    fn assert_id_token(&self, rule: IdTokenRule) {
        self.assert_because(UpstreamRule::IdToken(rule));
    }

    /// GET /oauth2/authorize; returns the provider URL's query.
    fn authorize(&self) -> HashMap<String, String> {
        let url = format!(
            "/oauth2/authorize?idp=corp&scope=openid%20email&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}&state=client-state",
            urlencode(CALLBACK)
        );
        let r = self.handle(&Request::new("GET", &url), T0);
        assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
        let location = url::Url::parse(r.header_value("location").unwrap()).unwrap();
        assert!(location.as_str().starts_with(&format!("{ISSUER}/authorize?")));
        location.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    fn claims(&self, nonce: &str) -> Value {
        json!({"iss": ISSUER, "aud": CLIENT_ID, "sub": "u-1", "exp": T0 + 300, "iat": T0, "nonce": nonce,
               "email": "ann@corp.example", "email_verified": true})
    }

    fn set_tokens(&self, id_token: &str) {
        self.idp.set(&format!("{ISSUER}/token"), 200, &json!({"access_token": "at-1", "token_type": "Bearer", "id_token": id_token}));
    }

    fn callback(&self, state: &str) -> Response {
        self.handle(&Request::new("GET", &format!("/oauth2/callback?code=upstream-code&state={}", urlencode(state))), T0 + 1)
    }

    /// authorize → callback with an ID token made from the claims by `edit`.
    fn login_with(&self, edit: impl FnOnce(&mut Value)) -> Response {
        let q = self.authorize();
        let mut claims = self.claims(&q["nonce"]);
        edit(&mut claims);
        self.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &claims));
        self.callback(&q["state"])
    }

    fn users(&self) -> usize {
        self.w.store.map.lock().unwrap().keys().filter(|k| k.starts_with("user:")).count()
    }

    fn assert_refused_without_user(&self, r: &Response, status: u16, code: &str) {
        assert_error(r, status, code);
        assert_eq!(self.users(), 0, "no user may be created");
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains(SECRET) && !text.contains("idp.example"), "{text}");
    }
}

fn tmi_code(r: &Response) -> String {
    assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
    let location = url::Url::parse(r.header_value("location").unwrap()).unwrap();
    assert!(location.as_str().starts_with(CALLBACK));
    location.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap()
}

fn userinfo_of(fx: &Fx, code: &str) -> Value {
    let body = json!({"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER, "redirect_uri": CALLBACK});
    let req = Request::new("POST", "/oauth2/token").with_header("content-type", "application/json").with_body(body.to_string());
    let r = fx.handle(&req, T0 + 2);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let access = body_json(&r)["access_token"].as_str().unwrap().to_string();
    let req = Request::new("GET", "/oauth2/userinfo").with_header("authorization", &format!("Bearer {access}"));
    body_json(&fx.handle(&req, T0 + 2))
}

#[test]
fn upstream_login_maps_claims_and_groups() {
    let fx = Fx::new();
    let code = tmi_code(&fx.login_with(|_| {}));
    let me = userinfo_of(&fx, &code);
    assert_eq!(me["sub"], "u-1");
    assert_eq!(me["email"], "ann@corp.example");
    assert_eq!(me["name"], "Ann Example");
    assert_eq!(me["idp"], "corp");
    assert_eq!(me["groups"], json!(["eng", "ops"]));
}

#[test]
fn claim_mapping_is_configurable() {
    let fx = Fx::with(json!({"claims": {"subject": "oid", "email": "upn", "name": "display", "groups": "roles"}}));
    fx.idp.set(&format!("{ISSUER}/userinfo"), 200, &json!({"sub": "u-1", "oid": "object-7", "upn": "ann@corp.example", "display": "Ann E.", "roles": "admins"}));
    let code = tmi_code(&fx.login_with(|_| {}));
    let me = userinfo_of(&fx, &code);
    assert_eq!(me["sub"], "object-7");
    assert_eq!(me["name"], "Ann E.");
    assert_eq!(me["groups"], json!(["admins"]));
}

#[test]
fn authorize_sends_our_state_nonce_and_pkce_to_the_provider() {
    let fx = Fx::new();
    let q = fx.authorize();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], "https://auth.example.com/oauth2/callback");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_ne!(q["state"], "client-state");
    assert_ne!(q["code_challenge"], CHALLENGE, "the provider gets our own PKCE challenge");
    assert!(q["nonce"].len() >= 43);
    let claims = fx.claims(&q["nonce"]);
    fx.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &claims));
    tmi_code(&fx.callback(&q["state"]));
    let token_req = fx.idp.last(&format!("{ISSUER}/token"));
    let form: HashMap<String, String> = url::form_urlencoded::parse(&token_req.body).into_owned().collect();
    assert_eq!(form["code"], "upstream-code");
    let challenge = b64url(&<sha2::Sha256 as sha2::Digest>::digest(form["code_verifier"].as_bytes()));
    assert_eq!(challenge, q["code_challenge"]);
    // Discovery lists no methods: client_secret_basic, RFC 8414's default.
    assert_eq!(client_auth(&token_req), "basic");
}

/// How a token request authenticated: `basic`, `post`, or `none`, checking the credentials.
fn client_auth(req: &OutboundRequest) -> &'static str {
    use base64::Engine;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body).into_owned().collect();
    let basic = req.headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone());
    match (basic, form.get("client_secret")) {
        (Some(header), None) => {
            let encoded = header.strip_prefix("Basic ").expect("Basic scheme");
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
            assert_eq!(String::from_utf8(decoded).unwrap(), format!("{CLIENT_ID}:{}", urlencode(SECRET)));
            assert!(!form.contains_key("client_id"));
            "basic"
        }
        (None, Some(secret)) => {
            assert_eq!(secret, SECRET);
            assert_eq!(form["client_id"], CLIENT_ID);
            "post"
        }
        _ => "none",
    }
}

#[test]
fn token_endpoint_authentication_follows_discovery_or_configuration() {
    let login = |fx: &Fx| {
        let q = fx.authorize();
        fx.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &fx.claims(&q["nonce"])));
        tmi_code(&fx.callback(&q["state"]));
        client_auth(&fx.idp.last(&format!("{ISSUER}/token")))
    };
    let with_methods = |methods: Value, provider: Value| {
        let fx = Fx::with(provider);
        fx.idp.set(&format!("{ISSUER}/.well-known/openid-configuration"), 200, &discovery(json!({ "token_endpoint_auth_methods_supported": methods })));
        fx
    };
    assert_eq!(login(&with_methods(json!(["client_secret_post"]), json!({}))), "post");
    assert_eq!(login(&with_methods(json!(["client_secret_post", "client_secret_basic"]), json!({}))), "basic");
    assert_eq!(login(&with_methods(json!(["client_secret_basic"]), json!({"token_endpoint_auth_method": "client_secret_post"}))), "post");
    assert_eq!(login(&with_methods(json!(["client_secret_post"]), json!({"token_endpoint_auth_method": "client_secret_basic"}))), "basic");
}

#[test]
fn the_callback_iss_parameter_must_be_the_providers() {
    let callback = |fx: &Fx, iss: Option<&str>| {
        let q = fx.authorize();
        fx.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &fx.claims(&q["nonce"])));
        let mut target = format!("/oauth2/callback?code=upstream-code&state={}", urlencode(&q["state"]));
        if let Some(iss) = iss {
            target.push_str(&format!("&iss={}", urlencode(iss)));
        }
        fx.handle(&Request::new("GET", &target), T0 + 1)
    };
    // A provider that says it sends iss (RFC 9207) must send its own.
    let fx = Fx::new();
    fx.idp.set(&format!("{ISSUER}/.well-known/openid-configuration"), 200, &discovery(json!({"authorization_response_iss_parameter_supported": true})));
    for iss in [None, Some("https://evil.example")] {
        fx.assert_refused_without_user(&callback(&fx, iss), 502, "upstream_error");
        fx.assert_because(UpstreamRule::CallbackIssuerMismatch);
    }
    tmi_code(&callback(&fx, Some(ISSUER)));
    // One that does not say so may omit it, but a wrong one is still refused (mix-up).
    let fx = Fx::new();
    fx.assert_refused_without_user(&callback(&fx, Some("https://evil.example")), 502, "upstream_error");
    fx.assert_because(UpstreamRule::CallbackIssuerMismatch);
    tmi_code(&callback(&fx, None));
}

#[test]
fn a_refusing_token_endpoint_is_named_in_the_log_not_to_the_client() {
    let fx = Fx::new();
    let q = fx.authorize();
    let body = br#"{"error":"invalid_client","error_description":"client secret expired"}"#.to_vec();
    fx.idp.set_raw(&format!("{ISSUER}/token"), Ok(OutboundResponse { status: 401, headers: vec![], body }));
    let r = fx.callback(&q["state"]);
    fx.assert_refused_without_user(&r, 502, "upstream_error");
    assert!(!String::from_utf8_lossy(&r.body).contains("expired"));
    fx.assert_because(UpstreamRule::Refused {
        endpoint: format!("POST {ISSUER}/token"),
        status: 401,
        error: Some("invalid_client".into()),
        description: Some("client secret expired".into()),
    });
}

#[test]
fn id_token_signed_by_a_foreign_key_is_refused() {
    let fx = Fx::new();
    let q = fx.authorize();
    fx.set_tokens(&sign_rs256(other_rsa_key(), Some("k1"), &fx.claims(&q["nonce"])));
    fx.assert_refused_without_user(&fx.callback(&q["state"]), 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::SignatureInvalid);
}

#[test]
fn unknown_kid_refetches_the_jwks_once_then_refuses() {
    let fx = Fx::new();
    let q = fx.authorize();
    fx.set_tokens(&sign_rs256(other_rsa_key(), Some("k-foreign"), &fx.claims(&q["nonce"])));
    fx.assert_refused_without_user(&fx.callback(&q["state"]), 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::UnknownKid);
    assert_eq!(fx.idp.count(&format!("{ISSUER}/jwks")), 2);
}

#[test]
fn rotated_key_is_found_by_refetching_the_jwks() {
    let fx = Fx::new();
    tmi_code(&fx.login_with(|_| {}));
    fx.idp.set(&format!("{ISSUER}/jwks"), 200, &json!({"keys": [rsa_jwk(rsa_key(), "k1"), rsa_jwk(other_rsa_key(), "k2")]}));
    let q = fx.authorize();
    fx.set_tokens(&sign_rs256(other_rsa_key(), Some("k2"), &fx.claims(&q["nonce"])));
    tmi_code(&fx.callback(&q["state"]));
    assert_eq!(fx.idp.count(&format!("{ISSUER}/jwks")), 2);
}

#[test]
fn discovery_and_jwks_are_cached_for_an_hour() {
    let fx = Fx::new();
    tmi_code(&fx.login_with(|_| {}));
    tmi_code(&fx.login_with(|_| {}));
    let disco = format!("{ISSUER}/.well-known/openid-configuration");
    assert_eq!(fx.idp.count(&disco), 1);
    assert_eq!(fx.idp.count(&format!("{ISSUER}/jwks")), 1);
    let url = format!("/oauth2/authorize?idp=corp&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}", urlencode(CALLBACK));
    assert_eq!(fx.handle(&Request::new("GET", &url), T0 + 3601).status, 302);
    assert_eq!(fx.idp.count(&disco), 2);
}

/// A claims edit that drops `claim`.
fn without(claim: &'static str) -> impl Fn(&mut Value) {
    move |c: &mut Value| {
        c.as_object_mut().unwrap().remove(claim);
    }
}

#[test]
fn wrong_nonce_is_refused() {
    let fx = Fx::new();
    let r = fx.login_with(|c| c["nonce"] = json!("someone-elses-nonce"));
    fx.assert_refused_without_user(&r, 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::NonceMismatch);
    let r = fx.login_with(without("nonce"));
    fx.assert_refused_without_user(&r, 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::NonceMismatch);
}

#[test]
fn id_token_claims_are_checked() {
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(IdTokenRule, Edit)> = vec![
        (IdTokenRule::IssuerMismatch, Box::new(|c| c["iss"] = json!("https://evil.example"))),
        (IdTokenRule::AudienceMismatch, Box::new(|c| c["aud"] = json!("another-client"))),
        (IdTokenRule::AuthorizedPartyMismatch, Box::new(|c| c["aud"] = json!([CLIENT_ID, "other"]))),
        (IdTokenRule::AuthorizedPartyMismatch, Box::new(|c| c["azp"] = json!("other"))),
        (IdTokenRule::Expired, Box::new(|c| c["exp"] = json!(T0 - 60))),
        (IdTokenRule::IssuedInFuture, Box::new(|c| c["iat"] = json!(T0 + 120))),
        (IdTokenRule::NotYetValid, Box::new(|c| c["nbf"] = json!(T0 + 120))),
        (IdTokenRule::Expired, Box::new(without("exp"))),
    ];
    for (rule, edit) in cases {
        let fx = Fx::new();
        let r = fx.login_with(|c| edit(c));
        fx.assert_refused_without_user(&r, 502, "upstream_error");
        fx.assert_id_token(rule);
    }
}

#[test]
fn clock_skew_of_sixty_seconds_is_tolerated() {
    let fx = Fx::new();
    tmi_code(&fx.login_with(|c| {
        c["exp"] = json!(T0 - 30);
        c["iat"] = json!(T0 + 50);
        c["aud"] = json!([CLIENT_ID, "other"]);
        c["azp"] = json!(CLIENT_ID);
    }));
}

#[test]
fn none_and_hmac_algorithms_are_refused() {
    for alg in ["none", "HS256", "RS512"] {
        let fx = Fx::new();
        let q = fx.authorize();
        let input = signing_input(alg, Some("k1"), &fx.claims(&q["nonce"]));
        fx.set_tokens(&format!("{input}.{}", b64url(b"sig")));
        fx.assert_refused_without_user(&fx.callback(&q["state"]), 502, "upstream_error");
        fx.assert_id_token(IdTokenRule::AlgorithmRefused);
    }
}

/// Start a login whose ID token is ES256-signed by a fresh key that the
/// provider's JWKS publishes; returns the authorize parameters.
fn es256_login(fx: &Fx) -> HashMap<String, String> {
    use p256::ecdsa::signature::Signer;
    let sk = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let point = sk.verifying_key().to_encoded_point(false);
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "e1", "x": b64url(point.x().unwrap()), "y": b64url(point.y().unwrap())});
    fx.idp.set(&format!("{ISSUER}/jwks"), 200, &json!({"keys": [jwk]}));
    let q = fx.authorize();
    let input = signing_input("ES256", Some("e1"), &fx.claims(&q["nonce"]));
    let sig: p256::ecdsa::Signature = sk.sign(input.as_bytes());
    fx.set_tokens(&format!("{input}.{}", b64url(&sig.to_bytes())));
    q
}

#[test]
fn algorithms_not_listed_for_the_provider_are_refused() {
    let fx = Fx::new(); // discovery lists RS256 only
    let q = es256_login(&fx);
    fx.assert_refused_without_user(&fx.callback(&q["state"]), 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::AlgorithmNotAllowed);
}

#[test]
fn es256_id_tokens_verify() {
    let fx = Fx::new();
    fx.idp.set(&format!("{ISSUER}/.well-known/openid-configuration"), 200, &discovery(json!({"id_token_signing_alg_values_supported": ["ES256"]})));
    let q = es256_login(&fx);
    tmi_code(&fx.callback(&q["state"]));
}

#[test]
fn ps256_id_tokens_verify() {
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    let fx = Fx::new();
    fx.idp.set(&format!("{ISSUER}/.well-known/openid-configuration"), 200, &discovery(json!({"id_token_signing_alg_values_supported": ["PS256", "RS256"]})));
    let mut jwk = rsa_jwk(rsa_key(), "k1");
    jwk.as_object_mut().unwrap().remove("alg");
    fx.idp.set(&format!("{ISSUER}/jwks"), 200, &json!({"keys": [jwk]}));
    let q = fx.authorize();
    let input = signing_input("PS256", Some("k1"), &fx.claims(&q["nonce"]));
    let signer = rsa::pss::SigningKey::<sha2::Sha256>::new(rsa_key().clone());
    let sig = signer.sign_with_rng(&mut rand_core::OsRng, input.as_bytes()).to_bytes();
    fx.set_tokens(&format!("{input}.{}", b64url(&sig)));
    tmi_code(&fx.callback(&q["state"]));
    // The same signature presented as RS256 does not verify.
    let q = fx.authorize();
    let input = signing_input("PS256", Some("k1"), &fx.claims(&q["nonce"]));
    let sig = signer.sign_with_rng(&mut rand_core::OsRng, input.as_bytes()).to_bytes();
    let forged = format!("{}.{}", signing_input("RS256", Some("k1"), &fx.claims(&q["nonce"])), b64url(&sig));
    fx.set_tokens(&forged);
    assert_error(&fx.callback(&q["state"]), 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::SignatureInvalid);
}

#[test]
fn eddsa_id_tokens_verify() {
    use ed25519_dalek::Signer;
    let fx = Fx::with(json!({"algorithms": ["EdDSA"]}));
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "d1", "x": b64url(sk.verifying_key().as_bytes())});
    fx.idp.set(&format!("{ISSUER}/jwks"), 200, &json!({"keys": [jwk]}));
    let q = fx.authorize();
    let input = signing_input("EdDSA", Some("d1"), &fx.claims(&q["nonce"]));
    fx.set_tokens(&format!("{input}.{}", b64url(&sk.sign(input.as_bytes()).to_bytes())));
    tmi_code(&fx.callback(&q["state"]));
}

#[test]
fn kid_is_required_when_the_jwks_has_several_keys() {
    let fx = Fx::new();
    fx.idp.set(&format!("{ISSUER}/jwks"), 200, &json!({"keys": [rsa_jwk(rsa_key(), "k1"), rsa_jwk(other_rsa_key(), "k2")]}));
    let q = fx.authorize();
    fx.set_tokens(&sign_rs256(rsa_key(), None, &fx.claims(&q["nonce"])));
    fx.assert_refused_without_user(&fx.callback(&q["state"]), 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::AmbiguousKey);

    let fx = Fx::new(); // one key: no kid is fine
    let q = fx.authorize();
    fx.set_tokens(&sign_rs256(rsa_key(), None, &fx.claims(&q["nonce"])));
    tmi_code(&fx.callback(&q["state"]));
}

#[test]
fn upstream_failures_are_502_and_create_no_user() {
    let token_url = format!("{ISSUER}/token");
    let answers: Vec<(&str, Result<OutboundResponse, HttpError>)> = vec![
        ("unreachable", Err(HttpError::Unreachable("connection refused".into()))),
        ("timeout", Err(HttpError::Timeout)),
        ("denied by the host", Err(HttpError::Denied)),
        ("500", Ok(OutboundResponse { status: 500, headers: vec![], body: br#"{"error":"server_error","detail":"idp.example stack"}"#.to_vec() })),
        ("401", Ok(OutboundResponse { status: 401, headers: vec![], body: br#"{"error":"invalid_client"}"#.to_vec() })),
        ("malformed JSON", Ok(OutboundResponse { status: 200, headers: vec![], body: b"{not json idp.example".to_vec() })),
        ("no access token", Ok(OutboundResponse { status: 200, headers: vec![], body: br#"{"token_type":"Bearer"}"#.to_vec() })),
    ];
    for (why, answer) in answers {
        let fx = Fx::new();
        let q = fx.authorize();
        fx.idp.set_raw(&token_url, answer);
        let r = fx.callback(&q["state"]);
        assert_eq!(r.status, 502, "{why}");
        fx.assert_refused_without_user(&r, 502, "upstream_error");
    }
}

#[test]
fn unreachable_discovery_fails_authorize_with_502() {
    let fx = Fx::new();
    fx.idp.set_raw(&format!("{ISSUER}/.well-known/openid-configuration"), Err(HttpError::Denied));
    let url = format!("/oauth2/authorize?idp=corp&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}", urlencode(CALLBACK));
    fx.assert_refused_without_user(&fx.handle(&Request::new("GET", &url), T0), 502, "upstream_error");
}

#[test]
fn discovery_with_another_issuer_is_refused() {
    let fx = Fx::new();
    fx.idp.set(&format!("{ISSUER}/.well-known/openid-configuration"), 200, &discovery(json!({"issuer": "https://evil.example"})));
    let url = format!("/oauth2/authorize?idp=corp&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}", urlencode(CALLBACK));
    assert_error(&fx.handle(&Request::new("GET", &url), T0), 502, "upstream_error");
}

#[test]
fn missing_email_is_refused_without_user() {
    let fx = Fx::new();
    fx.idp.set(&format!("{ISSUER}/userinfo"), 200, &json!({"sub": "u-1", "name": "Ann"}));
    let r = fx.login_with(without("email"));
    fx.assert_refused_without_user(&r, 502, "upstream_error");
    fx.assert_because(UpstreamRule::NoEmail);
}

#[test]
fn userinfo_for_another_subject_is_refused() {
    let fx = Fx::new();
    fx.idp.set(&format!("{ISSUER}/userinfo"), 200, &json!({"sub": "someone-else", "email": "x@corp.example"}));
    fx.assert_refused_without_user(&fx.login_with(|_| {}), 502, "upstream_error");
    fx.assert_because(UpstreamRule::UserinfoSubjectMismatch);
}

#[test]
fn provider_refusing_the_code_is_invalid_grant() {
    let fx = Fx::new();
    let q = fx.authorize();
    fx.idp.set(&format!("{ISSUER}/token"), 400, &json!({"error": "invalid_grant"}));
    fx.assert_refused_without_user(&fx.callback(&q["state"]), 400, "invalid_grant");
}

#[test]
fn provider_error_is_redirected_to_the_client() {
    let fx = Fx::new();
    let q = fx.authorize();
    let r = fx.handle(&Request::new("GET", &format!("/oauth2/callback?error=access_denied&state={}", urlencode(&q["state"]))), T0);
    assert_eq!(r.status, 302);
    let location = r.header_value("location").unwrap();
    assert!(location.starts_with(CALLBACK) && location.contains("error=access_denied") && location.contains("state=client-state"));
    assert_eq!(fx.users(), 0);
}

fn direct_exchange(fx: &Fx, now: u64) -> Response {
    let body = format!("grant_type=authorization_code&code=provider-code&redirect_uri={}&code_verifier={VERIFIER}", urlencode(CALLBACK));
    let req = Request::new("POST", "/oauth2/token?idp=corp")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body);
    fx.handle(&req, now)
}

#[test]
fn provider_code_exchanged_directly_yields_tokens() {
    let fx = Fx::new();
    let mut claims = fx.claims("client-chosen-nonce");
    claims.as_object_mut().unwrap().remove("nonce");
    fx.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &claims));
    let r = direct_exchange(&fx, T0);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(body_json(&r)["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
    let form: HashMap<String, String> = url::form_urlencoded::parse(&fx.idp.last(&format!("{ISSUER}/token")).body).into_owned().collect();
    assert_eq!(form["redirect_uri"], CALLBACK);
    assert_eq!(form["code_verifier"], VERIFIER);
}

#[test]
fn direct_exchange_checks_the_id_token_too() {
    let fx = Fx::new();
    fx.set_tokens(&sign_rs256(other_rsa_key(), Some("k1"), &fx.claims("n")));
    fx.assert_refused_without_user(&direct_exchange(&fx, T0), 502, "upstream_error");
}

#[test]
fn replayed_nonce_is_refused() {
    let fx = Fx::new();
    fx.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &fx.claims("nonce-once")));
    assert_eq!(direct_exchange(&fx, T0).status, 200);
    let users = fx.users();
    fx.idp.set(&format!("{ISSUER}/userinfo"), 200, &json!({"sub": "u-1", "email": "ann@corp.example", "groups": ["replay-group"]}));
    let r = direct_exchange(&fx, T0 + 1);
    assert_error(&r, 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::NonceReused);
    assert_eq!(fx.users(), users);
}

#[test]
fn github_uses_the_primary_verified_email() {
    let fx = Fx::with(json!({"kind": "github", "issuer": null, "id": "corp"}));
    fx.idp.set("https://github.com/login/oauth/access_token", 200, &json!({"access_token": "gho_1", "token_type": "bearer"}));
    fx.idp.set("https://api.github.com/user", 200, &json!({"id": 4242, "login": "octo", "name": null, "email": null}));
    fx.idp.set("https://api.github.com/user/emails", 200, &json!([
        {"email": "old@x.example", "primary": false, "verified": true},
        {"email": "octo@x.example", "primary": true, "verified": true}]));
    let url = format!("/oauth2/authorize?idp=corp&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}", urlencode(CALLBACK));
    let r = fx.handle(&Request::new("GET", &url), T0);
    let location = url::Url::parse(r.header_value("location").unwrap()).unwrap();
    assert!(location.as_str().starts_with("https://github.com/login/oauth/authorize?"));
    let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert!(!q.contains_key("nonce") && !q.contains_key("code_challenge"));
    let code = tmi_code(&fx.callback(&q["state"]));
    let token_req = fx.idp.last("https://github.com/login/oauth/access_token");
    assert!(token_req.headers.contains(&("accept".into(), "application/json".into())));
    assert!(fx.idp.last("https://api.github.com/user").headers.iter().any(|(n, _)| n == "user-agent"));
    let me = userinfo_of(&fx, &code);
    assert_eq!(me["sub"], "4242");
    assert_eq!(me["email"], "octo@x.example");
    assert_eq!(me["name"], "octo");
}

#[test]
fn github_without_a_verified_primary_email_is_refused() {
    let fx = Fx::with(json!({"kind": "github", "issuer": null}));
    fx.idp.set("https://github.com/login/oauth/access_token", 200, &json!({"access_token": "gho_1"}));
    fx.idp.set("https://api.github.com/user", 200, &json!({"id": 1, "login": "octo", "email": "public@x.example"}));
    fx.idp.set("https://api.github.com/user/emails", 200, &json!([{"email": "octo@x.example", "primary": true, "verified": false}]));
    let url = format!("/oauth2/authorize?idp=corp&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}", urlencode(CALLBACK));
    let r = fx.handle(&Request::new("GET", &url), T0);
    let location = url::Url::parse(r.header_value("location").unwrap()).unwrap();
    let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
    fx.assert_refused_without_user(&fx.callback(&q["state"]), 502, "upstream_error");
}

#[test]
fn providers_list_shows_enabled_upstream_providers() {
    let fx = Fx::new();
    let list = body_json(&fx.handle(&Request::new("GET", "/oauth2/providers"), T0));
    let p = &list["providers"][0];
    assert_eq!(p["id"], "corp");
    assert_eq!(p["name"], "Corp SSO");
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["auth_url"], "https://auth.example.com/oauth2/authorize?idp=corp");
    let disabled = Fx::with(json!({"enabled": false}));
    let list = body_json(&disabled.handle(&Request::new("GET", "/oauth2/providers"), T0));
    assert_eq!(list["providers"], json!([]));
}

#[test]
fn microsoft_tenant_issuer_comes_from_discovery() {
    let ms = "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0";
    let guid_issuer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";
    let providers = json!([{"id": "corp", "kind": "microsoft", "client_id": CLIENT_ID, "tenant": "contoso.onmicrosoft.com"}]).to_string();
    let config = Config::from_pairs([
        ("base_url", "https://auth.example.com"),
        ("client_callback_allowlist", CALLBACK),
        ("oauth_providers", providers.as_str()),
        ("oauth_corp_client_secret", SECRET),
    ])
    .unwrap();
    let fx = Fx { svc: Service::new(config), w: TestWorld::default(), idp: FakeIdp::default(), refusal: Mutex::new(None) };
    let mut d = discovery(json!({"issuer": guid_issuer}));
    d["jwks_uri"] = json!(format!("{ISSUER}/jwks"));
    fx.idp.set(&format!("{ms}/.well-known/openid-configuration"), 200, &d);
    fx.idp.set(&format!("{ISSUER}/jwks"), 200, &json!({"keys": [rsa_jwk(rsa_key(), "k1")]}));
    fx.idp.set(&format!("{ISSUER}/userinfo"), 200, &json!({"sub": "u-1", "email": "ann@contoso.example"}));
    let q = fx.authorize();
    let mut claims = fx.claims(&q["nonce"]);
    claims["iss"] = json!(guid_issuer);
    fx.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &claims));
    tmi_code(&fx.callback(&q["state"]));
    // Another tenant's token is refused.
    let q = fx.authorize();
    let mut claims = fx.claims(&q["nonce"]);
    claims["iss"] = json!("https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0");
    fx.set_tokens(&sign_rs256(rsa_key(), Some("k1"), &claims));
    assert_error(&fx.callback(&q["state"]), 502, "upstream_error");
    fx.assert_id_token(IdTokenRule::IssuerMismatch);
}
