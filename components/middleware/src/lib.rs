//! The auth middleware for edge apps: a `wasi:http/incoming-handler` that
//! checks each request's bearer token exactly as the service's own
//! endpoints do (`tmi_auth_core::library::verify_token`: signature through
//! `tmi:auth/keyring`, `iss`/`aud`/`exp`/`nbf`, revocation in the shared
//! store) and hands authorised requests to the app it protects, the
//! `tmi:auth-middleware/authorized-handler` it imports (`wac plug` composes
//! the two; wit/middleware.wit says why that is not `incoming-handler`).
//!
//! A refused request is answered here, with the service's error body and
//! headers (`AuthError::into_response`: 401 with `WWW-Authenticate: Bearer`,
//! 503 when the store is out of reach). An authorised one reaches the app
//! with the caller's identity in `x-tmi-*` headers set from the token's
//! claims, never from the client. No logic lives here: the rule is the core's.

use tmi_auth_core::library::{verify_token, AccessClaims};
use tmi_auth_core::{AuthError, Request, Response, Service};
use tmi_auth_guest::{load_config, with_world, write_response, NoOutbound, Setup};
use wasip2::http::types::{ErrorCode, Fields, IncomingRequest, ResponseOutparam};

wit_bindgen::generate!({
    path: ["../../wit", "wit"],
    world: "tmi:auth-middleware/middleware",
    with: {
        "wasi:keyvalue/store@0.2.0-draft2": tmi_auth_guest::wasi::keyvalue::store,
        "wasi:keyvalue/atomics@0.2.0-draft2": tmi_auth_guest::wasi::keyvalue::atomics,
        "wasi:config/store@0.2.0-draft-2024-09-27": tmi_auth_guest::wasi::config::store,
        "tmi:auth/keyring@0.2.0": tmi_auth_guest::tmi::auth::keyring,
        "wasi:http/types@0.2.4": wasip2::http::types,
        "wasi:io/error@0.2.4": wasip2::io::error,
        "wasi:io/poll@0.2.4": wasip2::io::poll,
        "wasi:io/streams@0.2.4": wasip2::io::streams,
        "wasi:clocks/monotonic-clock@0.2.4": wasip2::clocks::monotonic_clock,
    },
});

use exports::wasi::http::incoming_handler::Guest;
use tmi::auth_middleware::authorized_handler::{self as app, AuthorizedRequest};

struct Middleware;

export!(Middleware);

impl Guest for Middleware {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let target = request.path_with_query().unwrap_or_else(|| "/".into());
        // The core's view of the request: what the check reads (the path,
        // for `/healthz` and the log, and the authorization header).
        let mut req = Request::new("", &target);
        let headers = request.headers().entries();
        for (name, value) in &headers {
            if name.eq_ignore_ascii_case("authorization") {
                match String::from_utf8(value.clone()) {
                    Ok(value) => req.headers.push(("authorization".into(), value)),
                    Err(_) => {
                        let refusal = AuthError::InvalidRequest("header authorization is not valid UTF-8".into());
                        return write_response(out, refusal.into_response());
                    }
                }
            }
        }
        match check(&req) {
            Ok(claims) => forward(&req, request, headers, &claims, out),
            Err(refusal) => write_response(out, refusal),
        }
    }
}

/// The token's claims, or the answer that refuses the request.
fn check(req: &Request) -> Result<AccessClaims, Response> {
    let verified = match load_config(false) {
        Ok(Setup { config: Ok(config), cas_is_atomic }) => req
            .bearer_token()
            .and_then(|token| with_world(&NoOutbound, cas_is_atomic, |world| verify_token(&config, world, token))?),
        Ok(Setup { config: Err(broken), .. }) => {
            let (response, refusal) = Service::misconfigured(req, broken);
            log(req, &refusal);
            return Err(response);
        }
        Err(e) => Err(e),
    };
    verified.map_err(|e| refuse(req, e))
}

/// The service's answer to `e`.
fn refuse(req: &Request, e: AuthError) -> Response {
    log(req, &e);
    e.into_response()
}

/// Server-side failures with their detail, as the service logs them (the
/// path only, never the query); a client's refusal is not news here.
fn log(req: &Request, e: &AuthError) {
    if let Some(detail) = e.diagnostic() {
        eprintln!("tmi-auth-middleware: error {}: {detail}", req.path);
    }
}

/// The identity headers: set here only, from the token's claims.
const SUB: &str = "x-tmi-user-sub";
const EMAIL: &str = "x-tmi-user-email";
const NAME: &str = "x-tmi-user-name";
const IDP: &str = "x-tmi-user-idp";
const GROUPS: &str = "x-tmi-user-groups";
const CLIENT_ID: &str = "x-tmi-client-id";

/// Whether the app must not see the client's `name` header: the identity
/// headers, which only the middleware sets, and `authorization`, a bearer
/// credential the app has no use for and could otherwise replay.
fn withheld(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization" || name.starts_with("x-tmi-user-") || name == CLIENT_ID
}

/// The caller as the token's claims name it (values in UTF-8).
fn identity(claims: &AccessClaims) -> Vec<(String, Vec<u8>)> {
    let mut headers = vec![
        (SUB.to_string(), claims.sub.clone().into_bytes()),
        (EMAIL.to_string(), claims.email.clone().into_bytes()),
        (NAME.to_string(), claims.name.clone().into_bytes()),
        (IDP.to_string(), claims.idp.clone().into_bytes()),
    ];
    if !claims.groups.is_empty() {
        headers.push((GROUPS.to_string(), claims.groups.join(",").into_bytes()));
    }
    if let Some(client_id) = &claims.client_id {
        headers.push((CLIENT_ID.to_string(), client_id.clone().into_bytes()));
    }
    headers
}

/// Hand the request to the app: its parts, with the client's headers less
/// the withheld ones plus the identity, and the unread body.
fn forward(
    req: &Request,
    incoming: IncomingRequest,
    headers: Vec<(String, Vec<u8>)>,
    claims: &AccessClaims,
    out: ResponseOutparam,
) {
    let fields = Fields::new();
    for (name, value) in headers.iter().filter(|(name, _)| !withheld(name)) {
        // The runtime refuses a few names from a guest (`host`, whose value
        // is the `authority`; hop-by-hop headers): those stay behind.
        let _ = fields.append(name, value);
    }
    for (name, value) in identity(claims) {
        if fields.append(&name, &value).is_err() {
            let refusal = AuthError::Internal(format!("the claim of {name} is not a valid header value"));
            return write_response(out, refuse(req, refusal));
        }
    }
    let Ok(body) = incoming.consume() else {
        return ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some("the request body was taken".into()))));
    };
    let parts = AuthorizedRequest {
        method: incoming.method(),
        path_with_query: incoming.path_with_query(),
        scheme: incoming.scheme(),
        authority: incoming.authority(),
        headers: fields,
        body,
    };
    app::handle(parts, out);
}
