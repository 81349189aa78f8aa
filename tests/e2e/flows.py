"""The OAuth 2.0 authorization-code flow with PKCE, as a TMI client drives it."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import requests

from conftest import CALLBACK


def pkce_pair():
    verifier = secrets.token_urlsafe(48)[:64]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(host, challenge, login_hint="alice", state="client-state-1", **overrides):
    params = {
        "idp": "test",
        "scope": "openid profile email",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "client_callback": CALLBACK,
        "state": state,
        "login_hint": login_hint,
    }
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return requests.get(host.url("/oauth2/authorize?" + urlencode(params)), allow_redirects=False)


def query(location):
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


def login_code(host, login_hint="alice"):
    """authorize → (test provider) → callback; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    r = authorize(host, challenge, login_hint=login_hint)
    assert r.status_code == 302, r.text
    upstream = r.headers["location"]
    assert upstream.startswith(host.base + "/oauth2/callback?")
    r = requests.get(upstream, allow_redirects=False)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(CALLBACK + "?")
    q = query(location)
    assert q["state"] == "client-state-1"
    return q["code"], verifier


def redeem(host, code, verifier, redirect_uri=CALLBACK, form=False):
    body = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": redirect_uri}
    if form:
        return requests.post(host.url("/oauth2/token"), data=body)
    return requests.post(host.url("/oauth2/token"), json=body)


def login_tokens(host, login_hint="alice"):
    code, verifier = login_code(host, login_hint)
    r = redeem(host, code, verifier)
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}
