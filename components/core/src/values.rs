//! Small value types and the spec's identifier patterns, shared by every layer.

/// A secret value whose `Debug` form never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key {key}: {reason}")]
pub struct ConfigError {
    /// The offending key.
    pub key: String,
    /// Why it was refused.
    pub reason: String,
}

impl ConfigError {
    /// A refusal of `key`.
    pub fn new(key: &str, reason: impl Into<String>) -> Self {
        ConfigError { key: key.into(), reason: reason.into() }
    }
}

/// `^[a-zA-Z][a-zA-Z0-9_-]*$`, at most 100: the spec's provider id pattern.
pub fn is_provider_id(s: &str) -> bool {
    s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `^[a-zA-Z0-9_~.+/=-]*$`, at most 256: the spec's state pattern.
pub fn is_state(s: &str) -> bool {
    s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_~.+/=-".contains(&b))
}

/// A UUID in its canonical text form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(is_provider_id("corp-sso_2") && !is_provider_id("9x") && !is_provider_id("") && !is_provider_id("a/b"));
        assert!(!is_provider_id(&"a".repeat(101)));
        assert!(is_state("abc+/=~._-") && !is_state("a b") && !is_state(&"a".repeat(257)));
        assert!(is_uuid("123e4567-e89b-42d3-a456-426614174000") && !is_uuid("123e4567e89b42d3a456426614174000"));
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "Secret(..)");
    }
}
