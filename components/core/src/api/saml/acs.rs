//! POST /saml/acs: the IdP's Response comes back through the browser.

use crate::api::body::{self, FORM};
use crate::config::Config;
use crate::domain::saml::{self, Outcome};
use crate::error::AuthError;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::saml::response::decode_posted;

/// Largest RelayState accepted (the spec's maxLength).
const MAX_RELAY_STATE: usize = 10_000;

/// POST /saml/acs.
pub fn assertion_consumer(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    body::media_type(req, &[FORM])?;
    let form = Params::parse(&req.body)?;
    let relay_state = form.get("RelayState");
    if relay_state.is_some_and(|r| r.len() > MAX_RELAY_STATE) {
        return Err(AuthError::InvalidRequest("RelayState is too long".into()));
    }
    let root = decode_posted(form.require("SAMLResponse")?, "SAMLResponse")?;
    Ok(match saml::acs(world, config, &root, relay_state)? {
        Outcome::Redirect(location) => Response::redirect(location),
        Outcome::Tokens(tokens) => Response::json_no_store(200, &tokens),
    })
}
