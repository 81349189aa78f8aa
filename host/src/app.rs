//! `serve`: assembles the host from the command line and runs it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::capabilities::config::ConfigStore;
use crate::capabilities::keyring;
use crate::capabilities::keyvalue::memory::MemoryBackend;
use crate::capabilities::keyvalue::redb::RedbBackend;
use crate::capabilities::keyvalue::redis::{RedisBackend, RedisSettings};
use crate::capabilities::keyvalue::{sweep, KvBackend};
use crate::capabilities::outbound::OutboundPolicy;
use crate::cli::{ServeArgs, SpinManifestArgs};
use crate::runtime::devclock::{self, OffsetClock};
use crate::runtime::engine::{self, wt};
use crate::runtime::server::Server;
use crate::runtime::state::{Services, State};
use crate::metrics::Metrics;
use crate::secrets::Secrets;
use crate::settings::{Backend, Settings, StoreSettings};

/// `tmi-auth-host spin-manifest`: the manifest on stdout.
pub fn print_spin_manifest(args: &SpinManifestArgs) -> Result<()> {
    let settings = Settings::configured(args.config.as_deref(), std::env::vars())?;
    print!("{}", crate::spin_manifest::manifest(&settings, &args.wasm_dir)?);
    Ok(())
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    let data_dir = &args.data_dir;
    let settings = Settings::load(args.config.as_deref(), std::env::vars(), args.listen, args.dev)?;
    let store = settings.store()?;
    let pre = component(&args)?;
    let metrics = Arc::new(Metrics::new());
    let services = services(settings, data_dir, args.dev, Arc::clone(&metrics))?;
    let kv = Arc::clone(&services.kv);
    if store.backend != Backend::Redis {
        let clock = services.dev_clock.clone().map_or_else(sweep::system_clock, |c| Arc::new(move || c.seconds()) as sweep::Clock);
        sweep::spawn(Arc::downgrade(&kv), Duration::from_secs(store.sweep_interval.unwrap_or(60).max(1)), clock, Arc::clone(&metrics));
    }
    if let Some(addr) = args.metrics_listen {
        let listener = crate::metrics::listen(addr).await?;
        tracing::info!(listen = %listener.local_addr()?, "metrics at /metrics");
        tokio::spawn(crate::metrics::serve(listener, Arc::clone(&metrics)));
    }
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, dev = args.dev, store = kv.name(), "tmi-auth-host ready");
    Arc::new(Server::new(pre, services)).serve(listener, shutdown_signal()).await?;
    close_store(kv).await;
    Ok(())
}

/// What every component instance is served with, from the settings: the
/// secrets (with `dev`, a generated pepper), the keys, the key-value
/// store of `[store]` and the outbound policy, after the one startup check.
/// The service and the library embedding (`crate::library`) share it.
pub fn services(settings: Settings, data_dir: &Path, dev: bool, metrics: Arc<Metrics>) -> Result<Services> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let secrets = Arc::new(Secrets::from_process_env(data_dir));
    if dev {
        ensure_dev_pepper(&secrets, data_dir)?;
    }
    settings.check(&secrets)?;
    let keyring = keyring::load(&settings, &secrets, data_dir, dev).context("loading signing keys")?;
    tracing::info!(keys = %keyring.describe(), "keyring ready");
    let outbound = OutboundPolicy::new(&settings.allowed_outbound_hosts()?)?;
    let kv = open_store(&settings.store()?, data_dir, &secrets)?;
    Ok(Services {
        kv,
        config: Arc::new(ConfigStore::new(Arc::new(settings), secrets)),
        keyring: Arc::new(keyring::HostKeyring::new(keyring)),
        outbound,
        metrics,
        dev_clock: dev_clock(dev),
    })
}

/// The engine and the pre-instantiated component (compiled once, cached).
fn component(args: &ServeArgs) -> Result<ProxyPre<State>> {
    let engine = engine::new_engine()?;
    engine::start_epoch_ticker(&engine)?;
    let component = engine::load_component(&engine, &args.component_path()?, &args.data_dir.join("cache"))?;
    let pre = engine::linker(&engine)?
        .instantiate_pre(&component)
        .map_err(wt)
        .context("linking the component: it imports something this host does not provide")?;
    ProxyPre::new(pre).map_err(wt).context("the component does not export wasi:http/incoming-handler@0.2")
}

/// The key-value store of `[store]`.
fn open_store(store: &StoreSettings, data_dir: &Path, secrets: &Secrets) -> Result<Arc<dyn KvBackend>> {
    Ok(match store.backend {
        Backend::Redb => {
            let path = data_dir.join("store.redb");
            let kv = RedbBackend::open(&path)
                .with_context(|| format!("opening the key-value store {} (is another host using this data directory?)", path.display()))?;
            Arc::new(kv)
        }
        Backend::Redis => {
            let url = store.url.clone().context("[store] backend = \"redis\" needs a url")?;
            let password = match secrets.get("store_redis_password")? {
                Some(p) => Some(String::from_utf8(p.expose().to_vec()).context("the secret store_redis_password is not UTF-8")?),
                None => None,
            };
            let settings = RedisSettings {
                url,
                password,
                prefix: store.prefix.clone().unwrap_or_else(|| "tmi-auth:".into()),
                timeout: Duration::from_millis(store.timeout_ms.unwrap_or(2000).max(1)),
            };
            Arc::new(RedisBackend::new(settings).map_err(|e| anyhow::anyhow!("[store]: {e}"))?)
        }
        Backend::Memory => {
            tracing::warn!("IN-MEMORY KEY-VALUE STORE: everything is lost when the host stops (tests only)");
            Arc::new(MemoryBackend::new())
        }
    })
}

/// Close the store cleanly once the last request has let go of it (redb:
/// the next start needs no recovery; committed data is durable either way).
async fn close_store(kv: Arc<dyn KvBackend>) {
    for _ in 0..50 {
        if Arc::strong_count(&kv) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if Arc::strong_count(&kv) == 1 {
        drop(kv);
        tracing::info!("key-value store closed");
    } else {
        tracing::warn!("key-value store still in use at exit; it will recover on the next start");
    }
}

/// The secret client secrets are hashed under. In development it is
/// generated once into `<data-dir>/secrets/`, where the secret lookup finds it.
fn ensure_dev_pepper(secrets: &Secrets, data_dir: &std::path::Path) -> Result<()> {
    const NAME: &str = "client_secret_pepper";
    if secrets.get(NAME)?.is_some() {
        return Ok(());
    }
    let dir = data_dir.join("secrets");
    keyring::create_private_dir(&dir)?;
    keyring::dev_secret(&dir.join(NAME), || {
        let mut raw = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
            .map_err(|_| anyhow::anyhow!("generating the client secret pepper"))?;
        Ok(raw.iter().map(|b| format!("{b:02x}")).collect::<String>().into_bytes())
    })?;
    tracing::warn!("generated a development client_secret_pepper in {}", dir.display());
    Ok(())
}

/// With `--dev`, `TMI_DEV_CLOCK_OFFSET_FILE` moves the guest's wall clock.
fn dev_clock(dev: bool) -> Option<OffsetClock> {
    let file = std::env::var_os(devclock::ENV)?;
    if !dev {
        tracing::warn!("{} is ignored without --dev", devclock::ENV);
        return None;
    }
    tracing::warn!("guest wall clock offset from {:?} (development only)", file);
    Some(OffsetClock::new(file.into()))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
