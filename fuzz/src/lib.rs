//! Shared set-up of the fuzz targets and of the corpus generator: the
//! service and SAML provider under test, the text format `service_request`
//! reads its requests from, the checks every response must pass, and the
//! run-time signing that lets inputs get past signature checks without any
//! key material in the corpus (keys are made at run time by the core's
//! `saml::test_support`, as in its own tests).

use std::cell::RefCell;
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use tmi_auth_core::saml::{authn_request, cert, dom, test_support as idp};
use tmi_auth_core::testing::TestWorld;
use tmi_auth_core::{Config, Request, Response, Service};

/// The fixed "now" of every target (the core's tests use the same).
pub const NOW: u64 = 1_800_000_000;
/// The one allowed client callback.
pub use tmi_auth_core::testing::CALLBACK;
/// A PKCE verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The S256 challenge of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The configuration of the core's flow tests (`flow_tests::service_with`)
/// plus the SAML test IdP `corp-idp` (`saml::test_support::saml_pairs`).
pub fn config_pairs() -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        tmi_auth_core::testing::settings().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    pairs.extend(idp::saml_pairs(&idp::provider_json("")));
    pairs
}

/// The service of [`config_pairs`]; `svc.config().saml_providers[0]` is the
/// SAML test IdP's provider.
pub fn service() -> Service {
    let pairs = config_pairs();
    Service::new(Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).expect("config"))
}

/// Requests in one `service_request` input are separated by this line.
pub const SEPARATOR: &[u8] = b"\n~~~\n";
/// At most this many requests per input.
pub const MAX_REQUESTS: usize = 8;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `data` split at every `sep`.
pub fn split<'a>(mut data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match find(data, sep) {
            Some(i) => {
                let part = &data[..i];
                data = &data[i + sep.len()..];
                Some(part)
            }
            None => {
                done = true;
                Some(data)
            }
        }
    })
}

/// One request of the text format: `METHOD /path?query` on the first
/// line, `name: value` header lines, an empty line, then the body (bytes).
pub fn parse_request(chunk: &[u8]) -> Request {
    let (head, body) = match find(chunk, b"\n\n") {
        Some(i) => (&chunk[..i], &chunk[i + 2..]),
        None => (chunk, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or_default();
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
        body: body.to_vec(),
    }
}

/// What earlier responses of one input told: `{name}` in a later request
/// stands for the value. Names are the query and fragment parameters of a
/// `location` (`code`, `state`, `RelayState`, …, plus `location`: its path
/// and query) and the top-level strings of a
/// JSON body (`access_token`, `refresh_token`, `client_id`,
/// `client_secret`, …). Computed on use: `{saml_response}` (a signed
/// Response answering the last AuthnRequest, base64 and URL-encoded) and
/// `{slo_signed}` (the query of a signed Redirect-bound LogoutRequest for
/// alice@corp.example).
#[derive(Default)]
pub struct Flow {
    values: HashMap<String, String>,
}

thread_local! {
    static SIGNED: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// Memoised: signing with a 2048-bit key costs milliseconds.
fn memo(key: &str, make: impl FnOnce() -> String) -> String {
    if let Some(v) = SIGNED.with(|m| m.borrow().get(key).cloned()) {
        return v;
    }
    let v = make();
    SIGNED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 256 {
            m.clear();
        }
        m.insert(key.to_string(), v.clone());
    });
    v
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A Response of the SAML test IdP answering `request_id`, signed.
pub fn signed_saml_response(request_id: Option<&str>) -> String {
    let key = format!("response:{request_id:?}");
    memo(&key, || idp::ResponseSpec::new(request_id, NOW).signed())
}

/// A LogoutRequest of the SAML test IdP (unsigned XML).
pub fn logout_request(id: &str, name_id: &str) -> String {
    idp::logout_request(id, name_id, NOW, idp::SLO)
}

/// The query string of `xml` sent over HTTP-Redirect, signed by the SAML
/// test IdP (`redirect_url`); `None` if the core refuses to build it.
pub fn signed_redirect_query(xml: &str, relay_state: &str) -> Option<String> {
    let query = memo(&format!("redirect:{relay_state}:{xml}"), || {
        let url = authn_request::redirect_url(idp::SLO, xml, relay_state, Some(idp::other_key())).unwrap_or_default();
        url.split_once('?').map(|(_, q)| q.to_string()).unwrap_or_default()
    });
    Some(query).filter(|q| !q.is_empty())
}

fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Flow {
    /// Remember what `r` tells.
    pub fn learn(&mut self, r: &Response) {
        if let Some(location) = r.header_value("location") {
            if let Ok(url) = url::Url::parse(location) {
                let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
                self.values.insert("location".into(), target.to_string());
                for (k, v) in url.query_pairs() {
                    if k == "SAMLRequest" {
                        let id = cert::base64_to_der(&v)
                            .and_then(|d| authn_request::inflate(&d, 100_000))
                            .and_then(|xml| dom::parse(&xml).ok())
                            .and_then(|root| root.attr("ID").map(str::to_string));
                        if let Some(id) = id.filter(|id| is_plain_id(id)) {
                            self.values.insert("saml_request_id".into(), id);
                        }
                    }
                    self.values.insert(k.into_owned(), v.into_owned());
                }
                if let Some(fragment) = url.fragment() {
                    for (k, v) in url::form_urlencoded::parse(fragment.as_bytes()) {
                        self.values.insert(k.into_owned(), v.into_owned());
                    }
                }
            }
        }
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&r.body) {
            for (k, v) in map {
                if let Value::String(s) = v {
                    self.values.insert(k, s);
                }
            }
        }
    }

    fn value(&self, name: &str) -> Option<String> {
        match name {
            "saml_response" => {
                let id = self.values.get("saml_request_id").map(String::as_str);
                Some(urlencode(&STANDARD.encode(signed_saml_response(id))))
            }
            "slo_signed" => Some(memo("slo", || {
                signed_redirect_query(&logout_request("_fuzz_logout", "alice@corp.example"), "relay").unwrap_or_default()
            })),
            _ => self.values.get(name).cloned(),
        }
    }

    /// `chunk` with every `{name}` of a known name replaced.
    pub fn substitute(&self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        let mut i = 0;
        while i < chunk.len() {
            if chunk[i] == b'{' {
                let end = chunk[i + 1..].iter().take(32).position(|&b| b == b'}');
                let value = end
                    .and_then(|e| std::str::from_utf8(&chunk[i + 1..i + 1 + e]).ok().map(|name| (e, name)))
                    .and_then(|(e, name)| self.value(name).map(|v| (e, v)));
                if let Some((e, v)) = value {
                    out.extend_from_slice(v.as_bytes());
                    i += e + 2;
                    continue;
                }
            }
            out.push(chunk[i]);
            i += 1;
        }
        out
    }
}

/// What every answer to client input must be: never a 5xx (the in-memory
/// world never fails, so 502/503 cannot happen either), and every error is
/// the spec's `Error` body: JSON with `error` and an `error_description`
/// of at most 1000 characters in U+0020..=U+FFFF.
pub fn check_response(req: &Request, r: &Response) {
    let what = || format!("{} {}?{} -> {}: {}", req.method, req.path, req.query, r.status, String::from_utf8_lossy(&r.body));
    assert!(r.status < 500, "server error for client input: {}", what());
    if r.status >= 400 {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("error body is not JSON: {}", what()));
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "error body without error: {}", what());
        let description = body["error_description"].as_str().unwrap_or_else(|| panic!("error body without error_description: {}", what()));
        assert!(description.chars().count() <= 1000, "error_description longer than 1000 characters: {}", what());
        assert!(
            description.chars().all(|c| (' '..='\u{FFFF}').contains(&c)),
            "error_description outside U+0020..U+FFFF: {}",
            what()
        );
    }
}

/// Run the requests of one `service_request` input against a fresh
/// in-memory world (so every input starts from the same state and the
/// world's "randomness" repeats), checking every response.
pub fn run_requests(svc: &Service, data: &[u8], mut observe: impl FnMut(&Request, &Response)) {
    let world = TestWorld::default();
    let mut flow = Flow::default();
    for (i, chunk) in split(data, SEPARATOR).take(MAX_REQUESTS).enumerate() {
        let req = parse_request(&flow.substitute(chunk));
        let r = svc.handle(&req, &world.at(NOW + i as u64));
        check_response(&req, &r);
        flow.learn(&r);
        observe(&req, &r);
    }
}

/// The `id_token` target's expectations.
pub const ID_TOKEN_ISSUER: &str = "https://login.example.com/{tenantid}/v2.0";
/// Another spelling of the issuer.
pub const ID_TOKEN_ALT_ISSUER: &str = "https://idp.example.com";
/// Our client id at the upstream provider.
pub const ID_TOKEN_CLIENT: &str = "fuzz-client";
/// The flow's nonce.
pub const ID_TOKEN_NONCE: &str = "fuzz-nonce";

/// `saml_response` directives: lines at the start of an input, before the
/// XML, applied in order. `!sign ID` signs the element with that ID as the
/// test IdP does (enveloped, exclusive C14N, RSA-SHA256, after its
/// Issuer); `!encrypt` replaces the first `<saml:Assertion …>…</saml:Assertion>`
/// with an EncryptedAssertion for the SP key. Returns the document.
pub fn apply_saml_directives(input: &[u8]) -> Vec<u8> {
    let mut rest = input;
    let mut directives = Vec::new();
    while rest.first() == Some(&b'!') && directives.len() < 4 {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        directives.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    if directives.is_empty() {
        return rest.to_vec();
    }
    let Ok(text) = std::str::from_utf8(rest) else { return rest.to_vec() };
    let mut xml = text.to_string();
    for directive in directives {
        if let Some(id) = directive.strip_prefix("!sign ") {
            if let Some(signed) = sign_checked(&xml, id.trim()) {
                xml = signed;
            }
        } else if directive.trim() == "!encrypt" {
            let start = xml.find("<saml:Assertion ");
            let end = xml.find("</saml:Assertion>").map(|e| e + "</saml:Assertion>".len());
            if let (Some(start), Some(end)) = (start, end) {
                if start < end && dom::parse(xml[start..end].as_bytes()).is_ok() {
                    let encrypted = idp::encrypt_for(&xml[start..end], "EncryptedAssertion", idp::sp_key());
                    xml = format!("{}{}{}", &xml[..start], encrypted, &xml[end..]);
                }
            }
        }
    }
    xml.into_bytes()
}

/// `test_support::sign`, only on documents it handles (it unwraps).
fn sign_checked(xml: &str, id: &str) -> Option<String> {
    if !is_plain_id(id) {
        return None;
    }
    let doc = dom::parse(xml.as_bytes()).ok()?;
    doc.descendants().into_iter().find(|e| e.attr("ID") == Some(id))?;
    let start = xml.find(&format!(r#"ID="{id}""#))?;
    xml[start..].find("</saml:Issuer>")?;
    Some(memo(&format!("sign:{id}:{xml}"), || idp::sign(xml, id, idp::other_key())))
}
