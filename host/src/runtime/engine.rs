//! The wasmtime wiring in one place: engine, component cache, linker.
//!
//! This is the one module allowed to use `unsafe`, for
//! `Component::deserialize_file` (see `load_component`).
#![allow(unsafe_code)]

use std::hash::Hasher;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::state::State;
use crate::capabilities::bindings::{kv_atomics, kv_store, config_store, keyring};
use crate::capabilities::{config, keyring as native_keyring, keyvalue};

/// How many requests may run a component instance at once. The pooling
/// allocator reserves slots for this many up front; further requests wait.
pub const MAX_INSTANCES: u32 = 1000;
/// A linear memory may grow to this size (the auth service needs a few MiB).
const MAX_MEMORY_BYTES: usize = 256 << 20;
/// The epoch ticks this often: running guest code yields to the executor
/// (and has its deadline checked) at every tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// wasmtime's own errors are not `std::error::Error`; keep their message.
pub(crate) fn wt(e: wasmtime::Error) -> anyhow::Error {
    anyhow::Error::msg(format!("{e:?}"))
}

/// Ticks the engine's epoch from a plain thread, so it keeps ticking even
/// when guests occupy every executor thread.
pub fn start_epoch_ticker(engine: &Engine) -> Result<()> {
    let engine = engine.clone();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            engine.increment_epoch();
        })
        .context("starting the epoch ticker thread")?;
    Ok(())
}

pub fn new_engine() -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    // A component instance holds a few core instances, memories and tables
    // (the main module plus small shim modules).
    pool.total_component_instances(MAX_INSTANCES)
        .total_core_instances(MAX_INSTANCES * 4)
        .total_memories(MAX_INSTANCES * 2)
        .total_tables(MAX_INSTANCES * 4)
        .total_stacks(MAX_INSTANCES)
        .max_memory_size(MAX_MEMORY_BYTES);
    recycle_slots(&mut pool);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
        .map_err(wt)
        .context("creating the wasmtime engine (pooling allocator)")
}

/// How a finished instance's slot is made ready for the next request. Each
/// request gets a fresh instance either way: the slot's memory and tables
/// are reset to the component's initial image before reuse. Where Linux's
/// PAGEMAP_SCAN is available (6.7+), only the pages the last request touched
/// are reset, in place; that avoids the madvise, the page faults and the
/// cross-core TLB flushes that otherwise dominate a small request (healthz
/// went from about 10,500 to 18,000 req/s on the development machine,
/// BENCHMARKS.md). Without it, decommits are batched.
fn recycle_slots(pool: &mut PoolingAllocationConfig) {
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
            .table_keep_resident(KEEP_RESIDENT_TABLE);
    } else {
        pool.decommit_batch_size(DECOMMIT_BATCH);
    }
}

/// Bytes of a slot's linear memory kept mapped between requests (the
/// service touches a few MiB).
const KEEP_RESIDENT_MEMORY: usize = 16 << 20;
const KEEP_RESIDENT_TABLE: usize = 256 << 10;
const DECOMMIT_BATCH: usize = 32;

/// Feeds `Hash` output into SHA-256, so the cache key is stable across
/// builds (std's `DefaultHasher` promises no stability).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    hasher.write(&Sha256::digest(wasm));
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher
        .0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Loads the component, compiling it only when `cache_dir` holds no
/// compiled copy for these bytes and this engine configuration.
pub fn load_component(engine: &Engine, path: &Path, cache_dir: &Path) -> Result<Component> {
    let started = Instant::now();
    let wasm = std::fs::read(path).with_context(|| {
        format!(
            "reading the component {} (build it with `cargo build --release --target wasm32-wasip2 -p tmi-auth-service`, or pass --component)",
            path.display()
        )
    })?;
    let cached = cache_dir.join(format!("{}.cwasm", cache_key(engine, &wasm)));

    if cached.exists() {
        // SAFETY: `deserialize_file` trusts the file to be machine code that
        // wasmtime produced. We wrote it ourselves (below) into our own data
        // directory, under a name derived from the component's hash and this
        // engine's compatibility hash; wasmtime also checks the header
        // against the engine. Anyone able to replace it could replace this
        // binary just as well.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(component) => {
                tracing::info!(component = %path.display(), cache = "hit", elapsed_ms = started.elapsed().as_millis() as u64, "component loaded");
                return Ok(component);
            }
            Err(e) => {
                tracing::warn!(file = %cached.display(), error = ?e, "ignoring unusable compiled component; recompiling")
            }
        }
    }

    let compiled = engine
        .precompile_component(&wasm)
        .map_err(wt)
        .with_context(|| format!("compiling the component {}", path.display()))?;
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("creating {}", cache_dir.display()))?;
    // Temporary file + rename: a crash never leaves a truncated cache entry.
    let mut tmp = tempfile::NamedTempFile::new_in(cache_dir)
        .with_context(|| format!("creating a temporary file in {}", cache_dir.display()))?;
    tmp.write_all(&compiled)
        .and_then(|()| tmp.as_file().sync_all())
        .context("writing the compiled component")?;
    tmp.persist(&cached)
        .with_context(|| format!("storing the compiled component as {}", cached.display()))?;
    // SAFETY: as above; this is the file we just wrote.
    let component = unsafe { Component::deserialize_file(engine, &cached) }
        .map_err(wt)
        .with_context(|| format!("loading the compiled component {}", cached.display()))?;
    tracing::info!(component = %path.display(), cache = "miss", elapsed_ms = started.elapsed().as_millis() as u64, "component compiled and loaded");
    Ok(component)
}

/// WASI 0.2, `wasi:http`, and our own imports, each capability linked to
/// its own view of the request's state.
pub fn linker(engine: &Engine) -> Result<Linker<State>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wt)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(wt)?;
    kv_store::add_to_linker::<State, keyvalue::KeyValue>(&mut linker, State::keyvalue).map_err(wt)?;
    kv_atomics::add_to_linker::<State, keyvalue::KeyValue>(&mut linker, State::keyvalue).map_err(wt)?;
    config_store::add_to_linker::<State, config::Config>(&mut linker, State::config).map_err(wt)?;
    keyring::add_to_linker::<State, native_keyring::Keyring>(&mut linker, State::keyring).map_err(wt)?;
    Ok(linker)
}
