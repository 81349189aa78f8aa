//! Embedding the `tmi:auth` library component (`components/library`) from
//! Rust: typed calls into the auth logic, with the same capabilities the
//! service gets (store, configuration, keyring), so both see one state.
//! Each call runs in a fresh instance, as each request does.
//!
//! ```no_run
//! # async fn demo(token: &str) -> anyhow::Result<()> {
//! use tmi_auth_host::library::Library;
//! let library = Library::open("tmi-auth.toml".as_ref(), "data".as_ref(), "tmi_auth_library.wasm".as_ref(), false).await?;
//! match library.verify(token).await? {
//!     Ok(claims) => println!("{} ({})", claims.sub, claims.email),
//!     Err(refusal) => println!("refused: {refusal:?}"),
//! }
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::{Store, UpdateDeadline};

use crate::metrics::Metrics;
use crate::runtime::engine::{self, wt};
use crate::runtime::state::{Services, State};
use crate::settings::Settings;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "tmi:auth/library",
        exports: { default: async },
        with: {
            "wasi:keyvalue/store": crate::capabilities::bindings::wasi::keyvalue::store,
            "wasi:keyvalue/atomics": crate::capabilities::bindings::wasi::keyvalue::atomics,
            "wasi:config/store": crate::capabilities::bindings::wasi::config::store,
            "tmi:auth/keyring": crate::capabilities::bindings::tmi::auth::keyring,
        },
    });
}

use bindings::{Library as LibraryWorld, LibraryPre};
pub use bindings::exports::tmi::auth::credentials::{Client, ClientError};
pub use bindings::exports::tmi::auth::pkce::PkceError;
pub use bindings::exports::tmi::auth::saml::{Identity, Login, SamlError};
pub use bindings::exports::tmi::auth::tokens::{Claims, Introspection, TokenError, TokenRule};

/// How long one call may run.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The library component, linked against the host's capabilities.
pub struct Library {
    pre: LibraryPre<State>,
    services: Services,
}

impl Library {
    /// The library at `component`, with the capabilities a host with this
    /// configuration file and data directory (and `--dev` or not) would
    /// give the service.
    pub async fn open(config: &Path, data_dir: &Path, component: &Path, dev: bool) -> Result<Self> {
        let settings = Settings::load(Some(config), std::env::vars(), "127.0.0.1:0".parse()?, dev)?;
        let services = crate::app::services(settings, data_dir, dev, Arc::new(Metrics::new()))?;
        Self::new(component, &data_dir.join("cache"), services)
    }

    /// The library at `component` with the given capabilities.
    pub fn new(component: &Path, cache_dir: &Path, services: Services) -> Result<Self> {
        let engine = engine::new_engine()?;
        engine::start_epoch_ticker(&engine)?;
        let component = engine::load_component(&engine, component, cache_dir)?;
        let pre = engine::linker(&engine)?.instantiate_pre(&component).map_err(wt).context("linking the library component")?;
        Ok(Library { pre: LibraryPre::new(pre).map_err(wt).context("not a tmi:auth library component")?, services })
    }

    /// A fresh instance for one call.
    async fn instance(&self) -> Result<(Store<State>, LibraryWorld)> {
        let mut store = Store::new(self.pre.engine(), State::new(&self.services));
        store.set_epoch_deadline(1);
        let started = std::time::Instant::now();
        store.epoch_deadline_callback(move |_| {
            Ok(if started.elapsed() > CALL_TIMEOUT { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
        });
        let instance = self.pre.instantiate_async(&mut store).await.map_err(wt).context("instantiating the library")?;
        Ok((store, instance))
    }

    /// Signature, issuer, audience, time window and revocation.
    pub async fn verify(&self, token: &str) -> Result<Result<Claims, TokenError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_tokens().call_verify(&mut store, token).await.map_err(wt)
    }

    /// RFC 7662 introspection, as `POST /oauth2/introspect` answers it.
    pub async fn introspect(&self, token: &str) -> Result<Result<Introspection, TokenError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_tokens().call_introspect(&mut store, token).await.map_err(wt)
    }

    /// End the token's session and the token.
    pub async fn revoke(&self, token: &str) -> Result<Result<(), TokenError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_tokens().call_revoke(&mut store, token).await.map_err(wt)
    }

    /// The S256 challenge of a PKCE verifier.
    pub async fn pkce_challenge(&self, verifier: &str) -> Result<Result<String, PkceError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_pkce().call_challenge(&mut store, verifier).await.map_err(wt)
    }

    /// Whether a PKCE verifier matches a challenge.
    pub async fn pkce_verify(&self, verifier: &str, challenge: &str) -> Result<Result<bool, PkceError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_pkce().call_verify(&mut store, verifier, challenge).await.map_err(wt)
    }

    /// The client_credentials grant's check of a client id and secret.
    pub async fn check_client(&self, client_id: &str, secret: &str) -> Result<Result<Client, ClientError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_credentials().call_check(&mut store, client_id, secret).await.map_err(wt)
    }

    /// Start an SP-initiated SAML login.
    pub async fn saml_begin_login(&self, provider: &str, client_callback: &str) -> Result<Result<Login, SamlError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_saml().call_begin_login(&mut store, provider, client_callback).await.map_err(wt)
    }

    /// Every check the ACS makes of a base64 SAMLResponse.
    pub async fn saml_validate(&self, saml_response: &str, relay_state: Option<&str>) -> Result<Result<Identity, SamlError>> {
        let (mut store, lib) = self.instance().await?;
        lib.tmi_auth_saml().call_validate_response(&mut store, saml_response, relay_state).await.map_err(wt)
    }
}
