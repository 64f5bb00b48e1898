"""The verdict is complete or says it is not: real signals, selections, deadlines, informational runs.

Each run is the real suite in a subprocess against the emulator; what is asserted is what a user
would read: the JSON result, the HTML banner, the JUnit properties, the terminal's last line and
the exit code, and (for informational runs) the emulator's request log.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.accounts import BOT
from tests.e2e.conftest import RunSuite
from tests.runs import JIRA_ENV, validated
from tests.signals import default_signals

POLL_S = 0.05


def suite_process(url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in JIRA_ENV}
    env.update(BOT, NETRC=str(tmp_path / "no-netrc"))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "--jira-url",
            url,
            "--jira-report-dir",
            str(tmp_path / "reports"),
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=default_signals,  # the signals reach it even when this test runs in the background
    )


class Watched:
    """A suite process whose output is read as it comes, so a test can wait for an event."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        self.lines.extend(self.process.stdout or [])

    def collected(self) -> bool:
        """pytest has finished collecting (it says 'collected N items')."""
        return any(line.startswith("collected ") for line in self.lines)

    def wait_until(self, event: Callable[[], bool]) -> None:
        """Until ``event`` holds: an order of events, not a clock."""
        while not event():
            assert self.process.poll() is None, "the run ended before the signal could be sent"
            time.sleep(POLL_S)

    def output(self) -> str:
        """Everything the process printed, once it has ended (at most 120 s from now)."""
        self.process.wait(timeout=120)
        self.reader.join(timeout=10)
        return "".join(self.lines)


def artefacts(tmp_path: Path) -> tuple[dict[str, Any], str, ET.Element]:
    report_dir = tmp_path / "reports"
    (json_path,) = report_dir.glob("*.json")
    (html_path,) = report_dir.glob("*.html")
    (xml_path,) = report_dir.glob("*.xml")
    result = validated(json.loads(json_path.read_text("utf-8")))
    return result, html_path.read_text("utf-8"), ET.parse(xml_path).getroot()


def junit_properties(root: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in root.iter("property") if p.get("name")}


@pytest.mark.parametrize(
    ("signal_name", "moment"),
    [
        ("SIGINT", "judging"),
        ("SIGTERM", "judging"),
        ("SIGHUP", "judging"),
        ("SIGTERM", "collecting"),
        ("SIGHUP", "collecting"),
    ],
)
def test_a_signal_mid_run_is_incomplete_everywhere(
    jira_emulator: Any, tmp_path: Path, signal_name: str, moment: str
) -> None:
    # Collecting, the run already sends (it finds the projects); at 300 ms an answer, the signal
    # comes while it waits for the first one. Judging: collected, and in the middle of the projects.
    server = jira_emulator(
        "dc-healthy", projects=30, latency_ms=300 if moment == "collecting" else 50
    )
    watched = Watched(suite_process(server.url, tmp_path))
    process = watched.process
    if moment == "collecting":
        watched.wait_until(lambda: len(server.log.entries) >= 1)
        assert not watched.collected()
    else:
        watched.wait_until(lambda: watched.collected() and len(server.log.entries) >= 12)
    process.send_signal(getattr(signal, signal_name))
    out = watched.output()
    assert process.returncode == 2, out
    assert "Traceback (most recent call last)" not in out
    result, html, junit = artefacts(tmp_path)
    assert result["verdict"] == "incomplete" and result["exit_code"] == 2
    assert result["incomplete"]["reasons"] == ["interrupted"]
    assert result["incomplete"]["signal"] == signal_name
    assert result["incomplete"]["not_run_count"] > 0
    assert len(result["incomplete"]["not_run"]) == result["incomplete"]["not_run_count"]
    assert 'data-verdict="incomplete"' in html and "Incomplete: no verdict" in html
    assert junit_properties(junit)["visor.verdict"] == "incomplete"
    last = out.strip().splitlines()[-1]
    assert last.startswith("visor-jira-conformance: INCOMPLETE for Visor")
    assert f"Incomplete: the run was interrupted ({signal_name})." in out


def test_a_selection_of_the_captcha_locked_bot_is_incomplete(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("captcha")
    run = run_suite(server.url, "-k", "import")
    assert run.ret == 2
    assert run.result["verdict"] == "incomplete"
    assert run.result["incomplete"]["reasons"] == ["selection"]
    assert "auth.authenticates" in run.result["incomplete"]["not_run"]
    assert "INCOMPLETE for Visor" in run.stdout.strip().splitlines()[-1]


def test_a_strict_run_with_a_warning_is_not_ready_everywhere(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy")  # plain http: NET_PLAIN_HTTP is a warning
    run = run_suite(server.url, "--jira-strict")
    assert run.ret == 1
    assert run.result["verdict"] == "not-ready" and run.result["exit_code"] == 1
    html = run.artefact(".html").read_text("utf-8")
    assert 'data-verdict="not-ready"' in html
    assert "NOT READY for Visor" in run.stdout.strip().splitlines()[-1]


def test_a_complete_run_is_ready_with_exit_0_and_says_so_in_junit(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy")
    run = run_suite(server.url)
    assert run.ret == 0 and run.result["verdict"] == "ready" and "incomplete" not in run.result
    root = ET.parse(run.artefact(".xml")).getroot()
    assert junit_properties(root)["visor.verdict"] == "ready"


@pytest.mark.parametrize(
    "args",
    [
        ["--collect-only", "-q"],
        ["--collect-only", "-q", "--jira-project", "OPS", "--jira-project", "VIS"],
        ["--help"],
        ["--markers"],
        ["--fixtures"],
    ],
    ids=["collect-only", "collect-only-projects", "help", "markers", "fixtures"],
)
def test_informational_runs_send_nothing_write_nothing_and_print_no_verdict(
    jira_emulator: Any, run_suite: RunSuite, args: list[str]
) -> None:
    server = jira_emulator("dc-healthy")
    run = run_suite(server.url, *args)
    assert server.log.entries == [], [(e.method, e.path) for e in server.log.entries]
    assert not run.report_dir.exists() or not any(run.report_dir.iterdir())
    assert not run.result, "no JSON result"
    out = run.stdout + run.stderr
    assert "READY" not in out and "INCOMPLETE" not in out
    if "--jira-project" in args:
        assert "test_project_visible[OPS]" in out and "test_project_visible[VIS]" in out
    elif "--collect-only" in args:
        assert "test_project_visible[each-visible-project]" in out
    if "--markers" in args:
        assert "@pytest.mark.permissions" in out


def test_markers_select_an_area_and_an_empty_selection_says_so(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    server = jira_emulator("dc-healthy")
    run = run_suite(server.url, "-m", "permissions")
    ids = {row["id"].split(".")[0] for row in run.result["results"]}
    assert ids == {"permissions"}
    assert run.result["verdict"] == "incomplete" and run.ret == 2
    nothing = run_suite(server.url, "-k", "no_such_check")
    assert nothing.ret == 4
    said = nothing.stdout + nothing.stderr
    assert re.search(r"matches none of the \d+ checks", said) and "-m: reachability" in said
    assert not nothing.result
