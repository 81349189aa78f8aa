//! Single logout: GET /saml/slo (HTTP-Redirect binding) and POST /saml/slo
//! (HTTP-POST binding). Only a LogoutRequest signed by the IdP is obeyed;
//! it ends every session its NameID opened through the ACS.

use serde_json::json;

use crate::api::body::{self, FORM};
use crate::config::Config;
use crate::domain::saml;
use crate::error::AuthError;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::saml::logout::{verify_post, verify_redirect, VerifiedLogout};

fn obey(verified: &VerifiedLogout, config: &Config, world: &World) -> Result<Response, AuthError> {
    let ended = saml::logout(world, config, verified)?;
    Ok(Response::json(200, &json!({ "message": format!("logged out; {ended} session(s) ended") })))
}

/// GET /saml/slo: the signature covers the raw query parameters.
pub fn logout_redirect(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let q = req.query_params()?;
    let signature = q.get("SigAlg").zip(q.get("Signature"));
    let verified = verify_redirect(&config.saml_providers, &req.query, q.require("SAMLRequest")?, signature, world.now, world.random)?;
    obey(&verified, config, world)
}

/// POST /saml/slo: an enveloped signature.
pub fn logout_post(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    body::media_type(req, &[FORM])?;
    let form = Params::parse(&req.body)?;
    let verified = verify_post(&config.saml_providers, form.require("SAMLRequest")?, world.now, world.random)?;
    obey(&verified, config, world)
}
