"""The `tmi:auth` library component embedded in Python (tests/embed/library.py:
wasmtime-py's component API, imports supplied from Python: an in-memory
store, the configuration, a keyring verifying with the service's JWKS
through `cryptography`). The same checks as the JavaScript embedding's
(test_library_js.py): it needs only HTTP and the JWKS, so it runs under
Spin too. Records come back with their WIT field names (`session-id`)."""

import json
import subprocess
import sys

import pytest
import requests

from flows import bearer, login_tokens
from spec import REPO
from test_library_js import CHALLENGE, VERIFIER, b64url_decode, b64url_json, resigned

PROGRAM = REPO / "tests" / "embed" / "library.py"
LIBRARY = REPO / "target" / "wasm32-wasip2" / "release" / "tmi_auth_library.wasm"

@pytest.fixture(scope="module")
def service(host):
    """The service's issuer and JWKS address, as a client discovers them."""
    if not LIBRARY.exists():
        pytest.fail(f"{LIBRARY} is missing: scripts/test.sh builds it")
    try:
        import wasmtime.component  # noqa: F401
    except ImportError:
        pytest.fail("wasmtime is not installed: run scripts/test.sh (pip install -r tests/requirements.txt)")
    discovery = requests.get(host.url("/.well-known/openid-configuration"), timeout=10).json()
    assert discovery["issuer"] == host.base
    return discovery


def py(service, *calls, base_url=None, jwks=None):
    """Make `calls` ([interface.function, *args]) through the Python
    embedding (a process of its own), configured as the service is (or for
    another base URL, or with the keys of another JWKS file)."""
    settings = {"base_url": base_url or service["issuer"], "dev_mode": "true"}
    out = subprocess.run(
        [sys.executable, str(PROGRAM), "--config", json.dumps(settings), "--jwks", str(jwks or service["jwks_uri"]), "--component", str(LIBRARY)],
        input=json.dumps(calls), capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    answers = json.loads(out.stdout)
    assert len(answers) == len(calls)
    return answers


def test_pkce_pairs_check(service):
    assert py(
        service,
        ["pkce.challenge", VERIFIER],
        ["pkce.verify", VERIFIER, CHALLENGE],
        ["pkce.verify", VERIFIER[:-1] + "Y", CHALLENGE],
        ["pkce.challenge", "too-short"],
        ["pkce.verify", VERIFIER, "not a challenge"],
    ) == [{"ok": CHALLENGE}, {"ok": True}, {"ok": False}, {"error": "malformed-verifier"}, {"error": "malformed-challenge"}]


def test_a_service_token_verifies_to_the_claims_userinfo_gives(host, service):
    token = login_tokens(host, "py-alice")["access_token"]
    userinfo = requests.get(host.url("/oauth2/userinfo"), headers=bearer(token), timeout=10).json()
    verified, introspected, revoked, refused, inactive = py(
        service,
        ["tokens.verify", token],
        ["tokens.introspect", token],
        # The embedding's own (in-memory) store: what it revokes, it refuses.
        ["tokens.revoke", token],
        ["tokens.verify", token],
        ["tokens.introspect", token],
    )
    claims = verified["ok"]
    for field in ("sub", "email", "name", "idp"):
        assert claims[field] == userinfo[field], field
    # userinfo names no issuer: discovery does.
    assert claims["iss"] == claims["aud"] == service["issuer"]
    assert claims["session-id"] and claims["expires-at"] > claims["issued-at"]
    assert introspected["ok"]["active"] is True and introspected["ok"]["sub"] == userinfo["sub"]
    assert revoked == {"ok": None}
    assert refused == {"error": {"tag": "invalid", "val": "revoked"}}
    assert inactive["ok"]["active"] is False and inactive["ok"]["sub"] is None


def test_a_tampered_token_is_refused_with_the_rule(host, service):
    token = login_tokens(host, "py-bob")["access_token"]
    head, body, signature = token.split(".")
    forged = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    kid = json.loads(b64url_decode(head))["kid"]
    # Algorithm confusion: HS256 "signed" with the public key's id, and none.
    hs256 = f"{b64url_json({'alg': 'HS256', 'kid': kid})}.{body}.{signature}"
    unsigned = f"{b64url_json({'alg': 'none', 'kid': kid})}.{body}."
    assert py(
        service,
        ["tokens.verify", f"{head}.{body}.{forged}"],
        ["tokens.verify", hs256],
        ["tokens.verify", unsigned],
        ["tokens.verify", "a.b"],
    ) == [
        {"error": {"tag": "invalid", "val": "bad-signature"}},
        {"error": {"tag": "invalid", "val": "bad-signature"}},
        {"error": {"tag": "invalid", "val": "unsupported-algorithm"}},
        {"error": {"tag": "invalid", "val": "malformed"}},
    ]


def test_a_token_for_another_service_is_refused(host, service):
    token = login_tokens(host, "py-carol")["access_token"]
    assert py(service, ["tokens.verify", token], base_url="https://other.example.com") == [
        {"error": {"tag": "invalid", "val": "wrong-audience"}}
    ]


def test_every_published_algorithm_verifies(host, service, tmp_path):
    claims, jwks, tokens = resigned(login_tokens(host, "py-dave")["access_token"], tmp_path)
    answers = py(service, *[["tokens.verify", t] for t in tokens.values()], jwks=jwks)
    for alg, answer in zip(tokens, answers):
        if alg.startswith("wrong"):
            assert answer == {"error": {"tag": "invalid", "val": "bad-signature"}}, alg
        else:
            assert answer["ok"]["jti"] == claims["jti"], alg
