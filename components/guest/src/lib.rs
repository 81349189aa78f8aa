//! What the tmi-auth components share inside the guest (the HTTP service
//! and the plugin hosts' library): the bindings of the imports they both
//! have (`wasi:keyvalue`, `wasi:config`, `tmi:auth/keyring`), the core's
//! ports over them, and the configuration load. No logic of its own.

pub mod ports;

use tmi_auth_core::ports::{HttpClient, HttpError, OutboundRequest, OutboundResponse, Store};
use tmi_auth_core::Response;
use wasip2::http::types::{ErrorCode, Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};
use tmi_auth_core::store::lease::LeasedStore;
use tmi_auth_core::values::ConfigError;
use tmi_auth_core::{AuthError, Config, World};

wit_bindgen::generate!({
    path: "../../wit",
    world: "tmi:auth/service",
    generate_all,
});

/// The configuration for one call (or why it does not parse), plus the
/// secrets it names, fetched by name: our host never lists secrets in
/// `get-all` (Spin does list its secret variables, which is harmless).
/// Only SAML calls need the SAML providers, whose SP keys and IdP metadata
/// take about a millisecond to parse, so other calls leave them out (the
/// host has parsed the whole configuration at startup).
pub fn load_config(with_saml: bool) -> Result<Result<Config, ConfigError>, AuthError> {
    let unavailable = |_| AuthError::Unavailable("configuration unavailable".into());
    let mut pairs = wasi::config::store::get_all().map_err(unavailable)?;
    if !with_saml {
        pairs.retain(|(k, _)| k != tmi_auth_core::config::saml::KEY);
    }
    for name in tmi_auth_core::config::secret_names(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        if let Some(value) = wasi::config::store::get(&name).map_err(unavailable)? {
            pairs.push((name, value));
        }
    }
    Ok(Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

/// Run `f` in the world of this call: the `default` store (with leases
/// where the runtime does not vouch for its compare-and-swap), the host's
/// keyring, `wasi:random`, the wall clock, and `http` for upstream calls.
pub fn with_world<R>(http: &dyn HttpClient, f: impl FnOnce(&World) -> R) -> Result<R, AuthError> {
    let kv = ports::KvStore::open()?;
    let leased;
    let store: &dyn Store = if ports::KvStore::cas_is_atomic() {
        &kv
    } else {
        leased = LeasedStore::new(&kv, &ports::wall_clock_seconds, &ports::pause);
        &leased
    };
    let world = World { store, keyring: &ports::HostKeyring, http, random: &ports::WasiRandom, now: ports::wall_clock_seconds() };
    Ok(f(&world))
}

/// For components that never call an identity provider.
pub struct NoOutbound;

impl HttpClient for NoOutbound {
    fn send(&self, _: &OutboundRequest) -> Result<OutboundResponse, HttpError> {
        Err(HttpError::Denied)
    }
}

/// Write the core's response as the answer to a `wasi:http` request.
pub fn write_response(out: ResponseOutparam, response: Response) {
    let headers: Vec<(String, Vec<u8>)> =
        response.headers.into_iter().map(|(n, v)| (n, v.into_bytes())).collect();
    let fields = match Fields::from_list(&headers) {
        Ok(fields) => fields,
        Err(_) => {
            ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some("invalid response header".into()))));
            return;
        }
    };
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(response.status);
    let Ok(body) = outgoing.body() else { return };
    ResponseOutparam::set(out, Ok(outgoing));
    if let Ok(stream) = body.write() {
        for chunk in response.body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
        drop(stream);
    }
    let _ = OutgoingBody::finish(body, None);
}
