"""Several hosts on one Redis: one truth about codes, refresh tokens,
logouts, credentials, rate limits and lockouts, whichever host a request
reaches."""

import itertools
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import CALLBACK
from flows import bearer, login_code, login_tokens, redeem
from spec import assert_error, assert_valid


def alternate(a, b):
    return itertools.cycle([a, b])


def test_a_code_redeemed_on_one_host_is_refused_on_the_other(host_pair):
    a, b = host_pair()
    code, verifier = login_code(a, "shared-code")
    assert redeem(a, code, verifier).status_code == 200
    assert_error(redeem(b, code, verifier), 400, "invalid_grant")


def test_fifty_concurrent_redemptions_over_two_hosts_have_one_winner(host_pair):
    a, b = host_pair()
    code, verifier = login_code(a, "racer")
    targets = list(itertools.islice(alternate(a, b), 50))
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda h: redeem(h, code, verifier).status_code, targets))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 400}, statuses


def test_fifty_concurrent_refreshes_over_two_hosts_have_one_winner_and_reuse_ends_the_session(host_pair):
    a, b = host_pair()
    token = login_tokens(a, "refresher")["refresh_token"]
    targets = list(itertools.islice(alternate(a, b), 50))
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda h: requests.post(h.url("/oauth2/refresh"), json={"refresh_token": token}), targets))
    winners = [r for r in answers if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in answers]
    assert all(r.status_code == 400 for r in answers if r.status_code != 200)
    # The losers presented a rotated token: reuse, so the winner's new tokens are dead too.
    new = winners[0].json()
    assert_error(requests.post(b.url("/oauth2/refresh"), json={"refresh_token": new["refresh_token"]}), 400, "invalid_grant")
    assert_error(requests.get(a.url("/oauth2/userinfo"), headers=bearer(new["access_token"])), 401, "invalid_token")


def test_a_logout_on_one_host_is_known_on_the_other_at_once(host_pair):
    a, b = host_pair()
    tokens = login_tokens(a, "leaver")
    assert requests.get(b.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"])).status_code == 200
    assert requests.post(a.url("/oauth2/revoke"), headers=bearer(tokens["access_token"])).status_code == 200
    assert_error(requests.get(b.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"])), 401, "invalid_token")
    assert_error(requests.post(b.url("/oauth2/refresh"), json={"refresh_token": tokens["refresh_token"]}), 400, "invalid_grant")


def test_a_credential_created_on_one_host_works_on_the_other(host_pair):
    a, b = host_pair()
    access = login_tokens(a, "machinist")["access_token"]
    created = assert_valid(requests.post(a.url("/client-credentials"), json={"name": "bot"}, headers=bearer(access)), "/client-credentials", "post", 201)
    grant = {"grant_type": "client_credentials", "client_id": created["client_id"], "client_secret": created["client_secret"]}
    service = assert_valid(requests.post(b.url("/oauth2/token"), data=grant), "/oauth2/token", "post", 200)
    assert requests.get(a.url("/oauth2/userinfo"), headers=bearer(service["access_token"])).status_code == 200
    listed = requests.get(b.url("/client-credentials"), headers=bearer(access)).json()
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    # Deleted on B: its tokens stop on A.
    assert requests.delete(b.url(f"/client-credentials/{created['id']}"), headers=bearer(access)).status_code == 204
    assert_error(requests.get(a.url("/oauth2/userinfo"), headers=bearer(service["access_token"])), 401, "invalid_token")


def test_rate_limits_and_lockouts_count_across_hosts(host_pair):
    a, b = host_pair(limits='rate_limit_ip = "10/60"\nrate_limit_session = "1000/60"\nrate_limit_user = "1000/3600"\n')
    statuses = [requests.get(h.url("/oauth2/authorize")).status_code for h in itertools.islice(alternate(a, b), 12)]
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429], statuses

    c, d = host_pair()
    access = login_tokens(c, "lockme")["access_token"]
    created = requests.post(c.url("/client-credentials"), json={"name": "locked"}, headers=bearer(access)).json()
    wrong = {"grant_type": "client_credentials", "client_id": created["client_id"], "client_secret": "x" * 43}
    for h in itertools.islice(alternate(c, d), 5):
        assert_error(requests.post(h.url("/oauth2/token"), data=wrong), 401, "invalid_client")
    # The fifth failure (across both hosts) locked the client out, on both.
    right = dict(wrong, client_secret=created["client_secret"])
    for h in (c, d):
        r = requests.post(h.url("/oauth2/token"), data=right)
        assert_error(r, 429, "rate_limit_exceeded")
        assert int(r.headers["retry-after"]) >= 1
