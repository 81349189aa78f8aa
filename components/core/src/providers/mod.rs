//! Upstream identity providers behind one trait: the login flow asks a
//! provider where to send the browser, then exchanges the code it got back
//! for an [`Identity`]. The `test` provider and the upstream OIDC / OAuth 2.0
//! providers over outbound HTTP ([`oidc`]) all fit this shape.

pub mod config;
pub mod jwt;
pub mod oidc;
mod test_provider;
#[cfg(test)]
mod oidc_tests;

pub use oidc::UpstreamProvider;
pub use test_provider::TestProvider;

use crate::config::Config;
use crate::error::AuthError;
use crate::flows::Flow;
use crate::ports::World;

/// Who logged in, as the upstream provider says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable user id (the token's `sub`).
    pub provider_user_id: String,
    /// Email address.
    pub email: String,
    /// Whether the provider verified the email address.
    pub email_verified: bool,
    /// Display name.
    pub name: String,
    /// Group names from the provider.
    pub groups: Vec<String>,
}

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

/// One upstream identity provider.
pub trait IdentityProvider {
    /// Its public description.
    fn info(&self) -> &ProviderInfo;

    /// Add what this provider needs to a new flow (nonce, PKCE verifier
    /// towards the provider) before it is stored.
    fn prepare(&self, _flow: &mut Flow, _world: &World) {}

    /// Where to send the browser to log in. `state` is ours (not the
    /// client's): the provider sends it back to /oauth2/callback.
    fn authorization_url(&self, state: &str, flow: &Flow, config: &Config, world: &World) -> Result<String, AuthError>;

    /// Exchange the code the provider sent to /oauth2/callback.
    fn exchange(&self, code: &str, flow: &Flow, config: &Config, world: &World) -> Result<Identity, AuthError>;

    /// Whether this is a real upstream provider (codes from it may be
    /// exchanged directly at POST /oauth2/token?idp=…).
    fn is_upstream(&self) -> bool {
        false
    }

    /// Exchange a code the client received from the provider itself (the
    /// provider-neutral exchange): no nonce is known.
    fn exchange_direct(
        &self,
        _code: &str,
        _redirect_uri: &str,
        _code_verifier: Option<&str>,
        _config: &Config,
        _world: &World,
    ) -> Result<Identity, AuthError> {
        Err(AuthError::InvalidGrant("this provider's codes cannot be exchanged directly".into()))
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
