//! POST /oauth2/introspect (RFC 7662): `active:false` for anything that is
//! not a live token of ours, and exactly the spec's fields otherwise.

use serde_json::{json, Value};

use super::body::{self, MAX_BODY};
use crate::config::Config;
use crate::domain::tokens::{self, Introspection};
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;

/// POST /oauth2/introspect.
pub fn introspect(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let params = body::form(req, MAX_BODY)?;
    let token = params.require("token")?;
    Ok(Response::json_no_store(200, &render(tokens::introspect(world, config, token)?)))
}

fn render(introspection: Option<Introspection>) -> Value {
    match introspection {
        None => json!({ "active": false }),
        Some(i) => json!({
            "active": true, "sub": i.sub, "email": i.email, "email_verified": i.email_verified,
            "name": i.name, "exp": i.exp, "iat": i.iat, "iss": i.iss,
        }),
    }
}
