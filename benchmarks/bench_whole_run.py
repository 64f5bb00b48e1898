"""Benchmark: the whole run as a user starts it, measured where users feel it.

Every run is ``pytest --jira-url URL`` in a subprocess, default profile, exactly as support starts
it (start-up, collection, every check, the HTML/JSON/JUnit reports), from a fresh virtual
environment holding what ``pip install`` of this repository installs and nothing else (a
customer's environment has none of the test dependencies, and writes bytecode). The emulator runs
in this process and answers each request ``--latency-ms`` after it arrived, its own work included,
as a Jira on its own cores would; it still shares this machine's cores with the suite.

Four measurements, each printed with PASS/FAIL (issue 21):

1. **The network floor at real latency.** 203 projects at 200 ms (a VPN or the internet): the
   suite's run (median of ``--repeat``) within 1.2x of the floor
   ``(dependent chain + ceil(independent requests / concurrency)) x latency``, the requests read
   from the emulator's log. Each GET is sent at most once.
2. **CPU per row.** 2,000 projects at 0 ms: at most 1.0 ms of wall time per check row, one process.
   At 0 ms the run is bound by the CPU of the run's process (pytest's per-item protocol, the report
   hooks, the HTTP client, JSON decoding): the number that decides every other run's overhead.
   Printed beside it, not gated: pytest alone running as many empty tests in the same venv, the
   machine's own speed at pytest's per-item work (a row's cost as a multiple of it reads the
   same on a faster or a busier machine).
3. **No regression at low latency.** 203 projects at 50 ms: at least 3x faster than the same GETs
   sent one after another on one keep-alive connection, and than a script with the ``jira``
   package doing the same read-only checks in sequence.
4. **Scale.** 2,000 and 10,000 projects at 0 ms: wall time, peak RSS, ms per row, HTML/JSON/JUnit
   sizes. Gates: the 10,000-project run under 1 GiB peak RSS, and its ms per row within 1.3x of the
   2,000-project run's.

    .venv/bin/python benchmarks/bench_whole_run.py [--repeat 3] [--no-scale] [--python PATH]
        --repeat N        # runs of the suite per latency (the median counts; all are printed)
        --python PATH     # a Python that already has the suite installed (skips the fresh venv)
        --no-scale        # skip the 10,000-project run (measurement 4 then reports 2,000 only)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import requests

from conformance.emulator import BOT_PASSWORD, BOT_USER, EmulatorServer
from conformance.settings import DEFAULT_CONCURRENCY

MAX_OVER_FLOOR = 1.2  # 1. the whole run at 200 ms against the network's floor
MAX_MS_PER_ROW = 1.0  # 2. wall time per check row at 0 ms, 2,000 projects
MIN_SPEED_UP = 3.0  # 3. at 50 ms, against the same GETs in sequence and the jira script
MAX_RSS_MIB = 1024  # 4. the 10,000-project run's peak RSS
MAX_ROW_GROWTH = 1.3  # 4. its ms per row against the 2,000-project run's
PROJECTS = 203
BOT_ENV = {"JIRA_USER": BOT_USER, "JIRA_PASSWORD": BOT_PASSWORD}


@dataclass(frozen=True)
class SuiteRun:
    seconds: float
    exit_code: int
    verdict: str
    items: int
    requests: list[tuple[str, str, str, str | None]]  # method, path, query, user
    peak_rss_mib: float
    sizes: dict[str, int]  # bytes of each report: html, json, xml
    # Seconds from the start to the first request's arrival, from there to the last request's
    # arrival, and from there to the end of the process.
    phases: tuple[float, float, float]

    @property
    def ms_per_row(self) -> float:
        return self.seconds * 1000 / max(1, self.items)


REPOSITORY = Path(__file__).resolve().parents[1]


def user_python(scratch: Path) -> Path:
    """A fresh virtual environment with the suite installed as a customer installs it."""
    home = scratch / "user-venv"
    venv.EnvBuilder(with_pip=True).create(home)
    python = home / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(REPOSITORY),
        ],
        env=_clean_env(),
        cwd=scratch,
        capture_output=True,  # a pip configuration may warn about every package: say it on failure
        text=True,
    )
    if install.returncode:
        raise SystemExit(f"pip install failed:\n{install.stderr[-4000:]}")
    return python


def run_suite(server: EmulatorServer, scratch: Path, python: Path) -> SuiteRun:
    """``pytest --jira-url`` in a subprocess, as a user starts it; the emulator's log of it."""
    server.log.clear()
    report_dir = scratch / f"reports-{time.monotonic_ns()}"
    command = [
        str(python),
        "-m",
        "pytest",
        "--jira-url",
        server.url,
        "--jira-report-dir",
        str(report_dir),
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    env = {**_clean_env(), **BOT_ENV}
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=scratch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    ended = time.monotonic()
    seconds = ended - started
    process.returncode = os.waitstatus_to_exitcode(status)
    results = sorted(report_dir.glob("*.json"))
    if not results:
        raise SystemExit(
            f"the suite wrote no JSON result: {process.stderr.read().decode()[-2000:]}"
        )
    result = json.loads(results[-1].read_text("utf-8"))
    entries = server.log.entries
    log = [(e.method, e.path, e.query, e.user) for e in entries]
    sizes = {path.suffix[1:]: path.stat().st_size for path in report_dir.iterdir()}
    first = min((e.arrived for e in entries), default=started)
    last = max((e.arrived for e in entries), default=ended)
    return SuiteRun(
        seconds,
        process.returncode,
        str(result["verdict"]),
        len(result["results"]),
        log,
        usage.ru_maxrss / 1024,
        sizes,
        (first - started, last - first, ended - last),
    )


def _clean_env() -> dict[str, str]:
    drop = ("JIRA_URL", "JIRA_USER", "JIRA_PASSWORD", "JIRA_TOKEN", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if k not in drop} | {"NETRC": os.devnull}


def replay(server: EmulatorServer, gets: list[tuple[str, str, str, str | None]]) -> float:
    """The same GETs, one after another on one keep-alive connection."""
    session = requests.Session()
    base = server.url.split("/", 3)[:3]
    started = time.perf_counter()
    for _method, path, query, user in gets:
        url = "/".join(base) + path + (f"?{query}" if query else "")
        auth = (BOT_USER, BOT_PASSWORD) if user else None
        session.get(url, auth=auth, timeout=30).content  # noqa: B018 - read the whole body
    return time.perf_counter() - started


JIRA_SCRIPT = textwrap.dedent(
    """
    import sys
    from jira import JIRA
    url, user, password = sys.argv[1:4]
    jira = JIRA(url, basic_auth=(user, password), get_server_info=True)
    jira.myself()
    for project in jira.projects():
        jira.my_permissions(projectKey=project.key, permissions="BROWSE_PROJECTS")
        jira.search_issues(
            f"project = {project.key} ORDER BY key ASC", maxResults=500,
            fields="summary,status,issuetype,priority,assignee,reporter,created,updated,labels",
            expand="changelog",
        )
    """
)


def run_jira_script(server: EmulatorServer, scratch: Path) -> float:
    script = scratch / "jira_check.py"
    script.write_text(JIRA_SCRIPT, encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(script), server.url, BOT_USER, BOT_PASSWORD],
        check=True,
        env=_clean_env(),
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def median_run(server: EmulatorServer, scratch: Path, python: Path, repeat: int) -> SuiteRun:
    """The median of ``repeat`` runs of the suite (every run's time is printed). A run whose
    requests repeat a GET is returned instead: "each GET at most once" then fails on it."""
    runs = sorted(
        (run_suite(server, scratch, python) for _ in range(repeat)), key=lambda r: r.seconds
    )
    print("  runs: " + ", ".join(f"{r.seconds:.2f} s" for r in runs))
    for run in runs:
        if repeated_gets(run):
            return run
    return runs[len(runs) // 2]


def repeated_gets(run: SuiteRun) -> list[tuple[str, str, str, str | None]]:
    gets = [entry for entry in run.requests if entry[0] == "GET"]
    return [entry for entry, n in Counter(gets).items() if n > 1]


def chain_length(log: list[tuple[str, str, str, str | None]]) -> int:
    """Requests up to and including the project list: everything after it can fan out."""
    for n, (_method, path, _query, _user) in enumerate(log, start=1):
        if path.endswith("/rest/api/2/project"):
            return n
    return len(log)


def verdict(name: str, passed: bool, value: str) -> bool:
    print(f"{name}: {value}: {'PASS' if passed else 'FAIL'}")
    return passed


def ready(run: SuiteRun) -> bool:
    return verdict("  verdict", run.verdict == "ready" and run.exit_code == 0, run.verdict)


def network_floor(scratch: Path, python: Path, repeat: int) -> bool:
    """1. 203 projects at 200 ms: the whole run against the network's floor."""
    latency_s = 0.2
    print(f"1. network floor: {PROJECTS} projects at {latency_s * 1000:g} ms")
    with EmulatorServer("dc-healthy", projects=PROJECTS, latency_ms=latency_s * 1000) as server:
        run = median_run(server, scratch, python, repeat)
    chain = chain_length(run.requests)
    independent = len(run.requests) - chain
    floor = (chain + math.ceil(independent / DEFAULT_CONCURRENCY)) * latency_s
    before, during, after = run.phases
    print(
        f"  {len(run.requests)} requests, {run.items} rows; floor ({chain} dependent + "
        f"ceil({independent}/{DEFAULT_CONCURRENCY})) x {latency_s:g} s = {floor:.2f} s; "
        f"suite {run.seconds:.2f} s: {before:.2f} s to the first request, {during:.2f} s "
        f"from the first request to the last, {after:.2f} s after the last"
    )
    ratio = run.seconds / floor
    repeated = repeated_gets(run)
    return all(
        [
            ready(run),
            verdict("  each GET at most once", not repeated, f"{len(repeated)} repeated"),
            verdict(
                f"  suite / floor <= {MAX_OVER_FLOOR:g}", ratio <= MAX_OVER_FLOOR, f"{ratio:.2f}"
            ),
        ]
    )


def cpu_per_row(scratch: Path, python: Path, repeat: int) -> tuple[bool, SuiteRun]:
    """2. 2,000 projects at 0 ms: wall time per check row."""
    print("2. CPU per row: 2,000 projects at 0 ms")
    with EmulatorServer("dc-healthy", projects=2000, issues=20) as server:
        run = median_run(server, scratch, python, repeat)
    print(f"  {run.seconds:.1f} s for {run.items} rows")
    alone = pytest_alone(scratch, python, run.items, repeat)
    print(
        f"  context, not gated: pytest alone runs as many empty tests in {alone:.1f} s "
        f"({alone * 1000 / run.items:.2f} ms each) on this machine now; a row costs "
        f"{run.seconds / alone:.1f} times that"
    )
    passed = verdict(
        f"  ms per row <= {MAX_MS_PER_ROW:g}",
        run.ms_per_row <= MAX_MS_PER_ROW,
        f"{run.ms_per_row:.2f}",
    )
    return ready(run) and passed, run


def pytest_alone(scratch: Path, python: Path, tests: int, repeat: int) -> float:
    """The median wall time of ``pytest -q`` over ``tests`` empty tests, in the suite's venv: the
    machine's own speed at pytest's per-item work, for reading the gate on another machine."""
    module = scratch / "empty" / "test_empty.py"
    module.parent.mkdir(exist_ok=True)
    module.write_text(
        f"import pytest\n\n@pytest.mark.parametrize('n', range({tests}))\n"
        "def test_empty(n):\n    pass\n",
        encoding="utf-8",
    )
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)]
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        subprocess.run(command, cwd=module.parent, env=_clean_env(), stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - started)
    return sorted(times)[len(times) // 2]


def low_latency(scratch: Path, python: Path, repeat: int) -> bool:
    """3. 203 projects at 50 ms: against the same GETs in sequence and the jira script."""
    print(f"3. low latency: {PROJECTS} projects at 50 ms")
    with EmulatorServer("dc-healthy", projects=PROJECTS, latency_ms=50) as server:
        run = median_run(server, scratch, python, repeat)
        gets = [entry for entry in run.requests if entry[0] == "GET"]
        sequential = replay(server, gets)
        library = run_jira_script(server, scratch)
    print(
        f"  suite {run.seconds:.2f} s; the same {len(gets)} GETs one after another "
        f"{sequential:.2f} s; jira-library script {library:.2f} s"
    )
    return all(
        [
            ready(run),
            verdict(
                f"  vs sequential GETs >= {MIN_SPEED_UP:g}x",
                sequential / run.seconds >= MIN_SPEED_UP,
                f"{sequential / run.seconds:.1f}x",
            ),
            verdict(
                f"  vs jira script >= {MIN_SPEED_UP:g}x",
                library / run.seconds >= MIN_SPEED_UP,
                f"{library / run.seconds:.1f}x",
            ),
        ]
    )


def scale(scratch: Path, python: Path, small: SuiteRun, large: bool) -> bool:
    """4. 2,000 and 10,000 projects at 0 ms: time, memory and report sizes."""
    print("4. scale at 0 ms")
    runs = [(2000, small)]
    if large:
        with EmulatorServer("dc-healthy", projects=10_000, issues=20) as server:
            runs.append((10_000, run_suite(server, scratch, python)))
    for projects, run in runs:
        sizes = ", ".join(
            f"{kind.upper()} {size / 2**20:.1f} MiB" for kind, size in sorted(run.sizes.items())
        )
        print(
            f"  {projects:>6} projects: {run.seconds:.1f} s, {run.items} rows, "
            f"{run.ms_per_row:.2f} ms per row, peak RSS {run.peak_rss_mib:.0f} MiB; {sizes}"
        )
    if not large:
        print("  (10,000 projects not run: --no-scale)")
        return True
    big = runs[-1][1]
    growth = big.ms_per_row / small.ms_per_row
    return all(
        [
            ready(big),
            verdict(
                f"  10,000 projects: peak RSS < {MAX_RSS_MIB} MiB",
                big.peak_rss_mib < MAX_RSS_MIB,
                f"{big.peak_rss_mib:.0f} MiB",
            ),
            verdict(
                f"  ms per row at 10,000 / at 2,000 <= {MAX_ROW_GROWTH:g}",
                growth <= MAX_ROW_GROWTH,
                f"{growth:.2f}",
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-scale", action="store_true", help="skip the 10,000-project run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the suite per measurement; the median counts"
    )
    parser.add_argument(
        "--python", type=Path, help="a Python with the suite installed (default: a fresh venv)"
    )
    args = parser.parse_args(argv)
    print("command: python benchmarks/bench_whole_run.py " + " ".join(argv or sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="bench-whole-run-") as tmp:
        scratch = Path(tmp)
        python = Path(os.path.abspath(args.python)) if args.python else user_python(scratch)
        print(f"suite runs from: {python}")
        with EmulatorServer("dc-healthy", projects=3) as warm:
            run_suite(warm, scratch, python)  # the first run writes the bytecode caches
        floor = network_floor(scratch, python, args.repeat)
        per_row, small = cpu_per_row(scratch, python, args.repeat)
        low = low_latency(scratch, python, args.repeat)
        grows = scale(scratch, python, small, large=not args.no_scale)
    passed = floor and per_row and low and grows
    print(f"whole run: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
