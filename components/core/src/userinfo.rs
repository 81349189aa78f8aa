//! GET /oauth2/userinfo and GET /users/me: who the bearer token belongs to.

use serde_json::json;

use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::tokens::{self, AccessClaims};
use crate::users::{self, User, UserRef};

/// Verify the bearer token and load its user. Service-account tokens have
/// no user record: their claims are all there is.
pub fn authenticate(req: &Request, config: &Config, world: &World) -> Result<(AccessClaims, Option<User>), AuthError> {
    let claims = tokens::verify(world, config, req.bearer_token()?)?;
    if claims.is_service_account() {
        return Ok((claims, None));
    }
    let user_ref = UserRef { idp: claims.idp.clone(), provider_user_id: claims.sub.clone() };
    let user = users::load(world, &user_ref)?.ok_or_else(|| AuthError::InvalidToken("unknown user".into()))?;
    Ok((claims, Some(user)))
}

/// GET /oauth2/userinfo.
pub fn userinfo(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let (claims, user) = authenticate(req, config, world)?;
    let body = match user {
        Some(user) => json!({
            "sub": user.user_ref.provider_user_id,
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "idp": user.user_ref.idp,
            "groups": user.groups,
            "providers": [{ "provider": user.user_ref.idp, "is_primary": true }],
        }),
        None => json!({
            "sub": claims.sub,
            "id": service_account_id(&claims),
            "email": claims.email,
            "name": claims.name,
            "idp": claims.idp,
            "groups": claims.groups,
        }),
    };
    Ok(Response::json_no_store(200, &body))
}

/// `sa:<credential id>:<owner sub>` → the credential id.
fn service_account_id(claims: &AccessClaims) -> String {
    claims.sub.split(':').nth(1).unwrap_or_default().to_string()
}

/// GET /users/me: the spec's `UserWithAdminStatus`.
pub fn users_me(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let (claims, user) = authenticate(req, config, world)?;
    let body = match user {
        Some(user) => json!({
            "principal_type": "user",
            "provider": user.user_ref.idp,
            "provider_id": user.user_ref.provider_user_id,
            "display_name": user.name,
            "email": user.email,
            "is_admin": users::is_admin(config, &user),
        }),
        None => json!({
            "principal_type": "user",
            "provider": claims.idp,
            "provider_id": claims.sub,
            "display_name": claims.name,
            "email": claims.email,
            "is_admin": false,
        }),
    };
    Ok(Response::json_no_store(200, &body))
}
