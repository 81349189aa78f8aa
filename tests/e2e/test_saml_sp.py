"""SAML 2.0 service provider, first part (issue #4): provider configuration,
GET /saml/providers, GET /saml/{provider}/metadata and GET
/saml/{provider}/login, end to end against the real host. The SP key and
certificate and the IdP's metadata are generated here, at test time."""

import base64
import datetime
import re
import time
import xml.etree.ElementTree as ET
from urllib.parse import unquote_plus, urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from conftest import CALLBACK, RELAXED_LIMITS, Host
from saml_idp import (
    MD,
    NS,
    POST,
    REDIRECT,
    RSA_SHA256,
    SAMLP,
    Idp,
    authn_request,
    der_b64,
    key_and_cert,
    saml_env,
)
from spec import assert_error, assert_valid

IDP_ENTITY = "https://idp.example.org/metadata"
IDP_SSO = "https://idp.example.org/sso"


def idp_metadata(cert, prolog='<?xml version="1.0" encoding="UTF-8"?>'):
    return Idp(IDP_ENTITY, None, cert, sso_url=IDP_SSO, slo_url="https://idp.example.org/slo").metadata(prolog)


@pytest.fixture(scope="module")
def sp():
    return key_and_cert("tmi-auth SP")


@pytest.fixture(scope="module")
def idp_cert():
    return key_and_cert("test IdP")[1]


@pytest.fixture(scope="module")
def saml_host(tmp_path_factory, sp, idp_cert):
    """Providers: `corp-idp` (metadata from a file, signed requests),
    `plain-idp` (inline metadata, unsigned), `off-idp` (disabled)."""
    root = tmp_path_factory.mktemp("saml-host")
    (root / "idp-metadata.xml").write_text(idp_metadata(idp_cert))
    config = RELAXED_LIMITS + f"""
[[saml_providers]]
id = "corp-idp"
name = "Corp IdP"
icon = "fa-solid fa-building"
idp_metadata_file = "idp-metadata.xml"
sign_authn_requests = true

[[saml_providers]]
id = "plain-idp"
name = "Plain IdP"
idp_metadata = '''{idp_metadata(idp_cert)}'''

[[saml_providers]]
id = "off-idp"
name = "Disabled IdP"
idp_metadata = '''{idp_metadata(idp_cert)}'''
enabled = false
"""
    # The config file is written next to the data directory, where the
    # metadata file is.
    h = Host(root / "data", config=config, env=saml_env(sp[0], sp[1], "corp-idp", "plain-idp", "off-idp")).start()
    yield h
    h.stop()


def login(host, provider_id="corp-idp", **params):
    params.setdefault("client_callback", CALLBACK)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return requests.get(host.url(f"/saml/{provider_id}/login?{query}"), allow_redirects=False)


def test_saml_providers_validate_against_the_spec(saml_host):
    body = assert_valid(requests.get(saml_host.url("/saml/providers")), "/saml/providers", "get", 200)
    by_id = {p["id"]: p for p in body["providers"]}
    assert sorted(by_id) == ["corp-idp", "plain-idp"]
    corp = by_id["corp-idp"]
    assert corp["name"] == "Corp IdP"
    assert corp["icon"] == "fa-solid fa-building"
    assert corp["auth_url"] == saml_host.url("/saml/corp-idp/login")
    assert corp["metadata_url"] == saml_host.url("/saml/corp-idp/metadata")
    assert corp["entity_id"] == saml_host.url("/saml/corp-idp/metadata")
    assert corp["acs_url"] == saml_host.url("/saml/acs")
    assert corp["slo_url"] == saml_host.url("/saml/slo")


def test_metadata_is_a_complete_sp_entity_descriptor(saml_host, sp):
    r = requests.get(saml_host.url("/saml/corp-idp/metadata"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/samlmetadata+xml"
    # Well-formed for both parsers; lxml without entities or network.
    root = ET.fromstring(r.content)
    assert root.tag == f"{{{MD}}}EntityDescriptor"
    assert root.get("entityID") == saml_host.url("/saml/corp-idp/metadata")
    doc = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False, no_network=True))
    (sso,) = doc.xpath("md:SPSSODescriptor", namespaces=NS)
    assert SAMLP in sso.get("protocolSupportEnumeration")
    assert sso.get("AuthnRequestsSigned") == "true"
    certs = {
        kd.get("use"): kd.xpath("string(ds:KeyInfo/ds:X509Data/ds:X509Certificate)", namespaces=NS)
        for kd in sso.xpath("md:KeyDescriptor", namespaces=NS)
    }
    assert certs == {"signing": der_b64(sp[1]), "encryption": der_b64(sp[1])}
    (acs,) = sso.xpath("md:AssertionConsumerService", namespaces=NS)
    assert (acs.get("Binding"), acs.get("Location")) == (POST, saml_host.url("/saml/acs"))
    slo = {e.get("Binding"): e.get("Location") for e in sso.xpath("md:SingleLogoutService", namespaces=NS)}
    assert slo == {REDIRECT: saml_host.url("/saml/slo"), POST: saml_host.url("/saml/slo")}
    assert sso.xpath("md:NameIDFormat/text()", namespaces=NS) == ["urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"]
    # The encryption KeyDescriptor lists what we decrypt, so IdPs that read it pick AES and RSA-OAEP.
    methods = sso.xpath("md:KeyDescriptor[@use='encryption']/md:EncryptionMethod/@Algorithm", namespaces=NS)
    assert "http://www.w3.org/2009/xmlenc11#aes256-gcm" in methods and "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" in methods
    assert not any("rsa-1_5" in m or "tripledes" in m for m in methods)
    # Schema order: KeyDescriptor, SingleLogoutService, NameIDFormat, AssertionConsumerService.
    order = [etree.QName(e).localname for e in sso]
    assert order == ["KeyDescriptor", "KeyDescriptor", "SingleLogoutService", "SingleLogoutService", "NameIDFormat", "AssertionConsumerService"]
    unsigned = etree.fromstring(requests.get(saml_host.url("/saml/plain-idp/metadata")).content)
    assert unsigned.xpath("md:SPSSODescriptor/@AuthnRequestsSigned", namespaces=NS) == ["false"]


@pytest.mark.parametrize("path", ["/saml/nope/metadata", "/saml/nope/login", "/saml/off-idp/metadata", "/saml/off-idp/login"])
def test_unknown_or_disabled_provider_is_404(saml_host, path):
    r = requests.get(saml_host.url(path), params={"client_callback": CALLBACK}, allow_redirects=False)
    assert_error(r, 404, "not_found")


def test_login_redirects_with_a_signed_authn_request(saml_host, sp):
    before = int(time.time())
    r = login(saml_host, state="client-state-1")
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(IDP_SSO + "?SAMLRequest="), location
    request, q = authn_request(location)
    assert request.tag == f"{{{SAMLP}}}AuthnRequest"
    assert re.fullmatch(r"_[0-9a-f]{32}", request.get("ID"))
    assert request.get("Version") == "2.0"
    assert request.get("Destination") == IDP_SSO
    assert request.get("AssertionConsumerServiceURL") == saml_host.url("/saml/acs")
    assert request.get("ProtocolBinding") == POST
    instant = datetime.datetime.fromisoformat(request.get("IssueInstant").replace("Z", "+00:00"))
    assert before - 5 <= instant.timestamp() <= time.time() + 5
    assert request.xpath("string(saml:Issuer)", namespaces=NS) == saml_host.url("/saml/corp-idp/metadata")
    (policy,) = request.xpath("samlp:NameIDPolicy", namespaces=NS)
    assert policy.get("AllowCreate") == "true"
    assert len(q["RelayState"][0]) == 43
    assert q["SigAlg"] == [RSA_SHA256]

    # The signature covers exactly SAMLRequest=…&RelayState=…&SigAlg=… as sent.
    raw = urlsplit(location).query
    signed, _, signature = raw.partition("&Signature=")
    assert [part.split("=", 1)[0] for part in signed.split("&")] == ["SAMLRequest", "RelayState", "SigAlg"]
    public_key = sp[1].public_key()
    public_key.verify(base64.b64decode(unquote_plus(signature)), signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(Exception):
        public_key.verify(base64.b64decode(unquote_plus(signature)), signed.encode() + b"x", padding.PKCS1v15(), hashes.SHA256())

    # Every login is a fresh request.
    again, q2 = authn_request(login(saml_host).headers["location"])
    assert again.get("ID") != request.get("ID")
    assert q2["RelayState"] != q["RelayState"]


def test_unsigned_provider_sends_no_signature(saml_host):
    r = login(saml_host, "plain-idp")
    assert r.status_code == 302, r.text
    request, q = authn_request(r.headers["location"])
    assert "SigAlg" not in q and "Signature" not in q
    assert request.xpath("string(saml:Issuer)", namespaces=NS) == saml_host.url("/saml/plain-idp/metadata")


def test_login_accepts_a_pkce_challenge(saml_host):
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert login(saml_host, code_challenge=challenge, code_challenge_method="S256").status_code == 302
    assert_error(login(saml_host, code_challenge=challenge, code_challenge_method="plain"), 400, "invalid_request")
    assert_error(login(saml_host, code_challenge_method="S256"), 400, "invalid_request")


@pytest.mark.parametrize("callback", [None, "https://evil.example/cb", "http://localhost:4200/cb#frag", "not a url"])
def test_login_needs_an_allowed_client_callback(saml_host, callback):
    r = login(saml_host, client_callback=callback) if callback else requests.get(
        saml_host.url("/saml/corp-idp/login"), allow_redirects=False
    )
    assert_error(r, 400, "invalid_request")


def test_doctype_in_idp_metadata_stops_the_host(fresh_host, sp, idp_cert):
    evil = idp_metadata(idp_cert, prolog='<!DOCTYPE md:EntityDescriptor [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    config = RELAXED_LIMITS + f"""
[[saml_providers]]
id = "evil-idp"
idp_metadata = '''{evil}'''
"""
    h = fresh_host(config=config, env=saml_env(sp[0], sp[1], "evil-idp"))
    with pytest.raises(RuntimeError, match="DOCTYPE"):
        h.start()


def test_an_sp_certificate_for_another_key_stops_the_host(fresh_host, sp, idp_cert):
    """The host parses the whole configuration as the core does before it
    serves: a key/certificate mismatch is a startup error, not a failure of
    every later SAML request."""
    config = RELAXED_LIMITS + f"""
[[saml_providers]]
id = "mixed-idp"
idp_metadata = '''{idp_metadata(idp_cert)}'''
"""
    other_cert = key_and_cert("another SP")[1]
    h = fresh_host(config=config, env=saml_env(sp[0], other_cert, "mixed-idp"))
    with pytest.raises(RuntimeError, match="does not hold the SP key"):
        h.start()
