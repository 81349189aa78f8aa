"""A small SAML 2.0 identity provider for the tests: metadata, signed
Responses (and the classic attacks on them), encrypted assertions and
LogoutRequests in the HTTP-Redirect and HTTP-POST bindings.

XML signatures are made by signxml (a real XML-DSig implementation outside
the service), with exclusive canonicalisation and the enveloped transform,
the ds:Signature placed right after the signed element's saml:Issuer as the
SAML schema wants it. Encryption (XML Encryption 1.0/1.1: RSA-OAEP key
transport, AES-CBC or AES-GCM content) is done here with `cryptography`.
Keys and certificates are generated at test time. No pytest in here.
"""

import base64
import copy
import datetime
import os
import secrets
import time
import zlib
from urllib.parse import parse_qs, quote_plus, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

# --- Names -----------------------------------------------------------------

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"md": MD, "ds": DS, "samlp": SAMLP, "saml": SAML, "xenc": XENC}

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
ENC_ELEMENT = "http://www.w3.org/2001/04/xmlenc#Element"

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ATTR_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
ATTR_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
SUBJECT_ID = "urn:oasis:names:tc:SAML:attribute:subject-id"
PAIRWISE_ID = "urn:oasis:names:tc:SAML:attribute:pairwise-id"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
# The attributes that carry an email address or a user id (made evil by the attacks).
EMAIL_ATTRIBUTES = ("mail", "email", "urn:oid:0.9.2342.19200300.100.1.3")
EVIL_NAME_ID = "admin@evil.example"

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)

_SAME = object()  # "the same as the related value" for optional overrides


# --- Keys, certificates, encodings ------------------------------------------


def key_and_cert(common_name, kind="rsa"):
    """A fresh private key (RSA 2048 or EC P-256) and its self-signed certificate."""
    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
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


def saml_env(sp_key, sp_cert, *ids):
    """The host's environment secrets holding the SP key and certificate of each provider."""
    env = {}
    for provider_id in ids:
        upper = provider_id.replace("-", "_").upper()
        env[f"TMI_SECRET_SAML_{upper}_SP_KEY"] = pem_key(sp_key)
        env[f"TMI_SECRET_SAML_{upper}_SP_CERT"] = pem_cert(sp_cert)
    return env


def new_id():
    return "_" + secrets.token_hex(16)


def instant(offset=0.0, now=None):
    """xs:dateTime in UTC with milliseconds, `offset` seconds from `now` (default: this moment)."""
    t = datetime.datetime.fromtimestamp((time.time() if now is None else now) + offset, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse(xml):
    """Parse without entities or network (the tests' own reading of XML)."""
    return etree.fromstring(xml, _PARSER)


def serialize(root):
    return XML_DECLARATION + etree.tostring(root)


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def deflate_b64(xml):
    """Raw DEFLATE (RFC 1951) and base64, as the HTTP-Redirect binding carries messages."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return b64(c.compress(xml) + c.flush())


def inflate_b64(text):
    return zlib.decompress(base64.b64decode(text), -15)


def authn_request(location):
    """The AuthnRequest carried by a Redirect-binding URL, parsed, and the URL's query."""
    q = parse_qs(urlsplit(location).query)
    return parse(inflate_b64(q["SAMLRequest"][0])), q


def _q(ns, tag):
    return f"{{{ns}}}{tag}"


def _sub(parent, ns, tag, text=None, **attrs):
    el = etree.SubElement(parent, _q(ns, tag), {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


# --- Signing ----------------------------------------------------------------


class _Signer(XMLSigner):
    """signxml's signer, allowed to make SHA-1 signatures (for the SHA-1 cases)."""

    def check_deprecated_methods(self):
        pass


def default_algorithm(key):
    return ECDSA_SHA256 if isinstance(key, ec.EllipticCurvePrivateKey) else RSA_SHA256


def sign_element(xml, element_id, key, cert, algorithm=None, digest=SHA256, key_info=True):
    """Enveloped XML-DSig over the element whose ID is `element_id`: exclusive
    C14N, the ds:Signature inserted right after that element's saml:Issuer.
    The certificate goes into ds:KeyInfo unless key_info is False."""
    root = parse(xml)
    (target,) = root.xpath("//*[@ID=$id]", id=element_id)
    issuer = target.find(_q(SAML, "Issuer"))
    placeholder = etree.Element(_q(DS, "Signature"), {"Id": "placeholder"}, nsmap={"ds": DS})
    if issuer is not None:
        issuer.addnext(placeholder)
    else:
        target.insert(0, placeholder)
    signer = _Signer(
        signature_algorithm=algorithm or default_algorithm(key), digest_algorithm=digest, c14n_algorithm=EXC_C14N
    )
    if not key_info:
        signer.signature_annotators = []
    signed = signer.sign(root, key=key, cert=[cert], reference_uri="#" + element_id)
    return serialize(signed)


# --- The identity provider ------------------------------------------------------


class Idp:
    """One test IdP: its entity ID, signing key and certificate, endpoints."""

    def __init__(self, entity_id, key, cert, *, sso_url=None, slo_url=None, extra_certs=()):
        self.entity_id = entity_id
        self.key = key
        self.cert = cert
        base = entity_id.rsplit("/", 1)[0] if entity_id.count("/") > 2 else entity_id
        self.sso_url = sso_url or base + "/sso"
        self.slo_url = slo_url or base + "/slo"
        self.extra_certs = list(extra_certs)

    # -- metadata --

    def metadata(self, prolog='<?xml version="1.0" encoding="UTF-8"?>'):
        """An md:EntityDescriptor with an IDPSSODescriptor (schema order)."""
        keys = "".join(
            f"""
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{der_b64(c)}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"""
            for c in [self.cert, *self.extra_certs]
        )
        return f"""{prolog}
<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{self.entity_id}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="{SAMLP}">{keys}
    <md:SingleLogoutService Binding="{REDIRECT}" Location="{self.slo_url}"/>
    <md:SingleLogoutService Binding="{POST}" Location="{self.slo_url}"/>
    <md:NameIDFormat>{NAMEID_EMAIL}</md:NameIDFormat>
    <md:SingleSignOnService Binding="{REDIRECT}" Location="{self.sso_url}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""

    # -- responses --

    def response(
        self,
        *,
        acs_url,
        audience,
        in_response_to=None,
        name_id="alice@example.org",
        name_id_format=NAMEID_EMAIL,
        attributes=None,
        issuer=None,
        assertion_issuer=None,
        destination=_SAME,
        recipient=_SAME,
        subject_in_response_to=_SAME,
        status=STATUS_SUCCESS,
        sub_status=None,
        status_message=None,
        now=None,
        issue_instant=0,
        assertion_issue_instant=_SAME,
        authn_instant=_SAME,
        not_before=-30,
        not_on_or_after=300,
        subject_not_on_or_after=_SAME,
        session_index=None,
        response_id=None,
        assertion_id=None,
        sign="assertion",
        algorithm=None,
        digest=SHA256,
        key=None,
        cert=None,
    ):
        """A samlp:Response with one saml:Assertion, serialized (bytes).

        Times are offsets in seconds from `now` (default: this moment); None
        leaves the attribute out. `audience` may be a list. `attributes` maps
        names to a value or a list of values. `sign` is "assertion",
        "response", "both" or None; `key`/`cert` sign instead of the IdP's
        own (an attacker's key, or an EC key: the algorithm follows the key
        unless `algorithm` is given)."""
        same = lambda v, dflt: dflt if v is _SAME else v  # noqa: E731
        now = time.time() if now is None else now
        response_id = response_id or new_id()
        assertion_id = assertion_id or new_id()
        issuer = issuer or self.entity_id
        assertion_issuer = same(assertion_issuer, None) or issuer
        destination = same(destination, acs_url)
        recipient = same(recipient, acs_url)
        subject_in_response_to = same(subject_in_response_to, in_response_to)
        assertion_issue_instant = same(assertion_issue_instant, issue_instant)
        authn_instant = same(authn_instant, issue_instant)
        subject_not_on_or_after = same(subject_not_on_or_after, not_on_or_after)
        at = lambda offset: None if offset is None else instant(offset, now)  # noqa: E731

        root = etree.Element(
            _q(SAMLP, "Response"),
            {
                "ID": response_id,
                "Version": "2.0",
                "IssueInstant": at(issue_instant),
                **({"Destination": destination} if destination is not None else {}),
                **({"InResponseTo": in_response_to} if in_response_to is not None else {}),
            },
            nsmap={"samlp": SAMLP, "saml": SAML},
        )
        _sub(root, SAML, "Issuer", issuer)
        st = _sub(root, SAMLP, "Status")
        code = _sub(st, SAMLP, "StatusCode", Value=status)
        if sub_status:
            _sub(code, SAMLP, "StatusCode", Value=sub_status)
        if status_message:
            _sub(st, SAMLP, "StatusMessage", status_message)

        a = _sub(root, SAML, "Assertion", ID=assertion_id, Version="2.0", IssueInstant=at(assertion_issue_instant))
        _sub(a, SAML, "Issuer", assertion_issuer)
        subject = _sub(a, SAML, "Subject")
        _sub(subject, SAML, "NameID", name_id, Format=name_id_format)
        sc = _sub(subject, SAML, "SubjectConfirmation", Method=CM_BEARER)
        _sub(
            sc,
            SAML,
            "SubjectConfirmationData",
            Recipient=recipient,
            NotOnOrAfter=at(subject_not_on_or_after),
            InResponseTo=subject_in_response_to,
        )
        conditions = _sub(a, SAML, "Conditions", NotBefore=at(not_before), NotOnOrAfter=at(not_on_or_after))
        restriction = _sub(conditions, SAML, "AudienceRestriction")
        for aud in [audience] if isinstance(audience, str) else audience:
            _sub(restriction, SAML, "Audience", aud)
        authn = _sub(a, SAML, "AuthnStatement", AuthnInstant=at(authn_instant), SessionIndex=session_index or new_id())
        _sub(_sub(authn, SAML, "AuthnContext"), SAML, "AuthnContextClassRef", PASSWORD_PROTECTED)
        if attributes:
            statement = _sub(a, SAML, "AttributeStatement")
            for name, values in attributes.items():
                attr = _sub(statement, SAML, "Attribute", Name=name, NameFormat=ATTR_URI if ":" in name else ATTR_BASIC)
                for v in [values] if isinstance(values, str) else values:
                    # As Okta and others send them: xs:string, declared on the value itself.
                    value = etree.SubElement(
                        attr, _q(SAML, "AttributeValue"), {_q(XSI, "type"): "xs:string"}, nsmap={"xs": XS, "xsi": XSI}
                    )
                    value.text = v
        xml = serialize(root)
        return self.sign(xml, sign, algorithm=algorithm, digest=digest, key=key, cert=cert)

    def sign(self, xml, which="assertion", *, algorithm=None, digest=SHA256, key=None, cert=None, key_info=True):
        """Sign the Assertion, the Response ("response", also any root
        message such as a LogoutRequest), "both" (assertion first), or
        nothing (None)."""
        key, cert = key or self.key, cert or self.cert
        if which in ("assertion", "both"):
            (assertion,) = parse(xml).xpath("/*/saml:Assertion", namespaces=NS)
            xml = sign_element(xml, assertion.get("ID"), key, cert, algorithm, digest, key_info)
        if which in ("response", "both", "root"):
            xml = sign_element(xml, parse(xml).get("ID"), key, cert, algorithm, digest, key_info)
        elif which not in ("assertion", None):
            raise ValueError(which)
        return xml

    # -- single logout --

    def logout_request(
        self, *, destination, name_id, name_id_format=NAMEID_EMAIL, session_index=None, request_id=None,
        issue_instant=0, not_on_or_after=None, issuer=None, now=None,
    ):
        """An unsigned samlp:LogoutRequest (bytes)."""
        root = etree.Element(
            _q(SAMLP, "LogoutRequest"),
            {"ID": request_id or new_id(), "Version": "2.0", "IssueInstant": instant(issue_instant, now)},
            nsmap={"samlp": SAMLP, "saml": SAML},
        )
        if destination is not None:
            root.set("Destination", destination)
        if not_on_or_after is not None:
            root.set("NotOnOrAfter", instant(not_on_or_after, now))
        _sub(root, SAML, "Issuer", issuer or self.entity_id)
        _sub(root, SAML, "NameID", name_id, Format=name_id_format)
        if session_index:
            _sub(root, SAMLP, "SessionIndex", session_index)
        return serialize(root)

    def redirect_query(self, xml, relay_state=None, key=_SAME):
        """HTTP-Redirect binding query, signed with this IdP's key (or `key`; None: unsigned)."""
        return redirect_query(xml, relay_state, self.key if key is _SAME else key)

    def post_logout(self, xml, *, sign=True, key=None, cert=None):
        """HTTP-POST binding form: the enveloped-signed LogoutRequest, base64."""
        if sign:
            xml = self.sign(xml, "root", key=key, cert=cert)
        return {"SAMLRequest": b64(xml)}


def redirect_query(xml, relay_state=None, key=None, sig_alg=RSA_SHA256, param="SAMLRequest"):
    """`SAMLRequest=…[&RelayState=…][&SigAlg=…&Signature=…]`: DEFLATE + base64,
    URL-encoded; the signature (RSA PKCS#1 v1.5, SHA-256 unless `sig_alg` is
    RSA_SHA1) covers the exact bytes `SAMLRequest=…&RelayState=…&SigAlg=…`
    as they appear. `key` None: no SigAlg and no Signature."""
    parts = [f"{param}={quote_plus(deflate_b64(xml))}"]
    if relay_state is not None:
        parts.append(f"RelayState={quote_plus(relay_state)}")
    if key is None:
        return "&".join(parts)
    parts.append(f"SigAlg={quote_plus(sig_alg)}")
    signed = "&".join(parts).encode()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("redirect_query signs with RSA keys only")
    hash_alg = hashes.SHA1() if sig_alg == RSA_SHA1 else hashes.SHA256()
    signature = key.sign(signed, padding.PKCS1v15(), hash_alg)
    return signed.decode() + "&Signature=" + quote_plus(b64(signature))


def post_form(xml, relay_state=None):
    """The HTTP-POST binding form of a Response."""
    form = {"SAMLResponse": b64(xml)}
    if relay_state is not None:
        form["RelayState"] = relay_state
    return form


# --- Encryption ---------------------------------------------------------------


def encrypt_assertion(xml, sp_cert, algorithm=AES128_CBC):
    """Replace the (already signed) saml:Assertion by a saml:EncryptedAssertion
    for the SP."""
    return encrypt_element(xml, "/*/saml:Assertion", "EncryptedAssertion", sp_cert, algorithm)


def encrypt_element(xml, xpath, wrapper_name, sp_cert, algorithm=AES128_CBC):
    """Replace the one element at `xpath` by saml:<wrapper_name> (e.g.
    EncryptedAssertion, EncryptedID) for the SP: xenc:EncryptedData (Type
    Element, AES-128-CBC or AES-256-GCM) with the content key in
    ds:KeyInfo/xenc:EncryptedKey, RSA-OAEP (SHA-1, MGF1-SHA-1) under the SP
    certificate's public key."""
    root = parse(xml)
    (element,) = root.xpath(xpath, namespaces=NS)
    # Serialized alone it declares every namespace it uses (lxml copies the
    # in-scope declarations), so it parses on its own once decrypted.
    plaintext = etree.tostring(element, with_tail=False)
    if algorithm == AES128_CBC:
        content_key, iv = os.urandom(16), os.urandom(16)
        pad = 16 - len(plaintext) % 16
        # XML Encryption padding: arbitrary bytes, the last one the pad length.
        padded = plaintext + os.urandom(pad - 1) + bytes([pad])
        enc = Cipher(algorithms.AES(content_key), modes.CBC(iv)).encryptor()
        cipher_value = iv + enc.update(padded) + enc.finalize()
    elif algorithm == AES256_GCM:
        content_key, iv = os.urandom(32), os.urandom(12)
        cipher_value = iv + AESGCM(content_key).encrypt(iv, plaintext, None)  # ciphertext || 16-byte tag
    else:
        raise ValueError(algorithm)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    encrypted_key = sp_cert.public_key().encrypt(content_key, oaep)

    wrapper = etree.Element(_q(SAML, wrapper_name), nsmap={"saml": SAML})
    data = etree.SubElement(
        wrapper, _q(XENC, "EncryptedData"), {"Id": new_id(), "Type": ENC_ELEMENT}, nsmap={"xenc": XENC, "ds": DS}
    )
    _sub(data, XENC, "EncryptionMethod", Algorithm=algorithm)
    ek = _sub(_sub(data, DS, "KeyInfo"), XENC, "EncryptedKey")
    method = _sub(ek, XENC, "EncryptionMethod", Algorithm=RSA_OAEP_MGF1P)
    _sub(method, DS, "DigestMethod", Algorithm=SHA1)
    _sub(_sub(ek, XENC, "CipherData"), XENC, "CipherValue", b64(encrypted_key))
    _sub(_sub(data, XENC, "CipherData"), XENC, "CipherValue", b64(cipher_value))
    element.addprevious(wrapper)
    element.getparent().remove(element)
    return serialize(root)


def decrypt_assertion(xml, sp_key):
    """The plaintext of the EncryptedAssertion (what the SP must recover)."""
    root = parse(xml)
    (data,) = root.xpath("/*/saml:EncryptedAssertion/xenc:EncryptedData", namespaces=NS)
    algorithm = data.find(_q(XENC, "EncryptionMethod")).get("Algorithm")
    ek = data.xpath("ds:KeyInfo/xenc:EncryptedKey/xenc:CipherData/xenc:CipherValue/text()", namespaces=NS)[0]
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    content_key = sp_key.decrypt(base64.b64decode(ek), oaep)
    value = base64.b64decode(data.xpath("xenc:CipherData/xenc:CipherValue/text()", namespaces=NS)[0])
    if algorithm == AES128_CBC:
        dec = Cipher(algorithms.AES(content_key), modes.CBC(value[:16])).decryptor()
        padded = dec.update(value[16:]) + dec.finalize()
        return padded[: -padded[-1]]
    if algorithm == AES256_GCM:
        return AESGCM(content_key).decrypt(value[:12], value[12:], None)
    raise ValueError(algorithm)


# --- Attacks ---------------------------------------------------------------------


def make_evil(assertion, name_id=EVIL_NAME_ID):
    """Turn an assertion (in place) into the attacker's: NameID and the
    email / subject-id / pairwise-id attribute values become `name_id`."""
    for n in assertion.xpath("saml:Subject/saml:NameID", namespaces=NS):
        n.text = name_id
    for attr in assertion.xpath("saml:AttributeStatement/saml:Attribute", namespaces=NS):
        if attr.get("Name") in (*EMAIL_ATTRIBUTES, SUBJECT_ID, PAIRWISE_ID):
            for v in attr.findall(_q(SAML, "AttributeValue")):
                v.text = name_id
    return assertion


def strip_signature(el):
    """Remove the element's own ds:Signature children (in place)."""
    for sig in el.findall(_q(DS, "Signature")):
        el.remove(sig)
    return el


def evil_copy(assertion, name_id=EVIL_NAME_ID, fresh_id=True):
    """An unsigned copy of `assertion` for `name_id`, with a fresh ID by default."""
    clone = make_evil(strip_signature(copy.deepcopy(assertion)), name_id)
    if fresh_id:
        clone.set("ID", new_id())
    return clone


# One line each: how the variant is built (after SAML Raider's implementation
# of Somorovsky et al., "On Breaking SAML", 2012). XSW1-2 need a signed
# Response; XSW3-8 a signed Assertion.
XSW_VARIANTS = {
    1: "Response signed: an unsigned copy of the original Response goes inside its ds:Signature; "
    "the root Response gets a fresh ID and the evil assertion.",
    2: "Response signed: an unsigned copy of the original Response goes just before the ds:Signature; "
    "the root Response gets a fresh ID and the evil assertion.",
    3: "Assertion signed: an unsigned evil copy with a fresh ID is inserted before the signed assertion.",
    4: "Assertion signed: an unsigned evil copy with a fresh ID takes the assertion's place "
    "and holds the signed original as its last child.",
    5: "Assertion signed: the signed assertion (keeping its ds:Signature) becomes evil with a fresh ID; "
    "an unsigned copy of the original (original ID) is appended to the Response.",
    6: "Assertion signed: the signed assertion (keeping its ds:Signature) becomes evil with a fresh ID; "
    "an unsigned copy of the original (original ID) goes inside that ds:Signature.",
    7: "Assertion signed: an unsigned evil copy (same ID) goes into samlp:Extensions, before the signed "
    "assertion, which stays as it was.",
    8: "Assertion signed: the signed assertion becomes evil (same ID); an unsigned copy of the original "
    "goes into a ds:Object inside its ds:Signature.",
}


def xsw(variant, signed_xml, evil_name_id=EVIL_NAME_ID):
    """The XML Signature Wrapping variant `variant` (1-8, see XSW_VARIANTS) of
    a validly signed Response: the signature still verifies over the original
    content, while a naive SP reads an assertion for `evil_name_id`."""
    root = parse(signed_xml)
    if variant in (1, 2):
        signature = root.find(_q(DS, "Signature"))
        if signature is None:
            raise ValueError("XSW1/XSW2 need a signed Response")
        original = strip_signature(copy.deepcopy(root))
        if variant == 1:
            signature.append(original)
        else:
            signature.addprevious(original)
        root.set("ID", new_id())
        make_evil(root.find(_q(SAML, "Assertion")), evil_name_id)
        return serialize(root)

    assertion = root.find(_q(SAML, "Assertion"))
    signature = assertion.find(_q(DS, "Signature")) if assertion is not None else None
    if signature is None:
        raise ValueError("XSW3-XSW8 need a signed Assertion")
    if variant == 3:
        assertion.addprevious(evil_copy(assertion, evil_name_id))
    elif variant == 4:
        clone = evil_copy(assertion, evil_name_id)
        assertion.addprevious(clone)
        clone.append(assertion)
    elif variant in (5, 6):
        original = strip_signature(copy.deepcopy(assertion))
        (root if variant == 5 else signature).append(original)
        make_evil(assertion, evil_name_id).set("ID", new_id())
    elif variant == 7:
        extensions = etree.Element(_q(SAMLP, "Extensions"))
        extensions.append(evil_copy(assertion, evil_name_id, fresh_id=False))
        # Schema position: after Issuer (and a Response signature), before Status.
        root.find(_q(SAMLP, "Status")).addprevious(extensions)
    elif variant == 8:
        original = strip_signature(copy.deepcopy(assertion))
        _sub(signature, DS, "Object").append(original)
        make_evil(assertion, evil_name_id)
    else:
        raise ValueError(variant)
    return serialize(root)


def inject_comment(xml, value="user@evil.com.good.com", split_after="user@evil.com"):
    """After signing: `user@evil.com.good.com` → `user@evil.com<!---->.good.com`
    in every text node holding exactly `value` (NameID, email attribute).
    Exclusive C14N drops comments, so the digest stays valid."""
    assert value.startswith(split_after)
    needle = f">{value}<".encode()
    if needle not in xml:
        raise ValueError(f"{value} is not in the message")
    return xml.replace(needle, f">{split_after}<!---->{value[len(split_after):]}<".encode())


def with_doctype(xml, kind):
    """Put a DOCTYPE into a Response (after the XML declaration):
    "internal": an internal entity, used as the NameID text and expanding to
    the very NameID that was signed (a DTD-processing SP would accept it);
    "external": an external entity (file:///etc/passwd) used in a StatusMessage;
    "billion": nested entities (billion laughs) used in a StatusMessage."""
    root = parse(xml)
    declaration, body = XML_DECLARATION, serialize(root)[len(XML_DECLARATION):]
    if kind == "internal":
        name_id = root.xpath("string(//saml:Assertion/saml:Subject/saml:NameID)", namespaces=NS)
        dtd = f'<!DOCTYPE samlp:Response [<!ENTITY who "{name_id}">]>\n'
        body = body.replace(f">{name_id}</saml:NameID>".encode(), b">&who;</saml:NameID>", 1)
    elif kind == "external":
        dtd = '<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        body = body.replace(b"</samlp:Status>", b"<samlp:StatusMessage>&xxe;</samlp:StatusMessage></samlp:Status>", 1)
    elif kind == "billion":
        lines = ['<!ENTITY lol0 "lol">'] + [
            f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)
        ]
        dtd = "<!DOCTYPE samlp:Response [\n" + "\n".join(lines) + "\n]>\n"
        body = body.replace(b"</samlp:Status>", b"<samlp:StatusMessage>&lol9;</samlp:StatusMessage></samlp:Status>", 1)
    else:
        raise ValueError(kind)
    return declaration + dtd.encode() + body
