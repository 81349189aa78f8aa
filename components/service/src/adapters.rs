//! The core's ports over the component's imports.

use tmi_auth_core::ports::{
    Algorithm, HttpClient, HttpError, KeyInfo, Keyring, KeyringError, OutboundRequest, OutboundResponse, Random,
    Store, StoreError,
};
use wasip2::http::types::{IncomingResponse, OutgoingRequest as Outgoing};
use tmi_auth_core::store::lease::ATOMIC_CAS_CONFIG_KEY;
use tmi_auth_core::AuthError;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, Method, OutgoingBody, RequestOptions, Scheme};
use wasip2::io::streams::StreamError;

use crate::tmi::auth::keyring as kr;
use crate::wasi::keyvalue::{atomics, store};

/// The `default` bucket of `wasi:keyvalue`.
pub struct KvStore {
    bucket: store::Bucket,
}

fn store_error(e: store::Error) -> StoreError {
    StoreError(match e {
        store::Error::NoSuchStore => "no such store".into(),
        store::Error::AccessDenied => "access denied".into(),
        store::Error::Other(m) => m,
    })
}

impl KvStore {
    /// Open the `default` store.
    pub fn open() -> Result<Self, AuthError> {
        let bucket = store::open("default").map_err(|e| AuthError::Unavailable(store_error(e).0))?;
        Ok(KvStore { bucket })
    }

    /// Whether the runtime vouches for its compare-and-swap (our host does;
    /// Spin's is not atomic, so there the core's leases are used).
    pub fn cas_is_atomic() -> bool {
        matches!(crate::wasi::config::store::get(ATOMIC_CAS_CONFIG_KEY), Ok(Some(v)) if v == "true")
    }
}

/// Wall-clock seconds, for the leases.
pub fn wall_clock_seconds() -> u64 {
    wasip2::clocks::wall_clock::now().seconds
}

/// A millisecond's wait before asking for a busy lease again.
pub fn pause() {
    wasip2::clocks::monotonic_clock::subscribe_duration(1_000_000).block();
}

impl Store for KvStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(store_error)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(store_error)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).map_err(store_error)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(store_error)
    }
    fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool, StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(store_error)?;
        if cas.current().map_err(store_error)?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(store_error(e)),
        }
    }
}

/// `tmi:auth/keyring`, served by the host.
pub struct HostKeyring;

tmi_auth_keys::wit_algorithm_conversions!(kr::Algorithm);

fn keyring_error(e: kr::Error) -> KeyringError {
    match e {
        kr::Error::UnknownKey => KeyringError::UnknownKey,
        kr::Error::Unavailable(m) => KeyringError::Unavailable(m),
    }
}

impl Keyring for HostKeyring {
    fn signing_key(&self) -> Result<KeyInfo, KeyringError> {
        let info = kr::signing_key().map_err(keyring_error)?;
        Ok(KeyInfo { kid: info.kid, alg: info.alg.into() })
    }
    fn sign(&self, kid: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, KeyringError> {
        kr::sign(kid, alg.into(), data).map_err(keyring_error)
    }
    fn verify(&self, kid: &str, alg: Algorithm, data: &[u8], signature: &[u8]) -> Result<bool, KeyringError> {
        kr::verify(kid, alg.into(), data, signature).map_err(keyring_error)
    }
    fn public_keys(&self) -> Result<Vec<String>, KeyringError> {
        kr::public_keys().map_err(keyring_error)
    }
}

/// `wasi:random`.
pub struct WasiRandom;

impl Random for WasiRandom {
    fn fill(&self, buf: &mut [u8]) {
        let bytes = wasip2::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes);
    }
}

/// `wasi:http/outgoing-handler`, with timeouts (config `upstream_timeout`,
/// default 10 s); the host enforces the outbound allowlist.
pub struct WasiHttp {
    timeout_ns: u64,
}

impl WasiHttp {
    /// Connect, first-byte and between-bytes timeouts of `seconds` each.
    pub fn new(seconds: u64) -> Self {
        WasiHttp { timeout_ns: seconds.saturating_mul(1_000_000_000) }
    }
}

const MAX_UPSTREAM_BODY: usize = 1024 * 1024;

fn bad(what: &str) -> HttpError {
    HttpError::Unreachable(what.to_string())
}

/// The outgoing request's head: method, scheme, authority, path, headers.
fn outgoing(request: &OutboundRequest) -> Result<Outgoing, HttpError> {
    let url = url::Url::parse(&request.url).map_err(|_| bad("invalid URL"))?;
    let headers: Vec<(String, Vec<u8>)> = request.headers.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())).collect();
    let outgoing = Outgoing::new(Fields::from_list(&headers).map_err(|_| bad("invalid header"))?);
    let method = if request.method == "POST" { Method::Post } else { Method::Get };
    outgoing.set_method(&method).map_err(|_| bad("method"))?;
    let scheme = if url.scheme() == "https" { Scheme::Https } else { Scheme::Http };
    outgoing.set_scheme(Some(&scheme)).map_err(|_| bad("scheme"))?;
    let host = url.host_str().unwrap_or("");
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    outgoing.set_authority(Some(&authority)).map_err(|_| bad("authority"))?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    outgoing.set_path_with_query(Some(&path)).map_err(|_| bad("path"))?;
    Ok(outgoing)
}

/// The whole body of an upstream answer, at most [`MAX_UPSTREAM_BODY`].
fn read_all(response: IncomingResponse) -> Result<Vec<u8>, HttpError> {
    let incoming = response.consume().map_err(|_| bad("response body"))?;
    let stream = incoming.stream().map_err(|_| bad("response body"))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) if bytes.len() + chunk.len() <= MAX_UPSTREAM_BODY => bytes.extend_from_slice(&chunk),
            Ok(_) => return Err(bad("response too large")),
            Err(StreamError::Closed) => return Ok(bytes),
            Err(_) => return Err(bad("reading the response")),
        }
    }
}

impl HttpClient for WasiHttp {
    fn send(&self, request: &OutboundRequest) -> Result<OutboundResponse, HttpError> {
        let outgoing = outgoing(request)?;
        let body = outgoing.body().map_err(|_| bad("body"))?;
        let options = RequestOptions::new();
        let _ = options.set_connect_timeout(Some(self.timeout_ns));
        let _ = options.set_first_byte_timeout(Some(self.timeout_ns));
        let _ = options.set_between_bytes_timeout(Some(self.timeout_ns));
        let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(map_error)?;
        let written = (|| {
            {
                let stream = body.write().map_err(|_| bad("body"))?;
                for chunk in request.body.chunks(4096) {
                    stream.blocking_write_and_flush(chunk).map_err(|_| bad("writing the request"))?;
                }
            }
            OutgoingBody::finish(body, None).map_err(map_error)
        })();
        // A refused or failed request also breaks the body stream; the
        // response future carries the real reason (e.g. denied by the host).
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => {
                written?;
                response
            }
            Some(Ok(Err(e))) => return Err(map_error(e)),
            _ => {
                written?;
                return Err(bad("no response"));
            }
        };
        let status = response.status();
        let headers =
            response.headers().entries().into_iter().map(|(n, v)| (n.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned())).collect();
        Ok(OutboundResponse { status, headers, body: read_all(response)? })
    }
}

fn map_error(e: ErrorCode) -> HttpError {
    match e {
        ErrorCode::HttpRequestDenied => HttpError::Denied,
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            HttpError::Timeout
        }
        other => HttpError::Unreachable(format!("{other:?}")),
    }
}
