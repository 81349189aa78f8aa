//! Verification of upstream ID tokens (JWS compact form) against the
//! provider's JWKS: RS256 (PKCS#1 v1.5, SHA-256), ES256 and EdDSA (Ed25519)
//! only. `none`, HS* and every algorithm not allowed for the provider are
//! refused before any key is looked at.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::oauth::ID_TOKEN_ALGORITHMS;
use crate::encoding::b64url_decode;
use crate::error::IdTokenRule;

/// Allowed clock skew for `exp`, `iat` and `nbf`, seconds.
pub const SKEW: u64 = 60;

/// Why an ID token was refused (for the diagnostic, never the client).
pub type Refusal = IdTokenRule;

/// A parsed, not yet verified token.
pub struct Parsed {
    /// The header's `alg`.
    pub alg: String,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The claims.
    pub claims: Map<String, Value>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// Split and decode a compact JWS; nothing is trusted yet.
pub fn parse(token: &str) -> Result<Parsed, Refusal> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(IdTokenRule::NotCompactJws);
    }
    let header: Header = b64url_decode(parts[0]).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(IdTokenRule::Malformed)?;
    let claims: Map<String, Value> =
        b64url_decode(parts[1]).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(IdTokenRule::Malformed)?;
    let signature = b64url_decode(parts[2]).ok_or(IdTokenRule::Malformed)?;
    Ok(Parsed {
        alg: header.alg,
        kid: header.kid,
        claims,
        signing_input: format!("{}.{}", parts[0], parts[1]).into_bytes(),
        signature,
    })
}

/// The outcome of looking the token's key up in a JWKS.
pub enum KeyLookup<'a> {
    /// The key to verify with.
    Found(&'a Value),
    /// The `kid` is not in this JWKS (refetching it may help).
    UnknownKid,
    /// No usable key (no kid and several keys, or no key of the algorithm).
    Refused(Refusal),
}

fn key_type(alg: &str) -> &'static str {
    match alg {
        "RS256" | "PS256" => "RSA",
        "ES256" => "EC",
        _ => "OKP",
    }
}

/// Choose the key for `parsed` in `jwks` (`{"keys": [...]}`). With a `kid`
/// the key must carry that `kid`; without one, the JWKS must hold exactly
/// one signing key of the algorithm's type.
pub fn select_key<'a>(parsed: &Parsed, jwks: &'a Value) -> KeyLookup<'a> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return KeyLookup::Refused(IdTokenRule::NoJwks);
    };
    let usable: Vec<&Value> = keys
        .iter()
        .filter(|k| k.get("use").and_then(Value::as_str).is_none_or(|u| u == "sig"))
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some(key_type(&parsed.alg)))
        .filter(|k| k.get("alg").and_then(Value::as_str).is_none_or(|a| a == parsed.alg))
        .collect();
    match &parsed.kid {
        Some(kid) => match usable.iter().find(|k| k.get("kid").and_then(Value::as_str) == Some(kid)) {
            Some(k) => KeyLookup::Found(k),
            None => KeyLookup::UnknownKid,
        },
        None if usable.len() == 1 && keys.len() == 1 => KeyLookup::Found(usable[0]),
        None => KeyLookup::Refused(IdTokenRule::AmbiguousKey),
    }
}

/// Is the algorithm acceptable at all, and for this provider?
pub fn check_alg(alg: &str, allowed: &[String]) -> Result<(), Refusal> {
    if !ID_TOKEN_ALGORITHMS.contains(&alg) {
        return Err(IdTokenRule::AlgorithmRefused);
    }
    if !allowed.iter().any(|a| a == alg) {
        return Err(IdTokenRule::AlgorithmNotAllowed);
    }
    Ok(())
}

fn member(jwk: &Value, name: &str) -> Result<Vec<u8>, Refusal> {
    jwk.get(name).and_then(Value::as_str).and_then(b64url_decode).ok_or(IdTokenRule::KeyMalformed)
}

/// An RSA public key of at least 2048 bits from a JWK.
fn rsa_key(jwk: &Value) -> Result<rsa::RsaPublicKey, Refusal> {
    let n = rsa::BigUint::from_bytes_be(&member(jwk, "n")?);
    let e = rsa::BigUint::from_bytes_be(&member(jwk, "e")?);
    let key = rsa::RsaPublicKey::new(n, e).map_err(|_| IdTokenRule::KeyMalformed)?;
    if rsa::traits::PublicKeyParts::size(&key) < 256 {
        return Err(IdTokenRule::KeyTooShort);
    }
    Ok(key)
}

/// Check the signature of `parsed` with `jwk`.
pub fn verify_signature(parsed: &Parsed, jwk: &Value) -> Result<(), Refusal> {
    let bad = || IdTokenRule::SignatureInvalid;
    match parsed.alg.as_str() {
        "RS256" => {
            use rsa::signature::Verifier;
            let key = rsa_key(jwk)?;
            let sig = rsa::pkcs1v15::Signature::try_from(parsed.signature.as_slice()).map_err(|_| bad())?;
            rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key).verify(&parsed.signing_input, &sig).map_err(|_| bad())
        }
        // RSASSA-PSS with SHA-256 and MGF1-SHA-256, salt as long as the hash (RFC 7518 §3.5).
        "PS256" => {
            use rsa::signature::Verifier;
            let key = rsa_key(jwk)?;
            let sig = rsa::pss::Signature::try_from(parsed.signature.as_slice()).map_err(|_| bad())?;
            rsa::pss::VerifyingKey::<sha2::Sha256>::new(key).verify(&parsed.signing_input, &sig).map_err(|_| bad())
        }
        "ES256" => {
            use p256::ecdsa::signature::Verifier;
            use p256::ecdsa::{Signature, VerifyingKey};
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err(IdTokenRule::KeyMalformed);
            }
            let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(IdTokenRule::KeyMalformed);
            }
            let point = p256::EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
            let key = VerifyingKey::from_encoded_point(&point).map_err(|_| IdTokenRule::KeyMalformed)?;
            let sig = Signature::from_slice(&parsed.signature).map_err(|_| bad())?;
            key.verify(&parsed.signing_input, &sig).map_err(|_| bad())
        }
        "EdDSA" => {
            use ed25519_dalek::{Signature, VerifyingKey};
            if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                return Err(IdTokenRule::KeyMalformed);
            }
            let x: [u8; 32] = member(jwk, "x")?.try_into().map_err(|_| IdTokenRule::KeyMalformed)?;
            let key = VerifyingKey::from_bytes(&x).map_err(|_| IdTokenRule::KeyMalformed)?;
            let sig = Signature::from_slice(&parsed.signature).map_err(|_| bad())?;
            key.verify_strict(&parsed.signing_input, &sig).map_err(|_| bad())
        }
        _ => Err(IdTokenRule::AlgorithmRefused),
    }
}

/// What the claims must say.
pub struct Expected<'a> {
    /// The provider's issuer; `{tenantid}` stands for the token's `tid`.
    pub issuer: &'a str,
    /// Another spelling of the issuer the provider uses.
    pub alternative_issuer: Option<&'a str>,
    /// Our client id.
    pub client_id: &'a str,
    /// The flow's nonce; `None` when none is known (provider-neutral exchange).
    pub nonce: Option<&'a str>,
    /// Now, seconds since the epoch.
    pub now: u64,
}

/// Check iss, aud/azp, exp, iat, nbf and nonce. Returns the token's `exp`.
pub fn check_claims(claims: &Map<String, Value>, want: &Expected) -> Result<u64, Refusal> {
    let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    let iss = str_claim("iss").ok_or(IdTokenRule::IssuerMismatch)?;
    let expected_iss = match str_claim("tid") {
        Some(tid) if want.issuer.contains("{tenantid}") => want.issuer.replace("{tenantid}", tid),
        _ => want.issuer.to_string(),
    };
    if iss != expected_iss && Some(iss) != want.alternative_issuer {
        return Err(IdTokenRule::IssuerMismatch);
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(IdTokenRule::AudienceMismatch),
    };
    if !aud.contains(&want.client_id) {
        return Err(IdTokenRule::AudienceMismatch);
    }
    match str_claim("azp") {
        Some(azp) if azp != want.client_id => return Err(IdTokenRule::AuthorizedPartyMismatch),
        None if aud.len() > 1 => return Err(IdTokenRule::AuthorizedPartyMismatch),
        _ => {}
    }
    let num = |name: &str| claims.get(name).and_then(Value::as_u64);
    let exp = num("exp").ok_or(IdTokenRule::Expired)?;
    if exp.saturating_add(SKEW) <= want.now {
        return Err(IdTokenRule::Expired);
    }
    let iat = num("iat").ok_or(IdTokenRule::IssuedInFuture)?;
    if iat > want.now + SKEW {
        return Err(IdTokenRule::IssuedInFuture);
    }
    if claims.contains_key("nbf") && num("nbf").is_none_or(|nbf| nbf > want.now + SKEW) {
        return Err(IdTokenRule::NotYetValid);
    }
    if let Some(nonce) = want.nonce {
        if str_claim("nonce") != Some(nonce) {
            return Err(IdTokenRule::NonceMismatch);
        }
    }
    Ok(exp)
}
