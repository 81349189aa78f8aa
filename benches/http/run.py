"""HTTP load benchmark: tmi-auth-host against a baseline measured in the same run.

Operations: the client_credentials grant and introspection, each with wrk
for the same duration and connections, next to
- GET /healthz on the same host (the fixed cost of a request through the
  component), and
- node oidc-provider doing the same two operations (the grant issuing ES256
  JWT access tokens; introspection of its opaque tokens, since it does not
  introspect JWTs), when benches/http/node_modules has it.
Ratios are what to compare; absolute numbers on a shared 2-core machine mean
little. Usage: python3 benches/http/run.py [--duration 10] [--connections 32]
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

REPO = Path(__file__).resolve().parents[2]
HOST = REPO / "target" / "release" / "tmi-auth-host"
HERE = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{url}: server exited")
        try:
            urlopen(url, timeout=1)
            return
        except Exception as e:  # noqa: BLE001 - any answer, even 4xx, means it is up
            if hasattr(e, "code"):
                return
            time.sleep(0.1)
    sys.exit(f"{url}: not up")


def http(method, url, body=None, headers=None, allow_redirect=True):
    req = Request(url, data=body.encode() if body else None, method=method, headers=headers or {})
    try:
        with urlopen(req) as r:
            return r.status, r.headers, r.read()
    except Exception as e:  # noqa: BLE001
        if hasattr(e, "code"):
            return e.code, e.headers, e.read()
        raise


def wrk(url, duration, connections, method="GET", body=None, content_type=None):
    script = None
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if method == "POST":
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "{content_type}"\n')
        script.close()
        args += ["-s", script.name]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        sys.exit(f"{url}: {non2xx.group(1)} failed responses under load:\n{out}")
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    return rps, p99


def start_tmi(data_dir):
    port = free_port()
    config = Path(data_dir) / "bench.toml"
    config.write_text('rate_limit_ip = "off"\nrate_limit_session = "off"\nrate_limit_user = "off"\nrate_limit_client = "off"\n')
    proc = subprocess.Popen(
        [str(HOST), "serve", "--dev", "--listen", f"127.0.0.1:{port}", "--data-dir", str(Path(data_dir) / "data"), "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={k: v for k, v in os.environ.items() if not k.startswith("TMI_")} | {"RUST_LOG": "warn"},
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/healthz", proc)
    return proc, base


def tmi_credentials(base):
    """Log a user in through the test provider and create a client credential."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlparse

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    callback = "http://localhost:4200/cb"
    q = urlencode({"idp": "test", "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256", "client_callback": callback, "login_hint": "bench"})

    class NoRedirect(__import__("urllib.request").request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = __import__("urllib.request").request.build_opener(NoRedirect)

    def location(url):
        try:
            opener.open(url)
        except Exception as e:  # noqa: BLE001 - the 302 arrives as an HTTPError
            return e.headers["location"]
        sys.exit(f"{url}: no redirect")

    code = parse_qs(urlparse(location(location(f"{base}/oauth2/authorize?{q}"))).query)["code"][0]
    body = json.dumps({"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": callback})
    _, _, raw = http("POST", base + "/oauth2/token", body, {"content-type": "application/json"})
    access = json.loads(raw)["access_token"]
    _, _, raw = http("POST", base + "/client-credentials", json.dumps({"name": "bench"}), {"content-type": "application/json", "authorization": f"Bearer {access}"})
    cred = json.loads(raw)
    grant = urlencode({"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": cred["client_secret"]})
    _, _, raw = http("POST", base + "/oauth2/token", grant, {"content-type": "application/x-www-form-urlencoded"})
    return grant, json.loads(raw)["access_token"]


def start_oidc_provider():
    if not (HERE / "node_modules" / "oidc-provider").exists():
        return None, None
    port = free_port()
    proc = subprocess.Popen(["node", str(HERE / "oidc_provider_baseline.mjs"), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/.well-known/openid-configuration", proc)
    return proc, base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmi, base = start_tmi(tmp)
        try:
            grant, token = tmi_credentials(base)
            form = "application/x-www-form-urlencoded"
            rows.append(("tmi-auth", "GET /healthz (baseline)", *wrk(base + "/healthz", a.duration, a.connections)))
            rows.append(("tmi-auth", "client_credentials grant", *wrk(base + "/oauth2/token", a.duration, a.connections, "POST", grant, form)))
            rows.append(("tmi-auth", "introspect", *wrk(base + "/oauth2/introspect", a.duration, a.connections, "POST", f"token={token}", form)))
        finally:
            tmi.send_signal(signal.SIGTERM)
            tmi.wait(timeout=30)
    node, nbase = start_oidc_provider()
    if node:
        try:
            secret = "bench-secret-bench-secret-bench-secret-0000"
            grant = urlencode({"grant_type": "client_credentials", "client_id": "bench", "client_secret": secret})
            opaque = urlencode({"grant_type": "client_credentials", "client_id": "bench-opaque", "client_secret": secret})
            _, _, raw = http("POST", nbase + "/token", opaque, {"content-type": "application/x-www-form-urlencoded"})
            ntoken = json.loads(raw)["access_token"]
            intro = urlencode({"token": ntoken, "client_id": "bench-opaque", "client_secret": secret})
            rows.append(("oidc-provider", "client_credentials grant", *wrk(nbase + "/token", a.duration, a.connections, "POST", grant, form)))
            rows.append(("oidc-provider", "introspect", *wrk(nbase + "/token/introspection", a.duration, a.connections, "POST", intro, form)))
        finally:
            node.terminate()
            node.wait(timeout=30)
    else:
        print("(node oidc-provider baseline skipped: run `npm ci --prefix benches/http`)")

    baseline = rows[0][2]
    by_op = {(server, op): rps for server, op, rps, _ in rows}
    print(f"\n{'server':<14} {'operation':<28} {'req/s':>10} {'p99':>10} {'vs healthz':>11} {'vs oidc-provider':>17}")
    for server, op, rps, p99 in rows:
        node_rps = by_op.get(("oidc-provider", op))
        vs_node = f"{rps / node_rps:.2f}x" if node_rps and server == "tmi-auth" else ""
        print(f"{server:<14} {op:<28} {rps:>10.0f} {p99:>10} {rps / baseline:>10.2f}x {vs_node:>17}")


if __name__ == "__main__":
    main()
