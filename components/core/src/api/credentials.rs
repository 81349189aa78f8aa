//! POST/GET /client-credentials and DELETE /client-credentials/{id}:
//! machine credentials, managed by their (user) owner.

use serde::Deserialize;
use serde_json::{json, Value};

use super::body::{self, MAX_BODY};
use crate::config::Config;
use crate::domain::credentials::{self, MachineCredential, NewCredential};
use crate::domain::principal;
use crate::domain::users::User;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::timefmt::{parse_rfc3339, rfc3339};

/// The bearer must be a user, not a service account.
fn owner(req: &Request, config: &Config, world: &World) -> Result<User, AuthError> {
    principal::authenticate(world, config, req.bearer_token()?)?.user("manage client credentials")
}

/// The body of POST /client-credentials (`expiresAt` is TMI's JS client's spelling).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    #[serde(default, deserialize_with = "not_null")]
    description: Option<String>,
    #[serde(default, alias = "expiresAt", deserialize_with = "not_null")]
    expires_at: Option<String>,
}

/// An optional field may be absent, but not `null` (the spec's types are
/// not nullable).
fn not_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// POST /client-credentials: 201 with the secret, shown this once.
pub fn create(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let user = owner(req, config, world)?;
    let body: CreateRequest = body::json(req, MAX_BODY, "{name, description?, expires_at?}")?;
    let expires_at = match &body.expires_at {
        None => None,
        Some(t) => Some(parse_rfc3339(t).ok_or_else(|| AuthError::InvalidRequest("expires_at must be an RFC 3339 date-time".into()))?),
    };
    let new = NewCredential { name: body.name.trim(), description: body.description.as_deref(), expires_at };
    let (credential, secret) = credentials::create(world, config, &user.user_ref, &new)?;
    let mut body = summary(&credential);
    body["client_secret"] = json!(secret);
    Ok(Response::json_no_store(201, &body))
}

/// GET /client-credentials: always an array, newest first, no secrets.
pub fn list(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let user = owner(req, config, world)?;
    let body: Vec<Value> = credentials::list(world, &user.user_ref)?.iter().map(|c| info(c, world.now)).collect();
    Ok(Response::json_no_store(200, &body))
}

/// DELETE /client-credentials/{id}: owner only; 404 for anyone else.
pub fn delete(req: &Request, id: &str, config: &Config, world: &World) -> Result<Response, AuthError> {
    let user = owner(req, config, world)?;
    credentials::delete(world, &user.user_ref, id)?;
    Ok(Response { status: 204, headers: Vec::new(), body: Vec::new() })
}

/// The fields shown when a credential is created.
fn summary(c: &MachineCredential) -> Value {
    let mut v = json!({ "id": c.id, "client_id": c.client_id, "name": c.name, "created_at": rfc3339(c.created_at) });
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    if let Some(e) = c.expires_at {
        v["expires_at"] = json!(rfc3339(e));
    }
    v
}

/// The spec's `ClientCredentialInfo`.
fn info(c: &MachineCredential, now: u64) -> Value {
    let mut v = summary(c);
    v["is_active"] = json!(c.is_active(now));
    v["modified_at"] = json!(rfc3339(c.created_at));
    if let Some(u) = c.last_used_at {
        v["last_used_at"] = json!(rfc3339(u));
    }
    v
}
