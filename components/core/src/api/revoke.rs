//! POST /oauth2/revoke: logout with the bearer token (TMI's semantics: that
//! token is revoked and its session ended), or an RFC 7009 body naming an
//! access or refresh token.

use serde::Deserialize;
use serde_json::json;

use super::body::{self, FORM, JSON, MAX_BODY};
use crate::config::Config;
use crate::domain::sessions::Lifetimes;
use crate::domain::tokens;
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

/// POST /oauth2/revoke. No credential at all (no bearer token, no token
/// in the body) is 401, whatever the content type.
pub fn logout(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let lifetimes = Lifetimes::from(config);
    if req.header("authorization").is_some() {
        let claims = tokens::verify(world, config, req.bearer_token()?)?;
        tokens::end(world, &lifetimes, &claims)?;
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
    tokens::revoke_any(world, config, &token)?;
    Ok(revoked())
}
