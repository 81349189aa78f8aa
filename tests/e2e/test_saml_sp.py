"""SAML 2.0 service provider, first part (issue #4): provider configuration,
GET /saml/providers, GET /saml/{provider}/metadata and GET
/saml/{provider}/login, end to end against the real host. The SP key and
certificate and the IdP's metadata are generated here, at test time."""

import base64
import datetime
import re
import time
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from conftest import CALLBACK, RELAXED_LIMITS, Host
from spec import assert_error, assert_valid

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS = {"md": MD, "ds": DS, "samlp": SAMLP, "saml": SAML}
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
IDP_ENTITY = "https://idp.example.org/metadata"
IDP_SSO = "https://idp.example.org/sso"


def key_and_cert(common_name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def pem_key(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def der_b64(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def idp_metadata(cert, prolog='<?xml version="1.0" encoding="UTF-8"?>'):
    return f"""{prolog}
<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{IDP_ENTITY}">
  <md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{der_b64(cert)}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="{REDIRECT}" Location="https://idp.example.org/slo"/>
    <md:SingleSignOnService Binding="{REDIRECT}" Location="{IDP_SSO}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def saml_env(sp_key, sp_cert, *ids):
    env = {}
    for provider_id in ids:
        upper = provider_id.replace("-", "_").upper()
        env[f"TMI_SECRET_SAML_{upper}_SP_KEY"] = pem_key(sp_key)
        env[f"TMI_SECRET_SAML_{upper}_SP_CERT"] = pem_cert(sp_cert)
    return env


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


def authn_request(location):
    """The AuthnRequest carried by a Redirect-binding URL, parsed."""
    q = parse_qs(urlsplit(location).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15)
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True)), q


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
