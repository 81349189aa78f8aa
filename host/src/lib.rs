//! tmi-auth-host: runs the tmi-auth service component under wasmtime with
//! durable storage, configuration, secrets and a native keyring.
//!
//! `runtime/` wires wasmtime (the only module allowed `unsafe`, for loading
//! our own compiled-code cache) and serves HTTP; `capabilities/` holds one
//! module per import the component has; `settings` and `secrets` are the
//! host's own configuration; `app` assembles it all; `spin_manifest`
//! turns the same configuration into a Spin manifest.
#![deny(unsafe_code)]

pub mod app;
pub mod capabilities;
pub mod cli;
pub mod library;
pub mod metrics;
pub mod runtime;
pub mod secrets;
pub mod settings;
pub mod spin_manifest;
