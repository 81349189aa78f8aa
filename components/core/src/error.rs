//! One error type whose variants name the broken rule, mapped once, here,
//! to the spec's `Error` body and an HTTP status.

use serde_json::json;
use thiserror::Error;

use crate::http::Response;
use crate::ports::{KeyringError, StoreError};

/// Why a request was refused. Descriptions are written for the client and
/// never carry internal details or secrets.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Malformed or missing parameters (RFC 6749 `invalid_request`).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// A code, verifier or redirect_uri that does not check out.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// Client authentication failed.
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// A grant type this server does not serve.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// A scope that cannot be granted.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// A missing, malformed, expired or revoked bearer token (RFC 6750).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// The identity provider's answer does not authenticate anyone: a SAML
    /// Response or LogoutRequest failed a check (signature, audience,
    /// time window, replay, …).
    #[error("access_denied: {0}")]
    AccessDenied(String),
    /// Authenticated, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such resource.
    #[error("not_found: {0}")]
    NotFound(String),
    /// The path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// The body is larger than this endpoint accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// A rate limit or a client lockout: come back after `retry_after` seconds.
    #[error("rate limited")]
    TooManyRequests {
        /// Seconds until the client may try again.
        retry_after: u64,
        /// The limit that was hit, for the `X-RateLimit-*` headers.
        limit: Option<RateState>,
    },
    /// The store or keyring is out of reach: try again later.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
    /// An upstream identity provider failed: unreachable, slow, an error
    /// status, a malformed answer, an ID token that does not verify, a
    /// missing claim. 502; the detail is for the logs only.
    #[error("upstream_error: {0}")]
    Upstream(String),
    /// A bug or misconfiguration: the detail is for the logs only.
    #[error("server_error: {0}")]
    Internal(String),
}

/// Where a client stands against one rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in this window.
    pub remaining: u64,
    /// When the window resets (seconds since the epoch).
    pub reset: u64,
}

impl RateState {
    /// The `X-RateLimit-*` headers.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset.to_string()),
        ]
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Unavailable(e.0)
    }
}

impl From<KeyringError> for AuthError {
    fn from(e: KeyringError) -> Self {
        match e {
            KeyringError::UnknownKey => AuthError::Internal("signing key not in keyring".into()),
            KeyringError::Unavailable(m) => AuthError::Unavailable(m),
        }
    }
}

impl AuthError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::InvalidRequest(_)
            | AuthError::InvalidGrant(_)
            | AuthError::UnsupportedGrantType(_)
            | AuthError::InvalidScope(_) => 400,
            AuthError::InvalidClient(_) | AuthError::InvalidToken(_) | AuthError::AccessDenied(_) => 401,
            AuthError::Forbidden(_) => 403,
            AuthError::NotFound(_) => 404,
            AuthError::MethodNotAllowed(_) => 405,
            AuthError::PayloadTooLarge => 413,
            AuthError::TooManyRequests { .. } => 429,
            AuthError::Internal(_) => 500,
            AuthError::Upstream(_) => 502,
            AuthError::Unavailable(_) => 503,
        }
    }

    /// The OAuth-style error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::InvalidGrant(_) => "invalid_grant",
            AuthError::InvalidClient(_) => "invalid_client",
            AuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            AuthError::InvalidScope(_) => "invalid_scope",
            AuthError::InvalidToken(_) => "invalid_token",
            AuthError::AccessDenied(_) => "access_denied",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::NotFound(_) => "not_found",
            AuthError::MethodNotAllowed(_) => "method_not_allowed",
            AuthError::PayloadTooLarge => "invalid_request",
            AuthError::TooManyRequests { .. } => "rate_limit_exceeded",
            AuthError::Unavailable(_) => "temporarily_unavailable",
            AuthError::Upstream(_) => "upstream_error",
            AuthError::Internal(_) => "server_error",
        }
    }

    /// What the client is told. Internal and store details stay in logs.
    pub fn description(&self) -> String {
        match self {
            AuthError::InvalidRequest(d)
            | AuthError::InvalidGrant(d)
            | AuthError::InvalidClient(d)
            | AuthError::UnsupportedGrantType(d)
            | AuthError::InvalidScope(d)
            | AuthError::InvalidToken(d)
            | AuthError::AccessDenied(d)
            | AuthError::Forbidden(d)
            | AuthError::NotFound(d) => d.clone(),
            AuthError::MethodNotAllowed(allow) => format!("method not allowed; use {allow}"),
            AuthError::PayloadTooLarge => "request body too large".into(),
            AuthError::TooManyRequests { retry_after, .. } => {
                format!("too many requests; retry after {retry_after} seconds")
            }
            AuthError::Unavailable(_) => "the service is temporarily unavailable; retry later".into(),
            AuthError::Upstream(_) => "the identity provider could not be reached or gave an unusable answer".into(),
            AuthError::Internal(_) => "internal error".into(),
        }
    }

    /// The response: the spec's `Error` body plus the headers the status needs.
    pub fn into_response(self) -> Response {
        let body = json!({ "error": self.code(), "error_description": self.description() });
        let mut response = Response::json(self.status(), &body);
        match &self {
            AuthError::InvalidToken(_) => response.header(
                "www-authenticate",
                "Bearer error=\"invalid_token\"".to_string(),
            ),
            AuthError::InvalidClient(_) => response.header("www-authenticate", "Basic".to_string()),
            AuthError::MethodNotAllowed(allow) => response.header("allow", allow.to_string()),
            AuthError::Unavailable(_) => response.header("retry-after", "5".to_string()),
            AuthError::TooManyRequests { retry_after, limit } => {
                response.header("retry-after", retry_after.max(&1).to_string());
                for (name, value) in limit.iter().flat_map(RateState::headers) {
                    response.header(name, value);
                }
            }
            _ => {}
        }
        response.header("cache-control", "no-store".to_string());
        response
    }
}
