"""SAML 2.0 service provider, POST /saml/acs (issue #4), end to end against
the real host: SP- and IdP-initiated logins with Responses signed by a real
XML-DSig signer (signxml, see saml_idp.py), the tokens they yield, and the
attacks that must all fail (no tokens, the spec's Error body): unsigned and
foreign signatures, SHA-1, XSW1-XSW8, comment truncation, DTDs, time
windows, wrong Audience / Recipient / Destination / Issuer / Status,
InResponseTo and assertion replay, malformed and oversized input. Also the
SP metadata, read back by pysaml2."""

from importlib.resources import files

import pytest
from lxml import etree
import requests
import saml2.data.schemas
from saml2.attribute_converter import ac_factory
from saml2.mdstore import InMemoryMetaData
from saml2.xml.schema import _create_xml_schema_validator
from saml2.xml.schema import validate as schema_validate

from conftest import CALLBACK
from flows import pkce_pair, query, redeem
from saml_flows import (
    TIMEOUT,
    Provider,
    SamlWorld,
    assert_rejected,
    b64,
    fragment_tokens,
    groups_seen,
    person,
    post_acs,
    unique,
    userinfo,
    verified_claims,
)
from saml_idp import (
    AES128_CBC,
    AES256_GCM,
    EVIL_NAME_ID,
    PAIRWISE_ID,
    POST,
    REDIRECT,
    RSA_SHA1,
    SHA1,
    STATUS_AUTHN_FAILED,
    STATUS_RESPONDER,
    SUBJECT_ID,
    NAMEID_TRANSIENT,
    SAML,
    XSW_VARIANTS,
    Idp,
    der_b64,
    encrypt_assertion,
    encrypt_element,
    evil_copy,
    inject_comment,
    key_and_cert,
    new_id,
    parse,
    serialize,
    with_doctype,
    xsw,
)
from spec import assert_valid

ATTACKER = key_and_cert("attacker IdP")
ATTACKER_EC = key_and_cert("attacker IdP (EC)", kind="ec")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Providers, each with an IdP of its own (entity ID and key):
    `acme` (defaults), `acme-sha1` (allow_sha1), `acme-unsolicited`
    (allow_idp_initiated), `acme-ec` (an ECDSA P-256 signing certificate,
    next to an RSA one) and `acme-mapped` (configured attribute names)."""

    def idp(name, kind="rsa", **kw):
        key, cert = key_and_cert(f"{name} IdP", kind)
        return Idp(f"https://{name}.idp.example/metadata", key, cert, **kw)

    providers = [
        Provider("acme", idp("acme"), "sign_authn_requests = true"),
        Provider("acme-sha1", idp("sha1"), "allow_sha1 = true"),
        Provider("acme-unsolicited", idp("unsolicited"), "allow_idp_initiated = true"),
        Provider("acme-ec", idp("ec", "ec", extra_certs=[key_and_cert("ec IdP (RSA)")[1]])),
        Provider(
            "acme-mapped",
            idp("mapped"),
            'attributes = { email = "corpEmail", name = "fullName", groups = "roles" }',
        ),
    ]
    w = SamlWorld(tmp_path_factory.mktemp("saml-acs"), providers).start()
    yield w
    w.stop()


def check_user(world, tokens, provider, sub, email, name="Alice Example", groups=("eng", "ops")):
    """What a client sees of the user: the verified token, userinfo, groups."""
    claims = verified_claims(world.host, tokens["access_token"])
    assert claims["sub"] == sub, claims
    assert claims["email"] == email, claims
    assert claims["idp"] == provider, claims
    assert sorted(claims["groups"]) == sorted(groups), claims
    me = userinfo(world.host, tokens["access_token"])
    assert (me["email"], me["name"], me["idp"]) == (email, name, provider), me
    if groups:
        assert set(groups) <= groups_seen(world.host, provider, tokens["access_token"])
    return claims


def respond(world, provider="acme", login=None, name_id=None, **kw):
    """A fresh login (unless given) and the IdP's answer to it: (login, xml)."""
    login = login or world.start_login(provider)
    name_id = name_id or unique()
    kw.setdefault("attributes", person(name_id))
    return login, world.response(provider, login, name_id=name_id, **kw)


# --- Successful logins -------------------------------------------------------


def test_sp_initiated_login_puts_tokens_in_the_callback_fragment(world):
    name_id = unique("alice")
    login = world.start_login("acme", state="client-state-1")
    xml = world.response("acme", login, name_id=name_id, attributes=person(name_id, groups=["eng", "saml-marker"]))
    r = world.post(xml, login.relay_state)
    tokens = fragment_tokens(r, state="client-state-1")
    claims = check_user(world, tokens, "acme", name_id, name_id, groups=("eng", "saml-marker"))
    assert claims["exp"] - claims["iat"] == int(tokens["expires_in"])
    # The same NameID logging in again is the same user.
    again = world.login("acme", name_id=name_id, attributes=person(name_id, groups=["eng", "saml-marker"]))
    assert userinfo(world.host, again["access_token"])["id"] == userinfo(world.host, tokens["access_token"])["id"]


@pytest.mark.parametrize("attribute", [SUBJECT_ID, PAIRWISE_ID])
def test_user_id_comes_from_subject_id_or_pairwise_id(world, attribute):
    email = unique("sid")
    user_id = f"{new_id()[1:]}@acme.example"
    attrs = person(email, **{attribute: user_id})
    tokens = world.login("acme", name_id=new_id(), name_id_format=NAMEID_TRANSIENT, attributes=attrs)
    check_user(world, tokens, "acme", user_id, email)


@pytest.mark.parametrize(
    "names",
    [
        ("mail", "displayName", "groups"),
        ("email", "displayName", "memberOf"),
        ("urn:oid:0.9.2342.19200300.100.1.3", "urn:oid:2.16.840.1.113730.3.1.241", "memberOf"),
    ],
    ids=["mail", "email_memberOf", "oids"],
)
def test_well_known_attribute_names_are_mapped(world, names):
    email = unique("wk")
    attrs = {names[0]: email, names[1]: "Wanda Known", names[2]: ["wk-a", "wk-b"]}
    tokens = world.login("acme", name_id=email, attributes=attrs)
    check_user(world, tokens, "acme", email, email, name="Wanda Known", groups=("wk-a", "wk-b"))


def test_configured_attribute_names_come_first(world):
    email = unique("mapped")
    attrs = {
        "corpEmail": email,
        "fullName": "Mapped Person",
        "roles": ["mapped-admins", "mapped-users"],
        "mail": "decoy@acme.example",
        "displayName": "Decoy",
    }
    tokens = world.login("acme-mapped", name_id=email, attributes=attrs)
    check_user(world, tokens, "acme-mapped", email, email, name="Mapped Person", groups=("mapped-admins", "mapped-users"))


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_login_with_code_challenge_yields_a_one_time_code(world, form):
    verifier, challenge = pkce_pair()
    login = world.start_login("acme", state="pkce-state", code_challenge=challenge)
    email = unique("pkce")
    r = world.post(world.response("acme", login, name_id=email, attributes=person(email)), login.relay_state)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "?"), location
    assert "access_token" not in location and "#" not in location
    q = query(location)
    assert q["state"] == "pkce-state" and q["code"]
    tokens = assert_valid(redeem(world.host, q["code"], verifier, form=form), "/oauth2/token", "POST", 200)
    check_user(world, tokens, "acme", email, email)
    assert redeem(world.host, q["code"], verifier).status_code == 400  # single use


@pytest.mark.parametrize(
    "sign",
    ["assertion", "response", "both"],
    ids=["assertion_signed", "response_signed", "response_and_assertion_signed"],
)
def test_signed_response_or_assertion_is_accepted(world, sign):
    email = unique(sign)
    tokens = world.login("acme", name_id=email, attributes=person(email), sign=sign)
    check_user(world, tokens, "acme", email, email)


def test_ecdsa_signed_assertion_is_accepted_when_the_metadata_has_the_ec_certificate(world):
    email = unique("ecdsa")
    login, xml = respond(world, "acme-ec", name_id=email)
    assert b"ecdsa-sha256" in xml
    tokens = fragment_tokens(world.post(xml, login.relay_state))
    check_user(world, tokens, "acme-ec", email, email)


@pytest.mark.parametrize("digest", [SHA1, None], ids=["sha1_digest", "sha256_digest"])
def test_sha1_signature_is_accepted_where_allowed(world, digest):
    email = unique("sha1")
    kw = {"digest": digest} if digest else {}
    login, xml = respond(world, "acme-sha1", name_id=email, algorithm=RSA_SHA1, **kw)
    tokens = fragment_tokens(world.post(xml, login.relay_state))
    check_user(world, tokens, "acme-sha1", email, email)


@pytest.mark.parametrize("algorithm", [AES128_CBC, AES256_GCM], ids=["aes128_cbc", "aes256_gcm"])
def test_encrypted_assertion_is_decrypted(world, algorithm):
    email = unique("enc")
    login, xml = respond(world, name_id=email)
    encrypted = encrypt_assertion(xml, world.sp_cert, algorithm)
    assert email.encode() not in encrypted
    tokens = fragment_tokens(world.post(encrypted, login.relay_state))
    check_user(world, tokens, "acme", email, email)


def test_encrypted_name_id_is_decrypted(world):
    """An EncryptedID in the Subject, encrypted for the SP before the IdP
    signs the assertion."""
    email = unique("enc-id")
    login, xml = respond(world, name_id=email, sign=None)
    xml = encrypt_element(xml, "//saml:Subject/saml:NameID", "EncryptedID", world.sp_cert, AES256_GCM)
    subject = parse(xml).find(f".//{{{SAML}}}Subject")
    assert [etree.QName(e).localname for e in subject][0] == "EncryptedID", "the NameID is encrypted"
    tokens = fragment_tokens(world.post(world.idp("acme").sign(xml, "assertion"), login.relay_state))
    check_user(world, tokens, "acme", email, email)


def test_encrypted_unsigned_assertion_in_a_signed_response_is_accepted(world):
    """The Response signature covers the EncryptedAssertion (CONTRACT: the
    Response or the Assertion is signed)."""
    email = unique("enc-resp")
    login, xml = respond(world, name_id=email, sign=None)
    encrypted = world.idp("acme").sign(encrypt_assertion(xml, world.sp_cert, AES256_GCM), "response")
    tokens = fragment_tokens(world.post(encrypted, login.relay_state))
    check_user(world, tokens, "acme", email, email)


# --- IdP-initiated logins ------------------------------------------------------


def test_idp_initiated_login_with_a_callback_relay_state(world):
    email = unique("unsolicited")
    xml = world.response("acme-unsolicited", name_id=email, attributes=person(email))
    assert b"InResponseTo" not in xml
    tokens = fragment_tokens(world.post(xml, CALLBACK))
    check_user(world, tokens, "acme-unsolicited", email, email)


def test_idp_initiated_login_without_relay_state_answers_tokens(world):
    email = unique("unsolicited")
    r = world.post(world.response("acme-unsolicited", name_id=email, attributes=person(email)))
    tokens = assert_valid(r, "/saml/acs", "post", 200)
    assert tokens["token_type"] == "Bearer"
    check_user(world, tokens, "acme-unsolicited", email, email)


def test_idp_initiated_login_never_redirects_to_a_foreign_relay_state(world):
    email = unique("unsolicited")
    r = world.post(world.response("acme-unsolicited", name_id=email, attributes=person(email)), "https://evil.example/cb")
    # Refused, or tokens in the response body; never sent to evil.example.
    assert r.status_code in (200, 400, 401), r.text
    assert not r.headers.get("location", "").startswith("https://evil.example"), r.headers


def test_idp_initiated_login_is_refused_where_not_allowed(world):
    email = unique("unsolicited")
    for relay_state in (None, CALLBACK):
        r = world.post(world.response("acme", name_id=email, attributes=person(email)), relay_state)
        assert_rejected(r)


def test_idp_initiated_provider_is_chosen_by_issuer_and_audience(world):
    """An unsolicited Response from the IdP of `acme-unsolicited` addressed to
    another provider's entity ID matches no provider that allows it."""
    email = unique("unsolicited")
    for audience in (world.audience("acme"), world.audience("acme-sha1"), "https://other-sp.example/metadata"):
        xml = world.response("acme-unsolicited", name_id=email, attributes=person(email), audience=audience)
        assert_rejected(world.post(xml))


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """One IdP (one entity ID) registered twice: `twin-open` allows
    IdP-initiated login, `twin-closed` does not."""
    key, cert = key_and_cert("twin IdP")
    idp = Idp("https://twin.idp.example/metadata", key, cert)
    providers = [
        Provider("twin-open", idp, "allow_idp_initiated = true"),
        Provider("twin-closed", idp),
    ]
    w = SamlWorld(tmp_path_factory.mktemp("saml-twins"), providers).start()
    yield w
    w.stop()


def test_same_idp_two_providers_audience_decides(twins):
    email = unique("twin")
    closed = twins.response("twin-closed", name_id=email, attributes=person(email))
    assert_rejected(twins.post(closed))
    opened = twins.response("twin-open", name_id=email, attributes=person(email))
    tokens = assert_valid(twins.post(opened), "/saml/acs", "post", 200)
    check_user(twins, tokens, "twin-open", email, email)
    # SP-initiated logins work for both.
    check_user(twins, twins.login("twin-closed", name_id=email, attributes=person(email)), "twin-closed", email, email)


# --- Signatures ------------------------------------------------------------------


def _unsigned(world):
    return {}


def _foreign_key(world):
    return {"key": ATTACKER[0], "cert": ATTACKER[1]}


def _foreign_ec_key(world):
    return {"key": ATTACKER_EC[0], "cert": ATTACKER_EC[1]}


def _another_idps_key(world):
    idp = world.idp("acme-sha1")
    return {"key": idp.key, "cert": idp.cert}


def _sha1(world):
    return {"algorithm": RSA_SHA1, "digest": SHA1}


def _sha1_signature_sha256_digest(world):
    return {"algorithm": RSA_SHA1}


def _sha1_digest(world):
    return {"digest": SHA1}


BAD_SIGNATURES = [(_unsigned, None)] + [
    (variant, sign)
    for variant in (_foreign_key, _foreign_ec_key, _another_idps_key, _sha1, _sha1_signature_sha256_digest, _sha1_digest)
    for sign in ("assertion", "response")
]


@pytest.mark.parametrize(
    "variant,sign", BAD_SIGNATURES, ids=[f"{v.__name__.lstrip('_')}-{s or 'none'}" for v, s in BAD_SIGNATURES]
)
def test_bad_signature_is_rejected(world, variant, sign):
    login, xml = respond(world, sign=sign, **variant(world))
    assert_rejected(world.post(xml, login.relay_state), 401)


def test_content_changed_after_signing_is_rejected(world):
    victim = unique("victim")
    for sign in ("assertion", "response", "both"):
        login, xml = respond(world, name_id=victim, sign=sign)
        tampered = xml.replace(f">{victim}<".encode(), f">{EVIL_NAME_ID}<".encode())
        assert_rejected(world.post(tampered, login.relay_state), 401)


def test_assertion_signed_by_the_idp_but_response_by_an_attacker_is_rejected(world):
    """The assertion's own signature is fine, but a signature the SP cannot
    verify on the Response must not be ignored."""
    login, xml = respond(world)
    xml = world.idp("acme").sign(xml, "response", key=ATTACKER[0], cert=ATTACKER[1])
    assert_rejected(world.post(xml, login.relay_state), 401)


@pytest.mark.parametrize("variant", sorted(XSW_VARIANTS), ids=lambda v: f"XSW{v}")
def test_signature_wrapping_is_rejected(world, variant):
    victim = unique("victim")
    login, signed = respond(world, name_id=victim, sign="response" if variant in (1, 2) else "assertion")
    wrapped = xsw(variant, signed)
    assert EVIL_NAME_ID.encode() in wrapped
    assert_rejected(world.post(wrapped, login.relay_state))


def test_unsigned_assertion_next_to_an_encrypted_signed_one_is_rejected(world):
    """XSW3 with encryption: the evil assertion sits in clear before the
    signed, encrypted original."""
    login, signed = respond(world)
    evil = evil_copy(parse(signed).find(f"{{{SAML}}}Assertion"))
    wrapped = parse(encrypt_assertion(signed, world.sp_cert))
    wrapped.find(f"{{{SAML}}}EncryptedAssertion").addprevious(evil)
    assert_rejected(world.post(serialize(wrapped), login.relay_state))


def test_comment_in_name_id_never_truncates_it(world):
    """`user@evil.com<!---->.good.com`: exclusive C14N ignores the comment,
    so the signature holds; the SP must use the whole value or refuse."""
    full = "user@evil.com.good.com"
    login, xml = respond(world, name_id=full, attributes=person(full))
    injected = inject_comment(xml)
    assert b"user@evil.com<!---->.good.com" in injected
    r = world.post(injected, login.relay_state)
    if r.status_code == 302:
        tokens = fragment_tokens(r)
        claims = check_user(world, tokens, "acme", full, full)
        assert claims["sub"] != "user@evil.com" and claims["email"] != "user@evil.com"
    else:
        assert_rejected(r)


# --- XML hazards -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["internal", "external", "billion"])
def test_doctype_is_refused(world, kind):
    login, xml = respond(world)
    assert_rejected(world.post(with_doctype(xml, kind), login.relay_state), 400)


# --- Conditions, subject confirmation, time windows -------------------------


REJECTED_FIELDS = {
    "audience": lambda w, login: {"audience": "https://other-sp.example/saml/metadata"},
    "audience_of_another_provider": lambda w, login: {"audience": w.audience("acme-sha1")},
    "recipient": lambda w, login: {"recipient": "https://evil.example/saml/acs"},
    "destination": lambda w, login: {"destination": "https://evil.example/saml/acs"},
    "response_issuer": lambda w, login: {
        "issuer": "https://unknown.idp.example/metadata", "assertion_issuer": w.idp("acme").entity_id
    },
    "assertion_issuer": lambda w, login: {"assertion_issuer": "https://unknown.idp.example/metadata"},
    "issuer_of_another_provider": lambda w, login: {"issuer": w.idp("acme-sha1").entity_id},
    "status_responder": lambda w, login: {"status": STATUS_RESPONDER, "sub_status": STATUS_AUTHN_FAILED},
    "unknown_in_response_to": lambda w, login: {"in_response_to": new_id()},
    "response_in_response_to_only": lambda w, login: {
        "in_response_to": new_id(), "subject_in_response_to": login.request_id
    },
    "subject_in_response_to_only": lambda w, login: {"subject_in_response_to": new_id()},
    "missing_in_response_to": lambda w, login: {"in_response_to": None},
    # Times (offsets from now, seconds); the default skew is 180 s.
    "expired": lambda w, login: {"issue_instant": -3900, "not_before": -3930, "not_on_or_after": -3600},
    "subject_confirmation_expired": lambda w, login: {"subject_not_on_or_after": -600},
    "not_yet_valid": lambda w, login: {"not_before": 600, "not_on_or_after": 900},
    "issued_in_the_future": lambda w, login: {"issue_instant": 600, "not_on_or_after": 900},
    "expired_200s_ago": lambda w, login: {"issue_instant": -230, "not_before": -290, "not_on_or_after": -200},
    "valid_from_240s_ahead": lambda w, login: {"not_before": 240, "not_on_or_after": 600},
}


@pytest.mark.parametrize("case", sorted(REJECTED_FIELDS))
def test_wrong_field_is_rejected(world, case):
    login = world.start_login("acme")
    login, xml = respond(world, login=login, **REJECTED_FIELDS[case](world, login))
    assert_rejected(world.post(xml, login.relay_state), 401)


@pytest.mark.parametrize(
    "times",
    [
        {"issue_instant": -90, "not_before": -150, "not_on_or_after": -60},
        {"not_before": 60, "not_on_or_after": 600},
    ],
    ids=["expired_60s_ago", "valid_from_60s_ahead"],
)
def test_times_within_the_clock_skew_are_accepted(world, times):
    email = unique("skew")
    login, xml = respond(world, name_id=email, **times)
    check_user(world, fragment_tokens(world.post(xml, login.relay_state)), "acme", email, email)


# --- Replay ---------------------------------------------------------------------


def test_resubmitted_response_is_rejected(world):
    email = unique("replay")
    login, xml = respond(world, name_id=email)
    fragment_tokens(world.post(xml, login.relay_state))
    assert_rejected(world.post(xml, login.relay_state), 401)


def test_second_response_to_an_answered_request_is_rejected(world):
    login, first = respond(world)
    fragment_tokens(world.post(first, login.relay_state))
    _, second = respond(world, login=login)  # new assertion ID, same InResponseTo
    assert_rejected(world.post(second, login.relay_state), 401)


def test_assertion_id_seen_before_is_rejected_in_a_new_login(world):
    email = unique("replay")
    assertion_id = new_id()
    login, first = respond(world, name_id=email, assertion_id=assertion_id)
    fragment_tokens(world.post(first, login.relay_state))
    login2, second = respond(world, name_id=email, assertion_id=assertion_id)
    assert_rejected(world.post(second, login2.relay_state), 401)


def test_replayed_idp_initiated_assertion_is_rejected(world):
    email = unique("replay")
    xml = world.response("acme-unsolicited", name_id=email, attributes=person(email))
    assert_valid(world.post(xml), "/saml/acs", "post", 200)
    assert_rejected(world.post(xml), 401)
    # The same assertion ID inside a freshly made Response too.
    (assertion_id,) = parse(xml).xpath("/*/*[local-name()='Assertion']/@ID")
    again = world.response("acme-unsolicited", name_id=email, attributes=person(email), assertion_id=assertion_id)
    assert_rejected(world.post(again), 401)


# --- Malformed input -------------------------------------------------------------


def test_malformed_posts_are_400(world):
    login, xml = respond(world)
    host = world.host
    cases = {
        "not_base64": {"SAMLResponse": "%%% not base64 !!!", "RelayState": login.relay_state},
        "not_xml": {"SAMLResponse": b64("this is not XML"), "RelayState": login.relay_state},
        "truncated_xml": {"SAMLResponse": b64(xml[: len(xml) // 2]), "RelayState": login.relay_state},
        "empty": {"SAMLResponse": "", "RelayState": login.relay_state},
        "missing": {"RelayState": login.relay_state},
    }
    for name, data in cases.items():
        r = post_acs(host, data)
        assert r.status_code == 400, (name, r.status_code, r.text)
        assert_rejected(r, 400)
    r = requests.post(host.url("/saml/acs"), json={"SAMLResponse": b64(xml)}, allow_redirects=False, timeout=TIMEOUT)
    assert_rejected(r, 400)


def test_xml_that_is_no_response_is_rejected(world):
    login, xml = respond(world)
    for doc in (b"<foo/>", world.idp("acme").logout_request(destination=world.acs, name_id="x@acme.example")):
        assert_rejected(post_acs(world.host, {"SAMLResponse": b64(doc), "RelayState": login.relay_state}))


def test_oversized_response_is_400(world):
    email = unique("big")
    login, xml = respond(world, name_id=email, attributes=person(email, padding="x" * 80_000))
    assert len(b64(xml)) > 100_000
    assert_rejected(world.post(xml, login.relay_state), 400)
    # Too large by size alone (valid base64, not a Response): a 400 too.
    assert_rejected(post_acs(world.host, {"SAMLResponse": "A" * 100_004}), 400)


def test_response_encrypted_to_another_key_is_rejected(world):
    login, xml = respond(world)
    assert_rejected(world.post(encrypt_assertion(xml, ATTACKER[1]), login.relay_state))


def test_encrypted_unsigned_assertion_is_rejected(world):
    """Anyone can encrypt to the SP's public certificate: no authentication."""
    login, xml = respond(world, sign=None)
    assert_rejected(world.post(encrypt_assertion(xml, world.sp_cert), login.relay_state), 401)


# --- Metadata through pysaml2 ------------------------------------------------------


def test_sp_metadata_round_trips_through_pysaml2(world):
    r = requests.get(world.host.url("/saml/acme/metadata"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    metadata_xsd = files(saml2.data.schemas).joinpath("saml-schema-metadata-2.0.xsd")
    schema_validate(r.content, _create_xml_schema_validator(str(metadata_xsd)))
    md = InMemoryMetaData(ac_factory(), r.text)
    md.load()
    entity_id = world.audience("acme")
    assert list(md.keys()) == [entity_id]
    acs = md.service(entity_id, "spsso_descriptor", "assertion_consumer_service")
    assert {b: [s["location"] for s in v] for b, v in acs.items()} == {POST: [world.acs]}
    slo = md.service(entity_id, "spsso_descriptor", "single_logout_service")
    assert {b: [s["location"] for s in v] for b, v in slo.items()} == {REDIRECT: [world.slo], POST: [world.slo]}
    sp_cert = der_b64(world.sp_cert)
    for use in ("signing", "encryption"):
        assert ["".join(c.split()) for _, c in md.certs(entity_id, "spsso", use)] == [sp_cert], use
