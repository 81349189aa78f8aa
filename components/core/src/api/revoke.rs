//! POST /oauth2/revoke: logout with the bearer token (TMI's semantics: that
//! token is revoked and its session ended), or an RFC 7009 body naming an
//! access or refresh token.

use serde::Deserialize;
use serde_json::json;

use super::body::{self, FORM, JSON, MAX_BODY};
use crate::config::Config;
use crate::domain::sessions::{self, Lifetimes};
use crate::domain::tokens::{self, AccessClaims};
use crate::error::{AuthError, TokenRule};
use crate::http::{Params, Request, Response};
use crate::ports::World;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RevocationRequest {
    token: Option<String>,
    token_type_hint: Option<String>,
}

fn revoked() -> Response {
    Response::json_no_store(200, &json!({ "message": "Token revoked successfully" }))
}

/// End the token's session, then the token: an outage between the two
/// leaves the token unusable already (it carries the session), never a
/// revoked token whose session lives on.
fn end(world: &World, lifetimes: &Lifetimes, claims: &AccessClaims) -> Result<(), AuthError> {
    if let Some(sid) = &claims.sid {
        sessions::revoke(world, lifetimes, sid)?;
    }
    tokens::revoke(world, claims)
}

/// POST /oauth2/revoke. No credential at all (no bearer token, no token
/// in the body) is 401, whatever the content type.
pub fn logout(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let lifetimes = Lifetimes::from(config);
    if req.header("authorization").is_some() {
        let claims = tokens::verify(world, config, req.bearer_token()?)?;
        end(world, &lifetimes, &claims)?;
        return Ok(revoked());
    }
    let no_credential = AuthError::InvalidToken(TokenRule::Missing);
    body::limit(req, MAX_BODY)?;
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(no_credential);
    }
    let body = match body::media_type(req, &[JSON, FORM]) {
        Ok(JSON) => body::parse_json::<RevocationRequest>(&req.body, "{token, token_type_hint?}")?,
        Ok(_) => {
            let p = Params::parse(&req.body)?;
            RevocationRequest { token: p.get("token").map(String::from), token_type_hint: p.get("token_type_hint").map(String::from) }
        }
        Err(_) => return Err(no_credential),
    };
    let token = body.token.filter(|t| !t.is_empty()).ok_or(no_credential)?;
    let _hint = body.token_type_hint; // both kinds are tried (RFC 7009 §2.1)
    // RFC 7009 §2.2: an invalid or unknown token is not an error.
    if let Ok(claims) = tokens::verify_signed(world, config, &token) {
        end(world, &lifetimes, &claims)?;
    } else if let Some((refresh, _)) = sessions::lookup_refresh(world, &token)? {
        sessions::revoke(world, &lifetimes, &refresh.session)?;
    }
    Ok(revoked())
}
