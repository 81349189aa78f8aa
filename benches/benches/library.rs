//! verify-token through the library component embedded in Rust
//! (`tmi_auth_host::library`: a fresh instance per call, the host's
//! capabilities), next to the same check in the native core, in one run:
//! `cargo bench -p tmi-auth-bench --bench library` (scripts/bench.sh library).
//! Both verify an ES256 token of the same development key and both
//! remember a signature they verified (the host's keyring does), so the
//! difference is the instance, the calls across the boundary and the guest.

use std::hint::black_box;
use std::collections::HashSet;
use std::sync::Mutex;

use criterion::{criterion_group, criterion_main, Criterion};
use tmi_auth_bench::login_in;
use tmi_auth_core::ports::{Algorithm, KeyInfo, Keyring, KeyringError};
use tmi_auth_core::testing::{NoHttp, TestWorld};
use tmi_auth_core::{Config, Service, World};
use tmi_auth_host::capabilities::keyring::{load_dev, NativeKeyring};
use tmi_auth_host::library::Library;

const BASE_URL: &str = "http://127.0.0.1:8080";

/// The host's native keyring as the core's port, remembering the
/// signatures it verified as the host's does (so both sides do the same
/// signature work: one verification, then lookups).
struct Native(NativeKeyring, Mutex<HashSet<Vec<u8>>>);

impl Keyring for Native {
    fn signing_key(&self) -> Result<KeyInfo, KeyringError> {
        let (kid, alg) = self.0.signing_key();
        Ok(KeyInfo { kid: kid.to_string(), alg })
    }
    fn sign(&self, kid: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        self.0.sign(kid, alg, data)
    }
    fn verify(&self, kid: &str, alg: Algorithm, data: &[u8], signature: &[u8]) -> Result<bool, KeyringError> {
        let seen = [kid.as_bytes(), data, signature].concat();
        if self.1.lock().unwrap().contains(&seen) {
            return Ok(true);
        }
        let valid = self.0.verify(kid, alg, data, signature)?;
        if valid {
            self.1.lock().unwrap().insert(seen);
        }
        Ok(valid)
    }
    fn public_keys(&self) -> Result<Vec<String>, KeyringError> {
        Ok(self.0.public_keys().to_vec())
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn verify_token(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("tmi.toml");
    std::fs::write(&config_file, format!("base_url = \"{BASE_URL}\"\n[store]\nbackend = \"memory\"\n")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let component = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release/tmi_auth_library.wasm");
    let library = rt
        .block_on(Library::open(&config_file, dir.path(), &component, true))
        .expect("the library component (scripts/build.sh builds it)");

    // A token of the same development keys, issued by the native core.
    let native = Native(load_dev(&dir.path().join("dev-keys")).unwrap(), Mutex::default());
    let config = Config::from_pairs([("base_url", BASE_URL), ("dev_mode", "true"), ("rate_limit_ip", "off"), ("rate_limit_session", "off")]).unwrap();
    let svc = Service::new(config);
    let tw = TestWorld::default();
    let world = |now| World { store: &tw.store, keyring: &native, http: &NoHttp, random: &tw.random, now };
    let token = login_in(&svc, &world(now()), "bench")["access_token"].as_str().unwrap().to_string();
    assert!(rt.block_on(library.verify(&token)).unwrap().is_ok(), "the embedded library accepts the token");

    let mut g = c.benchmark_group("library");
    g.bench_function("verify-token: native core", |b| {
        b.iter(|| black_box(tmi_auth_core::library::verify_token(svc.config(), &world(now()), &token).unwrap()))
    });
    g.bench_function("verify-token: library component embedded in Rust", |b| {
        b.iter(|| black_box(rt.block_on(library.verify(&token)).unwrap().unwrap()))
    });
    g.finish();
}

criterion_group!(benches, verify_token);
criterion_main!(benches);
