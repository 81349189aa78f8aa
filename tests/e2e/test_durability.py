"""Crashes and outages lose nothing that was acknowledged and leave
nothing half-written: `kill -9` of a host under load (redb, and Redis with
`appendfsync always`, killed too), and Redis going away and coming back."""

import threading
import time

import requests

from conftest import RELAXED_LIMITS, Host, RedisServer, shared_store_config
from hosts import host_only
from flows import bearer, login_tokens

CLIENTS = 16


class Load:
    """16 clients, half creating client credentials, half rotating refresh
    tokens; every 2xx is recorded as an acknowledged write."""

    def __init__(self, host):
        self.host = host
        self.stop = threading.Event()
        self.credentials = []  # (client_id, client_secret) acknowledged
        self.chains = {}  # client → refresh tokens acknowledged, in order
        self.access = {}  # client → newest acknowledged access token
        self.statuses = []
        self.lock = threading.Lock()
        self.threads = []

    def start(self):
        for i in range(CLIENTS):
            tokens = login_tokens(self.host, f"load-{i}")
            self.chains[i] = [tokens["refresh_token"]]
            self.access[i] = tokens["access_token"]
            target = self.create_credentials if i % 2 else self.rotate
            self.threads.append(threading.Thread(target=target, args=(i,), daemon=True))
        for t in self.threads:
            t.start()
        return self

    def record(self, status):
        with self.lock:
            self.statuses.append(status)

    def create_credentials(self, i):
        while not self.stop.is_set():
            try:
                r = requests.post(self.host.url("/client-credentials"), json={"name": f"c{i}"}, headers=bearer(self.access[i]), timeout=10)
            except requests.RequestException:
                time.sleep(0.05)
                continue
            self.record(r.status_code)
            if r.status_code == 201:
                with self.lock:
                    self.credentials.append((r.json()["client_id"], r.json()["client_secret"]))
            elif r.status_code == 403:  # the quota of ten: make room
                self.make_room(i)

    def make_room(self, i):
        """Delete this user's five oldest credentials; deleted ones are no longer expected."""
        try:
            listed = requests.get(self.host.url("/client-credentials"), headers=bearer(self.access[i]), timeout=10).json()
            for c in listed[-5:]:
                with self.lock:  # before the delete: acknowledged or not, it may be gone
                    self.credentials = [x for x in self.credentials if x[0] != c["client_id"]]
                requests.delete(self.host.url(f"/client-credentials/{c['id']}"), headers=bearer(self.access[i]), timeout=10)
        except requests.RequestException:
            time.sleep(0.05)

    def rotate(self, i):
        while not self.stop.is_set():
            try:
                r = requests.post(self.host.url("/oauth2/refresh"), json={"refresh_token": self.chains[i][-1]}, timeout=10)
            except requests.RequestException:
                return  # the host died with this request in flight
            self.record(r.status_code)
            if r.status_code != 200:
                return
            with self.lock:
                self.chains[i].append(r.json()["refresh_token"])
                self.access[i] = r.json()["access_token"]

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=20)


def introspect(host, token):
    return requests.post(host.url("/oauth2/introspect"), data={"token": token}, timeout=10).json()["active"]


def check_nothing_acknowledged_was_lost(host, load):
    """Every acknowledged credential authenticates; every acknowledged
    rotation is marked (the earlier tokens are spent) and its successor
    lives (unless a request with it was in flight at the kill)."""
    for client_id, secret in load.credentials:
        r = requests.post(host.url("/oauth2/token"), data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}, timeout=10)
        assert r.status_code == 200, (client_id, r.text)
    rotations = 0
    for i, chain in load.chains.items():
        if len(chain) < 2:
            continue
        for spent in chain[:-1]:
            assert not introspect(host, spent), f"client {i}: a rotated refresh token is active again"
        rotations += len(chain) - 1
        # The newest acknowledged tokens: their session lives.
        assert introspect(host, load.access[i]) or not introspect(host, chain[-1]), f"client {i}: session lost"
    return len(load.credentials), rotations


def run_and_kill(host, seconds=3):
    load = Load(host).start()
    time.sleep(seconds)
    host.stop(sig="KILL")
    load.finish()
    assert 500 not in load.statuses and 502 not in load.statuses, sorted(set(load.statuses))
    return load


def test_kill_9_under_load_loses_no_acknowledged_write_redb(fresh_host):
    h = fresh_host().start()
    load = run_and_kill(h)
    again = fresh_host(port=h.port).start()
    credentials, rotations = check_nothing_acknowledged_was_lost(again, load)
    print(f"\nredb, kill -9 under load: {credentials} credentials and {rotations} refresh rotations acknowledged, all present")
    assert credentials > 0 and rotations > 0


def test_kill_9_of_host_and_redis_under_load_loses_no_acknowledged_write(tmp_path, shared_secrets):
    redis = RedisServer(tmp_path / "redis").start()
    config = shared_store_config(redis.url, "durable:", RELAXED_LIMITS)
    h = Host(tmp_path / "host" / "data", config=config, env=dict(shared_secrets)).start()
    try:
        load = run_and_kill(h)
        redis.proc.kill()  # SIGKILL: only the append-only file (appendfsync always) survives
        redis.proc.wait()
        redis = RedisServer(tmp_path / "redis", port=redis.port).start()
        again = Host(tmp_path / "host" / "data", port=h.port, config=config, env=dict(shared_secrets)).start()
        credentials, rotations = check_nothing_acknowledged_was_lost(again, load)
        print(f"\nRedis (AOF, appendfsync always), kill -9 of host and Redis: {credentials} credentials and {rotations} rotations acknowledged, all present")
        assert credentials > 0 and rotations > 0
        again.stop()
    finally:
        redis.stop()


@host_only("Spin's Redis store waits for a Redis that is gone without a timeout; the 503 promise is our host's")
def test_redis_going_away_is_503_and_service_resumes_by_itself(tmp_path, shared_secrets):
    redis = RedisServer(tmp_path / "redis").start()
    h = Host(tmp_path / "host" / "data", config=shared_store_config(redis.url, "outage:", RELAXED_LIMITS), env=dict(shared_secrets)).start()
    try:
        tokens = login_tokens(h, "outage")
        redis.stop()
        for path in ["/healthz", "/oauth2/userinfo"]:
            started = time.monotonic()
            r = requests.get(h.url(path), headers=bearer(tokens["access_token"]), timeout=30)
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert r.json()["error"] == "temporarily_unavailable" and int(r.headers["retry-after"]) > 0
            assert time.monotonic() - started < 5, "an outage must fail fast, not hang"
        # A refresh during the outage writes nothing: the token still works afterwards.
        r = requests.post(h.url("/oauth2/refresh"), json={"refresh_token": tokens["refresh_token"]}, timeout=30)
        assert r.status_code == 503, r.text
        redis = RedisServer(tmp_path / "redis", port=redis.port).start()
        deadline = time.monotonic() + 15
        while requests.get(h.url("/healthz"), timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "service did not resume"
            time.sleep(0.2)
        assert requests.get(h.url("/oauth2/userinfo"), headers=bearer(tokens["access_token"])).status_code == 200
        r = requests.post(h.url("/oauth2/refresh"), json={"refresh_token": tokens["refresh_token"]})
        assert r.status_code == 200, r.text
    finally:
        h.stop()
        redis.stop()
