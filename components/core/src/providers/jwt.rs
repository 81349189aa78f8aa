//! Verification of upstream ID tokens (JWS compact form) against the
//! provider's JWKS: RS256 (PKCS#1 v1.5, SHA-256), ES256 and EdDSA (Ed25519)
//! only. `none`, HS* and every algorithm not allowed for the provider are
//! refused before any key is looked at.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::encoding::b64url_decode;

/// Allowed clock skew for `exp`, `iat` and `nbf`, seconds.
pub const SKEW: u64 = 60;

/// Why an ID token was refused (for the diagnostic, never the client).
pub type Refusal = String;

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
        return Err("ID token is not a compact JWS".into());
    }
    let header: Header = b64url_decode(parts[0])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("ID token header is malformed")?;
    let claims: Map<String, Value> = b64url_decode(parts[1])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("ID token claims are malformed")?;
    let signature = b64url_decode(parts[2]).ok_or("ID token signature is malformed")?;
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
        "RS256" => "RSA",
        "ES256" => "EC",
        _ => "OKP",
    }
}

/// Choose the key for `parsed` in `jwks` (`{"keys": [...]}`). With a `kid`
/// the key must carry that `kid`; without one, the JWKS must hold exactly
/// one signing key of the algorithm's type.
pub fn select_key<'a>(parsed: &Parsed, jwks: &'a Value) -> KeyLookup<'a> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return KeyLookup::Refused("JWKS has no keys array".into());
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
        None => KeyLookup::Refused("ID token has no kid and the JWKS does not hold exactly one key".into()),
    }
}

/// Is the algorithm acceptable at all, and for this provider?
pub fn check_alg(alg: &str, allowed: &[String]) -> Result<(), Refusal> {
    if !matches!(alg, "RS256" | "ES256" | "EdDSA") {
        return Err(format!("ID token algorithm {alg:?} is not accepted"));
    }
    if !allowed.iter().any(|a| a == alg) {
        return Err(format!("ID token algorithm {alg} is not allowed for this provider"));
    }
    Ok(())
}

fn member(jwk: &Value, name: &str) -> Result<Vec<u8>, Refusal> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(b64url_decode)
        .ok_or_else(|| format!("JWK member {name} is missing or malformed"))
}

/// Check the signature of `parsed` with `jwk`.
pub fn verify_signature(parsed: &Parsed, jwk: &Value) -> Result<(), Refusal> {
    let bad = || Refusal::from("ID token signature does not verify");
    match parsed.alg.as_str() {
        "RS256" => {
            use rsa::pkcs1v15::{Signature, VerifyingKey};
            use rsa::signature::Verifier;
            let n = rsa::BigUint::from_bytes_be(&member(jwk, "n")?);
            let e = rsa::BigUint::from_bytes_be(&member(jwk, "e")?);
            let key = rsa::RsaPublicKey::new(n, e).map_err(|_| "JWK is not a valid RSA key".to_string())?;
            if rsa::traits::PublicKeyParts::size(&key) < 256 {
                return Err("RSA key is shorter than 2048 bits".into());
            }
            let sig = Signature::try_from(parsed.signature.as_slice()).map_err(|_| bad())?;
            VerifyingKey::<sha2::Sha256>::new(key).verify(&parsed.signing_input, &sig).map_err(|_| bad())
        }
        "ES256" => {
            use p256::ecdsa::signature::Verifier;
            use p256::ecdsa::{Signature, VerifyingKey};
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err("EC key is not on P-256".into());
            }
            let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("EC key coordinates are malformed".into());
            }
            let point = p256::EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
            let key = VerifyingKey::from_encoded_point(&point).map_err(|_| "JWK is not a valid P-256 key".to_string())?;
            let sig = Signature::from_slice(&parsed.signature).map_err(|_| bad())?;
            key.verify(&parsed.signing_input, &sig).map_err(|_| bad())
        }
        "EdDSA" => {
            use ed25519_dalek::{Signature, VerifyingKey};
            if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                return Err("OKP key is not Ed25519".into());
            }
            let x: [u8; 32] = member(jwk, "x")?.try_into().map_err(|_| "Ed25519 key is malformed".to_string())?;
            let key = VerifyingKey::from_bytes(&x).map_err(|_| "Ed25519 key is malformed".to_string())?;
            let sig = Signature::from_slice(&parsed.signature).map_err(|_| bad())?;
            key.verify_strict(&parsed.signing_input, &sig).map_err(|_| bad())
        }
        other => Err(format!("ID token algorithm {other:?} is not accepted")),
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
    let iss = str_claim("iss").ok_or("ID token has no iss")?;
    let expected_iss = match str_claim("tid") {
        Some(tid) if want.issuer.contains("{tenantid}") => want.issuer.replace("{tenantid}", tid),
        _ => want.issuer.to_string(),
    };
    if iss != expected_iss && Some(iss) != want.alternative_issuer {
        return Err(format!("ID token iss {iss:?} is not the provider's issuer"));
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err("ID token has no aud".into()),
    };
    if !aud.contains(&want.client_id) {
        return Err("ID token aud does not contain our client id".into());
    }
    match str_claim("azp") {
        Some(azp) if azp != want.client_id => return Err("ID token azp is not our client id".into()),
        None if aud.len() > 1 => return Err("ID token has several audiences and no azp".into()),
        _ => {}
    }
    let num = |name: &str| claims.get(name).and_then(Value::as_u64);
    let exp = num("exp").ok_or("ID token has no numeric exp")?;
    if exp + SKEW <= want.now {
        return Err("ID token has expired".into());
    }
    let iat = num("iat").ok_or("ID token has no numeric iat")?;
    if iat > want.now + SKEW {
        return Err("ID token iat is in the future".into());
    }
    if claims.contains_key("nbf") && num("nbf").is_none_or(|nbf| nbf > want.now + SKEW) {
        return Err("ID token is not valid yet".into());
    }
    if let Some(nonce) = want.nonce {
        if str_claim("nonce") != Some(nonce) {
            return Err("ID token nonce does not match the login's nonce".into());
        }
    }
    Ok(exp)
}
