//! Request bodies: size limits, content types, and parse errors that name
//! what was expected, never what was sent.

use serde::de::DeserializeOwned;

use crate::error::AuthError;
use crate::http::{known_parameter, Params, Request};

/// Form and JSON bodies of the OAuth endpoints are small; anything bigger
/// is refused unparsed.
pub const MAX_BODY: usize = 16 * 1024;

pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";

/// The body's media type, if it is one of `allowed`.
pub fn media_type(req: &Request, allowed: &[&'static str]) -> Result<&'static str, AuthError> {
    let media = req.media_type();
    allowed.iter().copied().find(|a| media.as_deref() == Some(*a)).ok_or_else(|| {
        AuthError::InvalidRequest(format!("Content-Type must be {}", allowed.join(" or ")))
    })
}

/// Check the size of a body of at most `max` bytes.
pub fn limit(req: &Request, max: usize) -> Result<(), AuthError> {
    if req.body.len() > max {
        return Err(AuthError::PayloadTooLarge);
    }
    Ok(())
}

/// A form body (`application/x-www-form-urlencoded`).
pub fn form(req: &Request, max: usize) -> Result<Params, AuthError> {
    limit(req, max)?;
    media_type(req, &[FORM])?;
    Params::parse(&req.body)
}

/// A JSON body of type `T`; `shape` describes it for the error message.
pub fn json<T: DeserializeOwned>(req: &Request, max: usize, shape: &str) -> Result<T, AuthError> {
    limit(req, max)?;
    media_type(req, &[JSON])?;
    parse_json(&req.body, shape)
}

/// Parse JSON bytes into `T`. serde's messages quote unknown field names
/// (client input), so only our own field names are repeated.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], shape: &str) -> Result<T, AuthError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let message = e.to_string();
        let field = message.split('`').nth(1).and_then(known_field);
        AuthError::InvalidRequest(match (field, e.classify()) {
            (Some(field), serde_json::error::Category::Data) if message.starts_with("duplicate field") => {
                format!("{field} is given twice (or in both spellings)")
            }
            (Some(field), serde_json::error::Category::Data) if message.starts_with("missing field") => format!("{field} is required"),
            (_, serde_json::error::Category::Data) if message.starts_with("unknown field") => {
                format!("the body has a field this endpoint does not accept; expected {shape}")
            }
            _ => format!("malformed JSON body; expected {shape}"),
        })
    })
}

/// Our own body field names: the only ones an error may repeat.
fn known_field(name: &str) -> Option<&'static str> {
    known_parameter(name).or_else(|| ["name", "description", "expires_at"].into_iter().find(|f| *f == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shape {
        #[serde(alias = "refreshToken")]
        refresh_token: String,
    }

    fn error(body: &str) -> String {
        match parse_json::<Shape>(body.as_bytes(), "{refresh_token}") {
            Err(AuthError::InvalidRequest(d)) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_never_echo_the_body() {
        let evil = "\u{e9}\u{1F600}<\\n>".repeat(300);
        let d = error(&format!("{{\"{evil}\":1}}"));
        assert_eq!(d, "the body has a field this endpoint does not accept; expected {refresh_token}");
        assert_eq!(error("{"), "malformed JSON body; expected {refresh_token}");
        assert_eq!(error("{}"), "refresh_token is required");
        assert_eq!(error(r#"{"refresh_token":"a","refreshToken":"b"}"#), "refresh_token is given twice (or in both spellings)");
        assert_eq!(error(r#"{"refresh_token":5}"#), "malformed JSON body; expected {refresh_token}");
    }
}
