"""One run, one truth: the exit code and every report read the run's one result.

The run's end is made hostile on purpose: the deadline passes after the last row was judged
(so the safety net's cleanup and the reports are written after it), or a Ctrl-C arrives while the
safety net deletes the round trip's issue. Every required row completed in both runs, so neither
is incomplete, and the five outputs (exit code, JSON, HTML banner, JUnit properties, terminal's
closing block and last line) say the same thing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from conformance.emulator.faults import Fault
from tests.e2e.accounts import BOT
from tests.e2e.conftest import RunSuite, SuiteRun

# Loaded into the suite's own process with ``-p``: it moves the run's deadline into the past once
# the last row is judged, and can send the process a Ctrl-C from inside the safety net's cleanup.
HOSTILE_END = """
import os
import signal
import time

import pytest

from conformance import plugin
from conformance.probes import write

# A child of a test started in the background inherits SIGINT ignored: take it back.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    try:
        return (yield)
    finally:
        # Every row has been judged: from here on the run is past its deadline.
        target = session.config.stash[plugin.TARGET_KEY]
        target.http._deadline = time.monotonic() - 1

        if os.environ.get("HOSTILE_END") == "interrupt-cleanup":
            real = write.cleanup_leftovers

            def interrupted_cleanup(*args, **kwargs):
                os.kill(os.getpid(), signal.SIGINT)
                return real(*args, **kwargs)

            write.cleanup_leftovers = interrupted_cleanup
"""

WORDS = {"ready": "READY", "not-ready": "NOT READY", "incomplete": "INCOMPLETE"}


def five_outputs(run: SuiteRun) -> dict[str, Any]:
    """What each output says the verdict is, and the exit code where it states one."""
    html = run.artefact(".html").read_text("utf-8")
    root = ET.parse(run.artefact(".xml")).getroot()
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    lines = run.stdout.strip().splitlines()
    banner = re.search(r'data-verdict="([a-z-]+)"', html)
    url = run.result["target"]["url"]
    closing = next(line for line in lines if line.endswith(f" for Visor: {url}"))
    return {
        "exit code": run.ret,
        "json": (run.result["verdict"], run.result["exit_code"]),
        "html": banner.group(1) if banner else None,
        "junit": (props.get("visor.verdict"), props.get("visor.exit_code")),
        "closing block": closing.split(" for Visor")[0],
        "last line": lines[-1].split(": ", 1)[1].split(" for Visor")[0],
    }


def agree(run: SuiteRun) -> str:
    said = five_outputs(run)
    verdict, code = said["json"]
    assert said == {
        "exit code": code,
        "json": (verdict, code),
        "html": verdict,
        "junit": (verdict, str(code)),
        "closing block": WORDS[verdict],
        "last line": WORDS[verdict],
    }, said
    return str(verdict)


@pytest.mark.parametrize("end", ["deadline-after-last-row", "interrupt-cleanup"])
def test_the_run_end_cannot_make_the_outputs_disagree_or_a_complete_run_incomplete(
    jira_emulator: Any, run_suite: RunSuite, pytester: pytest.Pytester, end: str
) -> None:
    # The round trip's own delete fails once, so the safety net deletes the issue at the run's
    # end: after the deadline, and (for one run) with a Ctrl-C arriving meanwhile.
    server = jira_emulator(faults=[Fault("DELETE", r"/issue/", status=500, times=1)])
    pytester.makepyfile(hostile_end=HOSTILE_END)
    pytester.syspathinsert()
    run = run_suite(
        server.url,
        "-p",
        "hostile_end",
        "--jira-profile",
        "visor-two-way",
        "--jira-write-project",
        "OPS",
        env={**BOT, "HOSTILE_END": end},
    )
    deletes = [e.status for e in server.log.entries if e.method == "DELETE"]
    # The round trip's own delete failed; the safety net's, sent after the deadline, deleted it.
    assert deletes == [500, 204], deletes
    assert agree(run) != "incomplete", run.result.get("incomplete")
    assert "RUN_DEADLINE" not in run.stdout
