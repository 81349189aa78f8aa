//! The `test` provider (development only): `login_hint` chooses who you are.

use super::{IdentityProvider, ProviderInfo, UpstreamLogin};
use crate::encoding::random_token;
use crate::error::{AuthError, GrantRule};
use crate::identity::Identity;
use crate::ports::World;

/// Logs anyone in, as the identity named by `login_hint`.
pub struct TestProvider {
    info: ProviderInfo,
}

impl TestProvider {
    /// The provider with id `test`.
    pub fn new() -> Self {
        TestProvider {
            info: ProviderInfo {
                id: "test".into(),
                name: "Test Provider".into(),
                icon: "fa-solid fa-flask".into(),
                client_id: "tmi-test-client".into(),
            },
        }
    }
}

impl Default for TestProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl IdentityProvider for TestProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    /// There is no upstream: the "provider" answers at once by sending the
    /// browser straight to our own callback.
    fn authorization_url(&self, state: &str, _login: &UpstreamLogin, redirect_uri: &str, world: &World) -> Result<String, AuthError> {
        let mut url = url::Url::parse(redirect_uri).map_err(|_| AuthError::Internal("base_url does not form a callback URL".into()))?;
        url.query_pairs_mut()
            .append_pair("code", &format!("test_{}", random_token(world.random)))
            .append_pair("state", state);
        Ok(url.into())
    }

    fn exchange(&self, code: &str, _iss: Option<&str>, login: &UpstreamLogin, _redirect_uri: &str, world: &World) -> Result<Identity, AuthError> {
        if !code.starts_with("test_") {
            return Err(AuthError::InvalidGrant(GrantRule::NotATestCode));
        }
        let user = match login.login_hint.as_deref().and_then(valid_hint) {
            Some(hint) => hint,
            None => {
                let mut b = [0u8; 4];
                world.random.fill(&mut b);
                format!("testuser-{:08}", u32::from_le_bytes(b) % 100_000_000)
            }
        };
        Ok(identity_for(&user))
    }
}

/// A `login_hint` of 3-20 of `[a-zA-Z0-9-]`, lowercased; `None` otherwise.
pub fn valid_hint(hint: &str) -> Option<String> {
    let ok = (3..=20).contains(&hint.len()) && hint.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| hint.to_ascii_lowercase())
}

/// `mary-jane` → id `mary-jane`, `mary-jane@test.tmi`, `Mary Jane (Test User)`.
fn identity_for(user: &str) -> Identity {
    let words: Vec<String> = user
        .split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    Identity {
        provider_user_id: user.to_string(),
        email: format!("{user}@test.tmi"),
        email_verified: true,
        name: format!("{} (Test User)", words.join(" ")),
        groups: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_names_the_user() {
        let id = identity_for(&valid_hint("Mary-Jane").unwrap());
        assert_eq!(id.provider_user_id, "mary-jane");
        assert_eq!(id.email, "mary-jane@test.tmi");
        assert_eq!(id.name, "Mary Jane (Test User)");
    }

    #[test]
    fn invalid_hints_are_ignored() {
        assert_eq!(valid_hint("ab"), None);
        assert_eq!(valid_hint("a_b_c"), None);
        assert_eq!(valid_hint(&"a".repeat(21)), None);
    }
}
