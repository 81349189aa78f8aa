//! Host bindings for the `tmi:auth/service` world (wit/world.wit).
//!
//! The stock `wasmtime-wasi-keyvalue` and `wasmtime-wasi-config` crates
//! implement other versions of these interfaces, so we generate our own for
//! the exact versions the component imports (pre-release versions only match
//! themselves). The generated traits are implemented in `keyvalue`,
//! `config` and `keyring`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "tmi:auth/service",
    imports: {
        // Storage calls may fsync; they run on the blocking pool so the
        // async executor keeps serving other requests.
        "wasi:keyvalue": async | trappable,
        default: trappable,
    },
    with: {
        "wasi:keyvalue/store.bucket": crate::keyvalue::Bucket,
        "wasi:keyvalue/atomics.cas": crate::keyvalue::Cas,
    },
});

pub use self::tmi::auth::keyring;
pub use self::wasi::config::store as config_store;
pub use self::wasi::keyvalue::{atomics as kv_atomics, store as kv_store};
