//! GET /saml/providers and GET /saml/{provider}/metadata.

use serde_json::json;

use super::login::enabled_provider;
use super::metadata::{sp_entity_descriptor, MEDIA_TYPE};
use crate::config::Config;
use crate::error::AuthError;
use crate::http::Response;

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

/// GET /saml/{provider}/metadata: the SP EntityDescriptor, 404 for an
/// unknown or disabled provider.
pub fn metadata(provider_id: &str, config: &Config) -> Result<Response, AuthError> {
    let p = enabled_provider(config, provider_id)?;
    Ok(Response {
        status: 200,
        headers: vec![("content-type".into(), MEDIA_TYPE.into())],
        body: sp_entity_descriptor(p).into_bytes(),
    })
}
