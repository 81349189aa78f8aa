//! Covers configuration parsing: `Config::from_pairs` (URLs, lists, limits, `oauth_providers` and `saml_providers` JSON with IdP metadata, SP keys and certificates) fed by the host's TOML-file mapping (`toml::from_str::<toml::Table>` and the value rules of host/src/settings.rs) and by arbitrary key/value pairs, then `Service::new`, the endpoints that render the configuration, a login through the test provider and SAML Response validation under it.
//!
//! Input: a TOML file; `{sp_key}`, `{sp_cert}` and `{idp_metadata}` stand
//! for the SAML test IdP's values made at run time (no key material in
//! the corpus). The same bytes are also read with `arbitrary` as a list of
//! pairs whose keys are mostly `config::KEYS`.
//!
//! Not `tmi_auth_host::settings::Settings::load` itself: the host crate
//! depends on wasmtime, far too heavy to build with coverage
//! instrumentation; `toml_pairs` mirrors its `merge_toml`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use tmi_auth_core::config::{self, KEYS};
use tmi_auth_core::saml::test_support as idp;
use tmi_auth_core::saml::{dom, response};
use tmi_auth_core::testing::{SeqRandom, TestWorld};
use tmi_auth_core::{Config, Request, Service};
use tmi_auth_fuzz::{parse_request, signed_saml_response, split, Flow, NOW, SEPARATOR};

thread_local! {
    static SAML: (String, String, String) = {
        let _ = signed_saml_response(None);
        let pairs = idp::saml_pairs("");
        (pairs[1].1.clone(), pairs[2].1.clone(), idp::idp_metadata())
    };
}

/// Keys the host reads itself (host/src/settings.rs `HOST_KEYS`).
const HOST_KEYS: &[&str] = &["keys", "allowed_outbound_hosts"];

/// The host's `merge_toml`: scalars as text, arrays and tables as compact JSON.
fn toml_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let mut pairs = Vec::new();
    for (key, value) in table {
        if key == "keys" {
            continue;
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Datetime(d) => d.to_string(),
            v @ (toml::Value::Array(_) | toml::Value::Table(_)) => serde_json::to_string(&v).ok()?,
        };
        if key == "allowed_outbound_hosts" {
            let _ = serde_json::from_str::<Vec<String>>(&text);
        }
        pairs.push((key, text));
    }
    Some(pairs)
}

#[derive(Arbitrary, Debug)]
enum Key {
    Known(u8),
    Other(String),
}

fn arbitrary_pairs(data: &[u8]) -> Vec<(String, String)> {
    let mut u = Unstructured::new(data);
    let Ok(list) = Vec::<(Key, String)>::arbitrary(&mut u) else { return Vec::new() };
    list.into_iter()
        .map(|(k, v)| {
            let key = match k {
                Key::Known(i) => KEYS[i as usize % KEYS.len()].to_string(),
                Key::Other(s) => s,
            };
            (key, v)
        })
        .collect()
}

fn exercise(pairs: &[(String, String)]) {
    let iter = || pairs.iter().filter(|(k, _)| !HOST_KEYS.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v.as_str()));
    let _ = config::secret_names(iter());
    let Ok(config) = Config::from_pairs(iter()) else { return };
    let again = Config::from_pairs(iter()).expect("parsing is deterministic");
    assert_eq!(config, again);
    let svc = Service::new(config);
    let world = TestWorld::default();
    let mut paths = vec![
        "/oauth2/providers".to_string(),
        "/saml/providers".into(),
        "/.well-known/openid-configuration".into(),
        "/.well-known/oauth-authorization-server".into(),
    ];
    paths.extend(svc.config().saml_providers.iter().take(2).map(|p| format!("/saml/{}/metadata", p.id)));
    for path in paths {
        let r = svc.handle(&Request::new("GET", &path), &world.at(NOW));
        assert!(r.status < 500, "{path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
    }
    // What the configuration's numbers do to a login (lifetimes, limits,
    // clock skew): one through the test provider, one SAML Response per
    // SAML provider. A configuration the core accepts must not fail them
    // with a server error.
    if svc.config().test_provider {
        let world = TestWorld::default();
        let mut flow = Flow::default();
        for (i, chunk) in split(LOGIN.as_bytes(), SEPARATOR).enumerate() {
            let req = parse_request(&flow.substitute(chunk));
            let r = svc.handle(&req, &world.at(NOW + i as u64));
            assert!(r.status < 500, "{} {}: {} {}", req.method, req.path, r.status, String::from_utf8_lossy(&r.body));
            flow.learn(&r);
        }
    }
    if !svc.config().saml_providers.is_empty() {
        let root = dom::parse(signed_saml_response(None).as_bytes()).expect("signed Response");
        for p in svc.config().saml_providers.iter().take(2) {
            if let Err(e) = response::validate(&root, p, NOW + 5, &SeqRandom::default()) {
                assert!(e.status() < 500, "{e:?}");
            }
        }
    }
}

/// A login through the test provider, a refresh and a userinfo.
const LOGIN: &str = concat!(
    "GET /oauth2/authorize?idp=test&scope=openid%20email&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "&code_challenge_method=S256&client_callback=http%3A%2F%2Flocalhost%3A4200%2Fcb&login_hint=alice&state=s1",
    "\n~~~\nGET {location}",
    "\n~~~\nPOST /oauth2/token\ncontent-type: application/x-www-form-urlencoded\n\ngrant_type=authorization_code&code={code}",
    "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&redirect_uri=http%3A%2F%2Flocalhost%3A4200%2Fcb",
    "\n~~~\nPOST /oauth2/refresh\ncontent-type: application/json\n\n{\"refresh_token\":\"{refresh_token}\"}",
    "\n~~~\nGET /oauth2/userinfo\nauthorization: Bearer {access_token}",
);

fuzz_target!(
    init: {
        SAML.with(|_| ());
    },
    |data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let text = if text.contains('{') {
                SAML.with(|(key, cert, metadata)| {
                    text.replace("{sp_key}", key).replace("{sp_cert}", cert).replace("{idp_metadata}", metadata)
                })
            } else {
                text.to_string()
            };
            if let Some(pairs) = toml_pairs(&text) {
                exercise(&pairs);
            }
        }
        exercise(&arbitrary_pairs(data));
    }
);
