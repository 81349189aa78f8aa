"""Each test is a real attempt that must fail with the contract's status and Error body."""

from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import CALLBACK
from flows import authorize, bearer, login_code, pkce_pair, query, redeem
from spec import assert_error


def test_plain_pkce_method_is_refused(host):
    _, challenge = pkce_pair()
    assert_error(authorize(host, challenge, code_challenge_method="plain"), 400, "invalid_request")


def test_missing_challenge_is_refused(host):
    assert_error(authorize(host, None), 400, "invalid_request")


def test_short_challenge_is_refused(host):
    assert_error(authorize(host, "tooshort"), 400, "invalid_request")


def test_scope_without_openid_is_refused(host):
    _, challenge = pkce_pair()
    assert_error(authorize(host, challenge, scope="profile email"), 400, "invalid_scope")


def test_client_callback_outside_allowlist_is_refused(host):
    _, challenge = pkce_pair()
    for evil in ["https://evil.example.net/cb", "http://localhost.evil.net/cb", "javascript://localhost/x"]:
        assert_error(authorize(host, challenge, client_callback=evil), 400, "invalid_request")


def test_wrong_verifier_is_refused(host):
    code, _ = login_code(host)
    other_verifier, _ = pkce_pair()
    assert_error(redeem(host, code, other_verifier), 400, "invalid_grant")


def test_redirect_uri_must_equal_the_flows_callback(host):
    code, verifier = login_code(host)
    assert_error(redeem(host, code, verifier, redirect_uri="http://localhost:4200/other"), 400, "invalid_grant")


def test_reused_code_is_refused_and_revokes_first_tokens(host):
    code, verifier = login_code(host, "reuser")
    first = redeem(host, code, verifier)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert requests.get(host.url("/oauth2/userinfo"), headers=bearer(access)).status_code == 200
    assert_error(redeem(host, code, verifier), 400, "invalid_grant")
    assert_error(requests.get(host.url("/oauth2/userinfo"), headers=bearer(access)), 401, "invalid_token")
    assert_error(requests.get(host.url("/users/me"), headers=bearer(access)), 401, "invalid_token")


def test_twenty_concurrent_redemptions_have_exactly_one_winner(host):
    code, verifier = login_code(host, "racer")
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: redeem(host, code, verifier), range(20)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    for r in responses:
        if r.status_code != 200:
            assert_error(r, 400, "invalid_grant")


def test_reused_state_is_refused(host):
    _, challenge = pkce_pair()
    upstream = authorize(host, challenge).headers["location"]
    assert requests.get(upstream, allow_redirects=False).status_code == 302
    assert_error(requests.get(upstream, allow_redirects=False), 400, "invalid_request")


def test_unknown_state_is_refused(host):
    r = requests.get(host.url("/oauth2/callback?code=test_abc&state=not-a-known-state"), allow_redirects=False)
    assert_error(r, 400, "invalid_request")


def test_client_state_is_not_a_valid_callback_state(host):
    # The client's own state never opens the flow: only ours, sent upstream.
    _, challenge = pkce_pair()
    authorize(host, challenge, state="guessable")
    r = requests.get(host.url("/oauth2/callback?code=test_abc&state=guessable"), allow_redirects=False)
    assert_error(r, 400, "invalid_request")


def test_malformed_json_body(host):
    r = requests.post(host.url("/oauth2/token"), data="{not json", headers={"content-type": "application/json"})
    assert_error(r, 400, "invalid_request")


def test_unknown_json_field(host):
    r = requests.post(host.url("/oauth2/token"), json={"grant_type": "authorization_code", "bogus": "x"})
    assert_error(r, 400, "invalid_request")


def test_malformed_form_body(host):
    r = requests.post(
        host.url("/oauth2/token"),
        data=b"grant_type=authorization_code&grant_type=authorization_code",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_error(r, 400, "invalid_request")


def test_invalid_utf8_form_body(host):
    r = requests.post(
        host.url("/oauth2/token"), data=b"grant_type=\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_error(r, 400, "invalid_request")


def test_wrong_content_type(host):
    r = requests.post(host.url("/oauth2/token"), data="grant_type=authorization_code", headers={"content-type": "text/plain"})
    assert_error(r, 400, "invalid_request")


def test_missing_content_type(host):
    r = requests.post(host.url("/oauth2/token"), data=b"grant_type=authorization_code", headers={"content-type": ""})
    assert r.status_code == 400


def test_oversized_body_is_refused(host):
    r = requests.post(host.url("/oauth2/token"), data=b"a" * 20_000, headers={"content-type": "application/json"})
    assert_error(r, 413)
    r = requests.post(host.url("/oauth2/token"), data=b"a" * 2_000_000, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_unknown_grant_type(host):
    assert_error(requests.post(host.url("/oauth2/token"), json={"grant_type": "password"}), 400, "unsupported_grant_type")


def test_missing_and_garbage_bearer_tokens(host):
    assert_error(requests.get(host.url("/oauth2/userinfo")), 401, "invalid_token")
    assert_error(requests.get(host.url("/users/me"), headers=bearer("not.a.jwt")), 401, "invalid_token")
    assert_error(requests.get(host.url("/users/me"), headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401)


def test_forged_alg_none_token_is_refused(host):
    import base64
    import json

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    kid = requests.get(host.url("/.well-known/jwks.json")).json()["keys"][0]["kid"]
    forged = f"{b64({'alg': 'none', 'kid': kid})}.{b64({'sub': 'admin', 'iss': host.base, 'aud': host.base, 'exp': 9999999999, 'nbf': 0, 'iat': 0, 'idp': 'test'})}."
    assert_error(requests.get(host.url("/oauth2/userinfo"), headers=bearer(forged)), 401, "invalid_token")


def test_no_5xx_for_garbage_queries(host):
    for path in [
        "/oauth2/authorize?%ff=1",
        "/oauth2/authorize?idp=" + "x" * 2000,
        "/oauth2/callback",
        "/oauth2/callback?state=" + "a" * 1000,
        "/oauth2/callback?code=x&state=a&state=b",
    ]:
        r = requests.get(host.url(path), allow_redirects=False)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert_error(r, r.status_code)


def test_callback_redirect_keeps_codes_out_of_fragments(host):
    _, challenge = pkce_pair()
    upstream = authorize(host, challenge).headers["location"]
    location = requests.get(upstream, allow_redirects=False).headers["location"]
    assert "#" not in location and "access_token" not in location
    assert location.startswith(CALLBACK)
    assert set(query(location)) == {"code", "state"}
