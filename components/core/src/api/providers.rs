//! GET /oauth2/providers and GET /oauth2/providers/{idp}/groups.

use serde_json::{json, Value};

use crate::config::Config;
use crate::domain::{groups, principal};
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::upstream::Providers;
use crate::values::is_provider_id;

/// GET /oauth2/providers: every enabled provider with absolute URLs built
/// from the configured base URL (never from the Host header).
pub fn list(config: &Config, providers: &Providers) -> Response {
    let list: Vec<Value> = providers
        .iter()
        .map(|p| {
            let info = p.info();
            json!({
                "id": info.id,
                "name": info.name,
                "icon": info.icon,
                "auth_url": config.url(&format!("/oauth2/authorize?idp={}", info.id)),
                "token_url": config.url(&format!("/oauth2/token?idp={}", info.id)),
                "redirect_uri": config.url("/oauth2/callback"),
                "client_id": info.client_id,
            })
        })
        .collect();
    Response::json(200, &json!({ "providers": list }))
}

/// GET /oauth2/providers/{idp}/groups: the groups seen in logins from
/// that provider, OAuth and SAML alike.
pub fn groups(req: &Request, idp: &str, config: &Config, providers: &Providers, world: &World) -> Result<Response, AuthError> {
    principal::authenticate(world, config, req.bearer_token()?)?;
    let known = is_provider_id(idp) && (providers.get(idp).is_some() || config.saml_provider(idp).is_some());
    let seen = if is_provider_id(idp) { groups::seen(world, idp)? } else { None };
    if seen.is_none() && !known {
        return Err(AuthError::NotFound("no such identity provider".into()));
    }
    let groups: Vec<Value> = seen.unwrap_or_default().into_iter().map(|name| json!({ "name": name })).collect();
    Ok(Response::json(200, &json!({ "idp": idp, "groups": groups })))
}
