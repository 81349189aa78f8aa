//! Upstream OpenID Connect and OAuth 2.0 providers (generic, Google,
//! Microsoft, GitHub) over outbound HTTP.
//!
//! The browser goes to the provider with our own state, a nonce (OIDC) and
//! a PKCE challenge of ours (where the provider supports it). The code that
//! comes back is exchanged at the provider's token endpoint with the client
//! secret; an ID token is verified (signature against the provider's JWKS,
//! iss, aud/azp, exp/iat/nbf, nonce, nonce single use), userinfo is read and
//! the claims are mapped to an [`Identity`]. Every failure of the provider
//! is an [`AuthError::Upstream`] (502) whose detail only reaches the log.
//!
//! Discovery documents and JWKS are cached in the store for an hour; an ID
//! token with an unknown `kid` makes the JWKS be fetched again, once.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::{Kind, ProviderConfig};
use super::jwt;
use super::{Identity, IdentityProvider, ProviderInfo};
use crate::config::Config;
use crate::encoding::{b64url, random_token, sha256_b64url};
use crate::error::AuthError;
use crate::flows::Flow;
use crate::ports::{HttpError, OutboundRequest, World};
use crate::records;

/// How long discovery documents and JWKS are cached, seconds.
pub const CACHE_TTL: u64 = 3600;
const USER_AGENT: &str = "tmi-auth";

/// An upstream provider built from its configuration.
pub struct UpstreamProvider {
    info: ProviderInfo,
    cfg: ProviderConfig,
}

/// The provider's endpoints and ID token rules, from configuration and
/// (for OIDC) discovery.
#[derive(Debug, Clone)]
struct Endpoints {
    authorization: String,
    token: String,
    userinfo: Option<String>,
    jwks: Option<String>,
    /// The `iss` ID tokens must carry (OIDC only).
    issuer: Option<String>,
    algorithms: Vec<String>,
}

fn upstream(detail: impl Into<String>) -> AuthError {
    AuthError::Upstream(detail.into())
}

impl UpstreamProvider {
    /// The provider for one configuration entry.
    pub fn new(cfg: ProviderConfig) -> Self {
        UpstreamProvider {
            info: ProviderInfo {
                id: cfg.id.clone(),
                name: cfg.name.clone(),
                icon: cfg.icon.clone(),
                client_id: cfg.client_id.clone(),
            },
            cfg,
        }
    }

    fn redirect_uri(config: &Config) -> String {
        config.url("/oauth2/callback")
    }

    /// Send a request and parse a JSON answer; every failure is upstream.
    fn fetch_json(&self, world: &World, request: &OutboundRequest) -> Result<(u16, Value), AuthError> {
        let what = format!("provider {} {} {}", self.cfg.id, request.method, strip_query(&request.url));
        let response = world.http.send(request).map_err(|e| match e {
            HttpError::Denied => upstream(format!("{what}: outbound request denied by the host (allowed_outbound_hosts)")),
            HttpError::Timeout => upstream(format!("{what}: timed out")),
            HttpError::Unreachable(d) => upstream(format!("{what}: unreachable: {d}")),
        })?;
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|_| upstream(format!("{what}: HTTP {} with a body that is not JSON", response.status)))?;
        Ok((response.status, body))
    }

    fn get_json(&self, world: &World, url: &str, bearer: Option<&str>) -> Result<Value, AuthError> {
        let mut headers = vec![("accept".to_string(), "application/json".to_string()), ("user-agent".into(), USER_AGENT.into())];
        if let Some(token) = bearer {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        let request = OutboundRequest { method: "GET".into(), url: url.into(), headers, body: Vec::new() };
        let (status, body) = self.fetch_json(world, &request)?;
        if status != 200 {
            return Err(upstream(format!("provider {} GET {}: HTTP {status}", self.cfg.id, strip_query(url))));
        }
        Ok(body)
    }

    /// A JSON document cached in the store for [`CACHE_TTL`].
    fn cached(&self, world: &World, kind: &str, url: &str, refresh: bool) -> Result<Value, AuthError> {
        let key = format!("upstream:{kind}:{}", sha256_b64url(url));
        if !refresh {
            if let Some(hit) = records::read::<Value>(world.store, &key, world.now)? {
                return Ok(hit.value);
            }
        }
        let doc = self.get_json(world, url, None)?;
        if !doc.is_object() {
            return Err(upstream(format!("provider {}: {kind} document is not a JSON object", self.cfg.id)));
        }
        records::write(world.store, &key, &doc, world.now + CACHE_TTL)?;
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
            });
        }
        let issuer = c.issuer.clone().unwrap_or_default();
        let explicit = c.authorization_url.is_some() && c.token_url.is_some() && c.jwks_url.is_some();
        let doc = if explicit {
            Value::Object(Map::new())
        } else {
            let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
            let doc = self.cached(world, "discovery", &url, false)?;
            let doc_issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or_default();
            // Microsoft names the tenant by its GUID (or `{tenantid}` in the
            // multi-tenant documents), whatever the configured tenant says.
            let microsoft = c.kind == Kind::Microsoft && doc_issuer.starts_with("https://login.microsoftonline.com/");
            if doc_issuer != issuer && !microsoft {
                return Err(upstream(format!("provider {}: discovery issuer {doc_issuer:?} is not the configured issuer", c.id)));
            }
            doc
        };
        let field = |name: &str| doc.get(name).and_then(Value::as_str).map(String::from);
        let missing = |name: &str| upstream(format!("provider {}: discovery has no {name}", c.id));
        let algorithms = match &c.algorithms {
            Some(a) => a.clone(),
            None => {
                let listed: Vec<String> = doc
                    .get("id_token_signing_alg_values_supported")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).filter(|a| matches!(*a, "RS256" | "ES256" | "EdDSA")).map(String::from).collect())
                    .unwrap_or_default();
                if listed.is_empty() { vec!["RS256".into()] } else { listed }
            }
        };
        Ok(Endpoints {
            authorization: c.authorization_url.clone().or_else(|| field("authorization_endpoint")).ok_or_else(|| missing("authorization_endpoint"))?,
            token: c.token_url.clone().or_else(|| field("token_endpoint")).ok_or_else(|| missing("token_endpoint"))?,
            userinfo: c.userinfo_url.clone().or_else(|| field("userinfo_endpoint")),
            jwks: Some(c.jwks_url.clone().or_else(|| field("jwks_uri")).ok_or_else(|| missing("jwks_uri"))?),
            issuer: Some(match field("issuer") {
                Some(i) if c.kind == Kind::Microsoft && i.starts_with("https://login.microsoftonline.com/") => i,
                _ => issuer,
            }),
            algorithms,
        })
    }

    /// Exchange `code` and learn who logged in. `nonce` is the flow's
    /// (None for the provider-neutral token exchange).
    fn redeem(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
        nonce: Option<&str>,
        world: &World,
    ) -> Result<Identity, AuthError> {
        let c = &self.cfg;
        let ep = self.endpoints(world)?;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("client_id", &c.client_id)
            .append_pair("client_secret", &c.client_secret.0);
        if let Some(v) = code_verifier {
            form.append_pair("code_verifier", v);
        }
        let request = OutboundRequest {
            method: "POST".into(),
            url: ep.token.clone(),
            headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                // GitHub answers form-encoded without it.
                ("accept".into(), "application/json".into()),
                ("user-agent".into(), USER_AGENT.into()),
            ],
            body: form.finish().into_bytes(),
        };
        let (status, tokens) = self.fetch_json(world, &request)?;
        let provider_error = tokens.get("error").and_then(Value::as_str);
        // GitHub reports a bad code as 200 with an `error` member.
        if matches!(provider_error, Some("invalid_grant" | "bad_verification_code")) && (status == 200 || (400..500).contains(&status)) {
            return Err(AuthError::InvalidGrant("the identity provider refused the authorization code".into()));
        }
        if status != 200 || provider_error.is_some() {
            return Err(upstream(format!("provider {} token endpoint: HTTP {status}, error {provider_error:?}", c.id)));
        }
        let access_token = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| upstream(format!("provider {} token response has no access_token", c.id)))?;

        let mut claims = Map::new();
        let mut id_token_nonce: Option<(String, u64)> = None;
        if c.kind.is_oidc() {
            let id_token = tokens
                .get("id_token")
                .and_then(Value::as_str)
                .ok_or_else(|| upstream(format!("provider {} token response has no id_token", c.id)))?;
            let (verified, exp) = self.verify_id_token(id_token, &ep, nonce, world)?;
            if let Some(n) = verified.get("nonce").and_then(Value::as_str) {
                id_token_nonce = Some((n.to_string(), exp));
            }
            claims = verified;
        }
        if let Some(url) = &ep.userinfo {
            let info = self.get_json(world, url, Some(access_token))?;
            let Value::Object(info) = info else {
                return Err(upstream(format!("provider {} userinfo is not a JSON object", c.id)));
            };
            if c.kind.is_oidc() && info.get("sub") != claims.get("sub") {
                return Err(upstream(format!("provider {} userinfo sub differs from the ID token's", c.id)));
            }
            for (k, v) in info {
                if !claims.contains_key(&k) || !matches!(k.as_str(), "iss" | "aud" | "sub" | "nonce" | "exp" | "iat" | "azp") {
                    claims.insert(k, v);
                }
            }
        }
        if let Some(url) = &c.emails_url {
            self.github_primary_email(world, url, access_token, &mut claims)?;
        }
        let identity = self.map_claims(&claims)?;
        // Last check before anything is written: an ID token's nonce is
        // good for one login only.
        if let Some((n, exp)) = id_token_nonce {
            let key = format!("upstream:nonce:{}:{}", c.id, sha256_b64url(&n));
            if !records::create(world.store, &key, &true, exp.max(world.now) + jwt::SKEW)? {
                return Err(upstream(format!("provider {}: ID token nonce was already used", c.id)));
            }
        }
        Ok(identity)
    }

    fn verify_id_token(&self, token: &str, ep: &Endpoints, nonce: Option<&str>, world: &World) -> Result<(Map<String, Value>, u64), AuthError> {
        let id = &self.cfg.id;
        let refuse = |why: String| upstream(format!("provider {id}: {why}"));
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
            jwt::KeyLookup::UnknownKid => return Err(refuse("ID token kid is not in the provider's JWKS".into())),
            jwt::KeyLookup::Refused(why) => return Err(refuse(why)),
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
        let id = &self.cfg.id;
        let text = |name: &str| match claims.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let subject = text(&m.subject).ok_or_else(|| upstream(format!("provider {id}: no subject claim {:?}", m.subject)))?;
        if subject.len() > 255 {
            return Err(upstream(format!("provider {id}: subject is too long")));
        }
        let email = text(&m.email).ok_or_else(|| upstream(format!("provider {id}: no email claim {:?}", m.email)))?;
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
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The S256 challenge of a verifier.
fn challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

impl IdentityProvider for UpstreamProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    fn prepare(&self, flow: &mut Flow, world: &World) {
        if self.cfg.kind.is_oidc() {
            flow.nonce = Some(random_token(world.random));
        }
        if self.cfg.pkce {
            flow.upstream_verifier = Some(random_token(world.random));
        }
    }

    fn authorization_url(&self, state: &str, flow: &Flow, config: &Config, world: &World) -> Result<String, AuthError> {
        let ep = self.endpoints(world)?;
        let mut url = url::Url::parse(&ep.authorization)
            .map_err(|_| upstream(format!("provider {}: authorization endpoint is not a URL", self.cfg.id)))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.cfg.client_id)
                .append_pair("redirect_uri", &Self::redirect_uri(config))
                .append_pair("state", state);
            if !self.cfg.scopes.is_empty() {
                q.append_pair("scope", &self.cfg.scopes.join(" "));
            }
            if let Some(nonce) = &flow.nonce {
                q.append_pair("nonce", nonce);
            }
            if let Some(verifier) = &flow.upstream_verifier {
                q.append_pair("code_challenge", &challenge(verifier)).append_pair("code_challenge_method", "S256");
            }
        }
        Ok(url.into())
    }

    fn exchange(&self, code: &str, flow: &Flow, config: &Config, world: &World) -> Result<Identity, AuthError> {
        let nonce = if self.cfg.kind.is_oidc() {
            Some(flow.nonce.as_deref().ok_or_else(|| AuthError::InvalidRequest("the login has no nonce".into()))?)
        } else {
            None
        };
        self.redeem(code, &Self::redirect_uri(config), flow.upstream_verifier.as_deref(), nonce, world)
    }

    fn is_upstream(&self) -> bool {
        true
    }

    fn exchange_direct(&self, code: &str, redirect_uri: &str, code_verifier: Option<&str>, _config: &Config, world: &World) -> Result<Identity, AuthError> {
        self.redeem(code, redirect_uri, code_verifier, None, world)
    }
}
