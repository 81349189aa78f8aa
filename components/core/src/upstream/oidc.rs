//! Upstream OpenID Connect and OAuth 2.0 providers (generic, Google,
//! Microsoft, GitHub) over outbound HTTP.
//!
//! The browser goes to the provider with our own state, a nonce (OIDC) and
//! a PKCE challenge of ours (where the provider supports it). The callback
//! checks the RFC 9207 `iss` parameter; the code is exchanged at the
//! provider's token endpoint with the client secret (HTTP Basic or in the
//! body); an ID token is verified (signature against the provider's JWKS,
//! iss, aud/azp, exp/iat/nbf, nonce, nonce single use), userinfo is read and
//! the claims are mapped to an [`Identity`]. Every failure of the provider
//! is an [`AuthError::Upstream`] (502) whose detail only reaches the log.
//!
//! Discovery documents and JWKS are cached in the store for an hour; an ID
//! token with an unknown `kid` makes the JWKS be fetched again, once.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use super::jwt;
use super::{IdentityProvider, ProviderInfo, UpstreamLogin};
use crate::config::oauth::{ClientAuth, Kind, ProviderConfig, ID_TOKEN_ALGORITHMS};
use crate::domain::pkce::s256_challenge;
use crate::encoding::random_token;
use crate::error::{AuthError, GrantRule, IdTokenRule, UpstreamRule};
use crate::identity::Identity;
use crate::ports::{HttpError, OutboundRequest, Random, World};
use crate::store::{self, keys};

/// How long discovery documents and JWKS are cached, seconds.
pub const CACHE_TTL: u64 = 3600;
const USER_AGENT: &str = "tmi-auth";

/// An upstream provider built from its configuration.
pub struct UpstreamProvider {
    info: ProviderInfo,
    cfg: ProviderConfig,
}

/// The provider's endpoints and rules, from configuration and (for OIDC)
/// discovery.
#[derive(Debug, Clone)]
struct Endpoints {
    authorization: String,
    token: String,
    userinfo: Option<String>,
    jwks: Option<String>,
    /// The `iss` ID tokens (and RFC 9207 callbacks) must carry (OIDC only).
    issuer: Option<String>,
    algorithms: Vec<String>,
    /// Discovery's `authorization_response_iss_parameter_supported`.
    iss_parameter: bool,
    client_auth: ClientAuth,
}

/// A code to redeem, with what the login knows about it.
struct Redemption<'a> {
    code: &'a str,
    redirect_uri: &'a str,
    code_verifier: Option<&'a str>,
    /// The login's nonce; `None` for the provider-neutral exchange.
    nonce: Option<&'a str>,
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

impl UpstreamProvider {
    /// The provider for one configuration entry.
    pub fn new(cfg: ProviderConfig) -> Self {
        let info = ProviderInfo { id: cfg.id.clone(), name: cfg.name.clone(), icon: cfg.icon.clone(), client_id: cfg.client_id.clone() };
        UpstreamProvider { info, cfg }
    }

    fn fail(&self, rule: UpstreamRule) -> AuthError {
        AuthError::upstream(&self.cfg.id, rule)
    }

    /// Send a request and parse a JSON answer; every failure is upstream.
    fn fetch_json(&self, world: &World, request: &OutboundRequest) -> Result<(u16, Value), AuthError> {
        let what = format!("{} {}", request.method, strip_query(&request.url));
        let response = world.http.send(request).map_err(|e| {
            self.fail(match e {
                HttpError::Denied => UpstreamRule::Denied(what.clone()),
                HttpError::Timeout => UpstreamRule::TimedOut(what.clone()),
                HttpError::Unreachable(d) => UpstreamRule::Unreachable(what.clone(), d),
            })
        })?;
        let body: Value =
            serde_json::from_slice(&response.body).map_err(|_| self.fail(UpstreamRule::NotJson(what, response.status)))?;
        Ok((response.status, body))
    }

    fn get_json(&self, world: &World, url: &str, bearer: Option<&str>) -> Result<Value, AuthError> {
        let mut headers = vec![("accept".to_string(), "application/json".to_string()), ("user-agent".into(), USER_AGENT.into())];
        if let Some(token) = bearer {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        let request = OutboundRequest { method: "GET".into(), url: url.into(), headers, body: Vec::new() };
        match self.fetch_json(world, &request)? {
            (200, body) => Ok(body),
            (status, _) => Err(self.fail(UpstreamRule::Status(format!("GET {}", strip_query(url)), status))),
        }
    }

    /// A JSON object cached in the store for [`CACHE_TTL`].
    fn cached(&self, world: &World, kind: &'static str, url: &str, refresh: bool) -> Result<Value, AuthError> {
        let key = keys::upstream_document(kind, url);
        if !refresh {
            if let Some(hit) = store::read::<Value>(world.store, &key, world.now)? {
                return Ok(hit.value);
            }
        }
        let doc = self.get_json(world, url, None)?;
        if !doc.is_object() {
            return Err(self.fail(UpstreamRule::NotAnObject(kind)));
        }
        store::write(world.store, &key, &doc, world.now + CACHE_TTL)?;
        Ok(doc)
    }

    fn endpoints(&self, world: &World) -> Result<Endpoints, AuthError> {
        let c = &self.cfg;
        if !c.kind.is_oidc() {
            return Ok(Endpoints {
                authorization: c.authorization_url.clone().unwrap_or_default(),
                token: c.token_url.clone().unwrap_or_default(),
                userinfo: c.userinfo_url.clone(),
                jwks: None,
                issuer: None,
                algorithms: Vec::new(),
                iss_parameter: false,
                // GitHub documents the client secret in the body.
                client_auth: c.client_auth.unwrap_or(ClientAuth::Post),
            });
        }
        let explicit = c.authorization_url.is_some() && c.token_url.is_some() && c.jwks_url.is_some();
        let doc = if explicit { Value::Object(Map::new()) } else { self.discovery(world)? };
        let field = |name: &str| doc.get(name).and_then(Value::as_str).map(String::from);
        let missing = |name: &'static str| self.fail(UpstreamRule::DiscoveryMissing(name));
        let issuer = match field("issuer") {
            Some(i) if c.kind == Kind::Microsoft && i.starts_with("https://login.microsoftonline.com/") => i,
            _ => c.issuer.clone().unwrap_or_default(),
        };
        Ok(Endpoints {
            authorization: c.authorization_url.clone().or_else(|| field("authorization_endpoint")).ok_or_else(|| missing("authorization_endpoint"))?,
            token: c.token_url.clone().or_else(|| field("token_endpoint")).ok_or_else(|| missing("token_endpoint"))?,
            userinfo: c.userinfo_url.clone().or_else(|| field("userinfo_endpoint")),
            jwks: Some(c.jwks_url.clone().or_else(|| field("jwks_uri")).ok_or_else(|| missing("jwks_uri"))?),
            issuer: Some(issuer),
            algorithms: c.algorithms.clone().unwrap_or_else(|| discovered_algorithms(&doc)),
            iss_parameter: doc.get("authorization_response_iss_parameter_supported") == Some(&Value::Bool(true)),
            client_auth: c.client_auth.unwrap_or_else(|| discovered_client_auth(&doc)),
        })
    }

    /// The discovery document, which must name the configured issuer.
    fn discovery(&self, world: &World) -> Result<Value, AuthError> {
        let issuer = self.cfg.issuer.clone().unwrap_or_default();
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let doc = self.cached(world, "discovery", &url, false)?;
        let doc_issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or_default();
        // Microsoft names the tenant by its GUID (or `{tenantid}` in the
        // multi-tenant documents), whatever the configured tenant says.
        let microsoft = self.cfg.kind == Kind::Microsoft && doc_issuer.starts_with("https://login.microsoftonline.com/");
        if doc_issuer != issuer && !microsoft {
            return Err(self.fail(UpstreamRule::DiscoveryIssuerMismatch));
        }
        Ok(doc)
    }

    /// The token request, authenticated as the provider expects (RFC 6749 §2.3.1).
    fn token_request(&self, ep: &Endpoints, r: &Redemption) -> OutboundRequest {
        let c = &self.cfg;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code").append_pair("code", r.code).append_pair("redirect_uri", r.redirect_uri);
        let mut headers = vec![
            ("content-type".to_string(), "application/x-www-form-urlencoded".to_string()),
            // GitHub answers form-encoded without it.
            ("accept".into(), "application/json".into()),
            ("user-agent".into(), USER_AGENT.into()),
        ];
        match ep.client_auth {
            ClientAuth::Basic => {
                let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let credentials = STANDARD.encode(format!("{}:{}", encode(&c.client_id), encode(&c.client_secret.0)));
                headers.push(("authorization".into(), format!("Basic {credentials}")));
            }
            ClientAuth::Post => {
                form.append_pair("client_id", &c.client_id).append_pair("client_secret", &c.client_secret.0);
            }
        }
        if let Some(v) = r.code_verifier {
            form.append_pair("code_verifier", v);
        }
        OutboundRequest { method: "POST".into(), url: ep.token.clone(), headers, body: form.finish().into_bytes() }
    }

    /// Exchange the code at the token endpoint; returns the token response.
    fn exchange_code(&self, ep: &Endpoints, r: &Redemption, world: &World) -> Result<Map<String, Value>, AuthError> {
        let (status, tokens) = self.fetch_json(world, &self.token_request(ep, r))?;
        let text = |name: &str| tokens.get(name).and_then(Value::as_str).map(String::from);
        let provider_error = text("error");
        // GitHub reports a bad code as 200 with an `error` member.
        let bad_code = matches!(provider_error.as_deref(), Some("invalid_grant" | "bad_verification_code"));
        if bad_code && (status == 200 || (400..500).contains(&status)) {
            return Err(AuthError::InvalidGrant(GrantRule::UpstreamCodeRefused));
        }
        if status != 200 || provider_error.is_some() {
            let endpoint = format!("POST {}", strip_query(&ep.token));
            return Err(self.fail(UpstreamRule::Refused { endpoint, status, error: provider_error, description: text("error_description") }));
        }
        match tokens {
            Value::Object(map) => Ok(map),
            _ => Err(self.fail(UpstreamRule::NotAnObject("token response"))),
        }
    }

    /// Exchange `r.code` and learn who logged in.
    fn redeem(&self, r: &Redemption, world: &World) -> Result<Identity, AuthError> {
        let ep = self.endpoints(world)?;
        let tokens = self.exchange_code(&ep, r, world)?;
        let access_token = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.fail(UpstreamRule::NoAccessToken))?;
        let mut claims = Map::new();
        let mut nonce_claim = None;
        if self.cfg.kind.is_oidc() {
            let id_token = tokens.get("id_token").and_then(Value::as_str).ok_or_else(|| self.fail(UpstreamRule::NoIdToken))?;
            let (verified, exp) = self.verify_id_token(id_token, &ep, r.nonce, world)?;
            nonce_claim = verified.get("nonce").and_then(Value::as_str).map(|n| keys::nonce_claim(&self.cfg.id, n, exp.max(world.now) + jwt::SKEW));
            claims = verified;
        }
        if let Some(url) = &ep.userinfo {
            self.merge_userinfo(world, url, access_token, &mut claims)?;
        }
        if let Some(url) = &self.cfg.emails_url {
            self.github_primary_email(world, url, access_token, &mut claims)?;
        }
        let identity = self.map_claims(&claims)?;
        // Last check before anything is written: an ID token's nonce is
        // good for one login only.
        if let Some(key) = nonce_claim {
            if !store::claim(world.store, &key)? {
                return Err(self.fail(UpstreamRule::IdToken(IdTokenRule::NonceReused)));
            }
        }
        Ok(identity)
    }

    fn verify_id_token(&self, token: &str, ep: &Endpoints, nonce: Option<&str>, world: &World) -> Result<(Map<String, Value>, u64), AuthError> {
        let refuse = |rule| self.fail(UpstreamRule::IdToken(rule));
        let parsed = jwt::parse(token).map_err(refuse)?;
        jwt::check_alg(&parsed.alg, &ep.algorithms).map_err(refuse)?;
        let jwks_url = ep.jwks.as_deref().unwrap_or_default();
        let mut jwks = self.cached(world, "jwks", jwks_url, false)?;
        if matches!(jwt::select_key(&parsed, &jwks), jwt::KeyLookup::UnknownKid) {
            // Keys rotate: fetch the JWKS again, once.
            jwks = self.cached(world, "jwks", jwks_url, true)?;
        }
        let key = match jwt::select_key(&parsed, &jwks) {
            jwt::KeyLookup::Found(k) => k,
            jwt::KeyLookup::UnknownKid => return Err(refuse(IdTokenRule::UnknownKid)),
            jwt::KeyLookup::Refused(rule) => return Err(refuse(rule)),
        };
        jwt::verify_signature(&parsed, key).map_err(refuse)?;
        let expected = jwt::Expected {
            issuer: ep.issuer.as_deref().unwrap_or_default(),
            // Google's tokens may say `accounts.google.com` without the scheme.
            alternative_issuer: (self.cfg.kind == Kind::Google).then_some("accounts.google.com"),
            client_id: &self.cfg.client_id,
            nonce,
            now: world.now,
        };
        let exp = jwt::check_claims(&parsed.claims, &expected).map_err(refuse)?;
        Ok((parsed.claims, exp))
    }

    /// Userinfo's claims over the ID token's (never the token's own `iss`,
    /// `aud`, `sub`, …); its `sub` must be the ID token's.
    fn merge_userinfo(&self, world: &World, url: &str, access_token: &str, claims: &mut Map<String, Value>) -> Result<(), AuthError> {
        let Value::Object(info) = self.get_json(world, url, Some(access_token))? else {
            return Err(self.fail(UpstreamRule::NotAnObject("userinfo")));
        };
        if self.cfg.kind.is_oidc() && info.get("sub") != claims.get("sub") {
            return Err(self.fail(UpstreamRule::UserinfoSubjectMismatch));
        }
        for (k, v) in info {
            if !claims.contains_key(&k) || !matches!(k.as_str(), "iss" | "aud" | "sub" | "nonce" | "exp" | "iat" | "azp") {
                claims.insert(k, v);
            }
        }
        Ok(())
    }

    /// GitHub: the primary, verified address from the emails API.
    fn github_primary_email(&self, world: &World, url: &str, token: &str, claims: &mut Map<String, Value>) -> Result<(), AuthError> {
        let emails = self.get_json(world, url, Some(token))?;
        let primary = emails.as_array().into_iter().flatten().find(|e| {
            e.get("primary").and_then(Value::as_bool) == Some(true) && e.get("verified").and_then(Value::as_bool) == Some(true)
        });
        match primary.and_then(|e| e.get("email")).and_then(Value::as_str) {
            Some(email) => {
                claims.insert(self.cfg.claims.email.clone(), Value::String(email.into()));
                claims.insert(self.cfg.claims.email_verified.clone(), Value::Bool(true));
            }
            None => {
                claims.remove(&self.cfg.claims.email);
            }
        }
        Ok(())
    }

    fn map_claims(&self, claims: &Map<String, Value>) -> Result<Identity, AuthError> {
        let m = &self.cfg.claims;
        let text = |name: &str| match claims.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let subject = text(&m.subject).ok_or_else(|| self.fail(UpstreamRule::NoSubject))?;
        if subject.len() > 255 {
            return Err(self.fail(UpstreamRule::SubjectTooLong));
        }
        let email = text(&m.email).ok_or_else(|| self.fail(UpstreamRule::NoEmail))?;
        let email_verified = match claims.get(&m.email_verified) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        let fallback = if self.cfg.kind == Kind::Github { text("login") } else { None };
        let name = text(&m.name).or(fallback).unwrap_or_else(|| email.clone());
        let groups = match claims.get(&m.groups) {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        Ok(Identity { provider_user_id: subject, email, email_verified, name, groups })
    }

    /// RFC 9207: a callback's `iss` must be the provider's issuer; a
    /// provider that says it sends `iss` must send it (mix-up defence,
    /// RFC 9700 §4.4).
    fn check_callback_issuer(&self, ep: &Endpoints, iss: Option<&str>) -> Result<(), AuthError> {
        match (iss, &ep.issuer) {
            (Some(iss), Some(issuer)) if iss == issuer => Ok(()),
            (None, _) if !ep.iss_parameter => Ok(()),
            _ => Err(self.fail(UpstreamRule::CallbackIssuerMismatch)),
        }
    }
}

/// The ID token algorithms discovery lists that we accept (RS256 when it lists none).
fn discovered_algorithms(doc: &Value) -> Vec<String> {
    let listed: Vec<String> = doc
        .get("id_token_signing_alg_values_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).filter(|a| ID_TOKEN_ALGORITHMS.contains(a)).map(String::from).collect())
        .unwrap_or_default();
    if listed.is_empty() {
        vec!["RS256".into()]
    } else {
        listed
    }
}

/// Basic unless discovery lists only `client_secret_post` (RFC 8414 §2:
/// absent means `client_secret_basic`, which RFC 6749 §2.3.1 prefers).
fn discovered_client_auth(doc: &Value) -> ClientAuth {
    let listed: Vec<&str> = match doc.get("token_endpoint_auth_methods_supported").and_then(Value::as_array) {
        Some(a) => a.iter().filter_map(Value::as_str).collect(),
        None => return ClientAuth::Basic,
    };
    if !listed.contains(&"client_secret_basic") && listed.contains(&"client_secret_post") {
        ClientAuth::Post
    } else {
        ClientAuth::Basic
    }
}

impl IdentityProvider for UpstreamProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    fn begin(&self, _login_hint: Option<&str>, random: &dyn Random) -> UpstreamLogin {
        UpstreamLogin {
            nonce: self.cfg.kind.is_oidc().then(|| random_token(random)),
            verifier: self.cfg.pkce.then(|| random_token(random)),
            login_hint: None,
        }
    }

    fn authorization_url(&self, state: &str, login: &UpstreamLogin, redirect_uri: &str, world: &World) -> Result<String, AuthError> {
        let ep = self.endpoints(world)?;
        let mut url = url::Url::parse(&ep.authorization).map_err(|_| self.fail(UpstreamRule::AuthorizationEndpointNotUrl))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.cfg.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state);
            if !self.cfg.scopes.is_empty() {
                q.append_pair("scope", &self.cfg.scopes.join(" "));
            }
            if let Some(nonce) = &login.nonce {
                q.append_pair("nonce", nonce);
            }
            if let Some(verifier) = &login.verifier {
                q.append_pair("code_challenge", &s256_challenge(verifier)).append_pair("code_challenge_method", "S256");
            }
        }
        Ok(url.into())
    }

    fn exchange(&self, code: &str, iss: Option<&str>, login: &UpstreamLogin, redirect_uri: &str, world: &World) -> Result<Identity, AuthError> {
        self.check_callback_issuer(&self.endpoints(world)?, iss)?;
        let nonce = match (self.cfg.kind.is_oidc(), &login.nonce) {
            (false, _) => None,
            (true, Some(nonce)) => Some(nonce.as_str()),
            (true, None) => return Err(AuthError::InvalidRequest("the login has no nonce".into())),
        };
        self.redeem(&Redemption { code, redirect_uri, code_verifier: login.verifier.as_deref(), nonce }, world)
    }

    fn is_upstream(&self) -> bool {
        true
    }

    fn exchange_direct(&self, code: &str, redirect_uri: &str, code_verifier: Option<&str>, world: &World) -> Result<Identity, AuthError> {
        self.redeem(&Redemption { code, redirect_uri, code_verifier, nonce: None }, world)
    }
}
