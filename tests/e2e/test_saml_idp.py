"""Self-checks of the test IdP (saml_idp.py), without the service: what it
signs verifies with signxml's verifier and the IdP certificate, its messages
validate against the SAML XSDs that pysaml2 ships, its encryption
round-trips, and each attack message is what it claims to be (a signature
that still verifies over the original content while a naive reader sees the
attacker)."""

import base64
import copy
import hashlib
from urllib.parse import unquote_plus

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from saml2.xml.schema import validate as schema_validate
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature

import saml_idp
from saml_idp import (
    AES128_CBC,
    AES256_GCM,
    DS,
    EVIL_NAME_ID,
    EXC_C14N,
    NS,
    RSA_SHA1,
    RSA_SHA256,
    SAML,
    SHA1,
    Idp,
    XSW_VARIANTS,
    decrypt_assertion,
    encrypt_assertion,
    inflate_b64,
    inject_comment,
    key_and_cert,
    parse,
    with_doctype,
    xsw,
)

ACS = "https://sp.example/saml/acs"
AUDIENCE = "https://sp.example/saml/acme/metadata"
SLO = "https://sp.example/saml/slo"

_IDP_KEY, _IDP_CERT = key_and_cert("self-check IdP")
_EC_KEY, _EC_CERT = key_and_cert("self-check IdP EC", kind="ec")
_OTHER_KEY, _OTHER_CERT = key_and_cert("attacker")
_SP_KEY, _SP_CERT = key_and_cert("self-check SP")
IDP = Idp("https://idp.example/metadata", _IDP_KEY, _IDP_CERT, extra_certs=[_EC_CERT])
SHA1_CONFIG = SignatureConfiguration(
    signature_methods=frozenset(SignatureMethod), digest_algorithms=frozenset(DigestAlgorithm)
)


def response(**kw):
    kw.setdefault("attributes", {"mail": "alice@example.org", "displayName": "Alice", "groups": ["eng", "ops"]})
    return IDP.response(acs_url=ACS, audience=AUDIENCE, in_response_to="_req1", **kw)


def element(xml, path):
    (el,) = parse(xml).xpath(path, namespaces=NS)
    return etree.tostring(el)


def verify(xml, path, cert=_IDP_CERT, config=None):
    """signxml's verdict on the one signature that is a child of the element
    at `path` (taken out of the document: exclusive C14N needs no context)."""
    config = config or SignatureConfiguration()
    expect = SignatureConfiguration(
        location="./", signature_methods=config.signature_methods, digest_algorithms=config.digest_algorithms
    )
    return XMLVerifier().verify(element(xml, path), x509_cert=cert, expect_config=expect).signed_xml


def naive_verify(xml, cert=_IDP_CERT):
    """Check the first ds:Signature the way a wrapping-prone SP would: the
    signature over SignedInfo, and a digest match on *some* element carrying
    the referenced ID (enveloped transform: drop its own ds:Signature).
    Returns that element's NameID."""
    root = parse(xml)
    sig = root.find(".//ds:Signature", NS)
    signed_info = sig.find("ds:SignedInfo", NS)
    c14n = etree.tostring(signed_info, method="c14n", exclusive=True)
    value = base64.b64decode(sig.findtext("ds:SignatureValue", namespaces=NS))
    cert.public_key().verify(value, c14n, padding.PKCS1v15(), hashes.SHA256())
    ref = signed_info.find("ds:Reference", NS)
    digest = base64.b64decode(ref.findtext("ds:DigestValue", namespaces=NS))
    for el in root.xpath("//*[@ID=$id]", id=ref.get("URI")[1:]):
        el = copy.deepcopy(el)
        for s in el.findall("ds:Signature", NS):
            el.remove(s)
        if hashlib.sha256(etree.tostring(el, method="c14n", exclusive=True)).digest() == digest:
            return el.findtext(".//saml:Subject/saml:NameID", namespaces=NS)
    raise AssertionError("no element with the referenced ID matches the digest")


def naive_readings(xml):
    """NameIDs a naive SP might read: the Response's first assertion, and the
    first assertion in document order."""
    root = parse(xml)
    return {
        root.findtext("saml:Assertion/saml:Subject/saml:NameID", namespaces=NS),
        root.findtext(".//saml:Assertion/saml:Subject/saml:NameID", namespaces=NS),
    }


def test_signed_assertion_verifies_and_signature_follows_the_issuer():
    xml = response()
    signed = verify(xml, "/*/saml:Assertion")
    assert signed.findtext("saml:Subject/saml:NameID", namespaces=NS) == "alice@example.org"
    assertion = parse(xml).find("saml:Assertion", NS)
    assert [etree.QName(e).localname for e in assertion][:3] == ["Issuer", "Signature", "Subject"]
    sig = assertion.find("ds:Signature", NS)
    assert sig.find("ds:SignedInfo/ds:CanonicalizationMethod", NS).get("Algorithm") == EXC_C14N
    assert sig.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == RSA_SHA256
    ref = sig.find("ds:SignedInfo/ds:Reference", NS)
    assert ref.get("URI") == "#" + assertion.get("ID")
    assert [t.get("Algorithm") for t in ref.find("ds:Transforms", NS)] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        EXC_C14N,
    ]
    assert parse(xml).find("ds:Signature", NS) is None
    schema_validate(xml)


def test_response_and_both_signatures_verify():
    xml = response(sign="response")
    verify(xml, "/samlp:Response")
    assert [etree.QName(e).localname for e in parse(xml)][:3] == ["Issuer", "Signature", "Status"]
    both = response(sign="both")
    verify(both, "/*/saml:Assertion")
    # The Response signature covers the signed assertion (its own ds:Signature included).
    XMLVerifier().verify(both, x509_cert=_IDP_CERT, expect_config=SignatureConfiguration(location="./"))
    schema_validate(xml)
    schema_validate(both)


def test_sha1_ecdsa_and_foreign_key_signatures():
    sha1 = response(algorithm=RSA_SHA1, digest=SHA1)
    assert parse(sha1).find(".//ds:SignatureMethod", NS).get("Algorithm") == RSA_SHA1
    verify(sha1, "/*/saml:Assertion", config=SHA1_CONFIG)
    with pytest.raises(InvalidInput):
        verify(sha1, "/*/saml:Assertion")
    ecdsa = response(key=_EC_KEY, cert=_EC_CERT)
    verify(ecdsa, "/*/saml:Assertion", cert=_EC_CERT)
    assert "ecdsa-sha256" in parse(ecdsa).find(".//ds:SignatureMethod", NS).get("Algorithm")
    foreign = response(key=_OTHER_KEY, cert=_OTHER_CERT)
    verify(foreign, "/*/saml:Assertion", cert=_OTHER_CERT)
    with pytest.raises(InvalidSignature):
        verify(foreign, "/*/saml:Assertion")


def test_tampering_breaks_the_signature():
    xml = response().replace(b">alice@example.org<", b">mallory@example.org<", 1)
    with pytest.raises(InvalidSignature):
        verify(xml, "/*/saml:Assertion")


def test_encryption_round_trips_and_the_assertion_stays_signed():
    for algorithm in (AES128_CBC, AES256_GCM):
        xml = encrypt_assertion(response(), _SP_CERT, algorithm)
        root = parse(xml)
        assert root.find("saml:Assertion", NS) is None
        data = root.find("saml:EncryptedAssertion/xenc:EncryptedData", NS)
        assert data.get("Type") == "http://www.w3.org/2001/04/xmlenc#Element"
        assert data.find("xenc:EncryptionMethod", NS).get("Algorithm") == algorithm
        km = data.find("ds:KeyInfo/xenc:EncryptedKey/xenc:EncryptionMethod", NS)
        assert km.get("Algorithm") == saml_idp.RSA_OAEP_MGF1P
        assert km.find("ds:DigestMethod", NS).get("Algorithm") == SHA1
        plain = decrypt_assertion(xml, _SP_KEY)
        # Standalone: it declares its own namespaces, and still verifies.
        alone = etree.fromstring(plain)
        assert alone.tag == f"{{{SAML}}}Assertion"
        signed = XMLVerifier().verify(plain, x509_cert=_IDP_CERT, expect_config=SignatureConfiguration(location="./"))
        assert signed.signed_xml.findtext("saml:Subject/saml:NameID", namespaces=NS) == "alice@example.org"
        schema_validate(xml)
    with pytest.raises(ValueError):
        decrypt_assertion(encrypt_assertion(response(), _OTHER_CERT), _SP_KEY)


def test_logout_request_bindings():
    xml = IDP.logout_request(destination=SLO, name_id="alice@example.org", session_index="_s1")
    schema_validate(xml)
    form = IDP.post_logout(xml)
    posted = base64.b64decode(form["SAMLRequest"])
    signed = XMLVerifier().verify(posted, x509_cert=_IDP_CERT, expect_config=SignatureConfiguration(location="./"))
    assert signed.signed_xml.findtext("saml:NameID", namespaces=NS) == "alice@example.org"
    assert [etree.QName(e).localname for e in parse(posted)][:2] == ["Issuer", "Signature"]
    schema_validate(posted)

    query = IDP.redirect_query(xml, relay_state="rs 1&2")
    signed_part, _, signature = query.partition("&Signature=")
    assert [p.split("=", 1)[0] for p in signed_part.split("&")] == ["SAMLRequest", "RelayState", "SigAlg"]
    assert unquote_plus(signed_part.split("&")[1].split("=", 1)[1]) == "rs 1&2"
    assert inflate_b64(unquote_plus(signed_part.split("&")[0].split("=", 1)[1])) == xml
    _IDP_CERT.public_key().verify(
        base64.b64decode(unquote_plus(signature)), signed_part.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert "Signature" not in IDP.redirect_query(xml, key=None)


def test_xsw_variants_keep_a_valid_signature_but_show_the_attacker():
    assert sorted(XSW_VARIANTS) == list(range(1, 9))
    for variant in XSW_VARIANTS:
        signed = response(sign="response" if variant in (1, 2) else "assertion")
        assert naive_verify(signed) == "alice@example.org"
        wrapped = xsw(variant, signed)
        assert naive_verify(wrapped) == "alice@example.org", variant
        assert EVIL_NAME_ID in naive_readings(wrapped), (variant, naive_readings(wrapped))
        # A careful verifier never hands back the attacker's assertion.
        try:
            result = XMLVerifier().verify(wrapped, x509_cert=_IDP_CERT)
            assert EVIL_NAME_ID not in etree.tostring(result.signed_xml).decode(), variant
        except (InvalidSignature, InvalidInput, etree.DocumentInvalid):
            pass


def test_comment_injection_keeps_the_digest_but_fools_a_naive_text_reader():
    xml = response(name_id="user@evil.com.good.com", attributes={"mail": "user@evil.com.good.com"})
    injected = inject_comment(xml)
    assert injected.count(b"user@evil.com<!---->.good.com") == 2
    signed = verify(injected, "/*/saml:Assertion")
    assert signed.findtext("saml:Subject/saml:NameID", namespaces=NS) == "user@evil.com.good.com"
    # lxml's .text stops at the comment: the truncation a naive SP falls for.
    assert parse(injected).find(".//saml:NameID", NS).text == "user@evil.com"


def test_doctype_variants_are_well_formed_and_the_internal_one_keeps_the_digest():
    xml = response()
    for kind in ("internal", "external", "billion"):
        evil = with_doctype(xml, kind)
        assert b"<!DOCTYPE samlp:Response" in evil and evil.startswith(b"<?xml")
        if kind == "billion":
            # libxml2 itself stops at the amplification: a real billion laughs.
            with pytest.raises(etree.XMLSyntaxError, match="amplification"):
                parse(evil)
        else:
            parse(evil)  # well-formed (entities left unexpanded)
    expanding = etree.fromstring(with_doctype(xml, "internal"), etree.XMLParser(resolve_entities=True, no_network=True))
    assert naive_verify(etree.tostring(expanding)) == "alice@example.org"


def test_metadata_validates_against_the_metadata_schema():
    from saml2.xml.schema import _create_xml_schema_validator
    from importlib.resources import files
    import saml2.data.schemas

    validator = _create_xml_schema_validator(str(files(saml2.data.schemas).joinpath("saml-schema-metadata-2.0.xsd")))
    schema_validate(IDP.metadata().encode(), validator)
    md = parse(IDP.metadata().encode())
    certs = md.xpath("//md:KeyDescriptor[@use='signing']//ds:X509Certificate/text()", namespaces=NS)
    assert len(certs) == 2
    assert DS in md.nsmap.values()

