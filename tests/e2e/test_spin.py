"""What is particular to Spin: with nothing run before the first request,
a setting that does not parse is answered with 503 naming it, /healthz
says so, and the log has the reason (our host refuses to start instead:
test_saml_sp.py, test_upstream.py)."""

import pytest
import requests

from conftest import RELAXED_LIMITS
from hosts import SPIN
from spec import assert_error

pytestmark = pytest.mark.skipif(not SPIN, reason="spin only: our host refuses to start on a broken setting")

BROKEN = RELAXED_LIMITS + """
[[oauth_providers]]
id = "half-configured"
client_id = "tmi"
"""


def test_a_broken_setting_is_503_naming_it_and_healthz_says_so(fresh_host):
    h = fresh_host(config=BROKEN, env={"TMI_SECRET_OAUTH_HALF_CONFIGURED_CLIENT_SECRET": "s3cret-value"})
    with pytest.raises(RuntimeError, match="misconfigured"):
        h.start()
    health = requests.get(h.url("/healthz"), timeout=10)
    assert health.status_code == 503
    assert health.json() == {"status": "misconfigured", "setting": "oauth_providers"}

    r = requests.post(h.url("/oauth2/token"), data={"grant_type": "client_credentials"}, timeout=10)
    body = assert_error(r, 503, "temporarily_unavailable")
    assert "oauth_providers" in body["error_description"], body
    assert "kind" not in body["error_description"], "the reason is for the operator's log"

    log = h.log.read_text()
    lines = [line for line in log.splitlines() if "oauth_providers" in line]
    assert lines and all("kind" in line for line in lines), log
    assert "s3cret-value" not in log
