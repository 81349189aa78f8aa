//! tmi-auth-core: the protocol logic of the TMI authentication service.
//!
//! Sans-IO in the style of rustls and quinn-proto: a [`Request`] and the
//! world's state ([`World`]: store, keyring, outbound HTTP, randomness and the
//! current time) go in, a [`Response`] comes out. Nothing here touches a
//! socket, a file, a clock or an RNG by itself, so every rule of the contract
//! is tested natively with an in-memory store and a fixed clock, and the same
//! code runs inside the WebAssembly component.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod allowlist;
pub mod clients;
pub mod codes;
pub mod config;
pub mod discovery;
pub mod encoding;
pub mod error;
pub mod flows;
pub mod groups;
pub mod http;
pub mod introspect;
pub mod jwk;
pub mod keyset;
pub mod pkce;
pub mod ports;
pub mod providers;
pub mod ratelimit;
pub mod records;
pub mod revoke;
mod router;
pub mod saml;
pub mod sessions;
pub mod token_endpoint;
pub mod timefmt;
pub mod tokens;
pub mod userinfo;
pub mod users;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod lifecycle_tests;

pub use config::Config;
pub use error::AuthError;
pub use http::{Request, Response};
pub use ports::{HttpClient, Keyring, Random, Store, World};
pub use router::Service;
