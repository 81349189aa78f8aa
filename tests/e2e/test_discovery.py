"""Public documents: providers and the four /.well-known/ documents."""

import requests

from spec import assert_valid


def test_providers_lists_test_provider_with_absolute_urls(host):
    body = assert_valid(requests.get(host.url("/oauth2/providers")), "/oauth2/providers", "GET", 200)
    test = next(p for p in body["providers"] if p["id"] == "test")
    assert test["auth_url"] == host.url("/oauth2/authorize?idp=test")
    assert test["token_url"] == host.url("/oauth2/token?idp=test")
    assert test["redirect_uri"] == host.url("/oauth2/callback")


def test_providers_ignores_host_header(host):
    r = requests.get(host.url("/oauth2/providers"), headers={"Host": "evil.example.net"})
    assert "evil.example.net" not in r.text


def test_openid_configuration(host):
    doc = assert_valid(
        requests.get(host.url("/.well-known/openid-configuration")), "/.well-known/openid-configuration", "GET", 200
    )
    assert doc["issuer"] == host.base
    assert doc["jwks_uri"] == host.url("/.well-known/jwks.json")
    assert doc["token_endpoint"] == host.url("/oauth2/token")


def test_authorization_server_metadata(host):
    doc = assert_valid(
        requests.get(host.url("/.well-known/oauth-authorization-server")),
        "/.well-known/oauth-authorization-server",
        "GET",
        200,
    )
    assert doc["issuer"] == host.base


def test_protected_resource_metadata(host):
    doc = assert_valid(
        requests.get(host.url("/.well-known/oauth-protected-resource")),
        "/.well-known/oauth-protected-resource",
        "GET",
        200,
    )
    assert doc["resource"] == host.base


def test_jwks_lists_keys_with_kids(host):
    doc = assert_valid(requests.get(host.url("/.well-known/jwks.json")), "/.well-known/jwks.json", "GET", 200)
    assert doc["keys"]
    assert all(k["kid"] and k["use"] == "sig" for k in doc["keys"])
    assert len({k["kid"] for k in doc["keys"]}) == len(doc["keys"])
