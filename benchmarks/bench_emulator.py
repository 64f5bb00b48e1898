"""Benchmark of the bundled Jira emulator: it must never be the bottleneck.

Run:  .venv/bin/python benchmarks/bench_emulator.py

1. Throughput: small authenticated GETs (``/rest/api/2/myself``) over one keep-alive
   ``requests.Session`` against an emulator started with the CLI and pinned to one CPU core
   (``os.sched_setaffinity``); the client is pinned to another core when there is one.
   Prints the wall-clock rate (best of 3 rounds; usually bound by the Python client) and the
   emulator's own cost in requests per CPU-second of its core (stable on a busy machine).
   Requirement: >= 500 requests/s.
2. Memory: an emulator serving a 100,000-issue project, read page by page through
   ``/rest/api/2/search`` (1000 issues per page, 100 pages); the peak resident set size
   (VmHWM) of the emulator process must stay under 200 MiB.

Exit status 0 when both verdicts pass, 1 otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

BOT = ("visor-bot", "visor-bot-password")
MIN_RPS = 500.0
MAX_RSS_MIB = 200.0


def _spawn(*args: str, core: int | None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.emulator", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(proc.pid, {core})
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    return proc, url


def _rss_mib(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_throughput(seconds: float = 4.0, rounds: int = 3) -> tuple[float, float]:
    """(best wall-clock requests/s, requests per CPU-second of the emulator process).

    The second number is what one core can serve when nothing else competes for it; it stays
    meaningful on a loaded CI machine, where the wall-clock rate also measures the neighbours.
    """
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_core = cores[0] if cores else None
    if len(cores) > 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cores[1]})
    proc, url = _spawn("--scenario", "dc-healthy", core=server_core)
    try:
        s = requests.Session()
        s.auth = BOT
        target = f"{url}/rest/api/2/myself"
        for _ in range(50):  # warm up
            s.get(target).raise_for_status()
        best = 0.0
        total_n = 0
        cpu0 = _cpu_seconds(proc.pid)
        for _ in range(rounds):
            n = 0
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                r = s.get(target)
                assert r.status_code == 200
                n += 1
            best = max(best, n / (time.perf_counter() - t0))
            total_n += n
        cpu = _cpu_seconds(proc.pid) - cpu0
        return best, total_n / cpu if cpu else float("inf")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if cores and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(cores))


def bench_memory(issues: int = 100_000, page: int = 1000) -> tuple[float, float, int]:
    proc, url = _spawn(
        "--scenario", "dc-healthy", "--projects", "1", "--issues", str(issues), core=None
    )
    try:
        s = requests.Session()
        s.auth = BOT
        idle = _rss_mib(proc.pid, "VmRSS")
        seen = 0
        start = 0
        t0 = time.perf_counter()
        while True:
            body = s.post(
                f"{url}/rest/api/2/search",
                json={
                    "jql": "project = P001 ORDER BY key ASC",
                    "startAt": start,
                    "maxResults": page,
                    "fields": ["summary", "status", "labels", "updated"],
                },
            ).json()
            seen += len(body["issues"])
            start += page
            if start >= body["total"]:
                break
        took = time.perf_counter() - t0
        assert seen == issues, seen
        print(f"  paged {seen} issues in {took:.1f} s ({seen / took:.0f} issues/s)")
        return idle, _rss_mib(proc.pid, "VmHWM"), seen
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    print("emulator throughput (one core, keep-alive, GET /rest/api/2/myself):")
    rps, per_cpu = bench_throughput()
    ok_rps = max(rps, per_cpu) >= MIN_RPS
    print(f"  wall clock: {rps:.0f} requests/s (best of 3 rounds)")
    print(f"  emulator cost: {per_cpu:.0f} requests per CPU-second of its one core")
    print(
        f"  -> {'PASS' if ok_rps else 'FAIL'} (need >= {MIN_RPS:.0f}; the CPU-second figure "
        "decides when the machine is busy)"
    )
    print("emulator memory (100,000-issue project served page by page):")
    idle, peak, _ = bench_memory()
    ok_mem = peak < MAX_RSS_MIB
    print(
        f"  RSS at start {idle:.1f} MiB, peak {peak:.1f} MiB  -> "
        f"{'PASS' if ok_mem else 'FAIL'} (need < {MAX_RSS_MIB:.0f} MiB)"
    )
    return 0 if ok_rps and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
