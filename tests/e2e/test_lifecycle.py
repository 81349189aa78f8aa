"""Token lifecycle against the real host: refresh, logout, introspection."""

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import RELAXED_LIMITS
from flows import bearer, login_tokens
from spec import assert_error, assert_valid


def refresh(host, token):
    return requests.post(host.url("/oauth2/refresh"), json={"refresh_token": token})


def introspect(host, token):
    r = requests.post(host.url("/oauth2/introspect"), data={"token": token})
    return assert_valid(r, "/oauth2/introspect", "POST", 200)


def test_refresh_rotates_tokens(host):
    first = login_tokens(host, "rotator")
    r = refresh(host, first["refresh_token"])
    second = assert_valid(r, "/oauth2/refresh", "POST", 200)
    assert second["refresh_token"] != first["refresh_token"]
    assert requests.get(host.url("/users/me"), headers=bearer(second["access_token"])).status_code == 200
    # The grant at /oauth2/token, form and JSON, continues the rotation.
    r = requests.post(host.url("/oauth2/token"), data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    third = assert_valid(r, "/oauth2/token", "POST", 200)
    r = requests.post(host.url("/oauth2/token"), json={"grant_type": "refresh_token", "refresh_token": third["refresh_token"]})
    assert_valid(r, "/oauth2/token", "POST", 200)


def test_reuse_of_a_rotated_refresh_token_revokes_the_family(host):
    first = login_tokens(host, "reuse-victim")
    second = refresh(host, first["refresh_token"]).json()
    assert introspect(host, second["access_token"])["active"] is True
    assert_error(refresh(host, first["refresh_token"]), 400, "invalid_grant")
    assert introspect(host, second["access_token"]) == {"active": False}
    assert introspect(host, first["access_token"]) == {"active": False}
    assert_error(refresh(host, second["refresh_token"]), 400, "invalid_grant")


def test_fifty_concurrent_refreshes_one_wins_then_family_revoked(host):
    tokens = login_tokens(host, "stampede")
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: refresh(host, tokens["refresh_token"]), range(50)))
    winners = [r for r in results if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in results]
    for r in results:
        if r.status_code != 200:
            assert_error(r, 400, "invalid_grant")
    assert introspect(host, winners[0].json()["access_token"]) == {"active": False}


def test_grace_window_allows_a_concurrent_refresh(fresh_host):
    h = fresh_host(config=RELAXED_LIMITS + 'refresh_grace_period = "30"\n').start()
    tokens = login_tokens(h, "graceful")
    a, b = refresh(h, tokens["refresh_token"]), refresh(h, tokens["refresh_token"])
    assert a.status_code == 200 and b.status_code == 200
    assert introspect(h, a.json()["access_token"])["active"] is True
    assert introspect(h, b.json()["access_token"])["active"] is True
    h.advance_clock(31)
    assert_error(refresh(h, tokens["refresh_token"]), 400, "invalid_grant")


def test_logout_with_bearer_token(host):
    tokens = login_tokens(host, "leaver")
    r = requests.post(host.url("/oauth2/revoke"), headers=bearer(tokens["access_token"]))
    body = assert_valid(r, "/oauth2/revoke", "POST", 200)
    assert body["message"]
    for path in ["/oauth2/userinfo", "/users/me", "/client-credentials"]:
        assert_error(requests.get(host.url(path), headers=bearer(tokens["access_token"])), 401, "invalid_token")
    assert introspect(host, tokens["access_token"]) == {"active": False}
    assert_error(refresh(host, tokens["refresh_token"]), 400, "invalid_grant")


def test_rfc7009_revocation_form_and_json(host):
    tokens = login_tokens(host, "rfc7009")
    r = requests.post(host.url("/oauth2/revoke"), data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"})
    assert r.status_code == 200
    assert introspect(host, tokens["access_token"]) == {"active": False}
    other = login_tokens(host, "rfc7009")
    r = requests.post(host.url("/oauth2/revoke"), json={"token": other["access_token"]})
    assert r.status_code == 200
    assert introspect(host, other["access_token"]) == {"active": False}
    # Unknown tokens are not an error (RFC 7009 §2.2).
    assert requests.post(host.url("/oauth2/revoke"), data={"token": "nonsense"}).status_code == 200


def test_introspection_of_valid_and_invalid_tokens(host):
    tokens = login_tokens(host, "inspected")
    info = introspect(host, tokens["access_token"])
    assert info["active"] is True and info["sub"] == "inspected" and info["iss"] == host.base
    assert introspect(host, "garbage") == {"active": False}
    assert introspect(host, tokens["access_token"] + "x") == {"active": False}


def test_introspection_of_a_token_signed_by_a_foreign_key(host):
    tokens = login_tokens(host, "forged")
    real = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    foreign = ec.generate_private_key(ec.SECP256R1())
    pem = foreign.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    forged = jwt.encode(real, pem, algorithm="ES256", headers={"kid": header["kid"]})
    assert introspect(host, forged) == {"active": False}
    assert_error(requests.get(host.url("/users/me"), headers=bearer(forged)), 401, "invalid_token")


def test_introspection_of_an_expired_token(fresh_host):
    h = fresh_host().start()
    tokens = login_tokens(h, "expiring")
    assert introspect(h, tokens["access_token"])["active"] is True
    h.advance_clock(3601)
    assert introspect(h, tokens["access_token"]) == {"active": False}


def test_introspection_requires_a_form_body(host):
    assert_error(requests.post(host.url("/oauth2/introspect"), json={"token": "x"}), 400, "invalid_request")
    assert_error(requests.post(host.url("/oauth2/introspect"), data={}), 400, "invalid_request")


def test_refresh_with_malformed_bodies(host):
    assert_error(requests.post(host.url("/oauth2/refresh"), data="{", headers={"content-type": "application/json"}), 400)
    assert_error(requests.post(host.url("/oauth2/refresh"), json={"refresh_token": "x", "extra": 1}), 400)
    assert_error(requests.post(host.url("/oauth2/refresh"), json={"refresh_token": "unknown"}), 400, "invalid_grant")
