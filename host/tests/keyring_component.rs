//! The keyring component (`components/keyring`, the keyring Spin composes
//! into the service) behaves like the host's native keyring: it is loaded
//! with wasmtime, given `wasi:config/store` from an in-test map with keys
//! generated here, and its signatures and JWKs are checked against `ring`
//! and against the host's native keyring.
//!
//! Needs the component: `cargo build --release --target wasm32-wasip2 -p tmi-auth-keyring`
//! (or `TMI_KEYRING_COMPONENT=/path/to/keyring.wasm`).

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::Value;
use tmi_auth_host::capabilities::keyring::NativeKeyring as Keyring;
use tmi_auth_keys::{Algorithm as Alg, Key};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::Store;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "tmi:auth/keyring-provider",
    });
}

use bindings::exports::tmi::auth::keyring::{Algorithm, Error as KeyringError, KeyInfo};
use bindings::wasi::config::store as config_store;
use bindings::KeyringProvider;

/// Compiled once per test binary, through the host's own engine and cache.
fn component() -> &'static common::Compiled {
    static COMPONENT: OnceLock<common::Compiled> = OnceLock::new();
    COMPONENT.get_or_init(|| common::compile("TMI_KEYRING_COMPONENT", "tmi_auth_keyring.wasm", "tmi-auth-keyring"))
}

/// What the component sees: WASI 0.2 (nothing preopened, no environment)
/// and `wasi:config/store` over a map.
struct Ctx {
    table: ResourceTable,
    wasi: WasiCtx,
    config: HashMap<String, String>,
    /// When set, every config read fails with this upstream error.
    config_down: Option<String>,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl config_store::Host for Ctx {
    fn get(&mut self, key: String) -> Result<Option<String>, config_store::Error> {
        match &self.config_down {
            Some(msg) => Err(config_store::Error::Upstream(msg.clone())),
            None => Ok(self.config.get(&key).cloned()),
        }
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, config_store::Error> {
        match &self.config_down {
            Some(msg) => Err(config_store::Error::Upstream(msg.clone())),
            None => Ok(self
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()),
        }
    }
}

/// A fresh instance of the component over `config`, as Spin makes one per
/// request.
struct Instance {
    store: Store<Ctx>,
    provider: KeyringProvider,
}

impl Instance {
    fn new(config: &[(&str, &str)]) -> Self {
        Self::with(config, None)
    }

    fn with(config: &[(&str, &str)], config_down: Option<&str>) -> Self {
        let (engine, component, _) = component();
        let mut linker = Linker::<Ctx>::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("WASI");
        KeyringProvider::add_to_linker::<Ctx, HasSelf<Ctx>>(&mut linker, |ctx| ctx)
            .expect("wasi:config");
        let ctx = Ctx {
            table: ResourceTable::new(),
            wasi: WasiCtx::builder().inherit_stderr().build(),
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            config_down: config_down.map(String::from),
        };
        let mut store = Store::new(engine, ctx);
        // The host's engine interrupts by epoch; nothing ticks it here.
        store.set_epoch_deadline(1 << 40);
        let provider = KeyringProvider::instantiate(&mut store, component, &linker)
            .unwrap_or_else(|e| panic!("instantiating the keyring component: {e:?}"));
        Self { store, provider }
    }

    fn signing_key(&mut self) -> Result<KeyInfo, KeyringError> {
        self.provider
            .tmi_auth_keyring()
            .call_signing_key(&mut self.store)
            .expect("no trap")
    }

    fn sign(&mut self, kid: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        self.provider
            .tmi_auth_keyring()
            .call_sign(&mut self.store, kid, alg, data)
            .expect("no trap")
    }

    fn verify(
        &mut self,
        kid: &str,
        alg: Algorithm,
        data: &[u8],
        sig: &[u8],
    ) -> Result<bool, KeyringError> {
        self.provider
            .tmi_auth_keyring()
            .call_verify(&mut self.store, kid, alg, data, sig)
            .expect("no trap")
    }

    fn public_keys(&mut self) -> Result<Vec<String>, KeyringError> {
        self.provider
            .tmi_auth_keyring()
            .call_public_keys(&mut self.store)
            .expect("no trap")
    }
}

fn pem_of(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec()))
}

/// Test keys, generated per run: ring for Ed25519 (PKCS#8 v2) and P-256,
/// OpenSSL for RSA (ring cannot generate RSA keys).
struct TestKeys {
    eddsa: String,
    es256: String,
    rs256: Option<String>,
    hs256: String,
}

impl TestKeys {
    fn generate() -> Self {
        let rng = SystemRandom::new();
        let eddsa = pem_of(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref());
        let es256 = pem_of(
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .unwrap()
                .as_ref(),
        );
        let mut raw = [0u8; 32];
        rng.fill(&mut raw).unwrap();
        Self {
            eddsa,
            es256,
            rs256: openssl_rsa_key(),
            hs256: B64URL.encode(raw),
        }
    }

    fn config(&self) -> Vec<(&'static str, String)> {
        let mut keys = vec![
            r#"{"kid":"ec","alg":"ES256","secret":"key_ec","signing":true}"#,
            r#"{"kid":"ed","alg":"EdDSA","secret":"key_ed"}"#,
            r#"{"kid":"hs","alg":"HS256","secret":"key_hs"}"#,
        ];
        let mut config = vec![
            ("key_ec", self.es256.clone()),
            ("key_ed", self.eddsa.clone()),
            ("key_hs", self.hs256.clone()),
        ];
        if let Some(rsa) = &self.rs256 {
            keys.push(r#"{"kid":"rs","alg":"RS256","secret":"key_rs"}"#);
            config.push(("key_rs", rsa.clone()));
        }
        config.push(("signing_keys", format!("[{}]", keys.join(","))));
        config
    }

    /// The host's native keyring over the same keys.
    fn native(&self) -> Keyring {
        let mut keys = vec![
            Key::from_secret("ec", Alg::Es256, self.es256.as_bytes()).unwrap(),
            Key::from_secret("ed", Alg::EdDsa, self.eddsa.as_bytes()).unwrap(),
            Key::from_secret("hs", Alg::Hs256, self.hs256.as_bytes()).unwrap(),
        ];
        if let Some(rsa) = &self.rs256 {
            keys.push(Key::from_secret("rs", Alg::Rs256, rsa.as_bytes()).unwrap());
        }
        Keyring::new(keys, 0).unwrap()
    }
}

fn openssl_rsa_key() -> Option<String> {
    let args = [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
    ];
    match std::process::Command::new("openssl").args(args).output() {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap()),
        Ok(out) => panic!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            eprintln!("note: skipping the RS256 cases: openssl not available: {e}");
            None
        }
    }
}

fn as_refs<'a>(config: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    config.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// WASI 0.2 as the Rust standard library uses it, and `wasi:config`;
/// nothing else (no HTTP, no key-value, no keyring of its own).
fn is_allowed_import(name: &str) -> bool {
    let Some((ns, package, interface, version)) = common::split(name) else {
        return false;
    };
    let wasi_02 = version.starts_with("0.2.") && !version.contains('-');
    match (ns, package) {
        ("wasi", "io" | "clocks" | "random" | "cli" | "filesystem") => wasi_02,
        ("wasi", "config") => version == "0.2.0-draft-2024-09-27" && interface == "store",
        _ => false,
    }
}

#[test]
fn import_filter_matches_the_contract() {
    for ok in [
        "wasi:io/streams@0.2.3",
        "wasi:cli/environment@0.2.0",
        "wasi:random/random@0.2.4",
        "wasi:config/store@0.2.0-draft-2024-09-27",
    ] {
        assert!(is_allowed_import(ok), "{ok}");
    }
    for bad in [
        "wasi:config/store@0.2.0-rc.1",
        "wasi:http/outgoing-handler@0.2.0",
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:sockets/tcp@0.2.0",
        "wasi:io/streams@0.3.0",
        "tmi:auth/keyring@0.2.0",
        "fermyon:spin/variables@2.0.0",
    ] {
        assert!(!is_allowed_import(bad), "{bad}");
    }
}

#[test]
fn imports_only_wasi_02_and_config_and_exports_the_keyring() {
    let (engine, component, _) = component();
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let unexpected: Vec<&String> = imports.iter().filter(|n| !is_allowed_import(n)).collect();
    assert!(
        unexpected.is_empty(),
        "unexpected imports {unexpected:?} (all imports: {imports:#?})"
    );
    assert!(
        imports
            .iter()
            .any(|n| n == "wasi:config/store@0.2.0-draft-2024-09-27"),
        "{imports:#?}"
    );
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    assert_eq!(exports, ["tmi:auth/keyring@0.2.0"]);
}

#[test]
fn signs_and_verifies_like_the_native_keyring() {
    let keys = TestKeys::generate();
    let config = keys.config();
    let mut guest = Instance::new(&as_refs(&config));
    let native = keys.native();
    let data = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

    let info = guest.signing_key().unwrap();
    assert_eq!((info.kid.as_str(), info.alg), ("ec", Algorithm::Es256));

    // ES256: r || s, checked with ring against the public key.
    let sig = guest.sign("ec", Algorithm::Es256, data).unwrap();
    assert_eq!(sig.len(), 64);
    let pair = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &pem::parse(&keys.es256).unwrap().into_contents(),
        &SystemRandom::new(),
    )
    .unwrap();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, pair.public_key())
        .verify(data, &sig)
        .expect("ES256 signature verifies with ring");
    // ...and a signature of the native keyring verifies in the guest.
    let native_sig = native.sign("ec", Alg::Es256, data).unwrap();
    assert!(guest
        .verify("ec", Algorithm::Es256, data, &native_sig)
        .unwrap());

    // EdDSA, HS256 and RS256 (PKCS#1 v1.5) are deterministic: the guest's
    // signatures are byte for byte the native keyring's.
    let mut cases = vec![
        ("ed", Algorithm::Eddsa, Alg::EdDsa),
        ("hs", Algorithm::Hs256, Alg::Hs256),
    ];
    if keys.rs256.is_some() {
        cases.push(("rs", Algorithm::Rs256, Alg::Rs256));
    }
    for (kid, alg, native_alg) in cases {
        let sig = guest.sign(kid, alg, data).unwrap();
        assert_eq!(sig, native.sign(kid, native_alg, data).unwrap(), "{kid}");
        assert!(native.verify(kid, native_alg, data, &sig).unwrap(), "{kid}");
    }
    let ed = Ed25519KeyPair::from_pkcs8(&pem::parse(&keys.eddsa).unwrap().into_contents()).unwrap();
    signature::UnparsedPublicKey::new(&signature::ED25519, ed.public_key())
        .verify(data, &guest.sign("ed", Algorithm::Eddsa, data).unwrap())
        .expect("EdDSA signature verifies with ring");
    if let Some(rsa) = &keys.rs256 {
        let pair = RsaKeyPair::from_pkcs8(&pem::parse(rsa).unwrap().into_contents()).unwrap();
        let sig = guest.sign("rs", Algorithm::Rs256, data).unwrap();
        assert_eq!(sig.len(), 256);
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            pair.public().as_ref(),
        )
        .verify(data, &sig)
        .expect("RS256 signature verifies with ring");
    }

    // Verification in the guest: good, tampered data, tampered signature.
    for (kid, alg) in [
        ("ec", Algorithm::Es256),
        ("ed", Algorithm::Eddsa),
        ("hs", Algorithm::Hs256),
        ("rs", Algorithm::Rs256),
    ] {
        if kid == "rs" && keys.rs256.is_none() {
            continue;
        }
        let sig = guest.sign(kid, alg, data).unwrap();
        assert!(guest.verify(kid, alg, data, &sig).unwrap(), "{kid}");
        assert!(!guest.verify(kid, alg, b"tampered", &sig).unwrap(), "{kid}");
        let mut bad = sig.clone();
        bad[5] ^= 1;
        assert!(!guest.verify(kid, alg, data, &bad).unwrap(), "{kid}");
        assert!(!guest.verify(kid, alg, data, &[]).unwrap(), "{kid}");
    }

    // The JWKs are the native keyring's: same fields, same values, and
    // HS256 without its secret.
    let jwks: Vec<Value> = guest
        .public_keys()
        .unwrap()
        .iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect();
    let expected: Vec<Value> = native
        .public_keys()
        .iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect();
    assert_eq!(jwks, expected);
    assert_eq!(
        jwks[2],
        serde_json::json!({"kty": "oct", "use": "sig", "alg": "HS256", "kid": "hs"})
    );
    let all = guest.public_keys().unwrap().join("\n");
    assert!(
        !all.contains(&keys.hs256) && !all.contains("\"d\""),
        "{all}"
    );
}

#[test]
fn unknown_kid_or_other_algorithm_is_unknown_key() {
    let keys = TestKeys::generate();
    let config = keys.config();
    let mut guest = Instance::new(&as_refs(&config));
    fn unknown<T>(r: Result<T, KeyringError>) -> bool {
        matches!(r, Err(KeyringError::UnknownKey))
    }
    assert!(unknown(guest.sign("nope", Algorithm::Es256, b"x")));
    // A known kid with another algorithm (RFC 8725 section 2.1).
    assert!(unknown(guest.sign("ec", Algorithm::Hs256, b"x")));
    assert!(unknown(guest.sign("hs", Algorithm::Es256, b"x")));
    assert!(unknown(guest.sign("ed", Algorithm::Rs256, b"x")));
    let sig = guest.sign("ec", Algorithm::Es256, b"x").unwrap();
    assert!(unknown(guest.verify("ec", Algorithm::Eddsa, b"x", &sig)));
    assert!(unknown(guest.verify("nope", Algorithm::Es256, b"x", &sig)));
}

#[test]
fn misconfiguration_is_unavailable_and_never_shows_key_material() {
    let short_secret = "tooshort-hs256-secret";
    let es256 = TestKeys::generate().es256;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "no signing keys configured"),
        (vec![("signing_keys", "not json")], "JSON array"),
        (
            vec![
                (
                    "signing_keys",
                    r#"[{"kid":"h","alg":"HS256","secret":"key_h","signing":true}]"#,
                ),
                ("key_h", short_secret),
            ],
            "at least 32 bytes",
        ),
        (
            vec![
                (
                    "signing_keys",
                    r#"[{"kid":"e","alg":"EdDSA","secret":"key_e","signing":true}]"#,
                ),
                ("key_e", es256.as_str()),
            ],
            "not an Ed25519",
        ),
        (
            vec![(
                "signing_keys",
                r#"[{"kid":"e","alg":"ES256","secret":"missing","signing":true}]"#,
            )],
            "\"missing\" is not set",
        ),
    ];
    for (config, expected) in cases {
        let mut guest = Instance::new(&config);
        for result in [
            guest.sign("h", Algorithm::Hs256, b"x").map(|_| ()),
            guest.public_keys().map(|_| ()),
            guest.signing_key().map(|_| ()),
        ] {
            match result {
                Err(KeyringError::Unavailable(msg)) => {
                    assert!(msg.contains(expected), "{config:?}: {msg}");
                    assert!(
                        !msg.contains(short_secret) && !msg.contains("PRIVATE KEY"),
                        "key material in {msg:?}"
                    );
                }
                other => panic!("{config:?}: expected unavailable, got {other:?}"),
            }
        }
    }
    let mut guest = Instance::with(&[], Some("vault unreachable"));
    match guest.signing_key() {
        Err(KeyringError::Unavailable(msg)) => assert!(msg.contains("vault unreachable"), "{msg}"),
        other => panic!("expected unavailable, got {other:?}"),
    }
}
