"""The `tmi:auth` library component embedded in Rust (host/examples/library.rs,
through `tmi_auth_host::library`), sharing one Redis with a running host:
what the service issues, the library accepts; what the service revokes,
the library refuses at once (and the other way round); tampered tokens,
PKCE pairs and SAML Responses get the service's answers, typed."""

import json
import subprocess

import pytest
import requests

from conftest import RELAXED_LIMITS, Host, share_store
from flows import bearer, login_tokens
from hosts import SPIN, host_only
from saml_flows import Provider, SamlWorld, person, unique
from saml_idp import EVIL_NAME_ID, Idp, b64, key_and_cert, xsw
from spec import REPO

EXAMPLE = REPO / "target" / "release" / "examples" / "library"
LIBRARY = REPO / "target" / "wasm32-wasip2" / "release" / "tmi_auth_library.wasm"

pytestmark = host_only("the library embedding links our host's capabilities (a Spin app embeds the component through its own runtime)")


def call(host, *args):
    """One call through the Rust embedding, with the host's configuration,
    secrets and development mode."""
    config = host.data_dir.parent / "library.toml"
    config.write_text(host.config)
    env = {"PATH": "/usr/bin:/bin", "RUST_LOG": "warn", **{k: v for k, v in host.env.items() if k.startswith("TMI_SECRET_")}}
    out = subprocess.run(
        [str(EXAMPLE), "--dev", "--config", str(config), "--data-dir", str(host.data_dir.parent / "library-data"), "--component", str(LIBRARY), *args],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def shared(tmp_path, redis_server, shared_secrets):
    if not EXAMPLE.exists():
        pytest.fail(f"{EXAMPLE} is missing: scripts/test.sh builds it (cargo build --release -p tmi-auth-host --example library)")
    h = share_store(Host(tmp_path / "host" / "data"), redis_server, shared_secrets).start()
    yield h
    h.stop()


def test_a_service_token_verifies_and_introspects_as_the_service_says(shared):
    tokens = login_tokens(shared, "library-alice")
    claims = call(shared, "verify", tokens["access_token"])["ok"]
    assert claims["iss"] == shared.base and claims["idp"] == "test" and claims["sid"]
    service = requests.post(shared.url("/oauth2/introspect"), data={"token": tokens["access_token"]}).json()
    library = call(shared, "introspect", tokens["access_token"])["ok"]
    assert service["active"] is library["active"] is True
    for field in ("sub", "email", "email_verified", "name", "iss", "iat", "exp"):
        assert library[field] == service[field], field
    # A refresh token too, and an unknown token alike.
    for token in (tokens["refresh_token"], "not-a-token"):
        service = requests.post(shared.url("/oauth2/introspect"), data={"token": token}).json()
        assert call(shared, "introspect", token)["ok"]["active"] is service["active"], token


def test_what_one_side_revokes_the_other_refuses_at_once(shared):
    first = login_tokens(shared, "library-bob")
    assert requests.post(shared.url("/oauth2/revoke"), headers=bearer(first["access_token"])).status_code == 200
    assert call(shared, "verify", first["access_token"]) == {"refused": "TokenError::Invalid(TokenRule::Revoked)"}
    assert call(shared, "introspect", first["access_token"])["ok"]["active"] is False

    second = login_tokens(shared, "library-carol")
    assert call(shared, "revoke", second["refresh_token"]) == {"ok": True}
    assert requests.get(shared.url("/oauth2/userinfo"), headers=bearer(second["access_token"])).status_code == 401


def test_a_tampered_token_is_refused_with_the_rule(shared):
    token = login_tokens(shared, "library-dave")["access_token"]
    head, claims, signature = token.split(".")
    forged_signature = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    assert call(shared, "verify", f"{head}.{claims}.{forged_signature}") == {"refused": "TokenError::Invalid(TokenRule::BadSignature)"}
    assert call(shared, "verify", "a.b") == {"refused": "TokenError::Invalid(TokenRule::Malformed)"}


def test_pkce_pairs_check(shared):
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636, appendix B
    assert call(shared, "pkce-challenge", verifier) == {"ok": challenge}
    assert call(shared, "pkce-verify", verifier, challenge) == {"ok": True}
    assert call(shared, "pkce-verify", verifier[:-1] + "Y", challenge) == {"ok": False}
    assert call(shared, "pkce-challenge", "too-short") == {"refused": "malformed-verifier"}


def test_a_client_credential_checks_as_the_grant_does(shared):
    access = login_tokens(shared, "library-erin")["access_token"]
    cred = requests.post(shared.url("/client-credentials"), json={"name": "gateway"}, headers=bearer(access)).json()
    client = call(shared, "check-client", cred["client_id"], cred["client_secret"])["ok"]
    assert client["client_id"] == cred["client_id"] and client["name"] == "gateway"
    assert call(shared, "check-client", cred["client_id"], "wrong-secret") == {"refused": "ClientError::Failed"}


@pytest.fixture
def saml(tmp_path, redis_server, shared_secrets):
    key, cert = key_and_cert("library IdP")
    world = SamlWorld(tmp_path / "saml", [Provider("acme", Idp("https://library.idp.example/metadata", key, cert), "allow_idp_initiated = true")])
    share_store(world.host, redis_server, shared_secrets)
    world.start()
    yield world
    world.stop()


def test_a_saml_response_validates_to_its_identity_once_and_a_wrapped_one_is_refused(saml):
    email = unique("library")
    xml = saml.response("acme", name_id=email, attributes=person(email, name="Lib Rary", groups=("eng",)))
    identity = call(saml.host, "saml-validate", b64(xml))["ok"]
    assert identity == {"provider": "acme", "name_id": email, "subject": email, "email": email, "name": "Lib Rary", "groups": ["eng"]}
    replay = call(saml.host, "saml-validate", b64(xml))["refused"]
    assert "has been used before" in replay, replay

    victim = unique("victim")
    signed = saml.response("acme", name_id=victim, attributes=person(victim), sign="response")
    wrapped = xsw(1, signed)
    assert EVIL_NAME_ID.encode() in wrapped
    assert "Refused" in call(saml.host, "saml-validate", b64(wrapped))["refused"]


def test_an_sp_initiated_saml_login_through_the_library(saml):
    login = call(saml.host, "saml-begin", "acme", "http://localhost:4200/oauth2/callback")["ok"]
    assert login["url"].startswith(saml.idp("acme").sso_url + "?")
    from saml_idp import authn_request

    request, _ = authn_request(login["url"])
    email = unique("sp-initiated")
    xml = saml.response("acme", name_id=email, attributes=person(email), in_response_to=request.get("ID"))
    assert call(saml.host, "saml-validate", b64(xml), login["relay_state"])["ok"]["email"] == email
