"""The service under test, in one of its two homes (TMI_E2E_RUNTIME):

- `host` (default): our tmi-auth-host, `--dev`, on a free port with a
  temporary data directory;
- `spin`: the same component under a real `spin up`, with the manifest that
  `tmi-auth-host spin-manifest` writes for the same configuration file, the
  secrets as SPIN_VARIABLE_*, sqlite (or, for a shared `[store]`, Redis
  through a runtime config file) under the data directory.

Both take the same configuration TOML and TMI_SECRET_* / TMI_CONFIG_*
environment, so a test does not know which one it drives. What only our
host has (its test clock, metrics, startup checks, HTTP server limits) is
skipped under Spin by name with the reason (`host_only`).
"""

import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from spec import REPO

HOST_BIN = Path(os.environ.get("TMI_HOST_BIN", REPO / "target" / "release" / "tmi-auth-host"))
WASM_DIR = REPO / "target" / "wasm32-wasip2" / "release"
RUNTIME = os.environ.get("TMI_E2E_RUNTIME", "host")
SPIN = RUNTIME == "spin"

# Generous limits for the shared host: the suite makes many requests from
# one address. Rate limiting itself is tested on hosts of its own.
RELAXED_LIMITS = """
rate_limit_ip = "100000/60"
rate_limit_session = "1000/60"
rate_limit_user = "100000/3600"
"""


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_only(reason):
    """Skip the test under Spin, saying why (pytest -rs lists it by name)."""
    return pytest.mark.skipif(SPIN, reason=f"host only: {reason}")


class NativeHost:
    """One running tmi-auth-host process."""

    # What /healthz answers once the host is up.
    ready_status = 200

    def __init__(self, data_dir, port=None, config=RELAXED_LIMITS, env=None, metrics=False):
        self.data_dir = Path(data_dir)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Prometheus metrics on an address of their own, when asked for.
        self.metrics_port = free_port() if metrics else None
        self.config = config
        # The host's clock runs this many seconds ahead (dev-mode test hook).
        self.clock_file = self.data_dir.parent / f"clock-{self.port}"
        self.clock_file.write_text("0")
        self.env = {"TMI_DEV_CLOCK_OFFSET_FILE": str(self.clock_file), **(env or {})}
        self.proc = None
        self.process_log = self.data_dir.parent / f"{RUNTIME}-{self.port}.log"
        self.log = self.process_log  # what the service logs

    def write_config(self):
        path = self.data_dir.parent / f"config-{self.port}.toml"
        path.write_text(self.config or "")
        return path

    def process_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TMI_", "SPIN_VARIABLE_"))}
        env.update(self.env)
        return env

    def command(self):
        args = [str(HOST_BIN), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir), "--dev"]
        if self.metrics_port:
            args += ["--metrics-listen", f"127.0.0.1:{self.metrics_port}"]
        return args + ["--config", str(self.write_config())]

    def start(self):
        self.logfile = open(self.process_log, "ab")
        # A session of its own: stopping it stops every process it started.
        self.proc = subprocess.Popen(
            self.command(), stdout=self.logfile, stderr=subprocess.STDOUT, env=self.process_env(), start_new_session=True
        )
        deadline = time.time() + 120  # the first start compiles the component
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{RUNTIME} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                health = requests.get(self.base + "/healthz", timeout=1)
            except requests.RequestException:
                health = None
            if health is not None and health.status_code == self.ready_status:
                return self
            if health is not None and health.status_code == 503 and "misconfigured" in health.text:
                # Spin starts nothing before a request: a broken setting shows here.
                raise RuntimeError(f"{RUNTIME} serves a broken configuration ({health.text}):\n{self.output()}")
            time.sleep(0.1)
        raise RuntimeError(f"{RUNTIME} did not become healthy:\n{self.output()}")

    def output(self):
        return self.process_log.read_text(errors="replace")

    def stop(self, sig="TERM"):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL if sig == "KILL" else signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)
        if self.proc:
            self.logfile.close()

    def url(self, path):
        return self.base + path

    def metrics(self):
        """The Prometheus text of /metrics."""
        return requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def advance_clock(self, seconds):
        """Move the host's wall clock forward (it reads the offset file)."""
        offset = int(self.clock_file.read_text()) + seconds
        self.clock_file.write_text(str(offset))


def spin_binary():
    """The Spin CLI: $SPIN, ../shared/tools/spin/get-spin, or PATH."""
    if os.environ.get("SPIN"):
        return os.environ["SPIN"]
    get_spin = REPO.parent / "shared" / "tools" / "spin" / "get-spin"
    if get_spin.exists():
        return subprocess.run([str(get_spin)], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
    from shutil import which

    found = which("spin")
    if not found:
        pytest.exit("TMI_E2E_RUNTIME=spin but no Spin CLI: set SPIN, or provide ../shared/tools/spin/get-spin", returncode=2)
    return found


STORE_TABLE = re.compile(r"^\[store\]\n(?:(?!\[).*\n?)*", re.MULTILINE)


class SpinHost(NativeHost):
    """The component under `spin up`, configured from the same TOML."""

    binary = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Component output goes to the state directory's logs.
        self.log = self.data_dir / "logs" / "tmi-auth_stderr.txt"

    def split_store(self):
        """A `[store]` table becomes Spin's runtime config (Redis); Spin
        has no key prefix, so each shared store gets a database of its own."""
        config = self.config or ""
        match = STORE_TABLE.search(config)
        if not match:
            return config, None
        url = re.search(r'^url\s*=\s*"([^"]+)"', match.group(0), re.MULTILINE).group(1)
        return config.replace(match.group(0), ""), url

    def secret_values(self):
        """TMI_SECRET_* (value or _FILE) as Spin variables, plus the ones
        --dev would generate: a pepper and, without [[keys]], one ES256 key,
        kept in the data directory so that a restart keeps them."""
        values = {}
        for name, value in self.env.items():
            if name.startswith("TMI_SECRET_"):
                secret = name[len("TMI_SECRET_"):]
                if secret.endswith("_FILE"):
                    secret, value = secret[: -len("_FILE")], Path(value).read_text().removesuffix("\n")
                values[secret.lower()] = value
        self.data_dir.mkdir(parents=True, exist_ok=True)
        dev = self.data_dir / "dev-secrets"
        dev.mkdir(exist_ok=True)
        if "client_secret_pepper" not in values:
            values["client_secret_pepper"] = remembered(dev / "pepper", lambda: secrets.token_hex(32))
        if "[[keys]]" not in (self.config or ""):
            values["signing_key"] = remembered(dev / "es256.pem", es256_key_pem)
        return values

    def command(self):
        config, redis_url = self.split_store()
        manifest = self.data_dir.parent / f"spin-{self.port}.toml"
        env = {k: v for k, v in self.process_env().items() if k.startswith("TMI_CONFIG_")}
        path = self.data_dir.parent / f"config-{self.port}.toml"
        path.write_text(config)
        generated = subprocess.run(
            [str(HOST_BIN), "spin-manifest", "--config", str(path), "--wasm-dir", str(WASM_DIR)],
            capture_output=True, text=True, env={"PATH": os.environ.get("PATH", ""), **env},
        )
        if generated.returncode != 0:
            raise RuntimeError(f"spin-manifest refused the configuration:\n{generated.stderr}")
        manifest.write_text(generated.stdout)
        if SpinHost.binary is None:
            SpinHost.binary = spin_binary()
        args = [SpinHost.binary, "up", "-f", str(manifest), "--listen", f"127.0.0.1:{self.port}", "--state-dir", str(self.data_dir)]
        if redis_url:
            runtime_config = self.data_dir.parent / f"spin-runtime-{self.port}.toml"
            runtime_config.write_text(f'[key_value_store.default]\ntype = "redis"\nurl = "{redis_url}"\n')
            args += ["--runtime-config-file", str(runtime_config)]
        return args

    def process_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TMI_", "SPIN_VARIABLE_"))}
        env.update({k: v for k, v in self.env.items() if not k.startswith("TMI_SECRET_")})
        for name, value in self.secret_values().items():
            env[f"SPIN_VARIABLE_{name.upper()}"] = value
        # As --dev: development mode, and the base URL is the listen address
        # unless the configuration names one.
        env["SPIN_VARIABLE_DEV_MODE"] = "true"
        if not re.search(r"^base_url\s*=", self.config or "", re.MULTILINE) and "TMI_CONFIG_BASE_URL" not in env:
            env["SPIN_VARIABLE_BASE_URL"] = self.base
        return env

    def output(self):
        service = self.log.read_text(errors="replace") if self.log.exists() else ""
        return super().output() + service

    def metrics(self):
        pytest.skip("host only: Prometheus metrics are served by tmi-auth-host (--metrics-listen), not by Spin")

    def advance_clock(self, seconds):
        pytest.skip("host only: needs the host's test clock (TMI_DEV_CLOCK_OFFSET_FILE); Spin's clock is the real one")


def remembered(path, make):
    if not path.exists():
        path.write_text(make())
    return path.read_text()


def es256_key_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


Host = SpinHost if SPIN else NativeHost
