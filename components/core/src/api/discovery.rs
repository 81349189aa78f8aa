//! Public documents: RFC 8414 / OIDC discovery metadata, RFC 9728
//! protected-resource metadata and the JWKS.

use serde_json::{json, Value};

use crate::config::Config;
use crate::error::AuthError;
use crate::http::Response;
use crate::ports::World;

fn signing_algs(world: &World) -> Result<Vec<String>, AuthError> {
    let mut algs: Vec<String> = world
        .keyring
        .public_keys()?
        .iter()
        .filter_map(|k| serde_json::from_str::<Value>(k).ok())
        .filter_map(|k| k.get("alg").and_then(Value::as_str).map(String::from))
        .collect();
    algs.dedup();
    Ok(algs)
}

/// GET /.well-known/openid-configuration.
pub fn openid_configuration(config: &Config, world: &World) -> Result<Response, AuthError> {
    Ok(Response::json(
        200,
        &json!({
            "issuer": config.base_url,
            "authorization_endpoint": config.url("/oauth2/authorize"),
            "token_endpoint": config.url("/oauth2/token"),
            "userinfo_endpoint": config.url("/oauth2/userinfo"),
            "jwks_uri": config.url("/.well-known/jwks.json"),
            "introspection_endpoint": config.url("/oauth2/introspect"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": signing_algs(world)?,
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "jti", "email", "email_verified", "name", "idp", "groups", "tmi_is_administrator"],
        }),
    ))
}

/// GET /.well-known/oauth-authorization-server.
pub fn authorization_server(config: &Config) -> Response {
    Response::json(
        200,
        &json!({
            "issuer": config.base_url,
            "authorization_endpoint": config.url("/oauth2/authorize"),
            "token_endpoint": config.url("/oauth2/token"),
            "introspection_endpoint": config.url("/oauth2/introspect"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        }),
    )
}

/// GET /.well-known/oauth-protected-resource.
pub fn protected_resource(config: &Config) -> Response {
    Response::json(
        200,
        &json!({
            "resource": config.base_url,
            "scopes_supported": ["openid", "email", "profile"],
            "authorization_servers": [config.base_url],
            "jwks_url": config.url("/.well-known/jwks.json"),
            "bearer_methods_supported": ["header"],
            "resource_name": "TMI (Threat Modeling Improved) API",
            "tls_client_certificate_bound_access_tokens": false,
        }),
    )
}

/// GET /.well-known/jwks.json. Keys carry their public parameters (RFC
/// 7517), which the spec's JWK schema omits: without them no client could
/// verify a token (a documented deviation).
pub fn jwks(world: &World) -> Result<Response, AuthError> {
    let keys: Vec<Value> = world
        .keyring
        .public_keys()?
        .iter()
        .map(|k| serde_json::from_str(k).map_err(|_| AuthError::Internal("keyring returned a malformed JWK".into())))
        .collect::<Result<_, _>>()?;
    let mut response = Response::json(200, &json!({ "keys": keys }));
    response.header("cache-control", "public, max-age=300".into());
    Ok(response)
}
