"""Where a request's CPU time goes, from a `perf record -g` of the host
under load: self time per symbol, grouped into the phases of the request
path. Not a test. Usage:

    perf record -F 999 -g -p <host pid> -o perf.data -- sleep 8   # while wrk runs
    python3 benches/http/breakdown.py perf.data
"""

import re
import subprocess
import sys
from collections import defaultdict

# First match wins: (phase, dso pattern, symbol pattern).
PHASES = [
    ("guest: configuration load and parse", r"\.cwasm", r"config|url|idna|uts46|secret_names|Providers.*from_config|hash::sip|HashMap|BuildHasher"),
    ("guest: the endpoint (core logic, JSON, hashing)", r"\.cwasm", r"."),
    ("signatures (ring: ECDSA/EdDSA)", r"tmi-auth-host", r"ecp_nistz|p256|ring_core|x25519|ed25519|sha256_block|sha512_block"),
    ("instantiation and slot reset (wasmtime, kernel)", r".", r"pagemap|madvise|Instance::new|instantiate|allocat|InstancePre|OwnedImports|lookup_vmdef|get_func_ref|table_with_lazy|decommit|MemoryPool|TablePool|StackPool|memory_image|cow|func_loc|exc_page_fault|do_wp_page|handle_mm_fault|flush_tlb|smp_call_function|native_write_msr|clear_page|zap_|unmap_page|folio"),
    ("calls between host and guest (component model, WASI)", r"tmi-auth-host", r"wasmtime|wasi|component|ResourceTable|Lower|Lift|typed|trampoline|catch_traps|capabilities"),
    ("key-value store (redb)", r"tmi-auth-host", r"redb|keyvalue"),
    ("HTTP server (hyper, tokio, sockets)", r".", r"hyper|tokio|mio|tcp|sock|skb|inet|ip_|net_|epoll|writev|recv|send|__schedule|finish_task_switch|futex|wake|poll|sched|irq|softirq|syscall"),
    ("memory allocation (host)", r"libc|tmi-auth-host", r"malloc|free|realloc|memmove|memcpy|memset|rdl_alloc|rust_alloc|dealloc|_int_"),
]


def symbols(perf_data):
    out = subprocess.run(
        ["perf", "report", "-i", perf_data, "--no-children", "--sort", "dso,sym", "-g", "none", "--stdio"],
        capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
        if m:
            yield float(m.group(1)), m.group(2), m.group(3)


def main():
    totals = defaultdict(float)
    for share, dso, sym in symbols(sys.argv[1]):
        phase = next((name for name, d, s in PHASES if re.search(d, dso) and re.search(s, sym, re.I)), "other (host and kernel)")
        totals[phase] += share
    print("| phase | share of CPU |\n|---|---|")
    for phase, share in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {phase} | {share:.1f}% |")


if __name__ == "__main__":
    main()
