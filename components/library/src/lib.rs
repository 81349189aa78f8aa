//! The `tmi:auth` library world as a component: typed auth calls for
//! plugin hosts, each one call of `tmi_auth_core::library` in the world the
//! host supplies (the same store, configuration and keyring as the
//! service), with its answer in WIT types. No logic lives here.

use tmi_auth_core::error::TokenRule;
use tmi_auth_core::library::{self as core, PkceError};
use tmi_auth_core::{AuthError, Config, World};
use tmi_auth_guest::{load_config, with_world, NoOutbound};

wit_bindgen::generate!({
    path: "../../wit",
    world: "tmi:auth/library",
    with: {
        "wasi:keyvalue/store@0.2.0-draft2": tmi_auth_guest::wasi::keyvalue::store,
        "wasi:keyvalue/atomics@0.2.0-draft2": tmi_auth_guest::wasi::keyvalue::atomics,
        "wasi:config/store@0.2.0-draft-2024-09-27": tmi_auth_guest::wasi::config::store,
        "tmi:auth/keyring@0.2.0": tmi_auth_guest::tmi::auth::keyring,
    },
});

use exports::tmi::auth::{credentials as cc, pkce, saml, tokens};

struct Library;

export!(Library);

/// Run one core call with the configuration and world of this call.
fn call<T>(with_saml: bool, f: impl FnOnce(&Config, &World) -> Result<T, AuthError>) -> Result<T, AuthError> {
    let setup = load_config(with_saml)?;
    let config = setup.config.map_err(AuthError::Misconfigured)?;
    with_world(&NoOutbound, setup.cas_is_atomic, |world| f(&config, world))?
}

/// What is neither the caller's mistake nor a named refusal.
enum Failure {
    Unavailable(String),
    Misconfigured(String),
}

fn failure(e: &AuthError) -> Failure {
    match e {
        AuthError::Misconfigured(c) => Failure::Misconfigured(c.key.clone()),
        AuthError::Unavailable(m) => Failure::Unavailable(m.clone()),
        other => Failure::Unavailable(other.description()),
    }
}

impl pkce::Guest for Library {
    fn challenge(verifier: String) -> Result<String, pkce::PkceError> {
        core::pkce_challenge(&verifier).map_err(pkce_error)
    }

    fn verify(verifier: String, challenge: String) -> Result<bool, pkce::PkceError> {
        core::pkce_verify(&verifier, &challenge).map_err(pkce_error)
    }
}

fn pkce_error(e: PkceError) -> pkce::PkceError {
    match e {
        PkceError::MalformedVerifier => pkce::PkceError::MalformedVerifier,
        PkceError::MalformedChallenge => pkce::PkceError::MalformedChallenge,
    }
}

impl tokens::Guest for Library {
    fn verify(token: String) -> Result<tokens::Claims, tokens::TokenError> {
        let c = call(false, |config, world| core::verify_token(config, world, &token)).map_err(token_error)?;
        Ok(tokens::Claims {
            sub: c.sub,
            email: c.email,
            email_verified: c.email_verified,
            name: c.name,
            idp: c.idp,
            groups: c.groups,
            is_administrator: c.tmi_is_administrator,
            iss: c.iss,
            aud: c.aud,
            issued_at: c.iat,
            expires_at: c.exp,
            jti: c.jti,
            session_id: c.sid,
            client_id: c.client_id,
        })
    }

    fn introspect(token: String) -> Result<tokens::Introspection, tokens::TokenError> {
        let found = call(false, |config, world| core::introspect(config, world, &token)).map_err(token_error)?;
        Ok(match found {
            None => tokens::Introspection {
                active: false,
                sub: None,
                email: None,
                email_verified: None,
                name: None,
                iss: None,
                issued_at: None,
                expires_at: None,
            },
            Some(i) => tokens::Introspection {
                active: true,
                sub: Some(i.sub),
                email: Some(i.email),
                email_verified: Some(i.email_verified),
                name: Some(i.name),
                iss: Some(i.iss),
                issued_at: Some(i.iat),
                expires_at: Some(i.exp),
            },
        })
    }

    fn revoke(token: String) -> Result<(), tokens::TokenError> {
        call(false, |config, world| core::revoke(config, world, &token)).map_err(token_error)
    }
}

fn token_error(e: AuthError) -> tokens::TokenError {
    use tokens::TokenRule as W;
    let rule = match &e {
        AuthError::InvalidToken(rule) => match rule {
            TokenRule::TooLong => W::TooLong,
            TokenRule::Missing | TokenRule::MalformedHeader | TokenRule::Malformed => W::Malformed,
            TokenRule::UnsupportedAlgorithm => W::UnsupportedAlgorithm,
            TokenRule::NoKeyId => W::NoKeyId,
            TokenRule::BadSignature => W::BadSignature,
            TokenRule::WrongAudience => W::WrongAudience,
            TokenRule::Expired => W::Expired,
            TokenRule::NotYetValid => W::NotYetValid,
            TokenRule::Revoked => W::Revoked,
            TokenRule::UnknownUser => W::UnknownUser,
        },
        _ => {
            return match failure(&e) {
                Failure::Unavailable(m) => tokens::TokenError::Unavailable(m),
                Failure::Misconfigured(k) => tokens::TokenError::Misconfigured(k),
            }
        }
    };
    tokens::TokenError::Invalid(rule)
}

impl cc::Guest for Library {
    fn check(client_id: String, client_secret: String) -> Result<cc::Client, cc::ClientError> {
        let c = call(false, |config, world| core::check_client(config, world, &client_id, &client_secret)).map_err(|e| match e {
            AuthError::InvalidClient(_) => cc::ClientError::Failed,
            AuthError::TooManyRequests { retry_after, .. } => cc::ClientError::Locked(retry_after),
            other => match failure(&other) {
                Failure::Unavailable(m) => cc::ClientError::Unavailable(m),
                Failure::Misconfigured(k) => cc::ClientError::Misconfigured(k),
            },
        })?;
        Ok(cc::Client {
            client_id: c.client_id,
            name: c.name,
            owner_idp: c.owner.idp,
            owner_sub: c.owner.provider_user_id,
            expires_at: c.expires_at,
        })
    }
}

impl saml::Guest for Library {
    fn begin_login(provider: String, client_callback: String) -> Result<saml::Login, saml::SamlError> {
        let (url, relay_state) =
            call(true, |config, world| core::saml_begin_login(config, world, &provider, &client_callback)).map_err(saml_error)?;
        Ok(saml::Login { url, relay_state })
    }

    fn validate_response(saml_response: String, relay_state: Option<String>) -> Result<saml::Identity, saml::SamlError> {
        let id = call(true, |config, world| core::saml_validate(config, world, &saml_response, relay_state.as_deref()))
            .map_err(saml_error)?;
        Ok(saml::Identity {
            provider: id.provider,
            name_id: id.name_id,
            subject: id.subject,
            email: id.email,
            name: id.name,
            groups: id.groups,
        })
    }
}

fn saml_error(e: AuthError) -> saml::SamlError {
    match e {
        AuthError::AccessDenied(rule) => saml::SamlError::Refused(rule.to_string()),
        AuthError::InvalidRequest(why) => saml::SamlError::Malformed(why),
        AuthError::NotFound(_) => saml::SamlError::UnknownProvider,
        other => match failure(&other) {
            Failure::Unavailable(m) => saml::SamlError::Unavailable(m),
            Failure::Misconfigured(k) => saml::SamlError::Misconfigured(k),
        },
    }
}
