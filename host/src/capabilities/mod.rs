//! The component's imports besides WASI itself, one module each: a trait
//! or a store of the capability, its backends, and its generated host
//! traits implemented on a view of its own (linked with a projection from
//! the per-request state, as wasmtime-wasi-http and Spin's factors do).

pub mod bindings;
pub mod config;
pub mod keyring;
pub mod keyvalue;
pub mod outbound;
