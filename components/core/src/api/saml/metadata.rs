//! GET /saml/providers and GET /saml/{provider}/metadata.

use serde_json::json;

use crate::config::saml::SamlProviderConfig;
use crate::config::Config;
use crate::error::AuthError;
use crate::http::Response;
use crate::saml::metadata::{sp_entity_descriptor, MEDIA_TYPE};

/// The enabled provider `id`, or 404.
pub fn enabled<'a>(config: &'a Config, id: &str) -> Result<&'a SamlProviderConfig, AuthError> {
    config.saml_provider(id).ok_or_else(|| AuthError::NotFound("no such SAML provider".into()))
}

/// GET /saml/providers: every enabled SAML provider (`SAMLProviderInfo`).
pub fn providers(config: &Config) -> Response {
    let list: Vec<_> = config
        .saml_providers
        .iter()
        .filter(|p| p.enabled)
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "icon": p.icon,
                "auth_url": config.url(&format!("/saml/{}/login", p.id)),
                "metadata_url": config.url(&format!("/saml/{}/metadata", p.id)),
                "entity_id": p.sp_entity_id,
                "acs_url": p.acs_url,
                "slo_url": p.slo_url,
            })
        })
        .collect();
    Response::json(200, &json!({ "providers": list }))
}

/// GET /saml/{provider}/metadata: the SP EntityDescriptor.
pub fn entity_descriptor(provider_id: &str, config: &Config) -> Result<Response, AuthError> {
    let p = enabled(config, provider_id)?;
    Ok(Response { status: 200, headers: vec![("content-type".into(), MEDIA_TYPE.into())], body: sp_entity_descriptor(p).into_bytes() })
}
