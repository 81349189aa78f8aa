//! The built service component imports only what the host provides (and
//! what Spin provides), and exports the HTTP handler.
//!
//! Needs the component: `cargo build --release --target wasm32-wasip2 -p tmi-auth-service`
//! (or `TMI_COMPONENT=/path/to/component.wasm`).

mod common;

use std::sync::OnceLock;

const ENV: &str = "TMI_COMPONENT";
const FILE: &str = "tmi_auth_service.wasm";

/// Compiled once per test binary, through the host's own engine and cache.
fn component() -> &'static common::Compiled {
    static COMPONENT: OnceLock<common::Compiled> = OnceLock::new();
    COMPONENT.get_or_init(|| common::compile(ENV, FILE, "tmi-auth-service"))
}

fn is_allowed_import(name: &str) -> bool {
    let Some((ns, package, interface, version)) = common::split(name) else {
        return false;
    };
    let wasi_02 = version.starts_with("0.2.") && !version.contains('-');
    match (ns, package) {
        ("wasi", "io" | "clocks" | "random" | "cli" | "filesystem" | "sockets") => wasi_02,
        ("wasi", "http") => wasi_02 && matches!(interface, "types" | "outgoing-handler"),
        ("wasi", "keyvalue") => {
            version == "0.2.0-draft2" && matches!(interface, "store" | "atomics")
        }
        ("wasi", "config") => version == "0.2.0-draft-2024-09-27" && interface == "store",
        ("tmi", "auth") => version == "0.2.0" && interface == "keyring",
        _ => false,
    }
}

#[test]
fn imports_only_what_host_and_spin_provide() {
    let (engine, component, _) = component();
    let imports: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let unexpected: Vec<&String> = imports
        .iter()
        .filter(|name| !is_allowed_import(name))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected imports {unexpected:?} (all imports: {imports:#?})"
    );
}

#[test]
fn exports_the_http_incoming_handler() {
    let (engine, component, _) = component();
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    assert!(
        exports.iter().any(|name| matches!(
            common::split(name),
            Some(("wasi", "http", "incoming-handler", v)) if v.starts_with("0.2.")
        )),
        "no wasi:http/incoming-handler@0.2.x export in {exports:?}"
    );
}

#[test]
fn host_linker_satisfies_every_import() {
    let (engine, component, _) = component();
    let linker = tmi_auth_host::runtime::engine::linker(engine).expect("linker");
    let pre = linker
        .instantiate_pre(component)
        .unwrap_or_else(|e| panic!("the host cannot link the component: {e:?}"));
    wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre)
        .unwrap_or_else(|e| panic!("not a wasi:http proxy: {e:?}"));
}

#[test]
fn compiled_component_is_cached() {
    let (engine, _, cache) = component();
    let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().flatten().collect();
    assert_eq!(entries.len(), 1, "one .cwasm in the cache");
    // A second load is a cache hit and yields a usable component.
    let again =
        tmi_auth_host::runtime::engine::load_component(engine, &common::path(ENV, FILE), cache.path()).unwrap();
    assert!(again.component_type().exports(engine).len() > 0);
}

#[test]
fn import_filter_matches_the_contract() {
    for ok in [
        "wasi:io/streams@0.2.3",
        "wasi:cli/environment@0.2.0",
        "wasi:http/types@0.2.6",
        "wasi:http/outgoing-handler@0.2.0",
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:keyvalue/atomics@0.2.0-draft2",
        "wasi:config/store@0.2.0-draft-2024-09-27",
        "tmi:auth/keyring@0.2.0",
    ] {
        assert!(is_allowed_import(ok), "{ok}");
    }
    for bad in [
        "wasi:keyvalue/batch@0.2.0-draft2",
        "wasi:keyvalue/store@0.2.0-draft",
        "wasi:config/store@0.2.0-rc.1",
        "wasi:http/incoming-handler@0.2.0",
        "wasi:io/streams@0.3.0",
        "spin:key-value/key-value@2.0.0",
        "fermyon:spin/variables@2.0.0",
        "tmi:auth/keyring@0.1.0",
    ] {
        assert!(!is_allowed_import(bad), "{bad}");
    }
}
