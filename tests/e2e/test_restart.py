"""Durability: the same data directory after a restart (graceful or kill -9)."""

import requests

from flows import bearer, login_code, login_tokens, redeem
from spec import assert_error


def test_tokens_and_used_codes_survive_a_restart(fresh_host):
    h = fresh_host().start()
    tokens = login_tokens(h, "durable")
    used_code, verifier = login_code(h, "durable")
    assert redeem(h, used_code, verifier).status_code == 200
    jwks_before = requests.get(h.url("/.well-known/jwks.json")).json()
    h.stop()

    h2 = fresh_host(port=h.port).start()
    assert requests.get(h2.url("/.well-known/jwks.json")).json() == jwks_before
    r = requests.get(h2.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"]))
    assert r.status_code == 200 and r.json()["sub"] == "durable"
    assert_error(redeem(h2, used_code, verifier), 400, "invalid_grant")


def test_state_survives_kill_9(fresh_host):
    h = fresh_host().start()
    tokens = login_tokens(h, "killed")
    code, verifier = login_code(h, "killed")
    h.stop(sig="KILL")

    h2 = fresh_host(port=h.port).start()
    assert requests.get(h2.url("/users/me"), headers=bearer(tokens["access_token"])).status_code == 200
    # The code issued before the crash is still redeemable exactly once.
    assert redeem(h2, code, verifier).status_code == 200
    assert_error(redeem(h2, code, verifier), 400, "invalid_grant")
