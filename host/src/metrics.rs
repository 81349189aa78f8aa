//! Prometheus metrics, served on their own address (`--metrics-listen`):
//! requests by route template and status, latencies, instantiation time,
//! store operations, and what the component refused for rate limits,
//! lockouts and upstream failures. Labels are route templates, methods,
//! statuses, backends, operations and provider ids: never a token, code,
//! email or address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// The request header the host sets so the component reports, in the
/// response header [`OUTCOME_HEADER`], why it refused a request. Both are
/// removed at the edge: clients never set or see them.
pub const ASK_OUTCOME_HEADER: &str = "x-tmi-host-metrics";
/// `rate_limit`, `lockout` or `upstream:<provider>`.
pub const OUTCOME_HEADER: &str = "x-tmi-outcome";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    backend: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
}

fn seconds_histogram() -> Histogram {
    // 50 µs .. ~13 s
    Histogram::new(exponential_buckets(0.00005, 2.0, 19))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    instantiation: Histogram,
    store_latency: Family<StoreLabels, Histogram, fn() -> Histogram>,
    store_errors: Family<StoreLabels, Counter>,
    rate_limited: Family<RouteLabels, Counter>,
    lockouts: Counter,
    upstream_errors: Family<ProviderLabels, Counter>,
    swept: Counter,
    entries: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tmi");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route template and status", requests.clone());
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(seconds_histogram);
        registry.register("http_request_duration_seconds", "Time to the response head, by route template", latency.clone());
        let instantiation = seconds_histogram();
        registry.register("component_instantiation_seconds", "Time to instantiate the component for one request", instantiation.clone());
        let store_latency = Family::<StoreLabels, Histogram, fn() -> Histogram>::new_with_constructor(seconds_histogram);
        registry.register("store_operation_duration_seconds", "Key-value operations by backend", store_latency.clone());
        let store_errors = Family::<StoreLabels, Counter>::default();
        registry.register("store_errors", "Failed key-value operations by backend", store_errors.clone());
        let rate_limited = Family::<RouteLabels, Counter>::default();
        registry.register("rate_limit_rejections", "Requests refused by a rate limit", rate_limited.clone());
        let lockouts = Counter::default();
        registry.register("client_lockouts", "Client-credential grants refused by a lockout", lockouts.clone());
        let upstream_errors = Family::<ProviderLabels, Counter>::default();
        registry.register("upstream_errors", "Upstream identity provider failures by provider", upstream_errors.clone());
        let swept = Counter::default();
        registry.register("store_expired_entries_deleted", "Expired entries the sweep deleted", swept.clone());
        let entries = Gauge::default();
        registry.register("store_entries", "Entries in the store after the latest sweep (redb, memory)", entries.clone());
        Metrics { registry, requests, latency, instantiation, store_latency, store_errors, rate_limited, lockouts, upstream_errors, swept, entries }
    }

    /// One answered request, and what the component said about its refusal.
    pub fn request(&self, method: &str, path: &str, status: u16, elapsed: Duration, outcome: Option<&str>) {
        let route = tmi_auth_core::route_template(path);
        let method = method_label(method);
        self.requests.get_or_create(&RequestLabels { method: method.clone(), route, status }).inc();
        self.latency.get_or_create(&RouteLabels { method: method.clone(), route }).observe(elapsed.as_secs_f64());
        match outcome {
            Some("rate_limit") => {
                self.rate_limited.get_or_create(&RouteLabels { method, route }).inc();
            }
            Some("lockout") => {
                self.lockouts.inc();
            }
            Some(other) => {
                if let Some(provider) = other.strip_prefix("upstream:").filter(|p| tmi_auth_core::values::is_provider_id(p)) {
                    self.upstream_errors.get_or_create(&ProviderLabels { provider: provider.to_string() }).inc();
                }
            }
            None => {}
        }
    }

    pub fn instantiated(&self, elapsed: Duration) {
        self.instantiation.observe(elapsed.as_secs_f64());
    }

    pub fn store(&self, backend: &'static str, operation: &'static str, elapsed: Duration, failed: bool) {
        let labels = StoreLabels { backend, operation };
        self.store_latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
        if failed {
            self.store_errors.get_or_create(&labels).inc();
        }
    }

    /// A sweep deleted `deleted` entries and left `remaining`.
    pub fn swept(&self, deleted: usize, remaining: usize) {
        self.swept.inc_by(deleted as u64);
        self.entries.set(remaining as i64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn method_label(method: &str) -> String {
    match method {
        "GET" | "POST" | "DELETE" | "PUT" | "PATCH" | "HEAD" | "OPTIONS" => method.to_string(),
        _ => "other".to_string(),
    }
}

/// Serve `GET /metrics` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> Result<()> {
    loop {
        let (stream, _) = listener.accept().await.context("accepting a metrics connection")?;
        let metrics = Arc::clone(&metrics);
        let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
            let metrics = Arc::clone(&metrics);
            async move {
                let response = if req.uri().path() == "/metrics" {
                    http::Response::builder()
                        .header(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                        .body(Full::new(Bytes::from(metrics.render())))
                } else {
                    http::Response::builder().status(404).body(Full::new(Bytes::from_static(b"not found\n")))
                };
                Ok::<_, std::convert::Infallible>(response.unwrap_or_default())
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Bind the metrics address.
pub async fn listen(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("listening for metrics on {addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_requests_and_outcomes() {
        let m = Metrics::new();
        m.request("POST", "/oauth2/token", 429, Duration::from_millis(2), Some("rate_limit"));
        m.request("POST", "/oauth2/token", 429, Duration::from_millis(2), Some("lockout"));
        m.request("GET", "/oauth2/callback", 502, Duration::from_millis(2), Some("upstream:google"));
        m.request("BREW", "/x/secret-token", 404, Duration::from_millis(2), None);
        let text = m.render();
        assert!(text.contains(r#"tmi_http_requests_total{method="POST",route="/oauth2/token",status="429"} 2"#), "{text}");
        assert!(text.contains(r#"tmi_rate_limit_rejections_total{method="POST",route="/oauth2/token"} 1"#), "{text}");
        assert!(text.contains("tmi_client_lockouts_total 1"), "{text}");
        assert!(text.contains(r#"tmi_upstream_errors_total{provider="google"} 1"#), "{text}");
        assert!(!text.contains("secret-token") && !text.contains("BREW"), "{text}");
    }
}
