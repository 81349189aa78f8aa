//! Upstream identity providers behind one trait: a login asks a provider
//! where to send the browser, then exchanges the code it got back for an
//! [`Identity`]. The `test` provider and the upstream OIDC / OAuth 2.0
//! providers over outbound HTTP ([`oidc`]) all fit this shape.

pub mod jwt;
pub mod oidc;
mod test_provider;
#[cfg(test)]
mod oidc_tests;

use serde::{Deserialize, Serialize};

pub use oidc::UpstreamProvider;
pub use test_provider::TestProvider;

use crate::config::Config;
use crate::error::{AuthError, GrantRule};
use crate::identity::Identity;
use crate::ports::{Random, World};

/// What /oauth2/providers shows of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The `idp` identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Icon identifier.
    pub icon: String,
    /// Our client id at the provider.
    pub client_id: String,
}

/// What we hold towards the provider during one login, kept with the
/// login between authorize and callback.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpstreamLogin {
    /// The OIDC nonce sent to the provider; the ID token must carry it.
    pub nonce: Option<String>,
    /// Our PKCE verifier towards the provider (when it supports PKCE).
    pub verifier: Option<String>,
    /// For the test provider: who to log in as.
    pub login_hint: Option<String>,
}

/// One upstream identity provider.
pub trait IdentityProvider {
    /// Its public description.
    fn info(&self) -> &ProviderInfo;

    /// What this provider needs kept for the callback (nonce, PKCE
    /// verifier towards the provider); `login_hint` is the client's.
    fn begin(&self, login_hint: Option<&str>, _random: &dyn Random) -> UpstreamLogin {
        UpstreamLogin { login_hint: login_hint.map(String::from), ..UpstreamLogin::default() }
    }

    /// Where to send the browser to log in. `state` is ours (not the
    /// client's): the provider sends it back to `redirect_uri`.
    fn authorization_url(&self, state: &str, login: &UpstreamLogin, redirect_uri: &str, world: &World) -> Result<String, AuthError>;

    /// Exchange the code the provider sent back to `redirect_uri`, with
    /// the callback's `iss` parameter (RFC 9207) if it had one.
    fn exchange(&self, code: &str, iss: Option<&str>, login: &UpstreamLogin, redirect_uri: &str, world: &World) -> Result<Identity, AuthError>;

    /// Whether this is a real upstream provider (codes from it may be
    /// exchanged directly at POST /oauth2/token?idp=…).
    fn is_upstream(&self) -> bool {
        false
    }

    /// Exchange a code the client received from the provider itself (the
    /// provider-neutral exchange): no nonce is known.
    fn exchange_direct(&self, _code: &str, _redirect_uri: &str, _code_verifier: Option<&str>, _world: &World) -> Result<Identity, AuthError> {
        Err(AuthError::InvalidGrant(GrantRule::NotExchangeable))
    }
}

/// The enabled providers, in a stable order.
pub struct Providers {
    list: Vec<Box<dyn IdentityProvider + Send + Sync>>,
}

impl Providers {
    /// The providers the configuration enables.
    pub fn from_config(config: &Config) -> Self {
        let mut list: Vec<Box<dyn IdentityProvider + Send + Sync>> = Vec::new();
        if config.test_provider {
            list.push(Box::new(TestProvider::new()));
        }
        for p in config.oauth_providers.iter().filter(|p| p.enabled) {
            list.push(Box::new(UpstreamProvider::new(p.clone())));
        }
        Providers { list }
    }

    /// Look a provider up by id.
    pub fn get(&self, id: &str) -> Option<&dyn IdentityProvider> {
        self.list.iter().find(|p| p.info().id == id).map(|p| p.as_ref() as &dyn IdentityProvider)
    }

    /// All of them, in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn IdentityProvider> {
        self.list.iter().map(|p| p.as_ref() as &dyn IdentityProvider)
    }
}
