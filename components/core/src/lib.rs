//! tmi-auth-core: the protocol logic of the TMI authentication service.
//!
//! Sans-IO in the style of rustls and quinn-proto: a [`Request`] and the
//! world's state ([`World`]: store, keyring, outbound HTTP, randomness and the
//! current time) go in, a [`Response`] comes out. Nothing here touches a
//! socket, a file, a clock or an RNG by itself, so every rule of the contract
//! is tested natively with an in-memory store and a fixed clock, and the same
//! code runs inside the WebAssembly component.
//!
//! The layers, each importing only those below it:
//! - `api/`: the endpoints (parse, call the domain, render); the only
//!   place that sees [`Request`] and [`Response`];
//! - `domain/`: the rules over the store (logins, codes, sessions, tokens,
//!   users, machine credentials, rate limits, SAML single use);
//! - `upstream/` (identity providers) and `saml/` (the SAML protocol);
//! - `config/`, `store/` (records, the key layout), and the leaves
//!   (`values`, `identity`, `error`, `ports`, `encoding`, `timefmt`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub(crate) mod api;
pub mod config;
pub(crate) mod domain;
pub(crate) mod encoding;
pub mod error;
pub mod http;
pub mod library;
pub(crate) mod identity;
pub mod ports;
pub mod saml;
pub mod store;
pub(crate) mod timefmt;
pub mod upstream;
pub mod values;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod lifecycle_tests;

pub use api::{route_template, Service};
pub use config::Config;
pub use error::AuthError;
pub use http::{Request, Response};
pub use ports::{HttpClient, Keyring, Random, Store, World};
