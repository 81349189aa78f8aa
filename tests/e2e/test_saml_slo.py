"""SAML 2.0 single logout, GET and POST /saml/slo (issue #4), end to end
against the real host: a LogoutRequest signed by the IdP (query-string
signature in the Redirect binding, enveloped XML-DSig in the POST binding)
ends every session of that NameID that logged in through the ACS, and
nobody else's; unsigned, wrongly signed, misaddressed, stale and replayed
LogoutRequests are refused (400) and end nothing."""

import base64

import pytest
import requests

from saml_flows import TIMEOUT, Provider, SamlWorld, assert_alive, assert_ended, person, unique
from saml_idp import RSA_SHA1, Idp, b64, key_and_cert, new_id, redirect_query
from spec import assert_error, assert_valid

ATTACKER = key_and_cert("attacker IdP")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """`acme` and `other`, each with an IdP of its own."""
    providers = []
    for provider_id in ("acme", "other"):
        key, cert = key_and_cert(f"{provider_id} IdP")
        providers.append(Provider(provider_id, Idp(f"https://{provider_id}.idp.example/metadata", key, cert)))
    w = SamlWorld(tmp_path_factory.mktemp("saml-slo"), providers).start()
    yield w
    w.stop()


def session(world, name_id, provider="acme", session_index=None):
    """A login through the ACS; returns its tokens."""
    kw = {"session_index": session_index} if session_index else {}
    return world.login(provider, name_id=name_id, attributes=person(name_id), **kw)


def logout_request(world, name_id, provider="acme", **kw):
    kw.setdefault("destination", world.slo)
    return world.idp(provider).logout_request(name_id=name_id, **kw)


def slo_get(world, query):
    return requests.get(world.slo + "?" + query, allow_redirects=False, timeout=TIMEOUT)


def slo_post(world, form):
    return requests.post(world.slo, data=form, allow_redirects=False, timeout=TIMEOUT)


def assert_logged_out(r, method):
    body = assert_valid(r, "/saml/slo", method, 200)
    assert body["message"], body


def test_redirect_logout_ends_every_session_of_that_name_id_only(world):
    alice, bob = unique("alice"), unique("bob")
    first, second = session(world, alice), session(world, alice)
    bobs = session(world, bob)
    query = world.idp("acme").redirect_query(logout_request(world, alice), relay_state="after-logout")
    assert "&SigAlg=" in query and "&Signature=" in query
    assert_logged_out(slo_get(world, query), "get")
    assert_ended(world.host, first)
    assert_ended(world.host, second)
    assert_alive(world.host, bobs)


def test_post_logout_with_session_index_ends_the_session(world):
    alice, bob = unique("alice"), unique("bob")
    index = new_id()
    tokens = session(world, alice, session_index=index)
    bobs = session(world, bob)
    form = world.idp("acme").post_logout(logout_request(world, alice, session_index=index))
    assert_logged_out(slo_post(world, form), "post")
    assert_ended(world.host, tokens)
    assert_alive(world.host, bobs)


def test_redirect_logout_without_relay_state(world):
    alice = unique("alice")
    tokens = session(world, alice)
    query = world.idp("acme").redirect_query(logout_request(world, alice))
    assert "RelayState" not in query
    assert_logged_out(slo_get(world, query), "get")
    assert_ended(world.host, tokens)


def test_logout_from_one_idp_leaves_the_same_name_id_at_another_idp_alone(world):
    """Sessions are ended for the NameID of the IdP that asked, not for a
    user of another provider who happens to have the same NameID."""
    name_id = unique("shared")
    acme, other = session(world, name_id, "acme"), session(world, name_id, "other")
    query = world.idp("acme").redirect_query(logout_request(world, name_id))
    assert_logged_out(slo_get(world, query), "get")
    assert_ended(world.host, acme)
    assert_alive(world.host, other)


# --- Refusals: 400, and the session stays alive -------------------------------------


def _redirect_unsigned(world, name_id):
    return slo_get(world, world.idp("acme").redirect_query(logout_request(world, name_id), "rs", key=None))


def _redirect_signed_by_another_key(world, name_id):
    return slo_get(world, world.idp("acme").redirect_query(logout_request(world, name_id), "rs", key=ATTACKER[0]))


def _redirect_signature_without_sig_alg(world, name_id):
    query = world.idp("acme").redirect_query(logout_request(world, name_id), "rs")
    signed, _, signature = query.partition("&Signature=")
    without = "&".join(p for p in signed.split("&") if not p.startswith("SigAlg="))
    return slo_get(world, without + "&Signature=" + signature)


def _redirect_relay_state_changed_after_signing(world, name_id):
    query = world.idp("acme").redirect_query(logout_request(world, name_id), "rs")
    return slo_get(world, query.replace("RelayState=rs", "RelayState=other", 1))


def _redirect_request_changed_after_signing(world, name_id):
    """The victim's LogoutRequest with the RelayState, SigAlg and Signature
    the IdP sent for somebody else's."""
    signed = world.idp("acme").redirect_query(logout_request(world, "someone-else@acme.example"), "rs")
    forged = world.idp("acme").redirect_query(logout_request(world, name_id), key=None)
    return slo_get(world, forged + "&" + signed.split("&", 1)[1])


def _post_unsigned(world, name_id):
    return slo_post(world, world.idp("acme").post_logout(logout_request(world, name_id), sign=False))


def _post_signed_by_another_key(world, name_id):
    form = world.idp("acme").post_logout(logout_request(world, name_id), key=ATTACKER[0], cert=ATTACKER[1])
    return slo_post(world, form)


def _post_changed_after_signing(world, name_id):
    form = world.idp("acme").post_logout(logout_request(world, "someone-else@acme.example"))
    xml = base64.b64decode(form["SAMLRequest"]).replace(b"someone-else@acme.example", name_id.encode())
    return slo_post(world, {"SAMLRequest": b64(xml)})


def _post_signed_by_another_configured_idp(world, name_id):
    other = world.idp("other")
    form = world.idp("acme").post_logout(logout_request(world, name_id), key=other.key, cert=other.cert)
    return slo_post(world, form)


def _wrong_issuer(world, name_id):
    xml = logout_request(world, name_id, issuer="https://unknown.idp.example/metadata")
    return slo_get(world, world.idp("acme").redirect_query(xml, "rs"))


def _wrong_destination(world, name_id):
    xml = logout_request(world, name_id, destination="https://evil.example/saml/slo")
    return slo_post(world, world.idp("acme").post_logout(xml))


def _stale_issue_instant(world, name_id):
    xml = logout_request(world, name_id, issue_instant=-240)  # the skew is 180 s
    return slo_get(world, world.idp("acme").redirect_query(xml, "rs"))


def _issued_in_the_future(world, name_id):
    xml = logout_request(world, name_id, issue_instant=600)
    return slo_post(world, world.idp("acme").post_logout(xml))


def _not_a_logout_request(world, name_id):
    login = world.start_login("acme")
    xml = world.response("acme", login, name_id=name_id, attributes=person(name_id))
    return slo_post(world, {"SAMLRequest": b64(xml)})


def _not_base64(world, name_id):
    return slo_post(world, {"SAMLRequest": "%%% not base64"})


def _missing(world, name_id):
    return slo_get(world, "RelayState=rs")


def _doctype(world, name_id):
    signed = base64.b64decode(world.idp("acme").post_logout(logout_request(world, name_id))["SAMLRequest"])
    dtd = b'<!DOCTYPE samlp:LogoutRequest [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    xml = signed.replace(b"?>\n", b"?>\n" + dtd, 1)
    assert dtd in xml
    return slo_post(world, {"SAMLRequest": b64(xml)})


REFUSALS = [
    _redirect_unsigned,
    _redirect_signed_by_another_key,
    _redirect_signature_without_sig_alg,
    _redirect_relay_state_changed_after_signing,
    _redirect_request_changed_after_signing,
    _post_unsigned,
    _post_signed_by_another_key,
    _post_changed_after_signing,
    _post_signed_by_another_configured_idp,
    _wrong_issuer,
    _wrong_destination,
    _stale_issue_instant,
    _issued_in_the_future,
    _not_a_logout_request,
    _not_base64,
    _missing,
    _doctype,
]


@pytest.mark.parametrize("attempt", REFUSALS, ids=lambda f: f.__name__.lstrip("_"))
def test_refused_logout_request_ends_nothing(world, attempt):
    name_id = unique("victim")
    tokens = session(world, name_id)
    r = attempt(world, name_id)
    assert_error(r, 400)
    assert_alive(world.host, tokens)


def test_replayed_logout_request_is_refused(world):
    """The first delivery ends the session; the same LogoutRequest (same ID)
    again is refused and does not end the user's new session."""
    alice = unique("alice")
    first = session(world, alice)
    xml = logout_request(world, alice)
    query = world.idp("acme").redirect_query(xml, "rs")
    assert_logged_out(slo_get(world, query), "get")
    assert_ended(world.host, first)

    second = session(world, alice)
    assert_error(slo_get(world, query), 400)
    assert_error(slo_post(world, world.idp("acme").post_logout(xml)), 400)
    assert_alive(world.host, second)


def test_sha1_redirect_signature_is_refused(world):
    """SHA-1 is refused unless the provider allows it (allow_sha1 is off)."""
    alice = unique("alice")
    tokens = session(world, alice)
    sha1 = redirect_query(logout_request(world, alice), "rs", world.idp("acme").key, sig_alg=RSA_SHA1)
    assert "rsa-sha1" in sha1
    assert_error(slo_get(world, sha1), 400)
    assert_alive(world.host, tokens)
