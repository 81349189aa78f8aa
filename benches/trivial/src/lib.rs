//! The floor of the HTTP benchmark (`scripts/bench.sh http`): the least a
//! `wasi:http/incoming-handler` can do, so a runtime's own cost per request
//! can be told apart from the service's.

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Trivial;

wasip2::http::proxy::export!(Trivial);

impl Guest for Trivial {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let response = OutgoingResponse::new(Fields::new());
        let body = response.body().expect("a new response has a body");
        ResponseOutparam::set(out, Ok(response));
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(b"ok");
        }
        let _ = OutgoingBody::finish(body, None);
    }
}
