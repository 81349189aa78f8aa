//! The SAML endpoints: /saml/providers, /saml/{provider}/metadata,
//! /saml/{provider}/login, /saml/acs and /saml/slo.

pub mod acs;
pub mod login;
pub mod metadata;
pub mod slo;

#[cfg(test)]
mod acs_tests;
#[cfg(test)]
mod sp_tests;

use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;

/// `/saml/{provider}/metadata` and `/saml/{provider}/login`; `rest` is the
/// path after `/saml/`.
pub fn provider_route(req: &Request, rest: &str, config: &Config, world: &World) -> Result<Response, AuthError> {
    let only_get = || if req.method == "GET" { Ok(()) } else { Err(AuthError::MethodNotAllowed("GET")) };
    match rest.split_once('/') {
        Some((id, "metadata")) if !id.is_empty() => only_get().and_then(|_| metadata::entity_descriptor(id, config)),
        Some((id, "login")) if !id.is_empty() => only_get().and_then(|_| login::initiate(req, id, config, world)),
        _ => Err(AuthError::NotFound("no such endpoint".into())),
    }
}
