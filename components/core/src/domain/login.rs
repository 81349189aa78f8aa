//! The OAuth login flow: [`start`] sends the browser to the provider,
//! [`finish`] takes it back. The flow record is keyed by our own random
//! `state`, which the provider sends back; it is single use (CSRF and
//! replay, RFC 9700 §4.7). A client-chosen (guessable) value never opens a flow.

use serde::{Deserialize, Serialize};

use super::client::ClientRequest;
use super::{codes, users, CODE_LIFETIME};
use crate::encoding::random_token;
use crate::error::AuthError;
use crate::ports::World;
use crate::store::{self, keys};
use crate::upstream::{IdentityProvider, UpstreamLogin};

/// A login in progress, between authorize and callback.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flow {
    /// The provider the user logs in with.
    pub idp: String,
    /// What the client asked for.
    pub client: ClientRequest,
    /// What we hold towards the provider.
    pub upstream: UpstreamLogin,
    /// Set once the callback has consumed the flow.
    pub used: bool,
}

/// Start a login at `provider`; returns where to send the browser.
/// `redirect_uri` is our callback, registered with the provider.
pub fn start(
    world: &World,
    provider: &dyn IdentityProvider,
    mut client: ClientRequest,
    login_hint: Option<&str>,
    redirect_uri: &str,
) -> Result<String, AuthError> {
    // A client that sent no state still gets one back (CONTRACT.md).
    client.state.get_or_insert_with(|| random_token(world.random));
    let upstream = provider.begin(login_hint, world.random);
    let state = random_token(world.random);
    // The provider's URL first: a provider that cannot be reached leaves no flow behind.
    let location = provider.authorization_url(&state, &upstream, redirect_uri, world)?;
    let flow = Flow { idp: provider.info().id.clone(), client, upstream, used: false };
    store::write(world.store, &keys::flow(&state), &flow, world.now + CODE_LIFETIME)?;
    Ok(location)
}

/// Mark the flow of `state` used and return it; exactly one caller wins.
pub fn consume(world: &World, state: &str) -> Result<Flow, AuthError> {
    let key = keys::flow(state);
    let read = store::read::<Flow>(world.store, &key, world.now)?
        .ok_or_else(|| AuthError::InvalidRequest("unknown or expired state".into()))?;
    let used = Flow { used: true, ..read.value.clone() };
    if read.value.used || !store::replace(world.store, &key, &read, &used, read.expires_at)? {
        return Err(AuthError::InvalidRequest("state has already been used".into()));
    }
    Ok(read.value)
}

/// What the provider sent back to the callback.
pub struct ProviderAnswer<'a> {
    /// The provider's code.
    pub code: &'a str,
    /// Its RFC 9207 `iss` parameter, if any.
    pub iss: Option<&'a str>,
}

/// Finish a consumed flow: learn who logged in from the provider, and
/// issue a one-time code (never tokens: RFC 9700 §2.1.2) for the client.
/// Returns the redirect to the client callback.
pub fn finish(world: &World, flow: &Flow, provider: &dyn IdentityProvider, answer: &ProviderAnswer, redirect_uri: &str) -> Result<String, AuthError> {
    let identity = provider.exchange(answer.code, answer.iss, &flow.upstream, redirect_uri, world)?;
    let user = users::find_or_create(world, &flow.idp, &identity)?;
    let code = codes::issue(world, &user, &flow.client, None)?;
    flow.client.redirect(&[("code", &code)])
}

/// The provider refused the login (user cancelled, consent denied): tell
/// the client with an error it can act on, and its state.
pub fn refused(flow: &Flow, provider_error: &str) -> Result<String, AuthError> {
    let error = if provider_error == "access_denied" { "access_denied" } else { "server_error" };
    flow.client.redirect(&[("error", error)])
}
