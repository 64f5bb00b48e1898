"""Benchmark: are the reports attachable at the sizes a Jira Data Center bot sees?

A bot often sees thousands of projects; Jira's own default attachment limit is 10 MB and many
mail servers refuse 10-25 MB. For each size the bundled emulator (``dc-healthy``, in this
process) serves that many healthy projects at 0 ms latency, and ``pytest --jira-url`` runs
against it in a subprocess exactly as support starts it; the sizes of the HTML page, the JSON
result and the JUnit file are printed with the run's wall time, per row.

Bars (issue 24): the HTML page at most 1 MB at 203 projects and at most 10 MB at 10,000 (the
projects' passing rows are the matrix's cells, every failing, blocked or warning row whole). The
JSON result keeps every row and JUnit has one test case per row: their sizes are printed, with
no bar.

    .venv/bin/python benchmarks/bench_report_size.py [--projects 203 2000 10000]
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

from conformance.emulator import BOT_PASSWORD, BOT_USER, EmulatorServer

MB = 1_000_000
HTML_BARS = {203: 1 * MB, 10_000: 10 * MB}  # projects -> the page's largest size
BOT_ENV = {"JIRA_USER": BOT_USER, "JIRA_PASSWORD": BOT_PASSWORD}


def run(projects: int, scratch: Path) -> dict[str, float]:
    """One run against ``projects`` healthy projects: report sizes, rows and wall time."""
    server = EmulatorServer("dc-healthy", projects=projects).start()
    report_dir = scratch / f"reports-{projects}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_")}
    env.update(BOT_ENV, NETRC=os.devnull)
    command = [sys.executable, "-m", "pytest", "--jira-url", server.url]
    command += ["--jira-report-dir", str(report_dir), "-p", "no:cacheprovider", "-q"]
    command += ["-p", "no:randomly", "-p", "no:xdist", "-p", "no:hypothesispytest"]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, check=False)
    finally:
        server.stop()
    seconds = time.perf_counter() - started
    sizes = {kind: _size(report_dir, kind) for kind in ("html", "json", "xml")}
    if not sizes["json"]:
        raise SystemExit(f"no JSON result at {projects} projects: {done.stdout[-2000:]!r}")
    result = json.loads(next(report_dir.glob("*.json")).read_text("utf-8"))
    rows = len(result["results"])
    return {**sizes, "rows": rows, "seconds": seconds, "exit": done.returncode}


def _size(folder: Path, kind: str) -> float:
    found = sorted(folder.glob(f"*.{kind}"))
    return found[-1].stat().st_size if found else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, nargs="+", default=[203, 2000, 10_000])
    options = parser.parse_args()
    failed = False
    print(f"{'projects':>8} {'rows':>7} {'HTML':>9} {'JSON':>9} {'JUnit':>9} {'wall':>8}  bar")
    with tempfile.TemporaryDirectory(prefix="bench-report-size-") as scratch:
        for projects in options.projects:
            got = run(projects, Path(scratch))
            bar = HTML_BARS.get(projects)
            verdict = ""
            if bar is not None:
                ok = got["html"] <= bar
                failed |= not ok
                verdict = f"HTML <= {bar / MB:g} MB: {'PASS' if ok else 'FAIL'}"
            per_row = got["seconds"] / got["rows"] * 1000 if got["rows"] else 0
            print(
                f"{projects:>8,} {int(got['rows']):>7,} {got['html'] / MB:>7.2f}MB "
                f"{got['json'] / MB:>7.2f}MB {got['xml'] / MB:>7.2f}MB {got['seconds']:>7.1f}s  "
                f"{verdict} ({per_row:.2f} ms of wall time per row, exit {int(got['exit'])})",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
