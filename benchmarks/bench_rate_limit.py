"""Benchmark: the whole suite against a rate-limited Data Center, started the way a user starts it.

The emulator runs as its own process (``python -m conformance.emulator --scenario dc-healthy
--rate-limit CAPACITY/FILL``); the suite runs as ``pytest --jira-url URL -p no:cacheprovider``
in a subprocess with the bot's credentials in the environment and a temporary report folder.
From the JSON result it prints the share of requests answered 429, the wall time, and the ratio
of the wall time to the bucket's floor ((requests - bucket) / fill rate): no client can finish
faster than the bucket refills.

Verdict (issue 12): at most 2% of requests answered 429, and the run ``ready``.

    .venv/bin/python benchmarks/bench_rate_limit.py [--rate-limit 10/5] [--projects 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_429_SHARE = 0.02


def start_emulator(rate_limit: str, projects: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "conformance.emulator", "--scenario", "dc-healthy"),
            *("--rate-limit", rate_limit, "--projects", str(projects)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit(f"the emulator did not start (first line: {url!r})")
    return process, url


def run_suite(url: str, report_dir: Path) -> tuple[dict[str, object], float, int]:
    env = {**os.environ, "JIRA_USER": "visor-bot", "JIRA_PASSWORD": "visor-bot-password"}
    result_path = report_dir / "result.json"
    started = time.perf_counter()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "--jira-url", url, "-p", "no:cacheprovider"),
            *("--jira-report-dir", str(report_dir), "--jira-json", str(result_path), "-q"),
        ],
        env=env,
        cwd=report_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if not result_path.is_file():
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"the suite wrote no JSON result (exit {done.returncode})")
    return json.loads(result_path.read_text(encoding="utf-8")), seconds, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate-limit", default="10/5", help="CAPACITY/FILL_PER_SECOND")
    parser.add_argument("--projects", type=int, default=50, help="projects the bot can see")
    args = parser.parse_args(argv)
    capacity_text, _, fill_text = args.rate_limit.partition("/")
    capacity, fill = int(capacity_text), float(fill_text or 1)
    emulator, url = start_emulator(args.rate_limit, args.projects)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-rate-limit-") as folder:
            result, seconds, exit_code = run_suite(url, Path(folder))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    http = result.get("http") or {}
    assert isinstance(http, dict)
    requests = int(http.get("requests") or 0)
    answered_429 = int(http.get("rate_limited") or 0)
    share = answered_429 / requests if requests else 0.0
    floor = max(0.0, (requests - capacity) / fill)
    verdict = result.get("verdict")
    print(f"bucket: {capacity} tokens, refilled {fill:g} per second; {args.projects} projects")
    print(f"requests: {requests}, answered 429: {answered_429} ({share:.1%})")
    print(f"wall time: {seconds:.1f} s; bucket floor: {floor:.1f} s", end="")
    print(f"; ratio: {seconds / floor:.2f}" if floor else "")
    print(f"verdict: {verdict} (exit {exit_code})")
    passed = share <= MAX_429_SHARE and verdict == "ready"
    print(f"{'PASS' if passed else 'FAIL'}: at most {MAX_429_SHARE:.0%} answered 429 and ready")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
