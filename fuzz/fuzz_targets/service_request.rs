//! Covers `Service::handle` on every endpoint (method and path routing, the query, form and JSON body parsers, the login, token, credential and SAML flows) with up to 8 requests per input against a fresh in-memory world; no 5xx, and every error is the spec's JSON `Error`.
//!
//! Input: requests in the text format of `tmi_auth_fuzz::parse_request`
//! (`METHOD /path?query`, header lines, empty line, body), separated by
//! `\n~~~\n`; `{name}` stands for a value an earlier response gave
//! (`tmi_auth_fuzz::Flow`), so a seed can walk a whole login.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tmi_auth_core::Service;

thread_local! {
    static SERVICE: Service = tmi_auth_fuzz::service();
}

fuzz_target!(
    init: {
        SERVICE.with(|_| ());
    },
    |data: &[u8]| {
        SERVICE.with(|svc| tmi_auth_fuzz::run_requests(svc, data, |_, _| ()));
    }
);
