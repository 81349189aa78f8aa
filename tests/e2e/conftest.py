"""Start the real tmi-auth-host on a free port with a temporary data directory."""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from spec import REPO

HOST_BIN = Path(os.environ.get("TMI_HOST_BIN", REPO / "target" / "release" / "tmi-auth-host"))
CALLBACK = "http://localhost:4200/oauth2/callback"

# Generous limits for the shared host: the suite makes many requests from
# one address. Rate limiting itself is tested on hosts of its own.
RELAXED_LIMITS = """
rate_limit_ip = "100000/60"
rate_limit_session = "1000/60"
rate_limit_user = "100000/3600"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Host:
    """One running host process."""

    def __init__(self, data_dir, port=None, config=RELAXED_LIMITS, env=None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = config
        # The host's clock runs this many seconds ahead (dev-mode test hook).
        self.clock_file = self.data_dir.parent / f"clock-{self.port}"
        self.clock_file.write_text("0")
        self.env = {"TMI_DEV_CLOCK_OFFSET_FILE": str(self.clock_file), **(env or {})}
        self.proc = None
        self.log = self.data_dir.parent / f"host-{self.port}.log"

    def start(self):
        args = [str(HOST_BIN), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir), "--dev"]
        if self.config:
            path = self.data_dir.parent / f"config-{self.port}.toml"
            path.write_text(self.config)
            args += ["--config", str(path)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMI_")}
        env.update(self.env)
        self.logfile = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=self.logfile, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 120  # the first start compiles the component
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"host exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"host did not become healthy:\n{self.log.read_text()}")

    def stop(self, sig="TERM"):
        if self.proc and self.proc.poll() is None:
            if sig == "KILL":
                self.proc.kill()
            else:
                self.proc.terminate()
            self.proc.wait(timeout=30)
        self.logfile.close()

    def url(self, path):
        return self.base + path

    def advance_clock(self, seconds):
        """Move the host's wall clock forward (it reads the offset file)."""
        offset = int(self.clock_file.read_text()) + seconds
        self.clock_file.write_text(str(offset))


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
