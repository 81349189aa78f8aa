//! The JWS algorithms tokens are signed with.

/// JWS algorithms the keyrings sign with (RFC 7518).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Ed25519.
    EdDsa,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// HMAC with SHA-256.
    Hs256,
}

impl Algorithm {
    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
            Algorithm::Hs256 => "HS256",
        }
    }

    /// Parse a configured algorithm name, with an error that says what is allowed.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::from_name(name).ok_or_else(|| format!("unsupported algorithm {name:?}: use EdDSA, ES256, RS256 or HS256"))
    }

    /// Parse a JOSE `alg` name; `none` and everything else is refused.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Algorithm::EdDsa),
            "ES256" => Some(Algorithm::Es256),
            "RS256" => Some(Algorithm::Rs256),
            "HS256" => Some(Algorithm::Hs256),
            _ => None,
        }
    }
}

/// A key id and its algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The `kid` published in the JWKS.
    pub kid: String,
    /// The key's algorithm.
    pub alg: Algorithm,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_refused() {
        for alg in [Algorithm::EdDsa, Algorithm::Es256, Algorithm::Rs256, Algorithm::Hs256] {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Algorithm::from_name("none"), None);
        assert_eq!(Algorithm::from_name("hs256"), None);
        assert!(Algorithm::parse("PS256").unwrap_err().contains("EdDSA, ES256, RS256 or HS256"));
    }
}
