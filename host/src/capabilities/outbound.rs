//! Outbound HTTP from the guest, limited to the hosts listed in the config
//! key `allowed_outbound_hosts` (upstream identity providers). Anything
//! else is refused, so a bug in the guest cannot be turned into SSRF.

use std::future::Future;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use http::uri::{Authority, Scheme};
use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    /// `Some` when the entry was written as a URL (`https://host`).
    scheme: Option<String>,
    host: String,
    /// `None`: the default port of the request's scheme.
    port: Option<u16>,
}

#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Arc<Vec<AllowedHost>>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

impl OutboundPolicy {
    /// Entries are `host`, `host:port`, or (as in Spin) `https://host[:port]`.
    pub fn new(entries: &[String]) -> Result<Self> {
        let mut allowed = Vec::new();
        for entry in entries {
            let (scheme, rest) = match entry.split_once("://") {
                Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
                None => (None, entry.as_str()),
            };
            let rest = rest.strip_suffix('/').unwrap_or(rest);
            let authority: Authority = rest.parse().with_context(|| {
                format!("allowed_outbound_hosts entry {entry:?} is not host[:port]")
            })?;
            if authority.as_str().contains('@') {
                bail!("allowed_outbound_hosts entry {entry:?} must not contain credentials");
            }
            allowed.push(AllowedHost {
                scheme,
                host: authority.host().to_ascii_lowercase(),
                port: authority.port_u16(),
            });
        }
        Ok(Self {
            allowed: Arc::new(allowed),
        })
    }

    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let Some(port) = port.or_else(|| default_port(scheme)) else {
            return false;
        };
        self.allowed.iter().any(|a| {
            a.host.eq_ignore_ascii_case(host)
                && a.scheme.as_deref().is_none_or(|s| s == scheme)
                && a.port
                    .or_else(|| default_port(a.scheme.as_deref().unwrap_or(scheme)))
                    == Some(port)
        })
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
        let scheme = uri
            .scheme()
            .unwrap_or(&Scheme::HTTPS)
            .as_str()
            .to_ascii_lowercase();
        let host = uri.host().unwrap_or_default().to_string();
        if !self.allows(&scheme, &host, uri.port_u16()) {
            // Host and port only: the path and query may carry secrets.
            tracing::warn!(%scheme, %host, port = ?uri.port_u16(), "outbound request denied: host not in allowed_outbound_hosts");
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn empty_policy_denies_everything() {
        assert!(!policy(&[]).allows("https", "accounts.google.com", None));
    }

    #[test]
    fn host_without_port_means_the_default_port() {
        let p = policy(&["accounts.google.com"]);
        assert!(p.allows("https", "accounts.google.com", None));
        assert!(p.allows("https", "Accounts.Google.com", Some(443)));
        assert!(p.allows("http", "accounts.google.com", Some(80)));
        assert!(!p.allows("https", "accounts.google.com", Some(8443)));
        assert!(!p.allows("https", "evil.example", None));
        assert!(!p.allows("https", "accounts.google.com.evil.example", None));
    }

    #[test]
    fn explicit_port_and_scheme() {
        let p = policy(&["idp.example:8443", "https://login.example"]);
        assert!(p.allows("https", "idp.example", Some(8443)));
        assert!(!p.allows("https", "idp.example", None));
        assert!(p.allows("https", "login.example", None));
        assert!(!p.allows("http", "login.example", None));
    }

    #[test]
    fn malformed_entries_are_rejected() {
        assert!(OutboundPolicy::new(&["user:pw@host".to_string()]).is_err());
        assert!(OutboundPolicy::new(&["host/path".to_string()]).is_err());
    }
}
