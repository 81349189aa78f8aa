//! The library component (`components/library`) imports what the service
//! imports, less HTTP (it never calls an identity provider), so a plugin
//! host supplies the same capabilities; it exports the typed interfaces.
//!
//! Needs both components: `scripts/build.sh` builds them.

mod common;

use std::collections::BTreeSet;

fn names(compiled: &common::Compiled, imports: bool) -> BTreeSet<String> {
    let (engine, component, _) = compiled;
    let ty = component.component_type();
    if imports {
        ty.imports(engine).map(|(name, _)| name.to_string()).collect()
    } else {
        ty.exports(engine).map(|(name, _)| name.to_string()).collect()
    }
}

#[test]
fn imports_are_the_service_s_less_http_and_exports_are_the_typed_interfaces() {
    let service = common::compile("TMI_COMPONENT", "tmi_auth_service.wasm", "tmi-auth-service");
    let library = common::compile("TMI_LIBRARY_COMPONENT", "tmi_auth_library.wasm", "tmi-auth-library");
    let expected: BTreeSet<String> = names(&service, true).into_iter().filter(|name| !name.starts_with("wasi:http/")).collect();
    assert_eq!(names(&library, true), expected);
    for ours in ["wasi:keyvalue/store@0.2.0-draft2", "wasi:keyvalue/atomics@0.2.0-draft2", "wasi:config/store@0.2.0-draft-2024-09-27", "tmi:auth/keyring@0.2.0"] {
        assert!(expected.contains(ours), "the service imports {ours}");
    }
    let exports: Vec<String> = names(&library, false).into_iter().collect();
    assert!(exports.iter().all(|e| matches!(common::split(e), Some(("tmi", "auth", _, "0.2.0")))), "{exports:?}");
    assert_eq!(exports, ["tmi:auth/credentials@0.2.0", "tmi:auth/pkce@0.2.0", "tmi:auth/saml@0.2.0", "tmi:auth/tokens@0.2.0"]);
}

#[test]
fn the_host_links_the_library() {
    let (engine, component, _) = common::compile("TMI_LIBRARY_COMPONENT", "tmi_auth_library.wasm", "tmi-auth-library");
    let linker = tmi_auth_host::runtime::engine::linker(&engine).expect("linker");
    linker.instantiate_pre(&component).unwrap_or_else(|e| panic!("the host cannot link the library: {e:?}"));
}
