//! POST /oauth2/introspect (RFC 7662): `active:false` for anything that is
//! not a live token of ours, and exactly the spec's fields otherwise.

use serde_json::json;

use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::sessions;
use crate::tokens;
use crate::users;

/// Handle POST /oauth2/introspect.
pub fn introspect(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    if req.body.len() > 16 * 1024 {
        return Err(AuthError::PayloadTooLarge);
    }
    if req.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(AuthError::InvalidRequest("Content-Type must be application/x-www-form-urlencoded".into()));
    }
    let params = Params::parse(&req.body)?;
    let token = params.require("token")?;
    let body = match tokens::verify(world, config, token) {
        Ok(c) => json!({
            "active": true, "sub": c.sub, "email": c.email, "email_verified": c.email_verified,
            "name": c.name, "exp": c.exp, "iat": c.iat, "iss": c.iss,
        }),
        Err(AuthError::InvalidToken(_)) => refresh_token(world, config, token)?,
        Err(e) => return Err(e),
    };
    Ok(Response::json_no_store(200, &body))
}

fn refresh_token(world: &World, config: &Config, token: &str) -> Result<serde_json::Value, AuthError> {
    let inactive = json!({ "active": false });
    let Some((refresh, expires_at)) = sessions::lookup_refresh(world, token)? else { return Ok(inactive) };
    let Some(user_ref) = sessions::session_user(world, &refresh.session)? else { return Ok(inactive) };
    let Some(user) = users::load(world, &user_ref)? else { return Ok(inactive) };
    Ok(json!({
        "active": true, "sub": user.user_ref.provider_user_id, "email": user.email,
        "email_verified": user.email_verified, "name": user.name,
        "exp": expires_at, "iat": refresh.issued_at, "iss": config.base_url,
    }))
}
