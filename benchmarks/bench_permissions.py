"""Benchmark: per-project permission probing, concurrent against one request after another.

Against the emulator with many projects and a fixed latency per request, a default read-only
run (profile visor-default) learns which projects the bot sees and then prefetches each
project's permission evidence, through the real probes and the real HTTP layer. The same work
is measured twice in one run, with --jira-concurrency's default and with 1, on fresh targets.

Verdicts (issue 5): concurrent is at least 4x faster than sequential, and within 1.5x of the
lower bound ceil(requests_per_project x projects / concurrency) x latency + the dependent prefix.

    .venv/bin/python benchmarks/bench_permissions.py [--projects 200] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass

from conformance.emulator import BOT_PASSWORD, BOT_USER, EmulatorServer
from conformance.engine.fetch import discover_projects as project_keys
from conformance.probes import permissions
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import DEFAULT_CONCURRENCY, Credentials, Settings
from conformance.target import JiraTarget

MIN_SPEED_UP = 4.0
MAX_OVER_BOUND = 1.5


@dataclass(frozen=True)
class Measurement:
    concurrency: int
    projects: int
    prefix_requests: int
    project_requests: int
    seconds: float


def measure(url: str, concurrency: int) -> Measurement:
    """One read-only run's permission probing: the project list, then every project's grants."""
    credentials = Credentials(BOT_USER, Secret(BOT_PASSWORD), "basic", "password", "benchmark")
    settings = Settings(url=url, credentials=credentials, concurrency=concurrency)
    target = JiraTarget(settings, Redactor(), load_profile("visor-default"))
    try:
        started = time.perf_counter()
        keys = project_keys(target)
        prefix = target.http.counters.requests
        target.prefetch(permissions.survey, [(key,) for key in keys])
        seconds = time.perf_counter() - started
        failed = [k for k in keys if not target.probe(permissions.project_permissions, k).ok]
        if failed:
            raise SystemExit(f"probing failed for {len(failed)} projects, e.g. {failed[0]}")
        total = target.http.counters.requests
        return Measurement(concurrency, len(keys), prefix, total - prefix, seconds)
    finally:
        target.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    args = parser.parse_args(argv)
    latency_s = args.latency_ms / 1000
    command = "python benchmarks/bench_permissions.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    print(f"command: {command.strip()}")
    with EmulatorServer(
        "dc-healthy", projects=args.projects, issues=20, latency_ms=args.latency_ms
    ) as server:
        concurrent = measure(server.url, args.concurrency)
        sequential = measure(server.url, 1)
    per_project = concurrent.project_requests / max(1, concurrent.projects)
    bound = (
        math.ceil(per_project * concurrent.projects / args.concurrency) + concurrent.prefix_requests
    ) * latency_s
    speed_up = sequential.seconds / concurrent.seconds
    over_bound = concurrent.seconds / bound
    print(
        f"projects: {concurrent.projects}, latency: {args.latency_ms:g} ms, requests: "
        f"{concurrent.prefix_requests} dependent prefix + {per_project:g} per project"
    )
    for m in (concurrent, sequential):
        print(f"concurrency {m.concurrency:>2}: {m.seconds * 1000:8.0f} ms")
    print(f"lower bound at concurrency {args.concurrency}: {bound * 1000:8.0f} ms")
    ok_speed = speed_up >= MIN_SPEED_UP
    ok_bound = over_bound <= MAX_OVER_BOUND
    print(
        f"speed-up: {speed_up:.1f}x (needs >= {MIN_SPEED_UP:g}x): {'PASS' if ok_speed else 'FAIL'}"
    )
    print(
        f"vs lower bound: {over_bound:.2f}x (needs <= {MAX_OVER_BOUND:g}x): "
        f"{'PASS' if ok_bound else 'FAIL'}"
    )
    return 0 if ok_speed and ok_bound else 1


if __name__ == "__main__":
    sys.exit(main())
