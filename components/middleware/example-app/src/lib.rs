//! A tiny app behind the auth middleware, for the composition's tests and
//! as a template: it answers every request 200 with JSON naming what it
//! received (method, path, every header with its values, the body's
//! length), so a test sees exactly what the middleware let through.

use std::collections::BTreeMap;

use wasip2::http::types::{Fields, IncomingBody, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasip2::io::streams::StreamError;

wit_bindgen::generate!({
    path: ["../../../wit", "../wit"],
    world: "tmi:auth-middleware/protected-app",
    with: {
        "wasi:http/types@0.2.4": wasip2::http::types,
        "wasi:io/error@0.2.4": wasip2::io::error,
        "wasi:io/poll@0.2.4": wasip2::io::poll,
        "wasi:io/streams@0.2.4": wasip2::io::streams,
        "wasi:clocks/monotonic-clock@0.2.4": wasip2::clocks::monotonic_clock,
    },
});

use exports::tmi::auth_middleware::authorized_handler::{AuthorizedRequest, Guest};

struct App;

export!(App);

impl Guest for App {
    fn handle(request: AuthorizedRequest, out: ResponseOutparam) {
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in request.headers.entries() {
            headers.entry(name).or_default().push(String::from_utf8_lossy(&value).into_owned());
        }
        let echo = serde_json::json!({
            "method": method_name(&request.method),
            "path": request.path_with_query,
            "headers": headers,
            "body_bytes": body_length(request.body),
        });
        let fields = Fields::from_list(&[("content-type".into(), b"application/json".to_vec())]).expect("a valid header");
        let response = OutgoingResponse::new(fields);
        let body = response.body().expect("the body of a new response");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().expect("the body's stream");
        for chunk in echo.to_string().as_bytes().chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
    }
}

/// Read the body to its end; its length, or `None` when it breaks off.
fn body_length(body: IncomingBody) -> Option<usize> {
    let stream = body.stream().ok()?;
    let mut length = 0;
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => length += chunk.len(),
            Err(StreamError::Closed) => break,
            Err(_) => return None,
        }
    }
    drop(stream);
    IncomingBody::finish(body);
    Some(length)
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    }
}
