"""Benchmark: the test import's memory does not grow with the size of the project.

The emulator runs in its own process (so its memory is not counted) with one project of
100,000 issues; this process runs the real ``search.import_sample`` probe through the real HTTP
layer with a sample of 5,000 issues and the changelog expanded, and measures its own resident
memory before and after (and its peak, from /proc). A second import of a 1,000-issue project
with the same sample size shows the growth does not depend on the project's size.

Verdicts (issue 6): the counts are right (5,000 distinct issues read, total 100,000, no paging
problem) and resident memory grows by less than 50 MiB.

    .venv/bin/python benchmarks/bench_import_memory.py [--issues 100000] [--sample 5000] [--scenario dc-healthy]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

from conformance.emulator import BOT_EMAIL, BOT_PASSWORD, BOT_TOKEN, BOT_USER
from conformance.probes import search
from conformance.profile import ImportSettings, load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget

MAX_GROWTH_MIB = 50.0


def rss_mib(field: str = "VmRSS") -> float:
    """This process's resident memory (or its peak, VmHWM) in MiB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def start_emulator(scenario: str, issues: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "conformance.emulator", "--scenario", scenario]
    proc = subprocess.Popen([*command, "--issues", str(issues)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def target_for(url: str, scenario: str, sample: int, page_size: int) -> JiraTarget:
    if scenario == "cloud":
        credentials = Credentials(BOT_EMAIL, Secret(BOT_TOKEN), "basic", "token", "benchmark")
    else:
        credentials = Credentials(BOT_USER, Secret(BOT_PASSWORD), "basic", "password", "bench")
    settings = Settings(url=url, credentials=credentials, deadline_s=3600)
    profile = dataclasses.replace(
        load_profile("visor-default"),
        import_settings=ImportSettings(page_size=page_size, sample_size=sample, changelog=True),
    )
    redactor = Redactor()
    redactor.register(credentials.secret)
    return JiraTarget(settings, redactor, profile)


def measure(scenario: str, issues: int, sample: int, page_size: int) -> dict[str, Any]:
    proc, url = start_emulator(scenario, issues)
    try:
        target = target_for(url, scenario, sample, page_size)
        search.deployment_type(target)  # learn the deployment before measuring
        gc.collect()
        before = rss_mib()
        evidence = target.probe(search.import_sample, "VIS")
        gc.collect()
        after = rss_mib()
        target.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    facts = evidence.facts
    return {
        "issues": issues,
        "ok": evidence.ok,
        "read": facts["issues_read"],
        "distinct": facts["distinct"],
        "total": facts["total"],
        "pages": facts["pages"],
        "problems": facts["pagination_problems"],
        "seconds": facts["elapsed_s"],
        "rate": facts["rate"],
        "growth_mib": after - before,
        "before_mib": before,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--scenario", default="dc-healthy", choices=["dc-healthy", "cloud"])
    args = parser.parse_args()
    small = measure(args.scenario, 1_000, args.sample, args.page_size)
    big = measure(args.scenario, args.issues, args.sample, args.page_size)
    peak = rss_mib("VmHWM")
    for run in (small, big):
        print(
            f"{args.scenario}: project of {run['issues']:>7,} issues: read {run['read']:,} "
            f"({run['distinct']:,} distinct) of total {run['total']:,} in {run['pages']} pages, "
            f"{run['seconds']:.1f} s ({run['rate']:.0f} issues/s); RSS {run['before_mib']:.1f} MiB "
            f"+ {run['growth_mib']:.1f} MiB"
        )
    print(f"peak RSS of this process: {peak:.1f} MiB")
    expected = min(args.sample, args.issues)
    failures = []
    if not big["ok"] or big["problems"]:
        failures.append(f"the import failed or paged inconsistently: {big['problems']}")
    if big["distinct"] < expected or big["total"] != args.issues:
        failures.append(f"wrong counts: {big['distinct']} distinct of total {big['total']}")
    if big["growth_mib"] >= MAX_GROWTH_MIB:
        failures.append(f"RSS grew {big['growth_mib']:.1f} MiB (limit {MAX_GROWTH_MIB:g})")
    print("verdict:", "PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
