//! GET /oauth2/userinfo and GET /users/me: who the bearer token belongs to.

use serde_json::json;

use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::tokens::{self, AccessClaims};
use crate::users::{self, User, UserRef};

/// Verify the bearer token and load its user.
pub fn authenticate(req: &Request, config: &Config, world: &World) -> Result<(AccessClaims, User), AuthError> {
    let claims = tokens::verify(world, config, req.bearer_token()?)?;
    let user_ref = UserRef { idp: claims.idp.clone(), provider_user_id: claims.sub.clone() };
    let user = users::load(world, &user_ref)?.ok_or_else(|| AuthError::InvalidToken("unknown user".into()))?;
    Ok((claims, user))
}

/// GET /oauth2/userinfo.
pub fn userinfo(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let (_, user) = authenticate(req, config, world)?;
    Ok(Response::json_no_store(
        200,
        &json!({
            "sub": user.user_ref.provider_user_id,
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "idp": user.user_ref.idp,
            "groups": user.groups,
            "providers": [{ "provider": user.user_ref.idp, "is_primary": true }],
        }),
    ))
}

/// GET /users/me: the spec's `UserWithAdminStatus`.
pub fn users_me(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let (_, user) = authenticate(req, config, world)?;
    Ok(Response::json_no_store(
        200,
        &json!({
            "principal_type": "user",
            "provider": user.user_ref.idp,
            "provider_id": user.user_ref.provider_user_id,
            "display_name": user.name,
            "email": user.email,
            "is_admin": users::is_admin(config, &user),
        }),
    ))
}
