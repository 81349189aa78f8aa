"""Storage benchmark (not a test): does the store stop growing?

A steady stream of logins, refreshes and client_credentials grants from
rotating client addresses (127.0.0.x: every address makes rate-limit
windows of its own), while the host's development clock runs ahead by
`--step-days` per round, so codes, flows, sessions, refresh tokens, rate
windows and revocation marks pass several expiry periods. After each round
it records the redb file's size and entry count (the host's
`tmi_store_entries` after a sweep), or the Redis key count. A store that
plateaus prints a flat tail.

Usage: python3 benches/storage/run.py [--backend redb|redis] [--rounds 24]
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

REPO = Path(__file__).resolve().parents[2]
HOST = REPO / "target" / "release" / "tmi-auth-host"
CALLBACK = "http://localhost:4200/cb"
# Short lifetimes so that a few dozen rounds pass several of each.
LIFETIMES = {"session_lifetime": 6 * 86400, "refresh_token_lifetime": 3 * 86400, "access_token_lifetime": 3600}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """HTTP from a chosen loopback source address."""

    def __init__(self, port, source):
        self.port, self.source = port, source

    def request(self, method, path, body=None, headers=None):
        c = HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.source, 0))
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data


def login(client, hint):
    verifier = secrets.token_urlsafe(48)[:64]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"idp": "test", "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256", "client_callback": CALLBACK, "login_hint": hint})
    _, h, _ = client.request("GET", "/oauth2/authorize?" + query)
    upstream = urlparse(h["location"])
    _, h, _ = client.request("GET", upstream.path + "?" + upstream.query)
    code = parse_qs(urlparse(h["location"]).query)["code"][0]
    body = json.dumps({"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": CALLBACK})
    status, _, data = client.request("POST", "/oauth2/token", body, {"content-type": "application/json"})
    assert status == 200, data
    return json.loads(data)


def metric(port, name):
    status, _, data = Client(port, "127.0.0.1").request("GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def redis_census(port):
    """(keys, keys without a TTL, longest TTL in seconds), from redis-cli."""
    keys = subprocess.run(["redis-cli", "-p", str(port), "--scan"], capture_output=True, text=True).stdout.split()
    ttls = []
    for chunk in range(0, len(keys), 500):
        script = "".join(f"TTL {k}\n" for k in keys[chunk:chunk + 500])
        out = subprocess.run(["redis-cli", "-p", str(port)], input=script, capture_output=True, text=True).stdout.split()
        ttls += [int(t) for t in out]
    return len(keys), sum(1 for t in ttls if t == -1), max([t for t in ttls if t >= 0], default=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["redb", "redis"], default="redb")
    ap.add_argument("--rounds", type=int, default=24)
    ap.add_argument("--per-round", type=int, default=40)
    ap.add_argument("--step-days", type=float, default=1.0)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tmi-storage-"))
    port, metrics_port = free_port(), free_port()
    clock = work / "clock"
    clock.write_text("0")
    config = "".join(f"{k} = {v}\n" for k, v in LIFETIMES.items())
    config += 'rate_limit_ip = "100000/60"\nrate_limit_session = "100000/60"\nrate_limit_user = "100000/3600"\n'
    redis = None
    if args.backend == "redis":
        redis_port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        config += f'[store]\nbackend = "redis"\nurl = "redis://127.0.0.1:{redis_port}/0"\n'
    else:
        config += "[store]\nsweep_interval = 1\n"
    (work / "c.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMI_")}
    env["TMI_DEV_CLOCK_OFFSET_FILE"] = str(clock)
    host = subprocess.Popen(
        [str(HOST), "serve", "--dev", "--listen", f"127.0.0.1:{port}", "--metrics-listen", f"127.0.0.1:{metrics_port}",
         "--data-dir", str(work / "data"), "--config", str(work / "c.toml")],
        env=env, stdout=open(work / "host.log", "w"), stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                if Client(port, "127.0.0.1").request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        admin = login(Client(port, "127.0.0.1"), "storage-owner")
        status, _, data = Client(port, "127.0.0.1").request(
            "POST", "/client-credentials", json.dumps({"name": "bench"}),
            {"content-type": "application/json", "authorization": "Bearer " + admin["access_token"]})
        cred = json.loads(data)
        grant = urlencode({"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": cred["client_secret"]})
        if args.backend == "redis":
            # Redis expires keys by its own clock, which the development
            # clock cannot move: real time, and every key's TTL is reported.
            print(f"backend redis: {args.rounds} rounds of {args.per_round} logins, refreshes and grants, in real time")
            print(f"{'round':>5} {'keys':>6} {'no TTL':>7} {'longest TTL':>12}")
        else:
            print(f"backend redb: {args.rounds} rounds of {args.per_round} logins, refreshes and grants, clock +{args.step_days} days per round")
            print(f"{'round':>5} {'days':>6} {'entries':>8} {'redb bytes':>11}")
        refresh = {}
        for rnd in range(args.rounds):
            for i in range(args.per_round):
                client = Client(port, f"127.0.{rnd % 250}.{i % 250 + 1}")
                hint = f"user-{i % 50}"  # a bounded set of users, as in life
                tokens = login(client, hint)
                if hint in refresh:
                    client.request("POST", "/oauth2/refresh", json.dumps({"refresh_token": refresh[hint]}), {"content-type": "application/json"})
                refresh[hint] = tokens["refresh_token"]
                client.request("POST", "/oauth2/token", grant, {"content-type": "application/x-www-form-urlencoded"})
            if args.backend == "redis":
                keys, persistent, longest = redis_census(redis_port)
                print(f"{rnd + 1:>5} {keys:>6} {persistent:>7} {longest:>11}s", flush=True)
                continue
            clock.write_text(str(int((rnd + 1) * args.step_days * 86400)))
            time.sleep(2.5)  # a sweep or two
            entries, size = int(metric(metrics_port, "tmi_store_entries")), (work / "data" / "store.redb").stat().st_size
            print(f"{rnd + 1:>5} {(rnd + 1) * args.step_days:>6.1f} {entries:>8} {size:>11}", flush=True)
    finally:
        host.terminate()
        host.wait()
        if redis:
            redis.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
