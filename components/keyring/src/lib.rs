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
//! The logic lives in [`keys`] and is tested natively; only the bindings
//! below are specific to WebAssembly.

pub mod keys;

#[cfg(target_arch = "wasm32")]
mod component {
    use std::sync::OnceLock;

    use self::exports::tmi::auth::keyring::{Algorithm, Error, Guest, KeyInfo};
    use self::wasi::config::store;
    use crate::keys::{Alg, Keyring, KeyringError};

    wit_bindgen::generate!({
        path: "../../wit",
        world: "tmi:auth/keyring-provider",
        generate_all,
    });

    /// Parsed once per instance (Spin instantiates per request anyway). A
    /// failed load is not cached: the next call tries again.
    static KEYRING: OnceLock<Keyring> = OnceLock::new();

    fn keyring() -> Result<&'static Keyring, Error> {
        if let Some(keyring) = KEYRING.get() {
            return Ok(keyring);
        }
        let keyring = Keyring::from_config(|name| {
            store::get(name).map_err(|e| match e {
                store::Error::Upstream(msg) | store::Error::Io(msg) => {
                    format!("configuration unavailable: {msg}")
                }
            })
        })
        .map_err(|msg| {
            eprintln!("tmi-auth-keyring: {msg}");
            Error::Unavailable(msg)
        })?;
        Ok(KEYRING.get_or_init(|| keyring))
    }

    fn alg(a: Algorithm) -> Alg {
        match a {
            Algorithm::Eddsa => Alg::EdDsa,
            Algorithm::Es256 => Alg::Es256,
            Algorithm::Rs256 => Alg::Rs256,
            Algorithm::Hs256 => Alg::Hs256,
        }
    }

    fn algorithm(a: Alg) -> Algorithm {
        match a {
            Alg::EdDsa => Algorithm::Eddsa,
            Alg::Es256 => Algorithm::Es256,
            Alg::Rs256 => Algorithm::Rs256,
            Alg::Hs256 => Algorithm::Hs256,
        }
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
            Ok(KeyInfo {
                kid: kid.to_string(),
                alg: algorithm(alg),
            })
        }

        fn sign(kid: String, a: Algorithm, data: Vec<u8>) -> Result<Vec<u8>, Error> {
            keyring()?.sign(&kid, alg(a), &data).map_err(error)
        }

        fn verify(
            kid: String,
            a: Algorithm,
            data: Vec<u8>,
            signature: Vec<u8>,
        ) -> Result<bool, Error> {
            keyring()?
                .verify(&kid, alg(a), &data, &signature)
                .map_err(error)
        }

        fn public_keys() -> Result<Vec<String>, Error> {
            Ok(keyring()?.public_keys().to_vec())
        }
    }

    export!(Component);
}
