"""How a run walks its rows: project by project, with output captured at the ``sys`` level.

Both are what makes a 200-project run keep pace with the network (docs/architecture.md, "Speed"):
a project's rows need only that project's evidence, and the checks print nothing, so pytest's
per-phase file-descriptor capture is not worth its system calls. Each run is the real suite in a
subprocess against the emulator. The rows of a project form one block in the engine's order
(tests/integration/test_run_order.py), the order the suite keeps for every scenario
(tests/e2e/test_every_scenario.py).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from conformance.emulator import BOT_PASSWORD, BOT_USER
from tests.e2e.conftest import RunSuite
from tests.runs import run_checks

FD_WRITER = """
import os

def pytest_collection_modifyitems(items):
    for item in items:
        if item.name == "test_url":
            judge = item.runtest

            def writing_then_judging(judge=judge):
                os.write(1, b"written-to-fd-1-during-a-check\\n")
                judge()

            item.runtest = writing_then_judging
"""


def test_a_conformance_run_captures_at_the_sys_level_unless_told_otherwise(
    jira_emulator: Any, run_suite: RunSuite, pytester: pytest.Pytester
) -> None:
    server = jira_emulator("dc-healthy")
    pytester.makepyfile(fdwriter=FD_WRITER)
    default = run_suite(server.url, "-p", "fdwriter")
    assert default.ret == 0, default.stdout
    # sys-level capture swaps sys.stdout only: a write to file descriptor 1 reaches the terminal.
    assert "written-to-fd-1-during-a-check" in default.stdout
    told = run_suite(server.url, "-p", "fdwriter", "--capture=fd")
    assert told.ret == 0, told.stdout
    assert "written-to-fd-1-during-a-check" not in told.stdout


def test_rows_are_collected_whatever_the_import_mode(
    jira_emulator: Any, run_suite: RunSuite
) -> None:
    """A customer's pytest.ini may set --import-mode=importlib: the rows stay the suite's own."""
    server = jira_emulator("dc-healthy")
    importlib = run_suite(server.url, "--import-mode=importlib")
    assert importlib.ret == 0, importlib.stdout
    assert importlib.outcomes() == run_checks(server.url).outcomes()


FREEZE_AT_EXIT = """
import atexit, gc, sys
import pytest

# Registered before the run: exit handlers run last first, so this one runs after the run's own.
atexit.register(lambda: print(f"frozen at exit: {gc.get_freeze_count()}", flush=True))
code = pytest.main(sys.argv[1:])
print(f"frozen when the run returned: {gc.get_freeze_count()}", flush=True)
sys.exit(code)
"""


def test_the_heap_is_frozen_at_exit_not_when_the_run_returns(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, jira_emulator: Any
) -> None:
    # The interpreter's last full collection would walk everything the run built, to free memory
    # the system takes back anyway. Frozen by an exit handler, so a run inside another process
    # (pytester, here the script) leaves that process's collector alone until it ends.
    server = jira_emulator("dc-healthy", projects=3)
    script = pytester.makepyfile(main=FREEZE_AT_EXIT)
    monkeypatch.setenv("JIRA_USER", BOT_USER)
    monkeypatch.setenv("JIRA_PASSWORD", BOT_PASSWORD)
    result = pytester.run(sys.executable, str(script), "--jira-url", server.url, "-q")
    assert result.ret == 0, result.stdout.str()
    counts = {
        line.split(":")[0]: int(line.split(":")[1])
        for line in result.outlines
        if line.startswith("frozen ")
    }
    assert counts["frozen at exit"] > counts["frozen when the run returned"]
