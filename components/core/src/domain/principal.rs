//! Who a bearer token speaks for: a user, or a machine credential's
//! service account.

use super::tokens::{self, AccessClaims};
use super::users::{self, User, UserRef};
use crate::config::Config;
use crate::error::{AuthError, TokenRule};
use crate::ports::World;

/// The holder of a verified access token.
pub enum Principal {
    /// A user, with their record.
    User {
        /// The user.
        user: User,
    },
    /// A client credential's service account: its claims are all there is.
    ServiceAccount {
        /// The token's claims.
        claims: AccessClaims,
    },
}

/// Verify `token` (signature, audience, time, revocation) and load its user.
pub fn authenticate(world: &World, config: &Config, token: &str) -> Result<Principal, AuthError> {
    let claims = tokens::verify(world, config, token)?;
    if claims.is_service_account() {
        return Ok(Principal::ServiceAccount { claims });
    }
    let user_ref = UserRef { idp: claims.idp.clone(), provider_user_id: claims.sub.clone() };
    let user = users::load(world, &user_ref)?.ok_or(AuthError::InvalidToken(TokenRule::UnknownUser))?;
    Ok(Principal::User { user })
}

impl Principal {
    /// The user, or 403 for a service account (which may not, e.g., manage
    /// client credentials).
    pub fn user(self, what: &str) -> Result<User, AuthError> {
        match self {
            Principal::User { user, .. } => Ok(user),
            Principal::ServiceAccount { .. } => Err(AuthError::Forbidden(format!("service account tokens cannot {what}"))),
        }
    }
}
