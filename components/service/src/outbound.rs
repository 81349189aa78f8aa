//! `wasi:http/outgoing-handler` as the core's HTTP client (upstream providers).

use tmi_auth_core::ports::{HttpClient, HttpError, OutboundRequest, OutboundResponse};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest as Outgoing, RequestOptions, Scheme};
use wasip2::io::streams::StreamError;

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
