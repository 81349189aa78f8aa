//! `serve`: assembles the host from the command line and runs it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::cli::ServeArgs;
use crate::config::{Config, ConfigStore};
use crate::engine::{self, wt};
use crate::keyring::Keyring;
use crate::keyvalue::redb::RedbBackend;
use crate::keyvalue::KvBackend;
use crate::outbound::OutboundPolicy;
use crate::secrets::Secrets;
use crate::server::Server;
use crate::state::Services;

pub async fn serve(args: ServeArgs) -> Result<()> {
    let data_dir = &args.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;

    let config = Config::load(
        args.config.as_deref(),
        std::env::vars(),
        args.listen,
        args.dev,
    )?;
    let secrets = Arc::new(Secrets::from_process_env(data_dir));
    if args.dev {
        ensure_dev_pepper(&secrets, data_dir)?;
    }
    crate::config::check_oauth_providers(&config, &secrets)?;
    crate::config::check_saml_providers(&config, &secrets)?;
    crate::config::check_core_config(&config, &secrets)?;
    let keyring =
        Keyring::load(&config, &secrets, data_dir, args.dev).context("loading signing keys")?;
    tracing::info!(keys = %keyring.describe(), "keyring ready");
    let outbound = OutboundPolicy::new(&config.allowed_outbound_hosts()?)?;

    let engine = engine::new_engine()?;
    engine::start_epoch_ticker(&engine)?;
    let component_path = args.component_path()?;
    let component = engine::load_component(&engine, &component_path, &data_dir.join("cache"))?;
    let linker = engine::linker(&engine)?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(wt)
        .context("linking the component: it imports something this host does not provide")?;
    let pre = ProxyPre::new(pre)
        .map_err(wt)
        .context("the component does not export wasi:http/incoming-handler@0.2")?;

    let store_path = data_dir.join("store.redb");
    let kv = Arc::new(RedbBackend::open(&store_path).with_context(|| {
        format!(
            "opening the key-value store {} (is another host using this data directory?)",
            store_path.display()
        )
    })?);

    let services = Services {
        kv: Arc::clone(&kv) as Arc<dyn KvBackend>,
        config: Arc::new(ConfigStore {
            config: Arc::new(config),
            secrets,
        }),
        keyring: Arc::new(keyring),
        outbound,
        dev_clock: dev_clock(args.dev),
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, dev = args.dev, "tmi-auth-host ready");

    let server = Arc::new(Server::new(pre, services));
    server.serve(listener, shutdown_signal()).await?;

    // Close redb cleanly once the last request has let go of it, so the
    // next start needs no recovery (committed data is durable either way).
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
    Ok(())
}

/// The secret client secrets are hashed under. In development it is
/// generated once into `<data-dir>/secrets/`, where the secret lookup finds it.
fn ensure_dev_pepper(secrets: &Secrets, data_dir: &std::path::Path) -> Result<()> {
    const NAME: &str = "client_secret_pepper";
    if secrets.get(NAME)?.is_some() {
        return Ok(());
    }
    let dir = data_dir.join("secrets");
    crate::keyring::create_private_dir(&dir)?;
    crate::keyring::dev_secret(&dir.join(NAME), || {
        let mut raw = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
            .map_err(|_| anyhow::anyhow!("generating the client secret pepper"))?;
        Ok(raw.iter().map(|b| format!("{b:02x}")).collect::<String>().into_bytes())
    })?;
    tracing::warn!("generated a development client_secret_pepper in {}", dir.display());
    Ok(())
}

/// With `--dev`, `TMI_DEV_CLOCK_OFFSET_FILE` moves the guest's wall clock.
fn dev_clock(dev: bool) -> Option<crate::devclock::OffsetClock> {
    let file = std::env::var_os(crate::devclock::ENV)?;
    if !dev {
        tracing::warn!("{} is ignored without --dev", crate::devclock::ENV);
        return None;
    }
    tracing::warn!("guest wall clock offset from {:?} (development only)", file);
    Some(crate::devclock::OffsetClock::new(file.into()))
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
