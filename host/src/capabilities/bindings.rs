//! Host bindings for the `tmi:auth/service` world (wit/world.wit).
//!
//! The stock `wasmtime-wasi-keyvalue` and `wasmtime-wasi-config` crates
//! implement other versions of these interfaces, so we generate our own for
//! the exact versions the component imports (pre-release versions only match
//! themselves). Each capability module implements its traits.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "tmi:auth/service",
    imports: {
        // Storage calls may fsync or cross the network; they run off the
        // async executor so it keeps serving other requests.
        "wasi:keyvalue": async | trappable,
        default: trappable,
    },
    with: {
        "wasi:keyvalue/store.bucket": crate::capabilities::keyvalue::resources::Bucket,
        "wasi:keyvalue/atomics.cas": crate::capabilities::keyvalue::resources::Cas,
    },
});

pub use self::tmi::auth::keyring;
pub use self::wasi::config::store as config_store;
pub use self::wasi::keyvalue::{atomics as kv_atomics, store as kv_store};
