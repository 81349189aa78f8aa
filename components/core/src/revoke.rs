//! POST /oauth2/revoke: logout with the bearer token (TMI's semantics: that
//! token is revoked and its session ended), or an RFC 7009 body naming an
//! access or refresh token.

use serde::Deserialize;
use serde_json::json;

use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Params, Request, Response};
use crate::ports::World;
use crate::sessions::{self, Lifetimes};
use crate::tokens::{self, AccessClaims};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RevocationRequest {
    token: Option<String>,
    token_type_hint: Option<String>,
}

fn revoked() -> Response {
    Response::json_no_store(200, &json!({ "message": "Token revoked successfully" }))
}

fn end(world: &World, lifetimes: &Lifetimes, claims: &AccessClaims) -> Result<(), AuthError> {
    tokens::revoke(world, claims)?;
    if let Some(sid) = &claims.sid {
        sessions::revoke(world, lifetimes, sid)?;
    }
    Ok(())
}

/// Handle POST /oauth2/revoke.
pub fn revoke(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let lifetimes = Lifetimes::from(config);
    if req.header("authorization").is_some() {
        let claims = tokens::verify(world, config, req.bearer_token()?)?;
        end(world, &lifetimes, &claims)?;
        return Ok(revoked());
    }
    if req.body.len() > 16 * 1024 {
        return Err(AuthError::PayloadTooLarge);
    }
    let body = match req.media_type().as_deref() {
        Some("application/json") => serde_json::from_slice::<RevocationRequest>(&req.body)
            .map_err(|_| AuthError::InvalidRequest("body must be {token, token_type_hint?}".into()))?,
        Some("application/x-www-form-urlencoded") => {
            let p = Params::parse(&req.body)?;
            RevocationRequest { token: p.get("token").map(String::from), token_type_hint: p.get("token_type_hint").map(String::from) }
        }
        _ => return Err(AuthError::InvalidToken("a bearer token or a token to revoke is required".into())),
    };
    let token = body
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AuthError::InvalidRequest("token is required".into()))?;
    let _hint = body.token_type_hint; // both kinds are tried (RFC 7009 §2.1)
    // RFC 7009 §2.2: an invalid or unknown token is not an error.
    if let Ok(claims) = tokens::verify_signed(world, config, &token) {
        end(world, &lifetimes, &claims)?;
    } else if let Some((refresh, _)) = sessions::lookup_refresh(world, &token)? {
        sessions::revoke(world, &lifetimes, &refresh.session)?;
    }
    Ok(revoked())
}
