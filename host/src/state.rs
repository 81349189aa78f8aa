//! The per-request store data: WASI contexts, the resource table and
//! handles to the shared host capabilities.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::config::ConfigStore;
use crate::devclock::OffsetClock;
use crate::keyring::Keyring;
use crate::keyvalue::KvBackend;
use crate::outbound::OutboundPolicy;

/// Capabilities shared by every request.
#[derive(Clone)]
pub struct Services {
    pub kv: Arc<dyn KvBackend>,
    pub config: Arc<ConfigStore>,
    pub keyring: Arc<Keyring>,
    pub outbound: OutboundPolicy,
    /// Development only: the test suite's adjustable wall clock.
    pub dev_clock: Option<OffsetClock>,
}

pub struct State {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
    pub(crate) kv: Arc<dyn KvBackend>,
    pub(crate) config: Arc<ConfigStore>,
    pub(crate) keyring: Arc<Keyring>,
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
        let wasi = builder.build();
        Self {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            outbound: services.outbound.clone(),
            kv: Arc::clone(&services.kv),
            config: Arc::clone(&services.config),
            keyring: Arc::clone(&services.keyring),
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}
