"""Client credentials and machine access against the real host."""

import base64

import requests

from conftest import RELAXED_LIMITS
from flows import bearer, login_tokens
from spec import assert_error, assert_valid


def create(host, access, name="ci bot", **extra):
    return requests.post(host.url("/client-credentials"), headers=bearer(access), json={"name": name, **extra})


def grant(host, client_id, secret):
    return requests.post(
        host.url("/oauth2/token"), data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def test_full_cycle(host):
    access = login_tokens(host, "cc-owner")["access_token"]
    cred = assert_valid(create(host, access, description="nightly"), "/client-credentials", "POST", 201)
    assert cred["client_id"].startswith("tmi_cc_") and len(cred["client_id"]) == 29
    assert len(cred["client_secret"]) == 43

    listed = assert_valid(requests.get(host.url("/client-credentials"), headers=bearer(access)), "/client-credentials", "GET", 200)
    assert [c["id"] for c in listed] == [cred["id"]]
    assert "client_secret" not in listed[0] and cred["client_secret"] not in str(listed)

    token = assert_valid(grant(host, cred["client_id"], cred["client_secret"]), "/oauth2/token", "POST", 200)
    assert token["refresh_token"] == ""
    info = requests.post(host.url("/oauth2/introspect"), data={"token": token["access_token"]}).json()
    assert info["active"] is True and info["sub"] == f"sa:{cred['id']}:cc-owner"
    assert info["name"] == "[Service Account] ci bot"

    # Service-account tokens cannot manage credentials.
    assert_error(create(host, token["access_token"]), 403)
    assert_error(requests.get(host.url("/client-credentials"), headers=bearer(token["access_token"])), 403)

    r = requests.delete(host.url(f"/client-credentials/{cred['id']}"), headers=bearer(access))
    assert r.status_code == 204
    assert requests.post(host.url("/oauth2/introspect"), data={"token": token["access_token"]}).json() == {"active": False}
    assert_error(grant(host, cred["client_id"], cred["client_secret"]), 401, "invalid_client")
    assert requests.get(host.url("/client-credentials"), headers=bearer(access)).json() == []


def test_list_is_an_array_newest_first(host):
    access = login_tokens(host, "lister")["access_token"]
    assert requests.get(host.url("/client-credentials"), headers=bearer(access)).json() == []
    ids = [create(host, access, name=f"c{i}").json()["id"] for i in range(3)]
    listed = requests.get(host.url("/client-credentials"), headers=bearer(access)).json()
    assert {c["id"] for c in listed} == set(ids)
    created = [c["created_at"] for c in listed]
    assert created == sorted(created, reverse=True)


def test_quota_of_ten(host):
    access = login_tokens(host, "hoarder")["access_token"]
    for i in range(10):
        assert create(host, access, name=f"c{i}").status_code == 201
    assert_error(create(host, access, name="eleventh"), 403)


def test_only_the_owner_can_delete(host):
    alice = login_tokens(host, "cc-alice")["access_token"]
    mallory = login_tokens(host, "cc-mallory")["access_token"]
    cred = create(host, alice).json()
    assert_error(requests.delete(host.url(f"/client-credentials/{cred['id']}"), headers=bearer(mallory)), 404)
    assert requests.delete(host.url(f"/client-credentials/{cred['id']}"), headers=bearer(alice)).status_code == 204
    assert_error(requests.delete(host.url(f"/client-credentials/{cred['id']}"), headers=bearer(alice)), 404)
    assert_error(requests.delete(host.url("/client-credentials/not-a-uuid"), headers=bearer(alice)), 400)


def test_wrong_secret_and_unknown_client(host):
    access = login_tokens(host, "cc-wrong")["access_token"]
    cred = create(host, access).json()
    assert_error(grant(host, cred["client_id"], "x" * 43), 401, "invalid_client")
    assert_error(grant(host, "tmi_cc_doesnotexist00000000", "x" * 43), 401, "invalid_client")
    assert_error(requests.post(host.url("/oauth2/token"), data={"grant_type": "client_credentials"}), 401, "invalid_client")


def test_basic_authentication(host):
    access = login_tokens(host, "cc-basic")["access_token"]
    cred = create(host, access).json()
    r = requests.post(
        host.url("/oauth2/token"), data={"grant_type": "client_credentials"}, auth=(cred["client_id"], cred["client_secret"])
    )
    assert_valid(r, "/oauth2/token", "POST", 200)
    # Two authentication methods at once are refused.
    r = requests.post(
        host.url("/oauth2/token"),
        data={"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": cred["client_secret"]},
        auth=(cred["client_id"], cred["client_secret"]),
    )
    assert_error(r, 400, "invalid_request")


def test_lockout_grows_and_expires(fresh_host):
    h = fresh_host().start()
    access = login_tokens(h, "cc-locked")["access_token"]
    cred = create(h, access).json()
    for _ in range(5):
        assert_error(grant(h, cred["client_id"], "x" * 43), 401, "invalid_client")
    r = grant(h, cred["client_id"], cred["client_secret"])
    assert_error(r, 429)
    assert 1 <= int(r.headers["retry-after"]) <= 2  # at least a whole second
    h.advance_clock(2)
    for _ in range(5):
        assert_error(grant(h, cred["client_id"], "x" * 43), 401, "invalid_client")
    r = grant(h, cred["client_id"], cred["client_secret"])
    assert_error(r, 429)
    assert 30 <= int(r.headers["retry-after"]) <= 31
    h.advance_clock(31)
    assert grant(h, cred["client_id"], cred["client_secret"]).status_code == 200


def test_credentials_and_revocations_survive_restart(fresh_host):
    h = fresh_host().start()
    tokens = login_tokens(h, "cc-durable")
    cred = create(h, tokens["access_token"]).json()
    rotated = requests.post(h.url("/oauth2/refresh"), json={"refresh_token": tokens["refresh_token"]}).json()
    revoked = login_tokens(h, "cc-durable")
    requests.post(h.url("/oauth2/revoke"), headers=bearer(revoked["access_token"]))
    h.stop()

    h2 = fresh_host(port=h.port).start()
    assert grant(h2, cred["client_id"], cred["client_secret"]).status_code == 200
    assert requests.post(h2.url("/oauth2/refresh"), json={"refresh_token": rotated["refresh_token"]}).status_code == 200
    assert requests.post(h2.url("/oauth2/introspect"), data={"token": revoked["access_token"]}).json() == {"active": False}
    # Reuse detection still knows the rotated token.
    assert_error(requests.post(h2.url("/oauth2/refresh"), json={"refresh_token": tokens["refresh_token"]}), 400, "invalid_grant")


def test_provider_groups(host):
    access = login_tokens(host, "grouper")["access_token"]
    r = requests.get(host.url("/oauth2/providers/test/groups"), headers=bearer(access))
    body = assert_valid(r, "/oauth2/providers/{idp}/groups", "GET", 200)
    assert body["idp"] == "test" and isinstance(body["groups"], list)
    assert_error(requests.get(host.url("/oauth2/providers/unknown/groups"), headers=bearer(access)), 404)
    assert_error(requests.get(host.url("/oauth2/providers/test/groups")), 401)


def test_rate_limit_hits_and_resets(fresh_host):
    h = fresh_host(config='rate_limit_ip = "3/60"\n').start()
    statuses = []
    for _ in range(4):
        r = requests.post(h.url("/oauth2/introspect"), data={"token": "x"})
        statuses.append(r.status_code)
    assert statuses == [200, 200, 200, 429]
    assert r.headers["x-ratelimit-limit"] == "3"
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert int(r.headers["x-ratelimit-reset"]) > 0
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert_error(r, 429, "rate_limit_exceeded")
    h.advance_clock(61)
    assert requests.post(h.url("/oauth2/introspect"), data={"token": "x"}).status_code == 200
