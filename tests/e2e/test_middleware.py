"""The auth middleware (components/middleware) composed with its example app
(`wac plug`, scripts/build.sh), served by a second host on the service's
store and keys: what the service issues, the middleware lets through with
the caller's identity in headers it sets itself; what the service revokes,
the middleware refuses at once; a client never gets its own identity
headers or its bearer token through to the app."""

import time

import pytest
import requests

from conftest import Host, RedisServer, share_store, shared_store_config
from flows import bearer, login_tokens
from hosts import WASM_DIR, host_only
from spec import assert_error

COMPOSED = WASM_DIR / "tmi_auth_middleware_composed.wasm"

pytestmark = host_only(
    "the composed middleware is served here by tmi-auth-host --component; under Spin the composition would be "
    "served by Spin itself, from a manifest of its own"
)

# What a client makes up to pass for someone else.
SPOOFED = {"X-TMI-User-Email": "evil@example.com", "x-tmi-user-sub": "evil", "x-tmi-user-admin": "true", "X-Tmi-Client-Id": "evil"}


class MiddlewareHost(Host):
    """A host serving the composed component. Without a token every path
    is refused, /healthz too: the host is up when that refusal comes."""

    ready_status = 401

    def command(self):
        return super().command() + ["--component", str(COMPOSED)]


def require_composed():
    if not COMPOSED.exists():
        pytest.fail(f"{COMPOSED} is missing: run scripts/build.sh, which builds and composes it")


@pytest.fixture(scope="module")
def hosts(redis_server, shared_secrets, tmp_path_factory):
    """(A: the service, B: the middleware and its app), one store, one set
    of keys, one base URL (A's: the tokens' issuer and audience)."""
    require_composed()
    base = tmp_path_factory.mktemp("middleware")
    a = share_store(Host(base / "service" / "data"), redis_server, shared_secrets).start()
    b = MiddlewareHost(base / "middleware" / "data", config=a.config, env=dict(shared_secrets))
    try:
        b.start()
    except Exception:
        a.stop()
        raise
    yield a, b
    b.stop()
    a.stop()


def echoed(response):
    """The headers the app received (lowercase names, every value)."""
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()["headers"]


def test_no_token_is_refused_by_the_middleware(hosts):
    _, b = hosts
    for headers in ({}, SPOOFED, {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, {"Authorization": "Bearer"}):
        r = requests.get(b.url("/anything?x=1"), headers=headers)
        body = assert_error(r, 401, "invalid_token")
        assert r.headers["www-authenticate"].startswith("Bearer"), r.headers
        assert r.headers["content-type"] == "application/json"
        assert "headers" not in body  # the middleware's answer, not the app's


def test_a_service_token_reaches_the_app_with_the_callers_identity(hosts):
    a, b = hosts
    access = login_tokens(a, "middleware-alice")["access_token"]
    info = requests.get(a.url("/oauth2/userinfo"), headers=bearer(access)).json()
    r = requests.post(b.url("/orders?page=2"), headers={**bearer(access), **SPOOFED, "X-Other": "kept"}, data=b"x" * 5000)
    seen = echoed(r)
    assert r.json()["method"] == "POST" and r.json()["path"] == "/orders?page=2" and r.json()["body_bytes"] == 5000
    assert seen["x-tmi-user-sub"] == [info["sub"]]
    assert seen["x-tmi-user-email"] == [info["email"]]
    assert seen["x-tmi-user-name"] == [info["name"]]
    assert seen["x-tmi-user-idp"] == [info["idp"]]
    assert seen["x-other"] == ["kept"]
    # The bearer credential and every made-up identity header stay behind.
    assert "authorization" not in seen
    assert "x-tmi-user-admin" not in seen and "x-tmi-client-id" not in seen
    assert all("evil" not in value for values in seen.values() for value in values), seen


def test_a_service_accounts_token_names_its_client(hosts):
    a, b = hosts
    access = login_tokens(a, "middleware-owner")["access_token"]
    cred = requests.post(a.url("/client-credentials"), json={"name": "edge-job"}, headers=bearer(access)).json()
    r = requests.post(
        a.url("/oauth2/token"),
        data={"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": cred["client_secret"]},
    )
    assert r.status_code == 200, r.text
    seen = echoed(requests.get(b.url("/jobs"), headers={**bearer(r.json()["access_token"]), **SPOOFED}))
    assert seen["x-tmi-client-id"] == [cred["client_id"]]
    assert "authorization" not in seen


def test_a_token_revoked_at_the_service_is_refused_at_once(hosts):
    a, b = hosts
    access = login_tokens(a, "middleware-bob")["access_token"]
    assert echoed(requests.get(b.url("/"), headers=bearer(access)))["x-tmi-user-sub"] == ["middleware-bob"]
    assert requests.post(a.url("/oauth2/revoke"), headers=bearer(access)).status_code == 200
    r = requests.get(b.url("/"), headers={**bearer(access), **SPOOFED})
    assert_error(r, 401, "invalid_token")
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_tampered_token_is_refused(hosts):
    a, b = hosts
    token = login_tokens(a, "middleware-carol")["access_token"]
    head, claims, signature = token.split(".")
    forged = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    for bad in (f"{head}.{claims}.{forged}", f"{head}.{claims}", "not-a-token"):
        r = requests.get(b.url("/"), headers={**bearer(bad), **SPOOFED})
        assert_error(r, 401, "invalid_token")
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_store_outage_is_503_from_the_middleware(tmp_path, shared_secrets):
    require_composed()
    redis = RedisServer(tmp_path / "redis").start()
    a = Host(tmp_path / "service" / "data", env=dict(shared_secrets))
    a.config = f'base_url = "{a.base}"\n' + shared_store_config(redis.url, "middleware-outage:")
    b = MiddlewareHost(tmp_path / "middleware" / "data", config=a.config, env=dict(shared_secrets))
    try:
        a.start()
        b.start()
        access = login_tokens(a, "middleware-outage")["access_token"]
        assert echoed(requests.get(b.url("/"), headers=bearer(access)))["x-tmi-user-sub"] == ["middleware-outage"]
        redis.stop()
        started = time.monotonic()
        r = requests.get(b.url("/"), headers=bearer(access), timeout=30)
        assert_error(r, 503, "temporarily_unavailable")
        assert int(r.headers["retry-after"]) > 0
        assert time.monotonic() - started < 5, "an outage must fail fast, not hang"
    finally:
        b.stop()
        a.stop()
        redis.stop()
