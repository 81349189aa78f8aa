//! The rules of the service over the store. Nothing here sees an HTTP
//! request: endpoints (`api/`) parse, call these, and render the result,
//! and the library world can call them the same way.

pub mod client;
pub mod codes;
pub mod credentials;
pub mod groups;
pub mod issue;
pub mod login;
pub mod pkce;
pub mod principal;
pub mod ratelimit;
pub mod saml;
pub mod sessions;
pub mod tokens;
pub mod users;

/// How long authorization codes and pending logins live (CONTRACT.md: at most 10 minutes).
pub const CODE_LIFETIME: u64 = 600;
