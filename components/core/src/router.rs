//! Maps method and path to the rule modules, and applies the rate limits of
//! the auth-flow endpoints; nothing else.

use serde_json::json;

use crate::config::Config;
use crate::error::{AuthError, RateState};
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::providers::Providers;
use crate::token_endpoint::TokenRequest;
use crate::{clients, discovery, flows, groups, introspect, ratelimit, revoke, saml, token_endpoint, userinfo};

/// The service: configuration plus the providers it enables.
pub struct Service {
    config: Config,
    providers: Providers,
}

impl Service {
    /// Build the service from its configuration.
    pub fn new(config: Config) -> Self {
        let providers = Providers::from_config(&config);
        Service { config, providers }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answer one request. Never panics on client input; every refusal is
    /// the spec's `Error` body.
    pub fn handle(&self, req: &Request, world: &World) -> Response {
        self.handle_with_diagnostic(req, world).0
    }

    /// Like [`Service::handle`], plus the detail of a server-side failure
    /// (store outage, misconfiguration) for the operator's log. The detail
    /// never carries request data.
    pub fn handle_with_diagnostic(&self, req: &Request, world: &World) -> (Response, Option<String>) {
        let result = self.rate_limit(req, world).and_then(|state| {
            let mut response = self.route(req, world)?;
            for (name, value) in state.iter().flat_map(RateState::headers) {
                response.header(name, value);
            }
            Ok(response)
        });
        match result {
            Ok(response) => (response, None),
            Err(e) => {
                let diagnostic = matches!(e, AuthError::Internal(_) | AuthError::Unavailable(_) | AuthError::Upstream(_)).then(|| e.to_string());
                (e.into_response(), diagnostic)
            }
        }
    }

    fn route(&self, req: &Request, world: &World) -> Result<Response, AuthError> {
        let (c, p) = (&self.config, &self.providers);
        let method = req.method.as_str();
        let only = |allowed: &'static str| {
            if method == allowed {
                Ok(())
            } else {
                Err(AuthError::MethodNotAllowed(allowed))
            }
        };
        let path = req.path.as_str();
        if let Some(id) = path.strip_prefix("/client-credentials/") {
            only("DELETE")?;
            return clients::delete(req, id, c, world);
        }
        if let Some(idp) = path.strip_prefix("/oauth2/providers/").and_then(|r| r.strip_suffix("/groups")) {
            only("GET")?;
            return groups::list(req, idp, c, p, world);
        }
        if let Some(rest) = path.strip_prefix("/saml/").filter(|_| path != "/saml/providers") {
            if let Some(id) = rest.strip_suffix("/metadata").filter(|id| !id.contains('/')) {
                only("GET")?;
                return saml::endpoints::metadata(id, c);
            }
            if let Some(id) = rest.strip_suffix("/login").filter(|id| !id.contains('/')) {
                only("GET")?;
                return saml::login::login(req, id, c, world);
            }
        }
        match path {
            "/saml/providers" => only("GET").map(|_| saml::endpoints::providers(c)),
            "/saml/acs" => only("POST").and_then(|_| saml::acs::acs(req, c, world)),
            "/saml/slo" => match method {
                "GET" => saml::slo::slo_redirect(req, c, world),
                "POST" => saml::slo::slo_post(req, c, world),
                _ => Err(AuthError::MethodNotAllowed("GET, POST")),
            },
            "/healthz" => {
                only("GET")?;
                world.store.get("healthz")?;
                Ok(Response::json(200, &json!({ "status": "ok" })))
            }
            "/oauth2/providers" => only("GET").map(|_| discovery::providers(c, p)),
            "/oauth2/authorize" => only("GET").and_then(|_| flows::authorize(req, c, p, world)),
            "/oauth2/callback" => only("GET").and_then(|_| flows::callback(req, c, p, world)),
            "/oauth2/token" => only("POST").and_then(|_| token_endpoint::token(req, c, p, world)),
            "/oauth2/refresh" => only("POST").and_then(|_| token_endpoint::refresh_endpoint(req, c, world)),
            "/oauth2/revoke" => only("POST").and_then(|_| revoke::revoke(req, c, world)),
            "/oauth2/introspect" => only("POST").and_then(|_| introspect::introspect(req, c, world)),
            "/oauth2/userinfo" => only("GET").and_then(|_| userinfo::userinfo(req, c, world)),
            "/users/me" => only("GET").and_then(|_| userinfo::users_me(req, c, world)),
            "/client-credentials" => match method {
                "POST" => clients::create(req, c, world),
                "GET" => clients::list(req, c, world),
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
        let limits = &self.config.rate_limits;
        let flow_endpoints = ["/oauth2/authorize", "/oauth2/callback", "/oauth2/token", "/oauth2/refresh", "/oauth2/revoke", "/oauth2/introspect", "/saml/acs", "/saml/slo"];
        let saml_login = req.path.starts_with("/saml/") && req.path.ends_with("/login");
        if !flow_endpoints.contains(&req.path.as_str()) && !saml_login {
            return Ok(None);
        }
        let ip = client_ip(req);
        let query = req.query_params().unwrap_or_default();
        let body = if req.path == "/oauth2/token" { TokenRequest::parse(req).ok() } else { None };
        let saml_form = if req.path == "/saml/acs" { Params::parse(&req.body).ok() } else { None };
        let flow = match req.path.as_str() {
            "/oauth2/callback" => query.get("state"),
            "/oauth2/token" => body.as_ref().and_then(TokenRequest::flow_id),
            "/saml/acs" => saml_form.as_ref().and_then(|f| f.get("RelayState")),
            _ => None,
        };
        let user = if req.path == "/oauth2/authorize" { query.get("login_hint").map(str::to_ascii_lowercase) } else { None };
        let client = body.as_ref().and_then(TokenRequest::client_id);
        let mut checks = vec![("ip", ip, limits.ip)];
        if let Some(flow) = flow {
            checks.push(("session", flow, limits.session));
        }
        if let Some(user) = user.as_deref() {
            checks.push(("user", user, limits.user));
        }
        if let Some(client) = client {
            checks.push(("client", client, limits.client));
        }
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
