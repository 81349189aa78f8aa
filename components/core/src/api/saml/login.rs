//! GET /saml/{provider}/login: SP-initiated login. The pending request is
//! stored (keyed by our own random RelayState, single use, 10 minutes) so
//! the ACS can check InResponseTo and find the client callback; the
//! browser goes to the IdP with the AuthnRequest over HTTP-Redirect.

use super::metadata::enabled;
use crate::config::Config;
use crate::domain::client::{ClientRequest, Pkce};
use crate::domain::saml;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::saml::authn_request::{authn_request_xml, redirect_url};

/// GET /saml/{provider}/login.
pub fn initiate(req: &Request, provider_id: &str, config: &Config, world: &World) -> Result<Response, AuthError> {
    let p = enabled(config, provider_id)?;
    let q = req.query_params()?;
    let client = ClientRequest::validate(
        q.get("client_callback"),
        q.get("state"),
        q.get("code_challenge"),
        q.get("code_challenge_method"),
        Pkce::Optional,
        &config.callback_allowlist,
    )?;
    let (request_id, relay_state) = saml::begin(world, p, client)?;
    let xml = authn_request_xml(p, &request_id, world.now);
    let signer = p.sign_authn_requests.then_some(&p.sp_key.key);
    Ok(Response::redirect(redirect_url(&p.idp.sso_redirect, &xml, &relay_state, signer)?))
}
