"""The full test-provider login with PKCE against the real host, and what the tokens unlock."""

import jwt
import requests

from flows import authorize, bearer, login_code, login_tokens, pkce_pair, redeem
from spec import assert_valid


def test_full_login_with_pkce_gives_spec_valid_tokens(host):
    code, verifier = login_code(host, "mary-jane")
    r = redeem(host, code, verifier)
    tokens = assert_valid(r, "/oauth2/token", "POST", 200)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["refresh_token"]
    assert r.headers["cache-control"] == "no-store"


def test_form_encoded_token_request_works(host):
    code, verifier = login_code(host, "formuser")
    r = redeem(host, code, verifier, form=True)
    assert_valid(r, "/oauth2/token", "POST", 200)


def test_userinfo_describes_the_logged_in_user(host):
    tokens = login_tokens(host, "mary-jane")
    r = requests.get(host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"]))
    info = assert_valid(r, "/oauth2/userinfo", "GET", 200)
    assert info["sub"] == "mary-jane"
    assert info["email"] == "mary-jane@test.tmi"
    assert info["name"] == "Mary Jane (Test User)"
    assert info["idp"] == "test"
    assert info["providers"] == [{"provider": "test", "is_primary": True}]


def test_users_me_returns_user_with_admin_status(host):
    tokens = login_tokens(host, "bob")
    r = requests.get(host.url("/users/me"), headers=bearer(tokens["access_token"]))
    me = assert_valid(r, "/users/me", "GET", 200)
    assert me == {
        "principal_type": "user",
        "provider": "test",
        "provider_id": "bob",
        "display_name": "Bob (Test User)",
        "email": "bob@test.tmi",
        "is_admin": False,
    }


def test_user_id_is_stable_across_logins(host):
    ids = set()
    for _ in range(2):
        tokens = login_tokens(host, "stable-user")
        info = requests.get(host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"])).json()
        ids.add(info["id"])
    assert len(ids) == 1


def test_access_token_verifies_against_published_jwks(host):
    tokens = login_tokens(host, "carol")
    jwks = assert_valid(requests.get(host.url("/.well-known/jwks.json")), "/.well-known/jwks.json", "GET", 200)
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    public_key = jwt.PyJWK(key).key
    claims = jwt.decode(
        tokens["access_token"], public_key, algorithms=[key["alg"]], audience=host.base, issuer=host.base
    )
    assert claims["sub"] == "carol"
    assert claims["email"] == "carol@test.tmi"
    assert claims["idp"] == "test"
    for claim in ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "email_verified", "name", "groups", "tmi_is_administrator"]:
        assert claim in claims, claim
    assert claims["exp"] - claims["iat"] == 3600


def test_secret_keys_are_never_published(host):
    jwks = requests.get(host.url("/.well-known/jwks.json")).json()
    for key in jwks["keys"]:
        assert "d" not in key and "k" not in key and "p" not in key, key


def test_state_is_generated_when_absent(host):
    verifier, challenge = pkce_pair()
    r = authorize(host, challenge, state=None)
    assert r.status_code == 302
    r = requests.get(r.headers["location"], allow_redirects=False)
    assert r.status_code == 302
    from flows import query

    q = query(r.headers["location"])
    assert len(q["state"]) >= 32 and q["code"]
