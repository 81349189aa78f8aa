//! GET /oauth2/userinfo and GET /users/me: who the bearer token belongs to.

use serde_json::json;

use crate::config::Config;
use crate::domain::principal::{self, Principal};
use crate::domain::users;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;

fn principal(req: &Request, config: &Config, world: &World) -> Result<Principal, AuthError> {
    principal::authenticate(world, config, req.bearer_token()?)
}

/// GET /oauth2/userinfo.
pub fn current_user(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let body = match principal(req, config, world)? {
        Principal::User { user, .. } => json!({
            "sub": user.user_ref.provider_user_id,
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "idp": user.user_ref.idp,
            "groups": user.groups,
            "providers": [{ "provider": user.user_ref.idp, "is_primary": true }],
        }),
        Principal::ServiceAccount { claims } => json!({
            "sub": claims.sub,
            // `sa:<credential id>:<owner sub>` → the credential id.
            "id": claims.sub.split(':').nth(1).unwrap_or_default(),
            "email": claims.email,
            "name": claims.name,
            "idp": claims.idp,
            "groups": claims.groups,
        }),
    };
    Ok(Response::json_no_store(200, &body))
}

/// GET /users/me: the spec's `UserWithAdminStatus`.
pub fn current_user_profile(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let body = match principal(req, config, world)? {
        Principal::User { user, .. } => json!({
            "principal_type": "user",
            "provider": user.user_ref.idp,
            "provider_id": user.user_ref.provider_user_id,
            "display_name": user.name,
            "email": user.email,
            "is_admin": users::is_admin(config, &user),
        }),
        Principal::ServiceAccount { claims } => json!({
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
