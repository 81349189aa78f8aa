//! The endpoints: each file parses its requests, calls the rules of
//! `domain/`, and renders the result. This module maps method and path to
//! them and applies the rate limits of the auth-flow endpoints; nothing else.

mod body;
mod credentials;
mod discovery;
mod introspection;
mod oauth;
mod providers;
mod revoke;
mod saml;
mod token;
mod userinfo;

use serde_json::json;

use self::token::{RefreshRequest, TokenRequest};
use crate::config::Config;
use crate::domain::ratelimit;
use crate::error::{AuthError, RateState};
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::store::keys;
use crate::upstream::Providers;
use crate::values::ConfigError;

/// The service: configuration plus the providers it enables.
pub struct Service {
    config: Config,
    providers: Providers,
}

/// The route a path belongs to, as the spec writes it; never the path
/// itself (ids and provider names are not labels of their own).
pub fn route_template(path: &str) -> &'static str {
    const EXACT: &[&str] = &[
        "/healthz",
        "/oauth2/authorize",
        "/oauth2/callback",
        "/oauth2/token",
        "/oauth2/refresh",
        "/oauth2/revoke",
        "/oauth2/introspect",
        "/oauth2/userinfo",
        "/oauth2/providers",
        "/users/me",
        "/client-credentials",
        "/saml/providers",
        "/saml/acs",
        "/saml/slo",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
        "/.well-known/jwks.json",
    ];
    if let Some(route) = EXACT.iter().find(|r| **r == path) {
        return route;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["client-credentials", _] => "/client-credentials/{id}",
        ["oauth2", "providers", _, "groups"] => "/oauth2/providers/{idp}/groups",
        ["saml", _, "metadata"] => "/saml/{provider}/metadata",
        ["saml", _, "login"] => "/saml/{provider}/login",
        _ => "other",
    }
}

/// The paths whose requests are rate limited (SAML logins too: `/saml/*/login`).
const LIMITED: &[&str] = &[
    "/oauth2/authorize",
    "/oauth2/callback",
    "/oauth2/token",
    "/oauth2/refresh",
    "/oauth2/revoke",
    "/oauth2/introspect",
    "/saml/acs",
    "/saml/slo",
];

impl Service {
    /// Build the service from its configuration.
    pub fn new(config: Config) -> Self {
        let providers = Providers::from_config(&config);
        Service { config, providers }
    }

    /// The answer to every request while the configuration does not parse
    /// (only under runtimes that start nothing before the first request):
    /// `/healthz` says so and names the setting; everything else is 503.
    pub fn misconfigured(req: &Request, error: ConfigError) -> (Response, AuthError) {
        let response = match req.path.as_str() {
            "/healthz" => Response::json(503, &json!({ "status": "misconfigured", "setting": error.key })),
            _ => AuthError::Misconfigured(error.clone()).into_response(),
        };
        (response, AuthError::Misconfigured(error))
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answer one request. Never panics on client input; every refusal is
    /// the spec's `Error` body.
    pub fn handle(&self, req: &Request, world: &World) -> Response {
        self.handle_with_refusal(req, world).0
    }

    /// Like [`Service::handle`], plus the refusal that produced an error
    /// response: the rule a client broke, or the detail of a server-side
    /// failure for the operator's log ([`AuthError::diagnostic`]).
    pub fn handle_with_refusal(&self, req: &Request, world: &World) -> (Response, Option<AuthError>) {
        let result = self.rate_limit(req, world).and_then(|state| {
            let mut response = self.route(req, world)?;
            for (name, value) in state.iter().flat_map(RateState::headers) {
                response.header(name, value);
            }
            Ok(response)
        });
        match result {
            Ok(response) => (response, None),
            Err(e) => (e.into_response(), Some(e)),
        }
    }

    fn route(&self, req: &Request, world: &World) -> Result<Response, AuthError> {
        let (c, p) = (&self.config, &self.providers);
        let method = req.method.as_str();
        let only = |allowed: &'static str| if method == allowed { Ok(()) } else { Err(AuthError::MethodNotAllowed(allowed)) };
        let path = req.path.as_str();
        if let Some(id) = path.strip_prefix("/client-credentials/") {
            only("DELETE")?;
            return credentials::delete(req, id, c, world);
        }
        if let Some(idp) = path.strip_prefix("/oauth2/providers/").and_then(|r| r.strip_suffix("/groups")) {
            only("GET")?;
            return providers::groups(req, idp, c, p, world);
        }
        if let Some(rest) = path.strip_prefix("/saml/").filter(|_| !matches!(path, "/saml/providers" | "/saml/acs" | "/saml/slo")) {
            return saml::provider_route(req, rest, c, world);
        }
        match path {
            "/saml/providers" => only("GET").map(|_| saml::metadata::providers(c)),
            "/saml/acs" => only("POST").and_then(|_| saml::acs::assertion_consumer(req, c, world)),
            "/saml/slo" => match method {
                "GET" => saml::slo::logout_redirect(req, c, world),
                "POST" => saml::slo::logout_post(req, c, world),
                _ => Err(AuthError::MethodNotAllowed("GET, POST")),
            },
            "/healthz" => {
                only("GET")?;
                world.store.get(keys::HEALTH)?;
                Ok(Response::json(200, &json!({ "status": "ok" })))
            }
            "/oauth2/providers" => only("GET").map(|_| providers::list(c, p)),
            "/oauth2/authorize" => only("GET").and_then(|_| oauth::authorize(req, c, p, world)),
            "/oauth2/callback" => only("GET").and_then(|_| oauth::callback(req, c, p, world)),
            "/oauth2/token" => only("POST").and_then(|_| token::exchange(req, c, p, world)),
            "/oauth2/refresh" => only("POST").and_then(|_| token::refresh(req, c, world)),
            "/oauth2/revoke" => only("POST").and_then(|_| revoke::logout(req, c, world)),
            "/oauth2/introspect" => only("POST").and_then(|_| introspection::introspect(req, c, world)),
            "/oauth2/userinfo" => only("GET").and_then(|_| userinfo::current_user(req, c, world)),
            "/users/me" => only("GET").and_then(|_| userinfo::current_user_profile(req, c, world)),
            "/client-credentials" => match method {
                "POST" => credentials::create(req, c, world),
                "GET" => credentials::list(req, c, world),
                _ => Err(AuthError::MethodNotAllowed("GET, POST")),
            },
            "/.well-known/openid-configuration" => only("GET").and_then(|_| discovery::openid_configuration(c, world)),
            "/.well-known/oauth-authorization-server" => only("GET").map(|_| discovery::authorization_server(c)),
            "/.well-known/oauth-protected-resource" => only("GET").map(|_| discovery::protected_resource(c)),
            "/.well-known/jwks.json" => only("GET").and_then(|_| discovery::jwks(world)),
            _ => Err(AuthError::NotFound("no such endpoint".into())),
        }
    }

    /// Count the request against the limits of its endpoint: per client IP,
    /// per flow (state, code, refresh token, SAML RelayState) and per user
    /// or client.
    fn rate_limit(&self, req: &Request, world: &World) -> Result<Option<RateState>, AuthError> {
        let path = req.path.as_str();
        let saml_login = path.starts_with("/saml/") && path.ends_with("/login");
        if !LIMITED.contains(&path) && !saml_login {
            return Ok(None);
        }
        let limits = &self.config.rate_limits;
        let query = req.query_params().unwrap_or_default();
        let token = if path == "/oauth2/token" { TokenRequest::parse(req).ok() } else { None };
        let refresh = if path == "/oauth2/refresh" { RefreshRequest::parse(req).ok() } else { None };
        let saml_form = if path == "/saml/acs" { Params::parse(&req.body).ok() } else { None };
        let flow = match path {
            "/oauth2/callback" => query.get("state"),
            "/oauth2/token" => token.as_ref().and_then(TokenRequest::flow_id),
            "/oauth2/refresh" => refresh.as_ref().map(|r| r.refresh_token.as_str()),
            "/saml/acs" => saml_form.as_ref().and_then(|f| f.get("RelayState")),
            _ => None,
        };
        let user = if path == "/oauth2/authorize" { query.get("login_hint").map(str::to_ascii_lowercase) } else { None };
        let mut checks = vec![("ip", client_ip(req), limits.ip)];
        checks.extend(flow.map(|f| ("session", f, limits.session)));
        checks.extend(user.as_deref().map(|u| ("user", u, limits.user)));
        checks.extend(token.as_ref().and_then(TokenRequest::client_id).map(|c| ("client", c, limits.client)));
        ratelimit::check_all(world, &checks)
    }
}

/// The client address the host reports (it overwrites any client-sent
/// value); Spin reports it as `spin-client-addr`.
fn client_ip(req: &Request) -> &str {
    if let Some(ip) = req.header("x-tmi-client-ip") {
        return ip;
    }
    match req.header("spin-client-addr") {
        Some(addr) => addr.rsplit_once(':').map_or(addr, |(host, _)| host),
        None => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::route_template;

    #[test]
    fn paths_map_to_their_route_never_to_themselves() {
        assert_eq!(route_template("/oauth2/token"), "/oauth2/token");
        assert_eq!(route_template("/client-credentials/123e4567-e89b-42d3-a456-426614174000"), "/client-credentials/{id}");
        assert_eq!(route_template("/saml/corp/login"), "/saml/{provider}/login");
        assert_eq!(route_template("/oauth2/providers/google/groups"), "/oauth2/providers/{idp}/groups");
        assert_eq!(route_template("/anything/alice@example.com"), "other");
    }
}
