//! The wasmtime runtime: the engine and component cache, the per-request
//! state, and the HTTP server that gives each request a fresh instance.

pub mod devclock;
pub mod engine;
pub mod limits;
pub mod server;
pub mod state;
