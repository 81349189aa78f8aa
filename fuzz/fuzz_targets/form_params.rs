//! Covers `http::Params::parse`, the form and query-string parser of every endpoint, on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tmi_auth_core::http::Params;

fuzz_target!(|data: &[u8]| {
    match Params::parse(data) {
        Ok(params) => {
            // Whatever parsed must answer lookups, and only UTF-8 parses.
            assert!(std::str::from_utf8(data).is_ok());
            for name in ["code", "state", "SAMLResponse", "RelayState", ""] {
                let _ = params.get(name);
                let _ = params.contains(name);
                let _ = params.require(name);
            }
        }
        Err(e) => {
            let r = e.into_response();
            assert_eq!(r.status, 400, "{e:?}");
        }
    }
});
