//! The groups seen in logins from each identity provider, for
//! GET /oauth2/providers/{idp}/groups.

use serde_json::json;

use crate::config::Config;
use crate::error::AuthError;
use crate::http::{Request, Response};
use crate::ports::World;
use crate::providers::Providers;
use crate::records;
use crate::userinfo;

const FOREVER: u64 = u64::MAX;
/// Groups remembered per provider, at most.
const MAX_GROUPS: usize = 1000;

fn key(idp: &str) -> String {
    format!("groups:{idp}")
}

/// Remember `groups` as seen from `idp`.
pub fn record(world: &World, idp: &str, groups: &[String]) -> Result<(), AuthError> {
    if groups.is_empty() {
        return Ok(());
    }
    loop {
        let read = records::read::<Vec<String>>(world.store, &key(idp), world.now)?;
        let mut all = read.as_ref().map(|r| r.value.clone()).unwrap_or_default();
        let before = all.len();
        for g in groups {
            if all.len() < MAX_GROUPS && !all.contains(g) {
                all.push(g.clone());
            }
        }
        if all.len() == before {
            return Ok(());
        }
        all.sort();
        let won = match &read {
            Some(r) => records::replace(world.store, &key(idp), r, &all, FOREVER)?,
            None => records::create(world.store, &key(idp), &all, FOREVER)?,
        };
        if won {
            return Ok(());
        }
    }
}

/// GET /oauth2/providers/{idp}/groups.
pub fn list(req: &Request, idp: &str, config: &Config, providers: &Providers, world: &World) -> Result<Response, AuthError> {
    userinfo::authenticate(req, config, world)?;
    let seen = records::read::<Vec<String>>(world.store, &key(idp), world.now)?.map(|r| r.value);
    if seen.is_none() && providers.get(idp).is_none() {
        return Err(AuthError::NotFound(format!("no identity provider {idp}")));
    }
    let groups: Vec<_> = seen.unwrap_or_default().into_iter().map(|name| json!({ "name": name })).collect();
    Ok(Response::json(200, &json!({ "idp": idp, "groups": groups })))
}
