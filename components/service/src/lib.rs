//! The tmi-auth HTTP component: a `wasi:http/incoming-handler` that turns
//! each request into plain values, runs `tmi-auth-core` against adapters
//! over the WASI imports, and writes the answer back. No logic lives here.

mod outbound;

use tmi_auth_core::{AuthError, Request, Response, Service};
use tmi_auth_guest::{load_config, with_world, write_response};
use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{IncomingBody, IncomingRequest, Method, ResponseOutparam};
use wasip2::io::streams::StreamError;

/// The host caps bodies at 1 MiB too; this bounds what the guest buffers.
const MAX_BODY: usize = 1024 * 1024;

struct Component;

wasip2::http::proxy::export!(Component);

impl Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let response = match read_request(request) {
            Ok(req) => serve(&req),
            Err(e) => e.into_response(),
        };
        write_response(out, response);
    }
}

fn serve(req: &Request) -> Response {
    // /healthz parses everything, so that it reports any broken setting.
    let setup = match load_config(req.path.starts_with("/saml/") || req.path == "/healthz") {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("tmi-auth: {e}");
            return e.into_response();
        }
    };
    let config = match setup.config {
        Ok(config) => config,
        Err(broken) => {
            let (response, refusal) = Service::misconfigured(req, broken);
            log_refusal(req, Some(&refusal));
            return response;
        }
    };
    let http = outbound::WasiHttp::new(config.upstream_timeout);
    let service = Service::new(config);
    let (mut response, refusal) = match with_world(&http, setup.cas_is_atomic, |world| service.handle_with_refusal(req, world)) {
        Ok(answer) => answer,
        Err(e) => (e.into_response(), Some(e)),
    };
    log_refusal(req, refusal.as_ref());
    // Our host asks why a request was refused, for its metrics (and removes
    // the answer before the client sees it); other runtimes do not ask.
    if req.header(ASK_OUTCOME).is_some() {
        if let Some(outcome) = refusal.as_ref().and_then(outcome) {
            response.header(OUTCOME, outcome);
        }
    }
    response
}

/// Set by our host on every request; any client-sent value is replaced.
const ASK_OUTCOME: &str = "x-tmi-host-metrics";
/// The refusal's class, for the host's metrics.
const OUTCOME: &str = "x-tmi-outcome";

/// A refusal the host counts: rate limits, lockouts, upstream failures.
fn outcome(e: &AuthError) -> Option<String> {
    match e {
        AuthError::TooManyRequests { limit: Some(_), .. } => Some("rate_limit".into()),
        AuthError::TooManyRequests { limit: None, .. } => Some("lockout".into()),
        AuthError::Upstream(failure) => Some(format!("upstream:{}", failure.provider)),
        _ => None,
    }
}

/// Server-side failures with their detail; the client's refusals at info
/// level, by rule (never with request data: the path only, no query).
fn log_refusal(req: &Request, refusal: Option<&AuthError>) {
    match refusal {
        Some(e) => match e.diagnostic() {
            Some(detail) => eprintln!("tmi-auth: error {} {}: {detail}", req.method, req.path),
            None => eprintln!("tmi-auth: info refused {} {}: {e}", req.method, req.path),
        },
        None => {}
    }
}

fn read_request(request: IncomingRequest) -> Result<Request, AuthError> {
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".to_string(),
        Method::Post => "POST".to_string(),
        Method::Put => "PUT".to_string(),
        Method::Delete => "DELETE".to_string(),
        Method::Connect => "CONNECT".to_string(),
        Method::Options => "OPTIONS".to_string(),
        Method::Trace => "TRACE".to_string(),
        Method::Patch => "PATCH".to_string(),
        Method::Other(m) => m,
    };
    let target = request.path_with_query().unwrap_or_else(|| "/".into());
    let mut req = Request::new(&method, &target);
    for (name, value) in request.headers().entries() {
        let value = String::from_utf8(value)
            .map_err(|_| AuthError::InvalidRequest(format!("header {name} is not valid UTF-8")))?;
        req.headers.push((name.to_ascii_lowercase(), value));
    }
    // No endpoint reads a GET or HEAD body: leave it unread (five calls
    // into the host fewer for every such request).
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        req.body = read_body(&request)?;
    }
    Ok(req)
}

fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, AuthError> {
    let io = |_| AuthError::InvalidRequest("the request body could not be read".into());
    let body = request.consume().map_err(|_| AuthError::InvalidRequest("no request body".into()))?;
    let stream = body.stream().map_err(|_| AuthError::InvalidRequest("no request body".into()))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_BODY {
                    return Err(AuthError::PayloadTooLarge);
                }
            }
            Err(StreamError::Closed) => break,
            Err(e) => return Err(io(e)),
        }
    }
    drop(stream);
    IncomingBody::finish(body);
    Ok(bytes)
}

