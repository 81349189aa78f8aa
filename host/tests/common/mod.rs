//! Shared by the integration tests: a built component, compiled through
//! the host's own engine and cache.

use std::path::PathBuf;

use wasmtime::component::Component;
use wasmtime::Engine;

/// A compiled component with its engine and (kept alive) cache directory.
pub type Compiled = (Engine, Component, tempfile::TempDir);

/// The component at `$env_var`, else `target/wasm32-wasip2/release/<file>`.
pub fn path(env_var: &str, file: &str) -> PathBuf {
    match std::env::var_os(env_var) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release").join(file),
    }
}

/// The component at [`path`], compiled; `package` names the crate that
/// builds it, for the hint when it is missing.
pub fn compile(env_var: &str, file: &str, package: &str) -> Compiled {
    let path = path(env_var, file);
    assert!(
        path.exists(),
        "component not found at {}: build it with `cargo build --release --target wasm32-wasip2 -p {package}` \
         (scripts/build.sh does), or set {env_var}",
        path.display()
    );
    let engine = tmi_auth_host::runtime::engine::new_engine().expect("engine");
    let cache = tempfile::tempdir().expect("cache dir");
    let component = tmi_auth_host::runtime::engine::load_component(&engine, &path, cache.path())
        .unwrap_or_else(|e| panic!("loading {}: {e:#}", path.display()));
    (engine, component, cache)
}

/// An import name split up: `wasi:io/streams@0.2.3` → ("wasi", "io",
/// "streams", "0.2.3").
pub fn split(name: &str) -> Option<(&str, &str, &str, &str)> {
    let (ns, rest) = name.split_once(':')?;
    let (rest, version) = rest.split_once('@')?;
    let (package, interface) = rest.split_once('/')?;
    Some((ns, package, interface, version))
}
