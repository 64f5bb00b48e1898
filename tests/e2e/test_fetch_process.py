"""The fetch process (engine/fetch_process.py), seen from outside: what the reports count, what a
signal or a kill leaves behind, and that the threaded scheduler judges the same rows alike.

Runs are the real suite in a subprocess against the emulator. The fetch process belongs to the
run's process group, as it would at a terminal; a group that is empty after the run proves that
no process outlived it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.accounts import BOT
from tests.e2e.conftest import JIRA_ENV, RunSuite
from tests.e2e.test_verdicts import artefacts, wait_for_requests

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the fetch process is forked on Linux only"
)

POLL_S = 0.05
# A hang guard only: the fetch process ends within its requests' bounds, far sooner.
GONE_WITHIN_S = 60


def suite_in_own_group(url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """The suite as a shell starts it: a process group of its own (so Ctrl-C reaches all of it)."""
    env = {k: v for k, v in os.environ.items() if k not in JIRA_ENV}
    env.update(BOT, NETRC=str(tmp_path / "no-netrc"))
    command = [sys.executable, "-m", "pytest", "--jira-url", url]
    command += ["--jira-report-dir", str(tmp_path / "reports"), "-p", "no:cacheprovider", *args]
    return subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_group_gone(pgid: int) -> bool:
    stop = time.monotonic() + GONE_WITHIN_S
    while group_alive(pgid):
        if time.monotonic() > stop:
            os.killpg(pgid, signal.SIGKILL)
            return False
        time.sleep(POLL_S)
    return True


def test_the_reports_count_every_request_the_fetch_process_sent(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy", projects=25)
    run = run_suite(server.url)
    assert run.ret == 0, run.stdout
    sent = [(e.method, e.path, e.query, e.user) for e in server.log.entries]
    assert run.result["http"]["requests"] == len(sent) > 25 * 2
    # One HTTP layer for the whole run: the GETs both processes needed went out once each.
    assert [request for request, n in Counter(sent).items() if n > 1] == []
    # The session Jira opened at the bot's first login served the fetch process too.
    credentialed = [e for e in server.log.entries if e.user]
    assert run.result["http"]["session_reused"] == len(credentialed) - 1


def test_ctrl_c_at_the_terminal_reaches_both_processes_and_leaves_none_behind(
    jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("dc-healthy", projects=30, latency_ms=50)
    process = suite_in_own_group(server.url, tmp_path)
    wait_for_requests(server, 12, process)  # past the chain: the fetch process is sending
    os.killpg(process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 2, out
    assert "Traceback (most recent call last)" not in out
    result, _html, _junit = artefacts(tmp_path)
    assert result["verdict"] == "incomplete"
    assert result["incomplete"]["signal"] == "SIGINT"
    # The fetch process's requests are counted although it was stopped mid-way.
    assert result["http"]["requests"] == len(server.log.entries)
    assert wait_until_group_gone(process.pid), "a process of the run outlived it"


def test_a_killed_run_leaves_no_fetch_process_behind(jira_emulator: Any, tmp_path: Path) -> None:
    server = jira_emulator("dc-healthy", projects=200, latency_ms=50)
    process = suite_in_own_group(server.url, tmp_path)
    wait_for_requests(server, 12, process)
    process.kill()  # SIGKILL: no handler runs; the fetch process sees its pipe close
    process.communicate(timeout=120)
    assert wait_until_group_gone(process.pid), "the fetch process outlived a killed run"
    # It stopped sending instead of finishing the plan's 400 and more requests.
    assert len(server.log.entries) < 200


def test_the_threaded_scheduler_judges_every_row_alike(
    jira_emulator: Any, run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    """Where fork is not used (macOS, Windows) the same plan is fetched in threads."""
    server = jira_emulator("dc-healthy", projects=12)
    forked = run_suite(server.url)
    server.log.clear()
    pytester.makeconftest(
        "import conformance.engine.fetch_process as fetch_process\n"
        "fetch_process.USE_FETCH_PROCESS = False\n"
    )
    threaded = run_suite(server.url)
    assert forked.ret == threaded.ret == 0
    assert forked.outcomes() == threaded.outcomes()
    assert threaded.result["http"]["requests"] == len(server.log.entries)
    assert forked.result["http"]["requests"] == threaded.result["http"]["requests"]


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(n) for n in (task / "children").read_text().split()]
    return found


def test_a_lost_fetch_process_makes_the_run_incomplete_and_says_why(
    jira_emulator: Any, tmp_path: Path
) -> None:
    server = jira_emulator("dc-healthy", projects=200, latency_ms=50)
    process = suite_in_own_group(server.url, tmp_path)
    wait_for_requests(server, 12, process)
    (fetcher,) = children_of(process.pid)
    os.kill(fetcher, signal.SIGKILL)  # what the kernel's OOM killer would do
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 2, out
    assert "Traceback (most recent call last)" not in out
    result, _html, _junit = artefacts(tmp_path)
    assert result["verdict"] == "incomplete"
    assert result["incomplete"]["reasons"] == ["interrupted"]  # not the deadline, not the network
    assert result["incomplete"]["signal"] == "its fetch process ended: killed by SIGKILL"
    assert "finding" not in result["incomplete"] or result["incomplete"]["finding"] is None
    codes = {f["code"] for row in result["results"] for f in row["findings"]}
    assert not {c for c in codes if c.startswith("NET_TIMEOUT") or c == "RUN_DEADLINE"}
    assert "its fetch process ended: killed by SIGKILL" in out.strip().splitlines()[-1]


def test_ctrl_c_while_the_chain_is_under_way_sends_nothing_more_and_is_incomplete(
    jira_emulator: Any, tmp_path: Path
) -> None:
    """Ctrl-C before the run has its plan (the chain runs while pytest collects)."""
    server = jira_emulator("dc-healthy", projects=5, latency_ms=400)
    process = suite_in_own_group(server.url, tmp_path)
    wait_for_requests(server, 1, process)  # the chain's first request has arrived
    os.killpg(process.pid, signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 2, out
    assert "Traceback (most recent call last)" not in out
    result, _html, _junit = artefacts(tmp_path)
    assert result["verdict"] == "incomplete"
    assert result["incomplete"]["reasons"] == ["interrupted"]
    assert result["incomplete"]["signal"] == "SIGINT"
    # At most the request in flight when Ctrl-C came was answered; the chain sent nothing after.
    assert len(server.log.entries) <= 2, [e.path for e in server.log.entries]
    assert wait_until_group_gone(process.pid)
