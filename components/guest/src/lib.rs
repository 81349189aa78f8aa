//! What the tmi-auth components share inside the guest (the HTTP service
//! and the plugin hosts' library): the bindings of the imports they both
//! have (`wasi:keyvalue`, `wasi:config`, `tmi:auth/keyring`), the core's
//! ports over them, and the configuration load. No logic of its own.

pub mod ports;

use tmi_auth_core::ports::{HttpClient, HttpError, OutboundRequest, OutboundResponse, Store};
use tmi_auth_core::Response;
use wasip2::http::types::{ErrorCode, Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};
use tmi_auth_core::store::lease::{LeasedStore, ATOMIC_CAS_CONFIG_KEY};
use tmi_auth_core::values::ConfigError;
use tmi_auth_core::{AuthError, Config, World};

wit_bindgen::generate!({
    path: "../../wit",
    world: "tmi:auth/service",
    generate_all,
});

/// What one call runs with: the configuration (or why it does not parse),
/// and whether the runtime vouches for its compare-and-swap (our host does;
/// Spin's is not atomic, so there the core's leases are used).
pub struct Setup {
    pub config: Result<Config, ConfigError>,
    pub cas_is_atomic: bool,
}

/// The configuration for one call, plus the secrets it names. Our host
/// answers `get-all` with one bundle that holds the settings, those secrets
/// and the compare-and-swap flag (`config::bundle`); other runtimes list
/// settings only, and secrets and the flag are fetched by name. Only SAML
/// calls need the SAML providers, whose SP keys and IdP metadata take about
/// a millisecond to parse, so other calls leave them out (the host has
/// parsed the whole configuration at startup).
pub fn load_config(with_saml: bool) -> Result<Setup, AuthError> {
    use tmi_auth_core::config::{bundle, saml, secret_names};
    let unavailable = |_| AuthError::Unavailable("configuration unavailable".into());
    let get = |name: &str| wasi::config::store::get(name).map_err(unavailable);
    let mut pairs = bundle::unpack(wasi::config::store::get_all().map_err(unavailable)?);
    if !with_saml {
        pairs.retain(|(k, _)| k != saml::KEY);
    }
    for name in secret_names(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        if pairs.iter().all(|(k, _)| *k != name) {
            if let Some(value) = get(&name)? {
                pairs.push((name, value));
            }
        }
    }
    let cas_flag = match pairs.iter().find(|(k, _)| k == ATOMIC_CAS_CONFIG_KEY) {
        Some((_, value)) => Some(value.clone()),
        None => get(ATOMIC_CAS_CONFIG_KEY).ok().flatten(),
    };
    Ok(Setup {
        config: Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        cas_is_atomic: cas_flag.as_deref() == Some("true"),
    })
}

/// Run `f` in the world of this call: the `default` store (with leases
/// where the runtime does not vouch for its compare-and-swap), the host's
/// keyring, `wasi:random`, the wall clock, and `http` for upstream calls.
pub fn with_world<R>(http: &dyn HttpClient, cas_is_atomic: bool, f: impl FnOnce(&World) -> R) -> Result<R, AuthError> {
    let kv = ports::KvStore::open()?;
    let leased;
    let store: &dyn Store = if cas_is_atomic {
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
