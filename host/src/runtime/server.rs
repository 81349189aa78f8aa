//! The HTTP server: hyper HTTP/1.1 with keep-alive, one fresh component
//! instance per request, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use super::engine::{wt, MAX_INSTANCES};
use super::limits::{self, BodyError, Buffered, Limits, RateLimitedLog};
use super::state::{Services, State};
use crate::metrics::{ASK_OUTCOME_HEADER, OUTCOME_HEADER};

/// Requests carry forms and JSON, never uploads.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// The header the component trusts for the client address; any value the
/// client sent is replaced.
pub const CLIENT_IP_HEADER: &str = "x-tmi-client-ip";
/// How long in-flight requests may take to finish at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A request's whole run in the guest, response body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Server {
    pre: ProxyPre<State>,
    services: Services,
    instances: Arc<Semaphore>,
    limits: Limits,
    accept_errors: RateLimitedLog,
    /// Set when the shutdown grace period is over: running guests stop at
    /// their next epoch tick.
    abort_guests: Arc<AtomicBool>,
}

fn json_response(
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response<HyperOutgoingBody> {
    let body = serde_json::json!({ "error": error, "error_description": description }).to_string();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

fn server_error() -> Response<HyperOutgoingBody> {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal error",
    )
}

fn too_large() -> Response<HyperOutgoingBody> {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "request body too large",
    )
}

/// The client's body could not be read: its mistake (4xx), or a host
/// too busy to buffer it (503).
fn body_refusal(e: BodyError) -> Response<HyperOutgoingBody> {
    let mut response = match e {
        BodyError::TooLarge => return too_large(),
        BodyError::TimedOut => json_response(StatusCode::REQUEST_TIMEOUT, "invalid_request", "the request body did not arrive in time"),
        BodyError::Malformed => json_response(StatusCode::BAD_REQUEST, "invalid_request", "the request body is malformed (chunked encoding or Content-Length)"),
        BodyError::Busy => {
            let mut r = json_response(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "the service is busy; retry later");
            r.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    };
    response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

impl Server {
    pub fn new(pre: ProxyPre<State>, services: Services) -> Self {
        let connections = limits::connection_limit();
        tracing::info!(max_connections = connections, "connection limit");
        Self {
            pre,
            services,
            instances: Arc::new(Semaphore::new(MAX_INSTANCES as usize)),
            limits: Limits::new(connections),
            accept_errors: RateLimitedLog::new(),
            abort_guests: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Serves until `shutdown` resolves, then stops accepting and gives
    /// in-flight requests up to `SHUTDOWN_GRACE` to finish.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<()> {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            // At the connection cap, new clients wait in the listen backlog.
            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(&self.limits.connections).acquire_owned() => permit.context("connection limit closed")?,
            };
            let (stream, client) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // E.g. EMFILE: back off instead of spinning, and log it once a second.
                        if let Some(suppressed) = self.accept_errors.admit(Instant::now()) {
                            tracing::warn!(error = %e, suppressed, "accept failed");
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let server = Arc::clone(&self);
            let service = hyper::service::service_fn(move |req| {
                let server = Arc::clone(&server);
                async move { Ok::<_, Infallible>(server.handle(req, client).await) }
            });
            let connection = http1::Builder::new()
                .keep_alive(true)
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }

        drop(listener);
        tracing::info!("shutting down: no longer accepting connections");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(SHUTDOWN_GRACE) => {
                tracing::warn!(grace_secs = SHUTDOWN_GRACE.as_secs(), "in-flight requests did not finish in time; stopping them");
                self.abort_guests.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        client: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = req.method().clone();
        // The path only: query strings carry codes and tokens.
        let path = req.uri().path().to_string();
        let mut response = match self.run_component(req, client).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(%method, %path, error = %format!("{e:#}"), "request failed");
                server_error()
            }
        };
        let outcome = response.headers_mut().remove(OUTCOME_HEADER);
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        self.services.metrics.request(method.as_str(), &path, status, elapsed, outcome.as_ref().and_then(|v| v.to_str().ok()));
        tracing::info!(%method, %path, status, duration_ms = elapsed.as_micros() as f64 / 1000.0, "request");
        response
    }

    async fn run_component(&self, req: Request<Incoming>, client: SocketAddr) -> Result<Response<HyperOutgoingBody>> {
        let (req, budget) = match self.buffer(req, client).await? {
            Ok(buffered) => buffered,
            Err(refusal) => return Ok(refusal),
        };
        let permit = Arc::clone(&self.instances).acquire_owned().await.context("instance limit closed")?;
        let mut store = self.new_store();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store.data_mut().http().new_incoming_request(Scheme::Http, req).map_err(wt)?;
        let outparam = store.data_mut().http().new_response_outparam(sender).map_err(wt)?;
        let pre = self.pre.clone();
        let metrics = Arc::clone(&self.services.metrics);

        // The guest runs in its own task: it may keep streaming the body
        // after it has handed us the response head.
        let task = tokio::spawn(async move {
            let _permits = (permit, budget);
            let run = async {
                let instantiating = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await.map_err(wt).context("instantiating the component")?;
                metrics.instantiated(instantiating.elapsed());
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
                    .map_err(wt)
                    .context("the component's handler failed")
            };
            // Also bounds time spent waiting in host calls (e.g. outbound
            // HTTP), where epoch ticks do not reach the guest.
            match tokio::time::timeout(REQUEST_TIMEOUT, run).await {
                Ok(result) => result,
                Err(_) => Err(anyhow!("the request took longer than {REQUEST_TIMEOUT:?}")),
            }
        });

        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(anyhow!("the component answered with error code {code:?}")),
            // The outparam was dropped unset: the task's result says why.
            Err(_) => match task.await {
                Ok(Ok(())) => Err(anyhow!("the component never set a response")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(anyhow!("the request task failed: {e}")),
            },
        }
    }

    /// A fresh store for one request. At every epoch tick a running guest
    /// yields to the executor, so a busy guest cannot starve other
    /// requests, and is interrupted once the request is over time or the
    /// host is stopping.
    fn new_store(&self) -> Store<State> {
        let mut store = Store::new(self.pre.engine(), State::new(&self.services));
        let (started, abort) = (Instant::now(), Arc::clone(&self.abort_guests));
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if abort.load(Ordering::Relaxed) || started.elapsed() > REQUEST_TIMEOUT {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }
}

/// The request with its (small) body buffered, so the limit holds for
/// chunked bodies too and the guest never waits on a slow client, and
/// with the client address the component trusts; or the refusal.
type Buffering = Result<(Request<Full<Bytes>>, Option<tokio::sync::OwnedSemaphorePermit>), Response<HyperOutgoingBody>>;

impl Server {
    async fn buffer(&self, req: Request<Incoming>, client: SocketAddr) -> Result<Buffering> {
        let declared = req.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Ok(Err(too_large()));
        }
        let (mut parts, body) = req.into_parts();
        if parts.uri.authority().is_none() && !parts.headers.contains_key(http::header::HOST) {
            return Ok(Err(json_response(StatusCode::BAD_REQUEST, "invalid_request", "missing Host header")));
        }
        let deadline = Instant::now() + limits::BODY_READ_TIMEOUT;
        let Buffered { bytes, _budget } = match limits::read_body(body, MAX_BODY_BYTES, &self.limits.body_budget, deadline).await {
            Ok(buffered) => buffered,
            Err(e) => return Ok(Err(body_refusal(e))),
        };
        let ip = HeaderValue::from_str(&client.ip().to_string()).context("client address")?;
        parts.headers.insert(CLIENT_IP_HEADER, ip);
        parts.headers.insert(ASK_OUTCOME_HEADER, HeaderValue::from_static("1"));
        Ok(Ok((Request::from_parts(parts, Full::new(bytes)), _budget)))
    }
}
