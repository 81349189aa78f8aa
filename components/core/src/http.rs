//! Plain-value HTTP requests and responses, parsing of their parts, and
//! the one mapping of an [`AuthError`] to a response. Only the endpoint
//! layer (`api/`) sees these types.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;

use crate::error::{AuthError, RateState, TokenRule};

/// An incoming request as plain values.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header pairs with lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with the given method and target (`/path?query`).
    pub fn new(method: &str, target: &str) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            query: query.to_string(),
            ..Default::default()
        }
    }

    /// Builder: add a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Builder: set the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The query parameters; a repeated parameter is an error (RFC 6749 §3.1).
    pub fn query_params(&self) -> Result<Params, AuthError> {
        Params::parse(self.query.as_bytes())
    }

    /// The bearer token of the Authorization header (RFC 6750 §2.1).
    pub fn bearer_token(&self) -> Result<&str, AuthError> {
        let value = self.header("authorization").ok_or(AuthError::InvalidToken(TokenRule::Missing))?;
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::InvalidToken(TokenRule::MalformedHeader))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::InvalidToken(TokenRule::MalformedHeader));
        }
        Ok(token.trim())
    }

    /// The media type of the body, lowercase, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type")
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }
}

/// Decoded `application/x-www-form-urlencoded` parameters (query or body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parse form-encoded bytes; repeated names and invalid UTF-8 are errors.
    pub fn parse(bytes: &[u8]) -> Result<Self, AuthError> {
        if std::str::from_utf8(bytes).is_err() {
            return Err(AuthError::InvalidRequest("parameters are not valid UTF-8".into()));
        }
        let mut map = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(bytes) {
            if map.insert(name.to_string(), value.to_string()).is_some() {
                return Err(AuthError::InvalidRequest(match known_parameter(&name) {
                    Some(name) => format!("parameter {name} must not be repeated"),
                    None => "a parameter must not be repeated".into(),
                }));
            }
        }
        Ok(Params(map))
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Like [`Params::get`] but an error when absent.
    pub fn require(&self, name: &str) -> Result<&str, AuthError> {
        self.get(name)
            .ok_or_else(|| AuthError::InvalidRequest(format!("{name} is required")))
    }

    /// Whether `name` is present at all.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Every parameter name the API reads: the only client-sent names an error
/// description may repeat (error bodies never echo raw input).
const PARAMETERS: &[&str] = &[
    "idp", "scope", "state", "code", "code_challenge", "code_challenge_method", "client_callback", "login_hint",
    "error", "error_description", "iss", "grant_type", "redirect_uri", "code_verifier", "client_id", "client_secret",
    "refresh_token", "token", "token_type_hint", "SAMLResponse", "SAMLRequest", "RelayState", "SigAlg", "Signature",
];

/// `name` if it is one of ours, as a `'static` string.
pub fn known_parameter(name: &str) -> Option<&'static str> {
    PARAMETERS.iter().copied().find(|p| *p == name)
}

/// An outgoing response as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Header pairs with lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }

    /// A JSON response that must not be cached (tokens, user data; RFC 6749 §5.1).
    pub fn json_no_store(status: u16, value: &impl Serialize) -> Self {
        let mut response = Self::json(status, value);
        response.header("cache-control", "no-store".into());
        response.header("pragma", "no-cache".into());
        response
    }

    /// A 302 redirect.
    pub fn redirect(location: String) -> Self {
        Response {
            status: 302,
            headers: vec![
                ("location".into(), location),
                ("cache-control".into(), "no-store".into()),
            ],
            body: Vec::new(),
        }
    }

    /// Add a header.
    pub fn header(&mut self, name: &str, value: String) {
        self.headers.push((name.to_string(), value));
    }

    /// The first value of header `name`.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl AuthError {
    /// The response: the spec's `Error` body plus the headers the status needs.
    pub fn into_response(&self) -> Response {
        let body = json!({ "error": self.code(), "error_description": printable(&self.description()) });
        let mut response = Response::json(self.status(), &body);
        match self {
            AuthError::InvalidToken(_) => response.header("www-authenticate", "Bearer error=\"invalid_token\"".to_string()),
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

/// The spec's `Error` text: `^[\u0020-\uFFFF]*$`, at most 1000 characters.
/// Descriptions are written from a fixed vocabulary; this is the backstop.
fn printable(text: &str) -> String {
    text.chars().map(|c| if (' '..='\u{FFFF}').contains(&c) { c } else { '?' }).take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_always_printable_and_bounded() {
        assert_eq!(printable("a\nb\u{1F600}c"), "a?b?c");
        assert_eq!(printable(&"é".repeat(2000)).chars().count(), 1000);
    }

    #[test]
    fn repeated_parameters_are_named_only_from_the_vocabulary() {
        let e = Params::parse(b"state=1&state=2").unwrap_err();
        assert_eq!(e, AuthError::InvalidRequest("parameter state must not be repeated".into()));
        let e = Params::parse(b"%0A=1&%0A=2").unwrap_err();
        assert_eq!(e, AuthError::InvalidRequest("a parameter must not be repeated".into()));
    }

    #[test]
    fn repeated_parameter_is_refused() {
        assert!(Params::parse(b"a=1&a=2").is_err());
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert!(Params::parse(&[b'a', b'=', 0xff]).is_err());
    }

    #[test]
    fn bearer_token_parsing() {
        let r = Request::new("GET", "/x").with_header("Authorization", "Bearer abc");
        assert_eq!(r.bearer_token().unwrap(), "abc");
        let r = Request::new("GET", "/x").with_header("Authorization", "Basic abc");
        assert!(r.bearer_token().is_err());
        assert!(Request::new("GET", "/x").bearer_token().is_err());
    }
}
