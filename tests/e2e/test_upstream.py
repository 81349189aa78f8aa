"""Logins through a real upstream OpenID Connect provider (oauth2-mock-server,
started by the fixtures), end to end against the real host: full login,
ID-token validation, claim mapping, groups, the provider-neutral code
exchange, and every upstream failure (a clear Error body, never a 500, and
no user created)."""

import secrets
import time
from urllib.parse import urlencode

import jwt
import pytest
import requests

from conftest import CALLBACK, OIDC_CLIENT_ID, OIDC_SECRETS, UPSTREAM_TIMEOUT, oidc_host_config
from flows import authorize, bearer, login_tokens, pkce_pair, query, redeem
from hosts import SPIN
from spec import assert_error, assert_valid


def start_login(host, idp_id="mock"):
    """GET /oauth2/authorize for an upstream provider; returns (response, verifier)."""
    verifier, challenge = pkce_pair()
    return authorize(host, challenge, login_hint=None, idp=idp_id), verifier


def through_provider(host, provider, idp_id="mock"):
    """authorize → the provider's authorize endpoint (which sends the browser
    straight back) → our callback. Returns (callback response, verifier, callback URL)."""
    r, verifier = start_login(host, idp_id)
    assert r.status_code == 302, r.text
    upstream = r.headers["location"]
    assert upstream.startswith(provider.base + "/authorize?"), upstream
    r = requests.get(upstream, allow_redirects=False)
    assert r.status_code == 302, r.text
    callback = r.headers["location"]
    assert callback.startswith(host.url("/oauth2/callback?")), callback
    return requests.get(callback, allow_redirects=False), verifier, callback


def login(host, provider):
    """A successful upstream login; returns the token response body."""
    r, verifier, _ = through_provider(host, provider)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "?")
    q = query(location)
    assert q["state"] == "client-state-1"
    return assert_valid(redeem(host, q["code"], verifier), "/oauth2/token", "POST", 200)


def groups_seen(host, idp_id="mock"):
    """The groups the host has recorded for a provider (recorded when a user is
    found or created, so a marker group that is absent proves no user was)."""
    access = login_tokens(host, "groups-reader")["access_token"]
    r = requests.get(host.url(f"/oauth2/providers/{idp_id}/groups"), headers=bearer(access))
    body = assert_valid(r, "/oauth2/providers/{idp}/groups", "GET", 200)
    return {g["name"] for g in body["groups"]}


def marked_user():
    """Claims of a fresh user with a unique marker group."""
    marker = "marker-" + secrets.token_hex(6)
    return {"sub": "user-" + marker, "email": f"{marker}@mock.example", "groups": [marker]}, marker


def assert_upstream_refusal(host, r, marker, status=502, error="upstream_error"):
    body = assert_error(r, status, error)
    assert "upstream internals" not in r.text and "client-secret" not in r.text, r.text
    assert marker not in groups_seen(host), "a user was created despite the failure"
    return body


def test_oidc_login_end_to_end_maps_claims_and_groups(oidc_host, idp):
    idp.control(claims={"sub": "ann-1", "email": "ann@mock.example", "name": "Ann Mock", "groups": ["eng", "ops"]})
    tokens = login(oidc_host, idp)
    me = assert_valid(
        requests.get(oidc_host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"])),
        "/oauth2/userinfo", "GET", 200,
    )
    assert me["sub"] == "ann-1"
    assert me["email"] == "ann@mock.example"
    assert me["name"] == "Ann Mock"
    assert me["idp"] == "mock"
    assert me["groups"] == ["eng", "ops"]
    profile = assert_valid(
        requests.get(oidc_host.url("/users/me"), headers=bearer(tokens["access_token"])), "/users/me", "GET", 200
    )
    assert profile["provider"] == "mock" and profile["provider_id"] == "ann-1"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["idp"] == "mock" and claims["groups"] == ["eng", "ops"] and claims["email_verified"] is True
    assert {"eng", "ops"} <= groups_seen(oidc_host)


def test_authorize_sends_state_nonce_and_pkce_to_the_provider(oidc_host, idp):
    r, _ = start_login(oidc_host)
    assert r.status_code == 302, r.text
    q = query(r.headers["location"])
    assert q["client_id"] == OIDC_CLIENT_ID
    assert q["redirect_uri"] == oidc_host.url("/oauth2/callback")
    assert q["response_type"] == "code"
    assert q["scope"] == "openid email profile"
    assert q["state"] != "client-state-1" and len(q["state"]) >= 43
    assert len(q["nonce"]) >= 43
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43


def test_same_upstream_user_keeps_their_id(oidc_host, idp):
    idp.control(claims={"sub": "stable-upstream", "email": "stable@mock.example"})
    ids = set()
    for _ in range(2):
        tokens = login(oidc_host, idp)
        ids.add(requests.get(oidc_host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"])).json()["id"])
    assert len(ids) == 1


def test_providers_list_shows_enabled_upstream_providers_with_absolute_urls(oidc_host):
    body = assert_valid(requests.get(oidc_host.url("/oauth2/providers")), "/oauth2/providers", "GET", 200)
    by_id = {p["id"]: p for p in body["providers"]}
    mock = by_id["mock"]
    assert mock["name"] == "Mock OIDC" and mock["icon"] == "fa-solid fa-vial"
    assert mock["client_id"] == OIDC_CLIENT_ID
    assert mock["auth_url"] == oidc_host.url("/oauth2/authorize?idp=mock")
    assert mock["token_url"] == oidc_host.url("/oauth2/token?idp=mock")
    assert mock["redirect_uri"] == oidc_host.url("/oauth2/callback")
    assert "mock-disabled" not in by_id
    assert "test" in by_id


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param({"foreign_key": "same-kid"}, id="id_token_signed_by_key_not_in_jwks"),
        pytest.param({"foreign_key": "unknown-kid"}, id="id_token_with_unknown_kid"),
        pytest.param({"nonce": "wrong"}, id="wrong_nonce"),
        pytest.param({"omit_email": True}, id="missing_email"),
        pytest.param({"fail": {"path": "/token", "status": 500}}, id="token_endpoint_500"),
        pytest.param({"fail": {"path": "/token", "status": 401}}, id="token_endpoint_401"),
        pytest.param({"fail": {"path": "/token", "malformed": True}}, id="token_endpoint_malformed_json"),
        pytest.param({"fail": {"path": "/userinfo", "status": 503}}, id="userinfo_503"),
        pytest.param({"fail": {"path": "/userinfo", "malformed": True}}, id="userinfo_malformed_json"),
    ],
)
def test_upstream_failure_is_a_clear_error_and_creates_no_user(oidc_host, idp, mode):
    claims, marker = marked_user()
    idp.control(claims=claims, **mode)
    r, _, _ = through_provider(oidc_host, idp)
    assert_upstream_refusal(oidc_host, r, marker)


def test_replayed_nonce_from_an_earlier_login_is_refused(oidc_host, idp):
    login(oidc_host, idp)  # the provider remembers this login's nonce
    claims, marker = marked_user()
    idp.control(claims=claims, nonce="replay")
    r, _, _ = through_provider(oidc_host, idp)
    assert_upstream_refusal(oidc_host, r, marker)


def test_slow_provider_times_out(oidc_host, idp):
    claims, marker = marked_user()
    idp.control(claims=claims, fail={"path": "/token", "delay_ms": (UPSTREAM_TIMEOUT + 3) * 1000})
    started = time.monotonic()
    r, _, _ = through_provider(oidc_host, idp)
    elapsed = time.monotonic() - started
    assert_upstream_refusal(oidc_host, r, marker)
    assert elapsed < UPSTREAM_TIMEOUT + 2.5, elapsed


def test_replayed_callback_fails_on_state(oidc_host, idp):
    r, _, callback = through_provider(oidc_host, idp)
    assert r.status_code == 302
    assert_error(requests.get(callback, allow_redirects=False), 400, "invalid_request")


def test_provider_error_is_sent_to_the_client_callback(oidc_host, idp):
    r, _ = start_login(oidc_host)
    state = query(r.headers["location"])["state"]
    r = requests.get(oidc_host.url("/oauth2/callback?" + urlencode({"error": "access_denied", "state": state})), allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"].startswith(CALLBACK + "?")
    q = query(r.headers["location"])
    assert q == {"error": "access_denied", "state": "client-state-1"}


def provider_code(provider, nonce, challenge):
    """A code from the provider itself, as a client that talks to it directly gets one."""
    params = {
        "response_type": "code", "client_id": OIDC_CLIENT_ID, "redirect_uri": CALLBACK, "scope": "openid email",
        "state": "direct", "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256",
    }
    r = requests.get(provider.base + "/authorize?" + urlencode(params), allow_redirects=False)
    assert r.status_code == 302, r.text
    return query(r.headers["location"])["code"]


def direct_exchange(host, code, verifier):
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    return requests.post(host.url("/oauth2/token?idp=mock"), data=body)


def test_provider_code_exchanged_directly_yields_tokens(oidc_host, idp):
    idp.control(claims={"sub": "direct-1", "email": "direct@mock.example", "groups": ["direct"]})
    verifier, challenge = pkce_pair()
    r = direct_exchange(oidc_host, provider_code(idp, secrets.token_urlsafe(16), challenge), verifier)
    tokens = assert_valid(r, "/oauth2/token", "POST", 200)
    me = requests.get(oidc_host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"])).json()
    assert me["sub"] == "direct-1" and me["idp"] == "mock"
    r = requests.post(oidc_host.url("/oauth2/refresh"), json={"refresh_token": tokens["refresh_token"]})
    assert_valid(r, "/oauth2/refresh", "POST", 200)


def test_direct_exchange_with_a_replayed_nonce_is_refused(oidc_host, idp):
    nonce = secrets.token_urlsafe(16)
    verifier, challenge = pkce_pair()
    assert direct_exchange(oidc_host, provider_code(idp, nonce, challenge), verifier).status_code == 200
    claims, marker = marked_user()
    idp.control(claims=claims)
    verifier, challenge = pkce_pair()
    r = direct_exchange(oidc_host, provider_code(idp, nonce, challenge), verifier)
    assert_upstream_refusal(oidc_host, r, marker)


def test_direct_exchange_checks_the_id_token_signature(oidc_host, idp):
    claims, marker = marked_user()
    idp.control(claims=claims, foreign_key="same-kid")
    verifier, challenge = pkce_pair()
    r = direct_exchange(oidc_host, provider_code(idp, secrets.token_urlsafe(16), challenge), verifier)
    assert_upstream_refusal(oidc_host, r, marker)


def test_direct_exchange_of_an_unknown_code_is_invalid_grant(oidc_host, idp):
    verifier, _ = pkce_pair()
    r = direct_exchange(oidc_host, "no-such-code", verifier)
    assert r.status_code in (400, 502), r.text
    assert_error(r, r.status_code)


def test_unreachable_provider_is_502(oidc_host):
    r, _ = start_login(oidc_host, "mock-down")
    assert_error(r, 502, "upstream_error")


def test_host_refuses_outbound_calls_to_hosts_not_configured(oidc_host, idp):
    # Discovery on a host that is not in allowed_outbound_hosts: the login cannot start.
    r, _ = start_login(oidc_host, "mock-forbidden")
    assert_error(r, 502, "upstream_error")
    # The token endpoint on a host that is not allowed: the browser part
    # works, the code exchange is refused by the host, and no user exists.
    claims, marker = marked_user()
    idp.control(claims=claims)
    r, _, _ = through_provider(oidc_host, idp, "mock-denied-token")
    assert_upstream_refusal(oidc_host, r, marker)
    log = oidc_host.log.read_text()
    assert "outbound request denied" in log
    for secret in OIDC_SECRETS.values():
        assert secret not in log


def test_provider_without_its_client_secret_stops_the_host_at_startup(fresh_host, oidc_provider):
    config = oidc_host_config(oidc_provider.port, oidc_provider.port)
    h = fresh_host(config=config, env={})  # no TMI_SECRET_OAUTH_* at all
    # Our host names the environment variable; Spin names the missing variable of the manifest.
    with pytest.raises(RuntimeError, match="oauth_mock_client_secret" if SPIN else "TMI_SECRET_OAUTH_MOCK_CLIENT_SECRET"):
        h.start()
