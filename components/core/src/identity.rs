//! Who logged in, as an identity provider (OAuth, OIDC or SAML) says.

/// An authenticated identity from a provider.
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
