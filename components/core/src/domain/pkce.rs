//! PKCE (RFC 7636), S256 only: `plain` gives an intercepted code away.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::encoding::b64url;
use crate::error::AuthError;

/// `[A-Za-z0-9-._~]{43,128}`: the grammar of both verifier and challenge
/// (RFC 7636 §4.1, §4.2).
pub fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Check the challenge and method given to /oauth2/authorize.
pub fn validate_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<String, AuthError> {
    match method {
        Some("S256") => {}
        Some("plain") => {
            return Err(AuthError::InvalidRequest(
                "code_challenge_method plain is not supported; use S256".into(),
            ))
        }
        Some(_) => return Err(AuthError::InvalidRequest("code_challenge_method must be S256".into())),
        None => return Err(AuthError::InvalidRequest("code_challenge_method is required".into())),
    }
    match challenge {
        None => Err(AuthError::InvalidRequest("code_challenge is required".into())),
        Some(c) if !is_pkce_string(c) => Err(AuthError::InvalidRequest(
            "code_challenge must be 43-128 characters of [A-Za-z0-9-._~]".into(),
        )),
        Some(c) => Ok(c.to_string()),
    }
}

/// The S256 challenge of `verifier`: base64url(SHA-256(verifier)).
pub fn s256_challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// Does `verifier` hash to `challenge`? Compared in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    is_pkce_string(verifier) && bool::from(s256_challenge(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_example_verifies() {
        assert!(verify_s256(VERIFIER, CHALLENGE));
    }

    #[test]
    fn wrong_verifier_fails() {
        let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
        assert!(!verify_s256(wrong, CHALLENGE));
    }

    #[test]
    fn short_verifier_fails_even_if_hash_matches_nothing() {
        assert!(!verify_s256("short", CHALLENGE));
    }

    #[test]
    fn plain_method_is_refused() {
        let err = validate_challenge(Some(CHALLENGE), Some("plain")).unwrap_err();
        assert!(matches!(err, AuthError::InvalidRequest(_)));
    }

    #[test]
    fn missing_or_short_challenge_is_refused() {
        assert!(validate_challenge(None, Some("S256")).is_err());
        assert!(validate_challenge(Some("abc"), Some("S256")).is_err());
        assert!(validate_challenge(Some(&"a".repeat(129)), Some("S256")).is_err());
        assert!(validate_challenge(Some(CHALLENGE), None).is_err());
        assert_eq!(validate_challenge(Some(CHALLENGE), Some("S256")).unwrap(), CHALLENGE);
    }
}
