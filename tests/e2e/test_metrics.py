"""GET /metrics on its own address: Prometheus text whose counters move as
the requests did, with route templates and never a secret in a label; and
the sweep of expired entries at work."""

import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from flows import bearer, login_tokens
from hosts import host_only


def samples(host):
    """{(name, labels…): value} of every sample."""
    out = {}
    for family in text_string_to_metric_families(host.metrics()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(all_samples, name, **labels):
    return all_samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_what_happened_and_name_no_secret(fresh_host):
    h = fresh_host(config='rate_limit_ip = "40/60"\nrate_limit_session = "1000/60"\n', metrics=True).start()
    before = samples(h)
    for _ in range(3):
        assert requests.get(h.url("/healthz")).status_code == 200
    tokens = login_tokens(h, "metered")
    requests.get(h.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"]))
    requests.delete(h.url("/client-credentials/123e4567-e89b-42d3-a456-426614174000"), headers=bearer(tokens["access_token"]))
    limited = [requests.get(h.url("/oauth2/authorize")).status_code for _ in range(45)]
    assert 429 in limited
    after = samples(h)
    text = h.metrics()

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("tmi_http_requests_total", method="GET", route="/healthz", status="200") == 3
    assert moved("tmi_http_requests_total", method="GET", route="/oauth2/userinfo", status="200") == 1
    assert moved("tmi_http_requests_total", method="DELETE", route="/client-credentials/{id}", status="404") == 1
    assert moved("tmi_http_requests_total", method="GET", route="/oauth2/authorize", status="429") == limited.count(429)
    assert moved("tmi_rate_limit_rejections_total", method="GET", route="/oauth2/authorize") == limited.count(429)
    assert moved("tmi_http_request_duration_seconds_count", method="GET", route="/healthz") == 3
    assert value(after, "tmi_component_instantiation_seconds_count") >= 3 + 45
    assert value(after, "tmi_store_operation_duration_seconds_count", backend="redb", operation="get") > 0
    for secret in [tokens["access_token"], tokens["refresh_token"], "metered@test.tmi", "127.0.0.1", "123e4567"]:
        assert secret not in text


@host_only("the sweep of expired entries is our host's; Spin's stores keep them (README, \"Running under Spin\")")
def test_the_sweep_deletes_what_expired(fresh_host):
    h = fresh_host(config='[store]\nsweep_interval = 1\n', metrics=True).start()
    for i in range(5):
        login_tokens(h, f"sweepme-{i}")
    deleted = value(samples(h), "tmi_store_expired_entries_deleted_total")
    # A hundred days on, every flow, code, session and window has expired.
    h.advance_clock(100 * 86400)
    deadline = time.monotonic() + 10
    while value(samples(h), "tmi_store_expired_entries_deleted_total") - deleted < 20:
        assert time.monotonic() < deadline, h.metrics()
        time.sleep(0.3)
