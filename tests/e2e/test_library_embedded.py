"""The `tmi:auth` library component embedded in JavaScript and in Python
(tests/embed/: transpiled by jco and run by Node, or instantiated by
wasmtime-py; the imports supplied by the embedding: an in-memory store, the
configuration, a keyring verifying with the service's JWKS). What the
running service issues, the library accepts with the same claims; tampered
or foreign tokens are refused with the service's rules; PKCE pairs check
as RFC 7636 says. It needs only HTTP and the JWKS, so it runs under Spin too."""

import base64
import json
import shutil
import subprocess
import sys

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from flows import bearer, login_tokens
from spec import REPO

LIBRARY = REPO / "target" / "wasm32-wasip2" / "release" / "tmi_auth_library.wasm"
NODE = shutil.which("node")
# Each embedding: the program that runs calls through it.
EMBEDDINGS = {
    "javascript": [NODE, str(REPO / "tests" / "embed" / "library.mjs")],
    "python": [sys.executable, str(REPO / "tests" / "embed" / "library.py")],
}

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636, appendix B


@pytest.fixture(scope="module")
def service(host):
    """The service's issuer and JWKS address, as a client discovers them."""
    if not LIBRARY.exists():
        pytest.fail(f"{LIBRARY} is missing: scripts/test.sh builds it")
    discovery = requests.get(host.url("/.well-known/openid-configuration"), timeout=10).json()
    assert discovery["issuer"] == host.base
    return discovery


@pytest.fixture(params=sorted(EMBEDDINGS))
def embedded(request, service):
    """`embedded(*calls, base_url=None, jwks=None)`: make `calls`
    ([interface.function, *args]) through one embedding (a process of its
    own), configured as the service is (or for another base URL, or with the
    keys of another JWKS file); the answers, {"ok": …} or {"error": …}."""
    language = request.param
    if language == "javascript":
        if NODE is None:
            pytest.skip("node is not installed (the JS embedding runs under Node)")
        if not (REPO / "tests" / "node_modules" / "@bytecodealliance" / "jco").exists():
            pytest.fail("tests/node_modules has no jco: run scripts/test.sh (npm ci --prefix tests)")

    def call(*calls, base_url=None, jwks=None):
        settings = {"base_url": base_url or service["issuer"], "dev_mode": "true"}
        out = subprocess.run(
            EMBEDDINGS[language] + ["--config", json.dumps(settings), "--jwks", str(jwks or service["jwks_uri"]), "--component", str(LIBRARY)],
            input=json.dumps(calls), capture_output=True, text=True, timeout=120, cwd=REPO,
        )
        assert out.returncode == 0, out.stderr
        answers = json.loads(out.stdout)
        assert len(answers) == len(calls)
        return answers

    return call


def field(record, name):
    """A record's field by its WIT name (wasmtime-py keeps it; jco camel-cases it)."""
    camel = name.split("-")[0] + "".join(part.title() for part in name.split("-")[1:])
    return record[name] if name in record else record[camel]


def test_pkce_pairs_check(embedded):
    assert embedded(
        ["pkce.challenge", VERIFIER],
        ["pkce.verify", VERIFIER, CHALLENGE],
        ["pkce.verify", VERIFIER[:-1] + "Y", CHALLENGE],
        ["pkce.challenge", "too-short"],
        ["pkce.verify", VERIFIER, "not a challenge"],
    ) == [{"ok": CHALLENGE}, {"ok": True}, {"ok": False}, {"error": "malformed-verifier"}, {"error": "malformed-challenge"}]


def test_a_service_token_verifies_to_the_claims_userinfo_gives(host, service, embedded):
    token = login_tokens(host, "embedded-alice")["access_token"]
    userinfo = requests.get(host.url("/oauth2/userinfo"), headers=bearer(token), timeout=10).json()
    verified, introspected, revoked, refused, inactive = embedded(
        ["tokens.verify", token],
        ["tokens.introspect", token],
        # The embedding's own (in-memory) store: what it revokes, it refuses.
        ["tokens.revoke", token],
        ["tokens.verify", token],
        ["tokens.introspect", token],
    )
    claims = verified["ok"]
    for name in ("sub", "email", "name", "idp"):
        assert claims[name] == userinfo[name], name
    # userinfo names no issuer: discovery does.
    assert claims["iss"] == claims["aud"] == service["issuer"]
    assert field(claims, "session-id") and field(claims, "expires-at") > field(claims, "issued-at")
    assert introspected["ok"]["active"] is True and introspected["ok"]["sub"] == userinfo["sub"]
    assert revoked == {"ok": None}
    assert refused == {"error": {"tag": "invalid", "val": "revoked"}}
    assert inactive["ok"]["active"] is False and inactive["ok"].get("sub") is None


def test_a_tampered_token_is_refused_with_the_rule(host, embedded):
    token = login_tokens(host, "embedded-bob")["access_token"]
    head, body, signature = token.split(".")
    forged = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    kid = json.loads(b64url_decode(head))["kid"]
    # Algorithm confusion: HS256 "signed" with the public key's id, and none.
    hs256 = f"{b64url_json({'alg': 'HS256', 'kid': kid})}.{body}.{signature}"
    unsigned = f"{b64url_json({'alg': 'none', 'kid': kid})}.{body}."
    assert embedded(
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


def test_a_token_for_another_service_is_refused(host, embedded):
    token = login_tokens(host, "embedded-carol")["access_token"]
    assert embedded(["tokens.verify", token], base_url="https://other.example.com") == [
        {"error": {"tag": "invalid", "val": "wrong-audience"}}
    ]


def test_every_published_algorithm_verifies(host, embedded, tmp_path):
    claims, jwks, tokens = resigned(login_tokens(host, "embedded-dave")["access_token"], tmp_path)
    answers = embedded(*[["tokens.verify", t] for t in tokens.values()], jwks=jwks)
    for alg, answer in zip(tokens, answers):
        if alg.startswith("wrong"):
            assert answer == {"error": {"tag": "invalid", "val": "bad-signature"}}, alg
        else:
            assert answer["ok"]["jti"] == claims["jti"], alg


# --- Tokens of our own ---


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url_json(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def resigned(token, tmp_path):
    """The service token's claims signed with keys of our own, one per
    algorithm the keyring verifies (EdDSA, ES256, RS256), and their JWKS in
    a file; plus tokens whose `alg` is not their key's. Returns (claims,
    JWKS path, {name: token})."""
    claims = json.loads(b64url_decode(token.split(".")[1]))
    keys = {"EdDSA": ed25519.Ed25519PrivateKey.generate(), "ES256": ec.generate_private_key(ec.SECP256R1()), "RS256": rsa.generate_private_key(65537, 2048)}
    algorithms = jwt.algorithms.get_default_algorithms()
    jwks, tokens = {"keys": []}, {}
    for alg, key in keys.items():
        jwk = json.loads(algorithms[alg].to_jwk(key.public_key()))
        jwks["keys"].append({**jwk, "kid": f"own-{alg}", "alg": alg, "use": "sig"})
        tokens[alg] = jwt.encode(claims, key, algorithm=alg, headers={"kid": f"own-{alg}"})
    # An RS256 signature presented as the ES256 key's, and the EdDSA key's id under ES256.
    tokens["wrong-kid"] = jwt.encode(claims, keys["RS256"], algorithm="RS256", headers={"kid": "own-ES256"})
    tokens["wrong-alg"] = jwt.encode(claims, keys["ES256"], algorithm="ES256", headers={"kid": "own-EdDSA"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    return claims, path, tokens
