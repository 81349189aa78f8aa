//! tmi-auth-keyring: a component that exports `tmi:auth/keyring` and reads
//! its keys from `wasi:config`, so runtimes without our native keyring
//! (Spin, as a component dependency of the service) can sign tokens.
//!
//! Configuration (Spin serves secret variables through `wasi:config`):
//! - `signing_keys`: a JSON array of `{"kid", "alg", "secret", "signing"}`,
//!   as the host's `[[keys]]` (exactly one with `"signing": true`);
//! - one variable per key, named by its `secret`: a PKCS#8 PEM (EdDSA,
//!   ES256, RS256) or the raw HS256 secret (at least 32 bytes).
//!
//! The keyring itself is `tmi-auth-keys` with RustCrypto key material, the
//! same rules as the host's; only the loading from configuration and the
//! bindings are here.

use tmi_auth_keys::rustcrypto_material::RustCryptoKey;
use tmi_auth_keys::{KeySpec, Keyring};
use zeroize::Zeroizing;

/// The configuration variable holding the key list.
pub const SIGNING_KEYS: &str = "signing_keys";

/// Load the keys from configuration; `get` reads one variable (`Err` when
/// the configuration cannot be read at all). Errors name keys and
/// variables, never key material.
pub fn load(get: impl Fn(&str) -> Result<Option<String>, String>) -> Result<Keyring<RustCryptoKey>, String> {
    let list = get(SIGNING_KEYS)?.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        format!("no signing keys configured: set the variable {SIGNING_KEYS} to a JSON array of {{\"kid\", \"alg\", \"secret\", \"signing\"}} objects")
    })?;
    // The parse error's position only: its message could quote the value.
    let specs: Vec<KeySpec> = serde_json::from_str(&list).map_err(|e| {
        format!(
            "{SIGNING_KEYS} must be a JSON array of {{\"kid\", \"alg\", \"secret\", \"signing\"}} objects (invalid at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    Keyring::load(&specs, "variable", |name| Ok(get(name)?.map(|v| Zeroizing::new(v.into_bytes()))))
        .map_err(|e| format!("{SIGNING_KEYS}: {e} (secret variable names are lower_snake_case)"))
}

#[cfg(target_arch = "wasm32")]
mod component {
    use std::sync::OnceLock;

    use self::exports::tmi::auth::keyring::{Error, Guest, KeyInfo};
    use self::wasi::config::store;
    use tmi_auth_keys::rustcrypto_material::RustCryptoKey;
    use tmi_auth_keys::{Keyring, KeyringError};

    wit_bindgen::generate!({
        path: "../../wit",
        world: "tmi:auth/keyring-provider",
        generate_all,
    });

    tmi_auth_keys::wit_algorithm_conversions!(self::exports::tmi::auth::keyring::Algorithm);

    /// Parsed once per instance (Spin instantiates per request anyway). A
    /// failed load is not cached: the next call tries again.
    static KEYRING: OnceLock<Keyring<RustCryptoKey>> = OnceLock::new();

    fn keyring() -> Result<&'static Keyring<RustCryptoKey>, Error> {
        if let Some(keyring) = KEYRING.get() {
            return Ok(keyring);
        }
        let keyring = super::load(|name| {
            store::get(name).map_err(|e| match e {
                store::Error::Upstream(msg) | store::Error::Io(msg) => format!("configuration unavailable: {msg}"),
            })
        })
        .map_err(|msg| {
            eprintln!("tmi-auth-keyring: {msg}");
            Error::Unavailable(msg)
        })?;
        Ok(KEYRING.get_or_init(|| keyring))
    }

    fn error(e: KeyringError) -> Error {
        match e {
            KeyringError::UnknownKey => Error::UnknownKey,
            KeyringError::Unavailable(msg) => Error::Unavailable(msg),
        }
    }

    struct Component;

    impl Guest for Component {
        fn signing_key() -> Result<KeyInfo, Error> {
            let (kid, alg) = keyring()?.signing_key();
            Ok(KeyInfo { kid: kid.to_string(), alg: alg.into() })
        }

        fn sign(kid: String, alg: self::exports::tmi::auth::keyring::Algorithm, data: Vec<u8>) -> Result<Vec<u8>, Error> {
            keyring()?.sign(&kid, alg.into(), &data).map_err(error)
        }

        fn verify(kid: String, alg: self::exports::tmi::auth::keyring::Algorithm, data: Vec<u8>, signature: Vec<u8>) -> Result<bool, Error> {
            keyring()?.verify(&kid, alg.into(), &data, &signature).map_err(error)
        }

        fn public_keys() -> Result<Vec<String>, Error> {
            Ok(keyring()?.public_keys().to_vec())
        }
    }

    export!(Component);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Result<Option<String>, String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| Ok(map.get(k).cloned())
    }

    #[test]
    fn keys_come_from_configuration_variables() {
        let keys = r#"[{"kid":"a","alg":"HS256","secret":"key_a","signing":true}]"#;
        let hs = format!("{}\n", "a".repeat(32));
        let ring = load(config(&[("signing_keys", keys), ("key_a", hs.as_str())])).unwrap();
        assert_eq!(ring.signing_key().0, "a");
    }

    #[test]
    fn configuration_errors_name_the_variable_never_the_value() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "no signing keys configured"),
            (vec![("signing_keys", "")], "no signing keys configured"),
            (vec![("signing_keys", "[]")], "no keys are listed"),
            (vec![("signing_keys", r#"{"kid":"a"}"#)], "JSON array"),
            (vec![("signing_keys", r#"[{"kid":"a","alg":"HS256","secret":"k","signing":true,"extra":1}]"#)], "JSON array"),
            (vec![("signing_keys", r#"[{"kid":"a","alg":"HS256","secret":"k","signing":true}]"#)], "the variable \"k\" is not set"),
            (vec![("signing_keys", r#"[{"kid":"a","alg":"HS256","secret":"k","signing":true}]"#), ("k", "s3cr3t-too-short")], "at least 32 bytes"),
        ];
        for (pairs, expected) in cases {
            let err = load(config(&pairs)).unwrap_err();
            assert!(err.contains(expected), "{pairs:?}: {err}");
            assert!(!err.contains("s3cr3t"), "{err}");
        }
        assert_eq!(load(|_| Err("store down".to_string())).unwrap_err(), "store down");
    }
}
