//! The auth logic as typed calls, for plugin hosts (the `tmi:auth`
//! `library` world): the same rules the endpoints apply, over the same
//! store, without HTTP. Each call is one endpoint's domain step; nothing
//! here decides anything the endpoints do not.

use crate::config::Config;
use crate::domain::client::{ClientRequest, Pkce};
use crate::domain::credentials::{self, MachineCredential};
use crate::domain::{pkce, saml as saml_flow, tokens};
use crate::error::AuthError;
use crate::ports::World;
use crate::saml::authn_request::{authn_request_xml, redirect_url};
use crate::saml::response;

pub use crate::domain::tokens::{AccessClaims, Introspection};

/// Why a PKCE value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceError {
    /// Not 43–128 characters of `A-Z a-z 0-9 - . _ ~`.
    MalformedVerifier,
    /// Not 43–128 characters of `A-Z a-z 0-9 - . _ ~`.
    MalformedChallenge,
}

/// The S256 challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> Result<String, PkceError> {
    if !pkce::is_pkce_string(verifier) {
        return Err(PkceError::MalformedVerifier);
    }
    Ok(pkce::s256_challenge(verifier))
}

/// Whether `verifier` is the one `challenge` was made from (S256).
pub fn pkce_verify(verifier: &str, challenge: &str) -> Result<bool, PkceError> {
    if !pkce::is_pkce_string(verifier) {
        return Err(PkceError::MalformedVerifier);
    }
    if !pkce::is_pkce_string(challenge) {
        return Err(PkceError::MalformedChallenge);
    }
    Ok(pkce::verify_s256(verifier, challenge))
}

/// A valid access token's claims, as every authenticated endpoint checks it.
pub fn verify_token(config: &Config, world: &World, token: &str) -> Result<AccessClaims, AuthError> {
    tokens::verify(world, config, token)
}

/// What `POST /oauth2/introspect` says of the token (`None`: inactive).
pub fn introspect(config: &Config, world: &World, token: &str) -> Result<Option<Introspection>, AuthError> {
    tokens::introspect(world, config, token)
}

/// What `POST /oauth2/revoke` does with a token in its body.
pub fn revoke(config: &Config, world: &World, token: &str) -> Result<(), AuthError> {
    tokens::revoke_any(world, config, token)
}

/// The client_credentials grant's check of a client id and secret.
pub fn check_client(config: &Config, world: &World, client_id: &str, secret: &str) -> Result<MachineCredential, AuthError> {
    credentials::authenticate(world, config, client_id, secret)
}

/// Who a SAML Response says logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlIdentity {
    /// The configured provider it was for.
    pub provider: String,
    /// The NameID.
    pub name_id: String,
    /// The user id the service derives from it.
    pub subject: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// `GET /saml/{provider}/login`: the IdP URL to send the browser to, and
/// our RelayState.
pub fn saml_begin_login(config: &Config, world: &World, provider: &str, client_callback: &str) -> Result<(String, String), AuthError> {
    let p = config.saml_provider(provider).ok_or_else(|| AuthError::NotFound(format!("unknown SAML provider {provider}")))?;
    let client = ClientRequest::validate(Some(client_callback), None, None, None, Pkce::Optional, &config.callback_allowlist)?;
    let (request_id, relay_state) = saml_flow::begin(world, p, client)?;
    let xml = authn_request_xml(p, &request_id, world.now);
    let url = redirect_url(&p.idp.sso_redirect, &xml, &relay_state, p.sign_authn_requests.then_some(&p.sp_key.key))?;
    Ok((url, relay_state))
}

/// `POST /saml/acs`'s checks and single uses, without opening a session.
pub fn saml_validate(config: &Config, world: &World, saml_response: &str, relay_state: Option<&str>) -> Result<SamlIdentity, AuthError> {
    let root = response::decode_posted(saml_response, "SAMLResponse")?;
    let accepted = saml_flow::accept(world, config, &root, relay_state)?;
    let identity = accepted.login.identity;
    Ok(SamlIdentity {
        provider: accepted.provider.id.clone(),
        name_id: accepted.login.name_id,
        subject: identity.provider_user_id,
        email: identity.email,
        name: identity.name,
        groups: identity.groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_pairs_check_and_malformed_values_are_named() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = pkce_challenge(verifier).unwrap();
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "RFC 7636 appendix B");
        assert_eq!(pkce_verify(verifier, &challenge), Ok(true));
        assert_eq!(pkce_verify(&verifier.replace('d', "e"), &challenge), Ok(false));
        assert_eq!(pkce_challenge("short"), Err(PkceError::MalformedVerifier));
        assert_eq!(pkce_verify(verifier, "x y"), Err(PkceError::MalformedChallenge));
    }
}
