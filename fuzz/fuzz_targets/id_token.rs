//! Covers upstream ID-token verification (`upstream::jwt::{parse, select_key, check_alg, verify_signature, check_claims}`: compact JWS, base64url, JSON, JWK parsing for RSA, EC and OKP keys) with arbitrary token text and an arbitrary JSON JWKS.
//!
//! Input: the token on the first line, the JWKS (JSON) after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tmi_auth_core::upstream::jwt::{self, Expected, KeyLookup};
use tmi_auth_fuzz::{ID_TOKEN_ALT_ISSUER, ID_TOKEN_CLIENT, ID_TOKEN_ISSUER, ID_TOKEN_NONCE, NOW};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (token, jwks) = text.split_once('\n').unwrap_or((text, ""));
    let jwks: Value = serde_json::from_str(jwks).unwrap_or(Value::Null);
    let Ok(parsed) = jwt::parse(token) else { return };
    let allowed: Vec<String> = ["RS256", "PS256", "ES256", "EdDSA"].map(String::from).to_vec();
    let alg_ok = jwt::check_alg(&parsed.alg, &allowed).is_ok();
    let _ = jwt::check_alg(&parsed.alg, &allowed[..1]);
    let mut verified = false;
    if let KeyLookup::Found(jwk) = jwt::select_key(&parsed, &jwks) {
        verified = jwt::verify_signature(&parsed, jwk).is_ok();
    }
    // Every key, whatever select_key thinks of it: the JWK parsers.
    if let Some(keys) = jwks.get("keys").and_then(Value::as_array) {
        for jwk in keys.iter().take(8) {
            let _ = jwt::verify_signature(&parsed, jwk);
        }
    }
    if verified {
        assert!(alg_ok, "a signature verified under a refused algorithm {:?}", parsed.alg);
    }
    for nonce in [Some(ID_TOKEN_NONCE), None] {
        let want = Expected {
            issuer: ID_TOKEN_ISSUER,
            alternative_issuer: Some(ID_TOKEN_ALT_ISSUER),
            client_id: ID_TOKEN_CLIENT,
            nonce,
            now: NOW,
        };
        if let Ok(exp) = jwt::check_claims(&parsed.claims, &want) {
            assert!(exp.saturating_add(jwt::SKEW) > NOW);
        }
    }
});
