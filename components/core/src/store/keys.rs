//! Every key family of the store, in one place.
//!
//! Bearer secrets (codes, refresh tokens) and client-chosen text (user ids,
//! client ids, assertion IDs) are stored under their SHA-256, so keys stay
//! short and a store dump yields nothing redeemable. Counters carry their
//! expiry in the key: `family@<expires_at>:…`.

use crate::encoding::sha256_b64url;

/// How long a creation lease lasts (see [`super::update`]).
const LEASE_SECS: u64 = 10;
/// Claims are kept until the end of the hour after they could last be
/// replayed: one key per (thing, hour), so a replay always finds it.
const CLAIM_BUCKET_SECS: u64 = 3600;

/// The key `GET /healthz` reads to see that the store answers.
pub const HEALTH: &str = "healthz";

/// A login flow, by our own random state.
pub fn flow(state: &str) -> String {
    format!("flow:{state}")
}

/// A TMI authorization code.
pub fn code(code: &str) -> String {
    format!("code:{}", sha256_b64url(code))
}

/// A login session.
pub fn session(sid: &str) -> String {
    format!("session:{sid}")
}

/// The mark of an ended session.
pub fn revoked_session(sid: &str) -> String {
    format!("revoked-session:{sid}")
}

/// A refresh token.
pub fn refresh(token: &str) -> String {
    format!("refresh:{}", sha256_b64url(token))
}

/// The mark of a revoked access token.
pub fn revoked_jti(jti: &str) -> String {
    format!("revoked-jti:{jti}")
}

/// A user, by provider and the provider's user id.
pub fn user(idp: &str, provider_user_id: &str) -> String {
    format!("user:{idp}:{}", sha256_b64url(provider_user_id))
}

/// The groups seen from a provider.
pub fn groups(idp: &str) -> String {
    format!("groups:{idp}")
}

/// A machine credential, by client id.
pub fn credential(client_id: &str) -> String {
    format!("cc:{client_id}")
}

/// The client ids of a user's machine credentials.
pub fn credential_owner(idp: &str, provider_user_id: &str) -> String {
    format!("cc-owner:{idp}:{}", sha256_b64url(provider_user_id))
}

/// The failed authentications of a client id (a counter, deleted on success).
pub fn credential_failures(client_id: &str) -> String {
    format!("cc-failures:{}", sha256_b64url(client_id))
}

/// A client id's lockout.
pub fn credential_lock(client_id: &str) -> String {
    format!("cc-lock:{}", sha256_b64url(client_id))
}

/// A rate-limit window counter of `scope`/`id`, ending at `reset`.
pub fn rate_limit(scope: &str, id: &str, reset: u64) -> String {
    format!("rl@{reset}:{scope}:{}", sha256_b64url(id))
}

/// A cached upstream document (`discovery`, `jwks`) by URL.
pub fn upstream_document(kind: &str, url: &str) -> String {
    format!("upstream:{kind}:{}", sha256_b64url(url))
}

/// The claim of an upstream ID token's nonce, usable until `until`.
pub fn nonce_claim(idp: &str, nonce: &str, until: u64) -> String {
    format!("claim@{}:nonce:{idp}:{}", claim_bucket(until), sha256_b64url(nonce))
}

/// A pending SAML AuthnRequest, by our RelayState.
pub fn saml_request(relay_state: &str) -> String {
    format!("saml-request:{relay_state}")
}

/// The index from an AuthnRequest ID to its RelayState.
pub fn saml_request_id(request_id: &str) -> String {
    format!("saml-request-id:{request_id}")
}

/// The replay claim of a SAML assertion, replayable until `until`.
pub fn assertion_claim(provider: &str, assertion_id: &str, until: u64) -> String {
    format!("claim@{}:saml-assertion:{provider}:{}", claim_bucket(until), sha256_b64url(assertion_id))
}

/// The sessions a SAML NameID opened at a provider (for single logout).
pub fn saml_sessions(provider: &str, name_id: &str) -> String {
    format!("saml-sessions:{provider}:{}", sha256_b64url(name_id))
}

/// The replay claim of a LogoutRequest, fresh until `until`.
pub fn logout_claim(issuer: &str, request_id: &str, until: u64) -> String {
    format!("claim@{}:saml-logout:{}", claim_bucket(until), sha256_b64url(&format!("{issuer}\n{request_id}")))
}

/// The 10-second bucket of wall-clock time `now` is in, for [`cas_lease`].
pub fn lease_bucket(now: u64) -> u64 {
    now / LEASE_SECS
}

/// The counter of the compare-and-swap lease on `key` in `bucket` (see
/// `store::lease`); it stops mattering two buckets later, then expires.
pub fn cas_lease(key: &str, bucket: u64) -> String {
    format!("lease@{}:{}", (bucket + 3) * LEASE_SECS, sha256_b64url(key))
}

fn claim_bucket(until: u64) -> u64 {
    (until / CLAIM_BUCKET_SECS).saturating_add(1).saturating_mul(CLAIM_BUCKET_SECS)
}

/// The family of a key (`user`, `rl`, …), for messages that must not
/// show the rest of it.
pub fn family(key: &str) -> &str {
    key.split([':', '@']).next().unwrap_or("")
}

/// A counter key's expiry (`family@<expires_at>:…`).
pub fn counter_expiry(key: &str) -> Option<u64> {
    let head = key.split(':').next()?;
    head.split_once('@')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_carry_their_expiry() {
        assert_eq!(counter_expiry(&rate_limit("ip", "1.2.3.4", 1_800_000_060)), Some(1_800_000_060));
        assert_eq!(counter_expiry(&assertion_claim("corp", "_a1", 1_800_000_001)), Some(1_800_003_600));
        assert_eq!(counter_expiry(&cas_lease("user:x", lease_bucket(1_800_000_003))), Some(1_800_000_030));
        assert_eq!(counter_expiry(&credential_failures("tmi_cc_x")), None);
        assert_eq!(counter_expiry(&user("test", "alice@x")), None);
    }

    #[test]
    fn a_replay_within_the_hour_finds_the_same_claim() {
        assert_eq!(nonce_claim("p", "n", 1_800_000_100), nonce_claim("p", "n", 1_800_000_100));
        assert_ne!(nonce_claim("p", "n", 1_800_000_100), nonce_claim("q", "n", 1_800_000_100));
        assert!(claim_bucket(1_800_000_100) >= 1_800_000_100);
    }

    #[test]
    fn families_hide_the_rest() {
        assert_eq!(family(&user("test", "alice")), "user");
        assert_eq!(family(&rate_limit("ip", "x", 5)), "rl");
    }
}
