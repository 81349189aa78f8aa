"""Thirty simultaneous deliveries of one single-use thing are accepted
exactly once: a SAML assertion, a SAML LogoutRequest and an OIDC ID-token
nonce. Each runs on the runtime's own store (redb under our host, sqlite
under Spin) and on two instances sharing one Redis, the deliveries spread
over both. Under Spin this is what its key-value stores cannot promise on
their own (their compare-and-swap is not atomic): the component's leases
and increment claims must."""

import secrets
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from urllib.parse import urlencode

import pytest
import requests

from conftest import CALLBACK, OIDC_CLIENT_ID, OIDC_SECRETS, Host, free_port, oidc_host_config, share_store
from flows import pkce_pair, query
from saml_flows import TIMEOUT, Provider, SamlWorld, assert_alive, assert_ended, person, unique
from saml_idp import Idp, key_and_cert, post_form

RACERS = 30
STORES = ["own-store", "shared-redis"]


def instances(first, store, redis_server, shared_secrets, root):
    """`first` started; for a shared Redis, a second instance beside it
    (same configuration, keys and pepper; the public base URL is first's)."""
    if store == "own-store":
        return [first.start()]
    share_store(first, redis_server, shared_secrets)
    second = Host(root / "second" / "data", config=first.config, env=dict(first.env))
    return [first.start(), second.start()]


def race(replicas, send):
    """`send(host, i)` for i in 0..RACERS at once, spread over the replicas; the statuses."""
    start = Barrier(RACERS)

    def one(i):
        start.wait()
        return send(replicas[i % len(replicas)], i).status_code

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


@pytest.fixture(params=STORES)
def saml(request, tmp_path, redis_server, shared_secrets):
    key, cert = key_and_cert("replay IdP")
    idp = Idp("https://replay.idp.example/metadata", key, cert)
    world = SamlWorld(tmp_path / "saml", [Provider("acme", idp, "allow_idp_initiated = true")])
    world.replicas = instances(world.host, request.param, redis_server, shared_secrets, tmp_path)
    world.acs, world.slo = world.host.url("/saml/acs"), world.host.url("/saml/slo")
    yield world
    for h in world.replicas:
        h.stop()


def test_one_saml_assertion_thirty_times_at_once_is_accepted_once(saml):
    email = unique("racer")
    xml = saml.response("acme", name_id=email, attributes=person(email))
    form = post_form(xml, None)
    statuses = race(saml.replicas, lambda h, _: requests.post(h.url("/saml/acs"), data=form, allow_redirects=False, timeout=TIMEOUT))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 401}, statuses


def test_one_logout_request_thirty_times_at_once_is_accepted_once(saml):
    alice = unique("alice")
    first = saml.login("acme", name_id=alice, attributes=person(alice))
    request_xml = saml.idp("acme").logout_request(name_id=alice, destination=saml.slo)
    signed_query = saml.idp("acme").redirect_query(request_xml, "rs")
    statuses = race(saml.replicas, lambda h, _: requests.get(h.url("/saml/slo?" + signed_query), allow_redirects=False, timeout=TIMEOUT))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 400}, statuses
    assert_ended(saml.host, first)
    # A login after the race is not ended by any of the losers.
    assert_alive(saml.host, saml.login("acme", name_id=alice, attributes=person(alice)))


@pytest.fixture(params=STORES)
def oidc(request, tmp_path, oidc_provider, redis_server, shared_secrets):
    config = oidc_host_config(oidc_provider.port, free_port())
    env = dict(OIDC_SECRETS)
    env["TMI_SECRET_OAUTH_MOCK_DISABLED_CLIENT_SECRET"] = "disabled-secret"
    first = Host(tmp_path / "oidc" / "data", config=config, env=env)
    replicas = instances(first, request.param, redis_server, shared_secrets, tmp_path)
    oidc_provider.control()
    yield replicas, oidc_provider
    oidc_provider.control()
    for h in replicas:
        h.stop()


def provider_codes(provider, nonce, n):
    """n codes from the provider itself, every ID token carrying `nonce`."""
    codes = []
    for _ in range(n):
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code", "client_id": OIDC_CLIENT_ID, "redirect_uri": CALLBACK, "scope": "openid email",
            "state": "direct", "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256",
        }
        r = requests.get(provider.base + "/authorize?" + urlencode(params), allow_redirects=False)
        assert r.status_code == 302, r.text
        codes.append((query(r.headers["location"])["code"], verifier))
    return codes


def test_one_id_token_nonce_thirty_times_at_once_is_accepted_once(oidc):
    replicas, provider = oidc
    provider.control(claims={"sub": "nonce-racer", "email": "nonce-racer@mock.example"})
    codes = provider_codes(provider, secrets.token_urlsafe(16), RACERS)

    def exchange(host, i):
        code, verifier = codes[i]
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
        return requests.post(host.url("/oauth2/token?idp=mock"), data=body, timeout=TIMEOUT)

    statuses = race(replicas, exchange)
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 502}, statuses
