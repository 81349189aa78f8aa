//! Client credentials for machines (CONTRACT.md): users create up to ten;
//! each is a `tmi_cc_` client id and a 256-bit secret shown once, stored as
//! HMAC-SHA-256 under a server-side pepper. A fast keyed hash is right here:
//! the secret is high-entropy, so a slow password hash would only slow the
//! grant without making guessing any harder.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::encoding::{b64url, random_token, random_uuid, sha256_b64url};
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::records;
use crate::timefmt::{parse_rfc3339, rfc3339};
use crate::tokens::AccessClaims;
use crate::userinfo;
use crate::users::{User, UserRef};

/// Active credentials one user may hold.
pub const QUOTA: usize = 10;
const FOREVER: u64 = u64::MAX;

/// A client credential as stored (never its secret, only its hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientCredential {
    /// UUID, for the API.
    pub id: String,
    /// `tmi_cc_…`, for the grant.
    pub client_id: String,
    /// base64url HMAC-SHA-256(pepper, secret).
    pub secret_hash: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The user who created it.
    pub owner: UserRef,
    /// Created.
    pub created_at: u64,
    /// Expiry, if any.
    pub expires_at: Option<u64>,
    /// Last successful grant.
    pub last_used_at: Option<u64>,
}

impl ClientCredential {
    fn is_active(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|e| e > now)
    }

    fn info(&self, now: u64) -> serde_json::Value {
        let mut v = json!({
            "id": self.id,
            "client_id": self.client_id,
            "name": self.name,
            "is_active": self.is_active(now),
            "created_at": rfc3339(self.created_at),
            "modified_at": rfc3339(self.created_at),
        });
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        if let Some(e) = self.expires_at {
            v["expires_at"] = json!(rfc3339(e));
        }
        if let Some(u) = self.last_used_at {
            v["last_used_at"] = json!(rfc3339(u));
        }
        v
    }
}

fn credential_key(client_id: &str) -> String {
    format!("cc:{client_id}")
}

fn owner_index_key(owner: &UserRef) -> String {
    format!("cc-owner:{}:{}", owner.idp, sha256_b64url(&owner.provider_user_id))
}

fn hash_secret(config: &Config, secret: &str) -> Result<String, AuthError> {
    let pepper = config
        .client_secret_pepper
        .as_ref()
        .ok_or_else(|| AuthError::Internal("client_secret_pepper is not configured".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.0.as_bytes())
        .map_err(|_| AuthError::Internal("unusable pepper".into()))?;
    mac.update(secret.as_bytes());
    Ok(b64url(&mac.finalize().into_bytes()))
}

/// Load a credential; expired ones are returned too (the caller decides).
pub fn load(world: &World, client_id: &str) -> Result<Option<ClientCredential>, AuthError> {
    Ok(records::read(world.store, &credential_key(client_id), world.now)?.map(|r| r.value))
}

/// Whether tokens of this credential are still good: it exists and has not expired.
pub fn is_active(world: &World, client_id: &str) -> Result<bool, AuthError> {
    Ok(load(world, client_id)?.is_some_and(|c| c.is_active(world.now)))
}

/// The bearer must be a user, not a service account.
fn authenticate_owner(req: &Request, config: &Config, world: &World) -> Result<User, AuthError> {
    let (claims, user): (AccessClaims, Option<User>) = userinfo::authenticate(req, config, world)?;
    if claims.is_service_account() {
        return Err(AuthError::Forbidden("service account tokens cannot manage client credentials".into()));
    }
    user.ok_or_else(|| AuthError::InvalidToken("unknown user".into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    description: Option<String>,
    expires_at: Option<String>,
}

/// POST /client-credentials.
pub fn create(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let user = authenticate_owner(req, config, world)?;
    if req.body.len() > 16 * 1024 {
        return Err(AuthError::PayloadTooLarge);
    }
    if req.media_type().as_deref() != Some("application/json") {
        return Err(AuthError::InvalidRequest("Content-Type must be application/json".into()));
    }
    let body: CreateRequest = serde_json::from_slice(&req.body)
        .map_err(|_| AuthError::InvalidRequest("body must be {name, description?, expires_at?}".into()))?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AuthError::InvalidRequest("name must be 1-100 printable characters".into()));
    }
    if body.description.as_ref().is_some_and(|d| d.chars().count() > 500 || d.chars().any(char::is_control)) {
        return Err(AuthError::InvalidRequest("description must be at most 500 printable characters".into()));
    }
    let expires_at = match &body.expires_at {
        None => None,
        Some(t) => match parse_rfc3339(t) {
            Some(e) if e > world.now => Some(e),
            Some(_) => return Err(AuthError::InvalidRequest("expires_at must be in the future".into())),
            None => return Err(AuthError::InvalidRequest("expires_at must be an RFC 3339 date-time".into())),
        },
    };

    let mut id_bytes = [0u8; 16];
    world.random.fill(&mut id_bytes);
    let secret = random_token(world.random);
    let credential = ClientCredential {
        id: random_uuid(world.random),
        client_id: format!("tmi_cc_{}", b64url(&id_bytes)),
        secret_hash: hash_secret(config, &secret)?,
        name: name.to_string(),
        description: body.description.clone(),
        owner: user.user_ref.clone(),
        created_at: world.now,
        expires_at,
        last_used_at: None,
    };
    // The record first, then the index: a crash in between leaves an
    // unreachable record, never an index entry without a record.
    records::write(world.store, &credential_key(&credential.client_id), &credential, FOREVER)?;
    let index_key = owner_index_key(&user.user_ref);
    loop {
        let read = records::read::<Vec<String>>(world.store, &index_key, world.now)?;
        let mut ids: Vec<String> = read.as_ref().map(|r| r.value.clone()).unwrap_or_default();
        let active = ids.iter().filter(|id| is_active(world, id).unwrap_or(true)).count();
        if active >= QUOTA {
            world.store.delete(&credential_key(&credential.client_id))?;
            return Err(AuthError::Forbidden(format!("at most {QUOTA} active client credentials per user")));
        }
        ids.push(credential.client_id.clone());
        let won = match &read {
            Some(r) => records::replace(world.store, &index_key, r, &ids, FOREVER)?,
            None => records::create(world.store, &index_key, &ids, FOREVER)?,
        };
        if won {
            break;
        }
    }
    let mut body = json!({
        "id": credential.id,
        "client_id": credential.client_id,
        "client_secret": secret,
        "name": credential.name,
        "created_at": rfc3339(credential.created_at),
    });
    if let Some(d) = &credential.description {
        body["description"] = json!(d);
    }
    if let Some(e) = credential.expires_at {
        body["expires_at"] = json!(rfc3339(e));
    }
    Ok(Response::json_no_store(201, &body))
}

fn owned(world: &World, owner: &UserRef) -> Result<Vec<ClientCredential>, AuthError> {
    let ids = records::read::<Vec<String>>(world.store, &owner_index_key(owner), world.now)?
        .map(|r| r.value)
        .unwrap_or_default();
    let mut list = Vec::new();
    for id in ids {
        if let Some(c) = load(world, &id)? {
            list.push(c);
        }
    }
    Ok(list)
}

/// GET /client-credentials: always an array, newest first, no secrets.
pub fn list(req: &Request, config: &Config, world: &World) -> Result<Response, AuthError> {
    let user = authenticate_owner(req, config, world)?;
    let mut creds = owned(world, &user.user_ref)?;
    creds.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    let body: Vec<_> = creds.iter().map(|c| c.info(world.now)).collect();
    Ok(Response::json_no_store(200, &body))
}

/// DELETE /client-credentials/{id}: owner only; 404 for anyone else.
pub fn delete(req: &Request, id: &str, config: &Config, world: &World) -> Result<Response, AuthError> {
    let user = authenticate_owner(req, config, world)?;
    if !is_uuid(id) {
        return Err(AuthError::InvalidRequest("id must be a UUID".into()));
    }
    let not_found = || AuthError::NotFound("no such client credential".into());
    let credential = owned(world, &user.user_ref)?.into_iter().find(|c| c.id == id).ok_or_else(not_found)?;
    // The record goes first: from then on every token of it is inactive.
    world.store.delete(&credential_key(&credential.client_id))?;
    let index_key = owner_index_key(&user.user_ref);
    while let Some(read) = records::read::<Vec<String>>(world.store, &index_key, world.now)? {
        let ids: Vec<String> = read.value.iter().filter(|c| **c != credential.client_id).cloned().collect();
        if records::replace(world.store, &index_key, &read, &ids, FOREVER)? {
            break;
        }
    }
    Ok(Response { status: 204, headers: Vec::new(), body: Vec::new() })
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// Failures before each lockout step, and how long that lockout lasts.
const LOCKOUT_STEPS: [(i64, u64); 4] = [(5, 1), (10, 30), (20, 300), (50, 3600)];

fn failures_key(client_id: &str) -> String {
    format!("cc-failures:{}", sha256_b64url(client_id))
}

fn lock_key(client_id: &str) -> String {
    format!("cc-lock:{}", sha256_b64url(client_id))
}

/// Authenticate a client for the client_credentials grant.
pub fn authenticate_client(world: &World, config: &Config, client_id: &str, secret: &str) -> Result<ClientCredential, AuthError> {
    if let Some(lock) = records::read::<bool>(world.store, &lock_key(client_id), world.now)? {
        return Err(AuthError::TooManyRequests {
            retry_after: lock.expires_at - world.now,
            limit: None,
        });
    }
    let presented = hash_secret(config, secret)?;
    let credential = load(world, client_id)?.filter(|c| c.is_active(world.now));
    let matches = credential
        .as_ref()
        .is_some_and(|c| bool::from(c.secret_hash.as_bytes().ct_eq(presented.as_bytes())));
    let Some(credential) = credential.filter(|_| matches) else {
        // Count failures only for ids that exist, so a spray of random ids
        // cannot fill the store; the IP rate limit covers those.
        if load(world, client_id)?.is_some() {
            let failures = world.store.increment(&failures_key(client_id), 1)?;
            let step = LOCKOUT_STEPS.iter().rev().find(|(n, _)| failures == *n || (failures > 50 && *n == 50));
            if let Some((_, secs)) = step {
                records::write(world.store, &lock_key(client_id), &true, world.now + secs)?;
            }
        }
        return Err(AuthError::InvalidClient("client authentication failed".into()));
    };
    // Success forgets earlier failures. Checking presence first keeps the
    // common path free of writes (a counter key is deleted, never `set`).
    if world.store.get(&failures_key(client_id))?.is_some() {
        world.store.delete(&failures_key(client_id))?;
    }
    // last_used_at to the minute: a write per grant would be the hot path's cost.
    if credential.last_used_at.is_none_or(|t| world.now >= t + 60) {
        let used = ClientCredential { last_used_at: Some(world.now), ..credential.clone() };
        records::write(world.store, &credential_key(client_id), &used, FOREVER)?;
    }
    Ok(credential)
}

/// Parse `Authorization: Basic` client authentication (RFC 6749 §2.3.1:
/// both parts form-urlencoded before base64).
pub fn basic_credentials(req: &Request) -> Result<Option<(String, String)>, AuthError> {
    let Some(value) = req.header("authorization") else { return Ok(None) };
    let Some((scheme, encoded)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    use base64::Engine;
    let bad = || AuthError::InvalidClient("malformed Basic credentials".into());
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| -> String { url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default() };
    Ok(Some((unescape(id), unescape(secret))))
}
