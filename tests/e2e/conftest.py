"""Fixtures: the service (hosts.py: our host, or `spin up` with
TMI_E2E_RUNTIME=spin), a local OIDC provider, and a Redis of the tests' own."""

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from hosts import HOST_BIN, RELAXED_LIMITS, RUNTIME, SPIN, Host, es256_key_pem, free_port  # noqa: F401 (re-exported)
from spec import REPO, SPEC, SPEC_MISSING


def pytest_report_header(config):
    lines = [f"tmi-auth runtime: {RUNTIME} (TMI_E2E_RUNTIME)"]
    if SPEC is None:
        lines.append(f"!!! {SPEC_MISSING} !!!")
    return lines


def pytest_terminal_summary(terminalreporter):
    # Each skipped test by name, with its reason (pytest groups them by line).
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        terminalreporter.write_line(f"skipped {report.nodeid}: {reason.removeprefix('Skipped: ')}", yellow=True)
    if SPEC is None:
        terminalreporter.write_line(f"!!! {SPEC_MISSING} (set TMI_SPEC to check them) !!!", red=True, bold=True)


CALLBACK = "http://localhost:4200/oauth2/callback"


@pytest.fixture(scope="session")
def host(tmp_path_factory):
    if not HOST_BIN.exists():
        pytest.exit(f"{HOST_BIN} is missing: run scripts/test.sh, which builds it", returncode=2)
    h = Host(tmp_path_factory.mktemp("host") / "data").start()
    yield h
    h.stop()


@pytest.fixture
def fresh_host(tmp_path):
    """A host of its own, for tests that restart it."""
    hosts = []

    def make(**kwargs):
        h = Host(tmp_path / "data", **kwargs)
        hosts.append(h)
        return h

    yield make
    for h in hosts:
        h.stop()


# --- A real OpenID Connect provider (oauth2-mock-server) for upstream logins ---

TESTS_DIR = REPO / "tests"
OIDC_SCRIPT = Path(__file__).resolve().parent / "oidc_provider.mjs"
OIDC_CLIENT_ID = "tmi-e2e-client"
# Client secrets of the upstream providers, as the host reads them (env).
OIDC_SECRETS = {
    "TMI_SECRET_OAUTH_MOCK_CLIENT_SECRET": "mock-client-secret-e2e",
    "TMI_SECRET_OAUTH_MOCK_DOWN_CLIENT_SECRET": "down-secret",
    "TMI_SECRET_OAUTH_MOCK_FORBIDDEN_CLIENT_SECRET": "forbidden-secret",
    "TMI_SECRET_OAUTH_MOCK_DENIED_TOKEN_CLIENT_SECRET": "denied-token-secret",
}
# Seconds the component waits for a provider (upstream_timeout) on the OIDC host.
UPSTREAM_TIMEOUT = 2


class OidcProvider:
    """tests/e2e/oidc_provider.mjs: oauth2-mock-server with per-test faults."""

    def __init__(self, log_dir, port=None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = Path(log_dir) / f"oidc-provider-{self.port}.log"
        self.proc = None

    def start(self):
        self.logfile = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["node", str(OIDC_SCRIPT), str(self.port)], cwd=TESTS_DIR, stdout=self.logfile, stderr=subprocess.STDOUT
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"OIDC provider exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if requests.get(self.base + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"OIDC provider did not start:\n{self.log.read_text()}")

    def control(self, **mode):
        """Set the provider's behaviour (see oidc_provider.mjs); no arguments resets it."""
        r = requests.post(self.base + "/_control", json=mode, timeout=5)
        assert r.status_code == 204, r.text

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.logfile.close()


def oidc_host_config(provider_port, dead_port):
    """Providers: `mock` (the real one), `mock-down` (nothing listens),
    `mock-forbidden` (a host not in allowed_outbound_hosts) and
    `mock-denied-token` (its token endpoint is on a host not allowed)."""
    mock = f"http://127.0.0.1:{provider_port}"
    return RELAXED_LIMITS + f"""
upstream_timeout = {UPSTREAM_TIMEOUT}
allowed_outbound_hosts = ["127.0.0.1:{provider_port}", "127.0.0.1:{dead_port}"]

[[oauth_providers]]
id = "mock"
kind = "oidc"
name = "Mock OIDC"
icon = "fa-solid fa-vial"
client_id = "{OIDC_CLIENT_ID}"
issuer = "{mock}"
scopes = ["openid", "email", "profile"]

[[oauth_providers]]
id = "mock-down"
kind = "oidc"
client_id = "{OIDC_CLIENT_ID}"
issuer = "http://127.0.0.1:{dead_port}"

[[oauth_providers]]
id = "mock-forbidden"
kind = "oidc"
client_id = "{OIDC_CLIENT_ID}"
issuer = "http://localhost:{provider_port}"

[[oauth_providers]]
id = "mock-denied-token"
kind = "oidc"
client_id = "{OIDC_CLIENT_ID}"
issuer = "{mock}"
authorization_url = "{mock}/authorize"
token_url = "http://localhost:{provider_port}/token"
jwks_url = "{mock}/jwks"

[[oauth_providers]]
id = "mock-disabled"
kind = "oidc"
client_id = "{OIDC_CLIENT_ID}"
issuer = "{mock}"
enabled = false
"""


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    if not (TESTS_DIR / "node_modules" / "oauth2-mock-server").exists():
        pytest.exit("tests/node_modules is missing: run scripts/test.sh (npm ci --prefix tests)", returncode=2)
    p = OidcProvider(tmp_path_factory.mktemp("oidc")).start()
    yield p
    p.stop()


@pytest.fixture(scope="session")
def oidc_host(oidc_provider, tmp_path_factory):
    """A host whose upstream providers point at the local OIDC provider."""
    config = oidc_host_config(oidc_provider.port, free_port())
    env = dict(OIDC_SECRETS)
    env["TMI_SECRET_OAUTH_MOCK_DISABLED_CLIENT_SECRET"] = "disabled-secret"
    h = Host(tmp_path_factory.mktemp("oidc-host") / "data", config=config, env=env).start()
    yield h
    h.stop()


@pytest.fixture
def idp(oidc_provider):
    """The OIDC provider, reset to good behaviour before and after the test."""
    oidc_provider.control()
    yield oidc_provider
    oidc_provider.control()


# --- One Redis shared by several hosts ---


class RedisServer:
    """A redis-server of the tests' own, on a free port. AOF with
    `appendfsync always`: every write Redis acknowledged is on disk."""

    def __init__(self, directory, port=None):
        self.dir = Path(directory)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        binary = shutil.which("redis-server")
        if not binary:
            pytest.exit("redis-server is not installed: run scripts/test.sh, which installs it", returncode=2)
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def fresh_database(self):
        """The URL of a database no test used before (1..15), emptied."""
        self.databases = getattr(self, "databases", 0) % 15 + 1
        subprocess.run(["redis-cli", "-p", str(self.port), "-n", str(self.databases), "FLUSHDB"], check=True, capture_output=True)
        return f"redis://127.0.0.1:{self.port}/{self.databases}"

    def command(self, *args):
        """One command; returns the raw reply."""
        payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(payload)
            return s.recv(1 << 20)


def shared_store_config(redis_url, prefix, limits=RELAXED_LIMITS):
    """Hosts that share one Redis share signing keys and the pepper too."""
    return limits + f"""
[store]
backend = "redis"
url = "{redis_url}"
prefix = "{prefix}"
timeout_ms = 1000

[[keys]]
kid = "shared-es256"
alg = "ES256"
secret = "jwt_shared"
signing = true
"""


def share_store(host, redis_server, shared_secrets):
    """Point a host (not yet started) at a Redis of its own with the shared
    keys and pepper, so another process (a second host, the library
    embedding) can share its state. Its base URL is fixed to its own."""
    url = redis_server.fresh_database()
    prefix = f"shared-{secrets.token_hex(4)}:"
    host.config = f'base_url = "{host.base}"\n' + (host.config or "") + shared_store_config(url, prefix, limits="")
    host.env.update(shared_secrets)
    return host


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    r = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def shared_secrets():
    return {"TMI_SECRET_JWT_SHARED": es256_key_pem(), "TMI_SECRET_CLIENT_SECRET_PEPPER": secrets.token_hex(32)}


@pytest.fixture
def host_pair(redis_server, shared_secrets, tmp_path):
    """Two hosts on one Redis (a prefix of their own per test)."""
    hosts = []

    def make(limits=RELAXED_LIMITS, metrics=False):
        # Behind one load balancer both hosts have one public base URL (the
        # tokens' issuer): A's here.
        prefix = f"e2e-{secrets.token_hex(4)}:"
        url = redis_server.url
        if SPIN:  # Spin's Redis store has no key prefix: an empty database of its own
            url = redis_server.fresh_database()
        pair = [Host(tmp_path / f"{prefix}{name}" / "data", env=dict(shared_secrets), metrics=metrics) for name in "ab"]
        for h in pair:
            h.config = f'base_url = "{pair[0].base}"\n' + shared_store_config(url, prefix, limits)
            hosts.append(h.start())
        return pair

    yield make
    for h in hosts:
        h.stop()
