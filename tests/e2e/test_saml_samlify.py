"""An independent SAML IdP implementation (samlify, npm) against the real
host: IdP-initiated logins with a plain and an encrypted assertion (SAML
Profiles §4.1.4.2 lets the Audience hide inside the ciphertext). samlify
also sends `InResponseTo=""` and a NameID without Format in unsolicited
Responses; both are read as absent."""

import json
import subprocess
import time

import jwt
import pytest
import requests

from conftest import RELAXED_LIMITS, TESTS_DIR, Host
from flows import bearer
from saml_idp import key_and_cert, pem_cert, pem_key, post_form, saml_env

SCRIPT = TESTS_DIR / "e2e" / "samlify_idp.mjs"
IDP = "https://samlify-idp.example/metadata"
SSO = "https://samlify-idp.example/sso"


def samlify(command, **args):
    done = subprocess.run(["node", str(SCRIPT), command], input=json.dumps(args), capture_output=True, text=True, cwd=TESTS_DIR, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def samlify_world(tmp_path_factory):
    if not (TESTS_DIR / "node_modules" / "samlify").exists():
        pytest.exit("tests/node_modules is missing samlify: run scripts/test.sh (npm ci --prefix tests)", returncode=2)
    key, cert = key_and_cert("samlify IdP")
    idp = {"entity_id": IDP, "cert": pem_cert(cert), "key": pem_key(key), "sso_url": SSO}
    metadata = samlify("metadata", **idp)
    providers = "".join(
        f"""
[[saml_providers]]
id = "{pid}"
idp_metadata = '''{metadata}'''
allow_idp_initiated = true
name_id_format = "emailAddress"
{extra}
"""
        for pid, extra in [("samlify", ""), ("samlify-other", 'sp_entity_id = "https://other-sp.example/metadata"')]
    )
    sp_key, sp_cert = key_and_cert("tmi-auth SP")
    host = Host(tmp_path_factory.mktemp("samlify") / "data", config=RELAXED_LIMITS + providers, env=saml_env(sp_key, sp_cert, "samlify", "samlify-other"))
    host.start()
    yield host, idp
    host.stop()


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "encrypted"])
def test_an_idp_initiated_login_from_samlify(samlify_world, encrypt):
    host, idp = samlify_world
    sp_metadata = requests.get(host.url("/saml/samlify/metadata")).text
    email = f"samlify-{'enc' if encrypt else 'plain'}@acme.example"
    response = samlify("respond", **idp, sp_metadata=sp_metadata, user={"email": email}, encrypt=encrypt)
    if encrypt:
        assert "EncryptedAssertion" in __import__("base64").b64decode(response).decode()
    r = requests.post(host.url("/saml/acs"), data={"SAMLResponse": response}, allow_redirects=False)
    assert r.status_code == 200, r.text
    tokens = r.json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["email"] == email and claims["idp"] == "samlify"
    me = requests.get(host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == email
    # The same Response again is a replay, and the host's log says why it was refused.
    again = requests.post(host.url("/saml/acs"), data={"SAMLResponse": response}, allow_redirects=False)
    assert again.status_code == 401, again.text
    time.sleep(0.2)
    assert "refused POST /saml/acs: access_denied: the assertion has been used before" in host.log.read_text()


def test_an_encrypted_assertion_goes_to_the_provider_its_hidden_audience_names(samlify_world):
    """Two providers trust the same IdP; only the decrypted Audience tells
    them apart, so each candidate is tried and the Audience decides."""
    host, idp = samlify_world
    other = requests.get(host.url("/saml/samlify-other/metadata")).text
    response = samlify("respond", **idp, sp_metadata=other, user={"email": "other-sp@acme.example"}, encrypt=True)
    r = requests.post(host.url("/saml/acs"), data={"SAMLResponse": response}, allow_redirects=False)
    assert r.status_code == 200, r.text
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["idp"] == "samlify-other"
