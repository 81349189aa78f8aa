"""The SAML flows as the ACS and SLO tests drive them against the real host:
a host configured with [[saml_providers]] whose IdPs are saml_idp.Idp
instances, SP-initiated logins, posting Responses to /saml/acs, reading the
tokens back and checking sessions."""

import base64
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests

from conftest import CALLBACK, RELAXED_LIMITS, Host
from flows import bearer
from saml_idp import Idp, authn_request, key_and_cert, post_form, saml_env
from spec import assert_error, assert_valid

TIMEOUT = 30  # seconds for one request (a billion-laughs expansion must not hang the suite)


@dataclass
class Provider:
    """One [[saml_providers]] table and the IdP behind it."""

    id: str
    idp: Idp
    extra: str = ""  # more TOML lines of the table

    def toml(self):
        return f"""
[[saml_providers]]
id = "{self.id}"
name = "{self.id} IdP"
idp_metadata = '''{self.idp.metadata()}'''
{self.extra}
"""


@dataclass
class Login:
    """An SP-initiated login in progress: what the IdP needs to answer it."""

    provider: str
    request_id: str
    relay_state: str
    location: str


def unique(prefix="user", domain="acme.example"):
    return f"{prefix}-{secrets.token_hex(4)}@{domain}"


def person(email, name="Alice Example", groups=("eng", "ops"), **more):
    """Attributes under the well-known names (mail, displayName, groups)."""
    attrs = {"mail": email, "displayName": name, "groups": list(groups)}
    attrs.update(more)
    return attrs


class SamlWorld:
    """A running host and the IdPs of its SAML providers."""

    def __init__(self, root, providers, sp=None):
        self.sp_key, self.sp_cert = sp or key_and_cert("tmi-auth SP")
        self.providers = {p.id: p for p in providers}
        config = RELAXED_LIMITS + "".join(p.toml() for p in providers)
        env = saml_env(self.sp_key, self.sp_cert, *self.providers)
        self.host = Host(root / "data", config=config, env=env)

    def start(self):
        self.host.start()
        self.acs = self.host.url("/saml/acs")
        self.slo = self.host.url("/saml/slo")
        return self

    def stop(self):
        self.host.stop()

    def idp(self, provider):
        return self.providers[provider].idp

    def audience(self, provider):
        """The provider's default sp_entity_id."""
        return self.host.url(f"/saml/{provider}/metadata")

    # -- SP-initiated login --

    def start_login(self, provider="acme", **params):
        params.setdefault("client_callback", CALLBACK)
        if params.get("code_challenge"):
            params.setdefault("code_challenge_method", "S256")
        query = urlencode({k: v for k, v in params.items() if v is not None})
        r = requests.get(self.host.url(f"/saml/{provider}/login?{query}"), allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 302, (r.status_code, r.text)
        location = r.headers["location"]
        assert location.startswith(self.idp(provider).sso_url + "?"), location
        request, q = authn_request(location)
        return Login(provider, request.get("ID"), q["RelayState"][0], location)

    def response(self, provider="acme", login=None, **kw):
        """The IdP's Response to `login` (or unsolicited when None)."""
        kw.setdefault("acs_url", self.acs)
        kw.setdefault("audience", self.audience(provider))
        if login is not None:
            kw.setdefault("in_response_to", login.request_id)
        return self.idp(provider).response(**kw)

    def post(self, xml, relay_state=None):
        """The browser's POST of the IdP's form to /saml/acs."""
        return post_acs(self.host, post_form(xml, relay_state))

    def login(self, provider="acme", name_id=None, attributes=None, state=None, **kw):
        """A complete SP-initiated login; returns the fragment's tokens."""
        name_id = name_id or unique()
        login = self.start_login(provider, state=state)
        xml = self.response(provider, login, name_id=name_id, attributes=attributes or person(name_id), **kw)
        r = self.post(xml, login.relay_state)
        return fragment_tokens(r, state)


def post_acs(host, data, **kwargs):
    return requests.post(host.url("/saml/acs"), data=data, allow_redirects=False, timeout=TIMEOUT, **kwargs)


def fragment(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}


def fragment_tokens(r, state=None, callback=CALLBACK):
    """A 302 to the client callback with the tokens in the fragment."""
    assert r.status_code == 302, (r.status_code, r.text)
    location = r.headers["location"]
    assert location.startswith(callback + "#"), location
    assert urlsplit(location).query == "", location  # never tokens in the query
    tokens = fragment(location)
    assert tokens["token_type"] == "Bearer", tokens
    assert tokens["access_token"] and tokens["refresh_token"], tokens
    assert int(tokens["expires_in"]) > 0, tokens
    if state is not None:
        assert tokens["state"] == state, tokens
    return tokens


def assert_rejected(r, statuses=(400, 401)):
    """A refusal: the expected status, the spec's Error body, no tokens."""
    statuses = (statuses,) if isinstance(statuses, int) else statuses
    assert r.status_code in statuses, (r.status_code, r.text[:1000])
    body = assert_error(r, r.status_code)
    location = r.headers.get("location", "")
    for leak in ("access_token", "refresh_token", "code="):
        assert leak not in location, location
    assert "access_token" not in r.text and "refresh_token" not in r.text, r.text
    return body


def verified_claims(host, access_token):
    """The access token's claims, its signature checked against the published JWKS."""
    jwks = requests.get(host.url("/.well-known/jwks.json"), timeout=TIMEOUT).json()
    header = jwt.get_unverified_header(access_token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return jwt.decode(access_token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience=host.base, issuer=host.base)


def userinfo(host, access_token):
    r = requests.get(host.url("/oauth2/userinfo"), headers=bearer(access_token), timeout=TIMEOUT)
    return assert_valid(r, "/oauth2/userinfo", "GET", 200)


def groups_seen(host, provider, access_token):
    r = requests.get(host.url(f"/oauth2/providers/{provider}/groups"), headers=bearer(access_token), timeout=TIMEOUT)
    body = assert_valid(r, "/oauth2/providers/{idp}/groups", "GET", 200)
    assert body["idp"] == provider
    return {g["name"] for g in body["groups"]}


def introspect(host, token):
    r = requests.post(host.url("/oauth2/introspect"), data={"token": token}, timeout=TIMEOUT)
    return assert_valid(r, "/oauth2/introspect", "POST", 200)


def refresh(host, refresh_token):
    return requests.post(host.url("/oauth2/refresh"), json={"refresh_token": refresh_token}, timeout=TIMEOUT)


def assert_alive(host, tokens):
    assert introspect(host, tokens["access_token"])["active"] is True
    r = requests.get(host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"]), timeout=TIMEOUT)
    assert r.status_code == 200, r.text


def assert_ended(host, tokens):
    """Logged out: the refresh token is refused, the access token inactive."""
    r = refresh(host, tokens["refresh_token"])
    assert r.status_code in (400, 401), (r.status_code, r.text)
    assert_error(r, r.status_code)
    assert introspect(host, tokens["access_token"]) == {"active": False}
    r = requests.get(host.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"]), timeout=TIMEOUT)
    assert_error(r, 401)


def b64(text):
    return base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode()
