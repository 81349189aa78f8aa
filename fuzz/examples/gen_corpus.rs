//! Writes the kept seed corpus under fuzz/corpus/<target>/ (run from the
//! repository root; overwrites the generated seeds, keeps the others):
//!
//!     cargo +nightly run --release --manifest-path fuzz/Cargo.toml \
//!         --target-dir fuzz/target --example gen_corpus
//!
//! No private key is written: SAML inputs are signed at run time by the
//! targets (`!sign`, `{signed}`, `{saml_response}` directives), ID tokens
//! carry only public JWKs. Signed SAML documents written verbatim verify
//! only in the process that wrote them (the test keys are made per run);
//! they still seed the parsers and canonicalisation.

use std::fs;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use tmi_auth_core::saml::test_support as idp;
use tmi_auth_fuzz::*;

fn write(target: &str, name: &str, data: impl AsRef<[u8]>) {
    let dir = Path::new("fuzz/corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    let data = data.as_ref();
    assert!(!String::from_utf8_lossy(data).contains("PRIVATE KEY"), "{target}/{name}: key material");
    fs::write(dir.join(name), data).unwrap();
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn requests(parts: &[String]) -> Vec<u8> {
    parts.join(std::str::from_utf8(SEPARATOR).unwrap()).into_bytes()
}

fn service_request() {
    let authorize = format!(
        "GET /oauth2/authorize?idp=test&scope=openid%20email&code_challenge={CHALLENGE}&code_challenge_method=S256&client_callback={}&login_hint=alice&state=client-state",
        urlencode(CALLBACK)
    );
    let token = format!(
        "POST /oauth2/token\ncontent-type: application/json\n\n{}",
        json!({"grant_type": "authorization_code", "code": "{code}", "code_verifier": VERIFIER, "redirect_uri": CALLBACK})
    );
    let login = [authorize.clone(), "GET {location}".to_string(), token.clone()];
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "login_refresh_revoke",
            requests(
                &[
                    &login[..],
                    &[
                        "GET /oauth2/userinfo\nauthorization: Bearer {access_token}".into(),
                        "POST /oauth2/refresh\ncontent-type: application/json\n\n{\"refresh_token\":\"{refresh_token}\"}".into(),
                        "POST /oauth2/introspect\ncontent-type: application/x-www-form-urlencoded\n\ntoken={access_token}&token_type_hint=access_token".into(),
                        "POST /oauth2/revoke\ncontent-type: application/json\n\n{\"token\":\"{refresh_token}\"}".into(),
                    ],
                ]
                .concat(),
            ),
        ),
        (
            "client_credentials",
            requests(
                &[
                    &login[..],
                    &[
                        "POST /client-credentials\ncontent-type: application/json\nauthorization: Bearer {access_token}\n\n{\"name\":\"fuzz\",\"description\":\"d\"}".into(),
                        "GET /client-credentials\nauthorization: Bearer {access_token}".into(),
                        "POST /oauth2/token\ncontent-type: application/x-www-form-urlencoded\n\ngrant_type=client_credentials&client_id={client_id}&client_secret={client_secret}".into(),
                        "POST /oauth2/introspect\ncontent-type: application/x-www-form-urlencoded\n\ntoken={access_token}".into(),
                        "DELETE /client-credentials/{id}\nauthorization: Bearer {access_token}".into(),
                    ],
                ]
                .concat(),
            ),
        ),
        (
            "form_token_basic_auth",
            requests(&[
                authorize.clone(),
                "GET {location}".into(),
                format!(
                    "POST /oauth2/token?idp=test\ncontent-type: application/x-www-form-urlencoded\nauthorization: Basic Zm9vOmJhcg==\nx-tmi-client-ip: 192.0.2.1\n\ngrant_type=authorization_code&code={{code}}&code_verifier={VERIFIER}&redirect_uri={}",
                    urlencode(CALLBACK)
                ),
                "GET /users/me\nauthorization: Bearer {access_token}".into(),
                "GET /oauth2/providers/test/groups\nauthorization: Bearer {access_token}".into(),
            ]),
        ),
        (
            "saml_login_and_logout",
            requests(&[
                format!(
                    "GET /saml/corp-idp/login?client_callback={}&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256",
                    urlencode(CALLBACK)
                ),
                "POST /saml/acs\ncontent-type: application/x-www-form-urlencoded\n\nSAMLResponse={saml_response}&RelayState={RelayState}".into(),
                token.clone(),
                "GET /users/me\nauthorization: Bearer {access_token}".into(),
                "GET /saml/slo?{slo_signed}".into(),
                "POST /oauth2/refresh\ncontent-type: application/json\n\n{\"refresh_token\":\"{refresh_token}\"}".into(),
            ]),
        ),
        (
            "saml_login_fragment",
            requests(&[
                format!("GET /saml/corp-idp/login?client_callback={}&state=s2", urlencode(CALLBACK)),
                "POST /saml/acs\ncontent-type: application/x-www-form-urlencoded\n\nSAMLResponse={saml_response}&RelayState={RelayState}".into(),
                "POST /saml/acs\ncontent-type: application/x-www-form-urlencoded\n\nSAMLResponse={saml_response}&RelayState={RelayState}".into(),
                "POST /oauth2/revoke\ncontent-type: application/x-www-form-urlencoded\n\ntoken={access_token}".into(),
            ]),
        ),
        (
            "saml_idp_initiated",
            requests(&["POST /saml/acs\ncontent-type: application/x-www-form-urlencoded\n\nSAMLResponse={saml_response}".into()]),
        ),
        (
            "saml_slo_post",
            requests(&[format!(
                "POST /saml/slo\ncontent-type: application/x-www-form-urlencoded\n\nSAMLRequest={}",
                urlencode(&STANDARD.encode(logout_request("_l1", "alice@corp.example")))
            )]),
        ),
        (
            "discovery",
            requests(&[
                "GET /.well-known/openid-configuration".into(),
                "GET /.well-known/oauth-authorization-server".into(),
                "GET /.well-known/oauth-protected-resource".into(),
                "GET /.well-known/jwks.json".into(),
                "GET /healthz".into(),
                "GET /oauth2/providers".into(),
                "GET /saml/providers".into(),
                "GET /saml/corp-idp/metadata".into(),
            ]),
        ),
        (
            "callback_error",
            requests(&[
                authorize.clone(),
                "GET /oauth2/callback?state={state}&error=access_denied&error_description=no".into(),
            ]),
        ),
        (
            "bad_requests",
            requests(&[
                "POST /oauth2/token\ncontent-type: application/json\n\n{\"grant_type\":\"refresh_token\",\"grant_type\":1}".into(),
                "POST /oauth2/token\ncontent-type: text/plain\n\ngrant_type=password".into(),
                "PUT /oauth2/authorize?idp=test".into(),
                "GET /oauth2/authorize?idp=test&idp=test".into(),
                "POST /oauth2/introspect\ncontent-type: application/x-www-form-urlencoded\n\ntoken=a.b.c".into(),
                "GET /oauth2/userinfo\nauthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x".into(),
                "POST /saml/acs\ncontent-type: application/x-www-form-urlencoded\n\nSAMLResponse=PHg%2B&RelayState=r".into(),
                "GET /saml/slo?SAMLRequest=fZA&SigAlg=x&Signature=AAAA".into(),
            ]),
        ),
    ];
    let svc = service();
    for (name, data) in seeds {
        let mut statuses = Vec::new();
        run_requests(&svc, &data, |req, r| statuses.push(format!("{} {} {}", req.method, req.path, r.status)));
        println!("service_request/{name}: {}", statuses.join(", "));
        write("service_request", name, data);
    }
}

fn form_params() {
    write("form_params", "oauth", format!("grant_type=authorization_code&code=abc&code_verifier={VERIFIER}&redirect_uri={}", urlencode(CALLBACK)));
    write("form_params", "encoded", "a=%20b+c&%E2%82%AC=%F0%9F%98%80&empty=&flag&=v&x=%zz");
    write("form_params", "repeated", "state=1&state=2");
    write("form_params", "saml", "SAMLResponse=PHNhbWxwOlJlc3BvbnNlLz4%3D&RelayState=abc");
}

fn saml_response() {
    let spec = idp::ResponseSpec::new(Some("_request"), NOW);
    let signed = spec.signed();
    write("saml_response", "signed.xml", &signed);
    write("saml_response", "signed.b64", STANDARD.encode(&signed));
    let unsigned = spec.response_with(&spec.assertion());
    let id = &spec.assertion_id;
    write("saml_response", "sign_assertion", format!("!sign {id}\n{unsigned}"));
    write("saml_response", "sign_response", format!("!sign _r{id}\n{unsigned}"));
    write("saml_response", "sign_both", format!("!sign {id}\n!sign _r{id}\n{unsigned}"));
    write("saml_response", "encrypted_assertion", format!("!sign {id}\n!encrypt\n{unsigned}"));
    write("saml_response", "encrypted_unsigned_assertion", format!("!encrypt\n!sign _r{id}\n{unsigned}"));
    let mut failed = spec.clone();
    failed.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
    write("saml_response", "status_failed", format!("!sign {id}\n{}", failed.response_with(&failed.assertion())));
    // What each directive seed leads to, in this process.
    let svc = service();
    let provider = &svc.config().saml_providers[0];
    for name in ["sign_assertion", "sign_response", "sign_both", "encrypted_assertion", "encrypted_unsigned_assertion", "status_failed"] {
        let doc = apply_saml_directives(&fs::read(Path::new("fuzz/corpus/saml_response").join(name)).unwrap());
        let root = tmi_auth_core::saml::dom::parse(&doc).unwrap();
        let result = tmi_auth_core::saml::response::validate(&root, provider, NOW + 5, &tmi_auth_core::testing::SeqRandom::default());
        println!("saml_response/{name}: {:?}", result.map(|l| l.name_id));
    }
}

fn saml_redirect() {
    let xml = logout_request("_l1", "alice@corp.example");
    write("saml_redirect", "signed", format!("{{signed}}\n{xml}"));
    write("saml_redirect", "signed_other_name", format!("{{signed}}\n{}", logout_request("_l2", "bob@corp.example")));
    write(
        "saml_redirect",
        "unsigned",
        format!("SAMLRequest={{request}}&RelayState=r&SigAlg={}&Signature=AAAA\n{xml}", urlencode(tmi_auth_core::saml::ALG_RSA_SHA256)),
    );
    write("saml_redirect", "raw_deflate", tmi_auth_core::saml::authn_request::deflate(xml.as_bytes()));
    let query = signed_redirect_query(&xml, "relay").unwrap();
    write("saml_redirect", "literal_query", format!("{query}\n"));
}

fn idp_metadata() {
    let metadata = idp::idp_metadata();
    write("idp_metadata", "test_idp.xml", &metadata);
    let two_keys = metadata.replace(
        r#"<md:SingleLogoutService"#,
        concat!(
            r#"<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>MIIB</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.org/slo-post"/>"#,
            "\n    <md:SingleLogoutService"
        ),
    );
    write("idp_metadata", "more_keys.xml", two_keys);
    write(
        "idp_metadata",
        "descriptors.xml",
        r#"<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="urn:x"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://a.example/sso"/></IDPSSODescriptor></EntityDescriptor></EntitiesDescriptor>"#,
    );
}

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn jws(alg: &str, kid: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let claims = json!({
        "iss": "https://login.example.com/tenant-1/v2.0", "tid": "tenant-1", "aud": [ID_TOKEN_CLIENT], "azp": ID_TOKEN_CLIENT,
        "sub": "alice", "exp": NOW + 300, "iat": NOW, "nbf": NOW - 10, "nonce": ID_TOKEN_NONCE, "email": "alice@example.com",
    });
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn id_token() {
    use rsa::traits::PublicKeyParts;
    // RS256 and PS256 with the SAML test IdP's key (made now, not kept).
    let key = idp::other_key().clone();
    let public = rsa::RsaPublicKey::from(&key);
    let rsa_jwk = json!({"kty": "RSA", "use": "sig", "kid": "r1", "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be())});
    let rs256 = jws("RS256", "r1", |m| {
        use rsa::signature::{SignatureEncoding, Signer};
        rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone()).sign(m).to_vec()
    });
    let ps256 = jws("PS256", "r1", |m| {
        use rsa::signature::{RandomizedSigner, SignatureEncoding};
        let mut rng = rsa::rand_core::OsRng;
        rsa::pss::SigningKey::<sha2::Sha256>::new(key.clone()).sign_with_rng(&mut rng, m).to_vec()
    });
    // ES256 and EdDSA with fixed test scalars (the seeds carry public keys only).
    let ec = p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
    let point = ec.verifying_key().to_encoded_point(false);
    let ec_jwk = json!({"kty": "EC", "crv": "P-256", "kid": "e1", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())});
    let es256 = jws("ES256", "e1", |m| {
        use p256::ecdsa::signature::Signer;
        let s: p256::ecdsa::Signature = ec.sign(m);
        s.to_bytes().to_vec()
    });
    let ed = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let ed_jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "o1", "alg": "EdDSA", "x": b64(ed.verifying_key().as_bytes())});
    let eddsa = jws("EdDSA", "o1", |m| {
        use ed25519_dalek::Signer;
        ed.sign(m).to_bytes().to_vec()
    });
    let jwks = json!({"keys": [rsa_jwk, ec_jwk, ed_jwk]}).to_string();
    write("id_token", "rs256", format!("{rs256}\n{jwks}"));
    write("id_token", "ps256", format!("{ps256}\n{jwks}"));
    write("id_token", "es256", format!("{es256}\n{jwks}"));
    write("id_token", "eddsa", format!("{eddsa}\n{jwks}"));
    let single = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64(ed.verifying_key().as_bytes())}]}).to_string();
    let no_kid = {
        let header = b64(br#"{"alg":"EdDSA"}"#);
        let claims = b64(json!({"iss": ID_TOKEN_ALT_ISSUER, "aud": ID_TOKEN_CLIENT, "exp": NOW + 60, "iat": NOW}).to_string().as_bytes());
        let input = format!("{header}.{claims}");
        use ed25519_dalek::Signer;
        format!("{input}.{}", b64(&ed.sign(input.as_bytes()).to_bytes()))
    };
    write("id_token", "eddsa_no_kid", format!("{no_kid}\n{single}"));
    write("id_token", "alg_none", format!("{}.{}.\n{{\"keys\":[]}}", b64(br#"{"alg":"none"}"#), b64(br#"{"iss":"x"}"#)));
}

fn config() {
    write(
        "config",
        "minimal.toml",
        "base_url = \"http://127.0.0.1:8080\"\ndev_mode = true\nrate_limit_ip = \"100/60\"\nrate_limit_user = \"off\"\naccess_token_lifetime = 3600\nadmins = \"admin@example.com, ops\"\n",
    );
    write(
        "config",
        "oauth_providers.toml",
        r#"base_url = "https://auth.example.com/"
token_audience = "tmi"
client_callback_allowlist = "https://app.example.com/cb, https://*.example.org/"
client_secret_pepper = "fuzz-pepper-fuzz-pepper-fuzz-pepper"
upstream_timeout = 10
refresh_grace_period = 5
allowed_outbound_hosts = ["accounts.google.com", "idp.example.com:8443"]
oauth_google_client_secret = "not-a-secret"
oauth_github_client_secret = "not-a-secret"
oauth_microsoft_client_secret = "not-a-secret"
oauth_corp_sso_client_secret = "not-a-secret"

[[keys]]
kid = "k1"
alg = "ES256"
secret = "jwt_key_k1"

[[oauth_providers]]
id = "google"
kind = "google"
client_id = "1234.apps.googleusercontent.com"

[[oauth_providers]]
id = "github"
kind = "github"
client_id = "Iv1.abc"

[[oauth_providers]]
id = "microsoft"
kind = "microsoft"
tenant = "contoso.onmicrosoft.com"
client_id = "00000000-0000-0000-0000-000000000000"

[[oauth_providers]]
id = "corp-sso"
kind = "oidc"
name = "Corp SSO"
icon = "fa-solid fa-building"
client_id = "tmi"
issuer = "https://idp.example.com"
scopes = ["openid", "email", "profile", "groups"]
algorithms = ["RS256", "ES256"]
pkce = true
claims = { subject = "sub", email = "email", email_verified = "email_verified", name = "name", groups = "groups" }
"#,
    );
    write(
        "config",
        "saml_provider.toml",
        r#"base_url = "https://auth.example.com"
dev_mode = true
saml_corp_idp_sp_key = """{sp_key}"""
saml_corp_idp_sp_cert = """{sp_cert}"""

[[saml_providers]]
id = "corp-idp"
name = "Corp SSO"
idp_metadata = '''{idp_metadata}'''
sign_authn_requests = true
allow_idp_initiated = false
clock_skew = 180
allow_sha1 = false
name_id_format = "emailAddress"
attributes = { email = "mail", name = "displayName", groups = ["groups", "memberOf"] }
"#,
    );
}

fn main() {
    service_request();
    form_params();
    saml_response();
    saml_redirect();
    idp_metadata();
    id_token();
    config();
}
