//! The per-request store data: WASI contexts, the resource table, and
//! handles to the shared capabilities, with the views each capability's
//! host traits are implemented on.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::devclock::OffsetClock;
use crate::capabilities::config::{ConfigStore, ConfigView};
use crate::capabilities::keyring::{HostKeyring, KeyringView};
use crate::capabilities::keyvalue::{KeyValueView, KvBackend};
use crate::capabilities::outbound::OutboundPolicy;
use crate::metrics::Metrics;

/// Capabilities shared by every request.
#[derive(Clone)]
pub struct Services {
    pub kv: Arc<dyn KvBackend>,
    pub config: Arc<ConfigStore>,
    pub keyring: Arc<HostKeyring>,
    pub outbound: OutboundPolicy,
    pub metrics: Arc<Metrics>,
    /// Development only: the test suite's adjustable wall clock.
    pub dev_clock: Option<OffsetClock>,
}

pub struct State {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
    kv: Arc<dyn KvBackend>,
    config: Arc<ConfigStore>,
    keyring: Arc<HostKeyring>,
    metrics: Arc<Metrics>,
}

impl State {
    pub fn new(services: &Services) -> Self {
        // No preopened directories, no environment, no sockets (the
        // default): the guest reaches the world only through the imports
        // below. Its stdout/stderr are ours, so its logs show up.
        let mut builder = WasiCtx::builder();
        builder.inherit_stdout().inherit_stderr();
        if let Some(clock) = &services.dev_clock {
            builder.wall_clock(clock.clone());
        }
        Self {
            table: ResourceTable::new(),
            wasi: builder.build(),
            http: WasiHttpCtx::new(),
            outbound: services.outbound.clone(),
            kv: Arc::clone(&services.kv),
            config: Arc::clone(&services.config),
            keyring: Arc::clone(&services.keyring),
            metrics: Arc::clone(&services.metrics),
        }
    }

    pub fn keyvalue(&mut self) -> KeyValueView<'_> {
        KeyValueView { table: &mut self.table, backend: &self.kv, metrics: &self.metrics }
    }

    pub fn config(&mut self) -> ConfigView<'_> {
        ConfigView(&self.config)
    }

    pub fn keyring(&mut self) -> KeyringView<'_> {
        KeyringView(&self.keyring)
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}
