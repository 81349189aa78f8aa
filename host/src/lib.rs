//! tmi-auth-host: runs the tmi-auth service component under wasmtime with
//! durable storage, configuration, secrets and a native keyring.
//!
//! One module per capability; the wasmtime wiring lives in `engine` (the
//! only module allowed `unsafe`, for loading our own compiled-code cache).
#![deny(unsafe_code)]

pub mod app;
pub mod bindings;
pub mod cli;
pub mod config;
pub mod devclock;
pub mod engine;
pub mod keyring;
pub mod keyvalue;
pub mod outbound;
pub mod secrets;
pub mod server;
pub mod state;
