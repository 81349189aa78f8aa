//! Maps method and path to the rule modules; nothing else.

use serde_json::json;

use crate::config::Config;
use crate::discovery;
use crate::error::AuthError;
use crate::flows;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::providers::Providers;
use crate::token_endpoint;
use crate::userinfo;

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
        match self.route(req, world) {
            Ok(response) => (response, None),
            Err(e) => {
                let diagnostic = matches!(e, AuthError::Internal(_) | AuthError::Unavailable(_)).then(|| e.to_string());
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
        match req.path.as_str() {
            "/healthz" => {
                only("GET")?;
                world.store.get("healthz")?;
                Ok(Response::json(200, &json!({ "status": "ok" })))
            }
            "/oauth2/providers" => only("GET").map(|_| discovery::providers(c, p)),
            "/oauth2/authorize" => only("GET").and_then(|_| flows::authorize(req, c, p, world)),
            "/oauth2/callback" => only("GET").and_then(|_| flows::callback(req, c, p, world)),
            "/oauth2/token" => only("POST").and_then(|_| token_endpoint::token(req, c, world)),
            "/oauth2/userinfo" => only("GET").and_then(|_| userinfo::userinfo(req, c, world)),
            "/users/me" => only("GET").and_then(|_| userinfo::users_me(req, c, world)),
            "/.well-known/openid-configuration" => only("GET").and_then(|_| discovery::openid_configuration(c, world)),
            "/.well-known/oauth-authorization-server" => only("GET").map(|_| discovery::authorization_server(c)),
            "/.well-known/oauth-protected-resource" => only("GET").map(|_| discovery::protected_resource(c)),
            "/.well-known/jwks.json" => only("GET").and_then(|_| discovery::jwks(world)),
            _ => Err(AuthError::NotFound("no such endpoint".into())),
        }
    }
}
