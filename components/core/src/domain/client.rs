//! What the client asked for when it started a login: where to send the
//! result, its own state, and its PKCE challenge. Validated here, once,
//! for the OAuth flow and the SAML login alike, and turned into the
//! redirect back to the client here too.

use serde::{Deserialize, Serialize};
use url::form_urlencoded;

use super::pkce;
use crate::config::allowlist::CallbackAllowlist;
use crate::error::AuthError;
use crate::values::is_state;

/// Longest client callback accepted.
const MAX_CALLBACK: usize = 1000;

/// Whether a login must carry a PKCE challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkce {
    /// The OAuth flow: S256 is required.
    Required,
    /// The SAML login: a challenge asks for a one-time code instead of tokens.
    Optional,
}

/// A client's request, as validated at the start of a login.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientRequest {
    /// An allowed callback URL: the only place results are sent.
    pub callback: String,
    /// The client's own state, echoed back to it.
    pub state: Option<String>,
    /// The client's S256 challenge, bound to the code it will get.
    pub code_challenge: Option<String>,
}

impl ClientRequest {
    /// Check the client's parameters: the callback against the allowlist
    /// (an open redirector would hand codes to an attacker), the state
    /// against the spec's pattern, and the PKCE challenge (S256 only).
    pub fn validate(
        callback: Option<&str>,
        state: Option<&str>,
        challenge: Option<&str>,
        method: Option<&str>,
        pkce: Pkce,
        allowlist: &CallbackAllowlist,
    ) -> Result<Self, AuthError> {
        let code_challenge = match (pkce, challenge, method) {
            (Pkce::Optional, None, None) => None,
            _ => Some(pkce::validate_challenge(challenge, method)?),
        };
        let callback = callback.ok_or_else(|| {
            AuthError::InvalidRequest("client_callback is required: the login result is only delivered to a client callback".into())
        })?;
        let state = match state {
            Some(s) if is_state(s) => Some(s.to_string()),
            Some(_) => return Err(AuthError::InvalidRequest("state is malformed".into())),
            None => None,
        };
        Ok(ClientRequest { callback: allowed(callback, allowlist, "client_callback")?, state, code_challenge })
    }

    /// A bare callback (an IdP-initiated SAML login's RelayState), checked
    /// against the same allowlist.
    pub fn callback_only(callback: &str, allowlist: &CallbackAllowlist, parameter: &'static str) -> Result<Self, AuthError> {
        Ok(ClientRequest { callback: allowed(callback, allowlist, parameter)?, state: None, code_challenge: None })
    }

    /// The callback URL with `params` and the client's state in its query.
    pub fn redirect(&self, params: &[(&str, &str)]) -> Result<String, AuthError> {
        let mut url = url::Url::parse(&self.callback).map_err(|_| AuthError::Internal("stored client callback is not a URL".into()))?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.extend_pairs(params);
            if let Some(state) = &self.state {
                pairs.append_pair("state", state);
            }
        }
        Ok(url.into())
    }

    /// The callback URL with `params` and the client's state in its
    /// fragment: SAML's tokens, which browsers never send to servers nor
    /// put in Referer headers.
    pub fn fragment_redirect(&self, params: &[(&str, &str)]) -> String {
        let mut fragment = form_urlencoded::Serializer::new(String::new());
        fragment.extend_pairs(params);
        if let Some(state) = &self.state {
            fragment.append_pair("state", state);
        }
        format!("{}#{}", self.callback, fragment.finish())
    }
}

fn allowed(callback: &str, allowlist: &CallbackAllowlist, parameter: &'static str) -> Result<String, AuthError> {
    if callback.len() > MAX_CALLBACK || !allowlist.allows(callback) {
        return Err(AuthError::InvalidRequest(format!("{parameter} is not an allowed callback URL")));
    }
    Ok(callback.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn allowlist() -> CallbackAllowlist {
        CallbackAllowlist::new(vec!["https://app.example.com/cb".into()], false)
    }

    #[test]
    fn the_callback_must_be_allowed_and_pkce_follows_the_policy() {
        let ok = ClientRequest::validate(Some("https://app.example.com/cb"), Some("s1"), Some(CHALLENGE), Some("S256"), Pkce::Required, &allowlist()).unwrap();
        assert_eq!(ok.code_challenge.as_deref(), Some(CHALLENGE));
        assert!(ClientRequest::validate(Some("https://evil.example/cb"), None, Some(CHALLENGE), Some("S256"), Pkce::Required, &allowlist()).is_err());
        assert!(ClientRequest::validate(Some("https://app.example.com/cb"), None, None, None, Pkce::Required, &allowlist()).is_err());
        let saml = ClientRequest::validate(Some("https://app.example.com/cb"), None, None, None, Pkce::Optional, &allowlist()).unwrap();
        assert_eq!(saml.code_challenge, None);
        assert!(ClientRequest::validate(Some("https://app.example.com/cb"), Some("a b"), None, None, Pkce::Optional, &allowlist()).is_err());
        assert!(ClientRequest::validate(None, None, None, None, Pkce::Optional, &allowlist()).is_err());
    }

    #[test]
    fn redirects_carry_the_state_in_query_or_fragment() {
        let c = ClientRequest { callback: "https://app.example.com/cb".into(), state: Some("s 1".into()), code_challenge: None };
        assert_eq!(c.redirect(&[("code", "abc")]).unwrap(), "https://app.example.com/cb?code=abc&state=s+1");
        assert_eq!(c.fragment_redirect(&[("access_token", "t")]), "https://app.example.com/cb#access_token=t&state=s+1");
    }
}
